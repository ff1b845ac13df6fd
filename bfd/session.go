// Package bfd is the BFD session state machine of RFC 5880 asynchronous
// mode, as keepalived 2.2.7's BFD process runs it (bfd.c, bfd_scheduler.c):
// packets and time in, packets, events and log lines out. It owns no
// socket, goroutine or clock; package bfd/engine is its I/O shell.
//
// What keepalived does, and so this does too:
//   - Intervals are microseconds. A session starts Down with its idle_tx
//     interval and offers idle_tx as Desired Min TX until it is Up; on Up it
//     starts a poll sequence when min_tx differs from idle_tx.
//   - Every transmit interval is jittered to 75-90% of the interval (keepalived
//     applies RFC 5880's DetectMult == 1 rule to every multiplier).
//   - The detection timer runs from entering Init or Up; received packets
//     push it back only while Up. When it fires the session goes Down with
//     diag 1, and a reset timer (one detection time) later the remote
//     state is forgotten.
//   - Leaving Up picks a new local discriminator. Going Down because the
//     neighbour said AdminDown sends no event to VRRP or the checkers.
//   - A passive session sends nothing until it hears from its neighbour,
//     and stops again when its detection time expires.
//   - Demand mode is never asked for; a neighbour's demand bit while both
//     are Up stops our periodic packets. Echo is not used (Required Min
//     Echo RX is 0). Authentication is not implemented: packets with the A
//     bit are dropped.
package bfd

import (
	"fmt"
	"time"

	"keepalived-go/bfd/packet"
)

// Config is one bfd_instance as the session runs it.
type Config struct {
	Name string
	// MinRx, MinTx, IdleTx are microseconds (keepalived's min_rx, min_tx,
	// idle_tx, read in ms with µs resolution).
	MinRx, MinTx, IdleTx uint32
	Multiplier           uint8
	Passive              bool
	// TTL is the TTL (IPv4) or hop limit (IPv6) sent, and what received
	// packets are checked against.
	TTL uint8
	// MaxHops is how far below TTL a received TTL may be; 255 disables
	// the check (keepalived's max_hops, -1 also meaning 255).
	MaxHops uint8
}

// Env holds the session's sources of randomness, so tests can pin them.
type Env struct {
	// Random returns a value in [0, 2^31), as C's random() does; the
	// jitter is derived from it as keepalived's rand_intv does.
	Random func() uint32
	// NewDiscr returns a fresh local discriminator, unique among the
	// engine's sessions and never zero.
	NewDiscr func() uint32
	// LogDetail is the most detailed log line wanted: lines beyond it are
	// never formatted.
	LogDetail Detail
}

// Session is one BFD session. It is not safe for concurrent use.
type Session struct {
	cfg Config
	env Env

	localState, remoteState packet.State
	localDiscr, remoteDiscr uint32
	localDiag, remoteDiag   packet.Diag
	remoteMinTx             uint32
	remoteMinRx             uint32
	remoteDemand            bool
	remoteDetectMult        uint8
	poll, final             bool

	localTxIntv, remoteTxIntv         uint32
	localDetectTime, remoteDetectTime uint64
	lastSeen                          time.Duration
	seen                              bool

	tx, expire, reset timer
	stats             Stats
	out               []Action
}

// timer is one of keepalived's per-session threads: a deadline or none.
type timer struct {
	at  time.Duration
	set bool
}

// Stats counts what the session did.
type Stats struct {
	Sent, Received uint64
	// Discards counts packets the session refused, by sentinel
	// (packet.ErrTTL, packet.ErrAuth).
	Discards   map[error]uint64
	Ups, Downs uint64
	PollsSent  uint64
	FinalsSent uint64
	// LastChange is when the local state last changed.
	LastChange time.Duration
}

// New makes a session in keepalived's initial state (bfd_init_state):
// Down, a fresh discriminator, idle_tx as the transmit interval. Nothing
// runs until Start.
func New(cfg Config, env Env) *Session {
	s := &Session{cfg: cfg, env: env}
	s.localState, s.remoteState = packet.Down, packet.Down
	s.localDiscr = env.NewDiscr()
	s.localTxIntv = cfg.IdleTx
	s.stats.Discards = map[error]uint64{}
	return s
}

// Config returns the session's configuration.
func (s *Session) Config() Config { return s.cfg }

// State is the local session state.
func (s *Session) State() packet.State { return s.localState }

// LocalDiscr is the session's My Discriminator.
func (s *Session) LocalDiscr() uint32 { return s.localDiscr }

// Deadline is the earliest timer; send Tick at or after it.
func (s *Session) Deadline() (time.Duration, bool) {
	var d time.Duration
	ok := false
	for _, t := range []timer{s.tx, s.expire, s.reset} {
		if t.set && (!ok || t.at < d) {
			d, ok = t.at, true
		}
	}
	return d, ok
}

// Step feeds one event to the session and returns what to do, in order.
func (s *Session) Step(ev Event) []Action {
	s.out = nil
	switch e := ev.(type) {
	case Start:
		s.start(e)
	case Tick:
		s.tick(e.Now)
	case Received:
		s.receive(e)
	case OutputFailed:
		s.stateAdminDown(e.Now)
	case OutputRestored:
		s.outputRestored(e.Now)
	case Reconfigure:
		s.reconfigure(e)
	default:
		panic(fmt.Sprintf("bfd: unknown event %T", ev))
	}
	out := s.out
	s.out = nil
	return out
}

func (s *Session) emit(a Action) { s.out = append(s.out, a) }

func (s *Session) logf(lvl Level, detail Detail, format string, args ...any) {
	if detail > s.env.LogDetail {
		return
	}
	s.emit(Log{Level: lvl, Detail: detail, Text: fmt.Sprintf(format, args...)})
}

// notify is keepalived's bfd_event_send: Up or Down to VRRP and checkers.
func (s *Session) notify() {
	s.emit(Notify{Up: s.localState == packet.Up})
}

// randIntv is keepalived's rand_intv: uniform in [min, max].
func (s *Session) randIntv(min, max uint32) uint32 {
	return uint32((uint64(max)-uint64(min)+1)*uint64(s.env.Random()&0x7fffffff)>>31) + min
}

// jitter is keepalived's get_jitter: 10% to 25% of the interval off every
// transmission (it tests local_detect_mult where RFC 5880 says == 1).
func (s *Session) jitter() uint32 {
	return s.randIntv(s.localTxIntv/10, s.localTxIntv/4)
}

func us(v uint64) time.Duration { return time.Duration(v) * time.Microsecond }

// Snapshot is a session's state, as keepalived's SIGUSR1 dump has it.
type Snapshot struct {
	Name                    string
	State, RemoteState      packet.State
	LocalDiscr, RemoteDiscr uint32
	LocalDiag, RemoteDiag   packet.Diag
	// DesiredMinTx is what the session advertises now (idle_tx until Up).
	DesiredMinTx, RequiredMinRx time.Duration
	RemoteMinTx, RemoteMinRx    time.Duration
	// TxInterval is the negotiated transmit interval (before jitter),
	// RemoteTxInterval the neighbour's as we expect it.
	TxInterval, RemoteTxInterval time.Duration
	DetectMult, RemoteDetectMult uint8
	// DetectTime is our detection time; RemoteDetectTime the neighbour's.
	DetectTime, RemoteDetectTime time.Duration
	Poll, Final, RemoteDemand    bool
	// LastSeen is when the last packet came (valid when Seen).
	LastSeen time.Duration
	Seen     bool
	// Sending, Expiring, Resetting: the transmit, detection and reset
	// timers are armed (keepalived's thread_out, thread_exp, thread_rst).
	Sending, Expiring, Resetting bool
	Stats                        Stats
}

// Snapshot returns the session's state; Stats.Discards is a copy.
func (s *Session) Snapshot() Snapshot {
	minTx := s.cfg.IdleTx
	if s.localState == packet.Up {
		minTx = s.cfg.MinTx
	}
	st := s.stats
	st.Discards = make(map[error]uint64, len(s.stats.Discards))
	for k, v := range s.stats.Discards {
		st.Discards[k] = v
	}
	return Snapshot{
		Name: s.cfg.Name, State: s.localState, RemoteState: s.remoteState,
		LocalDiscr: s.localDiscr, RemoteDiscr: s.remoteDiscr,
		LocalDiag: s.localDiag, RemoteDiag: s.remoteDiag,
		DesiredMinTx: us(uint64(minTx)), RequiredMinRx: us(uint64(s.cfg.MinRx)),
		RemoteMinTx: us(uint64(s.remoteMinTx)), RemoteMinRx: us(uint64(s.remoteMinRx)),
		TxInterval: us(uint64(s.localTxIntv)), RemoteTxInterval: us(uint64(s.remoteTxIntv)),
		DetectMult: s.cfg.Multiplier, RemoteDetectMult: s.remoteDetectMult,
		DetectTime: us(s.localDetectTime), RemoteDetectTime: us(s.remoteDetectTime),
		Poll: s.poll, Final: s.final, RemoteDemand: s.remoteDemand,
		LastSeen: s.lastSeen, Seen: s.seen, Stats: st,
		Sending: s.tx.set, Expiring: s.expire.set, Resetting: s.reset.set,
	}
}
