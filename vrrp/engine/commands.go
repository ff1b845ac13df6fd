package engine

import (
	"errors"
	"fmt"
	"net/netip"

	"keepalived-go/vrrp"
)

// ErrNoInstance is returned by a command naming no running instance.
var ErrNoInstance = errors.New("engine: no such instance")

// Discard is an advert an instance dropped, reported to Options.OnDiscard:
// why (a sentinel of package packet) and who sent it. Interface is the one
// the instance receives on (its VMAC's when it has one).
type Discard struct {
	Instance  string
	Interface string
	Reason    error
	Src       netip.Addr
}

// command runs f as the owner on the running instance name.
func (e *Engine) command(name string, f func(m *inst)) error {
	var err error
	e.own.Do(func() {
		m := e.byName[name]
		switch {
		case e.stopped:
			err = ErrStopped
		case m == nil || m.removed || e.stopping:
			err = fmt.Errorf("%w: %s", ErrNoInstance, name)
		default:
			f(m)
		}
	})
	return err
}

// SetBasePriority is keepalived's SNMP Set of vrrpInstanceBasePriority
// (vrrp_snmp_instance_priority): the base priority changes, the tracking
// weights stay, and the effective priority follows at once. A reload
// brings back the configured priority of an instance it restarts.
func (e *Engine) SetBasePriority(name string, prio uint8) error {
	if prio == 0 {
		return fmt.Errorf("engine: (%s) base priority 0", name)
	}
	return e.command(name, func(m *inst) {
		old := m.fsm.Status().BasePriority
		e.log.Infof("(%s) base priority changed from %d to %d via SNMP.", name, old, prio)
		m.snmpPrio += int(prio) - int(old)
		e.step(m.u, m.idx, vrrp.SetBasePriority{Now: e.now(), Priority: prio})
	})
}

// SetPreempt is keepalived's SNMP Set of vrrpInstancePreempt
// (vrrp_snmp_instance_preempt).
func (e *Engine) SetPreempt(name string, preempt bool) error {
	return e.command(name, func(m *inst) {
		if preempt {
			e.log.Infof("(%s) preemption enabled with SNMP", name)
		} else {
			e.log.Infof("(%s) preemption disabled with SNMP", name)
		}
		e.step(m.u, m.idx, vrrp.SetPreempt{Now: e.now(), Preempt: preempt})
	})
}

// SendGarp is the DBus SendGarp method (vrrp_send_link_update with one
// repeat): one round of gratuitous ARPs or unsolicited NAs for the VIPs
// and excluded VIPs, only while the instance holds them. The caller logs
// the request.
func (e *Engine) SendGarp(name string) error {
	return e.command(name, func(m *inst) {
		if !m.fsm.Status().VIPSet {
			return
		}
		vc := m.fsm.Config()
		var addrs []netip.Addr
		for _, p := range vc.VIPs {
			addrs = append(addrs, p.Addr())
		}
		for _, p := range vc.ExcludedVIPs {
			addrs = append(addrs, p.Addr())
		}
		e.gratuitous(m, vrrp.SendGratuitous{Addrs: addrs, Repeat: 1}, e.now())
	})
}
