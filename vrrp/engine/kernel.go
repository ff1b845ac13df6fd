package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/iproute"
	"keepalived-go/vrrp/netio"
)

// The engine follows the kernel as keepalived 2.2.7 does
// (core/keepalived_netlink.c netlink_if_address_filter,
// vrrp/vrrp_track.c initialise_vrrp_tracking_priorities): the address
// notifications of the interfaces the instances use come into the owner's
// loop and become events of the FSM.
//
//   - An instance whose interface has no address to advertise from is in
//     FAULT ("no IPv4 address for interface"); it leaves FAULT when one is
//     added. When the address it advertises from is removed it takes
//     another of the interface's addresses, or goes FAULT when there is
//     none (the kernel removes the VIPs of that subnet with it).
//   - A VIP or eVIP removed under a MASTER sends it to BACKUP with a master
//     down timer of Skew_Time (vrrp.SetBackup): it soon takes over again
//     and puts its addresses back.
//   - A static address removed is added again ("Restoring deleted static
//     address").

// faultAddress is the fault key of an instance without an address to
// advertise from.
const faultAddress = "\x00address"

// kernelWatcher is a Net that reports the kernel's address notifications,
// and route and rule ones of the groups asked for, in the kernel's order.
type kernelWatcher interface {
	WatchKernel(ctx context.Context, g netio.MonitorGroups, onAddr func(netio.AddrEvent), onRoute func(netlink.Message)) error
}

// addrLister is a Net that lists an interface's addresses.
type addrLister interface {
	IfAddrs(iface string) ([]netio.IfAddr, error)
}

// instKernel is what an instance holds in the kernel besides its FSM.
type instKernel struct {
	// noSrc: the interface has no address to advertise from (FAULT).
	noSrc bool
	// set are the VIPs and eVIPs installed (keepalived's ip_addr->set).
	set    map[netip.Prefix]bool
	routes []*iproute.RouteState
	rules  []*iproute.RuleState
}

func newInstKernel(ci *config.VRRPInstance) instKernel {
	return instKernel{set: map[netip.Prefix]bool{}, routes: iproute.NewRouteStates(ci.Routes),
		rules: iproute.NewRuleStates(ci.Rules)}
}

// staticAddr is a static_ipaddress with keepalived's set flag.
type staticAddr struct {
	cfg config.VirtualAddress
	a   netio.Addr
	set bool
}

func newStaticAddrs(list []config.VirtualAddress) []*staticAddr {
	out := make([]*staticAddr, len(list))
	for i, v := range list {
		out[i] = &staticAddr{cfg: v, a: kernelAddr(v)}
	}
	return out
}

// srcIface is the interface an instance takes its source address from:
// the configured one for IPv4 (keepalived's VRRP_CONFIGURED_IFP), the one
// adverts leave on for IPv6.
func (m *inst) srcIface() string {
	if m.vc.IPv6 {
		return m.vc.Interface
	}
	return m.base
}

// isVIP reports whether ip is a VIP or eVIP of any instance
// (ignore_address_if_ours_or_link_local) or a static address the engine
// set (keepalived's VRRP process skips the address messages its own
// command socket caused, netlink_parse_info): such an address is never
// an advert's source.
func (e *Engine) isVIP(ip netip.Addr) bool {
	for _, a := range e.kern.addrs {
		if a.set && a.cfg.Prefix.Addr() == ip {
			return true
		}
	}
	for _, u := range e.units {
		for _, m := range u.members {
			for p := range m.addrs {
				if p.Addr() == ip {
					return true
				}
			}
		}
	}
	return false
}

// primaryAddr picks the address adverts leave from on iface, never a VIP.
func (e *Engine) primaryAddr(iface string, v6 bool, skip netip.Addr) (netip.Addr, error) {
	l, ok := e.net.(addrLister)
	if !ok {
		return e.net.PrimaryAddr(iface, v6)
	}
	addrs, err := l.IfAddrs(iface)
	if err != nil {
		return netip.Addr{}, err
	}
	if a, ok := netio.PickPrimary(addrs, v6, func(a netip.Addr) bool { return a == skip || e.isVIP(a) }); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("no address on %s", iface)
}

// initSource is set_vrrp_src_addr and the source check of
// initialise_vrrp_tracking_priorities for one instance about to start.
func (e *Engine) initSource(m *inst) {
	if m.built.SrcAddr.IsValid() {
		return
	}
	a, err := e.primaryAddr(m.srcIface(), m.vc.IPv6, netip.Addr{})
	if err != nil {
		m.k.noSrc = true
		fam := 4
		if m.vc.IPv6 {
			fam = 6
		}
		e.log.Infof("(%s) entering FAULT state (no IPv%d address for interface)", m.cfg.Name, fam)
		return
	}
	m.k.noSrc = false
	m.vc.SrcAddr = a
	if fsm, err := vrrp.New(m.vc); err == nil {
		m.fsm = fsm
	}
}

// kernelFaults adds the faults the kernel's state puts m in.
func (e *Engine) kernelFaults(m *inst, faults map[string]bool) {
	if m.k.noSrc {
		faults[faultAddress] = true
	}
	for _, name := range m.kernelIfaces() {
		if up, ok := e.links[name]; ok && !up {
			faults["interface:"+name] = true
		}
	}
}

// kernelIfaces are the interfaces m tracks without weight for its
// routes, rules and static addresses (TRACK_ROUTE, TRACK_RULE, TRACK_SADDR
// ...): down is FAULT, whatever a track_interface weight says.
func (m *inst) kernelIfaces() []string {
	return append(append([]string(nil), m.cfg.RouteInterfaces...), m.cfg.StaticInterfaces...)
}

// weightless reports whether a track_interface of m is merged into an
// unweighted tracking of the same interface.
func (m *inst) weightless(iface string) bool {
	for _, n := range m.kernelIfaces() {
		if n == iface {
			return true
		}
	}
	return false
}

// live are the instances running now, in configuration order.
func (e *Engine) live() []*inst {
	var out []*inst
	for _, u := range e.units {
		for _, m := range u.members {
			if !m.removed {
				out = append(out, m)
			}
		}
	}
	return out
}

// addrEvent is netlink_if_address_filter for the VRRP process.
func (e *Engine) addrEvent(ev netio.AddrEvent) {
	if e.stopping || ev.Iface == "" {
		return
	}
	changed := e.sourceEvent(ev)
	if !ev.Deleted {
		return
	}
	if !changed {
		e.vipRemoved(ev)
	}
	e.staticRemoved(ev)
}

// sourceEvent follows the addresses instances advertise from; it reports
// whether one of them lost or gained its address (keepalived's addr_chg).
func (e *Engine) sourceEvent(ev netio.AddrEvent) bool {
	ip := ev.Prefix.Addr()
	if ip.Is6() && ev.Scope != unix.RT_SCOPE_LINK {
		return false // only link-local addresses are IPv6 sources
	}
	now := e.now()
	changed, logged := false, false
	detail := func(format string) {
		if e.opts.LogDetail && !logged {
			logged = true
			e.log.Infof(format, ip, ev.Iface)
		}
	}
	for _, m := range e.live() {
		fromCfg := m.built.SrcAddr.IsValid()
		if m.srcIface() != ev.Iface || m.vc.IPv6 != ip.Is6() || (fromCfg && !m.cfg.TrackSrcIP) {
			continue
		}
		if ev.Deleted {
			if m.k.noSrc || ip != m.vc.SrcAddr {
				continue
			}
			if !fromCfg {
				if other, err := e.primaryAddr(ev.Iface, ip.Is6(), ip); err == nil {
					// Another address of the interface takes over.
					m.vc.SrcAddr = other
					e.step(m.u, m.idx, vrrp.SetSource{Now: now, Addr: other})
					continue
				}
			}
			changed = true
			detail("Deassigned address %s from interface %s")
			m.k.noSrc = true
			e.refreshTracking(m, now)
			continue
		}
		if !m.k.noSrc || e.isVIP(ip) || (fromCfg && ip != m.built.SrcAddr) {
			continue
		}
		changed = true
		detail("Assigned address %s for interface %s")
		m.vc.SrcAddr = ip
		e.step(m.u, m.idx, vrrp.SetSource{Now: now, Addr: ip})
		m.k.noSrc = false
		e.refreshTracking(m, now)
	}
	return changed
}

// vipRemoved is address_is_ours and set_vrrp_backup: a VIP or eVIP
// removed under its MASTER.
func (e *Engine) vipRemoved(ev netio.AddrEvent) {
	ip := ev.Prefix.Addr()
	for _, m := range e.live() {
		if m.fsm.State() != vrrp.StateMaster {
			continue
		}
		for _, list := range [][]config.VirtualAddress{m.cfg.VIPs, m.cfg.ExcludedVIPs} {
			for _, v := range list {
				a, ok := m.addrs[v.Prefix]
				if !ok || a.Dev != ev.Iface || v.Prefix.Addr() != ip {
					continue
				}
				if v.NoTrack {
					return
				}
				if e.opts.LogDetail {
					e.log.Infof("Netlink reflector reports IP %s removed from %s", ip, ev.Iface)
				}
				m.k.set[v.Prefix] = false
				e.step(m.u, m.idx, vrrp.SetBackup{Now: e.now()})
				return
			}
		}
	}
}

// staticRemoved is reinstate_static_address for a static address removed
// by someone else.
func (e *Engine) staticRemoved(ev netio.AddrEvent) {
	for _, s := range e.kern.addrs {
		if s.cfg.NoTrack || s.a.Dev != ev.Iface || s.a.Prefix.Addr() != ev.Prefix.Addr() {
			continue
		}
		e.reinstateAddr(s)
		return
	}
}

func (e *Engine) reinstateAddr(s *staticAddr) {
	err := e.net.AddAddr(s.a)
	s.set = err == nil
	if err != nil {
		e.log.Errorf("%v", err)
	}
	e.log.Infof("Restoring deleted static address %s", s.cfg.Format(s.a.Dev, "", s.set))
}

// WatchKernel reports address notifications to onAddr and route and
// rule ones to onRoute, from a goroutine of its own, until ctx ends.
func (l *Linux) WatchKernel(ctx context.Context, g netio.MonitorGroups, onAddr func(netio.AddrEvent), onRoute func(netlink.Message)) error {
	mon, err := netio.OpenMonitor(g)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		mon.Close()
	}()
	go func() {
		for {
			msgs, err := mon.Receive()
			if err != nil {
				if ctx.Err() == nil && errors.Is(err, unix.ENOBUFS) {
					continue // notifications were lost; read on
				}
				return
			}
			for _, m := range msgs {
				if ev, ok := netio.ParseAddr(m); ok {
					onAddr(ev)
					continue
				}
				switch m.Header.Type {
				case unix.RTM_NEWROUTE, unix.RTM_DELROUTE, unix.RTM_NEWRULE, unix.RTM_DELRULE:
					onRoute(m)
				}
			}
		}
	}()
	return nil
}

// IfAddrs lists iface's addresses.
func (l *Linux) IfAddrs(iface string) ([]netio.IfAddr, error) { return netio.IfAddrs(iface) }
