package engine

import (
	"net/netip"
	"strings"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
)

// run performs actions in order.
func (e *Engine) run(u *unit, acts []vrrp.GroupAction) {
	now := e.now()
	for _, ga := range acts {
		if ga.Member < 0 {
			switch a := ga.Action.(type) {
			case vrrp.GroupNotify:
				e.emit(GroupStateChange{Group: a.Group, State: a.State})
			case vrrp.Log:
				e.logLine(a)
			}
			continue
		}
		m := u.members[ga.Member]
		switch a := ga.Action.(type) {
		case vrrp.SendAdvert:
			e.sendAdvert(m, a)
		case vrrp.AddVIPs:
			if a.All {
				e.firewallVIPs(m, true)
			}
			e.setAddrs(m, a.VIPs, a.Excluded, true)
			if a.All {
				e.setRoutes(m, true)
			}
		case vrrp.DelVIPs:
			if e.stopping && e.opts.KeepVIPs {
				continue
			}
			if a.All {
				e.setRoutes(m, false)
			}
			e.setAddrs(m, a.VIPs, a.Excluded, false)
			if a.All {
				e.firewallVIPs(m, false)
			}
		case vrrp.SendGratuitous:
			e.gratuitous(m, a, now)
		case vrrp.Notify:
			e.pollDirty = true
			e.emit(StateChange{Instance: m.cfg.Name, Group: u.name, From: a.From, To: a.To, Reason: a.Reason, Priority: a.Priority})
		case vrrp.NotifyMasterRxLowerPri:
			e.emit(MasterRxLowerPri{Instance: m.cfg.Name, From: a.From})
		case vrrp.NotifyPriority:
			if e.fw.prio != prioQuiet {
				e.emit(PriorityChange{Instance: m.cfg.Name, State: a.State, Priority: a.Priority})
			}
		case vrrp.Discarded:
			if e.opts.OnDiscard != nil {
				e.opts.OnDiscard(Discard{Instance: m.cfg.Name, Interface: m.vc.Interface, Reason: a.Reason, Src: a.Src})
			}
		case vrrp.Log:
			e.logLine(a)
		}
	}
}

func (e *Engine) logLine(a vrrp.Log) {
	if a.Detail && !e.opts.LogDetail || e.fw.prio == prioQuiet && strings.Contains(a.Text, ") Changing effective priority from ") {
		return
	}
	e.log.Info(a.Text)
}

func (e *Engine) sendAdvert(m *inst, a vrrp.SendAdvert) {
	c := e.conns[connKey{m.vc.Interface, m.vc.IPv6, packet.ProtoVRRP}]
	if c == nil {
		e.actErrs++
		return
	}
	for _, dst := range a.Dsts {
		b, err := a.Encode(dst, c.NextID())
		if err == nil {
			err = c.Send(b, a.Src, dst)
		}
		if err != nil {
			e.actErrs++
			e.log.Debugf("(%s) advert to %v: %v", m.cfg.Name, dst, err)
		}
	}
}

func (e *Engine) setAddrs(m *inst, vips, excluded []netip.Prefix, add bool) {
	for i, list := range [][]netip.Prefix{vips, excluded} {
		if e.opts.LogDetail && len(list) > 0 {
			verb, kind := "remov", ""
			if add {
				verb = "sett"
			}
			if i == 1 {
				kind = "E-"
			}
			e.log.Infof("(%s) %sing %sVIPs.", m.cfg.Name, verb, kind)
		}
		for _, p := range list {
			a, ok := m.addrs[p]
			if !ok {
				a = netio.Addr{Prefix: p, Dev: m.vc.Interface}
			}
			var err error
			if add {
				err = e.net.AddAddr(a)
			} else {
				err = e.net.DelAddr(a)
			}
			m.k.set[p] = add && err == nil
			if err != nil {
				e.actErrs++
				e.log.Errorf("(%s) %v", m.cfg.Name, err)
			}
		}
	}
}

func (e *Engine) gratuitous(m *inst, a vrrp.SendGratuitous, now time.Duration) {
	if len(a.Addrs) == 0 || a.Repeat <= 0 {
		return
	}
	kind := "gratuitous ARPs"
	interval := e.cfg.Global.GarpInterval
	if m.vc.IPv6 {
		kind, interval = "Unsolicited Neighbour Adverts", e.cfg.Global.GnaInterval
	}
	if e.opts.LogDetail {
		ifname := m.vc.Interface
		if m.vmac != "" {
			ifname = m.vmac // keepalived's vrrp->ifp, also with vmac_xmit_base
		}
		e.log.Infof("(%s) Sending/queueing %s on %s for %v", m.cfg.Name, kind, ifname, a.Addrs[0])
	}
	at := now
	for range a.Repeat {
		for _, addr := range a.Addrs {
			dev := m.vc.Interface
			for _, va := range m.addrs {
				if va.Prefix.Addr() == addr {
					dev = va.Dev
				}
			}
			e.garpQ = append(e.garpQ, garpItem{at: at, iface: dev, addr: addr})
			at += interval
		}
	}
	e.flushGarp(now)
}

func (e *Engine) flushGarp(now time.Duration) {
	q := e.garpQ[:0]
	for _, g := range e.garpQ {
		if g.at > now {
			q = append(q, g)
			continue
		}
		if err := e.net.Gratuitous(g.iface, g.addr); err != nil {
			e.actErrs++
			e.log.Debugf("gratuitous for %v on %s: %v", g.addr, g.iface, err)
		}
	}
	e.garpQ = q
}

// shutdown stops every instance (priority 0 when MASTER, VIPs released
// unless KeepVIPs) and closes the sockets.
func (e *Engine) shutdown() {
	e.stopping = true
	now := e.now()
	// Instances stop in configuration order (keepalived's vrrp list).
	stopped := map[*inst]bool{}
	for _, ci := range e.cfg.Instances {
		if m := e.byName[ci.Name]; m != nil && !m.removed && !stopped[m] {
			stopped[m] = true
			e.step(m.u, m.idx, vrrp.Shutdown{Now: now})
		}
	}
	for _, u := range e.units {
		for i, m := range u.members {
			if !stopped[m] {
				e.step(u, i, vrrp.Shutdown{Now: now})
			}
		}
	}
	// keepalived's notify_shutdown: every instance's STOP, then every
	// sync group's (notify_stop scripts, FIFO lines, SNMP traps).
	for _, sg := range e.cfg.SyncGroups {
		for _, u := range e.units {
			if u.name == sg.Name && u.group != nil {
				e.emit(GroupStateChange{Group: u.name, State: vrrp.StateStop})
			}
		}
	}
	e.garpQ = nil
	for k, c := range e.conns {
		e.closeConn(k, c)
	}
	if !e.opts.KeepVIPs {
		// In reverse so the base interface settings end as found.
		for i := len(e.units) - 1; i >= 0; i-- {
			for _, m := range e.units[i].members {
				e.removeVMAC(m)
			}
		}
	}
	e.kernelStop()
}

// ensureVMACs creates the use_vmac and use_ipvlan interfaces of units
// before their sockets are opened (vmac.go).
func (e *Engine) ensureVMACs(units []*unit) {
	for _, u := range units {
		for _, m := range u.members {
			if e.ensureLinks(m) && m.vmac != "" {
				e.firewallVMAC(m, true)
			}
		}
	}
}

func (e *Engine) removeVMAC(m *inst) {
	e.removeLinks(m)
	if m.vmac != "" {
		e.firewallVMAC(m, false)
	}
}
