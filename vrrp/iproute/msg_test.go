package iproute

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"keepalived-go/config"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func idx(name string) uint32 { return map[string]uint32{"eth0": 3, "eth1": 4}[name] }

func v4Route() *config.Route {
	return &config.Route{Family: config.FamilyInet, Dst: netip.MustParsePrefix("203.0.113.0/24"),
		Via: netip.MustParseAddr("198.51.100.1"), Dev: "eth0", Table: config.RTTableMain, Type: config.RTNUnicast,
		Metric: 7, Protocol: config.RTProtKeepalived, Has: config.RouteMetric | config.RouteProtocol}
}

// TestRouteMessageBytes checks netlink_route's request byte for byte
// (little-endian host).
func TestRouteMessageBytes(t *testing.T) {
	// ip route prepend 203.0.113.0/24 via 198.51.100.1 dev eth0 metric 7 proto keepalived
	m := RouteMessage(v4Route(), Add, idx)
	if m.Type != unix.RTM_NEWROUTE || m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE {
		t.Errorf("type %d flags %#x", m.Type, m.Flags)
	}
	want := unhex(t, `02 18 00 00 fe 12 00 01 00000000
		0800 0100 cb007100   0800 0500 c6336401   0800 0400 03000000   0800 0600 07000000`)
	if !bytes.Equal(m.Data, want) {
		t.Errorf("add:\n got %x\nwant %x", m.Data, want)
	}
	// The delete: scope nowhere, type unspecified (no type given).
	m = RouteMessage(v4Route(), Del, idx)
	want[6], want[7] = unix.RT_SCOPE_NOWHERE, 0
	if m.Type != unix.RTM_DELROUTE || m.Flags != unix.NLM_F_REQUEST || !bytes.Equal(m.Data, want) {
		t.Errorf("del: type %d flags %#x\n got %x\nwant %x", m.Type, m.Flags, m.Data, want)
	}
	r := v4Route()
	r.Has |= config.RouteAdd
	if m := RouteMessage(r, Add, idx); m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_EXCL {
		t.Errorf("add: flags %#x", m.Flags)
	}
	r.Has = r.Has&^config.RouteAdd | config.RouteAppend
	if m := RouteMessage(r, Add, idx); m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_APPEND {
		t.Errorf("append: flags %#x", m.Flags)
	}
	if m := RouteMessage(r, Replace, idx); m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_REPLACE {
		t.Errorf("replace: flags %#x", m.Flags)
	}
}

func TestRouteMetricsBytes(t *testing.T) {
	r := v4Route()
	r.Has = config.RouteMTU | config.RouteTTLPropagate
	r.MTU, r.CongCtl, r.Lock, r.Table = 1400, "cubic", 1<<config.RTAXMTU, 1000
	r.TTLPropagate = true
	m := RouteMessage(r, Add, idx)
	// table 1000 goes in RTA_TABLE first; RTA_TTL_PROPAGATE comes before
	// RTA_METRICS, whose last member is RTAX_LOCK.
	want := unhex(t, `02 18 00 00 00 12 00 01 00000000
		0800 0f00 e8030000
		0800 0100 cb007100   0800 0500 c6336401   0800 0400 03000000
		0500 1a00 01 000000
		2000 0800   0900 1000 6375626963 000000   0800 0200 78050000   0800 0100 04000000`)
	if !bytes.Equal(m.Data, want) {
		t.Errorf("\n got %x\nwant %x", m.Data, want)
	}
}

// attrTypes lists the top-level attribute types of a route message.
func attrTypes(data []byte) []uint16 {
	var out []uint16
	for _, a := range nestedAttrs(data[unix.SizeofRtMsg:]) {
		out = append(out, a.typ)
	}
	return out
}

func has(l []uint16, typ uint16) bool {
	for _, x := range l {
		if x == typ {
			return true
		}
	}
	return false
}

// TestMessageSizeLimits: keepalived builds the encapsulation and the
// multipath attribute in 128-byte buffers and drops them, silently, when
// the message would pass 128 bytes; a nexthop's encapsulation never fits.
func TestMessageSizeLimits(t *testing.T) {
	v6 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	r := &config.Route{Family: config.FamilyInet6, Dst: netip.MustParsePrefix("2001:db8:4::/48"), Table: config.RTTableMain,
		Type: config.RTNUnicast}
	for _, a := range []string{"2001:db8:1::1", "2001:db8:2::1"} {
		r.Nexthops = append(r.Nexthops, config.Nexthop{Addr: v6(a), Dev: "eth0"})
	}
	if !has(attrTypes(RouteMessage(r, Add, idx).Data), unix.RTA_MULTIPATH) {
		t.Error("two IPv6 nexthops: no RTA_MULTIPATH")
	}
	r.Nexthops = append(r.Nexthops, config.Nexthop{Addr: v6("2001:db8:1::3"), Dev: "eth0"})
	if has(attrTypes(RouteMessage(r, Add, idx).Data), unix.RTA_MULTIPATH) {
		t.Error("three IPv6 nexthops: RTA_MULTIPATH sent (keepalived's message would pass 128 bytes)")
	}

	e := config.Encap{Type: config.EncapIP6, ID: 7, Dst: v6("2001:db8:1::5"), TTL: 9, Has: config.EncapHasID | config.EncapHasHoplimit}
	r = &config.Route{Family: config.FamilyInet6, Dst: netip.MustParsePrefix("2001:db8:5::/48"), Table: config.RTTableMain,
		Type: config.RTNUnicast, Dev: "eth0", Encap: e}
	if !has(attrTypes(RouteMessage(r, Add, idx).Data), unix.RTA_ENCAP) {
		t.Error("ip6 encap: not sent")
	}
	// 48 bytes of message and 88 of encapsulation pass 128.
	r.Encap.Src, r.Encap.Flags, r.Encap.TOS = v6("2001:db8:1::6"), 1, 16
	r.Encap.Has |= config.EncapHasFlags | config.EncapHasDSField
	if has(attrTypes(RouteMessage(r, Add, idx).Data), unix.RTA_ENCAP) {
		t.Error("ip6 encap with src, tc and flags: sent (keepalived drops it)")
	}

	nh := &config.Route{Family: config.FamilyInet, Dst: netip.MustParsePrefix("203.0.113.0/24"), Table: config.RTTableMain,
		Type: config.RTNUnicast, Nexthops: []config.Nexthop{{Addr: netip.MustParseAddr("198.51.100.1"), Dev: "eth1",
			Encap: config.Encap{Type: config.EncapIP, ID: 5, Has: config.EncapHasID}}}}
	m := RouteMessage(nh, Add, idx)
	// RTA_MULTIPATH holding one rtnexthop {len 16, flags 0, hops 0,
	// ifindex 4} with its gateway only.
	want := unhex(t, `1400 0900   1000 00 00 04000000   0800 0500 c6336401`)
	if !bytes.HasSuffix(m.Data, want) {
		t.Errorf("nexthop:\n got %x\nwant suffix %x", m.Data, want)
	}
}

func TestEncapBytes(t *testing.T) {
	r := v4Route()
	r.Via, r.Has = netip.Addr{}, 0
	r.Encap = config.Encap{Type: config.EncapIP, ID: 5, Dst: netip.MustParseAddr("198.51.100.5"), TTL: 5,
		Has: config.EncapHasID | config.EncapHasHoplimit}
	m := RouteMessage(r, Add, idx)
	want := unhex(t, `02 18 00 00 fe 12 00 01 00000000
		0800 0100 cb007100
		2000 1600   0c00 0100 0000000000000005   0800 0200 c6336405   0500 0400 05 000000
		0600 1500 0200 0000
		0800 0400 03000000`)
	if !bytes.Equal(m.Data, want) {
		t.Errorf("ip encap:\n got %x\nwant %x", m.Data, want)
	}
	r.Encap = config.Encap{Type: config.EncapMPLS, Labels: []uint32{100, 200}}
	m = RouteMessage(r, Add, idx)
	// label 100 (no BoS), label 200 with BoS, network order.
	if !bytes.Contains(m.Data, unhex(t, `1000 1600 0c00 0100 00064000 000c8100 0600 1500 0100 0000`)) {
		t.Errorf("mpls encap: %x", m.Data)
	}
}

// TestRuleMessageBytes checks netlink_rule's request.
func TestRuleMessageBytes(t *testing.T) {
	r := &config.Rule{Family: config.FamilyInet, Invert: true, From: netip.MustParsePrefix("198.51.100.0/24"), Table: 1000,
		Action: config.FRActToTable, Priority: 5, IIf: "eth0", SuppressPrefixLen: -1, Protocol: config.RTProtKeepalived,
		Has: config.RuleHasPriority | config.RuleHasProtocol}
	m := RuleMessage(r, Add)
	if m.Type != unix.RTM_NEWRULE || m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_CREATE|unix.NLM_F_EXCL {
		t.Errorf("type %d flags %#x", m.Type, m.Flags)
	}
	// ip rule add not from 198.51.100.0/24 iif eth0 lookup 1000 pref 5 protocol keepalived
	want := unhex(t, `02 00 18 00 00 00 00 01 02000000
		0800 0f00 e8030000   0800 0200 c6336400   0800 0600 05000000
		0900 0300 6574683000 000000   0500 1500 12 000000`)
	if !bytes.Equal(m.Data, want) {
		t.Errorf("\n got %x\nwant %x", m.Data, want)
	}
	r = &config.Rule{Family: config.FamilyInet6, Action: config.FRActGoto, Goto: 200, Priority: 100, TunnelID: 9,
		UIDStart: 1, UIDEnd: 2, SPortStart: 80, SPortEnd: 81, SuppressPrefixLen: -1,
		Has: config.RuleHasPriority | config.RuleHasUIDRange | config.RuleHasSPortRange}
	want = unhex(t, `0a 00 00 00 00 00 00 02 00000000
		0800 0600 64000000   0c00 0c00 0000000000000009   0c00 1400 01000000 02000000
		0800 1700 5000 5100   0800 0400 c8000000`)
	if m := RuleMessage(r, Del); m.Type != unix.RTM_DELRULE || m.Flags != unix.NLM_F_REQUEST || !bytes.Equal(m.Data, want) {
		t.Errorf("goto rule del: type %d flags %#x\n got %x\nwant %x", m.Type, m.Flags, m.Data, want)
	}
}
