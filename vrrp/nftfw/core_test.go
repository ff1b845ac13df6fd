package nftfw

import (
	"net/netip"
	"strings"
	"testing"

	"keepalived-go/vrrp"
)

func addrs(iface string, list ...string) []Addr {
	var out []Addr
	for _, s := range list {
		out = append(out, Addr{Addr: netip.MustParseAddr(s), Iface: iface})
	}
	return out
}

type step struct {
	op   string // "master", "backup", "vmac-up", "vmac-down", "stop"
	inst string
}

func run(t *testing.T, c *Core, steps ...step) {
	t.Helper()
	for _, s := range steps {
		var err error
		switch s.op {
		case "master":
			_, err = c.SetState(s.inst, vrrp.StateMaster)
		case "backup":
			_, err = c.SetState(s.inst, vrrp.StateBackup)
		case "fault":
			_, err = c.SetState(s.inst, vrrp.StateFault)
		case "vmac-up":
			_, err = c.VMACUp(s.inst)
		case "vmac-down":
			_, err = c.VMACDown(s.inst)
		case "stop":
			c.Stop()
		default:
			t.Fatalf("unknown step %q", s.op)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func diffText(t *testing.T, got, want string) {
	t.Helper()
	want = strings.TrimLeft(want, "\n")
	if got != want {
		t.Errorf("ruleset:\n%s\nwant:\n%s", got, want)
	}
}

// strictPair is keepalived 2.2.7's ruleset (read back with nft -y list
// ruleset) for vrrp_strict + nftables_counters with an IPv4 instance
// holding an IPv4 eVIP and an IPv6 eVIP, then an IPv6 instance with a
// link-local and a global VIP, both MASTER in that order.
const strictPair = `
table ip keepalived {
	set vips {
		type ipv4_addr
		elements = { 198.51.100.10, 198.51.100.20 }
	}

	chain out {
		type filter hook output priority -1; policy accept;
		ip saddr @vips counter drop
	}

	chain in {
		type filter hook input priority -1; policy accept;
		ip daddr @vips counter drop
	}
}
table ip6 keepalived {
	set vips {
		type ipv6_addr
		elements = { 2001:db8::10, 2001:db8::20 }
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-advert, nd-neighbor-solicit }
	}

	set vips_link_local {
		type ipv6_addr . iface_index
		elements = { fe80::52 . "eth0" }
	}

	chain out {
		type filter hook output priority -1; policy accept;
		icmpv6 type @neighbor-discovery counter accept
		ip6 saddr fe80::/10 counter goto out_link_local
		ip6 saddr @vips counter drop
	}

	chain in {
		type filter hook input priority -1; policy accept;
		icmpv6 type @neighbor-discovery counter accept
		ip6 daddr fe80::/10 counter goto in_link_local
		ip6 daddr @vips counter drop
	}

	chain in_link_local {
		ip6 daddr . iif @vips_link_local counter drop
	}

	chain out_link_local {
		ip6 saddr . oif @vips_link_local counter drop
	}
}
`

func strictInstances() []Instance {
	return []Instance{
		{Name: "V4", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10"),
			EVIPs: addrs("eth0", "198.51.100.20", "2001:db8::20")},
		{Name: "V6", IPv6: true, Iface: "eth0", Block: true, VIPs: addrs("eth0", "fe80::52", "2001:db8::10")},
	}
}

func TestStrictPairMaster(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived", Priority: -1, Counters: true}, strictInstances())
	run(t, c, step{"master", "V4"}, step{"master", "V6"})
	diffText(t, c.Ruleset().String(), strictPair)
}

// TestBackupKeepsTables: leaving MASTER empties the sets; keepalived keeps
// its tables, chains and rules until it stops.
func TestBackupKeepsTables(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived", Priority: -1, Counters: true}, strictInstances())
	run(t, c, step{"master", "V4"}, step{"master", "V6"}, step{"backup", "V4"}, step{"fault", "V6"})
	want := strictPair
	for _, drop := range []string{
		"\t\telements = { 198.51.100.10, 198.51.100.20 }\n",
		"\t\telements = { 2001:db8::10, 2001:db8::20 }\n",
		"\t\telements = { fe80::52 . \"eth0\" }\n",
	} {
		if !strings.Contains(want, drop) {
			t.Fatalf("fixture lacks %q", drop)
		}
		want = strings.Replace(want, drop, "", 1)
	}
	diffText(t, c.Ruleset().String(), want)
	run(t, c, step{"master", "V6"})
	if got := c.Ruleset().Table(IPv6).Set("vips").Elems; len(got) != 1 || got[0].Addr.String() != "2001:db8::10" {
		t.Errorf("V6 master again: vips %v", got)
	}
	run(t, c, step{"stop", ""})
	if got := c.Ruleset().String(); got != "" {
		t.Errorf("after stop:\n%s", got)
	}
}

// vmacPair is keepalived's ruleset for "nftables mytable", priority -5, an
// IPv4 use_vmac instance with dont_track_primary and IPv6 eVIPs (so both
// tables get the VMAC rules when the VMAC is created), then both instances
// MASTER: link-local VIPs on the instance's interface go by name, the
// others (dev lo; the eVIP on the VMAC's parent) by index.
const vmacPair = `
table ip mytable {
	map vmac_map {
		type iface_index : iface_index
		elements = { "vrrp.51" : "eth0" }
	}

	set vips {
		type ipv4_addr
		elements = { 198.51.100.10 }
	}

	chain out {
		type filter hook output priority -5; policy accept;
		ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop
		ip saddr @vips drop
	}

	chain in {
		type filter hook input priority -5; policy accept;
		ip daddr @vips drop
	}
}
table ip6 mytable {
	map vmac_map {
		type iface_index : iface_index
		elements = { "vrrp.51" : "eth0" }
	}

	set vmac_set {
		type iface_index
		elements = { "vrrp.51" }
	}

	set vips {
		type ipv6_addr
		elements = { 2001:db8::10, 2001:db8::20 }
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-advert, nd-neighbor-solicit }
	}

	set vips_link_local {
		type ipv6_addr . iface_index
		elements = { fe80::53 . "lo", fe80::99 . "eth0" }
	}

	set vips_link_local_name {
		type ipv6_addr . ifname
		elements = { fe80::52 . "eth0" }
	}

	chain out {
		type filter hook output priority -5; policy accept;
		icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop
		icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop
		icmpv6 type @neighbor-discovery accept
		ip6 saddr fe80::/10 goto out_link_local
		ip6 saddr @vips drop
	}

	chain in {
		type filter hook input priority -5; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 daddr fe80::/10 goto in_link_local
		ip6 daddr @vips drop
	}

	chain in_link_local {
		ip6 daddr . iif @vips_link_local drop
		ip6 daddr . iifname @vips_link_local_name drop
	}

	chain out_link_local {
		ip6 saddr . oif @vips_link_local drop
		ip6 saddr . oifname @vips_link_local_name drop
	}
}
`

func vmacInstances() []Instance {
	return []Instance{
		{Name: "V4", Iface: "vrrp.51", VMAC: "vrrp.51", VMACBase: "eth0", Block: true, DontTrackPrimary: true,
			VIPs: addrs("vrrp.51", "198.51.100.10"), EVIPs: addrs("eth0", "2001:db8::20", "fe80::99")},
		{Name: "V6", IPv6: true, Iface: "eth0", Block: true, DontTrackPrimary: true,
			VIPs: append(addrs("eth0", "fe80::52"), append(addrs("lo", "fe80::53"), addrs("eth0", "2001:db8::10")...)...)},
	}
}

func TestVMACPairMaster(t *testing.T) {
	c := NewCore(Settings{Table: "mytable", Priority: -5}, vmacInstances())
	run(t, c, step{"vmac-up", "V4"}, step{"master", "V4"}, step{"master", "V6"})
	diffText(t, c.Ruleset().String(), vmacPair)
}

// TestVMACBackup: the VMAC rules exist from the VMAC's creation on, while
// the instance is BACKUP, whether or not it blocks its VIPs.
func TestVMACBackup(t *testing.T) {
	ins := vmacInstances()[:1]
	ins[0].Block = false
	ins[0].EVIPs = nil
	c := NewCore(Settings{Table: "keepalived", Priority: -1}, ins)
	run(t, c, step{"vmac-up", "V4"}, step{"master", "V4"})
	diffText(t, c.Ruleset().String(), `
table ip keepalived {
	map vmac_map {
		type iface_index : iface_index
		elements = { "vrrp.51" : "eth0" }
	}

	chain out {
		type filter hook output priority -1; policy accept;
		ip protocol igmp meta oifkind "macvlan" dup to ip daddr device oif map @vmac_map drop
	}
}
`)
	run(t, c, step{"vmac-down", "V4"})
	if got := c.Ruleset().Table(IPv4).Set("vmac_map").Elems; len(got) != 0 {
		t.Errorf("vmac down: map %v", got)
	}
}

// TestVIPsBeforeVMAC: the order of the output chain's rules is the order
// in which keepalived needed them.
func TestVIPsBeforeVMAC(t *testing.T) {
	ins := vmacInstances()[:1]
	ins[0].EVIPs = nil
	c := NewCore(Settings{Table: "keepalived", Priority: -1}, ins)
	run(t, c, step{"master", "V4"}, step{"vmac-up", "V4"})
	out := c.Ruleset().Table(IPv4).Chain("out")
	if len(out.Rules) != 2 || out.Rules[0].Kind != RuleAddrSet || out.Rules[1].Kind != RuleIGMPDup {
		t.Errorf("out chain: %v", out.Rules)
	}
	ts := c.Ruleset().Table(IPv4)
	if ts.Sets[0].Name != "vips" || ts.Sets[1].Name != "vmac_map" {
		t.Errorf("sets in order %s, %s", ts.Sets[0].Name, ts.Sets[1].Name)
	}
}

func TestNothingToBlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  Settings
		in   Instance
	}{
		{"accept", Settings{Table: "keepalived"}, Instance{Name: "I", Iface: "eth0", VIPs: addrs("eth0", "198.51.100.10")}},
		{"no table", Settings{}, Instance{Name: "I", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10")}},
		{"v4 vmac, disable_local_igmp", Settings{Table: "keepalived", DisableLocalIGMP: true},
			Instance{Name: "I", Iface: "vrrp.1", VMAC: "vrrp.1", VMACBase: "eth0", VIPs: addrs("vrrp.1", "198.51.100.10")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCore(tc.set, []Instance{tc.in})
			run(t, c, step{"vmac-up", "I"}, step{"master", "I"}, step{"backup", "I"}, step{"master", "I"})
			if got := c.Ruleset().String(); got != "" {
				t.Errorf("ruleset:\n%s", got)
			}
		})
	}
}

// TestIPv6VMACDisableLocalIGMP: vrrp_disable_local_igmp only concerns IPv4;
// an IPv6 VMAC still gets the MLD and router solicitation rules.
func TestIPv6VMACDisableLocalIGMP(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived", Priority: -1, DisableLocalIGMP: true}, []Instance{{Name: "I", IPv6: true,
		Iface: "vrrp.7", VMAC: "vrrp.7", VMACBase: "eth0", VIPs: addrs("vrrp.7", "fe80::7")}})
	run(t, c, step{"vmac-up", "I"})
	diffText(t, c.Ruleset().String(), `
table ip6 keepalived {
	map vmac_map {
		type iface_index : iface_index
		elements = { "vrrp.7" : "eth0" }
	}

	set vmac_set {
		type iface_index
		elements = { "vrrp.7" }
	}

	chain out {
		type filter hook output priority -1; policy accept;
		icmpv6 type mld2-listener-report meta oifkind "macvlan" dup to ip6 daddr device oif map @vmac_map drop
		icmpv6 type nd-router-solicit meta oifkind "macvlan" oif @vmac_set drop
	}
}
`)
}

// TestIfindexForcesIndex: nftables_ifindex keys every link-local VIP by
// interface index, dont_track_primary or not.
func TestIfindexForcesIndex(t *testing.T) {
	in := Instance{Name: "I", IPv6: true, Iface: "eth0", Block: true, DontTrackPrimary: true, VIPs: addrs("eth0", "fe80::1")}
	for _, ifindex := range []bool{false, true} {
		c := NewCore(Settings{Table: "keepalived", Ifindex: ifindex}, []Instance{in})
		run(t, c, step{"master", "I"})
		t6 := c.Ruleset().Table(IPv6)
		if (t6.Set("vips_link_local") != nil) != ifindex || (t6.Set("vips_link_local_name") != nil) == ifindex {
			t.Errorf("ifindex=%v:\n%s", ifindex, c.Ruleset())
		}
	}
}

// TestNoTrackByName: with dont_track_primary, a link-local VIP on another
// interface goes by name only when it is no_track.
func TestNoTrackByName(t *testing.T) {
	a := addrs("lo", "fe80::1", "fe80::2")
	a[1].NoTrack = true
	c := NewCore(Settings{Table: "keepalived"}, []Instance{{Name: "I", IPv6: true, Iface: "eth0", Block: true, DontTrackPrimary: true, VIPs: a}})
	run(t, c, step{"master", "I"})
	t6 := c.Ruleset().Table(IPv6)
	if e := t6.Set("vips_link_local").Elems; len(e) != 1 || e[0].Addr != a[0].Addr {
		t.Errorf("by index: %v", e)
	}
	if e := t6.Set("vips_link_local_name").Elems; len(e) != 1 || e[0].Addr != a[1].Addr {
		t.Errorf("by name: %v", e)
	}
}

// TestSharedVIP: an address two blocking instances list stays in the set
// while either is MASTER.
func TestSharedVIP(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived"}, []Instance{
		{Name: "A", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10")},
		{Name: "B", Iface: "eth1", Block: true, VIPs: addrs("eth1", "198.51.100.10", "198.51.100.11")},
	})
	run(t, c, step{"master", "A"}, step{"master", "B"}, step{"backup", "A"})
	if e := c.Ruleset().Table(IPv4).Set("vips").Elems; len(e) != 2 {
		t.Errorf("after A backup: %v", e)
	}
	run(t, c, step{"backup", "B"})
	if e := c.Ruleset().Table(IPv4).Set("vips").Elems; len(e) != 0 {
		t.Errorf("after both backup: %v", e)
	}
}

func TestUnknownInstance(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived"}, nil)
	if _, err := c.SetVIPs("X", true); err == nil || !strings.Contains(err.Error(), `"X"`) {
		t.Errorf("SetVIPs: %v", err)
	}
	if _, err := c.VMACUp("X"); err == nil {
		t.Error("VMACUp of an unknown instance: no error")
	}
}

// TestChangedReports: an event that changes nothing says so (the shell
// then sends no batch).
func TestChangedReports(t *testing.T) {
	c := NewCore(Settings{Table: "keepalived"}, strictInstances())
	for _, tc := range []struct {
		st   vrrp.State
		want bool
	}{{vrrp.StateBackup, false}, {vrrp.StateMaster, true}, {vrrp.StateMaster, false}, {vrrp.StateFault, true}, {vrrp.StateBackup, false}} {
		if got, _ := c.SetState("V4", tc.st); got != tc.want {
			t.Errorf("SetState(%v) changed=%v, want %v", tc.st, got, tc.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	in := "table ip6 k {\n\tset vips {\n\t\ttype ipv6_addr\n\t\telements = { 2001:db8::20,\n\t\t\t     2001:db8::10 }\n\t}\n\n\tchain out {\n\t\tip6 saddr @vips counter packets 3 bytes 120 drop\n\t}\n}\n"
	want := "table ip6 k {\n\tset vips {\n\t\ttype ipv6_addr\n\t\telements = { 2001:db8::10, 2001:db8::20 }\n\t}\n\n\tchain out {\n\t\tip6 saddr @vips counter drop\n\t}\n}\n"
	if got := Canonical(in); got != want {
		t.Errorf("Canonical:\n%s\nwant:\n%s", got, want)
	}
}

// TestReloadUnchanged: reloading the same configuration changes nothing,
// VMAC elements included.
func TestReloadUnchanged(t *testing.T) {
	c := NewCore(Settings{Table: "mytable", Priority: -5}, vmacInstances())
	run(t, c, step{"vmac-up", "V4"}, step{"master", "V4"}, step{"master", "V6"})
	if c.Reload(Settings{Table: "mytable", Priority: -5}, vmacInstances()) {
		t.Errorf("reload of the same configuration changed the ruleset:\n%s", c.Ruleset())
	}
	diffText(t, c.Ruleset().String(), vmacPair)
}
