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
	// timing adjusts the scheduler timing of a block (nil: none).
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
}

// kinds is the one table of checker kinds.
var kinds = map[config.CheckerKind]*kind{
	config.HTTPGet: {policy: PolicyHTTP, build: newHTTP, attempt: logHTTPStep,
		success:   "Remote Web server %[1]s succeed on service.",
		down:      "HTTP_CHECK on service %[1]s failed.",
		downAfter: "HTTP_CHECK on service %[1]s failed after %[3]d retries."},
	config.SSLGet: {policy: PolicyHTTP, build: newHTTP, attempt: logHTTPStep,
		success:   "Remote Web server %[1]s succeed on service.",
		down:      "HTTP_CHECK on service %[1]s failed.",
		downAfter: "HTTP_CHECK on service %[1]s failed after %[3]d retries."},
	config.TCPCheck: {policy: PolicyTCP, build: newTCP, failure: tcpFailure,
		success:   "TCP connection to %[1]s success.",
		down:      "TCP_CHECK on service %[1]s failed.",
		downAfter: "TCP_CHECK on service %[1]s failed after %[3]d retries."},
	config.SMTPCheck: {policy: PolicySMTP, build: newSMTP, attempt: logSMTPDown, failure: smtpFailure,
		success: "Remote SMTP server %[1]s succeed on service."},
	config.DNSCheck: {policy: PolicyDNS, phases: 1, build: newDNS, attempt: logDNSDown, failure: dnsFailure},
	config.UDPCheck: {policy: PolicyUDP, phases: 1, build: newUDP, failure: udpFailure,
		success:   "UDP connection to %[1]s success.",
		down:      "UDP_CHECK on service %[1]s failed.",
		downAfter: "UDP_CHECK on service %[1]s failed after %[3]d retries."},
	config.PingCheck: {policy: PolicyUDP, phases: 1, build: newPing,
		success:   "ICMP connection to %[1]s success.",
		down:      "ICMP CHECK on service %[1]s failed.",
		downAfter: "ICMP CHECK on service %[1]s of %[2]s failed after %[3]d retries."},
	config.MiscCheck: {policy: PolicyMisc, build: newMisc, timing: miscTiming, attempt: logMisc},
	config.FileCheck: {policy: PolicyFile, build: newFile, timing: fileTiming},
	config.BFDCheck:  {build: newBFD, passive: true},
}

// kindOf is the row of a block's kind.
func kindOf(k config.CheckerKind) (*kind, error) {
	if row := kinds[k]; row != nil {
		return row, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownKind, k)
}

// miscTiming: an attempt is bounded by misc_timeout, else delay_loop.
func miscTiming(t *Timing, ck *config.Checker) {
	if ck.MiscOpts() != nil {
		t.AttemptTimeout = ck.MiscOpts().Timeout
	}
	if t.AttemptTimeout <= 0 {
		t.AttemptTimeout = ck.DelayLoop
	}
}

// fileTiming: no probe; the file is re-read often (keepalived uses
// inotify) and its state is known at once.
func fileTiming(t *Timing, _ *config.Checker) {
	t.DelayLoop, t.Warmup, t.Alpha, t.Retry = FilePollInterval, 0, false, 0
	t.AttemptTimeout = FilePollInterval
}

// logHTTPStep logs each url that passed.
func logHTTPStep(e *Engine, c *ckRun, o Outcome, _ error) bool {
	if !o.StepOK {
		return false
	}
	h, ok := c.checker.(*HTTPCheck)
	if !ok || o.Step >= len(h.Targets) {
		return false
	}
	what := "HTTP status code"
	if h.Targets[o.Step].Digest != nil {
		what = "MD5 digest"
	}
	if h.Targets[o.Step].Regex != nil {
		what = "Regex match"
	}
	e.log.Infof("%s success to %s url(%s)", what, c.rs.rsKey, h.Targets[o.Step].Path)
	return false
}

func logSMTPDown(e *Engine, _ *ckRun, o Outcome, err error) bool {
	if err != nil && o.Verdict == Down {
		e.log.Infof("SMTP_CHECK %s", err.Error())
	}
	return false
}

func logDNSDown(e *Engine, c *ckRun, o Outcome, err error) bool {
	if err != nil && o.Verdict == Down {
		msg := err.Error()
		if o.Retries > 0 {
			msg += fmt.Sprintf(" after %d retries", o.Retries)
		}
		e.log.Infof("DNS_CHECK (%s) %s", c.rs.rsKey, msg)
	}
	return false
}

func tcpFailure(rs string, err error) string {
	if errors.Is(err, ErrTimeout) {
		return fmt.Sprintf("TCP connection to %s timeout.", rs)
	}
	return fmt.Sprintf("TCP connection to %s failed.", rs)
}

func udpFailure(rs string, err error) string {
	if errors.Is(err, ErrReply) {
		return fmt.Sprintf("UDP check to %s reply data mismatch.", rs)
	}
	return fmt.Sprintf("UDP connection to %s failed.", rs)
}

func smtpFailure(_ string, err error) string { return "SMTP_CHECK " + err.Error() }

func dnsFailure(rs string, err error) string {
	return fmt.Sprintf("DNS_CHECK (%s) %s", rs, err.Error())
}

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
	if ck.HTTPOpts() != nil {
		t.Steps = max(len(ck.HTTPOpts().URLs), 1)
		t.FastRecovery = ck.HTTPOpts().FastRecovery
	}
	if row.timing != nil {
		row.timing(&t, ck)
	}
	if t.AttemptTimeout <= 0 && (row.phases > 0 || row.timing != nil) {
		t.AttemptTimeout = 5 * time.Second
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
	// HTTP_GET's timeout_epilog also logs the failure of a checker's
	// first attempt (alpha: it starts down).
	http := c.kind == config.HTTPGet || c.kind == config.SSLGet
	if err != nil && e.logsAllFailures(c) && (c.up || http && !c.ran) {
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
