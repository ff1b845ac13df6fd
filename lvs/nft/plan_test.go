package nft

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/cloudflare/ipvs/netmask"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

func dests(ws ...int) []lvs.Destination {
	var out []lvs.Destination
	for i, w := range ws {
		out = append(out, lvs.Dest(netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(11 + i)}), 80), lvs.NAT, w))
	}
	return out
}

func share(slots []int, n int) []int {
	c := make([]int, n)
	for _, i := range slots {
		c[i]++
	}
	return c
}

func TestCycle(t *testing.T) {
	for _, tc := range []struct {
		w    []int
		want []int
	}{
		{[]int{100, 100}, []int{0, 1}},
		{[]int{3, 1}, []int{0, 0, 1, 0}},
		{[]int{0, 5}, []int{1}},
		{[]int{0, 0}, nil},
		{[]int{2, 1, 1}, []int{0, 1, 2, 0}},
	} {
		if got := cycle(tc.w); !slices.Equal(got, tc.want) {
			t.Errorf("cycle(%v) = %v, want %v", tc.w, got, tc.want)
		}
	}
	// Weights that do not reduce are scaled into the cycle bound.
	got := share(cycle([]int{997, 991, 3}), 3)
	if len(cycle([]int{997, 991, 3})) > maxCycle || got[0] < got[1] || got[2] < 1 {
		t.Errorf("scaled cycle shares %v", got)
	}
}

func TestHashTableMinimalDisruption(t *testing.T) {
	fresh := hashTable([]int{1, 1, 1}, 256, nil)
	if got := share(fresh, 3); got[0] != 86 || got[1] != 85 || got[2] != 85 {
		t.Fatalf("fresh shares %v", got)
	}
	// Server 1 fails: only its slots move.
	down := hashTable([]int{1, 0, 1}, 256, fresh)
	for s := range fresh {
		if fresh[s] != 1 && down[s] != fresh[s] {
			t.Fatalf("slot %d moved from %d to %d though its server is up", s, fresh[s], down[s])
		}
	}
	if got := share(down, 3); got[1] != 0 || got[0] != 128 || got[2] != 128 {
		t.Errorf("shares after failure %v", got)
	}
	// It comes back: it takes slots only from the others' surplus, and
	// the table is as balanced as a fresh one.
	up := hashTable([]int{1, 1, 1}, 256, down)
	moved := 0
	for s := range up {
		if up[s] != down[s] {
			moved++
			if up[s] != 1 {
				t.Errorf("slot %d moved to %d, not to the returning server", s, up[s])
			}
		}
	}
	if moved != 85 || !slices.Equal(share(up, 3), share(fresh, 3)) {
		t.Errorf("moved %d slots, shares %v", moved, share(up, 3))
	}
	if hashTable([]int{0, 0}, 256, nil) != nil {
		t.Error("no weight must give no table")
	}
}

func TestPlanSchedulers(t *testing.T) {
	svc := func(sched string, flags lvs.SvcFlags) lvs.Service {
		return lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.MustParseAddrPort("203.0.113.10:80")), Scheduler: sched, Flags: flags}
	}
	for _, tc := range []struct {
		sched string
		flags lvs.SvcFlags
		fwd   lvs.Forward
		pick  pick
		key   hashKey
		slots int
		note  bool
	}{
		{"rr", 0, lvs.NAT, pickNumgen, keySrcPort, 2, false}, // rr ignores weights
		{"wrr", 0, lvs.NAT, pickNumgen, keySrcPort, 4, false},
		{"sh", 0, lvs.NAT, pickHash, keySrc, 256, false},
		{"sh", lvs.FlagSched2, lvs.NAT, pickHash, keySrcPort, 256, false},
		{"dh", 0, lvs.NAT, pickHash, keyDst, 256, false},
		{"mh", 0, lvs.NAT, pickHash, keySrc, 256, false},
		{"wlc", 0, lvs.NAT, pickNumgen, keySrcPort, 4, true},
		{"fo", 0, lvs.NAT, pickNumgen, keySrcPort, 1, false},
		{"rr", 0, lvs.DR, pickHash, keySrcPort, 256, false},
	} {
		d := dests(3, 1)
		for i := range d {
			d[i].Forward = tc.fwd
		}
		p, err := plan(lvs.VirtualService{Service: svc(tc.sched, tc.flags), Dests: map[lvs.DestKey]lvs.Destination{d[0].DestKey: d[0], d[1].DestKey: d[1]}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Pick != tc.pick || p.Key != tc.key || len(p.Slots) != tc.slots || (p.Note != "") != tc.note {
			t.Errorf("%s/%#x/%s: pick %d key %s slots %d note %q", tc.sched, tc.flags, tc.fwd, p.Pick, p.Key, len(p.Slots), p.Note)
		}
	}
	tun := lvs.VirtualService{Service: svc("rr", 0), Dests: map[lvs.DestKey]lvs.Destination{}}
	d := dests(1)[0]
	d.Forward = lvs.TUN
	tun.Dests[d.DestKey] = d
	if _, err := plan(tun, nil, nil); err == nil {
		t.Error("TUN must be refused")
	}
}

func TestDescriptorRoundTrip(t *testing.T) {
	for _, s := range []lvs.Service{
		{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.MustParseAddrPort("198.51.100.10:80")), Scheduler: "rr"},
		{ServiceKey: lvs.ServiceAddr(lvs.UDP, netip.MustParseAddrPort("[2001:db8::10]:53")), Scheduler: "sh", Flags: lvs.FlagSched1 | lvs.FlagSched2},
		{ServiceKey: lvs.ServiceMark(lvs.INET6, 7), Scheduler: "wlc", Timeout: 600, Netmask: netmask.MaskFrom(64, 128), PEName: "sip"},
		{ServiceKey: lvs.ServiceAddr(lvs.SCTP, netip.MustParseAddrPort("203.0.113.1:9")), Timeout: 30, Netmask: netmask.MaskFrom(24, 32)},
	} {
		got, err := parseDescriptor(describe(s))
		if err != nil || got != s {
			t.Errorf("%q: got %+v, %v", describe(s), got, err)
		}
	}
	d := lvs.Destination{DestKey: lvs.DestKey{Addr: netip.MustParseAddr("198.51.100.2"), Port: 80}, Forward: lvs.DR, Weight: 7, UpperThreshold: 9, LowerThreshold: 3}
	if got, err := parseDest(d.DestKey, describeDest(d)); err != nil || got != d {
		t.Errorf("dest %q: %+v %v", describeDest(d), got, err)
	}
}

func FuzzParseDescriptor(f *testing.F) {
	f.Add("TCP 198.51.100.10:80 rr persistent 600 mask 255.255.255.0 flags 0x8")
	f.Add("FWM 1 IPv6 - pe sip")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := parseDescriptor(text)
		if err != nil {
			return
		}
		again, err := parseDescriptor(describe(s))
		if err != nil || again != s {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", text, s, describe(s), again, err)
		}
	})
}

// fakeKernel answers the messages of a backend over nltest: an ack for
// each message that asks for one, an empty dump, and a generation id
// that every batch increments.
type fakeKernel struct {
	gen     uint32
	batches [][]netlink.Message
	cur     []netlink.Message
}

func (k *fakeKernel) dial(req []netlink.Message) ([]netlink.Message, error) {
	var out []netlink.Message
	for _, m := range req {
		switch {
		case m.Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN):
			k.cur = nil
		case m.Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_END):
			k.batches = append(k.batches, k.cur)
			k.gen++
		case m.Header.Type == netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETGEN):
			attrs := nltest.MustMarshalAttributes([]netlink.Attribute{{Type: unix.NFTA_GEN_ID, Data: binary.BigEndian.AppendUint32(nil, k.gen)}})
			out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWGEN),
				Sequence: m.Header.Sequence, PID: m.Header.PID}, Data: append([]byte{0, 0, 0, 0}, attrs...)})
			continue
		case m.Header.Flags&netlink.Dump != 0:
			continue
		default:
			k.cur = append(k.cur, m)
		}
		if m.Header.Flags&netlink.Acknowledge != 0 {
			out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: m.Header.Sequence, PID: m.Header.PID}, Data: make([]byte, 4)})
		}
	}
	return out, nil
}

func kinds(msgs []netlink.Message) map[int]int {
	out := map[int]int{}
	for _, m := range msgs {
		out[int(m.Header.Type)&0xff]++
	}
	return out
}

// TestApplyOneSmallBatch checks at the message level that a start is one
// transaction and a health change one small one: the changed elements of
// the one service, no object created or deleted.
func TestApplyOneSmallBatch(t *testing.T) {
	k := &fakeKernel{gen: 7}
	b, err := New(Options{TestDial: func(req []netlink.Message) ([]netlink.Message, error) {
		if req == nil {
			return nil, nil
		}
		return k.dial(req)
	}})
	if err != nil {
		t.Fatal(err)
	}
	tbl := lvs.Table{}
	for i := range 50 {
		svc := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.AddrPortFrom(netip.MustParseAddr("203.0.113.10"), uint16(1000+i))), Scheduler: "wrr"}
		tbl = tbl.Add(svc, dests(1, 1, 1, 1)...)
	}
	r := lvs.NewReconciler(b)
	if _, err := r.Reconcile(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	if len(k.batches) != 1 {
		t.Fatalf("start: %d batches, want 1", len(k.batches))
	}
	start := len(k.batches[0])
	// One destination of one service goes down.
	svc := tbl.Keys()[17]
	vs := tbl[svc]
	down := dests(1, 1, 1, 1)[2]
	down.Weight = 0
	vs.Dests[down.DestKey] = down
	if _, err := r.Reconcile(t.Context(), tbl); err != nil {
		t.Fatal(err)
	}
	if len(k.batches) != 2 {
		t.Fatalf("%d batches after a health change, want 2", len(k.batches))
	}
	msgs := k.batches[1]
	got := kinds(msgs)
	t.Logf("start: %d messages; health change: %d messages %v", start, len(msgs), got)
	for _, kind := range []int{unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_NEWSET, unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELCHAIN, unix.NFT_MSG_DELSET} {
		if got[kind] != 0 {
			t.Errorf("message type %d sent %d times in a health change", kind, got[kind])
		}
	}
	// The weight in the rs set's comment, the cycle shrinking from 4 to
	// 3 slots (one moved, one deleted), the chain's rules (new modulus).
	if got[unix.NFT_MSG_DELSETELEM] != 2 || got[unix.NFT_MSG_NEWSETELEM] != 2 || len(msgs) > 10 {
		t.Errorf("health change: %d messages %v, want a few for one service", len(msgs), got)
	}
}

// TestStableCycle: a long round robin keeps its slots in place, so one
// server's change rewrites one or two slots, and the shares stay exact.
func TestStableCycle(t *testing.T) {
	w := make([]int, 300)
	for i := range w {
		w[i] = 1 + i%3
	}
	fresh := stableCycle(w, nil)
	if !slices.Equal(share(fresh, len(w)), share(cycle(w), len(w))) {
		t.Fatal("the long cycle's shares differ from the smooth one's")
	}
	changed := func(a, b []int) int {
		n := max(len(a), len(b)) - min(len(a), len(b))
		for s := range min(len(a), len(b)) {
			if a[s] != b[s] {
				n++
			}
		}
		return n
	}
	down := slices.Clone(w)
	down[42] = 0 // weight 1
	d := stableCycle(down, fresh)
	if got := share(d, len(w)); got[42] != 0 || len(d) != len(fresh)-1 {
		t.Fatalf("server 42 down: shares %v, len %d", got[42], len(d))
	}
	if n := changed(fresh, d); n > 2 {
		t.Errorf("one server down rewrote %d slots, want at most 2", n)
	}
	up := stableCycle(w, d)
	if n := changed(d, up); n > 1 || !slices.Equal(share(up, len(w)), share(fresh, len(w))) {
		t.Errorf("server back: %d slots rewritten, shares equal %v", n, slices.Equal(share(up, len(w)), share(fresh, len(w))))
	}
	// Small cycles stay smooth: recomputed afresh.
	if got := stableCycle([]int{3, 1}, []int{1, 1, 0, 0}); !slices.Equal(got, []int{0, 0, 1, 0}) {
		t.Errorf("small cycle %v, want the smooth one", got)
	}
}
