package engine

import (
	"slices"
	"sort"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
)

// startUnit resolves addresses, reports what is already down and starts
// the unit's instances.
func (e *Engine) startUnit(u *unit) {
	now := e.now()
	for _, m := range u.members {
		e.byName[m.cfg.Name] = m
		e.byKey[rxKey{m.vc.Interface, m.vc.IPv6, m.vc.VRID}] = m
		e.initSource(m)
	}
	if len(u.members) > 1 || u.name != "" {
		var fsms []*vrrp.Instance
		for _, m := range u.members {
			fsms = append(fsms, m.fsm)
		}
		g, err := vrrp.NewSyncGroup(u.name, fsms...)
		if err != nil {
			e.log.Errorf("%v", err)
		} else {
			u.group = g
		}
	}
	// Initial faults and weights go in before Start (the FSM's contract).
	for _, m := range u.members {
		ifaces := append([]string{m.base}, m.kernelIfaces()...)
		if m.vmac != "" {
			ifaces = append(ifaces, m.vmac)
		}
		for _, r := range m.cfg.TrackInterfaces {
			ifaces = append(ifaces, r.Name)
		}
		for _, name := range ifaces {
			if _, known := e.links[name]; !known {
				// A missing interface counts as down, as keepalived has it.
				up, _ := e.net.LinkUp(name)
				e.links[name] = up
			}
		}
	}
	for _, m := range u.members {
		e.refreshTracking(m, now)
	}
	if p, ok := e.net.(preparer); ok {
		for _, m := range u.members {
			p.Prepare(m.vc.Interface)
			for _, va := range m.addrs {
				if va.Dev != "" && va.Dev != m.vc.Interface {
					p.Prepare(va.Dev)
				}
			}
		}
	}
	for i, m := range u.members {
		residual := false
		for _, p := range m.vc.VIPs {
			if ok, _ := e.net.HasAddr(m.addrs[p]); ok {
				residual = true
			}
		}
		e.step(u, i, vrrp.Start{Now: now, ResidualVIPs: residual, DelayUntil: e.delayUntil})
	}
}

// preparer is a Net that can open ahead what a takeover on an interface
// needs (Linux.Prepare).
type preparer interface{ Prepare(iface string) }

// tracked lists what an instance tracks with the weight keepalived applies.
type trackRef struct {
	name    string
	weight  int
	reverse bool
}

func (e *Engine) groupOf(m *inst) *config.SyncGroup {
	if m.cfg.SyncGroup == "" {
		return nil
	}
	for _, g := range e.cfg.SyncGroups {
		if g.Name == m.cfg.SyncGroup {
			return g
		}
	}
	return nil
}

// trackRefs are the interfaces, scripts and files m tracks, its sync
// group's included.
func (e *Engine) trackRefs(m *inst) (ifaces, scripts, files []config.TrackRef) {
	ifaces, scripts, files = m.cfg.TrackInterfaces, m.cfg.TrackScripts, m.cfg.TrackFiles
	if g := e.groupOf(m); g != nil {
		ifaces = append([]config.TrackRef(nil), ifaces...)
		for _, r := range g.TrackInterfaces {
			// one entry in keepalived when the instance tracks it too
			if !slices.Contains(m.cfg.SyncGroupTrackSkip, r.Name) {
				ifaces = append(ifaces, r)
			}
		}
		scripts = append(append([]config.TrackRef(nil), scripts...), g.TrackScripts...)
		files = append(append([]config.TrackRef(nil), files...), g.TrackFiles...)
	}
	return ifaces, scripts, files
}

// trackState computes the instance's faults and weight from the current
// state of what it tracks.
func (e *Engine) trackState(m *inst) (map[string]bool, int) {
	faults := map[string]bool{}
	weight := 0
	if m.cfg.ConfigFaults > 0 {
		// keepalived's num_config_faults (unicast_fault_no_peer without
		// peers, a VMAC on a non-Ethernet link, no multicast without
		// unicast, a bad ipvlan address): num_script_if_fault starts at
		// it and nothing clears it, so the instance stays in FAULT.
		faults["config"] = true
	}
	apply := func(key string, known, up bool, w int) {
		if !known {
			return
		}
		if w == 0 {
			if !up {
				faults[key] = true
			}
			return
		}
		if up && w > 0 || !up && w < 0 {
			weight += w
		}
	}
	if !m.cfg.DontTrackPrimary {
		if up, ok := e.links[m.base]; ok && !up {
			faults["\x00primary"] = true
		}
	}
	e.linkFault(m, faults)
	ifaces, scripts, _ := e.trackRefs(m)
	for _, r := range ifaces {
		up, ok := e.links[r.Name]
		if !ok {
			continue
		}
		w := r.Weight
		if m.weightless(r.Name) {
			w = 0
		}
		apply("interface:"+r.Name, true, up != r.Reverse, w)
	}
	e.kernelFaults(m, faults)
	for _, r := range scripts {
		s := e.scripts[r.Name]
		if s == nil || s.bad {
			continue // a script that may not run tracks nothing
		}
		w, rev := s.cfg.Weight, s.cfg.WeightReverse
		if r.HasWeight {
			w, rev = r.Weight, r.Reverse
		}
		if w == 0 && !s.known && s.atStart {
			// num_script_init: held in FAULT until the first result.
			faults[vrrp.InitFault+"script:"+r.Name] = true
		}
		apply("script:"+r.Name, s.known, s.up != rev, w)
	}
	weight += e.fileState(m, faults)
	weight += e.procState(m, faults)
	e.bfdTrack(m, faults, &weight)
	return faults, weight
}

// refreshTracking feeds the FSM the faults and weight that changed.
func (e *Engine) refreshTracking(m *inst, now time.Duration) {
	if m.removed {
		return
	}
	faults, weight := e.trackState(m)
	var evs []vrrp.Event
	names := make([]string, 0, len(faults)+len(m.faults))
	for k := range faults {
		names = append(names, k)
	}
	for k := range m.faults {
		if !faults[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	// The priority first, as keepalived sets it before it decides the
	// state (initialise_tracking_priorities at start and reload): an
	// instance leaving FAULT starts its down timer with it. Setting
	// before clearing keeps an instance from leaving FAULT when one
	// object goes down as another comes up.
	if weight != m.weight && e.fw.prio != prioHold || e.fw.prio == prioQuiet {
		evs = append(evs, vrrp.PriorityChanged{Now: now, Weight: weight})
	}
	for _, k := range names {
		if faults[k] && !m.faults[k] {
			evs = append(evs, vrrp.TrackFault{Now: now, Name: k, Fault: true})
		}
	}
	for _, k := range names {
		if !faults[k] && m.faults[k] {
			evs = append(evs, vrrp.TrackFault{Now: now, Name: k, Fault: false})
		}
	}
	m.faults, m.weight = faults, weight
	for _, ev := range evs {
		e.step(m.u, m.idx, ev)
	}
}

func (e *Engine) refreshAll() {
	now := e.now()
	for _, u := range e.units {
		for _, m := range u.members {
			e.refreshTracking(m, now)
		}
	}
}

func (e *Engine) linkEvent(le netio.LinkEvent) {
	if old, ok := e.links[le.Iface]; ok && old == le.Up || e.staleLinkEvent(le) {
		return
	}
	if _, ok := e.links[le.Iface]; !ok && !e.tracksLink(le.Iface) && !e.kernelLinks(le.Iface) {
		return
	}
	e.links[le.Iface] = le.Up
	if le.Up {
		e.log.Infof("Netlink reports %s up", le.Iface)
	} else {
		e.log.Infof("Netlink reports %s down", le.Iface)
	}
	e.refreshAll()
	e.kernelLink(le.Iface, le.Up)
}

func (e *Engine) tracksLink(iface string) bool {
	for _, u := range e.units {
		for _, m := range u.members {
			if m.base == iface || m.vmac == iface {
				return true
			}
			for _, r := range m.cfg.TrackInterfaces {
				if r.Name == iface {
					return true
				}
			}
		}
	}
	return false
}
