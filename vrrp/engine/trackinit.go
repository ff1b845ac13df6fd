package engine

// logInitFaults logs, at start and on reload, the instances that start
// in FAULT because of what they track, as keepalived's
// initialise_tracking_priorities does: interfaces first, then files,
// then processes (the FSM logs the state itself).
func (e *Engine) logInitFaults() {
	e.logIfaceFaults()
	e.logFileFaults()
	e.logProcFaults()
}

// logIfaceFaults is initialise_interface_tracking_priorities' line: an
// instance whose own interface or VMAC (unless dont_track_primary), or an
// unweighted tracked interface, is down (up, with reverse) at start.
func (e *Engine) logIfaceFaults() {
	up := map[string]bool{}
	state := func(name string) bool {
		if v, ok := up[name]; ok {
			return v
		}
		v, ok := e.links[name]
		if !ok {
			v, _ = e.net.LinkUp(name)
		}
		up[name] = v
		return v
	}
	for _, name := range e.knownIfaces() {
		for _, u := range e.units {
			for _, m := range u.members {
				if m.removed {
					continue
				}
				fault := false
				if (name == m.base || name == m.vmac) && !m.cfg.DontTrackPrimary {
					fault = !state(name)
				}
				ifaces, _, _ := e.trackRefs(m)
				for _, r := range ifaces {
					if r.Name == name && r.Weight == 0 && state(name) == r.Reverse {
						fault = true
					}
				}
				if fault {
					e.log.Infof("(%s): entering FAULT state (interface %s down)", m.cfg.Name, name)
				}
			}
		}
	}
}
