// Package engine runs the bfd_instances of a configuration: the I/O shell
// around the pure sessions of package bfd, as keepalived 2.2.7's BFD
// process is around its state machine (bfd_scheduler.c, bfd_daemon.c).
//
// One goroutine owns every session and reads one inbox: received packets
// (from a reader goroutine on the input socket), expiries of one timerfd
// armed for the earliest session deadline, reloads, status requests and
// the stop. State changes leave on Events, in order, for cmd/keepalived to
// route to VRRP (track_bfd) and the checkers (BFD_CHECK).
//
// The wire is keepalived's: one input socket on UDP 3784 for IPv4 and IPv6
// (keepalived 2.2.7 has no RFC 5883 multihop port 4784; its ttl and
// max_hops cover multihop on 3784), TTL/hop limit read from every packet
// and checked as RFC 5881 §5 says (stretched by max_hops); one output
// socket per session bound to source_ip on a random port in 49152-65535
// (clipped to ip_local_port_range) sending with the session's TTL (255) or
// hop limit (64).
//
// Where it differs from keepalived: a reload keeps a session (and its
// socket) only when name, neighbour and source address are unchanged;
// keepalived keeps the state of any instance of the same name and reopens
// every output socket, so its source port changes on each reload.
package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/bfd"
	"keepalived-go/bfd/packet"
	"keepalived-go/config"
	"keepalived-go/internal/errno"
	"keepalived-go/internal/timerfd"
)

// Options configures an Engine.
type Options struct {
	Log *logrus.Entry
	// LogDetail is keepalived's -D (bfd.LogDetail) or more.
	LogDetail bfd.Detail
	// Net opens sockets; nil is Linux{} (the current network namespace).
	Net Net
	// Listen is the input socket's address; the zero value is [::]:3784
	// (and 0.0.0.0:3784 where IPv6 is off). PeerPort is where packets go:
	// 0 is 3784. Tests running two engines on one host set both.
	Listen   netip.AddrPort
	PeerPort uint16
	// Random is C's random() for jitter and discriminators; nil seeds one.
	Random func() uint32
	// Now is a monotonic clock; nil is time since New.
	Now func() time.Duration
	// RetryOutput is how long after a failed output socket to try again
	// (keepalived: 60 s).
	RetryOutput time.Duration
}

// Event is a session's state reported to the rest of the daemon
// (keepalived's bfd_event_t): Up, or not Up. VRRP and Checker say where
// keepalived would send it (the bfd_instance's vrrp / checker keywords).
type Event struct {
	Name          string
	Up            bool
	VRRP, Checker bool
	// At is the engine's clock when the session sent it.
	At time.Duration
}

// Errors of the engine's own.
var (
	ErrRunning = errors.New("bfd engine: already running")
	ErrStopped = errors.New("bfd engine: stopped")
)

// maxQueuedEvents bounds the events not yet read from Events: beyond it,
// the queue keeps only the latest state of each session (what VRRP and
// the checkers act on).
const maxQueuedEvents = 4096

// Engine runs the sessions of one configuration.
type Engine struct {
	opts  Options
	log   *logrus.Entry
	net   Net
	start time.Time
	rng   *rand.Rand

	inbox   chan any
	events  chan Event
	done    chan struct{}
	running sync.Mutex  // held while Run runs
	live    atomic.Bool // Run serves the inbox

	// Owned by the Run goroutine.
	cfg      []*config.BFDInstance
	sessions map[string]*session
	byDiscr  map[uint32]*session
	in       *net.UDPConn
	discards map[error]uint64
	rxBad    uint64
	timer    *timerfd.Timer

	evMu   sync.Mutex
	evCond *sync.Cond
	evQ    []Event
	evDone bool
}

// session is one bfd_instance at run time.
type session struct {
	cfg        *config.BFDInstance
	fsm        *bfd.Session
	out        *net.UDPConn
	dst        netip.AddrPort
	retryAt    time.Duration // when to reopen a failed output socket; 0 none
	sendError  bool
	sendErrors uint64
	discr      uint32 // as indexed in byDiscr
	buf        []byte
}

// New prepares the sessions of cfg; nothing touches the network before Run.
func New(cfg *config.Config, opts Options) *Engine {
	if opts.Log == nil {
		opts.Log = logrus.NewEntry(logrus.New())
	}
	if opts.Net == nil {
		opts.Net = Linux{}
	}
	if opts.PeerPort == 0 {
		opts.PeerPort = packet.ControlPort
	}
	if !opts.Listen.IsValid() && opts.Listen.Port() == 0 {
		opts.Listen = netip.AddrPortFrom(netip.Addr{}, packet.ControlPort)
	}
	if opts.RetryOutput == 0 {
		opts.RetryOutput = 60 * time.Second
	}
	e := &Engine{
		opts: opts, log: opts.Log, net: opts.Net, start: time.Now(),
		rng:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x62666421)),
		inbox: make(chan any, 256), events: make(chan Event, 64), done: make(chan struct{}),
		sessions: map[string]*session{}, byDiscr: map[uint32]*session{}, discards: map[error]uint64{},
	}
	e.evCond = sync.NewCond(&e.evMu)
	e.cfg = sessionsOf(cfg)
	return e
}

// sessionsOf is the bfd_instances keepalived's BFD process runs.
func sessionsOf(cfg *config.Config) []*config.BFDInstance {
	if cfg == nil {
		return nil
	}
	return cfg.BFDInstances
}

// Epoch is the wall time of the engine clock's zero, from which Event.At
// and SessionStatus.LastSeen count, when Options.Now is nil.
func (e *Engine) Epoch() time.Time { return e.start }

// Events delivers state changes in order. It is closed after Run returns.
func (e *Engine) Events() <-chan Event { return e.events }

func (e *Engine) now() time.Duration {
	if e.opts.Now != nil {
		return e.opts.Now()
	}
	return time.Since(e.start)
}

func (e *Engine) random() uint32 {
	if e.opts.Random != nil {
		return e.opts.Random()
	}
	return e.rng.Uint32() >> 1
}

// newDiscr is bfd_get_random_discr: random, never zero, unique among the
// sessions, its low bit the parity of the current second.
func (e *Engine) newDiscr() uint32 {
	for {
		r := uint32((uint64(0xffffffff) * uint64(e.random()&0x7fffffff)) >> 31)
		d := (r+1)&^1 | uint32(time.Now().Unix()&1)
		if d == 0 {
			continue
		}
		if _, used := e.byDiscr[d]; used {
			continue
		}
		clash := false
		for _, s := range e.sessions {
			if s.fsm != nil && s.fsm.LocalDiscr() == d {
				clash = true
			}
		}
		if !clash {
			return d
		}
	}
}

// Run opens the input socket, starts the sessions and serves them until
// ctx ends. A missing input socket is fatal, as for keepalived ("Unable to
// open listening socket").
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.TryLock() {
		return ErrRunning
	}
	defer e.running.Unlock()
	select {
	case <-e.done:
		return ErrStopped
	default:
	}
	// From here requests wait in the inbox for the loop, or for done.
	e.live.Store(true)
	defer e.live.Store(false)
	evDone := make(chan struct{})
	go e.deliver(evDone)
	defer func() {
		close(e.done)
		e.evMu.Lock()
		e.evDone = true
		e.evCond.Broadcast()
		e.evMu.Unlock()
		<-evDone
	}()
	in, err := openInput(e.net, e.opts.Listen)
	if err != nil {
		// bfd_open_fd_in's lines.
		if n := errno.Of(err); n != 0 {
			e.log.Errorf("bind() error %d (%s)", n, errno.Text(err))
		}
		e.log.Error("Unable to open listening socket")
		return fmt.Errorf("BFD listening socket on UDP port %d: %w", e.opts.Listen.Port(), err)
	}
	e.in = in
	readDone := make(chan struct{})
	go e.read(in, readDone)
	e.timer = timerfd.New()
	defer func() {
		in.Close()
		<-readDone
		e.timer.Close()
		for _, s := range e.sessions {
			s.close()
		}
	}()
	e.startAll(false)
	return e.loop(ctx)
}

func (e *Engine) loop(ctx context.Context) error {
	for {
		e.rearm()
		select {
		case <-ctx.Done():
			return nil
		case <-e.timer.C:
			e.tick()
		case m := <-e.inbox:
			switch m := m.(type) {
			case rxPacket:
				e.receive(m)
			case reloadReq:
				e.reload(m.cfg)
				close(m.done)
			case statusReq:
				m.reply <- e.status()
			}
		}
	}
}

// rearm points the timer at the earliest deadline.
func (e *Engine) rearm() {
	next, ok := time.Duration(0), false
	for _, s := range e.sessions {
		if d, has := s.fsm.Deadline(); has && (!ok || d < next) {
			next, ok = d, true
		}
		if s.retryAt != 0 && (!ok || s.retryAt < next) {
			next, ok = s.retryAt, true
		}
	}
	if !ok {
		e.timer.Stop()
		return
	}
	e.timer.Reset(max(next-e.now(), 0))
}

// tick runs every due timer.
func (e *Engine) tick() {
	now := e.now()
	for _, s := range e.sessions {
		if s.retryAt != 0 && s.retryAt <= now {
			e.retryOutput(s, now)
		}
		if d, ok := s.fsm.Deadline(); ok && d <= now {
			e.perform(s, s.fsm.Step(bfd.Tick{Now: now}), now)
		}
	}
}

type reloadReq struct {
	cfg  *config.Config
	done chan struct{}
}

// Reload applies cfg to the running engine (see reload.go).
func (e *Engine) Reload(cfg *config.Config) error {
	if !e.live.Load() {
		return ErrStopped
	}
	r := reloadReq{cfg: cfg, done: make(chan struct{})}
	select {
	case e.inbox <- r:
	case <-e.done:
		return ErrStopped
	}
	select {
	case <-r.done:
		return nil
	case <-e.done:
		return ErrStopped
	}
}

func (e *Engine) emit(ev Event) {
	e.evMu.Lock()
	defer e.evMu.Unlock()
	if len(e.evQ) >= maxQueuedEvents {
		e.evQ = coalesce(e.evQ)
	}
	e.evQ = append(e.evQ, ev)
	e.evCond.Signal()
}

// coalesce keeps the last event of each session, in the order of those.
func coalesce(q []Event) []Event {
	last := map[string]int{}
	for i, ev := range q {
		last[ev.Name] = i
	}
	out := q[:0:0]
	for i, ev := range q {
		if last[ev.Name] == i {
			out = append(out, ev)
		}
	}
	return out
}

// deliver moves queued events to the Events channel, so a slow reader never
// stalls the sessions. Events still queued when Run ends are dropped.
func (e *Engine) deliver(done chan struct{}) {
	defer close(done)
	defer close(e.events)
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
			select {
			case e.events <- ev:
			case <-e.done:
				return
			}
		}
		if fin {
			return
		}
	}
}
