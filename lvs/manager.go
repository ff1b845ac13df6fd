package lvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
)

// Errors of the engine.
var (
	// ErrNoIPVS: the ipvs backend was asked for (or auto chose it) and the
	// kernel has no IPVS.
	ErrNoIPVS = errors.New("kernel has no IPVS (is the ip_vs module loaded?)")
	// ErrBackendUnavailable: the configured backend is not built in.
	ErrBackendUnavailable = errors.New("lvs backend not available")
	// ErrUnknownServer: SetHealth was given a key no real server has.
	ErrUnknownServer = errors.New("unknown real server")
)

// VRRPState is what the engine needs to know of a VRRP instance's state.
type VRRPState int

// VRRP states, as the daemon reports them from the vrrp engine.
const (
	VRRPInit VRRPState = iota
	VRRPBackup
	VRRPMaster
	VRRPFault
	VRRPStop
)

func (s VRRPState) String() string {
	return [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOP"}[s]
}

// SuspendEvent tells the checker engine that the checkers of a virtual
// server with ha_suspend must pause (its address is not on this box) or
// resume.
type SuspendEvent struct {
	VirtualServer string
	Suspended     bool
}

// Optional Backend capabilities the Manager uses when present.
type (
	// TimeoutSetter sets lvs_timeouts (IPVS.SetTimeouts).
	TimeoutSetter interface {
		SetTimeouts(ctx context.Context, t Timeouts) (Timeouts, error)
	}
	// SyncController runs the connection-sync daemon (IPVS.SetSyncState).
	SyncController interface {
		SetSyncState(ctx context.Context, d SyncDaemon) error
		StopSync(ctx context.Context, syncID uint8) error
	}
	// CountingBackend reports how many requests it sent (IPVS.Counters).
	CountingBackend interface {
		Counters() Counters
	}
)

// Options of the Manager.
type Options struct {
	Log *logrus.Entry
	// Backend is "auto", "ipvs" or "nftables"; empty means the config's
	// lvs_backend (default auto). auto is ipvs when the kernel has it.
	Backend string
	// Open, when set, replaces opening the kernel backend (tests pass a
	// MemBackend). It gets the resolved backend name.
	Open func(kind string) (Backend, error)
	// KeepIPVS leaves our services in place on stop (-I,
	// --dont-release-ipvs).
	KeepIPVS bool
	// OnQuorum receives quorum changes for quorum_up / quorum_down, the
	// notify FIFO and mail. It is called from the engine's own goroutine,
	// in order; a slow callback delays later events, never the engine.
	OnQuorum func(QuorumEvent)
	// OnSuspend receives ha_suspend changes for the checker engine, like
	// OnQuorum.
	OnSuspend func(SuspendEvent)
	// OpTimeout bounds each kernel transaction; default 30s.
	OpTimeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts after a
	// failed kernel write (defaults DefaultRetryMin, DefaultRetryMax);
	// LogEvery is the most a persisting failure is logged (DefaultLogEvery).
	RetryMin, RetryMax, LogEvery time.Duration
}

type health struct {
	up     bool
	weight int // -1: the configured weight
}

type vsRun struct {
	spec      *VirtualServer
	quorum    bool
	suspended bool
}

// Manager is the LVS engine: it keeps the kernel's table equal to what the
// configuration and the real servers' health call for. Every method is
// safe for concurrent use; kernel writes happen synchronously inside the
// call that caused them (as keepalived's checker process does), so a
// SetHealth that returns nil has been applied.
type Manager struct {
	log  *logrus.Entry
	opts Options
	kind string

	mu     sync.Mutex
	model  *Model
	vss    []*vsRun
	byName map[string]*vsRun
	health map[RSKey]health
	vips   map[string][]netip.Addr // VRRP instance -> its VIPs
	static map[netip.Addr]bool
	vrrp   map[string]VRRPState

	b      Backend // nil until Run opened it
	r      *Reconciler
	known  Table // what the backend holds for our services, as last applied
	stale  bool  // known may be wrong: list before the next change
	retry  *retry
	syncOn *SyncDaemon

	events eventQueue
	ready  chan struct{}
}

// NewManager validates cfg into a Model and prepares the engine; nothing
// touches the kernel before Run.
func NewManager(cfg *config.Config, opts Options) (*Manager, error) {
	if opts.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		opts.Log = logrus.NewEntry(l)
	}
	if opts.OpTimeout == 0 {
		opts.OpTimeout = 30 * time.Second
	}
	model, err := FromConfig(cfg)
	if err != nil {
		return nil, err
	}
	m := &Manager{log: opts.Log, opts: opts, health: map[RSKey]health{}, vrrp: map[string]VRRPState{}}
	m.retry = newRetry(opts, opts.Log)
	m.events.wake = make(chan struct{}, 1)
	m.ready = make(chan struct{})
	m.kind = opts.Backend
	if m.kind == "" {
		m.kind = cfg.Global.LVSBackend
	}
	if m.kind == "" {
		m.kind = "auto"
	}
	m.install(cfg, model)
	return m, nil
}

// install makes model current, carrying health and quorum state over from
// the previous model for every virtual server and real server that is
// still there. Called with mu held (or before the Manager is shared).
func (m *Manager) install(cfg *config.Config, model *Model) {
	old := m.byName
	m.model = model
	m.vss = m.vss[:0]
	m.byName = map[string]*vsRun{}
	hm := map[RSKey]health{}
	for _, spec := range model.VirtualServers {
		for i, k := range spec.Keys {
			if h, ok := m.health[k]; ok {
				hm[k] = h
			} else {
				hm[k] = health{up: spec.Pool.Servers[i].Alive, weight: -1}
			}
		}
	}
	m.health = hm
	for _, spec := range model.VirtualServers {
		v := &vsRun{spec: spec}
		p := m.pool(v)
		if prev, ok := old[spec.Name]; ok {
			v.suspended = prev.suspended
			_, q, ev := p.Step(prev.quorum)
			v.quorum = q
			if ev != nil {
				m.quorumEvent(v, *ev, false)
			}
		} else {
			v.quorum = p.InitialQuorum()
			v.suspended = spec.HASuspend
			th := p.Quorum + p.Hysteresis
			m.quorumEvent(v, QuorumEvent{Up: v.quorum, LiveWeight: p.LiveWeight(), Threshold: th}, true)
		}
		m.vss = append(m.vss, v)
		m.byName[spec.Name] = v
	}
	m.vips = map[string][]netip.Addr{}
	for _, in := range cfg.Instances {
		for _, a := range in.VIPs {
			m.vips[in.Name] = append(m.vips[in.Name], a.Prefix.Addr().Unmap())
		}
	}
	m.static = map[netip.Addr]bool{}
	for _, a := range cfg.StaticAddresses {
		m.static[a.Prefix.Addr().Unmap()] = true
	}
	m.updateSuspend()
}

// pool returns the virtual server's pool with current health applied.
func (m *Manager) pool(v *vsRun) Pool {
	p := v.spec.Pool
	p.Servers = slices.Clone(p.Servers)
	for i := range p.Servers {
		h := m.health[v.spec.Keys[i]]
		p.Servers[i].Alive = h.up
		if h.weight >= 0 {
			p.Servers[i].Dest.Weight = h.weight
		}
	}
	return p
}

func (m *Manager) desiredVS(v *vsRun, t Table) {
	vs := m.pool(v).Desired(v.quorum)
	v.spec.Expand(vs.Dests, t)
}

func (m *Manager) desiredAll() Table {
	t := Table{}
	for _, v := range m.vss {
		m.desiredVS(v, t)
	}
	return t
}

// Desired returns the table the engine wants the kernel to hold now.
func (m *Manager) Desired() Table {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.desiredAll()
}

// Ready is closed once Run has programmed the table.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Counters returns the backend's request counters (zero before Run or for
// a backend that does not count).
func (m *Manager) Counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.b.(CountingBackend); ok {
		return c.Counters()
	}
	return Counters{}
}

func (m *Manager) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.opts.OpTimeout)
}

func (m *Manager) open() (Backend, error) {
	if m.opts.Open != nil {
		return m.opts.Open(m.kind)
	}
	switch m.kind {
	case "auto", "ipvs":
		b, err := OpenIPVS()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoIPVS, err)
		}
		return b, nil
	case "nftables":
		return nil, fmt.Errorf("%w: nftables backend not implemented yet (use lvs_backend ipvs)", ErrBackendUnavailable)
	}
	return nil, fmt.Errorf("%w: unknown lvs backend %q", ErrBackendUnavailable, m.kind)
}

// Run opens the backend, flushes the table when lvs_flush says so, sets
// lvs_timeouts, programs the table and then serves until ctx is done. On
// the way out it stops the sync daemon and removes our services, unless
// KeepIPVS (or flushes everything with lvs_flush_onstop).
func (m *Manager) Run(ctx context.Context) error {
	if err := m.start(); err != nil {
		return err
	}
	close(m.ready)
	evCtx, stopEvents := context.WithCancel(context.Background())
	evDone := make(chan struct{})
	go func() {
		m.events.run(evCtx)
		close(evDone)
	}()
	<-ctx.Done()
	err := m.stop()
	stopEvents()
	<-evDone
	return err
}

func (m *Manager) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b != nil {
		return errors.New("lvs: Run called twice")
	}
	b, err := m.open()
	if err != nil {
		return err
	}
	m.b, m.r = b, NewReconciler(b)
	ctx, cancel := m.ctx()
	defer cancel()
	if m.model.Flush {
		if err := m.r.Flush(ctx); err != nil {
			m.closeBackend()
			return err
		}
	}
	if err := m.setTimeouts(ctx, Timeouts{}); err != nil {
		m.log.Warnf("%v", err)
	}
	// Carry on like keepalived; what fails is logged and retried (retry.go).
	m.reconcileAll(ctx)
	m.syncFollow(ctx)
	return nil
}

func (m *Manager) stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx, cancel := m.ctx()
	defer cancel()
	var errs []error
	if sc, ok := m.b.(SyncController); ok && m.syncOn != nil {
		if err := sc.StopSync(ctx, m.syncOn.SyncID); err != nil {
			errs = append(errs, err)
		}
		m.syncOn = nil
	}
	for _, v := range m.vss {
		if v.spec.Pool.Omega && v.quorum {
			p := m.pool(v)
			m.quorumEvent(v, QuorumEvent{Up: false, LiveWeight: p.LiveWeight(), Threshold: p.Quorum - p.Hysteresis}, false)
		}
	}
	switch {
	case m.model.FlushOnStop == "all":
		errs = append(errs, m.r.Flush(ctx))
	case m.opts.KeepIPVS:
		m.log.Info("Leaving IPVS table in place (--dont-release-ipvs)")
	default:
		_, err := m.r.Release(ctx)
		errs = append(errs, err)
	}
	m.retry.stop()
	m.closeBackend()
	return errors.Join(errs...)
}

func (m *Manager) closeBackend() {
	if c, ok := m.b.(io.Closer); ok {
		c.Close()
	}
	m.b, m.r, m.known = nil, nil, nil
}

// reconcileAll lists the backend and converges every service of ours.
func (m *Manager) reconcileAll(ctx context.Context) error {
	desired := m.desiredAll()
	ops, err := m.r.Reconcile(ctx, desired)
	m.logOps(ops)
	if err != nil {
		m.kernelFailed(err)
		return err
	}
	m.known, m.stale = desired, false
	m.retry.succeeded(kernelWrite)
	return nil
}

const kernelWrite = "lvs: programming the kernel's table"

// kernelFailed marks the kernel's table as not what was last asked for
// and schedules the next attempt.
func (m *Manager) kernelFailed(err error) {
	m.stale = true
	m.retry.schedule(m.retry.failed(kernelWrite, err), m.retryNow)
}

// retryNow is the retry timer: it converges the whole table again.
func (m *Manager) retryNow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.b == nil || !m.stale || !m.retry.due() {
		return
	}
	ctx, cancel := m.ctx()
	defer cancel()
	m.reconcileAll(ctx)
}

// reconcileVS converges the services of one virtual server against what
// was last applied, without listing the kernel.
func (m *Manager) reconcileVS(ctx context.Context, v *vsRun) error {
	if m.b == nil {
		return nil // applied by Run
	}
	if m.stale {
		if !m.retry.due() {
			return nil // recorded; the next attempt applies it
		}
		return m.reconcileAll(ctx)
	}
	desired := Table{}
	m.desiredVS(v, desired)
	ops, err := m.r.ReconcileKnown(ctx, desired, m.known)
	m.logOps(ops)
	if err != nil {
		m.kernelFailed(err)
		return err
	}
	maps.Copy(m.known, desired)
	return nil
}

func (m *Manager) logOps(ops []Op) {
	for _, o := range ops {
		m.log.Debugf("ipvs: %s", o)
	}
}

// SetHealth records the verdict of a real server's checkers: up or down,
// and its effective weight (negative: the configured weight). It applies
// the consequences at once: the destination enters or leaves the table
// (or goes to weight 0 with inhibit_on_failure), quorum and the sorry
// server follow. While a virtual server's checkers are suspended
// (ha_suspend) its health is frozen and the call is ignored. A kernel
// write that fails is not an error of the call: the engine logs it (at
// a bounded rate) and applies the change on its next attempt, with
// backoff; KernelStatus says what the kernel holds meanwhile.
func (m *Manager) SetHealth(key RSKey, up bool, weight int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.byName[key.VS]
	idx := -1
	if v != nil {
		idx = slices.Index(v.spec.Keys, key)
	}
	if idx < 0 {
		return fmt.Errorf("%w: %s", ErrUnknownServer, key)
	}
	if v.suspended {
		return nil
	}
	rs := v.spec.Pool.Servers[idx]
	if weight == rs.Dest.Weight {
		weight = -1
	}
	h := health{up: up, weight: max(weight, -1)}
	old := m.health[key]
	if old == h {
		return nil
	}
	m.health[key] = h
	// The checker engine logs keepalived's "Removing service ... from VS"
	// line for this change; logging it here too printed it twice.
	p := m.pool(v)
	_, q, ev := p.Step(v.quorum)
	v.quorum = q
	if ev != nil {
		m.quorumEvent(v, *ev, false)
	}
	ctx, cancel := m.ctx()
	defer cancel()
	m.reconcileVS(ctx, v)
	return nil
}

func (m *Manager) rsName(v *vsRun, i int) string {
	d := v.spec.Pool.Servers[i].Dest
	proto := ""
	if s := v.spec.Services[0]; !s.IsFWMark() {
		proto = s.Protocol.String()
	}
	return config.Trio(d.Addr.String(), proto, int(d.Port))
}

func (m *Manager) quorumEvent(v *vsRun, ev QuorumEvent, init bool) {
	ev.VirtualServer, ev.Init = v.spec.Name, init
	p := v.spec.Pool
	switch {
	case ev.Up:
		ev.Script = v.spec.QuorumUp
		m.log.Infof("Gained quorum %d+%d=%d <= %d for VS %s", p.Quorum, p.Hysteresis, ev.Threshold, ev.LiveWeight, v.spec.Name)
	default:
		ev.Script = v.spec.QuorumDown
		what := "Lost quorum"
		if init {
			what = "Starting with quorum down"
		}
		m.log.Infof("%s %d-%d=%d > %d for VS %s", what, p.Quorum, p.Hysteresis, ev.Threshold, ev.LiveWeight, v.spec.Name)
	}
	if f := m.opts.OnQuorum; f != nil {
		m.events.push(func() { f(ev) })
	}
}

// SetVRRPState tells the engine a VRRP instance's new state. The sync
// daemon follows the instance named in lvs_sync_daemon as keepalived
// does: master daemon while MASTER, backup daemon otherwise, stopped on
// STOP. Virtual servers with ha_suspend resume their checkers while an
// instance holding their address is MASTER.
func (m *Manager) SetVRRPState(instance string, state VRRPState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vrrp[instance] = state
	m.updateSuspend()
	if m.b == nil || m.model.Sync == nil || m.model.SyncInstance != instance {
		return nil
	}
	ctx, cancel := m.ctx()
	defer cancel()
	return m.syncFollow(ctx)
}

// syncFollow puts the sync daemon in the role the followed instance's
// state calls for.
func (m *Manager) syncFollow(ctx context.Context) error {
	sc, ok := m.b.(SyncController)
	if !ok || m.model.Sync == nil {
		return nil
	}
	st, known := m.vrrp[m.model.SyncInstance]
	if !known || st == VRRPInit {
		return nil
	}
	if st == VRRPStop {
		if m.syncOn == nil {
			return nil
		}
		err := sc.StopSync(ctx, m.syncOn.SyncID)
		m.syncOn = nil
		return err
	}
	d := *m.model.Sync
	d.State = SyncBackup
	if st == VRRPMaster {
		d.State = SyncMaster
	}
	if m.syncOn != nil && *m.syncOn == d {
		return nil
	}
	if m.syncOn != nil && (m.syncOn.SyncID != d.SyncID || m.syncOn.Interface != d.Interface) {
		if err := sc.StopSync(ctx, m.syncOn.SyncID); err != nil {
			m.log.Warnf("%v", err)
		}
	}
	if err := sc.SetSyncState(ctx, d); err != nil {
		return err
	}
	m.log.Infof("Starting IPVS sync %s", d)
	m.syncOn = &d
	return nil
}

// updateSuspend recomputes which ha_suspend virtual servers have their
// address on this box (static, or a VIP of a MASTER instance).
func (m *Manager) updateSuspend() {
	local := maps.Clone(m.static)
	for in, st := range m.vrrp {
		if st == VRRPMaster {
			for _, a := range m.vips[in] {
				local[a] = true
			}
		}
	}
	for _, v := range m.vss {
		if !v.spec.HASuspend {
			v.suspended = false
			continue
		}
		s := !slices.ContainsFunc(v.spec.Addrs, func(a netip.Addr) bool { return local[a] })
		if s == v.suspended {
			continue
		}
		v.suspended = s
		verb := "Activating"
		if s {
			verb = "Suspending"
		}
		m.log.Infof("%s healthcheckers for VS %s", verb, v.spec.Name)
		if f := m.opts.OnSuspend; f != nil {
			ev := SuspendEvent{VirtualServer: v.spec.Name, Suspended: s}
			m.events.push(func() { f(ev) })
		}
	}
}

// Suspended reports whether the checkers of the named virtual server are
// paused by ha_suspend.
func (m *Manager) Suspended(vs string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.byName[vs]
	return v != nil && v.suspended
}

func (m *Manager) setTimeouts(ctx context.Context, prev Timeouts) error {
	ts, ok := m.b.(TimeoutSetter)
	t := m.model.Timeouts
	if !ok || t == (Timeouts{}) || t == prev {
		return nil
	}
	_, err := ts.SetTimeouts(ctx, t)
	return err
}

// Reload applies a new configuration: only the difference reaches the
// kernel (one request per changed object), and real servers and virtual
// servers that are still configured keep their health and quorum state.
// On error the running configuration stays in force.
func (m *Manager) Reload(cfg *config.Config) error {
	model, err := FromConfig(cfg)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.model
	kind := cfg.Global.LVSBackend
	if m.opts.Backend == "" && kind != "" && kind != m.kind {
		m.log.Warnf("lvs_backend changed from %s to %s: takes effect on restart", m.kind, kind)
	}
	m.install(cfg, model)
	if m.b == nil {
		return nil
	}
	ctx, cancel := m.ctx()
	defer cancel()
	var errs []error
	if err := m.setTimeouts(ctx, prev.Timeouts); err != nil {
		errs = append(errs, err)
	}
	if model.Sync == nil && m.syncOn != nil {
		if sc, ok := m.b.(SyncController); ok {
			errs = append(errs, sc.StopSync(ctx, m.syncOn.SyncID))
		}
		m.syncOn = nil
	}
	errs = append(errs, m.syncFollow(ctx), m.reconcileAll(ctx))
	return errors.Join(errs...)
}

// eventQueue delivers callbacks in order on one goroutine without ever
// blocking the engine.
type eventQueue struct {
	mu   sync.Mutex
	q    []func()
	wake chan struct{}
}

func (e *eventQueue) push(f func()) {
	e.mu.Lock()
	e.q = append(e.q, f)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *eventQueue) drain() {
	for {
		e.mu.Lock()
		q := e.q
		e.q = nil
		e.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// run delivers until ctx is done, then delivers what is left.
func (e *eventQueue) run(ctx context.Context) {
	for {
		e.drain()
		select {
		case <-e.wake:
		case <-ctx.Done():
			e.drain()
			return
		}
	}
}
