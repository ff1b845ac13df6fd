package engine

import (
	"context"

	"keepalived-go/config"
	"keepalived-go/vrrp/trackproc"
)

// ProcessTracker is the vrrp_track_process monitor the engine follows
// (trackproc.Monitor). The daemon starts it before the engine (keepalived
// opens the process connector before it enters a net_namespace) and
// closes it after Run returns; the engine asks its Status at start, its
// Reload on a reload, and applies its Events in its owner loop.
type ProcessTracker interface {
	Status() trackproc.Snapshot
	Events() <-chan trackproc.Event
	Reload(cfg *config.Config) trackproc.Snapshot
}

var _ ProcessTracker = (*trackproc.Monitor)(nil)

// procTracking is the engine's view of the trackers: each one's quorum as
// of the last event (or snapshot) applied, by sequence number.
type procTracking struct {
	up  map[string]bool
	seq uint64
}

// apply takes a snapshot's states: keepalived applies them as the
// initial ones (initialise_process_tracking_priorities), without a log
// line for a change; events up to its Seq are already in it.
func (p *procTracking) apply(s trackproc.Snapshot) {
	p.up = make(map[string]bool, len(s.Trackers))
	for _, t := range s.Trackers {
		p.up[t.Name] = t.Up
	}
	p.seq = s.Seq
}

// startProcs reads the tracker's initial states; nothing to do without a
// tracker.
func (e *Engine) startProcs() {
	if e.opts.Processes == nil {
		return
	}
	e.procs.apply(e.opts.Processes.Status())
}

// reloadProcs is reload_track_processes: the monitor counts again from a
// /proc scan and its snapshot replaces the states.
func (e *Engine) reloadProcs(cfg *config.Config) {
	if e.opts.Processes == nil {
		return
	}
	e.procs.apply(e.opts.Processes.Reload(cfg))
}

// forwardProcs hands the tracker's events to the owner one at a time,
// each applied before the next is taken: the monitor's own bounded queue
// (it folds a backlog) is what holds events the engine has not applied.
func (e *Engine) forwardProcs(ctx context.Context, post func(func()) error) {
	if e.opts.Processes == nil {
		return
	}
	ch := e.opts.Processes.Events()
	go func() {
		for {
			var ev trackproc.Event
			select {
			case ev = <-ch:
			case <-ctx.Done():
				return
			}
			done := make(chan struct{})
			if post(func() { e.procEvent(ev); close(done) }) != nil {
				return
			}
			select {
			case <-done:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// procEvent is process_update_track_process_status: the instances
// tracking the process change priority or go to or leave FAULT.
func (e *Engine) procEvent(ev trackproc.Event) {
	if e.stopping || ev.Seq <= e.procs.seq {
		return // already in the snapshot taken at start or reload
	}
	e.procs.seq = ev.Seq
	if e.procs.up == nil {
		e.procs.up = map[string]bool{}
	}
	e.procs.up[ev.Tracker] = ev.Up
	now := e.now()
	for _, u := range e.units {
		for _, m := range u.members {
			for _, r := range e.procRefs(m, false) {
				if r.Name == ev.Tracker {
					e.refreshTracking(m, now)
					break
				}
			}
		}
	}
}

// procRefs are the processes m tracks with the weight keepalived applies:
// the instance's own, then its sync group's. A process tracked by both
// counts once, with the group's weight unless the instance's is 0
// (add_vrrp_to_track_process, which logs that, as warn asks here).
func (e *Engine) procRefs(m *inst, warn bool) []config.TrackRef {
	var group []config.TrackRef
	if g := e.groupOf(m); g != nil {
		group = g.TrackProcesses
	}
	return e.mergeRefs(m, "track_process", m.cfg.TrackProcesses, group, false, warn)
}

// procState is what the tracked processes do to m now: the FAULT keys
// ("process:NAME") and the weight (trackproc.Effect for each).
func (e *Engine) procState(m *inst, faults map[string]bool) int {
	if e.opts.Processes == nil {
		return 0
	}
	weight := 0
	for _, r := range e.procRefs(m, false) {
		up, ok := e.procs.up[r.Name]
		if !ok {
			continue // not a tracker the monitor knows
		}
		d, fault := trackproc.Effect(up, r.Weight, r.Reverse)
		if fault {
			faults["process:"+r.Name] = true
		}
		weight += d
	}
	return weight
}

// logProcFaults logs, at start and on reload, the merge of instance and
// sync group tracking and the instances starting in FAULT because of a
// tracked process, as keepalived's sync_group_tracking_init and
// initialise_process_tracking_priorities do: tracker by tracker, each
// tracker's instances in the order they were added (their own tracking
// first, in configuration order, then their sync groups').
func (e *Engine) logProcFaults() {
	if e.opts.Processes == nil || len(e.cfg.TrackProcesses) == 0 {
		return
	}
	type tracking struct {
		m *inst
		r config.TrackRef
	}
	var own, group []tracking
	for _, u := range e.units {
		for _, m := range u.members {
			if m.removed {
				continue
			}
			refs := e.procRefs(m, true)
			n := len(m.cfg.TrackProcesses)
			for i, r := range refs {
				if i < n {
					own = append(own, tracking{m, r})
				} else {
					group = append(group, tracking{m, r})
				}
			}
		}
	}
	byInstance := func(l []tracking) {
		order := map[string]int{}
		for i, ci := range e.cfg.Instances {
			order[ci.Name] = i
		}
		for i := 1; i < len(l); i++ {
			for j := i; j > 0 && order[l[j].m.cfg.Name] < order[l[j-1].m.cfg.Name]; j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
	byInstance(own)
	all := append(own, group...)
	for _, tp := range e.cfg.TrackProcesses {
		up, ok := e.procs.up[tp.Name]
		if !ok {
			continue
		}
		for _, t := range all {
			if t.r.Name != tp.Name {
				continue
			}
			if _, fault := trackproc.Effect(up, t.r.Weight, t.r.Reverse); fault {
				e.log.Infof("(%s) entering FAULT state (tracked process %s quorum not achieved)", t.m.cfg.Name, tp.Name)
			}
		}
	}
}

// procTrackingStatus lists the processes m tracks for Status.
func (e *Engine) procTrackingStatus(m *inst) []TrackStatus {
	if e.opts.Processes == nil {
		return nil
	}
	var out []TrackStatus
	for _, r := range e.procRefs(m, false) {
		up, ok := e.procs.up[r.Name]
		out = append(out, TrackStatus{Kind: TrackProcess, Name: r.Name, Weight: r.Weight, Reverse: r.Reverse, Known: ok, Up: up})
	}
	return out
}
