package engine

import (
	"context"
	"errors"
	"slices"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/iproute"
	"keepalived-go/vrrp/netio"
)

// Routes and rules, on keepalived 2.2.7's transitions (vrrp/iproute/doc.go):
// static addresses, routes and rules at start, stop and reload; an
// instance's virtual routes and rules after its VIPs when it becomes
// MASTER, before them when it leaves; the kernel's route and rule
// notifications through iproute.Tracker in the owner's loop.

// RouteHandle sends route and rule requests (iproute.Handle).
type RouteHandle interface {
	Route(r *config.Route, cmd iproute.Cmd) error
	Rule(r *config.Rule, cmd iproute.Cmd) error
	RouteList(l []*iproute.RouteState, cmd iproute.Cmd, force bool) (bool, []error)
	RuleList(l []*iproute.RuleState, cmd iproute.Cmd, force bool) []error
	ReplaceRoutes(old, new []*iproute.RouteState) []error
	ReplaceRules(old, new []*iproute.RuleState) []error
	Index(name string) uint32
	PID() uint32
	Close() error
}

var _ RouteHandle = (*iproute.Handle)(nil)

// kernelState is the engine's share of the kernel beyond its instances.
type kernelState struct {
	rt      RouteHandle
	fw      Firewall
	fwNames map[string]bool // the instances the firewall knows
	tracker *iproute.Tracker
	addrs   []*staticAddr
	routes  []*iproute.RouteState
	rules   []*iproute.RuleState
	// watch ends the kernel watcher; groups are the ones it joined.
	watch  context.CancelFunc
	groups netio.MonitorGroups
}

// needsRoutes reports whether cfg has routes or rules to install.
func needsRoutes(cfg *config.Config) bool {
	if len(cfg.StaticRoutes)+len(cfg.StaticRules) > 0 {
		return true
	}
	for _, in := range cfg.Instances {
		if len(in.Routes)+len(in.Rules) > 0 {
			return true
		}
	}
	return false
}

// routeHandle is keepalived's nl_cmd socket for routes and rules, opened
// the first time a configuration has any.
func (e *Engine) routeHandle() RouteHandle {
	if e.kern.rt == nil && e.opts.Routes != nil {
		e.kern.rt = e.opts.Routes
	}
	if e.kern.rt == nil && needsRoutes(e.cfg) {
		h, err := iproute.Open("")
		if err != nil {
			e.log.Errorf("Unable to open netlink for routes and rules: %v", err)
			return nil
		}
		e.kern.rt = h
	}
	return e.kern.rt
}

func (e *Engine) logErrs(name string, errs []error) {
	for _, err := range errs {
		e.actErrs++
		if name != "" {
			e.log.Errorf("(%s) %v", name, err)
		} else {
			e.log.Errorf("%v", err)
		}
	}
}

// kernelBegin is start_vrrp's part before the instances run: the firewall,
// static addresses, routes and rules, and the kernel watcher.
func (e *Engine) kernelBegin(ctx context.Context) {
	e.openFirewall()
	e.kern.addrs = newStaticAddrs(e.cfg.StaticAddresses)
	e.kern.routes = iproute.NewRouteStates(e.cfg.StaticRoutes)
	e.kern.rules = iproute.NewRuleStates(e.cfg.StaticRules)
	if e.opts.KeepVIPs {
		// --dont-release-vrrp: a previous run's static addresses go first.
		for _, s := range e.kern.addrs {
			if err := e.net.DelAddr(s.a); err != nil {
				e.logErrs("", []error{err})
			}
		}
	}
	if rt := e.routeHandle(); rt != nil {
		// Leftover static rules go, those not there are no error.
		rt.RuleList(e.kern.rules, iproute.Del, true)
	}
	e.addStatics()
	e.watchKernel(ctx)
}

// addStatics sets the static entries not set yet.
func (e *Engine) addStatics() {
	for _, s := range e.kern.addrs {
		if s.set {
			continue
		}
		err := e.net.AddAddr(s.a)
		s.set = err == nil
		if err != nil {
			e.logErrs("", []error{err})
		}
	}
	if rt := e.routeHandle(); rt != nil {
		_, errs := rt.RouteList(e.kern.routes, iproute.Add, false)
		e.logErrs("", errs)
		e.logErrs("", rt.RuleList(e.kern.rules, iproute.Add, false))
	}
	e.rebuildTracker()
	// The links the statics are on are watched from now, so that only a
	// change of their state puts anything back.
	var devs []string
	for _, s := range e.kern.addrs {
		devs = append(devs, s.a.Dev)
	}
	for _, st := range e.kern.routes {
		devs = append(devs, st.Route.Dev)
	}
	for _, d := range devs {
		if _, known := e.links[d]; d != "" && !known {
			up, _ := e.net.LinkUp(d)
			e.links[d] = up
		}
	}
}

// kernelStop is stop_vrrp's part after the instances stopped: static
// rules, routes and addresses go, then the firewall's tables.
func (e *Engine) kernelStop() {
	if rt := e.kern.rt; rt != nil {
		e.logErrs("", rt.RuleList(e.kern.rules, iproute.Del, false))
		_, errs := rt.RouteList(e.kern.routes, iproute.Del, false)
		e.logErrs("", errs)
	}
	for _, s := range e.kern.addrs {
		if s.set || e.opts.KeepVIPs {
			if err := e.net.DelAddr(s.a); err != nil {
				e.logErrs("", []error{err})
			}
			s.set = false
		}
	}
	e.stopFirewall()
	if e.kern.watch != nil {
		e.kern.watch()
		e.kern.watch = nil
	}
	if e.kern.rt != nil {
		e.kern.rt.Close()
	}
	e.kern.rt = nil
}

// watchKernel starts (again, when the groups it needs changed) the
// watcher of addresses, routes and rules.
func (e *Engine) watchKernel(ctx context.Context) {
	w, ok := e.net.(kernelWatcher)
	if !ok {
		return
	}
	mon := e.cfg.Monitor
	g := netio.MonitorGroups{IPv4Routes: mon.IPv4Routes, IPv6Routes: mon.IPv6Routes, IPv4Rules: mon.IPv4Rules, IPv6Rules: mon.IPv6Rules}
	if e.kern.watch != nil {
		if g == e.kern.groups {
			return
		}
		e.kern.watch()
	}
	wctx, cancel := context.WithCancel(ctx)
	err := w.WatchKernel(wctx, g,
		func(ev netio.AddrEvent) { e.post(func() { e.addrEvent(ev) }) },
		func(m netlink.Message) { e.post(func() { e.routeEvent(m) }) })
	if err != nil {
		cancel()
		e.log.Warnf("Address monitoring unavailable: %v", err)
		return
	}
	e.kern.watch, e.kern.groups = cancel, g
}

// rebuildTracker points the tracker at the current instances and statics.
func (e *Engine) rebuildTracker() {
	rt := e.kern.rt
	if rt == nil {
		e.kern.tracker = nil
		return
	}
	t := &iproute.Tracker{StaticRoutes: e.kern.routes, StaticRules: e.kern.rules, Index: rt.Index, OwnPID: rt.PID()}
	for _, m := range e.live() {
		t.Instances = append(t.Instances, &iproute.InstanceRoutes{Name: m.cfg.Name, Routes: m.k.routes, Rules: m.k.rules})
	}
	e.kern.tracker = t
}

func (e *Engine) isMaster(name string) bool {
	m := e.byName[name]
	return m != nil && !m.removed && m.fsm.State() == vrrp.StateMaster
}

// routeEvent is netlink_route_filter / netlink_rule_filter.
func (e *Engine) routeEvent(msg netlink.Message) {
	t, rt := e.kern.tracker, e.kern.rt
	if e.stopping || t == nil || rt == nil {
		return
	}
	v := t.Handle(msg, e.isMaster)
	if v.Backup != "" {
		if m := e.byName[v.Backup]; m != nil && !m.removed {
			e.step(m.u, m.idx, vrrp.SetBackup{Now: e.now()})
		}
	}
	if st := v.ReinstateRoute; st != nil {
		err := rt.Route(st.Route, iproute.Add)
		st.Set = err == nil
		if err != nil {
			e.logErrs("", []error{err})
		}
		e.log.Infof("Restoring deleted static route %s", st.Route)
	}
	if st := v.ReinstateRule; st != nil {
		err := rt.Rule(st.Rule, iproute.Add)
		st.Set = err == nil
		if err != nil {
			e.logErrs("", []error{err})
		}
		e.log.Infof("Restoring deleted static rule %s", st.Rule)
	}
}

// setRoutes adds (MASTER) or removes m's virtual routes and rules:
// routes then rules on the way in, rules then routes on the way out.
func (e *Engine) setRoutes(m *inst, add bool) {
	if len(m.k.routes)+len(m.k.rules) == 0 {
		return
	}
	rt := e.routeHandle()
	if rt == nil {
		return
	}
	verb := "remov"
	if add {
		verb = "sett"
	}
	detail := func(what string) {
		if e.opts.LogDetail {
			e.log.Infof("(%s) %sing Virtual %s", m.cfg.Name, verb, what)
		}
	}
	if add {
		if len(m.k.routes) > 0 {
			detail("Routes")
			_, errs := rt.RouteList(m.k.routes, iproute.Add, false)
			e.logErrs(m.cfg.Name, errs)
		}
		if len(m.k.rules) > 0 {
			detail("Rules")
			e.logErrs(m.cfg.Name, rt.RuleList(m.k.rules, iproute.Add, false))
		}
		return
	}
	if len(m.k.rules) > 0 {
		detail("Rules")
		e.logErrs(m.cfg.Name, rt.RuleList(m.k.rules, iproute.Del, false))
	}
	if len(m.k.routes) > 0 {
		detail("Routes")
		_, errs := rt.RouteList(m.k.routes, iproute.Del, false)
		e.logErrs(m.cfg.Name, errs)
	}
}

// kernelLink is interface_down / interface_up after the tracking of the
// interface was updated.
func (e *Engine) kernelLink(name string, up bool) {
	if e.stopping {
		return
	}
	t := e.kern.tracker
	if !up {
		if t != nil {
			// The kernel dropped the routes on it without telling;
			// their instances are already FAULT by the tracking.
			t.InterfaceDown(name, e.kern.rt.Index(name), e.isMaster)
		}
		return
	}
	for _, s := range e.kern.addrs {
		if !s.cfg.NoTrack && s.a.Dev == name {
			e.reinstateAddr(s)
		}
	}
	if t != nil {
		for _, st := range t.InterfaceUp(name) {
			err := e.kern.rt.Route(st.Route, iproute.Add)
			st.Set = err == nil
			if err != nil {
				e.logErrs("", []error{err})
			}
			e.log.Infof("Restoring deleted static route %s", st.Route)
		}
	}
}

// kernelLinks are the interfaces whose link changes matter to the statics.
func (e *Engine) kernelLinks(iface string) bool {
	for _, s := range e.kern.addrs {
		if s.a.Dev == iface {
			return true
		}
	}
	for _, st := range e.kern.routes {
		if st.Route.Dev == iface {
			return true
		}
	}
	for _, m := range e.live() {
		if m.weightless(iface) {
			return true
		}
	}
	return false
}

// reloadStatics is clear_diff_static_rules, _routes and _addresses.
func (e *Engine) reloadStatics(cfg *config.Config) {
	routes, rules := iproute.NewRouteStates(cfg.StaticRoutes), iproute.NewRuleStates(cfg.StaticRules)
	if rt := e.kern.rt; rt != nil {
		e.logErrs("", rt.ReplaceRules(e.kern.rules, rules))
		e.logErrs("", rt.ReplaceRoutes(e.kern.routes, routes))
	}
	addrs := newStaticAddrs(cfg.StaticAddresses)
	for _, o := range e.kern.addrs {
		kept := false
		for _, n := range addrs {
			if sameStatic(o, n) {
				n.set, kept = o.set, true
				break
			}
		}
		if !kept && o.set {
			if err := e.net.DelAddr(o.a); err != nil {
				e.logErrs("", []error{err})
			}
		}
	}
	e.kern.addrs, e.kern.routes, e.kern.rules = addrs, routes, rules
}

// sameStatic is compare_ipaddress for static addresses.
func sameStatic(o, n *staticAddr) bool {
	return o.a.Prefix == n.a.Prefix && o.a.Scope == n.a.Scope && o.a.Dev == n.a.Dev && o.a.Label == n.a.Label
}

// replaceRoutes is clear_diff_vrrp_vrules / _vroutes for an instance
// kept by a reload (ci is its new configuration), before its addresses
// change.
func (e *Engine) replaceRoutes(o *inst, ci *config.VRRPInstance) {
	routes, rules := iproute.NewRouteStates(ci.Routes), iproute.NewRuleStates(ci.Rules)
	if rt := e.routeHandle(); rt != nil {
		e.logErrs(o.cfg.Name, rt.ReplaceRules(o.k.rules, rules))
		e.logErrs(o.cfg.Name, rt.ReplaceRoutes(o.k.routes, routes))
	}
	o.k.routes, o.k.rules = routes, rules
}

// restoreRoutes is restore_vrrp_state's routes part, after the addresses
// changed: a MASTER adds its routes again, all of them, since the kernel
// drops those that depended on a removed address without telling.
func (e *Engine) restoreRoutes(o *inst) {
	rt := e.routeHandle()
	if rt == nil || !o.fsm.Status().VIPSet {
		return
	}
	if len(o.k.routes) > 0 {
		_, errs := rt.RouteList(o.k.routes, iproute.Add, true)
		e.logErrs(o.cfg.Name, slices.DeleteFunc(errs, func(err error) bool { return errors.Is(err, unix.EEXIST) }))
	}
	e.logErrs(o.cfg.Name, rt.RuleList(o.k.rules, iproute.Add, false))
}

// AddrStatus is a VIP, eVIP or static address and whether it is
// installed (keepalived's ip_addr->set).
type AddrStatus struct {
	Config   config.VirtualAddress
	Dev      string // the interface it goes on
	Excluded bool   // an eVIP
	Set      bool
}

// RouteStatus is a virtual or static route and whether keepalived
// believes it installed (ip_route_t's set).
type RouteStatus struct {
	Route *config.Route // shared, do not modify
	Set   bool
}

// RuleStatus is a virtual or static rule with its set state.
type RuleStatus struct {
	Rule *config.Rule // shared, do not modify
	Set  bool
}

func routeStatus(l []*iproute.RouteState) []RouteStatus {
	out := make([]RouteStatus, len(l))
	for i, st := range l {
		out[i] = RouteStatus{Route: st.Route, Set: st.Set}
	}
	return out
}

func ruleStatus(l []*iproute.RuleState) []RuleStatus {
	out := make([]RuleStatus, len(l))
	for i, st := range l {
		out[i] = RuleStatus{Rule: st.Rule, Set: st.Set}
	}
	return out
}

// kernelStatus fills what an instance holds in the kernel.
func (e *Engine) kernelStatus(m *inst, is *InstanceStatus) {
	for i, list := range [][]config.VirtualAddress{m.cfg.VIPs, m.cfg.ExcludedVIPs} {
		for _, v := range list {
			dev := m.addrs[v.Prefix].Dev
			is.Addresses = append(is.Addresses, AddrStatus{Config: v, Dev: dev, Excluded: i == 1, Set: m.k.set[v.Prefix]})
		}
	}
	is.Routes, is.Rules = routeStatus(m.k.routes), ruleStatus(m.k.rules)
	is.NoAddress = m.k.noSrc
}

// staticStatus fills the static addresses, routes and rules.
func (e *Engine) staticStatus(s *Status) {
	for _, a := range e.kern.addrs {
		s.StaticAddresses = append(s.StaticAddresses, AddrStatus{Config: a.cfg, Dev: a.a.Dev, Set: a.set})
	}
	s.StaticRoutes, s.StaticRules = routeStatus(e.kern.routes), ruleStatus(e.kern.rules)
}
