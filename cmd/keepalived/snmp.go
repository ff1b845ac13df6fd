package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/snmp"
	"keepalived-go/snmp/agentx"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"

	vrrpengine "keepalived-go/vrrp/engine"
)

// trapQueueSize bounds the notifications waiting for the master agent: a
// peer sending bad adverts, or a master that is away, cannot grow memory.
const trapQueueSize = 1024

// snmpAgent is keepalived's SNMP subagent in the daemon: it serves the
// MIBs the switches enable from the engines' Status() snapshots, applies
// the Sets keepalived accepts through the engines' commands and sends the
// notifications of the engines' events, in their order. It is an engine:
// a reload restarts the AgentX session only when the switches or the
// socket changed; on stop it sends the shutdown notifications first.
type snmpAgent struct {
	d   *daemon
	log *logrus.Logger
	// vrrpDone is closed once the VRRP engine stopped and its last events
	// (the STOP transitions) were handed out.
	vrrpDone <-chan struct{}

	mu        sync.Mutex
	cfg       *config.Config
	prev      *config.Config // the config before the last reload
	vrrpStart time.Time
	srv       *snmp.Server // nil while SNMP is off
	sw        snmp.Switches
	started   time.Time       // when srv started
	rsUp      map[string]bool // each real server's last health, by VS and RS key

	reload chan struct{}
	// traps holds notification builders; they run on the sender, which
	// may ask the engines for their state (the VRRP owner may not).
	traps   chan func() [][]agentx.Varbind
	dropped uint64 // traps dropped on a full queue, guarded by mu
}

func newSNMPAgent(d *daemon, cfg *config.Config, vrrpDone <-chan struct{}) *snmpAgent {
	return &snmpAgent{d: d, log: d.log, vrrpDone: vrrpDone, cfg: cfg, vrrpStart: time.Now(),
		reload: make(chan struct{}, 1), traps: make(chan func() [][]agentx.Varbind, trapQueueSize),
		rsUp: map[string]bool{}}
}

// Validate takes any config: a socket that cannot be reached is retried,
// as keepalived's AgentX session is, not a reason to refuse a reload.
func (a *snmpAgent) Validate(*config.Config) error { return nil }

// Reload takes the new config: a new snmp_vrrp_start_time, and a new
// session if the switches or the socket changed (Run decides).
func (a *snmpAgent) Reload(cfg *config.Config) error {
	a.mu.Lock()
	a.prev, a.cfg, a.vrrpStart = a.cfg, cfg, time.Now()
	a.mu.Unlock()
	select {
	case a.reload <- struct{}{}:
	default:
	}
	return nil
}

// session is one running AgentX session.
type session struct {
	srv    *snmp.Server
	sw     snmp.Switches
	socket string
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *session) stop() {
	if s != nil {
		s.cancel()
		<-s.done
	}
}

// Run keeps a session open while SNMP is enabled, restarting it when a
// reload changes the switches or the socket, and sends the queued
// notifications once the first session started.
func (a *snmpAgent) Run(ctx context.Context) error {
	cur := a.apply(nil)
	senderDone := make(chan struct{})
	stopSender := make(chan struct{})
	go a.sender(stopSender, senderDone)
	for running := true; running; {
		select {
		case <-a.reload:
			cur = a.apply(cur)
		case <-ctx.Done():
			running = false
		}
	}
	a.shutdown(cur != nil)
	close(stopSender)
	<-senderDone
	a.setServer(nil, snmp.Switches{})
	cur.stop()
	return nil
}

// apply starts, stops or restarts the session for the current config.
func (a *snmpAgent) apply(cur *session) *session {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	sw, socket := snmpSwitches(&cfg.Global), cfg.Global.SNMPSocket
	if cur != nil && (!snmpEnabled(sw) || cur.sw != sw || cur.socket != socket) {
		a.log.Info("SNMP settings changed - restarting the SNMP subagent")
		a.setServer(nil, sw)
		cur.stop()
		cur = nil
	}
	if cur == nil && snmpEnabled(sw) {
		s, err := a.start(sw, socket)
		if err != nil {
			a.log.Errorf("SNMP: %v", err)
		}
		cur = s
	}
	return cur
}

func (a *snmpAgent) start(sw snmp.Switches, socket string) (*session, error) {
	srv, err := snmp.NewServer(snmp.ServerConfig{Socket: socket, Switches: sw, State: a.state,
		Setter: snmpSetter{a}, Log: logrus.NewEntry(a.log)})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{srv: srv, sw: sw, socket: socket, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Errorf("SNMP subagent: %v", err)
		}
	}()
	a.setServer(srv, sw)
	return s, nil
}

func (a *snmpAgent) setServer(srv *snmp.Server, sw snmp.Switches) {
	a.mu.Lock()
	a.srv, a.sw, a.started = srv, sw, time.Now()
	a.mu.Unlock()
}

// connectWait bounds how long a notification waits for a new session to
// open: keepalived opens its session before it sends anything.
const connectWait = 2 * time.Second

// waitConnected waits, within connectWait of the session's start, for the
// master to take the session.
func (a *snmpAgent) waitConnected(srv *snmp.Server) {
	a.mu.Lock()
	started := a.started
	a.mu.Unlock()
	up := srv.Agent().Connected()
	select {
	case <-up:
		return
	default:
	}
	if wait := time.Until(started.Add(connectWait)); wait > 0 {
		select {
		case <-up:
		case <-time.After(wait):
		}
	}
}

// current is the running server and its switches (nil when off).
func (a *snmpAgent) current() (*snmp.Server, snmp.Switches) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.srv, a.sw
}

// shutdown waits for the VRRP engine's last events, queues the checker's
// shutdown notifications and lets the queue drain (each within a bound).
func (a *snmpAgent) shutdown(on bool) {
	if !on {
		return
	}
	select {
	case <-a.vrrpDone:
	case <-time.After(8 * time.Second):
	}
	if !a.d.opts.dontReleaseIPVS {
		a.enqueue(a.checkerStopTraps)
	}
	deadline := time.After(3 * time.Second)
	for len(a.traps) > 0 {
		select {
		case <-deadline:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// sender sends the queued notifications in order until stop, then what
// is left.
func (a *snmpAgent) sender(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	send := func(build func() [][]agentx.Varbind) {
		srv, _ := a.current()
		if srv == nil {
			return
		}
		a.waitConnected(srv)
		srv.Send(build()...)
	}
	for {
		select {
		case b := <-a.traps:
			send(b)
		case <-stop:
			for {
				select {
				case b := <-a.traps:
					send(b)
				default:
					return
				}
			}
		}
	}
}

// enqueue queues a notification builder; it never blocks.
func (a *snmpAgent) enqueue(b func() [][]agentx.Varbind) {
	a.mu.Lock()
	sw := snmpSwitches(&a.cfg.Global)
	a.mu.Unlock()
	if !snmpEnabled(sw) || !sw.Traps {
		return
	}
	select {
	case a.traps <- b:
	default:
		a.mu.Lock()
		a.dropped++
		n := a.dropped
		a.mu.Unlock()
		if n&(n-1) == 0 { // 1, 2, 4, ... : a flood is logged, not every trap
			a.log.Warnf("SNMP: notification queue full, %d notifications dropped", n)
		}
	}
}

// input gathers what a State is built from, asking each engine.
func (a *snmpAgent) input() snmpInput {
	a.mu.Lock()
	cfg, start := a.cfg, a.vrrpStart
	a.mu.Unlock()
	d := a.d
	d.mu.Lock()
	v, chk, lv := d.vrrp, d.check, d.lvs
	d.mu.Unlock()
	in := snmpInput{cfg: cfg, ifs: newKernelIfaces(), vrrpStart: start, namespace: d.opts.namespace, now: time.Now()}
	if v != nil {
		s := v.Status()
		in.vrrp = &s
	}
	if chk != nil {
		s := chk.Status()
		in.check = &s
	}
	if lv != nil {
		s := lv.Status()
		in.lvs = &s
	}
	return in
}

// state is the server's Provider.
func (a *snmpAgent) state() *snmp.State { return buildSNMPState(a.input()) }

// instance is the named instance as the MIBs show it now.
func (a *snmpAgent) instance(in snmpInput, name string) (snmp.Instance, bool) {
	if in.vrrp == nil {
		return snmp.Instance{}, false
	}
	for i := range in.vrrp.Instances {
		if in.vrrp.Instances[i].Name == name {
			return snmpInstance(in, &in.vrrp.Instances[i]), true
		}
	}
	return snmp.Instance{}, false
}

// onVRRP turns the VRRP engine's state changes into notifications
// (send_instance_notifies, the sync group's notify).
func (a *snmpAgent) onVRRP(ev vrrpengine.Event) {
	switch e := ev.(type) {
	case vrrpengine.StateChange:
		a.mu.Lock()
		ci := findInstance(e.Instance, a.cfg, a.prev)
		a.mu.Unlock()
		a.enqueue(func() [][]agentx.Varbind {
			_, sw := a.current()
			in := a.input()
			inst, ok := a.instance(in, e.Instance)
			if !ok {
				if ci == nil {
					return nil
				}
				// Gone from the engine (a reload removed it): what the
				// instance trap carries is in its config.
				inst = snmp.Instance{Name: ci.Name, InitialState: configuredState(ci)}
			}
			inst.State = snmpVRRPState(e.To)
			// keepalived still reports a deleted instance as FAULT
			// unless notify_deleted asks for DELETED.
			if e.To == vrrp.StateDeleted && (ci == nil || !ci.NotifyDeletedSet) {
				inst.State = snmp.StateFault
			}
			return snmp.StateChangeTraps(sw, in.cfg.Global.RouterID, &inst)
		})
	case vrrpengine.GroupStateChange:
		a.enqueue(func() [][]agentx.Varbind {
			_, sw := a.current()
			a.mu.Lock()
			rid := a.cfg.Global.RouterID
			a.mu.Unlock()
			g := snmp.SyncGroup{Name: e.Group, State: snmpVRRPState(e.State)}
			return [][]agentx.Varbind{snmp.GroupStateTrap(sw, rid, &g)}
		})
	}
}

// onDiscard runs on the VRRP engine's owner: it only queues. keepalived's
// vrrp_check_packet sends vrrpTrapAuthFailure for authentication errors
// and vrrpv3NotifyProtoError for TTL, version and checksum errors.
func (a *snmpAgent) onDiscard(ev vrrpengine.Discard) {
	var errType int32
	switch ev.Reason {
	case packet.ErrInvalidAuthType:
		errType = snmp.InvalidAuthType
	case packet.ErrAuthType:
		errType = snmp.AuthTypeMismatch
	case packet.ErrAuth, packet.ErrReplay:
		errType = snmp.AuthFailure
	case packet.ErrTTL, packet.ErrVersion, packet.ErrChecksum:
	default:
		return
	}
	a.enqueue(func() [][]agentx.Varbind {
		_, sw := a.current()
		in := a.input()
		inst, ok := a.instance(in, ev.Instance)
		if !ok {
			return nil
		}
		idx := in.ifs.Index(ev.Interface)
		if errType != 0 {
			return [][]agentx.Varbind{snmp.RFC2787AuthFailureTrap(sw, &inst, idx, agentx.IP(nil, ev.Src.Unmap()), errType)}
		}
		return [][]agentx.Varbind{snmp.RFC6527ProtoErrorTrap(sw, &inst, idx)}
	})
}

// checkerVS is the named virtual server as the MIBs show it now.
func (a *snmpAgent) checkerVS(in snmpInput, name string) (*snmp.VirtualServer, bool) {
	if in.check == nil {
		return nil, false
	}
	c := snmpChecker(in)
	for i, vs := range in.cfg.VirtualServers {
		if vs.Name() == name {
			return &c.VirtualServers[i], true
		}
	}
	return nil, false
}

// onRealServer sends realServerStateChange for a real server's change of
// health (keepalived's do_rs_notifies); a weight change sends none.
func (a *snmpAgent) onRealServer(ev check.RealServerEvent) {
	key := ev.VSKey + " " + ev.RSKey
	a.mu.Lock()
	was, known := a.rsUp[key]
	a.rsUp[key] = ev.Up
	a.mu.Unlock()
	// keepalived starts real servers alive: the first event of one that
	// comes up is no change either.
	if ev.Initial || was == ev.Up || !known && ev.Up {
		return
	}
	a.enqueue(func() [][]agentx.Varbind {
		_, sw := a.current()
		in := a.input()
		vs, ok := a.checkerVS(in, ev.VSKey)
		if !ok {
			return nil
		}
		for i, rs := range ev.VS.RealServers {
			if ev.VS.RealServerName(rs) == ev.RSKey && i < len(vs.RealServers) {
				r := &vs.RealServers[i]
				r.Alive = ev.Up
				return [][]agentx.Varbind{snmp.RealServerTrap(sw, in.cfg.Global.RouterID, vs, r)}
			}
		}
		return nil
	})
}

// onQuorum sends virtualServerQuorumStateChange at start and on every
// change (do_vs_notifies).
func (a *snmpAgent) onQuorum(ev lvs.QuorumEvent) {
	a.enqueue(func() [][]agentx.Varbind {
		_, sw := a.current()
		in := a.input()
		vs, ok := a.checkerVS(in, ev.VirtualServer)
		if !ok {
			return nil
		}
		vs.QuorumUp = ev.Up
		return [][]agentx.Varbind{snmp.QuorumTrap(sw, in.cfg.Global.RouterID, vs, false)}
	})
}

// checkerStopTraps are keepalived's notifications of clear_services at
// shutdown: each live real server going down, then each virtual
// server's quorum as stopping.
func (a *snmpAgent) checkerStopTraps() [][]agentx.Varbind {
	_, sw := a.current()
	in := a.input()
	if in.check == nil {
		return nil
	}
	var out [][]agentx.Varbind
	c := snmpChecker(in)
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if in.cfg.Global.LVSFlushOnStop != "FULL" {
			for j := range vs.RealServers {
				if rs := &vs.RealServers[j]; rs.Alive {
					rs.Alive = false
					out = append(out, snmp.RealServerTrap(sw, in.cfg.Global.RouterID, vs, rs))
				}
			}
		}
		vs.QuorumUp = false
		out = append(out, snmp.QuorumTrap(sw, in.cfg.Global.RouterID, vs, true))
	}
	return out
}

// snmpSetter applies the Sets keepalived accepts through the engines.
type snmpSetter struct{ a *snmpAgent }

func (s snmpSetter) vrrp() (*vrrpengine.Engine, error) {
	s.a.d.mu.Lock()
	defer s.a.d.mu.Unlock()
	if s.a.d.vrrp == nil {
		return nil, errors.New("no VRRP instances run")
	}
	return s.a.d.vrrp, nil
}

func (s snmpSetter) SetBasePriority(instance string, prio uint8) error {
	v, err := s.vrrp()
	if err != nil {
		return err
	}
	return v.SetBasePriority(instance, prio)
}

func (s snmpSetter) SetPreempt(instance string, preempt bool) error {
	v, err := s.vrrp()
	if err != nil {
		return err
	}
	return v.SetPreempt(instance, preempt)
}

// SetRealServerWeight finds the configured virtual and real server the
// state showed and has the checker engine change the weight.
func (s snmpSetter) SetRealServerWeight(vs *snmp.VirtualServer, rs *snmp.RealServer, w uint32) error {
	s.a.d.mu.Lock()
	chk, cfg := s.a.d.check, s.a.d.cfg
	s.a.d.mu.Unlock()
	if chk == nil || cfg == nil {
		return errors.New("no checkers run")
	}
	for _, cvs := range cfg.VirtualServers {
		if cvs.Group != vs.Group || cvs.FWMark != vs.FWMark || cvs.Addr != vs.Addr || uint16(cvs.Port) != vs.Port ||
			cvs.Protocol != vs.Protocol {
			continue
		}
		for _, crs := range cvs.RealServers {
			if crs.Addr == rs.Addr && uint16(crs.Port) == rs.Port {
				return chk.SetWeight(cvs.Name(), cvs.RealServerName(crs), int(w))
			}
		}
	}
	return fmt.Errorf("real server %v:%d not found", rs.Addr, rs.Port)
}

// configuredState is vrrpInstanceInitialState from the config: MASTER as
// written, or for an address owner left to decide; else BACKUP.
func configuredState(ci *config.VRRPInstance) snmp.VRRPState {
	if ci.State == config.StateMaster || ci.State == "" && ci.Priority == 255 {
		return snmp.StateMaster
	}
	return snmp.StateBackup
}
