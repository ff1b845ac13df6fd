package bfd

import (
	"fmt"
	"testing"

	"keepalived-go/bfd/packet"
)

// into brings a fresh session to the wanted local state with packets from
// the neighbour, as the state machine of RFC 5880 §6.2 allows.
func into(t *testing.T, want packet.State) *Session {
	t.Helper()
	s := New(conf("b1"), fixedEnv(0, 0x100))
	s.Step(Start{Now: 0})
	switch want {
	case packet.Init:
		recv(s, ms, from(packet.Down, 0))
	case packet.Up:
		recv(s, ms, from(packet.Init, s.LocalDiscr()))
	case packet.AdminDown:
		s.Step(OutputFailed{Now: ms})
	}
	if s.State() != want {
		t.Fatalf("could not bring the session to %v (at %v)", want, s.State())
	}
	return s
}

// TestStateMachine is the table of RFC 5880 §6.8.6 ("If bfd.SessionState
// is ... If received State is ..."), one row per pair of local state and
// received state, with the diagnostic and the event keepalived sends.
func TestStateMachine(t *testing.T) {
	cases := []struct {
		local, remote packet.State
		want          packet.State
		diag          packet.Diag
		notify        []bool
	}{
		// §6.8.6: Down + Down -> Init; Down + Init -> Up; Down + Up stays Down.
		{packet.Down, packet.Down, packet.Init, packet.DiagNone, nil},
		{packet.Down, packet.Init, packet.Up, packet.DiagNone, []bool{true}},
		{packet.Down, packet.Up, packet.Down, packet.DiagNone, nil},
		{packet.Down, packet.AdminDown, packet.Down, packet.DiagNone, nil},
		// Init + Init or Up -> Up; Init + Down stays Init.
		{packet.Init, packet.Down, packet.Init, packet.DiagNone, nil},
		{packet.Init, packet.Init, packet.Up, packet.DiagNone, []bool{true}},
		{packet.Init, packet.Up, packet.Up, packet.DiagNone, []bool{true}},
		// Received AdminDown while not Down -> Down, diag 3 (no event from
		// Init: the session was not Up).
		{packet.Init, packet.AdminDown, packet.Down, packet.DiagNeighborDown, nil},
		// Up + Down -> Down, diag 3, event Down.
		{packet.Up, packet.Down, packet.Down, packet.DiagNeighborDown, []bool{false}},
		{packet.Up, packet.Init, packet.Up, packet.DiagNone, nil},
		{packet.Up, packet.Up, packet.Up, packet.DiagNone, nil},
		// Up + AdminDown -> Down, diag 3, and keepalived sends no event
		// (bfd_state_fall skips it when the neighbour is AdminDown).
		{packet.Up, packet.AdminDown, packet.Down, packet.DiagNeighborDown, nil},
	}
	for _, c := range cases {
		t.Run(c.local.String()+"+"+c.remote.String(), func(t *testing.T) {
			s := into(t, c.local)
			your := s.LocalDiscr()
			if c.remote == packet.Down || c.remote == packet.AdminDown {
				your = 0
			}
			acts := recv(s, 2*ms, from(c.remote, your))
			if s.State() != c.want {
				t.Fatalf("state %v, want %v", s.State(), c.want)
			}
			if snap := s.Snapshot(); snap.LocalDiag != c.diag {
				t.Fatalf("diag %v, want %v", snap.LocalDiag, c.diag)
			}
			if got := notifies(acts); len(got) != len(c.notify) || (len(got) > 0 && got[0] != c.notify[0]) {
				t.Fatalf("events %v, want %v", got, c.notify)
			}
		})
	}
}

// RFC 5880 §6.8.6: "If bfd.SessionState is AdminDown: Discard the packet"
// is the shell's (it cannot reopen the socket); once reopened keepalived
// goes to Init and processes the packet.
func TestAdminDownPacketAfterReopen(t *testing.T) {
	s := into(t, packet.AdminDown)
	if d := s.Snapshot().LocalDiag; d != packet.DiagAdminDown {
		t.Fatalf("diag %v", d)
	}
	if _, ok := s.Deadline(); ok {
		t.Fatal("an AdminDown session has a timer")
	}
	recv(s, 2*ms, from(packet.Down, 0))
	if s.State() != packet.Init {
		t.Fatalf("state %v, want Init", s.State())
	}
}

// §6.8.6: the A bit without authentication in use: discard.
func TestAuthBitDiscarded(t *testing.T) {
	s := into(t, packet.Down)
	p := from(packet.Down, 0)
	p.Auth = &packet.Auth{Type: 1, Data: []byte{1, 'x'}}
	acts := recv(s, ms, p)
	if s.State() != packet.Down || s.Snapshot().Stats.Discards[packet.ErrAuth] != 1 {
		t.Fatalf("state %v, discards %v", s.State(), s.Snapshot().Stats.Discards)
	}
	if !hasLog(acts, "Discarding packet from [198.51.100.2]:49200 (auth bit is set, but no authentication  is in use)") {
		t.Fatalf("logs %q", logs(acts))
	}
}

// RFC 5881 §5 (GTSM): with max_hops 0 only TTL 255 passes; keepalived's
// max_hops lowers the bar, 255 disables the check, and an unknown TTL (0)
// passes.
func TestTTLCheck(t *testing.T) {
	cases := []struct {
		ttl, maxHops, got int
		ok                bool
	}{
		{255, 0, 255, true},
		{255, 0, 254, false},
		{255, 0, 0, true},
		{255, 1, 254, true},
		{255, 1, 253, false},
		{255, 255, 1, true},
		{64, 0, 64, true},
		{64, 0, 63, false},
		{10, 10, 1, true},
	}
	for _, c := range cases {
		cfg := conf("b1")
		cfg.TTL, cfg.MaxHops = uint8(c.ttl), uint8(c.maxHops)
		s := New(cfg, fixedEnv(0, 1))
		acts := s.Step(Received{Now: ms, Packet: from(packet.Down, 0), TTL: c.got, From: peerAddr})
		accepted := s.State() == packet.Init
		if accepted != c.ok {
			t.Errorf("ttl %d max_hops %d, received %d: accepted %v", c.ttl, c.maxHops, c.got, accepted)
		}
		if !c.ok && s.Snapshot().Stats.Discards[packet.ErrTTL] != 1 {
			t.Errorf("ttl drop not counted: %v", s.Snapshot().Stats.Discards)
		}
		if !c.ok && !hasLog(acts, fmt.Sprintf("Packet ttl(%d) < %d - discarding", c.got, c.ttl-c.maxHops)) {
			t.Errorf("logs %q", logs(acts))
		}
	}
}

// §6.8.3: while not Up, Desired Min TX is at least one second (idle_tx);
// §6.8.7: the transmit interval is the larger of our Desired Min TX and
// the neighbour's Required Min RX.
func TestIntervals(t *testing.T) {
	s := into(t, packet.Init)
	snap := s.Snapshot()
	// Neighbour not Up: idle interval; remote tx is max(min_rx, its min_tx).
	if snap.TxInterval != 1000*ms || snap.RemoteTxInterval != 20*ms || snap.DetectTime != 60*ms {
		t.Fatalf("Init: tx %v remote tx %v detect %v", snap.TxInterval, snap.RemoteTxInterval, snap.DetectTime)
	}
	recv(s, 2*ms, from(packet.Up, s.LocalDiscr()))
	snap = s.Snapshot()
	if snap.State != packet.Up || snap.TxInterval != 20*ms || snap.DesiredMinTx != 10*ms {
		t.Fatalf("Up: %v tx %v desired %v", snap.State, snap.TxInterval, snap.DesiredMinTx)
	}
	if snap.RemoteDetectTime != 5*20*ms {
		t.Fatalf("remote detect %v", snap.RemoteDetectTime)
	}
}

// §6.5: a system receiving a Poll sends a Final at once; the Final goes
// in exactly one packet.
func TestPollAnsweredWithFinal(t *testing.T) {
	s := into(t, packet.Up)
	p := from(packet.Up, s.LocalDiscr())
	p.Poll = true
	out := sends(recv(s, 2*ms, p))
	if len(out) != 1 || !out[0].Final || out[0].Poll {
		t.Fatalf("answer to poll: %+v", out)
	}
	d, _ := s.Deadline()
	next := sends(s.Step(Tick{Now: d}))
	for _, q := range next {
		if q.Final {
			t.Fatalf("Final repeated: %+v", q)
		}
	}
}
