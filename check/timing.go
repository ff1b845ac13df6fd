package check

import "time"

// Policy selects which of keepalived's per-checker retry rules applies.
// keepalived 2.2.7 has no shared retry logic: every checker's epilog
// differs in small ways (who retries while down, whether the next run is
// measured from the start or the end of the attempt, how several urls are
// walked), and operators see those differences in failover times.
type Policy uint8

const (
	// PolicyTCP is TCP_CHECK: retries after delay_before_retry even while
	// the checker is already down.
	PolicyTCP Policy = iota
	// PolicyUDP is UDP_CHECK and PING_CHECK: retries only while up; a
	// failing checker that is down just waits delay_loop.
	PolicyUDP
	// PolicyDNS is DNS_CHECK: like PolicyUDP, but the counter is only
	// reset by a success or a transition.
	PolicyDNS
	// PolicySMTP is SMTP_CHECK: every delay_loop cycle starts with a fresh
	// retry budget, also at startup (no "one failure is enough" rule).
	PolicySMTP
	// PolicyMisc is MISC_CHECK: the next run is due delay_loop (or
	// delay_before_retry) after the previous one started, not ended.
	PolicyMisc
	// PolicyHTTP is HTTP_GET/SSL_GET: one url per attempt, each success
	// followed by delay_loop, a down checker recovering only after a full
	// pass over all urls, and fast_recovery.
	PolicyHTTP
	// PolicyFile is FILE_CHECK: no probing schedule of its own, the file
	// is re-read every delay_loop and its value maps to up/down/weight.
	PolicyFile
)

// BootstrapDelay is keepalived's delay before the first check of every
// checker (plus a random part of warmup).
const BootstrapDelay = time.Second

// Timing is everything the scheduler needs to know about one checker.
type Timing struct {
	Policy           Policy
	DelayLoop        time.Duration
	DelayBeforeRetry time.Duration
	Retry            int
	// Warmup bounds the random delay before the first check.
	Warmup time.Duration
	// AttemptTimeout bounds one attempt (the probe's ctx deadline); 0:
	// no bound on the whole attempt, only the checker's own timeout on
	// each of its I/O steps (keepalived's HTTP_GET, SSL_GET, TCP_CHECK,
	// SMTP_CHECK).
	AttemptTimeout time.Duration
	Alpha          bool
	// Steps is the number of urls of an HTTP checker (>= 1).
	Steps        int
	FastRecovery bool
}

// Verdict is what an attempt did to the checker's state.
type Verdict uint8

const (
	// Same: no state change was decided by this attempt.
	Same Verdict = iota
	// Up: the checker was declared up (or confirmed up on its first run).
	Up
	// Down: the checker was declared down (or confirmed down on its first run).
	Down
)

func (v Verdict) String() string {
	switch v {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "same"
}

// Outcome is what the machine decided after one attempt.
type Outcome struct {
	Verdict Verdict
	// Changed is set when Verdict flips the checker's state; a Verdict on
	// the first run can confirm the initial state without changing it.
	Changed bool
	// Retries is the count keepalived prints in "failed after N retries";
	// 0 means it prints the plain "failed." form.
	Retries int
	// RetryIt is the retry counter after the attempt (MISC_CHECK prints it).
	RetryIt int
	// Delay until the next attempt, measured from the end of this one
	// (FromStart: from its start).
	Delay     time.Duration
	FromStart bool
	// StepOK: an HTTP url succeeded while the checker is down
	// (keepalived logs "... success to ... url(...)").
	StepOK bool
	// Step is the url index the attempt checked.
	Step int
}

// machine is one checker's retry state, keepalived's checker_t fields.
type machine struct {
	t       Timing
	up      bool
	hasRun  bool
	retryIt int
	// HTTP url iteration.
	step   int
	failed bool
}

// newMachine returns a machine in keepalived's start state: up unless
// alpha, and with the retry counter exhausted so that a single failure is
// enough to bring a fresh checker down (SMTP resets it at launch).
func newMachine(t Timing) *machine {
	if t.Steps < 1 {
		t.Steps = 1
	}
	m := &machine{t: t, up: !t.Alpha, retryIt: t.Retry}
	if t.Policy == PolicySMTP {
		m.retryIt = 0
	}
	return m
}

// result applies one attempt's success or failure.
func (m *machine) result(ok bool) Outcome {
	switch m.t.Policy {
	case PolicyTCP, PolicyUDP:
		return m.resultL4(ok)
	case PolicyDNS:
		return m.resultDNS(ok)
	case PolicySMTP:
		return m.resultSMTP(ok)
	case PolicyMisc:
		return m.resultMisc(ok)
	case PolicyHTTP:
		return m.resultHTTP(ok)
	}
	return m.resultFile(ok)
}

// transition records a decided state and reports whether it changed.
func (m *machine) transition(up bool, o *Outcome) {
	if up {
		o.Verdict = Up
	} else {
		o.Verdict = Down
	}
	o.Changed = m.up != up
	m.up = up
	m.hasRun = true
}

func (m *machine) resultL4(ok bool) Outcome {
	o := Outcome{Delay: m.t.DelayLoop}
	udp := m.t.Policy == PolicyUDP
	exhausted := m.retryIt >= m.t.Retry
	if udp {
		exhausted = (m.up || !m.hasRun) && exhausted
	}
	switch {
	case ok || exhausted:
		m.retryIt = 0
		if ok && (!m.up || !m.hasRun) {
			m.transition(true, &o)
		} else if !ok && (m.up || !m.hasRun) {
			if m.t.Retry > 0 && m.hasRun {
				o.Retries = m.t.Retry
			}
			m.transition(false, &o)
		}
	case !udp || m.up:
		o.Delay = m.t.DelayBeforeRetry
		m.retryIt++
	}
	m.hasRun = true
	o.RetryIt = m.retryIt
	return o
}

func (m *machine) resultDNS(ok bool) Outcome {
	o := Outcome{Delay: m.t.DelayLoop}
	if !ok {
		if m.up || !m.hasRun {
			if m.retryIt < m.t.Retry {
				m.retryIt++
				m.hasRun = true
				o.Delay = m.t.DelayBeforeRetry
				o.RetryIt = m.retryIt
				return o
			}
			if m.hasRun {
				o.Retries = m.t.Retry
			}
			m.transition(false, &o)
		}
	} else if !m.up || !m.hasRun {
		m.transition(true, &o)
	}
	m.retryIt = 0
	return o
}

func (m *machine) resultSMTP(ok bool) Outcome {
	o := Outcome{Delay: m.t.DelayLoop}
	if !ok {
		m.retryIt++
		if m.retryIt <= m.t.Retry {
			o.Delay = m.t.DelayBeforeRetry
			o.RetryIt = m.retryIt
			return o
		}
		if m.up || !m.hasRun {
			m.transition(false, &o)
		}
		// The next cycle starts at smtp_start_check_thread, which
		// resets the counter.
		m.retryIt = 0
		return o
	}
	m.retryIt = 0
	if !m.up || !m.hasRun {
		m.transition(true, &o)
	}
	m.hasRun = true
	return o
}

func (m *machine) resultMisc(ok bool) Outcome {
	o := Outcome{FromStart: true}
	if ok {
		if !m.up || !m.hasRun {
			m.transition(true, &o)
		}
		m.retryIt = 0
	} else if m.up || !m.hasRun {
		if m.retryIt < m.t.Retry {
			m.retryIt++
		} else {
			m.retryIt = 0
			if m.t.Retry > 0 {
				o.Retries = m.t.Retry
			}
			m.transition(false, &o)
		}
	}
	o.RetryIt = m.retryIt
	if m.retryIt > 0 {
		o.Delay = m.t.DelayBeforeRetry
	} else {
		o.Delay = m.t.DelayLoop
	}
	m.hasRun = true
	return o
}

// resultHTTP is keepalived's http epilog/timeout_epilog pair.
func (m *machine) resultHTTP(ok bool) Outcome {
	o := Outcome{Step: m.step}
	const (
		regNew = iota
		regRetry
		regFailed
	)
	method := regNew
	if !ok {
		if m.up || !m.hasRun {
			m.hasRun = true
			method = regRetry
		} else {
			method = regFailed
		}
	} else if !m.up {
		o.StepOK = true
	}
	done := false
	switch method {
	case regNew:
		m.step++
		if m.step >= m.t.Steps {
			done = true
		}
		m.retryIt = 0
	case regRetry:
		m.retryIt++
	}
	switch {
	case method == regNew && done && !m.failed:
		if !m.up || !m.hasRun {
			m.transition(true, &o)
		}
		m.step, m.retryIt = 0, 0
	case method == regRetry && m.retryIt > m.t.Retry:
		if m.up || !m.hasRun {
			if m.hasRun && m.t.Retry > 0 {
				o.Retries = m.retryIt - 1
			}
			m.transition(false, &o)
		}
		m.failed = true
	case method == regNew && m.failed:
		m.failed = false
		m.step, m.retryIt = 0, 0
	}
	if method == regNew && done && m.step != 0 {
		m.step = 0
	}
	switch {
	case method == regNew:
		o.Delay = m.t.DelayLoop
		if !m.hasRun {
			m.retryIt = m.t.Retry
		}
	case m.failed:
		o.Delay = max(m.t.DelayBeforeRetry, m.t.DelayLoop)
	default:
		o.Delay = m.t.DelayBeforeRetry
	}
	if m.t.FastRecovery && (!m.hasRun || (!m.up && !m.failed)) {
		o.Delay = 0
	}
	o.RetryIt = m.retryIt
	return o
}

// resultFile: a FILE_CHECK result is the file's state itself.
func (m *machine) resultFile(ok bool) Outcome {
	o := Outcome{Delay: m.t.DelayLoop}
	if ok != m.up || !m.hasRun {
		m.transition(ok, &o)
	}
	return o
}
