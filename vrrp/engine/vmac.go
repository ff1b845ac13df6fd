package engine

import (
	"fmt"
	"net"
	"net/netip"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
)

// linkPlan is what an instance needs made besides its configured
// interface, as keepalived's vrrp_complete_instance decides it: its
// use_vmac macvlan or use_ipvlan ipvlan (named by create_vmac_name unless
// configured or found already there), and the VMACs of its addresses
// (use_vmac on a VIP, use_vmac_addr). addrDev is where each address
// without an explicit device (or with use_vmac) goes.
type linkPlan struct {
	spec     netio.LinkSpec // Name "" without a VMAC or ipvlan
	xmitBase bool           // vmac_xmit_base: adverts on the base interface
	addrs    []netio.LinkSpec
	addrDev  map[netip.Prefix]string
}

// linkMaker is a Net that makes VMACs and ipvlans as keepalived does
// (Linux); a Net without it gets EnsureVMAC for the instance's VMAC only.
type linkMaker interface {
	EnsureLink(netio.LinkSpec) (created bool, err error)
	RemoveLink(name string) error
	// FindVMAC names an existing private macvlan on base with mac ("").
	FindVMAC(base string, mac net.HardwareAddr) string
	// LinkKind is an existing interface's kind ("" for a plain device);
	// ok false when there is none.
	LinkKind(name string) (kind string, ok bool)
	// LinkLocal is the address set_link_local_address puts on an IPv6
	// VMAC when no source is configured: the base's link-local, else the
	// EUI-64 address of its MAC.
	LinkLocal(base string) (netip.Addr, error)
}

// planLinks is the VMAC part of vrrp_complete_instance for every
// instance, in configuration order: names used by any instance's
// configuration are not given to another.
func (e *Engine) planLinks(cfg *config.Config) map[string]*linkPlan {
	lm, _ := e.net.(linkMaker)
	taken := map[string]bool{}
	for _, ci := range cfg.Instances {
		for _, n := range []string{ci.VMACName, ci.IPVLANName} {
			if n != "" {
				taken[n] = true
			}
		}
	}
	plans := map[string]*linkPlan{}
	byVMAC := map[string]string{} // base/family -> address VMAC name
	for _, ci := range cfg.Instances {
		p := &linkPlan{addrDev: map[netip.Prefix]string{}}
		if ci.UseVMAC || ci.UseIPVLAN {
			p.spec = e.instanceLink(cfg, ci, lm, taken)
			p.xmitBase = ci.UseVMAC && ci.VMACXmitBase
		}
		e.planAddrs(cfg, ci, p, lm, taken, byVMAC)
		plans[ci.Name] = p
	}
	return plans
}

func instanceIPv6(ci *config.VRRPInstance) bool {
	return ci.Family == "inet6" || ci.Family == "" && len(ci.VIPs) > 0 && ci.VIPs[0].Prefix.Addr().Is6()
}

// instanceLink names and describes the instance's VMAC or ipvlan.
func (e *Engine) instanceLink(cfg *config.Config, ci *config.VRRPInstance, lm linkMaker, taken map[string]bool) netio.LinkSpec {
	v6 := instanceIPv6(ci)
	base := ci.Interface
	if base == "" {
		base = cfg.Global.DefaultInterface
	}
	spec := netio.LinkSpec{Base: base, VRID: uint8(ci.VRID), IPv6: v6, MAC: ci.VMACMAC}
	kind, want := "VMAC", "macvlan"
	name := ci.VMACName
	if ci.UseIPVLAN {
		kind, want, name = "IPVLAN", "ipvlan", ci.IPVLANName
		spec.IPVLAN, spec.IPVLANMode, spec.IPVLANAddr = true, ci.IPVLANType, ci.IPVLANAddr
		spec.MAC = nil
	}
	for _, a := range ci.ExcludedVIPs {
		if a.Prefix.Addr().Is6() != v6 {
			spec.OtherFamily = true
		}
	}
	matched := false
	if lm != nil && !ci.UseIPVLAN {
		// An existing private macvlan on the base with the MAC is taken
		// over, whatever its name.
		mac := spec.MAC
		if mac == nil {
			mac = netio.VMACAddr(spec.VRID, v6)
		}
		if found := lm.FindVMAC(base, mac); found != "" {
			e.log.Infof("(%s) Found matching interface %s", ci.Name, found)
			if name != "" && name != found {
				e.log.Infof("(%s) vmac name mismatch %s <=> %s. changing to %s.", ci.Name, name, found, found)
			}
			name, matched = found, true
		}
	}
	if lm != nil && name != "" && !matched {
		if k, ok := lm.LinkKind(name); ok {
			switch {
			case k == want && ci.UseIPVLAN:
				// keepalived takes an existing ipvlan of that name as it is.
			case k == "macvlan" || k == "ipvlan":
				e.log.Infof("(%s) %s %s already exists but is incompatible. It will be deleted/updated", ci.Name, kind, name)
			default:
				e.log.Infof("(%s) %s interface name %s already exists as a non %s interface. ignoring configured name", ci.Name, kind, name, kind)
				name = ""
			}
		}
	}
	if name == "" {
		prefix := cfg.Global.VMACPrefix
		if prefix == "" {
			prefix = "vrrp"
		}
		name = vmacName(prefix, spec.VRID, v6, func(n string) bool { return taken[n] || e.linkExists(lm, n) })
	}
	taken[name] = true
	spec.Name = name
	return spec
}

func (e *Engine) linkExists(lm linkMaker, name string) bool {
	if lm == nil {
		return false
	}
	_, ok := lm.LinkKind(name)
	return ok
}

// vmacName is create_vmac_name: PREFIX.VRID, else (IPv6) PREFIX6.VRID,
// then PREFIXn.VRID for n = 1, 2, ... (skipping 6 for IPv6), each cut to
// fit IFNAMSIZ; the first name neither in use nor an existing interface.
func vmacName(prefix string, vrid uint8, v6 bool, used func(string) bool) string {
	fit := func(num string) string {
		tail := num + "." + fmt.Sprint(vrid)
		if len(prefix)+len(tail) > 15 {
			return prefix[:max(0, 15-len(tail))] + tail
		}
		return prefix + tail
	}
	name := fit("")
	num := 0
	for i := 0; used(name) && i < 1000; i++ {
		switch {
		case !v6:
			num++
		case num == 0:
			num = 6
		case num == 6:
			num = 1
		default:
			if num++; num == 6 {
				num++
			}
		}
		name = fit(fmt.Sprint(num))
	}
	return name
}

// planAddrs is where vrrp_complete_instance puts each VIP and eVIP: an
// address without a device (or on the configured interface) goes on the
// instance's VMAC when of its family, else on the configured interface;
// one with use_vmac, or with use_vmac_addr when on another interface or
// of the other family, goes on a VMAC made for its interface (shared by
// the addresses of one interface and family, named with
// vmac_addr_prefix).
func (e *Engine) planAddrs(cfg *config.Config, ci *config.VRRPInstance, p *linkPlan, lm linkMaker, taken map[string]bool, byVMAC map[string]string) {
	v6 := instanceIPv6(ci)
	configured := ci.Interface
	if configured == "" {
		configured = cfg.Global.DefaultInterface
	}
	for _, list := range [][]config.VirtualAddress{ci.VIPs, ci.ExcludedVIPs} {
		for _, a := range list {
			fam6 := a.Prefix.Addr().Is6()
			dev, sorted := a.Dev, true
			if dev == "" || dev == configured {
				if ci.UseVMAC && fam6 == v6 {
					dev = p.spec.Name
				} else {
					dev = configured
					sorted = !(a.UseVMAC || ci.VMACAddr && fam6 != v6)
				}
			} else {
				sorted = !(a.UseVMAC || ci.VMACAddr)
			}
			if !sorted {
				dev = e.addrVMAC(cfg, ci, p, dev, fam6, lm, taken, byVMAC)
			}
			p.addrDev[a.Prefix] = dev
		}
	}
}

// addrVMAC names the VMAC of an address on base (if_get_by_vmac, else
// create_vmac_name) and adds it to the plan once.
func (e *Engine) addrVMAC(cfg *config.Config, ci *config.VRRPInstance, p *linkPlan, base string, v6 bool, lm linkMaker, taken map[string]bool, byVMAC map[string]string) string {
	key := fmt.Sprintf("%s/%v/%d", base, v6, ci.VRID)
	if n := byVMAC[key]; n != "" {
		for _, s := range p.addrs {
			if s.Name == n {
				return n
			}
		}
		p.addrs = append(p.addrs, netio.LinkSpec{Name: n, Base: base, VRID: uint8(ci.VRID), IPv6: v6, MAC: ci.VMACMAC})
		return n
	}
	mac := ci.VMACMAC
	if mac == nil {
		mac = netio.VMACAddr(uint8(ci.VRID), v6)
	}
	name := ""
	if lm != nil {
		name = lm.FindVMAC(base, mac)
	}
	if name == "" {
		prefix := cfg.Global.VMACAddrPrefix
		if prefix == "" {
			prefix = cfg.Global.VMACPrefix
		}
		if prefix == "" {
			prefix = "vrrp"
		}
		name = vmacName(prefix, uint8(ci.VRID), v6, func(n string) bool { return taken[n] || e.linkExists(lm, n) })
	}
	taken[name] = true
	byVMAC[key] = name
	p.addrs = append(p.addrs, netio.LinkSpec{Name: name, Base: base, VRID: uint8(ci.VRID), IPv6: v6, MAC: ci.VMACMAC})
	return name
}

// applyLinkPlan sets an instance's interfaces from its plan: the FSM's
// interface is the VMAC or ipvlan (the base with vmac_xmit_base, where
// the adverts go), and each address goes where the plan put it.
func (e *Engine) applyLinkPlan(ci *config.VRRPInstance, vc *vrrp.Config) (base, vmac string) {
	base = vc.Interface
	p := e.plans[ci.Name]
	if p == nil || p.spec.Name == "" {
		return base, ""
	}
	if !p.xmitBase {
		vc.Interface = p.spec.Name
	}
	return base, p.spec.Name
}

// placeAddrs moves the instance's addresses to the devices of its plan.
func (e *Engine) placeAddrs(ci *config.VRRPInstance, addrs map[netip.Prefix]netio.Addr) {
	p := e.plans[ci.Name]
	if p == nil {
		return
	}
	for pfx, dev := range p.addrDev {
		if a, ok := addrs[pfx]; ok {
			a.Dev = dev
			addrs[pfx] = a
		}
	}
}

// ensureLinks is netlink_link_add_vmac / netlink_link_add_ipvlan for the
// instance and its addresses' VMACs, before its sockets are opened. It
// reports whether the instance has a VMAC or ipvlan that is now made.
func (e *Engine) ensureLinks(m *inst) bool {
	p := e.plans[m.cfg.Name]
	if m.link != nil {
		p = m.link
	}
	if p == nil {
		return false
	}
	m.link = p
	lm, ok := e.net.(linkMaker)
	if !ok {
		if m.vmac == "" {
			return false
		}
		if err := e.net.EnsureVMAC(m.base, m.vmac, m.vc.VRID); err != nil {
			e.actErrs++
			e.log.Errorf("(%s) %v", m.cfg.Name, err)
			return false
		}
		return true
	}
	made := false
	known := e.knownIfaces()
	logf := func(format string, a ...any) { e.log.Infof(format, a...) }
	if p.spec.Name != "" {
		spec := p.spec
		spec.Known, spec.Logf = known, logf
		if spec.IPv6 && !spec.IPVLAN && !p.xmitBase {
			spec.LinkLocal = e.vmacLinkLocal(m, lm, spec.Base)
		}
		made = e.makeLink(m, lm, spec)
	}
	for _, spec := range p.addrs {
		spec.Known, spec.Logf = known, logf
		if spec.IPv6 {
			spec.LinkLocal = e.vmacLinkLocal(nil, lm, spec.Base)
		}
		e.makeLink(m, lm, spec)
	}
	return made
}

// knownIfaces are the interfaces keepalived keeps in its interface list:
// those the configuration names (instances', tracked, addresses' and the
// VMACs').
func (e *Engine) knownIfaces() []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, ci := range e.cfg.Instances {
		add(ci.Interface)
		for _, r := range ci.TrackInterfaces {
			add(r.Name)
		}
		for _, list := range [][]config.VirtualAddress{ci.VIPs, ci.ExcludedVIPs} {
			for _, a := range list {
				add(a.Dev)
			}
		}
		if p := e.plans[ci.Name]; p != nil {
			add(p.spec.Name)
			for _, s := range p.addrs {
				add(s.Name)
			}
		}
	}
	for _, a := range e.cfg.StaticAddresses {
		add(a.Dev)
	}
	return out
}

// vmacLinkLocal is set_link_local_address's choice: the configured IPv6
// source, else the base's link-local, else its EUI-64 address.
func (e *Engine) vmacLinkLocal(m *inst, lm linkMaker, base string) netip.Addr {
	if m != nil && m.built.SrcAddr.IsValid() && m.built.SrcAddr.Is6() {
		return m.built.SrcAddr
	}
	a, err := lm.LinkLocal(base)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func (e *Engine) makeLink(m *inst, lm linkMaker, spec netio.LinkSpec) bool {
	kind := "VMAC"
	if spec.IPVLAN {
		kind = "ipvlan"
	}
	created, err := lm.EnsureLink(spec)
	if err != nil {
		e.actErrs++
		e.log.Infof("(%s): Unable to create %s interface %s", m.cfg.Name, kind, spec.Name)
		e.log.Debugf("(%s) %v", m.cfg.Name, err)
		return false
	}
	if created && e.opts.LogDetail {
		e.log.Infof("(%s): Success creating %s interface %s", m.cfg.Name, kind, spec.Name)
	}
	return true
}

// removeLinks is netlink_link_del_vmac for the instance's link and its
// addresses' VMACs.
func (e *Engine) removeLinks(m *inst) {
	p := m.link
	if p == nil {
		if m.vmac != "" {
			if err := e.net.RemoveVMAC(m.vmac); err != nil {
				e.log.Errorf("(%s) %v", m.cfg.Name, err)
			}
		}
		return
	}
	lm, ok := e.net.(linkMaker)
	names := []string{}
	if p.spec.Name != "" {
		names = append(names, p.spec.Name)
	}
	for _, s := range p.addrs {
		names = append(names, s.Name)
	}
	for _, n := range names {
		var err error
		if ok {
			err = lm.RemoveLink(n)
		} else {
			err = e.net.RemoveVMAC(n)
		}
		if err != nil {
			e.log.Infof("(%s) Error removing VMAC interface %s", m.cfg.Name, n)
			continue
		}
		if e.opts.LogDetail {
			e.log.Infof("(%s) Success removing VMAC interface %s", m.cfg.Name, n)
		}
	}
	m.link = nil
}

// linkFault is the instance's own VMAC or ipvlan as keepalived tracks it
// (add_vrrp_to_interface with TRACK_VRRP): down or missing, the instance
// is in FAULT unless dont_track_primary.
func (e *Engine) linkFault(m *inst, faults map[string]bool) {
	if m.vmac == "" || m.cfg.DontTrackPrimary {
		return
	}
	if up, ok := e.links[m.vmac]; ok && !up {
		faults["\x00link"] = true
	}
}

// staleLinkEvent is a "down" the kernel reported while the engine was
// making one of its own VMACs or ipvlans (links are created down, then
// set up): keepalived reads those reflected messages as it goes
// (kernel_netlink_poll); here the link's state now decides.
func (e *Engine) staleLinkEvent(le netio.LinkEvent) bool {
	if le.Up {
		return false
	}
	for _, u := range e.units {
		for _, m := range u.members {
			if m.vmac == le.Iface && m.link != nil {
				up, err := e.net.LinkUp(le.Iface)
				return err == nil && up
			}
		}
	}
	return false
}

// EnsureLink makes a VMAC or ipvlan (netio.EnsureLink) and remembers it.
func (l *Linux) EnsureLink(spec netio.LinkSpec) (bool, error) {
	v, created, err := netio.EnsureLink(spec)
	if v != nil {
		l.mu.Lock()
		if l.vmacs == nil {
			l.vmacs = map[string]*netio.VMAC{}
		}
		if l.vmacs[spec.Name] == nil {
			l.vmacs[spec.Name] = v
		}
		l.mu.Unlock()
	}
	return created, err
}

// RemoveLink deletes a link EnsureLink made.
func (l *Linux) RemoveLink(name string) error { return l.RemoveVMAC(name) }

// FindVMAC implements linkMaker.
func (l *Linux) FindVMAC(base string, mac net.HardwareAddr) string { return netio.FindVMAC(base, mac) }

// LinkKind implements linkMaker.
func (l *Linux) LinkKind(name string) (string, bool) { return netio.LinkKind(name) }

// LinkLocal implements linkMaker.
func (l *Linux) LinkLocal(base string) (netip.Addr, error) {
	if a, err := l.PrimaryAddr(base, true); err == nil {
		return a, nil
	}
	ifi, err := net.InterfaceByName(base)
	if err != nil {
		return netip.Addr{}, err
	}
	return netio.LinkLocalOf(ifi.HardwareAddr), nil
}

var _ linkMaker = (*Linux)(nil)
