package nft

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/cloudflare/ipvs/netmask"
	"github.com/mdlayher/netlink"
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

// TestApplyOneBatch checks at the message level that a health change is
// one transaction: BATCH_BEGIN, the changes, BATCH_END, in one send.
func TestApplyOneBatch(t *testing.T) {
	var sends [][]netlink.Message
	dial := func(req []netlink.Message) ([]netlink.Message, error) {
		sends = append(sends, req)
		var out []netlink.Message
		for _, m := range req {
			if m.Header.Flags&netlink.Acknowledge != 0 {
				out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: m.Header.Sequence, PID: m.Header.PID}, Data: make([]byte, 4)})
			}
		}
		return out, nil
	}
	b, err := New(Options{TestDial: dial})
	if err != nil {
		t.Fatal(err)
	}
	o := newObserved()
	o.inetTable = true
	svc := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.MustParseAddrPort("203.0.113.10:80")), Scheduler: "rr"}
	for _, n := range []string{chainPre, chainOut, chainPost, chainName(svc.ServiceKey)} {
		o.inetChains[n] = true
	}
	for _, n := range []string{"svc4", "svc6", "fwm4", "fwm6", "masq4", "masq6", chainName(svc.ServiceKey) + "_rs", chainName(svc.ServiceKey) + "_slots"} {
		o.inetSets[n] = true
	}
	if err := b.commit(t.Context(), o, lvs.Table{}.Add(svc, dests(1, 0)...)); err != nil {
		t.Fatal(err)
	}
	// nltest hands the messages over one by one; together they must be
	// exactly one batch.
	var msgs []netlink.Message
	for _, s := range sends {
		msgs = append(msgs, s...)
	}
	begins := 0
	for _, m := range msgs {
		if m.Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) {
			begins++
		}
	}
	if begins != 1 {
		t.Fatalf("%d batches, want one", begins)
	}
	first, last := msgs[0].Header.Type, msgs[len(msgs)-1].Header.Type
	if first != netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) || last != netlink.HeaderType(unix.NFNL_MSG_BATCH_END) {
		t.Errorf("batch framed by %d..%d", first, last)
	}
	// Existing objects are flushed and refilled, never recreated: no
	// NEWCHAIN, NEWSET or NEWTABLE in a health change.
	kinds := map[int]int{}
	for _, m := range msgs[1 : len(msgs)-1] {
		kinds[int(m.Header.Type)&0xff]++
	}
	for _, k := range []int{unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_NEWSET, unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELCHAIN, unix.NFT_MSG_DELSET} {
		if kinds[k] != 0 {
			t.Errorf("message type %d sent %d times in a health change", k, kinds[k])
		}
	}
	if kinds[unix.NFT_MSG_NEWSETELEM] == 0 || kinds[unix.NFT_MSG_DELSETELEM] == 0 || kinds[unix.NFT_MSG_NEWRULE] == 0 {
		t.Errorf("message kinds %v: want set flushes, elements and rules", kinds)
	}
}
