package bfd

import (
	"reflect"
	"testing"
	"time"

	"keepalived-go/bfd/packet"
)

// Tests of what keepalived 2.2.7's BFD process does beyond (or against)
// RFC 5880, each naming the function of bfd_scheduler.c or bfd.c it ports.

// bfd_register_workers at startup: one packet at once, the next after the
// jittered idle interval, and a Down event to VRRP and the checkers. At a
// reload no immediate packet.
func TestStartSendsAtOnceAndReportsDown(t *testing.T) {
	s := New(conf("b1"), fixedEnv(0, 0x100))
	acts := s.Step(Start{Now: 0})
	out := sends(acts)
	if len(out) != 1 {
		t.Fatalf("sent %d packets at start", len(out))
	}
	want := packet.Control{Version: 1, State: packet.Down, DetectMult: 5, MyDiscr: 0x101,
		DesiredMinTx: 1000000, RequiredMinRx: 10000}
	if !reflect.DeepEqual(out[0], want) {
		t.Fatalf("first packet %+v\nwant %+v", out[0], want)
	}
	if n := notifies(acts); len(n) != 1 || n[0] {
		t.Fatalf("events %v, want [false]", n)
	}
	// Random 0: the least jitter, 10% of 1 s.
	if d, _ := s.Deadline(); d != 900*ms {
		t.Fatalf("next packet at %v, want 900ms", d)
	}

	r := New(conf("b1"), fixedEnv(0, 0x100))
	if out := sends(r.Step(Start{Now: 0, Reload: true})); len(out) != 0 {
		t.Fatalf("sent %d packets on reload start", len(out))
	}
}

// get_jitter: every interval is 75% to 90% of the transmit interval, the
// bounds reached at random() = RAND_MAX and 0 (rand_intv).
func TestJitterBounds(t *testing.T) {
	for _, c := range []struct {
		r    uint32
		want time.Duration
	}{{0, 900 * ms}, {1<<31 - 1, 750 * ms}, {1 << 30, 825 * ms}} {
		s := New(conf("b1"), fixedEnv(c.r, 1))
		s.Step(Start{Now: 0, Reload: true})
		if d, _ := s.Deadline(); d != c.want {
			t.Errorf("random %d: next at %v, want %v", c.r, d, c.want)
		}
	}
	m := newSim(t, conf("a"), conf("b"), seededEnv(1, 0x100), seededEnv(2, 0x200))
	m.start()
	m.run(5 * time.Second)
	sent := m.sent[0]
	up := 0
	for i := 1; i < len(sent); i++ {
		gap := sent[i] - sent[i-1]
		if gap > 10*ms {
			continue // before Up, or an immediate Final
		}
		up++
		if gap < 7500*time.Microsecond || gap > 9000*time.Microsecond {
			if gap != 0 {
				t.Fatalf("gap %v outside [7.5ms, 9ms]", gap)
			}
		}
	}
	if up < 400 {
		t.Fatalf("only %d fast packets in 5 s", up)
	}
}

// bfd_state_passive: a passive session is silent until it hears from its
// neighbour, and stops again when its detection time expires.
func TestPassive(t *testing.T) {
	c := conf("b1")
	c.Passive = true
	s := New(c, fixedEnv(0, 1))
	if out := sends(s.Step(Start{Now: 0})); len(out) != 0 {
		t.Fatalf("passive sent %d at start", len(out))
	}
	if _, ok := s.Deadline(); ok {
		t.Fatal("passive has a timer before hearing anything")
	}
	recv(s, ms, from(packet.Down, 0))
	if s.State() != packet.Init || !s.tx.set {
		t.Fatalf("after a packet: %v, sending %v", s.State(), s.tx.set)
	}
	// Init expires after the detection time (3 x 20 ms) and stops sending.
	s.Step(Tick{Now: 61 * ms})
	if s.State() != packet.Down || s.tx.set {
		t.Fatalf("after expiry: %v, sending %v", s.State(), s.tx.set)
	}
}

// bfd_handle_packet reschedules the expiry only while Up: in Init a
// neighbour that keeps saying Down (it does not hear us) does not keep the
// session alive; keepalived cycles Init -> Down (expired) -> Init.
func TestInitExpiresDespitePackets(t *testing.T) {
	s := into(t, packet.Init)
	for now := 2 * ms; now < 60*ms; now += 10 * ms {
		recv(s, now, from(packet.Down, 0))
	}
	acts := s.Step(Tick{Now: 61 * ms})
	if s.State() != packet.Down || s.Snapshot().LocalDiag != packet.DiagExpired {
		t.Fatalf("state %v diag %v", s.State(), s.Snapshot().LocalDiag)
	}
	if len(notifies(acts)) != 0 {
		t.Fatal("an Init session reported Down")
	}
	recv(s, 62*ms, from(packet.Down, 0))
	if s.State() != packet.Init {
		t.Fatalf("not back to Init: %v", s.State())
	}
}

// bfd_expire_thread: Up and silent for the detection time goes Down with
// diag 1, forgets the remote discriminator, takes a new local one, logs
// as keepalived does and tells VRRP.
func TestExpiryFromUp(t *testing.T) {
	s := into(t, packet.Up)
	oldDiscr := s.LocalDiscr()
	acts := recv(s, 10*ms, from(packet.Up, s.LocalDiscr()))
	if len(acts) == 0 {
		t.Fatal("no actions")
	}
	// 3 x max(10, 20) ms after the last packet.
	if d := s.expire.at; d != 70*ms {
		t.Fatalf("expiry at %v, want 70ms", d)
	}
	acts = s.Step(Tick{Now: 70*ms + 48*time.Microsecond})
	snap := s.Snapshot()
	if snap.State != packet.Down || snap.LocalDiag != packet.DiagExpired || snap.RemoteDiscr != 0 || snap.LocalDiscr == oldDiscr {
		t.Fatalf("after expiry %+v", snap)
	}
	for _, l := range []string{
		"(b1) Expired after 60 ms (48 usec overdue)",
		"(b1) Entering Down state (Local diagnostic - Control Detection Time Expired, Remote diagnostic - No Diagnostic)",
	} {
		if !hasLog(acts, l) {
			t.Errorf("missing log %q in %q", l, logs(acts))
		}
	}
	if n := notifies(acts); len(n) != 1 || n[0] {
		t.Fatalf("events %v", n)
	}
	// bfd_reset_thread: one detection time later the remote state is gone.
	s.recvTimersFor(t, 70*ms+48*time.Microsecond+60*ms)
	if snap := s.Snapshot(); snap.RemoteState != packet.Down || snap.RemoteDiag != packet.DiagNone || snap.TxInterval != time.Second {
		t.Fatalf("after reset %+v", snap)
	}
}

func (s *Session) recvTimersFor(t *testing.T, until time.Duration) {
	t.Helper()
	for {
		d, ok := s.Deadline()
		if !ok || d > until {
			return
		}
		s.Step(Tick{Now: d})
	}
}

// bfd_state_up starts a poll sequence when min_tx differs from idle_tx;
// every packet carries P until a Final comes; then the neighbour's timers
// are taken again (bfd_handle_packet).
func TestPollSequenceOnUp(t *testing.T) {
	s := into(t, packet.Init)
	acts := recv(s, 2*ms, from(packet.Up, s.LocalDiscr()))
	if s.State() != packet.Up || !hasLog(acts, "(b1) Entering Up state") || !hasLog(acts, "(b1) Starting poll sequence") {
		t.Fatalf("state %v logs %q", s.State(), logs(acts))
	}
	for i := 0; i < 3; i++ {
		d, _ := s.Deadline()
		out := sends(s.Step(Tick{Now: d}))
		if len(out) != 1 || !out[0].Poll || out[0].DesiredMinTx != 10000 {
			t.Fatalf("packet %d while polling: %+v", i, out)
		}
	}
	p := from(packet.Up, s.LocalDiscr())
	p.Final, p.DesiredMinTx = true, 5000
	recv(s, 100*ms, p)
	d, _ := s.Deadline()
	if out := sends(s.Step(Tick{Now: d})); len(out) != 1 || out[0].Poll {
		t.Fatalf("after Final: %+v", out)
	}
	// min_rx 10 ms now beats the neighbour's 5 ms: detection 3 x 10 ms.
	if dt := s.Snapshot().DetectTime; dt != 30*ms {
		t.Fatalf("detect time %v", dt)
	}
	// Without P or F the neighbour's new timers are ignored once Up.
	q := from(packet.Up, s.LocalDiscr())
	q.DesiredMinTx = 100000
	recv(s, 110*ms, q)
	if dt := s.Snapshot().DetectTime; dt != 30*ms {
		t.Fatalf("detect time changed without poll: %v", dt)
	}
}

// bfd_build_packet: answering a poll while polling sends F without P.
func TestFinalEndsOwnPoll(t *testing.T) {
	s := into(t, packet.Up)
	if !s.poll {
		t.Fatal("not polling after Up")
	}
	p := from(packet.Up, s.LocalDiscr())
	p.Poll = true
	out := sends(recv(s, 2*ms, p))
	if len(out) != 1 || out[0].Poll || !out[0].Final || s.poll {
		t.Fatalf("answer %+v, still polling %v", out, s.poll)
	}
}

// The detection time line keepalived logs at INFO, name-width indented.
func TestDetectionTimeLog(t *testing.T) {
	s := New(conf("b1"), fixedEnv(0, 1))
	acts := recv(s, ms, from(packet.Down, 0))
	if !hasLog(acts, "     Detection time is 60000 us (was 0 us)") {
		t.Fatalf("logs %q", logs(acts))
	}
	if !hasLog(acts, "(b1) ---------------< Session parameters >--------------") ||
		!hasLog(acts, "     local   1000000   10000  1000000     5            0") &&
			!hasLog(acts, "     local   1000000   10000  1000000     5        60000") {
		t.Fatalf("timer dump missing: %q", logs(acts))
	}
}

// Log lines beyond the configured detail are never formatted.
func TestLogDetailFilter(t *testing.T) {
	env := fixedEnv(0, 1)
	env.LogDetail = Always
	s := New(conf("b1"), env)
	acts := recv(s, ms, from(packet.Down, 0))
	for _, a := range acts {
		if l, ok := a.(Log); ok && l.Detail != Always {
			t.Fatalf("detail line emitted: %+v", l)
		}
	}
	if !hasLog(acts, "     Detection time is 60000 us (was 0 us)") {
		t.Fatalf("INFO line filtered: %q", logs(acts))
	}
}

// A neighbour in demand mode while both are Up stops our periodic packets.
func TestRemoteDemandStopsSending(t *testing.T) {
	s := into(t, packet.Up)
	p := from(packet.Up, s.LocalDiscr())
	p.Demand = true
	recv(s, 2*ms, p)
	if s.tx.set {
		t.Fatal("still sending periodically")
	}
	recv(s, 3*ms, from(packet.Up, s.LocalDiscr()))
	if !s.tx.set {
		t.Fatal("not sending again after demand ended")
	}
}

// The transmit timer is brought forward when the interval shrinks.
func TestTxRescheduledWhenIntervalShrinks(t *testing.T) {
	s := into(t, packet.Init)
	if d, _ := s.tx.at, 0; d < 900*ms {
		t.Fatalf("idle tx at %v", d)
	}
	recv(s, 2*ms, from(packet.Up, s.LocalDiscr()))
	if s.tx.at != 2*ms+18*ms {
		t.Fatalf("tx at %v, want 20ms", s.tx.at)
	}
}

// bfd_state_admindown and bfd_open_fd_out_thread.
func TestOutputFailedAndRestored(t *testing.T) {
	s := New(conf("b1"), fixedEnv(0, 1))
	acts := s.Step(OutputFailed{Now: 0})
	if s.State() != packet.AdminDown || !hasLog(acts, "(b1) Entering AdminDown state") {
		t.Fatalf("%v %q", s.State(), logs(acts))
	}
	if out := sends(s.Step(Start{Now: 0})); len(out) != 0 {
		t.Fatal("AdminDown session sent at start")
	}
	s.Step(OutputRestored{Now: 60 * time.Second})
	if s.State() != packet.Down || !s.tx.set {
		t.Fatalf("restored: %v sending %v", s.State(), s.tx.set)
	}
}

// bfd_complete_init on reload: the state stays, a min_rx/min_tx change
// starts a poll, the state is reported again, nothing is sent at once.
func TestReconfigure(t *testing.T) {
	s := into(t, packet.Up)
	recv(s, 2*ms, func() *packet.Control { p := from(packet.Up, s.LocalDiscr()); p.Final = true; return p }())
	if s.poll {
		t.Fatal("poll not ended by Final")
	}
	c := conf("b1")
	c.Multiplier = 7
	acts := s.Step(Reconfigure{Now: 3 * ms, Config: c})
	if s.poll || len(sends(acts)) != 0 {
		t.Fatalf("multiplier change: poll %v sends %d", s.poll, len(sends(acts)))
	}
	if n := notifies(acts); len(n) != 1 || !n[0] {
		t.Fatalf("events %v", n)
	}
	c.MinRx = 50000
	s.Step(Reconfigure{Now: 4 * ms, Config: c})
	if !s.poll || s.State() != packet.Up {
		t.Fatalf("min_rx change: poll %v state %v", s.poll, s.State())
	}
	d, _ := s.Deadline()
	out := sends(s.Step(Tick{Now: d}))
	if len(out) != 1 || !out[0].Poll || out[0].RequiredMinRx != 50000 || out[0].DetectMult != 7 {
		t.Fatalf("packet after reload %+v", out)
	}
	// Passive now and not Up: stop sending (bfd_sender_resume).
	c.Passive = true
	s = into(t, packet.Init)
	s.Step(Reconfigure{Now: 5 * ms, Config: c})
	if s.tx.set {
		t.Fatal("passive Init session still sending after reload")
	}
}
