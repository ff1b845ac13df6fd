// Package trackproc is vrrp_track_process: the kernel's process-events
// connector, the /proc scan and keepalived 2.2.7's counting of matching
// processes against each tracker's quorum, with its delays and its log
// lines (keepalived/core/track_process.c).
//
// Core is the pure part: connector messages, timer expiries and reloads
// in, tracker up/down changes and log lines out; it reads processes
// through a Host. Monitor is the shell: the socket, the real /proc, one
// goroutine owning the Core, Status() and an Event channel for the VRRP
// engine. Effect is what a tracker's state does to an instance.
//
// keepalived's quirks are kept, because a drop-in must behave the same:
// the connector refused outside the initial network namespace leaves
// every tracker as counted at start (nothing: no /proc scan) until a
// reload scans once; a process exec'ing the same program again counts
// twice while it lives; fork_delay applies only to forks of counted
// processes, never to a start by exec; a rename or an exec away stops
// counting without terminate_delay; a reload that adds trackers to a
// configuration that had none never listens (its counts stay the
// reload's scan). Where it differs:
//   - after an overrun (ENOBUFS) keepalived reports crossings without
//     recording them in have_quorum, so a later event can apply a weight
//     twice or never restore it; the Core records them.
//   - the socket's port id is the kernel's choice, not the pid (two
//     Monitors in one process must coexist).
//   - events wait in an ordered queue for the engine; past 4096 waiting
//     they are folded into each tracker's latest state (logged).
package trackproc

import (
	"fmt"
	"math"
	"time"

	"keepalived-go/internal/errno"
)

// Change is a tracker gaining (Up) or losing its quorum: keepalived's
// process_update_track_process_status.
type Change struct {
	Tracker string
	Up      bool
}

// Ready is what the Core produced since the last call: the changes in
// order and keepalived's log lines (all at LOG_INFO).
type Ready struct {
	Changes []Change
	Logs    []string
}

// tracker is a vrrp_tracked_process_t.
type tracker struct {
	Spec
	count     uint32 // num_cur_proc
	savCount  uint32 // sav_num_cur_proc
	up        bool   // have_quorum
	forkAt    deadline
	termAt    deadline
	statsUp   int
	statsDown int
}

// deadline is a one-shot timer; seq orders timers due at the same time.
type deadline struct {
	set bool
	at  time.Duration
	seq uint64
}

// procEntry is a tracked_process_instance_t: the trackers counting one
// pid, one reference per count (keepalived may count a process twice
// for one tracker when it execs itself again, and so do we).
type procEntry struct {
	refs []*tracker
}

// Stats counts messages.
type Stats struct {
	Messages uint64 // process-events messages handled
	Dropped  uint64 // undecodable or not from the process connector
	Missed   uint64 // messages the sequence numbers say were lost
	Overruns uint64 // ENOBUFS on the socket
}

// Core is the state of keepalived's process tracking.
type Core struct {
	host     Host
	detail   bool
	trackers []*tracker
	byName   map[string]*tracker
	tree     map[int32]*procEntry
	read     Read

	numCPUs    uint32
	cpuSeq     []int64
	responded  bool
	ackAt      deadline
	reinitAt   deadline
	needReinit bool
	force      bool
	seq        uint64

	stats Stats
	out   Ready
}

// Options configure a Core.
type Options struct {
	// Detail logs keepalived's --log-detail (-D) lines.
	Detail bool
	// RcvBufForce is process_monitor_rcv_bufs_force: the buffer grows
	// with SO_RCVBUFFORCE after an overrun.
	RcvBufForce bool
}

// NewCore returns a Core for the trackers, in configuration order.
func NewCore(specs []Spec, host Host, opts Options) *Core {
	c := &Core{host: host, detail: opts.Detail, force: opts.RcvBufForce}
	c.setSpecs(specs)
	return c
}

// setSpecs installs a tracker list with nothing counted, as a freshly
// read configuration has, and the /proc files keepalived would read for
// it (vrrp_use_process_comm/cmdline, vrrp_max_process_name_len).
func (c *Core) setSpecs(specs []Spec) {
	c.trackers = nil
	c.byName = map[string]*tracker{}
	c.tree = map[int32]*procEntry{}
	c.read = Read{}
	maxLen := 0
	for _, s := range specs {
		t := &tracker{Spec: s}
		c.trackers = append(c.trackers, t)
		c.byName[s.Name] = t
		maxLen = max(maxLen, s.nameLen())
		if s.FullCommand {
			c.read.Cmdline = true
		} else {
			c.read.Comm = true
		}
	}
	c.read.Limit = maxLen
}

// Trackers says whether there is anything to track.
func (c *Core) Trackers() int { return len(c.trackers) }

func (c *Core) logf(format string, args ...any) {
	c.out.Logs = append(c.out.Logs, fmt.Sprintf(format, args...))
}

func (c *Core) detailf(format string, args ...any) {
	if c.detail {
		c.logf(format, args...)
	}
}

// Ready returns and clears what was produced.
func (c *Core) Ready() Ready {
	r := c.out
	c.out = Ready{}
	return r
}

// HasReady says whether Ready has anything.
func (c *Core) HasReady() bool { return len(c.out.Changes) > 0 || len(c.out.Logs) > 0 }

// Start is init_track_processes after the socket was set up: listening
// says whether PROC_CN_MCAST_LISTEN was accepted. keepalived scans /proc
// only then; when the kernel refused (errno 111 in a network namespace
// other than the initial one) nothing is counted and every tracker
// starts without its quorum (unless its quorum is 0). numCPUs is
// sysconf(_SC_NPROCESSORS_CONF): events from a higher CPU number are
// ignored. The initial states are keepalived's
// initialise_process_tracking_priorities; they are not logged as
// changes.
func (c *Core) Start(now time.Duration, listening bool, numCPUs int) {
	if listening {
		if !c.responded {
			c.ackAt = c.timer(now + 100*time.Millisecond)
		}
		if c.cpuSeq == nil && numCPUs > 0 {
			c.numCPUs = uint32(numCPUs)
			c.cpuSeq = make([]int64, numCPUs)
			for i := range c.cpuSeq {
				c.cpuSeq[i] = -1
			}
		}
		c.readProcs()
	}
	c.initialStates()
}

// Reload installs a new tracker list, as keepalived's reload does:
// counting starts again from a /proc scan (reload_track_processes scans
// even where the connector was refused, so there the counts are a
// snapshot of the reload time), pending delays are dropped, and the
// states are computed afresh without being logged as changes.
func (c *Core) Reload(specs []Spec) {
	c.setSpecs(specs)
	c.reinitAt = deadline{}
	if len(c.trackers) > 0 {
		c.readProcs()
	}
	c.initialStates()
}

func (c *Core) initialStates() {
	for _, t := range c.trackers {
		t.up = t.count >= t.Quorum && t.count <= t.QuorumMax
	}
}

func (c *Core) timer(at time.Duration) deadline {
	c.seq++
	return deadline{set: true, at: at, seq: c.seq}
}

// Status is a tracker's state.
type Status struct {
	Name      string
	Count     int
	Up        bool
	Quorum    int
	QuorumMax int // -1 unlimited
	// ForkPending and TerminatePending say a fork_delay or
	// terminate_delay timer is running.
	ForkPending      bool
	TerminatePending bool
	Gained, Lost     int // quorum changes since the tracker was loaded
}

// Status returns every tracker's state in configuration order.
func (c *Core) Status() []Status {
	out := make([]Status, 0, len(c.trackers))
	for _, t := range c.trackers {
		qmax := int(t.QuorumMax)
		if t.QuorumMax == Unlimited {
			qmax = -1
		}
		out = append(out, Status{
			Name: t.Name, Count: int(t.count), Up: t.up,
			Quorum: int(t.Quorum), QuorumMax: qmax,
			ForkPending: t.forkAt.set, TerminatePending: t.termAt.set,
			Gained: t.statsUp, Lost: t.statsDown,
		})
	}
	return out
}

// Stats returns the message counters.
func (c *Core) Stats() Stats { return c.stats }

// Responded says the kernel acknowledged a LISTEN (keepalived's
// proc_events_responded).
func (c *Core) Responded() bool { return c.responded }

// Dropped counts a message the shell could not decode or that did not
// come from the kernel.
func (c *Core) Dropped() { c.stats.Dropped++ }

// NextDeadline is the earliest pending timer.
func (c *Core) NextDeadline() (time.Duration, bool) {
	d, ok := time.Duration(math.MaxInt64), false
	consider := func(t deadline) {
		if t.set && t.at < d {
			d, ok = t.at, true
		}
	}
	consider(c.ackAt)
	consider(c.reinitAt)
	for _, t := range c.trackers {
		consider(t.forkAt)
		consider(t.termAt)
	}
	return d, ok
}

// Tick fires the timers due at now, earliest first.
func (c *Core) Tick(now time.Duration) {
	for {
		var best *deadline
		consider := func(t *deadline) {
			if t.set && t.at <= now && (best == nil || t.at < best.at || t.at == best.at && t.seq < best.seq) {
				best = t
			}
		}
		consider(&c.ackAt)
		consider(&c.reinitAt)
		for _, t := range c.trackers {
			consider(&t.forkAt)
			consider(&t.termAt)
		}
		if best == nil {
			return
		}
		*best = deadline{}
		switch {
		case best == &c.ackAt:
			if !c.responded {
				c.logf("WARNING - the kernel does not support proc events - track_process will not work")
			}
		case best == &c.reinitAt:
			c.reinitialise(now)
		default:
			// process_gained_quorum_timer_thread and
			// process_lost_quorum_timer_thread do the same.
			for _, t := range c.trackers {
				if best == &t.forkAt || best == &t.termAt {
					c.updateStatus(t, t.count >= t.Quorum && t.count <= t.QuorumMax)
				}
			}
		}
	}
}

// Overflow is ENOBUFS on the socket: messages were lost. keepalived
// waits a second for things to settle, then rescans /proc.
func (c *Core) Overflow(now time.Duration) {
	c.stats.Overruns++
	c.reinitAt = c.timer(now + time.Second)
	c.needReinit = true
}

// RecvError is any other receive error.
func (c *Core) RecvError(err error) {
	c.logf("process monitor netlink recv error %d - %s", errno.Of(err), errno.Text(err))
}
