package check

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/check/httpget"
	"keepalived-go/config"
	"keepalived-go/internal/timerfd"
	"keepalived-go/notify"
)

// RealServerEvent reports a real server's health state, once per change of
// its aliveness or effective weight (and once per real server at start,
// with Initial set).
type RealServerEvent struct {
	VS *config.VirtualServer
	RS *config.RealServer
	// VSKey and RSKey are keepalived's names for them
	// ("[198.51.100.10]:tcp:80"), stable across reloads.
	VSKey, RSKey string
	Up           bool
	// Weight is the effective weight: configured plus dynamic deltas
	// (MISC_CHECK misc_dynamic, FILE_CHECK), never below 0.
	Weight  int
	Checker config.CheckerKind // the checker that caused the change
	Reason  string
	Initial bool
}

// Options configures an Engine.
type Options struct {
	Log *logrus.Entry
	// OnEvent receives every RealServerEvent, in order, from a goroutine
	// of its own: a slow callback delays later events, never the checks.
	OnEvent func(RealServerEvent)
	// OnCheck is called after every attempt from the probe's goroutine;
	// it must be cheap (a Prometheus observation).
	OnCheck func(CheckStat)
	// TLS is the SSL_GET client config (certificates from global_defs).
	TLS *tls.Config
	// Runner runs MISC_CHECK scripts (nil: notify.ExecRunner).
	Runner notify.Runner
	// Rand draws warmup delays (nil: seeded randomly).
	Rand *rand.Rand
	// Bootstrap overrides BootstrapDelay when non-nil (tests use 0).
	Bootstrap *time.Duration
	// MaxInFlight bounds concurrent probes (0: DefaultMaxInFlight); due
	// attempts beyond it wait in order, which bounds memory when the
	// host is short of CPU.
	MaxInFlight int
}

// DefaultMaxInFlight is the default Options.MaxInFlight.
const DefaultMaxInFlight = 1024

// Engine runs every checker of a config.
type Engine struct {
	opts Options
	log  *logrus.Entry

	mu      sync.Mutex
	sch     *Scheduler
	nextID  ID
	checks  map[ID]*ckRun
	byKey   map[string]*ckRun
	servers map[string]*rsRun
	order   []*rsRun
	wake    chan struct{}

	// Awake's view of the schedule: pullFrom is when Pull would next
	// start something, as time since epoch; 0 while nothing may be
	// pulled (a check is in flight, or none is scheduled).
	epoch    time.Time
	pullFrom atomic.Int64
	nudge    chan struct{}

	evMu    sync.Mutex
	evQueue []RealServerEvent
	evWake  chan struct{}
}

type rsRun struct {
	key          string
	vs           *config.VirtualServer
	rs           *config.RealServer
	vsKey, rsKey string
	failed       int
	alive        bool
	dyn          int // sum of the checkers' weight deltas
}

type ckRun struct {
	id      ID
	key     string
	kind    config.CheckerKind
	cfg     *config.Checker
	rs      *rsRun
	checker Checker
	timing  Timing
	up      bool
	cur     int  // weight delta
	ran     bool // an attempt has been judged (keepalived's has_run)
}

type probeResult struct {
	id    ID
	err   error
	delta int
	hasW  bool
	end   time.Time
}

// New builds the checkers of cfg. Checkers that cannot be built (BFD_CHECK,
// a MISC_CHECK user that does not exist) are logged and left out.
func New(cfg *config.Config, opts Options) (*Engine, error) {
	log := opts.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(nopWriter{})
		log = logrus.NewEntry(l)
	}
	boot := BootstrapDelay
	if opts.Bootstrap != nil {
		boot = *opts.Bootstrap
	}
	e := &Engine{
		opts: opts, log: log,
		sch:     NewScheduler(opts.Rand, boot),
		checks:  map[ID]*ckRun{},
		byKey:   map[string]*ckRun{},
		servers: map[string]*rsRun{},
		wake:    make(chan struct{}, 1),
		evWake:  make(chan struct{}, 1),
		epoch:   time.Now(),
		nudge:   make(chan struct{}, 1),
	}
	e.apply(cfg, time.Now(), false)
	return e, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func vsIDOf(vs *config.VirtualServer) notify.VirtualServerID {
	id := notify.VirtualServerID{Group: vs.Group, FWMark: vs.FWMark, Addr: vs.Addr, Port: uint16(vs.Port)}
	switch strings.ToUpper(vs.Protocol) {
	case "TCP", "":
		id.Proto = 6
	case "UDP":
		id.Proto = 17
	case "SCTP":
		id.Proto = 132
	}
	return id
}

var posRE = regexp.MustCompile(`"Pos":\{"File":"(?:[^"\\]|\\.)*","Line":-?\d+,"Col":-?\d+\},?`)

// fingerprint identifies a checker's config, positions aside: a reload
// keeps the state of checkers whose fingerprint is unchanged.
func fingerprint(rsKey string, ck *config.Checker) string {
	b, _ := json.Marshal(ck)
	return rsKey + "|" + string(posRE.ReplaceAll(b, nil))
}

// apply builds (or, on reload, diffs) the checker set. Callers hold e.mu
// or own e exclusively.
func (e *Engine) apply(cfg *config.Config, now time.Time, reload bool) {
	seen := map[string]bool{}
	keep := map[string]bool{}
	var order []*rsRun
	for _, vs := range cfg.VirtualServers {
		vid := vsIDOf(vs)
		vsKey := vid.String()
		for _, rs := range vs.RealServers {
			rsKey := notify.RealServerString(vid, rs.Addr, uint16(rs.Port))
			key := vsKey + " " + rsKey
			r := e.servers[key]
			if r == nil {
				r = &rsRun{key: key, vsKey: vsKey, rsKey: rsKey, alive: true}
				e.servers[key] = r
			}
			r.vs, r.rs = vs, rs
			order = append(order, r)
			keep[key] = true
			for _, ck := range rs.Checkers {
				// Inherited inputs a checker is built from are part of
				// its identity.
				base := fingerprint(key+"|"+vs.VirtualHost+"|"+rs.VirtualHost, ck)
				fp := base
				for n := 0; seen[fp]; n++ {
					fp = fmt.Sprintf("%s#%d", base, n)
				}
				seen[fp] = true
				if c := e.byKey[fp]; c != nil {
					c.cfg, c.rs = ck, r
					if mc, ok := c.checker.(*MiscCheck); ok {
						mc.RSWeight = rs.Weight
					}
					continue
				}
				e.addChecker(fp, ck, r, cfg, now, reload)
			}
		}
	}
	for fp, c := range e.byKey {
		if !seen[fp] {
			e.sch.Remove(c.id)
			delete(e.checks, c.id)
			delete(e.byKey, fp)
			if keep[c.rs.key] {
				if !c.up {
					e.checkerUp(c, "checker removed")
				}
				if c.cur != 0 {
					e.setDelta(c, 0, "checker removed")
				}
			}
		}
	}
	for key := range e.servers {
		if !keep[key] {
			delete(e.servers, key)
		}
	}
	e.order = order
}

func (e *Engine) addChecker(fp string, ck *config.Checker, r *rsRun, cfg *config.Config, now time.Time, reload bool) {
	vsStr, rsStr := r.vsKey, r.rsKey
	chk, err := NewChecker(ck, Env{VS: r.vs, RS: r.rs, Config: cfg, TLS: e.opts.TLS, Runner: e.opts.Runner, Log: e.logLine})
	if err != nil {
		if errors.Is(err, ErrNotSupported) {
			e.log.Warnf("%s for service %s for VS %s is not supported yet - ignoring", ck.Kind, rsStr, vsStr)
		} else {
			e.log.Errorf("%s for service %s for VS %s: %v - ignoring", ck.Kind, rsStr, vsStr, err)
		}
		return
	}
	t, _ := TimingOf(ck)
	e.nextID++
	c := &ckRun{id: e.nextID, key: fp, kind: ck.Kind, cfg: ck, rs: r, checker: chk, timing: t, up: !t.Alpha}
	e.checks[c.id] = c
	e.byKey[fp] = c
	if !c.up {
		r.failed++
		if reload && r.alive {
			e.rsState(r, false, ck.Kind, "alpha checker added")
		} else {
			r.alive = false
		}
	}
	e.log.Infof("Activating healthchecker for service %s for VS %s", rsStr, vsStr)
	e.sch.Add(c.id, t, now)
}

// Reload applies a new config: checkers whose config is unchanged keep
// their state and schedule; new ones start as at startup.
func (e *Engine) Reload(cfg *config.Config) error {
	e.mu.Lock()
	e.apply(cfg, time.Now(), true)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// Snapshot returns the current state of every real server.
func (e *Engine) Snapshot() []RealServerEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RealServerEvent, 0, len(e.order))
	for _, r := range e.order {
		out = append(out, e.event(r, "", "snapshot"))
	}
	return out
}

func (e *Engine) event(r *rsRun, kind config.CheckerKind, reason string) RealServerEvent {
	return RealServerEvent{VS: r.vs, RS: r.rs, VSKey: r.vsKey, RSKey: r.rsKey, Up: r.alive,
		Weight: max(r.rs.Weight+r.dyn, 0), Checker: kind, Reason: reason}
}

// Run runs the checks until ctx is canceled; in-flight probes are canceled
// and waited for.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	evDone := make(chan struct{})
	go e.deliver(ctx, evDone)

	e.mu.Lock()
	for _, r := range e.order {
		ev := e.event(r, "", "initial state")
		ev.Initial = true
		e.emit(ev)
	}
	e.mu.Unlock()

	results := make(chan probeResult, 1024)
	loop, err := newIOLoop()
	if err != nil {
		e.log.Warnf("checkers: no event loop (%v); every probe runs on a goroutine", err)
		loop = nil
	}
	limit := e.opts.MaxInFlight
	if limit <= 0 {
		limit = DefaultMaxInFlight
	}
	d := &dispatcher{e: e, ctx: ctx, loop: loop, results: results, wg: &wg, limit: limit}
	stopLoop := make(chan struct{})
	if loop != nil {
		// The schedule rides on the loop's timer, and the loop hands
		// finished attempts over itself: see ioLoop.
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop.run(stopLoop, e.opts.OnCheck, func(done []probeResult, _ bool) {
				e.mu.Lock()
				defer e.mu.Unlock()
				if d.stopped {
					return
				}
				d.finished(done...)
				d.dispatch()
			})
		}()
	} else {
		// A timerfd: see package timerfd for why not time.Timer.
		d.timer = timerfd.New()
		defer d.timer.Close()
	}
	var timerC <-chan struct{}
	if d.timer != nil {
		timerC = d.timer.C
	}
	e.mu.Lock()
	d.dispatch()
	e.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			d.stopped = true
			e.mu.Unlock()
			if loop != nil {
				close(stopLoop)
				loop.close()
			}
			wg.Wait()
			<-evDone
			return nil
		case r := <-results:
			e.mu.Lock()
			d.finished(r)
			// Drain what else is ready before scheduling again.
			for more := true; more; {
				select {
				case r := <-results:
					d.finished(r)
				default:
					more = false
				}
			}
			d.dispatch()
			e.mu.Unlock()
		case <-timerC:
			e.mu.Lock()
			d.dispatch()
			e.mu.Unlock()
		case <-e.wake:
			e.mu.Lock()
			d.dispatch()
			e.mu.Unlock()
		case <-e.nudge:
			e.mu.Lock()
			d.pull()
			e.mu.Unlock()
		}
	}
}

// pullBurst bounds the checks one Awake starts: enough for every checker
// of a small config, too few to bunch up thousands that warmup spread.
const pullBurst = 8

// Awake tells the engine that the process is awake anyway, now: checks
// due within their slack (Scheduler.Pull) start at once, while nothing
// else is in flight, rather than waking the process again a moment
// later. It is cheap when there is nothing to pull, and safe to call
// from any goroutine; the VRRP engine calls it after each advert it
// sends or takes.
func (e *Engine) Awake() {
	at := e.pullFrom.Load()
	if at == 0 || time.Duration(at) > time.Since(e.epoch) {
		return
	}
	select {
	case e.nudge <- struct{}{}:
	default:
	}
}

// dispatcher starts due attempts within the in-flight limit, on the
// event loop where they can run there, on a goroutine each otherwise.
// Its fields and methods are guarded by e.mu.
type dispatcher struct {
	e        *Engine
	ctx      context.Context
	loop     *ioLoop // nil: every attempt on a goroutine
	timer    *timerfd.Timer
	results  chan probeResult
	wg       *sync.WaitGroup
	limit    int
	inFlight int
	pending  []Attempt
	stopped  bool
}

// dispatch starts what is due and sets the wakeup for what is next.
func (d *dispatcher) dispatch() {
	d.start(time.Now(), false)
}

// pull starts what Awake found due within its slack, if still nothing
// is in flight.
func (d *dispatcher) pull() {
	d.start(time.Now(), d.inFlight == 0 && len(d.pending) == 0)
}

func (d *dispatcher) start(now time.Time, pull bool) {
	e := d.e
	d.pending = e.sch.Due(now, d.pending)
	if pull {
		d.pending = e.sch.Pull(now, pullBurst, d.pending)
	}
	n := 0
	for _, a := range d.pending {
		if d.inFlight >= d.limit {
			break
		}
		n++
		c := e.checks[a.ID]
		if c == nil {
			continue
		}
		d.inFlight++
		if d.loop != nil && loopable(c, a.Step) {
			d.loop.start(c, a)
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			e.probe(d.ctx, c, a, d.results)
		}()
	}
	d.pending = append(d.pending[:0], d.pending[n:]...)
	var from time.Duration
	if at, ok := e.sch.PullFrom(); ok && d.inFlight == 0 && len(d.pending) == 0 {
		from = max(at.Sub(e.epoch), 1)
	}
	e.pullFrom.Store(int64(from))
	next, ok := e.sch.NextDue()
	switch {
	case d.loop != nil && ok:
		d.loop.setDue(next)
	case d.loop != nil:
		d.loop.setDue(time.Time{})
	case ok:
		d.timer.Reset(max(next.Sub(now), 0))
	default:
		d.timer.Stop()
	}
}

func (d *dispatcher) finished(rs ...probeResult) {
	for _, r := range rs {
		d.inFlight--
		d.e.handle(r)
	}
}

func (e *Engine) probe(ctx context.Context, c *ckRun, a Attempt, out chan<- probeResult) {
	// The deadline runs from the real start: an attempt that waited for
	// a free slot must not inherit a shortened timeout.
	start := time.Now()
	pctx, cancel := context.WithDeadline(ctx, start.Add(c.timing.AttemptTimeout))
	var err error
	var delta int
	hasW := false
	switch ch := c.checker.(type) {
	case StepChecker:
		err = ch.CheckStep(pctx, a.Step)
	case WeightChecker:
		delta, err = ch.CheckWeight(pctx)
		hasW = err == nil
	default:
		err = ch.Check(pctx)
	}
	cancel()
	end := time.Now()
	if e.opts.OnCheck != nil {
		e.opts.OnCheck(CheckStat{Kind: c.kind, Result: resultClass(err), Duration: end.Sub(start), VS: c.rs.vsKey, RS: c.rs.rsKey})
	}
	select {
	case out <- probeResult{id: c.id, err: err, delta: delta, hasW: hasW, end: end}:
	case <-ctx.Done():
	}
}

// handle applies one probe result. Callers hold e.mu.
func (e *Engine) handle(p probeResult) {
	c := e.checks[p.id]
	if c == nil {
		return // removed by a reload while in flight
	}
	if errors.Is(p.err, ErrSocket) {
		e.log.Infof("%s socket setup for %s failed (%v). Rescheduling.", c.kind, c.rs.rsKey, p.err)
		e.sch.Skip(c.id, p.end)
		return
	}
	o, ok := e.sch.Done(c.id, p.err == nil, p.end)
	if !ok {
		return
	}
	e.logAttempt(c, o, p.err)
	c.ran = true
	if p.hasW && p.delta != c.cur && (o.Verdict != Down) {
		e.setDelta(c, p.delta, "dynamic weight")
	}
	if o.Verdict == Down && c.cur != 0 {
		e.setDelta(c, 0, "checker down")
	}
	if !o.Changed {
		return
	}
	reason := "check succeeded"
	if p.err != nil {
		reason = p.err.Error()
	}
	if o.Verdict == Up {
		e.checkerUp(c, reason)
	} else {
		e.checkerDown(c, reason)
	}
}

// checkerDown and checkerUp are keepalived's update_svr_checker_state: the
// real server goes down with its first failed checker and up with its last.
func (e *Engine) checkerDown(c *ckRun, reason string) {
	c.up = false
	if c.rs.failed == 0 {
		e.rsState(c.rs, false, c.kind, reason)
	}
	c.rs.failed++
}

func (e *Engine) checkerUp(c *ckRun, reason string) {
	c.up = true
	if c.rs.failed <= 1 {
		e.rsState(c.rs, true, c.kind, reason)
	}
	if c.rs.failed > 0 {
		c.rs.failed--
	}
}

func (e *Engine) rsState(r *rsRun, alive bool, kind config.CheckerKind, reason string) {
	if r.alive == alive {
		return
	}
	inhibit := r.rs.InhibitOnFailure || r.vs.InhibitOnFailure
	verb, prep := "Remov", "from"
	switch {
	case alive && inhibit:
		verb, prep = "Enabl", "of"
	case alive:
		verb, prep = "Add", "to"
	case inhibit:
		verb, prep = "Disabl", "of"
	}
	e.log.Infof("%sing service %s %s VS %s", verb, r.rsKey, prep, r.vsKey)
	r.alive = alive
	e.emit(e.event(r, kind, reason))
}

func (e *Engine) setDelta(c *ckRun, delta int, reason string) {
	r := c.rs
	old := max(r.rs.Weight+r.dyn, 0)
	r.dyn += delta - c.cur
	c.cur = delta
	nw := max(r.rs.Weight+r.dyn, 0)
	if nw == old {
		return
	}
	in := ""
	if !r.alive {
		in = "in"
	}
	e.log.Infof("Changing weight from %d to %d for %sactive service %s of VS %s", old, nw, in, r.rsKey, r.vsKey)
	e.emit(e.event(r, c.kind, reason))
}

// logLine logs one line a checker produced while it ran.
func (e *Engine) logLine(s string) { e.log.Info(s) }

// logAttempt writes keepalived's per-checker lines.
func (e *Engine) logAttempt(c *ckRun, o Outcome, err error) {
	rs, vs := c.rs.rsKey, c.rs.vsKey
	// HTTP_GET's timeout_epilog also logs the failure of a checker's
	// first attempt (alpha: it starts down).
	http := c.kind == config.HTTPGet || c.kind == config.SSLGet
	if err != nil && c.cfg.LogAllFailures && (c.up || http && !c.ran) {
		e.log.Infof("%s", failureText(c.kind, rs, err))
	}
	switch c.kind {
	case config.MiscCheck:
		e.logMisc(c, o, err)
		return
	case config.SMTPCheck:
		if err != nil && o.Verdict == Down {
			e.log.Infof("SMTP_CHECK %s", err.Error())
		}
	case config.DNSCheck:
		if err != nil && o.Verdict == Down {
			msg := err.Error()
			if o.Retries > 0 {
				msg += fmt.Sprintf(" after %d retries", o.Retries)
			}
			e.log.Infof("DNS_CHECK (%s) %s", rs, msg)
		}
	case config.HTTPGet, config.SSLGet:
		if o.StepOK {
			what := "HTTP status code"
			if h, ok := c.checker.(*HTTPCheck); ok && o.Step < len(h.Targets) {
				if h.Targets[o.Step].Digest != nil {
					what = "MD5 digest"
				}
				if h.Targets[o.Step].Regex != nil {
					what = "Regex match"
				}
				e.log.Infof("%s success to %s url(%s)", what, rs, h.Targets[o.Step].Path)
			}
		}
	}
	if o.Verdict == Same {
		return
	}
	success, failed := successFailText(c.kind)
	if o.Verdict == Up && success != "" {
		e.log.Infof(success, rs)
	}
	if o.Verdict == Down && failed != "" {
		switch {
		case o.Retries > 0 && c.kind == config.PingCheck:
			e.log.Infof("ICMP CHECK on service %s of %s failed after %d retries.", rs, vs, o.Retries)
		case o.Retries > 0:
			e.log.Infof("%s on service %s failed after %d retries.", failed, rs, o.Retries)
		default:
			e.log.Infof("%s on service %s failed.", failed, rs)
		}
	}
}

func successFailText(kind config.CheckerKind) (success, failed string) {
	switch kind {
	case config.TCPCheck:
		return "TCP connection to %s success.", "TCP_CHECK"
	case config.UDPCheck:
		return "UDP connection to %s success.", "UDP_CHECK"
	case config.PingCheck:
		return "ICMP connection to %s success.", "ICMP CHECK"
	case config.HTTPGet, config.SSLGet:
		return "Remote Web server %s succeed on service.", "HTTP_CHECK"
	case config.SMTPCheck:
		return "Remote SMTP server %s succeed on service.", ""
	}
	return "", ""
}

// failureText is the log_all_failures line of one failed attempt.
func failureText(kind config.CheckerKind, rs string, err error) string {
	var he *httpget.Error
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("%s server %s.", he.Msg, rs)
	case kind == config.TCPCheck && errors.Is(err, ErrTimeout):
		return fmt.Sprintf("TCP connection to %s timeout.", rs)
	case kind == config.TCPCheck:
		return fmt.Sprintf("TCP connection to %s failed.", rs)
	case kind == config.UDPCheck && errors.Is(err, ErrReply):
		return fmt.Sprintf("UDP check to %s reply data mismatch.", rs)
	case kind == config.UDPCheck:
		return fmt.Sprintf("UDP connection to %s failed.", rs)
	case kind == config.SMTPCheck:
		return "SMTP_CHECK " + err.Error()
	case kind == config.DNSCheck:
		return fmt.Sprintf("DNS_CHECK (%s) %s", rs, err.Error())
	}
	return fmt.Sprintf("%s on service %s: %v", kind, rs, err)
}

func (e *Engine) logMisc(c *ckRun, o Outcome, err error) {
	mc, _ := c.checker.(*MiscCheck)
	if mc == nil {
		return
	}
	if o.Verdict == Same && !(err != nil && c.cfg.LogAllFailures) {
		return
	}
	argv0 := mc.Argv[0]
	prefix := fmt.Sprintf("Misc check for [%s VS %s] by [%s] ", c.rs.rsKey, c.rs.vsKey, argv0)
	if err == nil {
		if o.Verdict == Up {
			e.log.Infof("%ssucceeded.", prefix)
		}
		return
	}
	retry := c.timing.Retry
	var msg string
	switch {
	case retry == 0:
		msg = " with retry disabled"
	case o.RetryIt == 1:
		msg = fmt.Sprintf(", will do %d %s", retry, plural(retry, "retry", "retries"))
	case o.RetryIt > 1:
		msg = fmt.Sprintf(" on retry %d/%d", o.RetryIt-1, retry)
	default:
		msg = fmt.Sprintf(" after %d %s", retry, plural(retry, "retry", "retries"))
	}
	var me *MiscError
	switch {
	case errors.As(err, &me) && me.TimedOut:
		e.log.Infof("%stimed out%s.", prefix, msg)
	case errors.As(err, &me) && me.Signal != 0:
		e.log.Infof("%sfailed%s (due to signal %d).", prefix, msg, me.Signal)
	case errors.As(err, &me) && me.Err == nil:
		e.log.Infof("%sfailed%s (exited with status %d).", prefix, msg, me.Status)
	default:
		e.log.Infof("%sfailed%s (%v).", prefix, msg, err)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// emit queues an event for the delivery goroutine; it never blocks.
func (e *Engine) emit(ev RealServerEvent) {
	if e.opts.OnEvent == nil {
		return
	}
	e.evMu.Lock()
	e.evQueue = append(e.evQueue, ev)
	e.evMu.Unlock()
	select {
	case e.evWake <- struct{}{}:
	default:
	}
}

func (e *Engine) deliver(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		e.evMu.Lock()
		q := e.evQueue
		e.evQueue = nil
		e.evMu.Unlock()
		for _, ev := range q {
			e.opts.OnEvent(ev)
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-e.evWake:
		}
	}
}
