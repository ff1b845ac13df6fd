package check

import (
	"errors"
	"fmt"
	"time"

	"keepalived-go/check/httpget"
	"keepalived-go/config"
)

// kind is everything the engine knows of one checker kind, in one row:
// how its block becomes a Checker, which of keepalived's retry policies
// and attempt bounds it has, and the words of its log lines. The
// configuration side (the block's keywords, defaults and model) is
// config's, keyed by the same config.CheckerKind; TestKindsCoverConfig
// holds the two tables to the same kinds.
type kind struct {
	policy Policy
	// phases bounds one attempt at that many connect_timeout periods;
	// 0 for the kinds whose every I/O step (connect, each write, each
	// read) has connect_timeout of its own and the attempt as a whole no
	// bound, as keepalived re-arms connection_to at each step of
	// HTTP_GET, SSL_GET, TCP_CHECK and SMTP_CHECK: a server that answers
	// slowly but within connect_timeout at each step stays up.
	phases int
	build  func(ck *config.Checker, env Env) (Checker, error)
	// timing adjusts the scheduler timing of a block (nil: none); a kind
	// without phases that bounds its attempt sets AttemptTimeout itself.
	timing func(t *Timing, ck *config.Checker)
	// success, down and downAfter are keepalived's lines when an attempt
	// brings the checker up, down, or down after retries ("" when it logs
	// none); %[1]s is the real server, %[2]s the virtual server, %[3]d the
	// retries.
	success, down, downAfter string
	// failure is the log_all_failures line of one failed attempt (nil:
	// "<KIND> on service <rs>: <error>").
	failure func(rs string, err error) string
	// attempt logs the kind's own lines about one attempt; true when
	// they replace the success and failed lines above.
	attempt func(e *Engine, c *ckRun, o Outcome, err error) bool
	// passive: no probe and no schedule; events set the checker's
	// state (BFD_CHECK, bfd.go). keepalived queues these checkers
	// without a launch function.
	passive bool
	// logFirstFailure: the log_all_failures line is also written for a
	// failed first attempt (alpha: the checker starts down), as
	// HTTP_GET's timeout_epilog does.
	logFirstFailure bool
}

// kinds is the one table of checker kinds; each kind's file registers
// its row from an init (register).
var kinds = map[config.CheckerKind]*kind{}

// register adds the row of a kind; a kind registered twice is a
// programming error.
func register(k config.CheckerKind, row *kind) {
	if kinds[k] != nil {
		panic(fmt.Sprintf("check: checker kind %s registered twice", k))
	}
	kinds[k] = row
}

// kindOf is the row of a block's kind.
func kindOf(k config.CheckerKind) (*kind, error) {
	if row := kinds[k]; row != nil {
		return row, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownKind, k)
}

// defaultAttemptTimeout bounds an attempt whose bound came out as 0.
const defaultAttemptTimeout = 5 * time.Second

// NewChecker builds the checker of one config block.
func NewChecker(ck *config.Checker, env Env) (Checker, error) {
	row, err := kindOf(ck.Kind)
	if err != nil {
		return nil, err
	}
	return row.build(ck, env)
}

// TimingOf returns the scheduler timing of a checker block.
func TimingOf(ck *config.Checker) (Timing, error) {
	row, err := kindOf(ck.Kind)
	if err != nil {
		return Timing{}, err
	}
	t := Timing{
		Policy:           row.policy,
		DelayLoop:        ck.DelayLoop,
		DelayBeforeRetry: ck.DelayBeforeRetry,
		Retry:            max(ck.Retry, 0),
		Warmup:           ck.Warmup,
		Alpha:            ck.Alpha,
		Steps:            1,
		AttemptTimeout:   time.Duration(row.phases) * ck.ConnectTimeout,
	}
	if row.timing != nil {
		row.timing(&t, ck)
	}
	if t.AttemptTimeout <= 0 && row.phases > 0 {
		t.AttemptTimeout = defaultAttemptTimeout
	}
	return t, nil
}

// logsAllFailures is keepalived's test before a checker's failure lines
// (check_tcp.c tcp_epilog and the other checkers'): the global
// checker_log_all_failures or the checker's own log_all_failures.
func (e *Engine) logsAllFailures(c *ckRun) bool {
	return e.logAll || c.cfg.LogAllFailures
}

// logAttempt writes keepalived's lines about one attempt of c.
func (e *Engine) logAttempt(c *ckRun, o Outcome, err error) {
	row := kinds[c.kind]
	rs, vs := c.rs.rsKey, c.rs.vsKey
	first := row != nil && row.logFirstFailure && !c.ran
	if err != nil && e.logsAllFailures(c) && (c.up || first) {
		e.log.Info(failureText(row, c.kind, rs, err))
	}
	if row != nil && row.attempt != nil && row.attempt(e, c, o, err) {
		return
	}
	if o.Verdict == Same || row == nil {
		return
	}
	line := ""
	switch {
	case o.Verdict == Up:
		line = row.success
	case o.Verdict == Down && o.Retries > 0:
		line = row.downAfter
	case o.Verdict == Down:
		line = row.down
	}
	if line != "" {
		e.log.Info(fmtLine(line, rs, vs, o.Retries))
	}
}

// fmtLine fills a row's line: %[1]s the real server, %[2]s the virtual
// server, %[3]d the retries.
func fmtLine(line, rs, vs string, retries int) string { return fmt.Sprintf(line, rs, vs, retries) }

// failureText is the log_all_failures line of one failed attempt.
func failureText(row *kind, k config.CheckerKind, rs string, err error) string {
	var he *httpget.Error
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("%s server %s.", he.Msg, rs)
	case row != nil && row.failure != nil:
		return row.failure(rs, err)
	}
	return fmt.Sprintf("%s on service %s: %v", k, rs, err)
}
