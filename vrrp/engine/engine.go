// Package engine runs every vrrp_instance of a configuration: it maps
// config.VRRPInstance onto the pure state machines of package vrrp,
// performs their actions through Net, tracks scripts, interfaces, files
// and processes (a trackproc monitor's events, trackproc.go), and reports
// state changes as Events.
//
// One goroutine owns all of it (Run, on an evloop.Loop): it reads the
// VRRP sockets itself, fires the one timer for the earliest deadline and
// runs what other goroutines post to it (link changes, script results,
// Reload, Status), as etcd raft's node.run and gobgp's server loop do. No
// lock guards the engine's state; Status is asked of the owner, never
// read behind its back.
//
// It follows the kernel as keepalived does (kernel.go): addresses,
// routes and rules removed under it, the interface's address lost or
// missing; it installs static and virtual routes and rules (routes.go)
// and keepalived's nftables firewall for strict mode, no_accept and
// use_vmac (firewall.go).
//
// Where it differs from keepalived 2.2.7, or does less:
//   - A reload restarts an instance whose configuration changed (removed
//     as DELETED, started again); unchanged ones, and those whose only
//     changes are their addresses, routes and rules, keep state.
//   - A reload keeps an unchanged instance: keepalived rebuilds it and logs
//     its start again ("Entering BACKUP STATE (init)", its priority from
//     the base priority); ours logs only what changed.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/evloop"
	"keepalived-go/internal/outbox"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
)

// Options configures an Engine.
type Options struct {
	Log *logrus.Entry
	// LogDetail logs keepalived's --log-detail (-D) lines too.
	LogDetail bool
	// KeepVIPs leaves the VIPs in place on shutdown (--dont-release-vrrp, -V).
	KeepVIPs bool
	// OnEvent receives events in order on a goroutine of its own, so a
	// slow callback never stalls VRRP; it should still return promptly.
	OnEvent func(Event)
	// Net defaults to &Linux{} (the current network namespace).
	Net Net
	// Runner runs vrrp_script commands; nil is &script.ExecRunner{}.
	Runner script.Runner
	// Now is a monotonic clock for tests; nil uses time.Since(start).
	Now func() time.Duration
	// OnWake runs on the owner after each wakeup that handled a timer
	// expiry or a packet: the process is awake then, and other work that
	// is nearly due (check.Engine.Awake) can share the wakeup. It must
	// return at once.
	OnWake func()
	// Routes installs routes and rules; nil opens rtnetlink in the
	// current network namespace when the configuration has any.
	Routes RouteHandle
	// Firewall is keepalived's nftables firewall; nil opens vrrp/nftfw in
	// the current network namespace when the configuration names a table.
	// The engine stops and closes it when it stops.
	Firewall Firewall
	// OnDiscard, when set, is called on the owner for every advert an
	// instance drops (the SNMP authentication and protocol error
	// notifications). It must return at once and not block: a peer
	// decides how often it runs.
	OnDiscard func(Discard)
	// Processes is the vrrp_track_process monitor (trackproc.go); nil
	// when the daemon runs none.
	Processes ProcessTracker
}

// Event is what the engine reports: StateChange, GroupStateChange,
// MasterRxLowerPri, PriorityChange, Reloaded.
type Event interface{ isEvent() }

// StateChange is one instance's transition (the FSM's Notify action).
// Group is its vrrp_sync_group, if any.
type StateChange struct {
	Instance, Group string
	From, To        vrrp.State
	Reason          vrrp.Reason
	Priority        uint8
}

// GroupStateChange is a vrrp_sync_group transition.
type GroupStateChange struct {
	Group string
	State vrrp.State
}

// MasterRxLowerPri is notify_master_rx_lower_pri.
type MasterRxLowerPri struct {
	Instance string
	From     netip.Addr
}

// PriorityChange is a new effective priority (notify_priority_changes).
type PriorityChange struct {
	Instance string
	State    vrrp.State
	Priority uint8
}

// Reloaded marks the point of a reload where the removed instances have
// gone (their DELETED changes came before it) and the new ones are about
// to start: keepalived's dbus_reload and its VrrpReloaded signal sit there.
type Reloaded struct{}

func (StateChange) isEvent()      {}
func (Reloaded) isEvent()         {}
func (GroupStateChange) isEvent() {}
func (MasterRxLowerPri) isEvent() {}
func (PriorityChange) isEvent()   {}

// ErrRunning is returned by a second Run, ErrStopped by a Reload after
// Run returned.
var (
	ErrRunning = errors.New("engine: already running")
	ErrStopped = errors.New("engine: stopped")
)

// Engine runs the VRRP instances of one configuration.
type Engine struct {
	opts  Options
	log   *logrus.Entry
	net   Net
	start time.Time

	// own runs the methods as the state's owner: the loop's goroutine
	// while Run serves, otherwise their caller.
	own     evloop.Owner
	running atomic.Bool

	// The owner's state.
	loop     *evloop.Loop // while Run serves
	stopped  bool         // Run has returned
	cfg      *config.Config
	units    []*unit
	due      unitQueue // units by their next deadline
	byName   map[string]*inst
	byKey    map[rxKey]*inst
	conns    map[connKey]Conn
	scripts  map[string]*trackScript
	files    map[string]*trackFile
	plans    map[string]*linkPlan // VMACs and ipvlans, by instance (vmac.go)
	fw       fileWatch
	procs    procTracking
	links    map[string]bool
	bfdUp    map[string]bool // BFD sessions reported Up (bfd.go)
	garpQ    []garpItem
	discards map[error]uint64
	actErrs  uint64
	warned   map[string]bool
	stopping bool
	floor    time.Duration // the latest time given for a tick or a receive
	woke     bool          // a packet or an expiry since the last OnWake
	// loopOffset turns the engine's clock into the loop's.
	loopOffset time.Duration
	// polled are the sockets read on a timer rather than as packets
	// arrive (poll.go): pollAt is their next read, pollDirty asks to
	// decide again which they are.
	polled    map[connKey]bool
	pollAt    time.Duration
	pollEvery time.Duration
	pollDirty bool

	// post hands a function to the owner from another goroutine (script
	// results, link changes, packets of Conns that deliver): the loop's
	// Post while Run serves.
	post   func(func())
	runCtx context.Context // scripts' context
	scWG   sync.WaitGroup
	events *outbox.Outbox[Event]
	// kern is what the engine holds in the kernel besides instances'
	// addresses (routes.go).
	kern kernelState
	// ready is closed once Run started every instance.
	ready chan struct{}
}

type connKey struct {
	iface string
	v6    bool
	proto int
}

type rxKey struct {
	iface string
	v6    bool
	vrid  uint8
}

type garpItem struct {
	at    time.Duration
	iface string
	addr  netip.Addr
}

// unit is a lone instance or a sync group: what the FSM steps together.
type unit struct {
	name    string // group name, "" for a lone instance
	group   *vrrp.SyncGroup
	members []*inst
	ord     int           // place in the configuration, for ties
	at      time.Duration // next deadline, while queued in due
	index   int           // place in due; -1 when not queued
}

type inst struct {
	base    string    // the configured interface (the vmac's parent)
	vmac    string    // use_vmac (or use_ipvlan) interface, "" without
	link    *linkPlan // what was made for it (vmac.go)
	cfg     *config.VRRPInstance
	built   vrrp.Config // as mapped from the config, before run-time resolution
	vc      vrrp.Config
	fsm     *vrrp.Instance
	u       *unit
	idx     int
	addrs   map[netip.Prefix]netio.Addr // VIPs and excluded VIPs, resolved
	weight  int
	faults  map[string]bool
	removed bool
	k       instKernel
	// snmpPrio is what SNMP Sets added to the base priority (keepalived
	// moves total_priority by the same amount).
	snmpPrio int
	// statsBase is subtracted from the FSM's counters (ClearStats), and
	// statsSince is when that happened.
	statsBase  Counters
	statsSince time.Time
}

// New checks cfg and prepares the instances; nothing touches the network
// before Run.
func New(cfg *config.Config, opts Options) (*Engine, error) {
	if opts.Log == nil {
		l := logrus.New()
		opts.Log = logrus.NewEntry(l)
	}
	if opts.Net == nil {
		opts.Net = &Linux{}
	}
	if opts.Runner == nil {
		opts.Runner = &script.ExecRunner{}
	}
	e := &Engine{
		opts: opts, log: opts.Log, net: opts.Net, start: time.Now(),
		byName: map[string]*inst{}, byKey: map[rxKey]*inst{}, conns: map[connKey]Conn{},
		scripts: map[string]*trackScript{}, files: map[string]*trackFile{}, links: map[string]bool{},
		discards: map[error]uint64{}, warned: map[string]bool{}, polled: map[connKey]bool{},
		post: func(func()) {}, runCtx: context.Background(),
		events: outbox.New(opts.OnEvent), ready: make(chan struct{}),
	}
	units, err := e.build(cfg)
	if err != nil {
		return nil, err
	}
	e.cfg, e.units = cfg, units
	return e, nil
}

func (e *Engine) now() time.Duration {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Since(e.start)
}

// build makes units for every instance of cfg (not started).
func (e *Engine) build(cfg *config.Config) ([]*unit, error) {
	e.plans = e.planLinks(cfg)
	made := map[string]*inst{}
	var all []*inst
	keys := map[rxKey]string{}
	for _, ci := range cfg.Instances {
		in, err := e.buildInstance(&cfg.Global, ci)
		if err != nil {
			return nil, err
		}
		k := rxKey{in.vc.Interface, in.vc.IPv6, in.vc.VRID}
		if other, dup := keys[k]; dup {
			return nil, fmt.Errorf("%w: (%s) VRID %d on %s already used by %s", vrrp.ErrConfig, ci.Name, in.vc.VRID, in.vc.Interface, other)
		}
		keys[k] = ci.Name
		made[ci.Name] = in
		all = append(all, in)
	}
	var units []*unit
	grouped := map[string]bool{}
	for _, sg := range cfg.SyncGroups {
		var ms []*inst
		for _, m := range sg.Members {
			if in := made[m]; in != nil && !grouped[m] {
				grouped[m] = true
				in.idx = len(ms)
				ms = append(ms, in)
			}
		}
		if len(ms) == 0 {
			continue
		}
		// The group's FSM is tied at start, after initial faults are known.
		units = append(units, &unit{name: sg.Name, members: ms})
	}
	for _, in := range all {
		if !grouped[in.cfg.Name] {
			units = append(units, &unit{members: []*inst{in}})
		}
	}
	for i, u := range units {
		u.ord, u.index = i, -1
		for _, m := range u.members {
			m.u = u
		}
	}
	return units, nil
}

// buildInstance maps one vrrp_instance onto its FSM.
func (e *Engine) buildInstance(g *config.Global, ci *config.VRRPInstance) (*inst, error) {
	vc, err := instanceConfig(g, ci)
	if err != nil {
		return nil, err
	}
	vc.ReportDiscards = e.opts.OnDiscard != nil
	base, vmac := e.applyLinkPlan(ci, &vc)
	fsm, err := vrrp.New(vc)
	if err != nil {
		return nil, err
	}
	addrs := vipAddrs(base, vmac, vc.IPv6, ci.VIPs)
	for p, a := range vipAddrs(base, vmac, vc.IPv6, ci.ExcludedVIPs) {
		addrs[p] = a
	}
	e.placeAddrs(ci, addrs)
	return &inst{base: base, vmac: vmac, cfg: ci, built: vc, vc: fsm.Config(), fsm: fsm, addrs: addrs,
		faults: map[string]bool{}, statsSince: time.Now(), k: newInstKernel(ci)}, nil
}

func (u *unit) stepFSM(i int, ev vrrp.Event) []vrrp.GroupAction {
	if u.group != nil {
		return u.group.Step(i, ev)
	}
	acts := u.members[0].fsm.Step(ev)
	out := make([]vrrp.GroupAction, len(acts))
	for j, a := range acts {
		out[j] = vrrp.GroupAction{Member: 0, Action: a}
	}
	return out
}

func (u *unit) deadline() (time.Duration, bool) {
	if u.group != nil {
		return u.group.NextDeadline()
	}
	return u.members[0].fsm.NextDeadline()
}

// step feeds ev to member i of u, performs what follows and requeues u
// for its next deadline.
func (e *Engine) step(u *unit, i int, ev vrrp.Event) {
	e.run(u, u.stepFSM(i, ev))
	e.reschedule(u)
}

// Run brings the instances up and serves them until ctx ends, then stops
// them (priority 0 adverts, VIPs removed unless KeepVIPs) and returns.
// The calling goroutine is the engine's owner meanwhile.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	loop, err := evloop.New()
	if err != nil {
		return err
	}
	e.own.Do(func() {
		e.loop = loop
		e.post = func(f func()) { _ = loop.Post(f) }
	})
	e.own.Serve(loop)
	e.loopOffset = e.start.Sub(loop.Epoch())
	e.events.Start()
	scCtx, scCancel := context.WithCancel(context.Background())
	e.runCtx = scCtx
	watchCtx, watchCancel := context.WithCancel(ctx)
	if err := e.net.WatchLinks(watchCtx, func(le netio.LinkEvent) { e.post(func() { e.linkEvent(le) }) }); err != nil {
		e.log.Warnf("Link watching unavailable: %v", err)
	}
	e.begin(watchCtx)
	e.forwardProcs(watchCtx, loop.Post)
	e.arm()
	close(e.ready)
	go func() {
		<-watchCtx.Done()
		_ = loop.Post(e.shutdown)
		loop.Stop()
	}()
	err = loop.Run(e.onTimer, e.afterWake)

	e.own.Done()
	e.own.Do(func() { e.loop, e.stopped = nil, true })
	watchCancel()
	scCancel()
	e.scWG.Wait()
	e.events.Close()
	e.closeFileWatch()
	loop.Close()
	if l, ok := e.net.(*Linux); ok {
		l.Close()
	}
	return err
}

// Ready is closed once Run has started every instance: their first
// states are known (what DBus publishes when it takes the bus).
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// begin opens sockets and starts every unit.
func (e *Engine) begin(ctx context.Context) {
	e.kernelBegin(ctx)
	e.startProcs()
	e.setupScripts(e.cfg, nil)
	e.ensureVMACs(e.units)
	e.logInitFaults()
	e.syncConns()
	for _, u := range e.units {
		e.startUnit(u)
	}
}

// Reload applies cfg: unchanged instances keep their state and VIPs,
// new ones start, removed ones go DELETED; a changed instance is removed
// and started again. Before Run the config is just replaced.
func (e *Engine) Reload(cfg *config.Config) error {
	var err error
	e.own.Do(func() {
		switch {
		case e.stopped:
			err = ErrStopped
		case e.loop != nil:
			err = e.applyReload(cfg)
		default:
			var units []*unit
			if units, err = e.build(cfg); err == nil {
				e.cfg, e.units = cfg, units
			}
		}
	})
	return err
}

// Validate reports whether Reload would accept cfg, and changes nothing:
// the first phase of the daemon's all-or-nothing reload (no engine takes
// a config that another refuses). Instances are built as Reload builds
// them and dropped.
func (e *Engine) Validate(cfg *config.Config) error {
	var err error
	e.own.Do(func() {
		if e.stopped {
			err = ErrStopped
			return
		}
		_, err = e.build(cfg)
	})
	return err
}

func (e *Engine) emit(ev Event) { e.events.Push(ev) }

func (e *Engine) warnOnce(key, format string, a ...any) {
	if !e.warned[key] {
		e.warned[key] = true
		e.log.Warnf(format, a...)
	}
}
