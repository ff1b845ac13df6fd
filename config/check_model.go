package config

import (
	"math"
	"time"
)

// writeModel turns the checker process's validated state into the model:
// every virtual server and real server keepalived keeps, with its settings
// final, and each real server's checkers in keepalived's queue order, the
// FILE_CHECKs (which keepalived queues after all others) last.
func (s *checkState) writeModel() {
	cfg := s.l.cfg
	if s.ssl != nil || s.sslRequired || s.jitStackMax != 0 {
		cfg.Checker = CheckerSettings{SSL: s.ssl, SSLRequired: s.sslRequired,
			RegexStackStart: s.jitStackStart, RegexStackMax: s.jitStackMax}
	}
	cfg.Checker.TrackBFDs = append([]string(nil), s.trackBFDs...)
	for _, g := range s.vsgs {
		if g.removed {
			continue
		}
		g.m.Entries = make([]VSGEntry, len(g.entries))
		for i, e := range g.entries {
			g.m.Entries[i] = *e
		}
		cfg.ServerGroups = append(cfg.ServerGroups, g.m)
	}
	for i, c := range s.queue {
		if c.live() {
			c.rs.m.Checkers = append(c.rs.m.Checkers, c.model())
		}
		s.queue[i] = nil // the state is garbage once its model is written
	}
	cfg.VirtualServers = make([]*VirtualServer, 0, len(s.vss))
	for i, vs := range s.vss {
		s.vss[i] = nil
		if vs.removed {
			continue
		}
		m := vs.model()
		m.RealServers = make([]*RealServer, len(vs.rs))
		for i, rs := range vs.rs {
			m.RealServers[i] = rs.model()
		}
		if ss := vs.ssvr; ss != nil {
			m.SorryServer = ss.model()
			m.SorryServerInhibit = ss.inhibit == 1
			m.SorryServerIsRealServer = vs.ssvrDup
		}
		cfg.VirtualServers = append(cfg.VirtualServers, m)
	}
}

// usDur is a keepalived time (microseconds) as a Duration, saturated.
func usDur(v uint64) time.Duration {
	if v > math.MaxInt64/1000 {
		return math.MaxInt64
	}
	return time.Duration(v) * time.Microsecond
}

func usPtr(v uint64) *time.Duration {
	if v == unsetU64 {
		return nil
	}
	d := usDur(v)
	return &d
}

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "TCP"
	case protoUDP:
		return "UDP"
	case protoSCTP:
		return "SCTP"
	}
	return ""
}

// model is the Tunnel of a server forwarding with f.
func (t *tunnel) model(f fwdMethod) *Tunnel {
	if f != fwdTUN {
		return nil
	}
	m := &Tunnel{Type: t.typ, Port: int(t.port)}
	if m.Type != "ipip" {
		m.Checksum = t.csum
	}
	return m
}

func (vs *vsState) model() *VirtualServer {
	m := &VirtualServer{Pos: vs.pos, Port: int(vs.addr.port), FWMark: vs.fwmark, Family: vs.af.String(),
		Protocol: protoName(vs.proto), Scheduler: vs.sched, SchedFlags: vs.flagNames,
		Forwarding: vs.fwd.model(), Tunnel: vs.tun.model(vs.fwd),
		PersistenceTimeout: time.Duration(vs.persistTO) * time.Second, PersistenceGranularity: vs.granText,
		PersistenceEngine: vs.peName, DelayLoop: usDur(vs.delayLoop), ConnectTimeout: usDur(uint64(vs.connTo)),
		DelayBeforeRetry: usPtr(vs.dbr), Warmup: usPtr(vs.warmup), HASuspend: vs.haSuspend,
		Alpha: vs.alpha, Omega: vs.omega, Quorum: int(vs.quorum), Hysteresis: int(vs.hysteresis),
		QuorumUp: vs.quorumUp, QuorumDown: vs.quorumDown, InhibitOnFailure: vs.inhibit,
		Weight: int(vs.weight), SMTPAlert: vs.smtpAlert == 1, VirtualHost: vs.vhost, SNMPName: vs.snmpName}
	switch {
	case vs.vsgname != nil:
		m.Group = *vs.vsgname
	case vs.fwmark == 0:
		m.Addr = vs.addr.ip
	}
	if vs.retry != unsetU32 {
		r := int(vs.retry)
		m.Retry = &r
	}
	return m
}

// model completes the real server's model: what it keeps of keepalived's
// tri-state settings, its tunnel, its FILE_CHECKs.
func (rs *rsState) model() *RealServer {
	m := rs.m
	m.Forwarding, m.Tunnel = rs.fwd.model(), rs.tun.model(rs.fwd)
	m.InhibitOnFailure, m.Alpha, m.SMTPAlert = rs.inhibit == 1, rs.alpha == 1, rs.smtpAlert == 1
	if rs.extra != nil {
		for _, t := range rs.extra.trackFiles {
			m.Checkers = append(m.Checkers, &Checker{Pos: t.pos, Kind: FileCheck,
				Options: &FileOptions{TrackFile: t.file.Name, Weight: int(t.weight), WeightReverse: t.reverse}})
		}
	}
	return m
}

// model completes a checker's model: its alpha, its connection where it
// differs from the real server's final address and port, and no timings
// for a checker keepalived runs no thread for.
func (c *ckState) model() *Checker {
	m := c.m
	m.Alpha = c.alpha == 1
	if !c.launch {
		m.Retry, m.DelayLoop, m.Warmup, m.DelayBeforeRetry = 0, 0, 0, 0
	}
	if o, ok := m.Options.(modelOptions); ok {
		o.completeModel(m)
	}
	if !c.hasCo {
		return m
	}
	co := c.co
	rs := c.rs.m
	connTo := c.connTo
	if co != nil {
		connTo = co.connTo
	}
	if connTo == unsetU32 {
		m.ConnectTimeout = rs.ConnectTimeout
	} else {
		m.ConnectTimeout = usDur(uint64(connTo))
	}
	var conn Connection
	if co == nil {
		if c.rs.port0 != uint16(rs.Port) {
			conn.ConnectPort = int(c.rs.port0)
			conn.ConnectPortZero = c.rs.port0 == 0
		}
	} else {
		conn = Connection{BindIf: co.bindIf, FWMark: co.fwmark, BindPort: int(co.bindto.port)}
		if co.dst.fam != famOf(rs.Addr) || co.dst.ip != rs.Addr {
			conn.ConnectIP = co.dst.ip
		}
		if int(co.dst.port) != rs.Port {
			conn.ConnectPort = int(co.dst.port)
			conn.ConnectPortZero = co.dst.port == 0
		}
		if co.bindto.fam != famUnspec {
			conn.BindTo = co.bindto.ip
		}
	}
	if conn != (Connection{}) {
		m.Conn = &conn
	}
	return m
}
