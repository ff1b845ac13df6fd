package bfd

import (
	"fmt"
	"net/netip"
	"time"

	"keepalived-go/bfd/packet"
)

// receive is keepalived's bfd_handle_packet from the session lookup on.
func (s *Session) receive(e Received) {
	p := e.Packet
	if !s.acceptable(e) {
		return
	}
	s.stats.Received++
	if s.localState == packet.AdminDown {
		// The shell reopened the output socket for this packet.
		s.stateInit(e.Now)
	}
	old := struct {
		remoteMinRx, remoteMinTx, localTxIntv uint32
		remoteDetectMult                      uint8
		localDetectTime                       uint64
	}{s.remoteMinRx, s.remoteMinTx, s.localTxIntv, s.remoteDetectMult, s.localDetectTime}

	s.remoteDiscr = p.MyDiscr
	s.remoteState = p.State
	s.remoteDiag = p.Diag
	s.remoteMinRx = p.RequiredMinRx
	s.remoteMinTx = p.DesiredMinTx
	s.remoteDemand = p.Demand
	s.remoteDetectMult = p.DetectMult
	if p.Final {
		s.poll = false
	}
	// Intervals change only with a poll sequence once Up (RFC 5880 §6.8.3).
	if s.localState != packet.Up || p.Poll || p.Final {
		if s.remoteState == packet.Up && (s.localState == packet.Init || s.localState == packet.Up) {
			s.updateLocalTx()
		} else {
			s.idleLocalTx()
		}
		s.updateRemoteTx()
	}
	s.localDetectTime = uint64(s.remoteDetectMult) * uint64(s.remoteTxIntv)
	s.remoteDetectTime = uint64(s.cfg.Multiplier) * uint64(s.localTxIntv)

	changed := s.remoteMinRx != old.remoteMinRx || s.remoteMinTx != old.remoteMinTx ||
		s.remoteDetectMult != old.remoteDetectMult || s.localTxIntv != old.localTxIntv
	if changed && s.env.LogDetail >= LogDetail || s.env.LogDetail >= ExtraDetail {
		s.dumpTimers(LogDetail)
	}
	if s.localTxIntv < old.localTxIntv && s.tx.set {
		s.scheduleTx(e.Now)
	}
	if s.localDetectTime != old.localDetectTime {
		s.logf(Info, Always, "%*s Detection time is %d us (was %d us)", len(s.cfg.Name)+2, "",
			s.localDetectTime, old.localDetectTime)
	}

	s.transition(e.Now)

	bothUp := s.localState == packet.Up && s.remoteState == packet.Up
	if s.remoteDemand && bothUp {
		s.tx.set = false
	} else if !s.tx.set {
		s.scheduleTx(e.Now)
	}
	if p.Poll {
		s.final = true
		s.sendNow()
	}
	s.lastSeen, s.seen = e.Now, true
	if s.localState == packet.Up && s.expire.set {
		s.expire = timer{at: e.Now + us(s.localDetectTime), set: true}
	}
}

// acceptable makes the per-session checks keepalived makes after the
// lookup: the TTL/hop limit (RFC 5881 §5 with max_hops), then the A bit.
func (s *Session) acceptable(e Received) bool {
	if s.cfg.MaxHops != 255 && e.TTL != 0 && int(s.cfg.MaxHops)+e.TTL < int(s.cfg.TTL) {
		what := "ttl"
		if e.From.Addr().Is6() && !e.From.Addr().Is4In6() {
			what = "hop_limit"
		}
		s.logf(Error, LogDetail, "Packet %s(%d) < %d - discarding", what, e.TTL, int(s.cfg.TTL)-int(s.cfg.MaxHops))
		s.stats.Discards[packet.ErrTTL]++
		return false
	}
	if e.Packet.Auth != nil {
		s.logf(Error, LogDetail, "Discarding packet from %s (auth bit is set, but no authentication  is in use)", fmtPair(e.From))
		s.stats.Discards[packet.ErrAuth]++
		return false
	}
	return true
}

// transition is the state machine of RFC 5880 §6.8.6 as keepalived has it.
func (s *Session) transition(now time.Duration) {
	if s.remoteState == packet.AdminDown && s.localState != packet.Down {
		s.stateDown(now, packet.DiagNeighborDown)
		return
	}
	switch s.localState {
	case packet.Down:
		switch s.remoteState {
		case packet.Down:
			s.stateInit(now)
		case packet.Init:
			s.stateUp(now)
		}
	case packet.Init:
		if s.remoteState == packet.Init || s.remoteState == packet.Up {
			s.stateUp(now)
		}
	case packet.Up:
		if s.remoteState == packet.Down {
			s.stateDown(now, packet.DiagNeighborDown)
		}
	}
}

// dumpTimers is bfd_dump_timers, logged at the given detail.
func (s *Session) dumpTimers(d Detail) {
	minTx := s.cfg.IdleTx
	if s.localState == packet.Up {
		minTx = s.cfg.MinTx
	}
	in := len(s.cfg.Name) + 2
	s.logf(Info, d, "(%s) ---------------< Session parameters >--------------", s.cfg.Name)
	s.logf(Info, d, "%*s          min_tx  min_rx  tx_intv  mult  detect_time", in, "")
	s.logf(Info, d, "%*s local  %8d %7d %8d %5d %12d", in, "", minTx, s.cfg.MinRx, s.localTxIntv, s.cfg.Multiplier, s.localDetectTime)
	s.logf(Info, d, "%*s remote %8d %7d %8d %5d %12d", in, "", s.remoteMinTx, s.remoteMinRx, s.remoteTxIntv, s.remoteDetectMult, s.remoteDetectTime)
}

// fmtPair is keepalived's inet_sockaddrtopair: [address]:port.
func fmtPair(ap netip.AddrPort) string {
	return fmt.Sprintf("[%s]:%d", ap.Addr().Unmap(), ap.Port())
}
