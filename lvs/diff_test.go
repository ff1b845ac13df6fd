package lvs

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/ipvs/netmask"
)

var (
	seedKey = ServiceAddr(TCP, netip.MustParseAddrPort("198.51.100.10:80"))
	rs1     = netip.MustParseAddrPort("198.51.100.11:80")
	rs2     = netip.MustParseAddrPort("198.51.100.12:80")
)

// seedTable is the seed scenario's virtual server with lab addresses.
func seedTable(w1, w2 int) Table {
	return Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"},
		Dest(rs1, DR, w1), Dest(rs2, DR, w2))
}

func opStrings(ops []Op) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.String()
	}
	return out
}

func TestDiff(t *testing.T) {
	other := ServiceAddr(UDP, netip.MustParseAddrPort("203.0.113.5:53"))
	mark := ServiceMark(INET6, 7)
	tests := []struct {
		name              string
		desired, observed Table
		want              []string
	}{
		{
			name:     "empty",
			desired:  Table{},
			observed: Table{},
		},
		{
			name:     "cold start: service before its destinations",
			desired:  seedTable(100, 100),
			observed: Table{},
			want: []string{
				"add-service TCP  198.51.100.10:80 rr",
				"add-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80",
				"add-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80",
			},
		},
		{
			name:     "in sync",
			desired:  seedTable(100, 100),
			observed: seedTable(100, 100),
		},
		{
			name:     "weight change is one update",
			desired:  seedTable(100, 50),
			observed: seedTable(100, 100),
			want:     []string{"update-dest 198.51.100.12:80 Route weight 50 in TCP 198.51.100.10:80"},
		},
		{
			name:     "health down removes one destination",
			desired:  Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"}, Dest(rs1, DR, 100)),
			observed: seedTable(100, 100),
			want:     []string{"del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80"},
		},
		{
			name:     "scheduler change updates the service only",
			desired:  Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "wlc"}, Dest(rs1, DR, 100), Dest(rs2, DR, 100)),
			observed: seedTable(100, 100),
			want:     []string{"update-service TCP  198.51.100.10:80 wlc"},
		},
		{
			name:     "stop: one removal per service, destinations go with it",
			desired:  Table{},
			observed: seedTable(100, 100).Add(Service{ServiceKey: other, Scheduler: "wrr"}),
			want: []string{
				"del-service TCP  198.51.100.10:80 rr",
				"del-service UDP  203.0.113.5:53 wrr",
			},
		},
		{
			name: "removals come first, additions last",
			desired: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"}, Dest(rs1, DR, 100)).
				Add(Service{ServiceKey: mark, Scheduler: "sh", Flags: FlagSched1}, Dest(netip.MustParseAddrPort("[2001:db8::1]:80"), NAT, 1)),
			observed: seedTable(100, 100).Add(Service{ServiceKey: other, Scheduler: "wrr"}),
			want: []string{
				"del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80",
				"del-service UDP  203.0.113.5:53 wrr",
				"add-service FWM  7 IPv6 sh (sh-fallback)",
				"add-dest [2001:db8::1]:80 Masq weight 1 in FWM 7 IPv6",
			},
		},
		{
			name:     "kernel-owned flags and defaults are not differences",
			desired:  Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr", Timeout: 0, Netmask: netmask.MaskFrom(24, 32)}),
			observed: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr", Flags: flagHashed, Netmask: netmask.MaskFrom(32, 32)}),
		},
		{
			name:     "persistence granularity change",
			desired:  Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr", Timeout: 600, Netmask: netmask.MaskFrom(24, 32)}),
			observed: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr", Timeout: 600, Flags: flagHashed | flagPersistent, Netmask: netmask.MaskFrom(32, 32)}),
			want:     []string{"update-service TCP  198.51.100.10:80 rr persistent 600 mask 255.255.255.0"},
		},
		{
			name:     "kernel shows a local real server as Local",
			desired:  seedTable(100, 100),
			observed: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"}, Dest(rs1, Local, 100), Dest(rs2, DR, 100)),
		},
		{
			name: "tunnel settings matter only for TUN",
			desired: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"},
				Destination{DestKey: DestKey{rs1.Addr(), 80}, Forward: TUN, Weight: 1, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelCsum},
				Destination{DestKey: DestKey{rs2.Addr(), 80}, Forward: DR, Weight: 1, TunnelType: GUE, TunnelPort: 6080}),
			observed: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"},
				Destination{DestKey: DestKey{rs1.Addr(), 80}, Forward: TUN, Weight: 1, TunnelType: GUE, TunnelPort: 6080},
				Destination{DestKey: DestKey{rs2.Addr(), 80}, Forward: DR, Weight: 1}),
			want: []string{"update-dest 198.51.100.11:80 Tunnel weight 1 gue:6080 csum in TCP 198.51.100.10:80"},
		},
		{
			name:     "thresholds",
			desired:  Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"}, Destination{DestKey: DestKey{rs1.Addr(), 80}, Forward: DR, Weight: 1, UpperThreshold: 10, LowerThreshold: 5}),
			observed: Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"}, Dest(rs1, DR, 1)),
			want:     []string{"update-dest 198.51.100.11:80 Route weight 1 thresh 5-10 in TCP 198.51.100.10:80"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := opStrings(Diff(tt.desired, tt.observed))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// randomTable draws a small table from a fixed universe of keys so that
// two draws overlap.
func randomTable(r *rand.Rand) Table {
	t := Table{}
	addrs := []string{"198.51.100.10", "198.51.100.20", "2001:db8::10"}
	scheds := []string{"rr", "wrr", "sh"}
	for i := range r.IntN(4) {
		var k ServiceKey
		if r.IntN(4) == 0 {
			k = ServiceMark(INET, uint32(1+i))
		} else {
			a := netip.MustParseAddr(addrs[r.IntN(len(addrs))])
			k = ServiceAddr([]Protocol{TCP, UDP}[r.IntN(2)], netip.AddrPortFrom(a, uint16(80+r.IntN(2))))
		}
		svc := Service{ServiceKey: k, Scheduler: scheds[r.IntN(len(scheds))]}
		if r.IntN(3) == 0 {
			svc.Timeout = 300
			svc.Flags = FlagOnePacket
		}
		var dests []Destination
		for range r.IntN(4) {
			a := netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + r.IntN(5))})
			dests = append(dests, Dest(netip.AddrPortFrom(a, 80), []Forward{DR, NAT, TUN}[r.IntN(3)], r.IntN(3)*50))
		}
		t.Add(svc, dests...)
	}
	return t
}

// TestDiffConverges checks on random pairs that applying Diff reaches the
// desired table and that a second Diff is empty.
func TestDiffConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for i := range 500 {
		desired, start := randomTable(r), randomTable(r)
		b := NewMemBackend(start)
		ops := Diff(desired, start)
		if err := b.Apply(ctx, ops); err != nil {
			t.Fatalf("case %d: apply %q: %v", i, opStrings(ops), err)
		}
		got, _ := b.List(ctx)
		if again := Diff(desired, got); len(again) != 0 {
			t.Fatalf("case %d: not idempotent, second diff %q", i, opStrings(again))
		}
		if got.String() != desired.String() {
			t.Fatalf("case %d: converged to\n%s\nwant\n%s", i, got, desired)
		}
		// Order: no destination op on a service before that service's
		// addition, no destination removal after a service removal.
		seen := map[ServiceKey]bool{}
		// Service additions and updates form one group.
		group := map[OpKind]int{DelDest: 0, DelService: 1, AddService: 2, UpdateService: 2, UpdateDest: 3, AddDest: 4}
		last := 0
		for _, o := range ops {
			if group[o.Kind] < last {
				t.Fatalf("case %d: ops out of order: %q", i, opStrings(ops))
			}
			last = group[o.Kind]
			if o.Kind == AddService {
				seen[o.Service.ServiceKey] = true
			}
			if o.Kind == AddDest && !seen[o.Service.ServiceKey] && start[o.Service.ServiceKey].Dests == nil {
				t.Fatalf("case %d: dest before service: %q", i, opStrings(ops))
			}
		}
	}
}

func TestTableString(t *testing.T) {
	tab := seedTable(100, 100).
		Add(Service{ServiceKey: ServiceMark(INET, 3), Scheduler: "mh", Flags: FlagSched1 | FlagSched2, Timeout: 60, Netmask: netmask.MaskFrom(24, 32)}).
		Add(Service{ServiceKey: ServiceAddr(UDP, netip.MustParseAddrPort("[2001:db8::5]:53")), Scheduler: "wlc", Flags: FlagOnePacket},
			Dest(netip.MustParseAddrPort("[2001:db8::6]:53"), NAT, 2))
	want := strings.Join([]string{
		"TCP  198.51.100.10:80 rr",
		"  -> 198.51.100.11:80             Route   100   ",
		"  -> 198.51.100.12:80             Route   100   ",
		"UDP  [2001:db8::5]:53 wlc ops",
		"  -> [2001:db8::6]:53             Masq    2     ",
		"FWM  3 mh (mh-fallback,mh-port) persistent 60 mask 255.255.255.0",
		"",
	}, "\n")
	if got := tab.String(); got != want {
		t.Errorf("String:\n%s\nwant\n%s", got, want)
	}
}
