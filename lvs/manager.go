package lvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/evloop"
	"keepalived-go/internal/outbox"
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
	// ActiveSetter gates forwarding to a VIP on VRRP: the nftables data
	// plane forwards DR traffic for vip only while this node holds it
	// (nft.Backend.SetActive). The Manager turns a VIP on while an
	// instance carrying it is MASTER, off otherwise.
	ActiveSetter interface {
		SetActive(vip netip.Addr, active bool) error
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
	// notify FIFO and mail. It is called from a goroutine of its own, in
	// order; a slow callback delays later events, never the engine.
	OnQuorum func(QuorumEvent)
	// OnSuspend receives ha_suspend changes, for the checker engine to
	// pause or resume the checkers of a virtual server, like OnQuorum.
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
// configuration and the real servers' health call for. One goroutine owns
// it (Run's, on an evloop.Loop); every method is safe for concurrent use
// and is run by that owner, which makes the kernel writes a call causes
// before it returns (as keepalived's checker process does). A write the
// kernel refuses is not the caller's error: the owner records it and
// retries with backoff on its loop's timer (retry.go), and Status().Kernel
// says what the kernel does not hold meanwhile.
type Manager struct {
	log  *logrus.Entry
	opts Options
	kind string
	own  evloop.Owner

	// The owner's state.
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
	loop   *evloop.Loop // Run's, while it runs: the retry timer is its
	syncOn *SyncDaemon

	events *outbox.Outbox[func()]
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
	m := &Manager{log: opts.Log, opts: opts, health: map[RSKey]health{}, vrrp: map[string]VRRPState{},
		retry: newRetry(opts, opts.Log), events: outbox.New(func(f func()) { f() }), ready: make(chan struct{})}
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
// still there.
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
	var t Table
	m.own.Do(func() { t = m.desiredAll() })
	return t
}

// Ready is closed once Run has programmed the table.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Counters returns the backend's request counters (zero before Run or for
// a backend that does not count).
func (m *Manager) Counters() Counters {
	var c Counters
	m.own.Do(func() { c = m.counters() })
	return c
}

func (m *Manager) counters() Counters {
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
	// The loop exists before start: a first write that fails arms the
	// retry on it.
	loop, err := evloop.New()
	if err != nil {
		return err
	}
	m.own.Do(func() { err = m.start(loop) })
	if err != nil {
		loop.Close()
		return err
	}
	close(m.ready)
	m.own.Serve(loop)
	m.events.Start()
	var stopErr error
	go func() {
		<-ctx.Done()
		_ = loop.Post(func() { stopErr = m.stop() })
		loop.Stop()
	}()
	err = loop.Run(m.retryNow, nil)
	m.own.Done()
	m.own.Do(func() { m.loop = nil })
	loop.Close()
	m.events.Close()
	return errors.Join(err, stopErr)
}

func (m *Manager) start(loop *evloop.Loop) error {
	if m.b != nil {
		return errors.New("lvs: Run called twice")
	}
	b, err := m.open()
	if err != nil {
		return err
	}
	m.b, m.r, m.loop = b, NewReconciler(b), loop
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
	for in := range m.vrrp {
		m.gate(in)
	}
	return nil
}

func (m *Manager) stop() error {
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
	m.disarmRetry()
	m.closeBackend()
	return errors.Join(errs...)
}

func (m *Manager) closeBackend() {
	if c, ok := m.b.(io.Closer); ok {
		c.Close()
	}
	m.b, m.r, m.known, m.loop = nil, nil, nil, nil
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
	m.disarmRetry()
	return nil
}

const kernelWrite = "lvs: programming the kernel's table"

// kernelFailed marks the kernel's table as not what was last asked for
// and schedules the next attempt.
func (m *Manager) kernelFailed(err error) {
	m.stale = true
	m.armRetry(m.retry.failed(kernelWrite, err))
}

// armRetry sets the owner loop's timer to fire in d: the retry is an
// event of the loop that owns the engine (Run's onTimer is retryNow).
// The retry is the only deadline this loop has, so it is set exactly.
func (m *Manager) armRetry(d time.Duration) {
	if m.loop != nil {
		m.loop.Set(m.loop.Now() + max(d, time.Nanosecond))
	}
}

// disarmRetry clears the timer (a success, or stop).
func (m *Manager) disarmRetry() {
	if m.loop != nil {
		m.loop.Set(0)
	}
}

// retryNow is the retry timer's event, on the owner: it converges the
// whole table again. Fired before the attempt is due by the pacing's
// clock, it sets the timer for the rest.
func (m *Manager) retryNow() {
	if m.b == nil || !m.stale {
		return
	}
	if !m.retry.due() {
		m.armRetry(m.retry.wait())
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
	var err error
	m.own.Do(func() { err = m.setHealth(key, up, weight) })
	return err
}

func (m *Manager) setHealth(key RSKey, up bool, weight int) error {
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
		m.events.Push(func() { f(ev) })
	}
}

// SetVRRPState tells the engine a VRRP instance's new state. The sync
// daemon follows the instance named in lvs_sync_daemon as keepalived
// does: master daemon while MASTER, backup daemon otherwise, stopped on
// STOP. Virtual servers with ha_suspend resume their checkers while an
// instance holding their address is MASTER. A backend that gates
// forwarding on VRRP (ActiveSetter) forwards to the instance's VIPs while
// it is MASTER.
func (m *Manager) SetVRRPState(instance string, state VRRPState) error {
	var err error
	m.own.Do(func() { err = m.setVRRPState(instance, state) })
	return err
}

func (m *Manager) setVRRPState(instance string, state VRRPState) error {
	m.vrrp[instance] = state
	m.updateSuspend()
	m.gate(instance)
	if m.b == nil || m.model.Sync == nil || m.model.SyncInstance != instance {
		return nil
	}
	ctx, cancel := m.ctx()
	defer cancel()
	return m.syncFollow(ctx)
}

// gate tells an ActiveSetter backend whether to forward to instance's
// VIPs (this node holds them while the instance is MASTER).
func (m *Manager) gate(instance string) {
	as, ok := m.b.(ActiveSetter)
	if !ok {
		return
	}
	active := m.vrrp[instance] == VRRPMaster
	for _, vip := range m.vips[instance] {
		if err := as.SetActive(vip, active); err != nil {
			m.log.Errorf("%s forwarding for %s: %v", map[bool]string{true: "enable", false: "disable"}[active], vip, err)
		}
	}
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
		// The checker engine logs keepalived's lines, one per checker.
		m.log.Debugf("ha_suspend: checkers of VS %s %s", v.spec.Name, map[bool]string{true: "suspended", false: "resumed"}[s])
		if f := m.opts.OnSuspend; f != nil {
			ev := SuspendEvent{VirtualServer: v.spec.Name, Suspended: s}
			m.events.Push(func() { f(ev) })
		}
	}
}

// Suspended reports whether the checkers of the named virtual server are
// paused by ha_suspend.
func (m *Manager) Suspended(vs string) bool {
	suspended := false
	m.own.Do(func() {
		v := m.byName[vs]
		suspended = v != nil && v.suspended
	})
	return suspended
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

// Validate reports whether Reload would accept cfg, and changes nothing:
// the first phase of the daemon's all-or-nothing reload. What the kernel
// then refuses is not a refusal of the config: Reload installs it and
// retries the kernel with backoff.
func (m *Manager) Validate(cfg *config.Config) error {
	_, err := FromConfig(cfg)
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
	m.own.Do(func() { err = m.reload(cfg, model) })
	return err
}

func (m *Manager) reload(cfg *config.Config, model *Model) error {
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
	for in := range m.vrrp {
		m.gate(in)
	}
	return errors.Join(errs...)
}
