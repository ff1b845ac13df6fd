package nftfw

import (
	"fmt"
	"math"
	"strconv"

	"keepalived-go/config"
)

// FromConfig resolves the firewall's settings and instances from a loaded
// configuration as keepalived 2.2.7 does (vrrp_complete_instance: accept
// mode; vrrp_iptables and the implied "keepalived" table; addresses'
// interfaces).
//
// The model on this branch keeps nftables_priority, nftables_ifindex,
// nftables_counters and disable_local_igmp verbatim in Global.Other and
// leaves accept mode unresolved; each is read in one place below so that a
// typed model only changes those lines.
func FromConfig(c *config.Config) (Settings, []Instance) {
	g := &c.Global
	s := Settings{Table: g.NFTables, Priority: -1}
	if s.Table == "" && len(g.VRRPIPTables) > 0 {
		// Debian's build has no iptables: vrrp_iptables means nftables.
		s.Table = "keepalived"
	}
	for _, o := range g.Other {
		switch o.Keyword {
		case "nftables_priority":
			if len(o.Args) > 0 {
				if n, err := strconv.ParseInt(o.Args[0], 10, 64); err == nil && n >= math.MinInt32 && n <= math.MaxInt32 {
					s.Priority = int32(n)
				}
			}
		case "nftables_ifindex":
			s.Ifindex = true
		case "nftables_counters":
			s.Counters = true
		case "disable_local_igmp":
			s.DisableLocalIGMP = true
		}
	}
	var out []Instance
	for _, in := range c.Instances {
		ri, accept := instance(g, in)
		if s.Table == "" && (!accept || in.UseVMAC) {
			// "use_vmac or no_accept/strict specified, but no firewall
			// configured - using nftables"
			s.Table = "keepalived"
		}
		out = append(out, ri)
	}
	return s, out
}

// instance maps one vrrp_instance; it also returns keepalived's accept.
func instance(g *config.Global, in *config.VRRPInstance) (Instance, bool) {
	iface := in.Interface
	if iface == "" {
		iface = g.DefaultInterface
	}
	v6 := in.NativeIPv6 || len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6()
	version := in.Version
	if version == 0 {
		version = g.VRRPVersion
	}
	if v6 {
		version = 3
	}
	strict := in.StrictMode || g.VRRPStrict
	owner := in.Priority == 255
	accept := owner || !strict
	if in.Accept != nil {
		accept = *in.Accept
	}
	if accept && !owner && strict && version == 2 {
		// "accept mode for VRRP version 2 does not comply with RFC3768"
		accept = false
	}
	ri := Instance{Name: in.Name, IPv6: v6, Iface: iface, Block: !owner && !accept, DontTrackPrimary: in.DontTrackPrimary}
	if in.UseVMAC {
		ri.VMAC, ri.VMACBase = in.VMACName, iface
		if ri.VMAC == "" {
			ri.VMAC = fmt.Sprintf("vrrp.%d", in.VRID)
		}
		ri.Iface = ri.VMAC
	}
	addr := func(va config.VirtualAddress) Addr {
		a := Addr{Addr: va.Prefix.Addr(), Iface: va.Dev}
		if a.Iface == "" || a.Iface == iface {
			// An address of the instance's family goes on the VMAC,
			// any other on the configured interface.
			a.Iface = iface
			if ri.VMAC != "" && a.Addr.Is6() == v6 {
				a.Iface = ri.VMAC
			}
		}
		return a
	}
	for _, va := range in.VIPs {
		// keepalived drops a VIP of the other family from
		// virtual_ipaddress.
		if va.Prefix.Addr().Is6() == v6 {
			ri.VIPs = append(ri.VIPs, addr(va))
		}
	}
	for _, va := range in.ExcludedVIPs {
		ri.EVIPs = append(ri.EVIPs, addr(va))
	}
	return ri, accept
}
