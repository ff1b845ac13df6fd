package lvs

import (
	"strconv"
	"time"

	"github.com/sirupsen/logrus"
)

// Kernel writes that fail are retried by the engine itself, with a
// bounded exponential backoff, and logged at a bounded rate: a failure,
// then at most one line per LogEvery while it lasts, then its recovery;
// a new failure within LogEvery of the last line is counted and told in
// the next line rather than logged (changes that come and go, each
// failing and then matching the kernel again, would otherwise log twice
// each). Health changes that arrive meanwhile are recorded and applied by
// the next attempt, not each by a full rewrite of the table (which is
// what spun a core and filled the log when the kernel refused a table).

// Defaults of the retry pacing.
const (
	DefaultRetryMin = time.Second
	DefaultRetryMax = 30 * time.Second
	DefaultLogEvery = time.Minute
)

// retry is the pacing state. It belongs to the Manager's owner, like the
// rest of its state; its timer is the owner loop's (Manager.armRetry), so
// the next attempt is an event of that loop, not another goroutine.
type retry struct {
	min, max, logEvery time.Duration
	now                func() time.Time
	log                *logrus.Entry

	failures   int // consecutive failed attempts
	since      time.Time
	next       time.Time
	lastErr    error
	lastLog    time.Time
	suppressed int  // failures not logged since the last line
	logged     bool // this run of failures was logged
}

func newRetry(o Options, log *logrus.Entry) *retry {
	r := &retry{min: o.RetryMin, max: o.RetryMax, logEvery: o.LogEvery, now: time.Now, log: log}
	if r.min <= 0 {
		r.min = DefaultRetryMin
	}
	if r.max < r.min {
		r.max = max(r.min, DefaultRetryMax)
	}
	if r.logEvery <= 0 {
		r.logEvery = DefaultLogEvery
	}
	return r
}

// due reports whether an attempt may be made now.
func (r *retry) due() bool { return r.failures == 0 || !r.now().Before(r.next) }

// wait is the time left until the next attempt is due.
func (r *retry) wait() time.Duration { return max(r.next.Sub(r.now()), 0) }

// failed records a failed attempt and returns the wait before the next.
func (r *retry) failed(what string, err error) time.Duration {
	now := r.now()
	r.failures++
	if r.failures == 1 {
		r.since = now
	}
	d := r.min << min(r.failures-1, 30)
	if d > r.max || d <= 0 {
		d = r.max
	}
	r.next, r.lastErr = now.Add(d), err
	quiet := !r.lastLog.IsZero() && now.Sub(r.lastLog) < r.logEvery
	switch {
	case quiet:
		r.suppressed++
	case r.failures == 1:
		r.log.Errorf("%s failed%s: %v; retrying in %v", what, r.notLogged(), err, d)
		r.lastLog, r.suppressed, r.logged = now, 0, true
	default:
		r.log.Errorf("%s still failing after %d attempts since %s%s: %v; next attempt in %v",
			what, r.failures, r.since.Format(time.TimeOnly), r.notLogged(), err, d)
		r.lastLog, r.suppressed, r.logged = now, 0, true
	}
	return d
}

func (r *retry) notLogged() string {
	if r.suppressed == 0 {
		return ""
	}
	return " (" + strconv.Itoa(r.suppressed) + " failed attempts not logged)"
}

// succeeded records a successful attempt; it logs the recovery.
func (r *retry) succeeded(what string) {
	if r.failures == 0 {
		return
	}
	if r.logged {
		r.log.Infof("%s succeeded after %d failed attempts over %v", what, r.failures, r.now().Sub(r.since).Round(time.Millisecond))
		r.lastLog = r.now()
	}
	r.failures, r.lastErr, r.logged = 0, nil, false
}
