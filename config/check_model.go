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
	checkers := map[*rsState][]*Checker{}
	for _, c := range s.queue {
		if c.live() {
			checkers[c.rs] = append(checkers[c.rs], c.model())
		}
	}
	for _, vs := range s.vss {
		if vs.removed {
			continue
		}
		m := vs.model()
		for _, rs := range vs.rs {
			r := rs.model()
			r.Checkers = checkers[rs]
			for _, t := range rs.trackFiles {
				r.Checkers = append(r.Checkers, &Checker{Pos: t.pos, Kind: FileCheck,
					File: &FileOptions{TrackFile: t.file.Name, Weight: int(t.weight), WeightReverse: t.reverse}})
			}
			m.RealServers = append(m.RealServers, r)
		}
		if vs.ssvr != nil {
			m.SorryServer = vs.ssvr.model()
			m.SorryServerInhibit = vs.ssvr.inhibit == 1
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

func (t tunnel) model(f fwdMethod) *Tunnel {
	if f != fwdTUN {
		return nil
	}
	m := &Tunnel{Type: t.typ, Port: int(t.port)}
	if m.Type == "" {
		m.Type = "ipip"
	}
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
		Weight: int(vs.weight), SMTPAlert: vs.smtpAlert == 1}
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
	if vs.vhost != nil {
		m.VirtualHost = *vs.vhost
	}
	if vs.snmpName != nil {
		m.SNMPName = *vs.snmpName
	}
	return m
}

func (rs *rsState) model() *RealServer {
	m := &RealServer{Pos: rs.pos, Addr: rs.addr.ip, Port: int(rs.addr.port), Weight: int(rs.weight),
		Forwarding: rs.fwd.model(), Tunnel: rs.tun.model(rs.fwd), UThreshold: int(rs.uthr), LThreshold: int(rs.lthr),
		InhibitOnFailure: rs.inhibit == 1, NotifyUp: rs.notifyUp, NotifyDown: rs.notifyDown, Alpha: rs.alpha == 1,
		Retry: -1, DelayBeforeRetry: usPtr(rs.dbr), Warmup: usPtr(rs.warmup), SMTPAlert: rs.smtpAlert == 1}
	if rs.connTo != unsetU32 {
		m.ConnectTimeout = usDur(uint64(rs.connTo))
	}
	if rs.delayLoop != unsetU64 {
		m.DelayLoop = usDur(rs.delayLoop)
	}
	if rs.retry != unsetU32 {
		m.Retry = int(rs.retry)
	}
	if rs.vhost != nil {
		m.VirtualHost = *rs.vhost
	}
	if rs.snmpName != nil {
		m.SNMPName = *rs.snmpName
	}
	return m
}

// model is a checker with its timings final and its connection given
// where it differs from the real server's final address and port.
func (c *ckState) model() *Checker {
	m := c.m
	m.Alpha = c.alpha == 1
	m.LogAllFailures = c.logAllFailures
	if c.launch {
		m.Retry = int(c.retry)
		m.DelayBeforeRetry = usDur(c.dbr)
		m.Warmup = usDur(c.warmup)
		m.DelayLoop = usDur(c.delayLoop)
	}
	if c.http != nil {
		for _, us := range c.urlState {
			c.http.URLs = append(c.http.URLs, *us.u)
		}
	}
	if c.misc != nil && c.misc.Timeout == 0 {
		// keepalived runs a script for at most delay_loop without misc_timeout
		c.misc.Timeout = m.DelayLoop
	}
	if co := c.co; co != nil {
		m.ConnectTimeout = usDur(uint64(co.connTo))
		conn := Connection{BindIf: co.bindIf, FWMark: co.fwmark, BindPort: int(co.bindto.port)}
		if co.dst.fam != c.rs.addr.fam || co.dst.ip != c.rs.addr.ip {
			conn.ConnectIP = co.dst.ip
		}
		if co.dst.port != c.rs.addr.port {
			conn.ConnectPort = int(co.dst.port)
		}
		if co.bindto.fam != famUnspec {
			conn.BindTo = co.bindto.ip
		}
		if conn != (Connection{}) {
			m.Conn = &conn
		}
	}
	return m
}
