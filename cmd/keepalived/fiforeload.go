package main

import (
	"keepalived-go/config"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

// fifoStatesOnReload is global_defs fifo_write_vrrp_states_on_reload: it
// takes the VRRP states before a reload and returns what to call once
// the engines took the new config, which writes again to the VRRP FIFOs
// the state of each sync group and of each instance not MASTER that the
// reload left in its state (vrrp_scheduler.c vrrp_init_state:
// notify_group_fifo, notify_instance_fifo).
func (d *daemon) fifoStatesOnReload(cfg *config.Config) func() {
	if !cfg.Global.FIFOWriteVRRPStatesOnReload || d.vrrp == nil {
		return func() {}
	}
	before := d.vrrp.Status()
	return func() {
		for _, e := range d.engines {
			if n, ok := e.engine.(*notifications); ok {
				n.writeStates(stateLines(before, d.vrrp.Status()))
			}
		}
	}
}

// stateLines are the FIFO lines of the groups, then the instances, whose
// state is the same in before and after; instances in MASTER are left
// out (keepalived's reload_master path writes nothing).
func stateLines(before, after vrrpengine.Status) []string {
	var lines []string
	groups := map[string]vrrp.State{}
	for _, g := range before.Groups {
		groups[g.Name] = g.State
	}
	for _, g := range after.Groups {
		if s, ok := groups[g.Name]; ok && s == g.State {
			lines = append(lines, notify.InstanceFifoLine(notify.KindGroup, g.Name, g.State.String(), 0))
		}
	}
	insts := map[string]vrrp.State{}
	for _, in := range before.Instances {
		insts[in.Name] = in.State
	}
	for _, in := range after.Instances {
		if s, ok := insts[in.Name]; ok && s == in.State && in.State != vrrp.StateMaster {
			lines = append(lines, notify.InstanceFifoLine(notify.KindInstance, in.Name, in.State.String(), int(in.EffectivePriority)))
		}
	}
	return lines
}

// writeStates writes lines to the VRRP FIFOs (notify_fifo and
// vrrp_notify_fifo).
func (n *notifications) writeStates(lines []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notifier == nil {
		return
	}
	for _, f := range n.notifier.VRRPFifos {
		for _, l := range lines {
			_ = f.WriteLine(l)
		}
	}
}
