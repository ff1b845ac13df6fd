package nftfw

import (
	"fmt"

	"keepalived-go/config"
)

// FromConfig takes the firewall's settings and instances from a loaded
// configuration. The load resolved what keepalived 2.2.7 resolves in
// vrrp_complete_instance (accept mode, the implied "keepalived" table for
// vrrp_iptables, use_vmac or no_accept, other-family VIPs dropped); this
// only works out each address's interface.
func FromConfig(c *config.Config) (Settings, []Instance) {
	g := &c.Global
	s := Settings{Table: g.NFTables, Priority: int32(g.NFTablesPriority), Ifindex: g.NFTablesIfindex,
		Counters: g.NFTablesCounters, DisableLocalIGMP: g.DisableLocalIGMP}
	var out []Instance
	for _, in := range c.Instances {
		out = append(out, instance(g, in))
	}
	return s, out
}

// instance maps one vrrp_instance.
func instance(g *config.Global, in *config.VRRPInstance) Instance {
	iface := in.Interface
	if iface == "" {
		iface = g.DefaultInterface
	}
	v6 := in.Family == "inet6"
	owner := in.Priority == 255
	accept := in.Accept != nil && *in.Accept
	ri := Instance{Name: in.Name, IPv6: v6, Iface: iface, Block: !owner && !accept, DontTrackPrimary: in.DontTrackPrimary}
	if in.UseVMAC {
		ri.VMAC, ri.VMACBase = in.VMACName, iface
		if ri.VMAC == "" {
			ri.VMAC = fmt.Sprintf("vrrp.%d", in.VRID)
		}
		ri.Iface = ri.VMAC
	}
	addr := func(va config.VirtualAddress) Addr {
		a := Addr{Addr: va.Prefix.Addr(), Iface: va.Dev, NoTrack: va.NoTrack}
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
		ri.VIPs = append(ri.VIPs, addr(va))
	}
	for _, va := range in.ExcludedVIPs {
		ri.EVIPs = append(ri.EVIPs, addr(va))
	}
	return ri
}
