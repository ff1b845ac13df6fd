// Package engine runs every vrrp_instance of a configuration: it maps
// config.VRRPInstance onto the pure state machines of package vrrp, owns
// them in one select loop (socket reads, link changes and script results
// arrive on channels; one timer for the earliest deadline), performs their
// actions through Net, tracks scripts, interfaces and files, and reports
// state changes as Events.
//
// Where it differs from keepalived 2.2.7, or does less:
//   - track_file is polled once a second (keepalived uses inotify).
//   - A reload restarts an instance whose configuration changed (removed
//     as DELETED, started again); unchanged ones keep state and VIPs.
//   - virtual_routes and virtual_rules are logged as unsupported.
//   - use_vmac works for IPv4 only; vmac_xmit_base is ignored (logged).
//   - accept/no_accept (strict mode firewall rules) and track_process are
//     not implemented.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/timerfd"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
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
	// Runner runs vrrp_script commands; nil is &notify.ExecRunner{}.
	Runner notify.Runner
	// Users resolves script users; nil is notify.OSUserDB{}.
	Users notify.UserDB
	// Now is a monotonic clock for tests; nil uses time.Since(start).
	Now func() time.Duration
	// OnWake runs after each timer expiry and each packet the engine
	// handled, outside its lock: the process is awake then, and other
	// work that is nearly due (check.Engine.Awake) can share the wakeup.
	// It must return at once.
	OnWake func()
}

// Event is what the engine reports: StateChange, GroupStateChange,
// MasterRxLowerPri, PriorityChange.
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

func (StateChange) isEvent()      {}
func (GroupStateChange) isEvent() {}
func (MasterRxLowerPri) isEvent() {}
func (PriorityChange) isEvent()   {}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Instances map[string]InstanceStats
	// Discards counts packets no instance took, per packet sentinel
	// (packet.ErrVRID for an unknown VRID, packet.ErrLength for runts).
	Discards map[error]uint64
	// ActionErrors counts failed sends, address changes and gratuitous
	// packets.
	ActionErrors uint64
}

// InstanceStats is one instance's state and the FSM's counters.
type InstanceStats struct {
	State    vrrp.State
	Priority uint8
	vrrp.Stats
}

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

	mu       sync.Mutex // guards everything below against Stats
	cfg      *config.Config
	units    []*unit
	byName   map[string]*inst
	byKey    map[rxKey]*inst
	conns    map[connKey]Conn
	scripts  map[string]*script
	files    map[string]*trackFile
	links    map[string]bool
	garpQ    []garpItem
	discards map[error]uint64
	actErrs  uint64
	warned   map[string]bool
	running  bool
	stopping bool
	done     chan struct{} // closed when Run returns
	timer    *timerfd.Timer
	floor    time.Duration // the latest time given for a tick or a receive

	rx      chan netio.Packet
	linkCh  chan netio.LinkEvent
	results chan scriptResult
	reload  chan reloadReq
	runCtx  context.Context
	scWG    sync.WaitGroup

	evMu   sync.Mutex
	evCond *sync.Cond
	evQ    []Event
	evDone bool
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

type reloadReq struct {
	cfg  *config.Config
	done chan error
}

// unit is a lone instance or a sync group: what the FSM steps together.
type unit struct {
	name    string // group name, "" for a lone instance
	group   *vrrp.SyncGroup
	members []*inst
}

type inst struct {
	base    string // the configured interface (the vmac's parent)
	vmac    string // use_vmac interface, "" without
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
	obs     observed // for Snapshot (snapshot.go)
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
		opts.Runner = &notify.ExecRunner{}
	}
	if opts.Users == nil {
		opts.Users = notify.OSUserDB{}
	}
	e := &Engine{
		opts: opts, log: opts.Log, net: opts.Net, start: time.Now(),
		byName: map[string]*inst{}, byKey: map[rxKey]*inst{}, conns: map[connKey]Conn{},
		scripts: map[string]*script{}, files: map[string]*trackFile{}, links: map[string]bool{},
		discards: map[error]uint64{}, warned: map[string]bool{},
		rx: make(chan netio.Packet, 256), linkCh: make(chan netio.LinkEvent, 64),
		results: make(chan scriptResult, 16), reload: make(chan reloadReq), done: make(chan struct{}),
	}
	e.evCond = sync.NewCond(&e.evMu)
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
	made := map[string]*inst{}
	var all []*inst
	keys := map[rxKey]string{}
	for _, ci := range cfg.Instances {
		vc, err := instanceConfig(&cfg.Global, ci)
		if err != nil {
			return nil, err
		}
		base, vmac := vc.Interface, ""
		if ci.UseVMAC {
			if vc.IPv6 {
				e.warnOnce("vmac6 "+ci.Name, "(%s) use_vmac is not supported for IPv6 yet - using %s", ci.Name, vc.Interface)
			} else {
				vmac = ci.VMACName
				if vmac == "" {
					vmac = fmt.Sprintf("vrrp.%d", vc.VRID)
				}
				if ci.VMACXmitBase {
					e.warnOnce("xmitbase "+ci.Name, "(%s) vmac_xmit_base is not supported yet - sending on %s", ci.Name, vmac)
				}
				vc.Interface = vmac
			}
		}
		fsm, err := vrrp.New(vc)
		if err != nil {
			return nil, err
		}
		k := rxKey{vc.Interface, vc.IPv6, vc.VRID}
		if other, dup := keys[k]; dup {
			return nil, fmt.Errorf("%w: (%s) VRID %d on %s already used by %s", vrrp.ErrConfig, ci.Name, vc.VRID, vc.Interface, other)
		}
		keys[k] = ci.Name
		addrs := vipAddrs(vc.Interface, ci.VIPs)
		for p, a := range vipAddrs(vc.Interface, ci.ExcludedVIPs) {
			addrs[p] = a
		}
		in := &inst{base: base, vmac: vmac, cfg: ci, built: vc, vc: fsm.Config(), fsm: fsm, addrs: addrs, faults: map[string]bool{}}
		made[ci.Name] = in
		all = append(all, in)
	}
	var units []*unit
	grouped := map[string]bool{}
	for _, sg := range cfg.SyncGroups {
		var ms []*inst
		var fsms []*vrrp.Instance
		for _, m := range sg.Members {
			if in := made[m]; in != nil && !grouped[m] {
				grouped[m] = true
				in.idx = len(ms)
				ms = append(ms, in)
				fsms = append(fsms, in.fsm)
			}
		}
		if len(ms) == 0 {
			continue
		}
		u := &unit{name: sg.Name, members: ms}
		for _, m := range ms {
			m.u = u
		}
		units = append(units, u)
		_ = fsms // the group is tied at start, after initial faults are known
	}
	for _, in := range all {
		if !grouped[in.cfg.Name] {
			u := &unit{members: []*inst{in}}
			in.u = u
			units = append(units, u)
		}
	}
	return units, nil
}

func (u *unit) step(i int, ev vrrp.Event) []vrrp.GroupAction {
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

// Run brings the instances up and serves them until ctx ends, then stops
// them (priority 0 adverts, VIPs removed unless KeepVIPs) and returns.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return ErrRunning
	}
	e.running = true
	e.mu.Unlock()

	evDone := make(chan struct{})
	go e.deliver(evDone)
	scCtx, scCancel := context.WithCancel(context.Background())
	e.runCtx = scCtx
	watchCtx, watchCancel := context.WithCancel(ctx)
	defer func() {
		close(e.done)
		watchCancel()
		scCancel()
		e.scWG.Wait()
		e.evMu.Lock()
		e.evDone = true
		e.evCond.Broadcast()
		e.evMu.Unlock()
		<-evDone
		if l, ok := e.net.(*Linux); ok {
			l.Close()
		}
	}()
	if err := e.net.WatchLinks(watchCtx, e.linkCh); err != nil {
		e.log.Warnf("Link watching unavailable: %v", err)
	}

	e.mu.Lock()
	e.begin()
	e.mu.Unlock()

	// A timerfd, not a time.Timer: adverts fire on time to the
	// microsecond. The tick runs on the timer's own goroutine, so an
	// idle MASTER wakes one goroutine per advert, not two.
	timer := timerfd.NewFunc(e.onTimer)
	defer timer.Close()
	e.mu.Lock()
	e.timer = timer
	e.rearm()
	e.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.shutdown()
			e.mu.Unlock()
			return nil
		case p := <-e.rx:
			e.mu.Lock()
			e.receive(p)
			e.rearm()
			e.mu.Unlock()
			e.woke()
		case le := <-e.linkCh:
			e.mu.Lock()
			e.linkEvent(le)
			e.rearm()
			e.mu.Unlock()
		case r := <-e.results:
			e.mu.Lock()
			e.scriptDone(r)
			e.rearm()
			e.mu.Unlock()
		case r := <-e.reload:
			e.mu.Lock()
			err := e.applyReload(r.cfg)
			e.rearm()
			e.mu.Unlock()
			r.done <- err
		}
	}
}

// onTimer is the timer's expiry: whatever is due runs.
func (e *Engine) onTimer() {
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return
	}
	e.tick()
	e.rearm()
	e.mu.Unlock()
	e.woke()
}

func (e *Engine) woke() {
	if e.opts.OnWake != nil {
		e.opts.OnWake()
	}
}

// rearm points the timer at the next deadline. Callers hold e.mu.
func (e *Engine) rearm() {
	if e.timer != nil && !e.stopping {
		e.timer.Reset(max(e.nextDeadline()-e.now(), 0))
	}
}

// begin opens sockets and starts every unit.
func (e *Engine) begin() {
	e.setupScripts(e.cfg, nil)
	e.ensureVMACs(e.units)
	e.syncConns()
	for _, u := range e.units {
		e.startUnit(u)
	}
}

// Reload applies cfg: unchanged instances keep their state and VIPs,
// new ones start, removed ones go DELETED; a changed instance is removed
// and started again. Without a running engine the config is just replaced.
func (e *Engine) Reload(cfg *config.Config) error {
	e.mu.Lock()
	running := e.running
	e.mu.Unlock()
	if !running {
		units, err := e.build(cfg)
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.cfg, e.units = cfg, units
		e.mu.Unlock()
		return nil
	}
	r := reloadReq{cfg: cfg, done: make(chan error, 1)}
	select {
	case e.reload <- r:
		return <-r.done
	case <-e.done:
		return ErrStopped
	}
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Instances: map[string]InstanceStats{}, Discards: map[error]uint64{}, ActionErrors: e.actErrs}
	for k, v := range e.discards {
		s.Discards[k] = v
	}
	for _, u := range e.units {
		for _, m := range u.members {
			s.Instances[m.cfg.Name] = InstanceStats{State: m.fsm.State(), Priority: m.fsm.Priority(), Stats: m.fsm.Stats()}
		}
	}
	return s
}

func (e *Engine) emit(ev Event) {
	if e.opts.OnEvent == nil {
		return
	}
	e.evMu.Lock()
	e.evQ = append(e.evQ, ev)
	e.evCond.Signal()
	e.evMu.Unlock()
}

func (e *Engine) deliver(done chan struct{}) {
	defer close(done)
	for {
		e.evMu.Lock()
		for len(e.evQ) == 0 && !e.evDone {
			e.evCond.Wait()
		}
		q := e.evQ
		e.evQ = nil
		fin := e.evDone
		e.evMu.Unlock()
		for _, ev := range q {
			e.opts.OnEvent(ev)
		}
		if fin && len(q) == 0 {
			return
		}
	}
}

func (e *Engine) warnOnce(key, format string, a ...any) {
	if !e.warned[key] {
		e.warned[key] = true
		e.log.Warnf(format, a...)
	}
}

// syncConns opens the sockets the instances need and closes the others.
func (e *Engine) syncConns() {
	want := map[connKey][]netip.Addr{}
	for _, u := range e.units {
		for _, m := range u.members {
			k := connKey{m.vc.Interface, m.vc.IPv6, packet.ProtoVRRP}
			if len(m.vc.UnicastPeers) == 0 {
				want[k] = append(want[k], m.vc.McastGroup)
			} else if _, ok := want[k]; !ok {
				want[k] = nil
			}
			if m.vc.AuthType == packet.AuthAH {
				ka := connKey{m.vc.Interface, false, packet.ProtoAH}
				want[ka] = append(want[ka], want[k]...)
			}
		}
	}
	for k, c := range e.conns {
		if _, ok := want[k]; !ok {
			c.Close()
			delete(e.conns, k)
		}
	}
	for k, groups := range want {
		c := e.conns[k]
		if c == nil {
			var err error
			if c, err = e.net.Listen(k.iface, k.v6, k.proto, e.rx); err != nil {
				e.warnOnce("listen "+k.iface+fmt.Sprint(k.v6, k.proto), "Unable to open VRRP socket on %s: %v", k.iface, err)
				continue
			}
			e.conns[k] = c
		}
		for _, g := range groups {
			if err := c.Join(g); err != nil {
				e.warnOnce("join "+k.iface+g.String(), "cant do IP%s_ADD_MEMBERSHIP on %s: %v", map[bool]string{true: "V6"}[k.v6], k.iface, err)
			}
		}
	}
}

// startUnit resolves addresses, reports what is already down and starts
// the unit's instances.
func (e *Engine) startUnit(u *unit) {
	now := e.now()
	for _, m := range u.members {
		e.byName[m.cfg.Name] = m
		e.byKey[rxKey{m.vc.Interface, m.vc.IPv6, m.vc.VRID}] = m
		if !m.vc.SrcAddr.IsValid() {
			if a, err := e.net.PrimaryAddr(m.base, m.vc.IPv6); err == nil {
				m.vc.SrcAddr = a
				if fsm, err := vrrp.New(m.vc); err == nil {
					m.fsm = fsm
				}
			} else {
				e.log.Warnf("(%s) no source address on %s: %v", m.cfg.Name, m.base, err)
			}
		}
		for _, r := range m.cfg.Routes {
			e.warnOnce("routes "+m.cfg.Name, "(%s) virtual_routes are not supported yet: %v ignored", m.cfg.Name, r.Words)
		}
		for _, r := range m.cfg.Rules {
			e.warnOnce("rules "+m.cfg.Name, "(%s) virtual_rules are not supported yet: %v ignored", m.cfg.Name, r.Words)
		}
	}
	if len(u.members) > 1 || u.name != "" {
		var fsms []*vrrp.Instance
		for _, m := range u.members {
			fsms = append(fsms, m.fsm)
		}
		g, err := vrrp.NewSyncGroup(u.name, fsms...)
		if err != nil {
			e.log.Errorf("%v", err)
		} else {
			u.group = g
		}
	}
	// Initial faults and weights go in before Start (the FSM's contract).
	for _, m := range u.members {
		ifaces := []string{m.base}
		for _, r := range m.cfg.TrackInterfaces {
			ifaces = append(ifaces, r.Name)
		}
		for _, name := range ifaces {
			if _, known := e.links[name]; !known {
				// A missing interface counts as down, as keepalived has it.
				up, _ := e.net.LinkUp(name)
				e.links[name] = up
			}
		}
	}
	for _, m := range u.members {
		e.refreshTracking(m, now)
	}
	if p, ok := e.net.(preparer); ok {
		for _, m := range u.members {
			p.Prepare(m.vc.Interface)
			for _, va := range m.addrs {
				if va.Dev != "" && va.Dev != m.vc.Interface {
					p.Prepare(va.Dev)
				}
			}
		}
	}
	for i, m := range u.members {
		residual := false
		for _, p := range m.vc.VIPs {
			if ok, _ := e.net.HasAddr(m.addrs[p]); ok {
				residual = true
			}
		}
		e.run(u, u.step(i, vrrp.Start{Now: now, ResidualVIPs: residual}))
	}
}

// preparer is a Net that can open ahead what a takeover on an interface
// needs (Linux.Prepare).
type preparer interface{ Prepare(iface string) }

// tracked lists what an instance tracks with the weight keepalived applies.
type trackRef struct {
	name    string
	weight  int
	reverse bool
}

func (e *Engine) groupOf(m *inst) *config.SyncGroup {
	if m.cfg.SyncGroup == "" {
		return nil
	}
	for _, g := range e.cfg.SyncGroups {
		if g.Name == m.cfg.SyncGroup {
			return g
		}
	}
	return nil
}

// trackState computes the instance's faults and weight from the current
// state of what it tracks.
func (e *Engine) trackState(m *inst) (map[string]bool, int) {
	faults := map[string]bool{}
	weight := 0
	apply := func(key string, known, up bool, w int) {
		if !known {
			return
		}
		if w == 0 {
			if !up {
				faults[key] = true
			}
			return
		}
		if up && w > 0 || !up && w < 0 {
			weight += w
		}
	}
	if !m.cfg.DontTrackPrimary {
		if up, ok := e.links[m.base]; ok && !up {
			faults["\x00primary"] = true
		}
	}
	ifaces := m.cfg.TrackInterfaces
	scripts := m.cfg.TrackScripts
	files := m.cfg.TrackFiles
	if g := e.groupOf(m); g != nil {
		ifaces = append(append([]config.TrackRef(nil), ifaces...), g.TrackInterfaces...)
		scripts = append(append([]config.TrackRef(nil), scripts...), g.TrackScripts...)
		files = append(append([]config.TrackRef(nil), files...), g.TrackFiles...)
	}
	for _, r := range ifaces {
		up, ok := e.links[r.Name]
		if !ok {
			continue
		}
		apply("interface:"+r.Name, true, up != r.Reverse, r.Weight)
	}
	for _, r := range scripts {
		s := e.scripts[r.Name]
		if s == nil {
			continue
		}
		w, rev := s.cfg.Weight, s.cfg.WeightReverse
		if r.HasWeight {
			w, rev = r.Weight, r.Reverse
		}
		apply("script:"+r.Name, s.known, s.up != rev, w)
	}
	for _, r := range files {
		f := e.files[r.Name]
		if f == nil {
			continue
		}
		w, rev := f.cfg.Weight, f.cfg.WeightReverse
		if r.HasWeight {
			w, rev = r.Weight, r.Reverse
		}
		if w == 0 {
			if f.value != 0 {
				faults["file:"+r.Name] = true
			}
			continue
		}
		v := f.value * w
		if rev {
			v = -v
		}
		if v <= -packet.PriorityOwner+1 {
			faults["file:"+r.Name] = true
			continue
		}
		weight += v
	}
	return faults, weight
}

// refreshTracking feeds the FSM the faults and weight that changed.
func (e *Engine) refreshTracking(m *inst, now time.Duration) {
	if m.removed {
		return
	}
	faults, weight := e.trackState(m)
	var evs []vrrp.Event
	names := make([]string, 0, len(faults)+len(m.faults))
	for k := range faults {
		names = append(names, k)
	}
	for k := range m.faults {
		if !faults[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	// Clearing before setting keeps an instance from leaving FAULT when
	// one object goes down as another comes up.
	for _, k := range names {
		if faults[k] && !m.faults[k] {
			evs = append(evs, vrrp.TrackFault{Now: now, Name: k, Fault: true})
		}
	}
	for _, k := range names {
		if !faults[k] && m.faults[k] {
			evs = append(evs, vrrp.TrackFault{Now: now, Name: k, Fault: false})
		}
	}
	if weight != m.weight {
		evs = append(evs, vrrp.PriorityChanged{Now: now, Weight: weight})
	}
	m.faults, m.weight = faults, weight
	for _, ev := range evs {
		e.run(m.u, m.u.step(m.idx, ev))
	}
}

func (e *Engine) refreshAll() {
	now := e.now()
	for _, u := range e.units {
		for _, m := range u.members {
			e.refreshTracking(m, now)
		}
	}
}

func (e *Engine) linkEvent(le netio.LinkEvent) {
	if old, ok := e.links[le.Iface]; ok && old == le.Up {
		return
	}
	if _, ok := e.links[le.Iface]; !ok && !e.tracksLink(le.Iface) {
		return
	}
	e.links[le.Iface] = le.Up
	if le.Up {
		e.log.Infof("Netlink reports %s up", le.Iface)
	} else {
		e.log.Infof("Netlink reports %s down", le.Iface)
	}
	e.refreshAll()
}

func (e *Engine) tracksLink(iface string) bool {
	for _, u := range e.units {
		for _, m := range u.members {
			if m.base == iface {
				return true
			}
			for _, r := range m.cfg.TrackInterfaces {
				if r.Name == iface {
					return true
				}
			}
		}
	}
	return false
}

// knownSentinels are the packet errors a discard is counted under.
var knownSentinels = []error{
	packet.ErrLength, packet.ErrTTL, packet.ErrVersion, packet.ErrType, packet.ErrVRID, packet.ErrChecksum,
	packet.ErrAddrList, packet.ErrAuthType, packet.ErrAuth, packet.ErrReplay, packet.ErrInterval,
	packet.ErrDestination, packet.ErrPeer, packet.ErrNotVRRP,
}

func sentinel(err error) error {
	for _, s := range knownSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func (e *Engine) receive(p netio.Packet) {
	if p.Err != nil {
		e.warnOnce("read "+p.Iface, "VRRP socket read error on %s: %v", p.Iface, p.Err)
		return
	}
	var r *packet.Received
	var err error
	if p.IPv6 {
		r, err = packet.Parse6(p.Data, p.Src, p.Dst, p.HopLimit)
	} else {
		r, err = packet.Parse4(p.Data)
	}
	if err != nil {
		e.discards[sentinel(err)]++
		e.logDiscard(err)
		return
	}
	m := e.byKey[rxKey{p.Iface, p.IPv6, r.VRID}]
	if m == nil || m.removed {
		e.discards[packet.ErrVRID]++
		return
	}
	before := rxBefore(m)
	e.run(m.u, m.u.step(m.idx, vrrp.AdvertReceived{Now: e.rxTime(p), Packet: r}))
	rxAfter(m, r, before)
}

// rxTime is when p arrived, by the kernel's stamp, on the engine's clock:
// the master-down timer runs from the advert's arrival, not from when the
// reader and this loop got to it (a tenth of a millisecond idle, more
// under load). Never before the last tick or receive, so the time the
// instances see does not go backwards; the engine's own clock where the
// stamp is missing, implausible or the clock is a test's.
func (e *Engine) rxTime(p netio.Packet) time.Duration {
	now := e.now()
	if p.Arrived.IsZero() || e.opts.Now != nil {
		return now
	}
	// Arrived carries no monotonic reading: both ends are wall clock.
	lag := time.Since(p.Arrived)
	if lag <= 0 || lag > time.Second {
		return now
	}
	at := max(now-lag, e.floor)
	e.floor = at
	return at
}

func (e *Engine) logDiscard(err error) {
	var de *packet.DiscardError
	if errors.As(err, &de) {
		e.log.Info(de.Text)
		return
	}
	e.log.Info(err.Error())
}

func (e *Engine) nextDeadline() time.Duration {
	at := e.now() + time.Hour
	for _, u := range e.units {
		if d, ok := u.deadline(); ok {
			at = min(at, d)
		}
	}
	for _, s := range e.scripts {
		if !s.running {
			at = min(at, s.next)
		}
	}
	for _, f := range e.files {
		at = min(at, f.next)
	}
	for _, g := range e.garpQ {
		at = min(at, g.at)
	}
	return at
}

func (e *Engine) tick() {
	now := e.now()
	e.floor = now
	for _, u := range e.units {
		if d, ok := u.deadline(); ok && d <= now {
			// Tick one member: the group forwards time to all of them
			// through each member's own Tick below.
			for i := range u.members {
				if d, ok := u.members[i].fsm.NextDeadline(); ok && d <= now {
					e.run(u, u.step(i, vrrp.Tick{Now: now}))
				}
			}
		}
	}
	for _, s := range e.scripts {
		if !s.running && s.next <= now {
			e.runScript(s, now)
		}
	}
	changed := false
	for _, f := range e.files {
		if f.next <= now {
			changed = f.poll(now) || changed
		}
	}
	if changed {
		e.refreshAll()
	}
	e.flushGarp(now)
}

// run performs actions in order.
func (e *Engine) run(u *unit, acts []vrrp.GroupAction) {
	now := e.now()
	for _, ga := range acts {
		if ga.Member < 0 {
			switch a := ga.Action.(type) {
			case vrrp.GroupNotify:
				e.emit(GroupStateChange{Group: a.Group, State: a.State})
			case vrrp.Log:
				e.logLine(a)
			}
			continue
		}
		m := u.members[ga.Member]
		e.observe(m, ga.Action)
		switch a := ga.Action.(type) {
		case vrrp.SendAdvert:
			e.sendAdvert(m, a)
		case vrrp.AddVIPs:
			if e.opts.LogDetail {
				e.log.Infof("(%s) setting VIPs.", m.cfg.Name)
			}
			e.setAddrs(m, a.VIPs, a.Excluded, true)
		case vrrp.DelVIPs:
			if e.stopping && e.opts.KeepVIPs {
				continue
			}
			if e.opts.LogDetail {
				e.log.Infof("(%s) removing VIPs.", m.cfg.Name)
			}
			e.setAddrs(m, a.VIPs, a.Excluded, false)
		case vrrp.SendGratuitous:
			e.gratuitous(m, a, now)
		case vrrp.Notify:
			e.emit(StateChange{Instance: m.cfg.Name, Group: u.name, From: a.From, To: a.To, Reason: a.Reason, Priority: a.Priority})
		case vrrp.NotifyMasterRxLowerPri:
			e.emit(MasterRxLowerPri{Instance: m.cfg.Name, From: a.From})
		case vrrp.NotifyPriority:
			e.emit(PriorityChange{Instance: m.cfg.Name, State: a.State, Priority: a.Priority})
		case vrrp.Log:
			e.logLine(a)
		}
	}
}

func (e *Engine) logLine(a vrrp.Log) {
	if a.Detail && !e.opts.LogDetail {
		return
	}
	e.log.Info(a.Text)
}

func (e *Engine) sendAdvert(m *inst, a vrrp.SendAdvert) {
	c := e.conns[connKey{m.vc.Interface, m.vc.IPv6, packet.ProtoVRRP}]
	if c == nil {
		e.actErrs++
		return
	}
	for _, dst := range a.Dsts {
		b, err := a.Encode(dst, c.NextID())
		if err == nil {
			err = c.Send(b, a.Src, dst)
		}
		if err != nil {
			e.actErrs++
			e.log.Debugf("(%s) advert to %v: %v", m.cfg.Name, dst, err)
		}
	}
}

func (e *Engine) setAddrs(m *inst, vips, excluded []netip.Prefix, add bool) {
	for _, list := range [][]netip.Prefix{vips, excluded} {
		for _, p := range list {
			a, ok := m.addrs[p]
			if !ok {
				a = netio.Addr{Prefix: p, Dev: m.vc.Interface}
			}
			var err error
			if add {
				err = e.net.AddAddr(a)
			} else {
				err = e.net.DelAddr(a)
			}
			if err != nil {
				e.actErrs++
				e.log.Errorf("(%s) %v", m.cfg.Name, err)
			}
		}
	}
}

func (e *Engine) gratuitous(m *inst, a vrrp.SendGratuitous, now time.Duration) {
	if len(a.Addrs) == 0 || a.Repeat <= 0 {
		return
	}
	kind := "ARPs"
	interval := e.cfg.Global.GarpInterval
	if m.vc.IPv6 {
		kind, interval = "NAs", e.cfg.Global.GnaInterval
	}
	if e.opts.LogDetail {
		e.log.Infof("(%s) Sending/queueing gratuitous %s on %s for %v", m.cfg.Name, kind, m.vc.Interface, a.Addrs[0])
	}
	at := now
	for range a.Repeat {
		for _, addr := range a.Addrs {
			dev := m.vc.Interface
			for _, va := range m.addrs {
				if va.Prefix.Addr() == addr {
					dev = va.Dev
				}
			}
			e.garpQ = append(e.garpQ, garpItem{at: at, iface: dev, addr: addr})
			at += interval
		}
	}
	e.flushGarp(now)
}

func (e *Engine) flushGarp(now time.Duration) {
	q := e.garpQ[:0]
	for _, g := range e.garpQ {
		if g.at > now {
			q = append(q, g)
			continue
		}
		if err := e.net.Gratuitous(g.iface, g.addr); err != nil {
			e.actErrs++
			e.log.Debugf("gratuitous for %v on %s: %v", g.addr, g.iface, err)
		}
	}
	e.garpQ = q
}

// shutdown stops every instance (priority 0 when MASTER, VIPs released
// unless KeepVIPs) and closes the sockets.
func (e *Engine) shutdown() {
	e.stopping = true
	now := e.now()
	for _, u := range e.units {
		for i := range u.members {
			e.run(u, u.step(i, vrrp.Shutdown{Now: now}))
		}
	}
	e.garpQ = nil
	for k, c := range e.conns {
		c.Close()
		delete(e.conns, k)
	}
	if !e.opts.KeepVIPs {
		// In reverse so the base interface settings end as found.
		for i := len(e.units) - 1; i >= 0; i-- {
			for _, m := range e.units[i].members {
				e.removeVMAC(m)
			}
		}
	}
}

// ensureVMACs creates the use_vmac interfaces of units before their
// sockets are opened.
func (e *Engine) ensureVMACs(units []*unit) {
	for _, u := range units {
		for _, m := range u.members {
			if m.vmac == "" {
				continue
			}
			if err := e.net.EnsureVMAC(m.base, m.vmac, m.vc.VRID); err != nil {
				e.actErrs++
				e.log.Errorf("(%s) %v", m.cfg.Name, err)
			}
		}
	}
}

func (e *Engine) removeVMAC(m *inst) {
	if m.vmac == "" {
		return
	}
	if err := e.net.RemoveVMAC(m.vmac); err != nil {
		e.log.Errorf("(%s) %v", m.cfg.Name, err)
	}
}
