package bfd

import (
	"time"

	"keepalived-go/bfd/packet"
)

// start is keepalived's bfd_register_workers for one session.
func (s *Session) start(e Start) {
	if s.localState != packet.AdminDown && !s.cfg.Passive && !s.tx.set {
		s.scheduleTx(e.Now)
	}
	s.notify()
	if !e.Reload && !s.cfg.Passive && s.localState != packet.AdminDown {
		s.sendNow()
	}
}

// tick runs the due timers, earliest first, as keepalived's scheduler
// does; a timer one handler sets for now runs in the same tick.
func (s *Session) tick(now time.Duration) {
	for {
		t := &s.expire
		for _, c := range []*timer{&s.reset, &s.tx} {
			if c.set && (!t.set || c.at < t.at) {
				t = c
			}
		}
		if !t.set || t.at > now {
			return
		}
		t.set = false
		switch t {
		case &s.expire:
			s.expired(now)
		case &s.reset:
			s.resetState()
		case &s.tx:
			s.sendNow()
			s.scheduleTx(now)
		}
	}
}

// scheduleTx is bfd_sender_schedule: the next packet after the transmit
// interval less the jitter.
func (s *Session) scheduleTx(now time.Duration) {
	s.tx = timer{at: now + us(uint64(s.localTxIntv-s.jitter())), set: true}
}

// sendNow is one run of bfd_sender_thread: build, send, clear Final.
func (s *Session) sendNow() {
	// Answering a poll while polling ourselves: the Final packet carries
	// our new parameters, so our poll is over (bfd_build_packet).
	if s.poll && s.final {
		s.poll = false
	}
	minTx := s.cfg.IdleTx
	if s.localState == packet.Up {
		minTx = s.cfg.MinTx
	}
	p := packet.Control{
		Version:       packet.Version,
		Diag:          s.localDiag,
		State:         s.localState,
		Poll:          s.poll,
		Final:         s.final,
		DetectMult:    s.cfg.Multiplier,
		MyDiscr:       s.localDiscr,
		YourDiscr:     s.remoteDiscr,
		DesiredMinTx:  minTx,
		RequiredMinRx: s.cfg.MinRx,
	}
	s.stats.Sent++
	if p.Poll {
		s.stats.PollsSent++
	}
	if p.Final {
		s.stats.FinalsSent++
	}
	s.emit(Send{Packet: p})
	s.final = false
}

// expired is bfd_expire_thread: no packet for a detection time.
func (s *Session) expired(now time.Duration) {
	dead := uint32((now - s.lastSeen) / time.Microsecond)
	overdue := dead - uint32(s.localDetectTime)
	detail := Always
	if s.localState != packet.Up {
		detail = ExtraDetail
	}
	s.logf(Warning, detail, "(%s) Expired after %d ms (%d usec overdue)", s.cfg.Name, dead/1000, overdue)
	// RFC 5880 §6.8.1: bfd.RemoteDiscr is zeroed after a detection time
	// without a packet.
	s.remoteDiscr = 0
	s.stateDown(now, packet.DiagExpired)
}

// resetState is bfd_reset_thread / bfd_reset_state: a detection time after
// going Down the remote state is forgotten.
func (s *Session) resetState() {
	s.localState, s.remoteState = packet.Down, packet.Down
	s.remoteDiscr = 0
	s.remoteDiag = packet.DiagNone
	s.remoteDemand = false
	s.poll, s.final = false, false
	s.idleLocalTx()
}

func (s *Session) idleLocalTx()   { s.localTxIntv = max(s.cfg.IdleTx, s.remoteMinRx) }
func (s *Session) updateLocalTx() { s.localTxIntv = max(s.cfg.MinTx, s.remoteMinRx) }
func (s *Session) updateRemoteTx() {
	s.remoteTxIntv = max(s.cfg.MinRx, s.remoteMinTx)
}

// setPoll is bfd_set_poll: start a poll sequence unless a Final is about
// to go out, which carries the new parameters anyway (RFC 5880 §6.5).
func (s *Session) setPoll() {
	s.logf(Info, LogDetail, "(%s) Starting poll sequence", s.cfg.Name)
	if !s.final {
		s.poll = true
	}
}

func (s *Session) change(now time.Duration, from packet.State, diag packet.Diag) {
	if from == s.localState {
		return
	}
	s.stats.LastChange = now
	s.emit(StateChange{From: from, To: s.localState, Diag: diag})
}

// stateDown is bfd_state_down.
func (s *Session) stateDown(now time.Duration, diag packet.Diag) {
	old := s.localState
	if old == packet.Up {
		s.localDiscr = s.env.NewDiscr()
		s.stats.Downs++
	}
	detail := Always
	if old != packet.Up {
		detail = ExtraDetail
	}
	s.logf(Warning, detail, "(%s) Entering %s state (Local diagnostic - %s, Remote diagnostic - %s)",
		s.cfg.Name, packet.Down, diag, s.remoteDiag)
	s.localState = packet.Down
	s.localDiag = diag
	s.reset = timer{at: now + us(s.localDetectTime), set: true}
	if s.cfg.Passive {
		s.tx.set = false
	}
	s.change(now, old, diag)
	s.stateFall(old == packet.Up)
}

// stateAdminDown is bfd_state_admindown.
func (s *Session) stateAdminDown(now time.Duration) {
	old := s.localState
	s.localState = packet.AdminDown
	s.localDiag = packet.DiagAdminDown
	s.tx.set = false
	s.logf(Warning, Always, "(%s) Entering %s state", s.cfg.Name, packet.AdminDown)
	s.change(now, old, packet.DiagAdminDown)
	s.stateFall(false)
}

// stateFall is bfd_state_fall, common to Down and AdminDown.
func (s *Session) stateFall(sendEvent bool) {
	// RFC 5880 §6.8.3: not less than one second while not Up.
	s.idleLocalTx()
	s.expire.set = false
	if sendEvent && s.remoteState != packet.AdminDown {
		s.notify()
	}
}

// stateRise is bfd_state_rise, common to Init and Up.
func (s *Session) stateRise(now time.Duration) {
	s.localDiag = packet.DiagNone
	detail := Always
	if s.localState != packet.Up {
		detail = ExtraDetail
	}
	s.logf(Info, detail, "(%s) Entering %s state", s.cfg.Name, s.localState)
	s.reset.set = false
	if !s.expire.set {
		s.expire = timer{at: now + us(s.localDetectTime), set: true}
	}
}

// stateUp is bfd_state_up.
func (s *Session) stateUp(now time.Duration) {
	old := s.localState
	s.localState = packet.Up
	s.stats.Ups++
	s.change(now, old, packet.DiagNone)
	s.stateRise(now)
	if s.cfg.IdleTx != s.cfg.MinTx {
		s.setPoll()
	}
	s.notify()
}

// stateInit is bfd_state_init.
func (s *Session) stateInit(now time.Duration) {
	old := s.localState
	s.localState = packet.Init
	s.change(now, old, packet.DiagNone)
	s.stateRise(now)
	if s.cfg.Passive && !s.tx.set {
		s.scheduleTx(now)
	}
}

// outputRestored is bfd_open_fd_out_thread after a successful open.
func (s *Session) outputRestored(now time.Duration) {
	if s.localState != packet.AdminDown {
		return
	}
	s.localState = packet.Down
	s.change(now, packet.AdminDown, s.localDiag)
	if !s.cfg.Passive {
		s.scheduleTx(now)
	}
}

// reconfigure is a reload keeping the session (bfd_complete_init and
// bfd_register_workers with reload set).
func (s *Session) reconfigure(e Reconfigure) {
	old := s.cfg
	s.cfg = e.Config
	if old.MinRx != s.cfg.MinRx || old.MinTx != s.cfg.MinTx {
		s.setPoll()
	}
	switch {
	case s.localState == packet.AdminDown:
		s.tx.set, s.expire.set, s.reset.set = false, false, false
	case s.tx.set && s.cfg.Passive && s.localState != packet.Up:
		// bfd_sender_resume resumes a passive sender only while Up.
		s.tx.set = false
	case !s.tx.set && !s.cfg.Passive:
		s.scheduleTx(e.Now)
	}
	s.notify()
}
