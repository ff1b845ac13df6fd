package bfd

import (
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"keepalived-go/bfd/packet"
)

const ms = time.Millisecond

// conf is a bfd_instance with keepalived's defaults: min_rx/min_tx 10 ms,
// idle_tx 1 s, multiplier 5, TTL 255, max_hops 0.
func conf(name string) Config {
	return Config{Name: name, MinRx: 10000, MinTx: 10000, IdleTx: 1000000, Multiplier: 5, TTL: 255}
}

// fixedEnv pins randomness: Random always returns r, discriminators count
// up from base.
func fixedEnv(r uint32, base uint32) Env {
	next := base
	return Env{
		Random:    func() uint32 { return r },
		NewDiscr:  func() uint32 { next++; return next },
		LogDetail: ExtraDetail,
	}
}

func seededEnv(seed int64, base uint32) Env {
	rng := rand.New(rand.NewSource(seed))
	next := base
	return Env{
		Random:    func() uint32 { return uint32(rng.Int31()) },
		NewDiscr:  func() uint32 { next++; return next },
		LogDetail: ExtraDetail,
	}
}

func sends(acts []Action) []packet.Control {
	var out []packet.Control
	for _, a := range acts {
		if s, ok := a.(Send); ok {
			out = append(out, s.Packet)
		}
	}
	return out
}

func notifies(acts []Action) []bool {
	var out []bool
	for _, a := range acts {
		if n, ok := a.(Notify); ok {
			out = append(out, n.Up)
		}
	}
	return out
}

func logs(acts []Action) []string {
	var out []string
	for _, a := range acts {
		if l, ok := a.(Log); ok {
			out = append(out, l.Text)
		}
	}
	return out
}

func hasLog(acts []Action, text string) bool {
	for _, l := range logs(acts) {
		if l == text {
			return true
		}
	}
	return false
}

var peerAddr = netip.MustParseAddrPort("198.51.100.2:49200")

// from builds a packet as a neighbour with discriminator 0x77 would send.
func from(state packet.State, your uint32) *packet.Control {
	return &packet.Control{Version: 1, State: state, DetectMult: 3, MyDiscr: 0x77, YourDiscr: your,
		DesiredMinTx: 20000, RequiredMinRx: 20000}
}

func recv(s *Session, now time.Duration, p *packet.Control) []Action {
	return s.Step(Received{Now: now, Packet: p, TTL: 255, From: peerAddr})
}

// sim is two sessions joined by a link with a fixed one-way delay, on a
// fake clock: the deterministic simulation of raft_test.go's network.
type sim struct {
	t      *testing.T
	now    time.Duration
	s      [2]*Session
	delay  time.Duration
	cut    bool
	queue  []inflight
	events []simEvent
	sent   [2][]time.Duration
}

type inflight struct {
	at  time.Duration
	to  int
	pkt packet.Control
}

type simEvent struct {
	at   time.Duration
	who  int
	up   bool
	kind string
}

func newSim(t *testing.T, a, b Config, ea, eb Env) *sim {
	m := &sim{t: t, delay: 100 * time.Microsecond}
	m.s[0], m.s[1] = New(a, ea), New(b, eb)
	return m
}

func (m *sim) start() {
	for i := range m.s {
		m.apply(i, m.s[i].Step(Start{Now: m.now}))
	}
}

func (m *sim) apply(i int, acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case Send:
			m.sent[i] = append(m.sent[i], m.now)
			if !m.cut {
				m.queue = append(m.queue, inflight{at: m.now + m.delay, to: 1 - i, pkt: a.Packet})
			}
		case Notify:
			m.events = append(m.events, simEvent{at: m.now, who: i, up: a.Up, kind: "notify"})
		}
	}
}

// run advances the clock to until, delivering packets and firing timers
// in time order.
func (m *sim) run(until time.Duration) {
	for {
		next, what := until, -1
		for i, s := range m.s {
			if d, ok := s.Deadline(); ok && d < next {
				next, what = d, i
			}
		}
		qi := -1
		for j, p := range m.queue {
			if p.at <= next {
				next, what, qi = p.at, -2, j
			}
		}
		if what == -1 {
			m.now = until
			return
		}
		m.now = next
		if what == -2 {
			p := m.queue[qi]
			m.queue = append(m.queue[:qi], m.queue[qi+1:]...)
			pkt := p.pkt
			if err := pkt.Validate(); err != nil {
				m.t.Fatalf("session sent an invalid packet %+v: %v", pkt, err)
			}
			m.apply(p.to, m.s[p.to].Step(Received{Now: m.now, Packet: &pkt, TTL: 255, From: peerAddr}))
			continue
		}
		m.apply(what, m.s[what].Step(Tick{Now: m.now}))
	}
}

func (m *sim) describe() string {
	var b strings.Builder
	for _, e := range m.events {
		fmt.Fprintf(&b, "%v %d up=%v\n", e.at, e.who, e.up)
	}
	return b.String()
}
