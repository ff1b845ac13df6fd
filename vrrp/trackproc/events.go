package trackproc

import (
	"math"
	"time"

	"keepalived-go/internal/errno"
)

// Handle is one message from the kernel, after the shell checked that
// the kernel sent it: keepalived's handle_proc_ev from the type checks
// on.
func (c *Core) Handle(now time.Duration, m Msg) {
	if m.NlType == nlmsgError || m.NlType == nlmsgNoop {
		return
	}
	if m.Idx != CnIdxProc || m.Val != CnValProc {
		c.stats.Dropped++
		return
	}
	// On 3.10 kernels cpu can be UINT32_MAX; before a successful LISTEN
	// numCPUs is 0 and everything is ignored, as in keepalived.
	if m.CPU >= c.numCPUs {
		return
	}
	// PROC_EVENT_NONE is an ack, everything else is not.
	if (m.What == EventNone) != (m.Ack != 0) {
		return
	}
	c.stats.Messages++
	if c.cpuSeq != nil {
		last := c.cpuSeq[m.CPU]
		if last != -1 && !(last+1 == int64(m.Seq) || m.Seq == 0 && last == math.MaxUint32) {
			missed := int64(m.Seq) - last - 1
			if missed > 0 {
				c.stats.Missed += uint64(missed)
			}
			if !c.needReinit || c.detail {
				c.logf("Missed %d messages on CPU %d", missed, m.CPU)
			}
		}
		c.cpuSeq[m.CPU] = int64(m.Seq)
	}
	switch m.What {
	case EventNone:
		c.responded = true
		c.ackAt = deadline{} // it would fire without logging
		c.detailf("proc_events has confirmed it is configured")
	case EventFork:
		// child_pid == child_tgid for a new process; otherwise a thread.
		if m.ChildTGID == m.ChildPID {
			c.checkFork(now, m.ParentTGID, m.ChildTGID)
		}
	case EventExec:
		if m.TGID == m.PID {
			c.checkProcess(m.TGID, nil, nil)
		}
	case EventComm:
		if m.TGID == m.PID {
			c.checkCommChange(m.TGID, m.Comm)
		}
	case EventExit:
		if m.TGID == m.PID {
			c.checkTermination(now, m.TGID)
		}
	}
}

// addProcess is keepalived's add_process: one more reference to t for
// pid, creating the pid's entry if needed.
func (c *Core) addProcess(pid int32, t *tracker, e *procEntry) *procEntry {
	if e == nil {
		if e = c.tree[pid]; e == nil {
			e = &procEntry{}
			c.tree[pid] = e
		}
	}
	e.refs = append(e.refs, t)
	t.count++
	return e
}

// readProcs is keepalived's read_procs: count every running process
// matching a tracker. The scan runs with the current read settings.
func (c *Core) readProcs() {
	for _, p := range c.host.Scan(Read{Comm: c.read.Comm, Cmdline: c.read.Cmdline, Limit: c.read.Limit + 1}) {
		for _, t := range c.trackers {
			if t.matches(p.Comm, p.Cmdline) {
				c.addProcess(p.PID, t, nil)
			}
		}
	}
}

// updateStatus is keepalived's update_process_status.
func (c *Core) updateStatus(t *tracker, up bool) {
	if up == t.up {
		return
	}
	t.up = up
	c.report(t, up)
}

// report is process_update_track_process_status's log line and the
// change the engine applies.
func (c *Core) report(t *tracker, up bool) {
	word := "lost"
	if up {
		word = "gained"
		t.statsUp++
	} else {
		t.statsDown++
	}
	c.logf("Quorum %s for tracked process %s", word, t.Name)
	c.out.Changes = append(c.out.Changes, Change{Tracker: t.Name, Up: up})
}

// decrement is the test keepalived makes when a process stops counting:
// it went from exactly quorum, or it is now exactly quorum_max (so it was
// one over).
func (t *tracker) decrement() bool {
	old := t.count
	t.count--
	return old == t.Quorum || t.count == t.QuorumMax
}

// increment is the matching test when a process starts counting; the
// unsigned quorum_max+1 wraps to 0 when unlimited, and so never matches.
func (t *tracker) increment() bool {
	t.count++
	return t.count == t.Quorum || t.count == t.QuorumMax+1
}

// removeFromTrack is keepalived's remove_process_from_track: a process
// that no longer matches (it exec'd something else) stops counting at
// once, without terminate_delay; a pending fork_delay is cancelled.
func (c *Core) removeFromTrack(e *procEntry, t *tracker) {
	for i, r := range e.refs {
		if r != t {
			continue
		}
		e.refs = append(e.refs[:i:i], e.refs[i+1:]...)
		if t.decrement() {
			t.forkAt = deadline{}
			c.updateStatus(t, t.count == t.QuorumMax)
		}
		return
	}
}

// checkProcess is keepalived's check_process, for an exec (comm nil: the
// process's files are read) or a comm change (comm given: only trackers
// on the comm are considered and the process is not dropped from the
// others).
func (c *Core) checkProcess(pid int32, comm *string, e *procEntry) {
	if e == nil {
		e = c.tree[pid]
	}
	hadProcess := e != nil
	haveComm := comm != nil
	var info ProcInfo
	if !haveComm {
		var ok bool
		info, ok = c.host.Lookup(pid, Read{Comm: c.read.Comm, Cmdline: c.read.Cmdline, Limit: c.read.Limit + 2})
		if !ok {
			return
		}
	} else {
		info.Comm = *comm
	}
	for _, t := range c.trackers {
		if t.FullCommand && haveComm {
			continue
		}
		if !t.nameMatches(info.Comm, info.Cmdline) {
			if hadProcess && !haveComm {
				c.removeFromTrack(e, t)
			}
			continue
		}
		if t.Match != MatchNone && !t.matches(info.Comm, info.Cmdline) {
			if hadProcess {
				c.removeFromTrack(e, t)
			}
			continue
		}
		e = c.addProcess(pid, t, e)
		if t.count == t.Quorum || t.count == t.QuorumMax+1 {
			t.termAt = deadline{}
			c.updateStatus(t, t.count == t.Quorum)
		}
	}
	if e != nil && len(e.refs) == 0 {
		delete(c.tree, pid)
	}
}

// nameMatches is the strcmp of check_process and read_procs, before the
// parameters are checked.
func (s *Spec) nameMatches(comm string, cmdline []byte) bool {
	if !s.FullCommand {
		return comm == s.Process
	}
	for i, b := range cmdline {
		if b == 0 {
			return string(cmdline[:i]) == s.Process
		}
	}
	return string(cmdline) == s.Process
}

// checkFork is keepalived's check_process_fork: a child of a counted
// process counts for the same trackers. A tracker reaching its quorum
// this way (or leaving it by going over quorum_max) waits fork_delay,
// unless a terminate_delay was running, which is cancelled instead.
func (c *Core) checkFork(now time.Duration, parent, child int32) {
	pe := c.tree[parent]
	if pe == nil {
		return
	}
	ce := c.tree[child]
	if ce == nil {
		ce = &procEntry{}
		c.tree[child] = ce
	}
	for _, t := range append([]*tracker(nil), pe.refs...) {
		ce.refs = append(ce.refs, t)
		if !t.increment() {
			continue
		}
		if t.termAt.set {
			t.termAt = deadline{}
		} else if t.ForkDelay != 0 {
			t.forkAt = c.timer(now + t.ForkDelay)
			continue
		}
		c.updateStatus(t, t.count == t.Quorum)
	}
}

// checkTermination is keepalived's check_process_termination. A tracker
// losing its quorum (or reaching it again by coming down to quorum_max)
// waits terminate_delay, unless a fork_delay was running: that is
// cancelled and the change is immediate.
func (c *Core) checkTermination(now time.Duration, pid int32) {
	e := c.tree[pid]
	if e == nil {
		return
	}
	for _, t := range e.refs {
		if !t.decrement() {
			continue
		}
		if t.forkAt.set {
			t.forkAt = deadline{}
		} else if t.TerminateDelay != 0 {
			t.termAt = c.timer(now + t.TerminateDelay)
			continue
		}
		c.updateStatus(t, t.count == t.QuorumMax)
	}
	delete(c.tree, pid)
}

// checkCommChange is keepalived's check_process_comm_change: a counted
// process renamed (prctl PR_SET_NAME) stops counting for the comm
// trackers at once, then the new name is checked. If the process already
// counts for a comm tracker with the new name, nothing happens at all.
func (c *Core) checkCommChange(pid int32, comm string) {
	e := c.tree[pid]
	if e != nil {
		for _, t := range append([]*tracker(nil), e.refs...) {
			if t.FullCommand {
				continue
			}
			if comm == t.Process {
				return
			}
			for i, r := range e.refs {
				if r == t {
					e.refs = append(e.refs[:i:i], e.refs[i+1:]...)
					break
				}
			}
			if t.decrement() {
				t.forkAt = deadline{}
				c.updateStatus(t, t.count == t.QuorumMax)
			}
		}
	}
	c.checkProcess(pid, &comm, e)
}

// reinitialise is keepalived's reinitialise_track_processes, a second
// after an overrun: grow the socket buffer, forget every pid, rescan, and
// act on the trackers whose count crossed a quorum bound.
//
// One deliberate difference: keepalived calls
// process_update_track_process_status here directly, without recording
// the new state in have_quorum, so a later event can apply the same
// weight a second time or never restore it. We record it (updateStatus),
// which logs and reports the same change once.
func (c *Core) reinitialise(now time.Duration) {
	c.needReinit = false
	size, getErr, setErr := c.host.GrowRcvBuf(c.force)
	if getErr != nil {
		c.logf("Cannot get process monitor SO_RCVBUF option. errno=%d (%s)", errno.Of(getErr), errno.Text(getErr))
		return
	}
	if setErr != nil {
		force := ""
		if c.force {
			force = "FORCE"
		}
		c.logf("Cannot set process monitor SO_RCVBUF%s option. errno=%d (%s)", force, errno.Of(setErr), errno.Text(setErr))
	}
	c.logf("Setting global_def process_monitor_rcv_bufs to %d - recommend updating configuration file", size)
	for i := range c.cpuSeq {
		c.cpuSeq[i] = -1
	}
	c.tree = map[int32]*procEntry{}
	for _, t := range c.trackers {
		t.savCount, t.count = t.count, 0
		t.forkAt, t.termAt = deadline{}, deadline{}
	}
	c.readProcs()
	for _, t := range c.trackers {
		if t.savCount == t.count {
			continue
		}
		if (t.savCount < t.Quorum) == (t.count < t.Quorum) && (t.savCount > t.QuorumMax) == (t.count > t.QuorumMax) {
			c.detailf("Process %s, number of current processes changed from %d to %d", t.Name, t.savCount, t.count)
			continue
		}
		if t.count >= t.Quorum && t.count <= t.QuorumMax {
			c.detailf("Process %s, number of current processes changed from %d to %d, quorum up", t.Name, t.savCount, t.count)
			if t.ForkDelay != 0 {
				// keepalived arms the fork timer with terminate_delay.
				t.forkAt = c.timer(now + t.TerminateDelay)
			}
			c.updateStatus(t, true)
			continue
		}
		c.detailf("Process %s, number of current processes changed from %d to %d, quorum down", t.Name, t.savCount, t.count)
		if t.TerminateDelay != 0 {
			t.termAt = c.timer(now + t.TerminateDelay)
		} else {
			c.updateStatus(t, false)
		}
	}
}
