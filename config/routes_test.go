package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"keepalived-go/parser"
)

// loadRoutes loads a configuration with one instance whose virtual_routes
// (or virtual_rules) block holds lines, plus extra top-level text.
func loadRoutes(t *testing.T, block string, lines []string, extra string) *Config {
	t.Helper()
	dir := t.TempDir()
	conf := extra + `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        198.51.100.10/24
    }
    ` + block + ` {
        ` + strings.Join(lines, "\n        ") + `
    }
}
`
	f := filepath.Join(dir, "k.conf")
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(f, Options{ConfigTest: true, Interfaces: classInterfaces(), Hostname: "node1",
		Parser: parser.Options{ConfigID: "node1", Dir: dir}})
	if diags.Abort {
		t.Fatalf("read aborted:\n%s", diags)
	}
	return cfg
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func TestAllocRouteModel(t *testing.T) {
	tests := []struct {
		line string
		want Route
	}{
		{"203.0.113.0/24 via 198.51.100.1 dev eth0 metric 7 table 100 scope link src 198.51.100.10",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Via: addr("198.51.100.1"), Dev: "eth0", Metric: 7, Table: 100,
				Scope: RTScopeLink, PrefSrc: addr("198.51.100.10"), Type: RTNUnicast, Protocol: RTProtKeepalived,
				Has: RouteMetric | RouteScope | RouteProtocol}},
		{"blackhole 203.0.113.0/24 no_track",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Table: RTTableMain, Type: RTNBlackhole, NoTrack: true, Has: RouteType | RouteAdd}},
		{"default via 198.51.100.1 dev eth0",
			Route{Family: FamilyInet, Dst: pfx("0.0.0.0/0"), Via: addr("198.51.100.1"), Dev: "eth0", Table: RTTableMain,
				Type: RTNUnicast, Protocol: RTProtKeepalived, Has: RouteProtocol}},
		{"default6 dev eth0",
			Route{Family: FamilyInet6, Dst: pfx("::/0"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol}},
		// The word after inet6 is stepped over, as keepalived does.
		{"inet6 203.0.113.0/24 2001:db8:1::/64 dev eth0",
			Route{Family: FamilyInet6, Dst: pfx("2001:db8:1::/64"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol}},
		{"203.0.113.5/24 dev eth0 rtt 300ms rttvar lock 1s rto_min 2s mtu lock 1400 hoplimit 9 quickack 1 congctl lock cubic features ecn",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.5/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, RTT: 2400, RTTVar: 4000, RTOMin: 2000, MTU: 1400, Hoplimit: 9, QuickAck: true,
				CongCtl: "cubic", Features: RTAXFeatureECN, Lock: 1<<RTAXRTTVar | 1<<RTAXMTU | 1<<RTAXCCAlgo,
				Has: RouteProtocol | RouteRTT | RouteRTTVar | RouteRTOMin | RouteMTU | RouteHoplimit | RouteQuickAck}},
		{"203.0.113.0/24 dev eth0 rtt 100 realms 1/2 append",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, RTT: 1600, Realms: 1<<16 | 2, Has: RouteProtocol | RouteRTT | RouteAppend}},
		{"2001:db8:1::/64 from 2001:db8:2::/64 dev eth0 pref high expires 30 ttl-propagate enabled",
			Route{Family: FamilyInet6, Dst: pfx("2001:db8:1::/64"), Src: pfx("2001:db8:2::/64"), Dev: "eth0", Table: RTTableMain,
				Type: RTNUnicast, Protocol: RTProtKeepalived, Pref: PrefHigh, Expires: 30, TTLPropagate: true,
				Has: RouteProtocol | RoutePref | RouteExpires | RouteTTLPropagate}},
		{"203.0.113.0/24 via 198.51.100.1 or 198.51.100.2 dev eth0",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol,
				Nexthops: []Nexthop{{Addr: addr("198.51.100.1")}, {Addr: addr("198.51.100.2")}}}},
		{"203.0.113.0/24 dev eth0 nexthop via 198.51.100.1 weight 3 onlink nexthop dev eth1 realms 4",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol,
				Nexthops: []Nexthop{{Addr: addr("198.51.100.1"), Weight: 2, HasWeight: true, Flags: RTNHFOnlink},
					{Dev: "eth1", Realms: 4}}}},
		// A bad nexthop is dropped, the route kept (keepalived ignores
		// parse_nexthops' errors).
		{"203.0.113.0/24 dev eth0 nexthop via 198.51.100.1 nexthop via bogus",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol, Nexthops: []Nexthop{{Addr: addr("198.51.100.1")}}}},
		{"203.0.113.0/24 dev eth0 encap ip id 5 dst 198.51.100.5 tos 0x10 ttl 5 flags 1",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol,
				Encap: Encap{Type: EncapIP, ID: 5, Dst: addr("198.51.100.5"), TOS: 0x10, TTL: 5, Flags: 1,
					Has: EncapHasID | EncapHasDSField | EncapHasHoplimit | EncapHasFlags}}},
		{"203.0.113.0/24 dev eth0 encap mpls 100/200",
			Route{Family: FamilyInet, Dst: pfx("203.0.113.0/24"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol, Encap: Encap{Type: EncapMPLS, Labels: []uint32{100, 200}}}},
		{"2001:db8:1::/64 dev eth0 encap ila 1:2:3:abcd",
			Route{Family: FamilyInet6, Dst: pfx("2001:db8:1::/64"), Dev: "eth0", Table: RTTableMain, Type: RTNUnicast,
				Protocol: RTProtKeepalived, Has: RouteProtocol, Encap: Encap{Type: EncapILA, Locator: 0x000100020003abcd}}},
	}
	for _, tc := range tests {
		cfg := loadRoutes(t, "virtual_routes", []string{tc.line}, "")
		if len(cfg.Instances) != 1 || len(cfg.Instances[0].Routes) != 1 {
			t.Errorf("%s: no route", tc.line)
			continue
		}
		got := cfg.Instances[0].Routes[0]
		got.Pos, got.Words = Pos{}, nil
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

func TestAllocRuleModel(t *testing.T) {
	lines := []string{
		"from 198.51.100.0/24 table 100",
		"not to 203.0.113.0/24 fwmark 0x10/0xff iif eth0 oif eth1 lookup 1000 priority 0x20 tos 0x10",
		"from 2001:db8::/64 goto 100 preference 50 no_track",
		"from all blackhole uidrange 100-200 ipproto udp sport 1-2 dport 3-4 tunnel-id 9 priority 7",
		"l3mdev protocol 18 priority 8 sup_pl 4",
		"to 2001:db8:5::/64 nop",
	}
	cfg := loadRoutes(t, "virtual_rules", lines, "")
	want := []Rule{
		{Family: FamilyInet, From: pfx("198.51.100.0/24"), Table: 100, Action: FRActToTable, Priority: 16384,
			SuppressPrefixLen: -1, Protocol: RTProtKeepalived, Has: RuleHasPriority | RuleHasProtocol},
		{Family: FamilyInet, Invert: true, To: pfx("203.0.113.0/24"), Fwmark: 0x10, Fwmask: 0xff, IIf: "eth0", OIf: "eth1",
			Table: 1000, Action: FRActToTable, Priority: 0x20, TOS: 0x10, SuppressPrefixLen: -1, Protocol: RTProtKeepalived,
			Has: RuleHasFwmark | RuleHasFwmask | RuleHasPriority | RuleHasProtocol},
		{Family: FamilyInet6, From: pfx("2001:db8::/64"), Goto: 100, Action: FRActGoto, Priority: 50, NoTrack: true,
			SuppressPrefixLen: -1, Has: RuleHasPriority},
		{Family: FamilyInet, From: pfx("0.0.0.0/0"), Action: FRActBlackhole, UIDStart: 100, UIDEnd: 200, IPProto: 17,
			SPortStart: 1, SPortEnd: 2, DPortStart: 3, DPortEnd: 4, TunnelID: 9, Priority: 7, SuppressPrefixLen: -1,
			Protocol: RTProtKeepalived, Has: RuleHasUIDRange | RuleHasIPProto | RuleHasSPortRange | RuleHasDPortRange |
				RuleHasPriority | RuleHasProtocol},
		{Family: FamilyInet, L3MDev: true, Action: FRActToTable, Protocol: RTProtKeepalived, Priority: 8, SuppressPrefixLen: 4,
			Has: RuleHasProtocol | RuleHasPriority},
		{Family: FamilyInet6, To: pfx("2001:db8:5::/64"), Action: FRActNop, Priority: 16384, SuppressPrefixLen: -1,
			Protocol: RTProtKeepalived, Has: RuleHasPriority | RuleHasProtocol},
	}
	got := cfg.Instances[0].Rules
	if len(got) != len(want) {
		t.Fatalf("%d rules, want %d", len(got), len(want))
	}
	for i := range want {
		g := got[i]
		g.Pos, g.Words = Pos{}, nil
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("%s:\n got %+v\nwant %+v", lines[i], g, want[i])
		}
	}
}

// TestRouteString checks format_iproute and format_iprule (the data dump).
func TestRouteString(t *testing.T) {
	cfg := loadRoutes(t, "virtual_routes", []string{
		"blackhole 203.0.113.0/24 table 100 metric 5 no_track",
		"203.0.113.0/24 via 198.51.100.1 dev eth0 rtt 300ms rttvar 1s mtu lock 1400 realms 1/2 add",
		"2001:db8:1::/64 dev eth0 pref low encap ip6 id 3 dst 2001:db8::5 hoplimit 4",
		"203.0.113.0/24 dev eth0 nexthop via 198.51.100.1 weight 3 nexthop dev eth1",
	}, "")
	want := []string{
		// Debian's keepalived 2.2.7 dumps a typed route as "add" (recorded:
		// "add blackhole 198.51.100.192/26 no_track").
		"add blackhole 203.0.113.0/24 table 100 metric 5 no_track",
		"add 203.0.113.0/24 via inet 198.51.100.1 dev eth0 proto 18 realms 1/2 rtt 300ms rttvar 1s mtu lock 1400",
		"prepend 2001:db8:1::/64 encap ip6 id 3 dst 2001:db8::5 hoplimit 4 dev eth0 proto 18 pref low",
		"prepend 203.0.113.0/24 dev eth0 proto 18 nexthop via inet 198.51.100.1 weight 3 nexthop dev eth1",
	}
	for i, w := range want {
		if got := cfg.Instances[0].Routes[i].String(); got != w {
			t.Errorf("route %d:\n got %q\nwant %q", i, got, w)
		}
	}
	cfg = loadRoutes(t, "virtual_rules", []string{"not from 198.51.100.0/24 fwmark 5/0xff table 100 priority 3 realms 2"}, "")
	if got, w := cfg.Instances[0].Rules[0].String(),
		"not from 198.51.100.0/24 priority 3 tos 0x0 fwmark 0x5/0xff protocol 18 realms 0/2 lookup 100"; got != w {
		t.Errorf("rule:\n got %q\nwant %q", got, w)
	}
}

// TestRouteTracking checks what vrrp_complete_instance and
// static_track_group_init derive from routes and rules.
func TestRouteTracking(t *testing.T) {
	extra := `track_group TG1 {
    group {
        VI_1
    }
}
static_routes {
    203.0.114.0/24 dev eth2 track_group TG1
    203.0.115.0/24 dev eth3 no_track track_group TG1
}
static_rules {
    iif eth3 table 100 priority 5 track_group TG1
}
`
	cfg := loadRoutes(t, "virtual_routes", []string{
		"203.0.113.0/24 dev eth1",
		"2001:db8:1::/64 dev eth0 no_track",
	}, extra)
	in := cfg.Instances[0]
	if !reflect.DeepEqual(in.RouteInterfaces, []string{"eth1"}) {
		t.Errorf("RouteInterfaces %v", in.RouteInterfaces)
	}
	if !reflect.DeepEqual(in.StaticInterfaces, []string{"eth2", "eth3"}) {
		t.Errorf("StaticInterfaces %v", in.StaticInterfaces)
	}
	// Monitoring is decided after -t's early return (keepalived sets it
	// only when it runs); the instance's part is made during completion.
	if want := (RouteMonitor{IPv4Routes: true}); cfg.Monitor != want {
		t.Errorf("Monitor %+v, want %+v", cfg.Monitor, want)
	}
}

func TestRTNames(t *testing.T) {
	dir := t.TempDir()
	old := iproute2Dir
	iproute2Dir = dir + "/"
	defer func() { iproute2Dir = old }()
	os.WriteFile(filepath.Join(dir, "rt_tables"), []byte("# comment\n100 isp1\n0x65\tisp2 extra\n-5 neg\n254 primary\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "rt_protos"), []byte("0 unspec\n18 keepalived\n"), 0o644)
	var n rtNames
	for _, tc := range []struct {
		name string
		id   uint32
		ok   bool
	}{
		{"isp1", 100, true}, {"isp2", 0, false}, {"neg", 0, false}, {"0x10", 16, true}, {"010", 8, true},
		{"primary", 254, true}, {"main", 0, false}, {"default", 253, true}, {"local", 255, true},
		{"-1", 0xffffffff, true}, {"4294967296", 0, true},
	} {
		id, ok := n.table(tc.name)
		if ok != tc.ok || (ok && id != tc.id) {
			t.Errorf("table %q = %d %v, want %d %v", tc.name, id, ok, tc.id, tc.ok)
		}
	}
	// The file's id 0 hides the default name "none".
	if _, ok := n.proto("none"); ok {
		t.Error("proto none found though rt_protos names 0 unspec")
	}
	if v, ok := n.proto("bird"); !ok || v != 12 {
		t.Errorf("proto bird = %d %v", v, ok)
	}
	if _, ok := n.dsfield("256"); ok {
		t.Error("dsfield 256 accepted")
	}
	if v, ok := findRTNType(""); !ok || v != 0 {
		t.Errorf("rtntype \"\" = %d %v (strtoul gives 0)", v, ok)
	}
}
