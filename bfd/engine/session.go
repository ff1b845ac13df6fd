package engine

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/bfd"
	"keepalived-go/bfd/packet"
	"keepalived-go/config"
	"keepalived-go/internal/errno"
)

// fsmConfig maps a bfd_instance onto the session's configuration.
func fsmConfig(bi *config.BFDInstance) bfd.Config {
	return bfd.Config{
		Name:       bi.Name,
		MinRx:      uint32(bi.MinRx / time.Microsecond),
		MinTx:      uint32(bi.MinTx / time.Microsecond),
		IdleTx:     uint32(bi.IdleTx / time.Microsecond),
		Multiplier: uint8(bi.Multiplier),
		Passive:    bi.Passive,
		TTL:        uint8(bi.TTL),
		MaxHops:    uint8(bi.MaxHops),
	}
}

// newSession makes the session of bi (bfd_init_state) and indexes it.
func (e *Engine) newSession(bi *config.BFDInstance) *session {
	s := &session{cfg: bi, dst: netip.AddrPortFrom(bi.Neighbor, e.opts.PeerPort), buf: make([]byte, 0, 64)}
	s.fsm = bfd.New(fsmConfig(bi), bfd.Env{Random: e.random, NewDiscr: e.newDiscr, LogDetail: e.opts.LogDetail})
	e.sessions[bi.Name] = s
	e.index(s)
	return s
}

// index keeps byDiscr in step with the session's discriminator.
func (e *Engine) index(s *session) {
	d := s.fsm.LocalDiscr()
	if d == s.discr {
		return
	}
	if e.byDiscr[s.discr] == s {
		delete(e.byDiscr, s.discr)
	}
	s.discr = d
	e.byDiscr[d] = s
}

// startAll opens every session's output socket and starts it
// (bfd_open_fds, then bfd_register_workers).
func (e *Engine) startAll(reload bool) {
	now := e.now()
	for _, bi := range e.cfg {
		s := e.sessions[bi.Name]
		if s == nil {
			s = e.newSession(bi)
		}
		e.openOutput(s, now)
		e.perform(s, s.fsm.Step(bfd.Start{Now: now, Reload: reload}), now)
	}
}

// openOutput opens s's socket, or puts s in AdminDown and retries later.
func (e *Engine) openOutput(s *session, now time.Duration) bool {
	if s.out != nil {
		return true
	}
	c, err := openOutput(e.net, s.cfg.Neighbor, s.cfg.Source, s.cfg.TTL)
	if err != nil {
		if s.fsm.State() != packet.AdminDown {
			e.log.Errorf("(%s) bind() error (%s)", s.cfg.Name, errno.Text(err))
			e.log.Errorf("(%s) Unable to open output socket, disabling instance", s.cfg.Name)
			e.perform(s, s.fsm.Step(bfd.OutputFailed{Now: now}), now)
		}
		s.retryAt = now + e.opts.RetryOutput
		return false
	}
	s.out, s.retryAt = c, 0
	return true
}

// retryOutput is bfd_open_fd_out_thread.
func (e *Engine) retryOutput(s *session, now time.Duration) {
	s.retryAt = 0
	if e.openOutput(s, now) {
		e.perform(s, s.fsm.Step(bfd.OutputRestored{Now: now}), now)
	}
}

func (s *session) close() {
	if s.out != nil {
		s.out.Close()
		s.out = nil
	}
}

// perform carries out a session's actions in order.
func (e *Engine) perform(s *session, acts []bfd.Action, now time.Duration) {
	for _, a := range acts {
		switch a := a.(type) {
		case bfd.Send:
			e.send(s, &a.Packet)
		case bfd.Notify:
			e.emit(Event{Name: s.cfg.Name, Up: a.Up, VRRP: s.cfg.VRRP, Checker: s.cfg.Checker, At: now})
		case bfd.Log:
			e.logLine(a)
		case bfd.StateChange:
		}
	}
	e.index(s)
}

func (e *Engine) logLine(l bfd.Log) {
	lvl := logrus.InfoLevel
	switch l.Level {
	case bfd.Warning:
		lvl = logrus.WarnLevel
	case bfd.Error:
		lvl = logrus.ErrorLevel
	}
	e.log.Log(lvl, l.Text)
}

// send is bfd_sender_thread's write: errors are logged once until a send
// works again ("(NAME) Error sending packet").
func (e *Engine) send(s *session, p *packet.Control) {
	if s.out == nil {
		return
	}
	b, err := p.AppendBinary(s.buf[:0])
	if err == nil {
		_, err = s.out.WriteToUDPAddrPort(b, s.dst)
	}
	if err != nil {
		s.sendErrors++
		if !s.sendError {
			e.log.Errorf("sendto() error (%s)", errno.Text(err))
			e.log.Errorf("(%s) Error sending packet", s.cfg.Name)
			s.sendError = true
		}
		return
	}
	s.sendError = false
}

// rxPacket is one datagram from the input socket, decoded and checked by
// the reader goroutine.
type rxPacket struct {
	pkt  *packet.Control
	err  error
	from netip.AddrPort
	meta rxMeta
}

// read is the reader goroutine of the input socket: decode and validate
// (packet.Decode), then hand the packet to the owner.
func (e *Engine) read(c *net.UDPConn, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 512)
	oob := make([]byte, 128)
	for {
		n, oobn, flags, from, err := c.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			e.log.Errorf("recvmsg() error (%v)", err)
			continue
		}
		m := rxPacket{from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), meta: parseControl(oob[:oobn])}
		if flags&0x20 != 0 { // MSG_TRUNC
			e.log.Warn("recvmsg() message truncated")
			continue
		}
		m.pkt, m.err = packet.Decode(buf[:n])
		select {
		case e.inbox <- m:
		case <-e.done:
			return
		}
	}
}

// receive is bfd_handle_packet up to the session's own checks: drop a
// bogus packet, find the session by Your Discriminator or by addresses.
func (e *Engine) receive(m rxPacket) {
	if m.err != nil {
		e.discard(m.err)
		if e.opts.LogDetail >= bfd.LogDetail {
			e.log.Error(m.err.Error())
			e.log.Errorf("Discarding bogus packet from %s", pair(m.from))
		}
		return
	}
	s := e.lookup(m)
	if s == nil {
		e.discard(packet.ErrNoSession)
		if e.opts.LogDetail >= bfd.LogDetail {
			e.log.Errorf("Discarding packet from %s (session is not found - your discriminator field is 0x%8.8x)", pair(m.from), m.pkt.YourDiscr)
		}
		return
	}
	now := e.now()
	if s.fsm.State() == packet.AdminDown {
		// See if the output socket opens now (bfd_handle_packet).
		if !e.openOutput(s, now) {
			e.discard(packet.ErrAdminDown)
			if e.opts.LogDetail >= bfd.LogDetail {
				e.log.Infof("Discarding packet from %s (session is in AdminDown state)", pair(m.from))
			}
			return
		}
	}
	e.perform(s, s.fsm.Step(bfd.Received{Now: now, Packet: m.pkt, TTL: m.meta.ttl, From: m.from}), now)
}

func (e *Engine) discard(err error) {
	for _, r := range packet.Reasons {
		if errors.Is(err, r) {
			e.discards[r]++
			return
		}
	}
	e.rxBad++
}

// lookup is find_bfd_by_discr, or find_bfd_by_addr when Your
// Discriminator is zero.
func (e *Engine) lookup(m rxPacket) *session {
	if m.pkt.YourDiscr != 0 {
		return e.byDiscr[m.pkt.YourDiscr]
	}
	src, dst := m.from.Addr(), m.meta.dst
	for _, bi := range e.cfg {
		if bi.Neighbor != src {
			continue
		}
		if !bi.Source.IsValid() || !dst.IsValid() || bi.Source == dst {
			return e.sessions[bi.Name]
		}
	}
	return nil
}

// pair is inet_sockaddrtopair.
func pair(ap netip.AddrPort) string {
	return "[" + ap.Addr().String() + "]:" + strconv.Itoa(int(ap.Port()))
}
