package check

import (
	"context"
	"errors"
	"time"

	"keepalived-go/config"
)

func init() {
	register(config.BFDCheck, &kind{build: newBFD, passive: true})
}

// BFD_CHECK: a real server follows a BFD session (keepalived 2.2.7's
// check/check_bfd.c). It has no probe: the BFD engine runs the session,
// and its state reaches this engine through SetBFD, wired in
// cmd/keepalived.

// ErrPassive is what Check of a checker without a probe reports: its
// state comes from events (BFD_CHECK: Engine.SetBFD), never from an
// attempt, so the scheduler never runs it.
var ErrPassive = errors.New("checker has no probe: its state comes from events")

// BFDCheck is a BFD_CHECK: the real server is up while the session Name
// is Up.
type BFDCheck struct{ Name string }

// Check reports ErrPassive (see BFDCheck).
func (*BFDCheck) Check(context.Context) error { return ErrPassive }

func newBFD(ck *config.Checker, _ Env) (Checker, error) {
	if ck.BFDOpts() == nil || ck.BFDOpts().Name == "" {
		return nil, errors.New("BFD_CHECK without a bfd_instance name")
	}
	return &BFDCheck{Name: ck.BFDOpts().Name}, nil
}

// BFDState is a BFD session's state as the BFD process reports it to the
// checkers (keepalived's bfd_event_t): Up, or not Up. Sent is when the
// session changed (for the delivery time keepalived logs with -D); zero
// when unknown.
type BFDState struct {
	Name string
	Up   bool
	Sent time.Time
}

// SetBFD takes a BFD session's state: every BFD_CHECK following it goes
// up or down with it, and its real server with the checker, as
// keepalived's bfd_check_handle_event does. A checker already in that
// state, once it has heard a report, changes nothing. ha_suspend does not
// hold these back (keepalived's handler ignores it). Safe from any
// goroutine, before, during and after Run.
func (e *Engine) SetBFD(s BFDState) {
	e.own.Do(func() { e.setBFD(s) })
}

func (e *Engine) setBFD(s BFDState) {
	state, word := "Down", "DOWN"
	if s.Up {
		state, word = "Up", "UP"
	}
	if e.opts.LogDetail {
		var us int64
		if !s.Sent.IsZero() {
			us = max(time.Since(s.Sent).Microseconds(), 0)
		}
		e.log.Infof("Received BFD event: instance %s is in state %s (delivered in %d usec)", s.Name, state, us)
	}
	byRS := e.checksByRS()
	for _, r := range e.order {
		for _, c := range byRS[r] {
			b, ok := c.checker.(*BFDCheck)
			if !ok || b.Name != s.Name || c.up == s.Up && c.ran {
				continue
			}
			e.log.Infof("BFD check of [%s] RS(%s) is %s", s.Name, r.rsKey, word)
			// update_svr_checker_state: a first report that confirms
			// the state the checker started in only marks it run.
			first := !c.ran
			c.ran, c.last = true, time.Now()
			if c.up == s.Up && first {
				continue
			}
			if s.Up {
				c.lastErr = nil
				e.checkerUp(c, "BFD "+s.Name+" Up")
			} else {
				c.lastErr = errBFDDown
				e.checkerDown(c, "BFD "+s.Name+" Down")
			}
		}
	}
}

// errBFDDown is a BFD_CHECK's LastError while its session is Down.
var errBFDDown = errors.New("BFD session down")
