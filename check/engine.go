package check

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/evloop"
	"keepalived-go/internal/outbox"
	"keepalived-go/internal/script"
)

// RealServerEvent reports a real server's health state, once per change of
// its aliveness or effective weight (and once per real server at start,
// with Initial set).
type RealServerEvent struct {
	VS *config.VirtualServer
	RS *config.RealServer
	// VSKey and RSKey are keepalived's names for them
	// (config.VirtualServer.Name and RealServerName,
	// "[198.51.100.10]:tcp:80"), stable across reloads: the LVS engine
	// and notify key their servers by them.
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
	// LogDetail logs keepalived's --log-detail (-D) lines too.
	LogDetail bool
	// OnEvent receives every RealServerEvent, in order, from a goroutine
	// of its own: a slow callback delays later events, never the checks.
	OnEvent func(RealServerEvent)
	// OnCheck is called after every attempt, from the engine's owner or
	// the probe's goroutine; it must be cheap (a Prometheus observation).
	OnCheck func(CheckStat)
	// TLS is the SSL_GET client config (certificates from global_defs).
	TLS *tls.Config
	// Runner runs MISC_CHECK scripts (nil: script.ExecRunner).
	Runner script.Runner
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

// Engine runs every checker of a config. One goroutine owns it (Run, on
// an evloop.Loop): it starts due attempts, steps the plain HTTP_GET and
// TCP_CHECK sockets itself, takes the results of the probes that run on
// goroutines of their own from its inbox, and answers Reload, Status and
// Suspend there, so nothing guards its state but ownership.
type Engine struct {
	opts Options
	log  *logrus.Entry

	// own runs the methods as the state's owner: the loop's goroutine
	// while Run serves, otherwise their caller.
	own     evloop.Owner
	running atomic.Bool

	// The owner's state.
	loop      *evloop.Loop // while Run serves
	sch       *Scheduler
	nextID    ID
	checks    map[ID]*ckRun
	byKey     map[string]*ckRun
	servers   map[string]*rsRun
	order     []*rsRun
	suspended map[string]bool // virtual servers whose checkers ha_suspend paused
	io        *ioLoop
	ctx       context.Context // probes' context while Run serves
	wg        sync.WaitGroup  // probes on goroutines
	limit     int
	inFlight  int
	pending   []Attempt
	results   []probeResult
	stats     []CheckStat

	// Awake's view of the schedule, read by other goroutines: pullFrom
	// is when Pull would next start something, as time since epoch; 0
	// while nothing may be pulled (a check is in flight, or none is
	// scheduled). nudged: an Awake is posted and not yet served.
	epoch    time.Time
	pullFrom atomic.Int64
	nudged   atomic.Bool
	awake    atomic.Pointer[evloop.Loop]

	events *outbox.Outbox[RealServerEvent]
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
	// counters for Status
	attempts, failures uint64
	last               time.Time
	lastErr            error
}

type probeResult struct {
	id    ID
	err   error
	delta int
	hasW  bool
	end   time.Time
}

// New builds the checkers of cfg. Checkers that cannot be built (a
// MISC_CHECK script that may not run) are logged and left out.
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
		sch:       NewScheduler(opts.Rand, boot),
		checks:    map[ID]*ckRun{},
		byKey:     map[string]*ckRun{},
		servers:   map[string]*rsRun{},
		suspended: map[string]bool{},
		epoch:     time.Now(),
		limit:     opts.MaxInFlight,
		events:    outbox.New(opts.OnEvent),
	}
	if e.limit <= 0 {
		e.limit = DefaultMaxInFlight
	}
	e.apply(cfg, time.Now(), false)
	return e, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

var posRE = regexp.MustCompile(`"Pos":\{"File":"(?:[^"\\]|\\.)*","Line":-?\d+,"Col":-?\d+\},?`)

// fingerprint identifies a checker's config, positions aside: a reload
// keeps the state of checkers whose fingerprint is unchanged.
func fingerprint(rsKey string, ck *config.Checker) string {
	b, _ := json.Marshal(ck)
	return rsKey + "|" + string(posRE.ReplaceAll(b, nil))
}

// apply builds (or, on reload, diffs) the checker set. The owner calls it.
func (e *Engine) apply(cfg *config.Config, now time.Time, reload bool) {
	seen := map[string]bool{}
	keep := map[string]bool{}
	var order []*rsRun
	e.suspended = e.initialSuspended(cfg)
	for _, vs := range cfg.VirtualServers {
		vsKey := vs.Name()
		for _, rs := range vs.RealServers {
			rsKey := vs.RealServerName(rs)
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
	// register_checkers_thread: BFD events are always taken (bfd.go).
	e.log.Info("Activating BFD healthchecker")
}

func (e *Engine) addChecker(fp string, ck *config.Checker, r *rsRun, cfg *config.Config, now time.Time, reload bool) {
	vsStr, rsStr := r.vsKey, r.rsKey
	chk, err := NewChecker(ck, Env{VS: r.vs, RS: r.rs, Config: cfg, TLS: e.opts.TLS, Runner: e.opts.Runner, Log: e.logLine})
	var disabled *ScriptDisabledError
	if errors.As(err, &disabled) {
		if l := disabled.logLine(); l != "" {
			e.log.Info(l)
		}
		return
	}
	if err != nil {
		e.log.Errorf("%s for service %s for VS %s: %v - ignoring", ck.Kind, rsStr, vsStr, err)
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
	if kinds[ck.Kind].passive {
		return // no launch: events drive it (SetBFD)
	}
	e.log.Infof("%sctivating healthchecker for service %s for VS %s", map[bool]string{false: "A", true: "Dea"}[e.suspended[r.vsKey]], rsStr, vsStr)
	e.sch.Add(c.id, t, now)
}

// initialSuspended is ha_suspend at start and on reload: a new virtual
// server's checkers start paused, as keepalived's register_checkers_thread
// has them until one of its addresses is on the node; the LVS engine,
// which follows the addresses, resumes them (Suspend). One that stays
// keeps its state; one without ha_suspend runs.
func (e *Engine) initialSuspended(cfg *config.Config) map[string]bool {
	known := map[string]bool{}
	for _, r := range e.servers {
		known[r.vsKey] = true
	}
	out := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		if name := vs.Name(); vs.HASuspend && (!known[name] || e.suspended[name]) {
			out[name] = true
		}
	}
	return out
}

// Reload applies a new config: checkers whose config is unchanged keep
// their state and schedule; new ones start as at startup.
func (e *Engine) Reload(cfg *config.Config) error {
	e.own.Do(func() { e.apply(cfg, time.Now(), true) })
	return nil
}

// Validate is the first phase of the daemon's all-or-nothing reload. The
// checker engine refuses no config: as keepalived does, a checker that
// cannot be built is logged and left out when the config is applied.
func (e *Engine) Validate(*config.Config) error { return nil }

// Suspend pauses (true) or resumes the checkers of a virtual server, by
// its name (config.VirtualServer.Name), as ha_suspend does while none of
// the virtual server's addresses is on this node: due attempts are
// skipped, and what an attempt in flight finds counts for nothing, so
// the real servers keep the health they had.
func (e *Engine) Suspend(vs string, suspended bool) {
	e.own.Do(func() {
		if e.suspended[vs] == suspended {
			return
		}
		if suspended {
			e.suspended[vs] = true
		} else {
			delete(e.suspended, vs)
		}
		byRS := e.checksByRS()
		for _, r := range e.order {
			if r.vsKey != vs {
				continue
			}
			for range byRS[r] {
				e.log.Infof("%sing healthchecker for service %s for VS %s",
					map[bool]string{false: "Activat", true: "Suspend"}[suspended], r.rsKey, vs)
			}
		}
	})
}

// checksByRS are the checkers of every real server, in the order they
// were made.
func (e *Engine) checksByRS() map[*rsRun][]*ckRun {
	out := map[*rsRun][]*ckRun{}
	for _, c := range e.checks {
		out[c.rs] = append(out[c.rs], c)
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].id < l[j].id })
	}
	return out
}

func (e *Engine) event(r *rsRun, kind config.CheckerKind, reason string) RealServerEvent {
	return RealServerEvent{VS: r.vs, RS: r.rs, VSKey: r.vsKey, RSKey: r.rsKey, Up: r.alive,
		Weight: max(r.rs.Weight+r.dyn, 0), Checker: kind, Reason: reason}
}

// Run runs the checks until ctx is canceled; in-flight probes are canceled
// and waited for. The calling goroutine is the engine's owner meanwhile.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("check: Run called twice")
	}
	loop, err := evloop.New()
	if err != nil {
		return err
	}
	e.own.Do(func() { e.loop = loop })
	e.own.Serve(loop)
	probeCtx, cancel := context.WithCancel(ctx)
	e.ctx, e.io = probeCtx, newIOLoop(loop)
	e.events.Start()
	for _, r := range e.order {
		ev := e.event(r, "", "initial state")
		ev.Initial = true
		e.events.Push(ev)
	}
	e.awake.Store(loop)
	e.afterWake()
	go func() {
		<-probeCtx.Done()
		loop.Stop()
	}()
	err = loop.Run(e.onTimer, e.afterWake)

	e.awake.Store(nil)
	e.own.Done()
	cancel()
	e.io.close()
	e.wg.Wait()
	e.events.Close()
	loop.Close()
	return err
}

// onTimer is the loop's expiry: probes whose phase ran out end; what is
// due starts in afterWake.
func (e *Engine) onTimer() { e.io.expire(e.io.now()) }

// afterWake ends each of the loop's wakeups: the attempts that finished
// are applied, what is due starts, and the timer is pointed at the next
// deadline (at once when a probe finished while starting).
func (e *Engine) afterWake() {
	e.results, e.stats = e.io.take(e.results, e.stats)
	if f := e.opts.OnCheck; f != nil {
		for _, s := range e.stats {
			f(s)
		}
	}
	e.finished(e.results...)
	clear(e.results)
	e.start(time.Now(), false)
	e.arm()
}

// arm points the loop's timer at the earliest of the next due attempt
// and the next probe deadline.
func (e *Engine) arm() {
	at := time.Duration(0)
	if next, ok := e.sch.NextDue(); ok {
		at = max(next.Sub(e.loop.Epoch()), 1)
	}
	if d, ok := e.io.nextDeadline(); ok && (at == 0 || d < at) {
		at = max(d, 1)
	}
	if len(e.io.results) > 0 {
		at = 1 // results of attempts that ended as they started
	}
	// Exactly, not only earlier: a probe's deadline usually goes away
	// with the probe, and a stale one would wake the node for nothing.
	e.loop.Set(at)
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
	l := e.awake.Load()
	if l == nil || !e.nudged.CompareAndSwap(false, true) {
		return
	}
	if l.Post(e.pull) != nil {
		e.nudged.Store(false)
	}
}

// pull starts what Awake found due within its slack, if still nothing
// is in flight.
func (e *Engine) pull() {
	e.nudged.Store(false)
	e.start(time.Now(), e.inFlight == 0 && len(e.pending) == 0)
}

// start begins the due attempts (and, with pull, those due within their
// slack) within the in-flight limit: on the event loop where they can
// run there, on a goroutine each otherwise.
func (e *Engine) start(now time.Time, pull bool) {
	e.pending = e.sch.Due(now, e.pending)
	if pull {
		e.pending = e.sch.Pull(now, pullBurst, e.pending)
	}
	n := 0
	for _, a := range e.pending {
		if e.inFlight >= e.limit {
			break
		}
		n++
		c := e.checks[a.ID]
		if c == nil {
			continue
		}
		if e.suspended[c.rs.vsKey] {
			e.sch.Skip(c.id, now)
			continue
		}
		e.inFlight++
		if loopable(c, a.Step) {
			e.io.start(c, a)
			continue
		}
		e.wg.Add(1)
		go e.probe(e.ctx, c, a, e.loop)
	}
	e.pending = append(e.pending[:0], e.pending[n:]...)
	var from time.Duration
	if at, ok := e.sch.PullFrom(); ok && e.inFlight == 0 && len(e.pending) == 0 {
		from = max(at.Sub(e.epoch), 1)
	}
	e.pullFrom.Store(int64(from))
}

func (e *Engine) finished(rs ...probeResult) {
	for _, r := range rs {
		e.inFlight--
		e.handle(r)
	}
}

// probe runs one attempt on a goroutine of its own and posts its result
// to the owner.
func (e *Engine) probe(ctx context.Context, c *ckRun, a Attempt, loop *evloop.Loop) {
	defer e.wg.Done()
	// The deadline runs from the real start: an attempt that waited for
	// a free slot must not inherit a shortened timeout.
	start := time.Now()
	pctx, cancel := attemptContext(ctx, c.timing, start)
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
	r := probeResult{id: c.id, err: err, delta: delta, hasW: hasW, end: end}
	_ = loop.Post(func() { e.finished(r) })
}

// attemptContext is the context of an attempt started at start: bounded
// by Timing.AttemptTimeout when the kind has a bound on the whole attempt.
func attemptContext(ctx context.Context, t Timing, start time.Time) (context.Context, context.CancelFunc) {
	if t.AttemptTimeout > 0 {
		return context.WithDeadline(ctx, start.Add(t.AttemptTimeout))
	}
	return context.WithCancel(ctx)
}

// handle applies one probe result.
func (e *Engine) handle(p probeResult) {
	c := e.checks[p.id]
	if c == nil {
		return // removed by a reload while in flight
	}
	if e.suspended[c.rs.vsKey] {
		// ha_suspend: the result of an attempt started before the pause
		// counts for nothing; the health stays frozen.
		e.sch.Skip(c.id, p.end)
		return
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
	c.attempts++
	if p.err != nil {
		c.failures++
	}
	c.last, c.lastErr = p.end, p.err
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
	e.events.Push(e.event(r, kind, reason))
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
	e.events.Push(e.event(r, c.kind, reason))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// logLine logs one line a checker produced while it ran.
func (e *Engine) logLine(s string) { e.log.Info(s) }
