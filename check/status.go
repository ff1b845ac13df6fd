package check

import (
	"time"

	"keepalived-go/config"
)

// Status is the checker engine at one instant, as its owner sees it: what
// the checker dump (SIGUSR1's keepalived_check.data), the metrics, the
// KEEPALIVED-MIB check subtree and the control socket read. Every field is
// a copy, or configuration shared read-only.
type Status struct {
	// VirtualServers in configuration order.
	VirtualServers []VirtualServerStatus
}

// VirtualServerStatus is one virtual_server.
type VirtualServerStatus struct {
	// Name is keepalived's (config.VirtualServer.Name).
	Name   string
	Config *config.VirtualServer
	// Suspended: ha_suspend pauses its checkers (none of its addresses
	// is on this node).
	Suspended   bool
	RealServers []RealServerStatus
}

// RealServerStatus is one real_server and what its checkers found.
type RealServerStatus struct {
	// Name is keepalived's (config.VirtualServer.RealServerName).
	Name   string
	Config *config.RealServer
	// Alive: every checker is up (keepalived's rs->alive). Weight is the
	// effective weight: configured plus dynamic deltas, never below 0.
	Alive    bool
	Weight   int
	Checkers []CheckerStatus
}

// CheckerStatus is one checker of a real server. Checkers that could not
// be built (a MISC_CHECK script that may not run) are absent, as
// keepalived frees them. A BFD_CHECK's Last and LastError are those of
// the last BFD report.
type CheckerStatus struct {
	Kind   config.CheckerKind
	Config *config.Checker
	Up     bool
	// Attempts and Failures count finished attempts since start; Last is
	// when the last one ended and LastError why it failed ("" when it
	// succeeded).
	Attempts, Failures uint64
	Last               time.Time
	LastError          string
}

// Status asks the engine's owner for its state; any goroutine, any time.
func (e *Engine) Status() Status {
	var s Status
	e.own.Do(func() { s = e.status() })
	return s
}

func (e *Engine) status() Status {
	var s Status
	byRS := e.checksByRS()
	var cur *VirtualServerStatus
	for _, r := range e.order {
		if cur == nil || cur.Config != r.vs {
			s.VirtualServers = append(s.VirtualServers, VirtualServerStatus{Name: r.vsKey, Config: r.vs, Suspended: e.suspended[r.vsKey]})
			cur = &s.VirtualServers[len(s.VirtualServers)-1]
		}
		rs := RealServerStatus{Name: r.rsKey, Config: r.rs, Alive: r.alive, Weight: max(r.rs.Weight+r.dyn, 0)}
		for _, c := range byRS[r] {
			cs := CheckerStatus{Kind: c.kind, Config: c.cfg, Up: c.up, Attempts: c.attempts, Failures: c.failures, Last: c.last}
			if c.lastErr != nil {
				cs.LastError = c.lastErr.Error()
			}
			rs.Checkers = append(rs.Checkers, cs)
		}
		cur.RealServers = append(cur.RealServers, rs)
	}
	return s
}
