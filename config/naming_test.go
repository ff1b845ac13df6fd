package config

import (
	"net/netip"
	"testing"
)

// keepalived's format_vs and format_rs, for every way a virtual server is
// named.
func TestNames(t *testing.T) {
	a := netip.MustParseAddr
	rs := func(addr string, port int) *RealServer { return &RealServer{Addr: a(addr), Port: port} }
	cases := []struct {
		vs       *VirtualServer
		rs       *RealServer
		vsn, rsn string
	}{
		{&VirtualServer{Addr: a("198.51.100.10"), Port: 80, Protocol: "TCP"}, rs("198.51.100.11", 80),
			"[198.51.100.10]:tcp:80", "[198.51.100.11]:tcp:80"},
		{&VirtualServer{Addr: a("2001:db8::a"), Port: 9, Protocol: "SCTP"}, rs("2001:db8::b", 9),
			"[2001:db8::a]:sctp:9", "[2001:db8::b]:sctp:9"},
		{&VirtualServer{Addr: a("::ffff:203.0.113.1"), Port: 53, Protocol: "UDP"}, rs("fe80::1%eth0", 53),
			"[203.0.113.1]:udp:53", "[fe80::1]:udp:53"},
		// keepalived's service_type 0: a fwmark service without protocol.
		{&VirtualServer{FWMark: 7}, rs("2001:db8::1", 0), "FWM 7", "[2001:db8::1]:none:0"},
		{&VirtualServer{FWMark: 7, Protocol: "UDP"}, rs("198.51.100.11", 0), "FWM 7", "[198.51.100.11]:udp:0"},
		{&VirtualServer{Group: "web", Port: 0, Protocol: "TCP"}, rs("198.51.100.11", 80), "[web]:0", "[198.51.100.11]:tcp:80"},
	}
	for _, c := range cases {
		if got := c.vs.Name(); got != c.vsn {
			t.Errorf("Name() = %q, want %q", got, c.vsn)
		}
		if got := c.vs.RealServerName(c.rs); got != c.rsn {
			t.Errorf("RealServerName() = %q, want %q", got, c.rsn)
		}
	}
}

func TestVirtualAddressFormat(t *testing.T) {
	forever, zero := uint32(0xffffffff), uint32(0)
	for _, tc := range []struct {
		v              VirtualAddress
		dev, base, out string
		set            bool
	}{
		{VirtualAddress{Prefix: netip.MustParsePrefix("198.51.100.10/24"), Broadcast: "+", Label: "eth0:1"}, "eth0", "", "198.51.100.10/24 brd 198.51.100.255 dev eth0 scope global label eth0:1 set", true},
		{VirtualAddress{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Dev: "eth1", NoTrack: true}, "eth0", "", "198.51.100.10 dev eth1 scope global no_track", false},
		{VirtualAddress{Prefix: netip.MustParsePrefix("2001:db8::1/64"), PreferredLft: &forever, UseVMAC: true}, "vrrp.1", "eth0", "2001:db8::1/64 dev vrrp.1@eth0 use_vmac scope global preferred_lft forever", false},
		{VirtualAddress{Prefix: netip.MustParsePrefix("2001:db8::2/128"), PreferredLft: &zero}, "eth0", "", "2001:db8::2 dev eth0 scope global deprecated", false},
	} {
		if got := tc.v.Format(tc.dev, tc.base, tc.set); got != tc.out {
			t.Errorf("Format = %q\n want %q", got, tc.out)
		}
	}
}
