package snmp

import (
	"encoding/binary"
	"time"

	"keepalived-go/snmp/agentx"
)

func ccol(sub ...uint32) agentx.OID { return CheckOID.Append(sub...) }

var schedulers = map[string]int32{"rr": 1, "wrr": 2, "lc": 3, "wlc": 4, "lblc": 5, "lblcr": 6, "dh": 7,
	"sh": 8, "sed": 9, "nq": 10, "fo": 11, "ovf": 12, "mh": 13, "twos": 14}

func lbKind(f string) int32 {
	switch f {
	case "NAT":
		return 1
	case "DR":
		return 2
	case "TUN":
		return 3
	}
	return 0
}

func usec(d time.Duration) uint32 { return uint32(d / time.Microsecond) }

// optDur is a retry-style setting: unset reads as 0.
func optDur(d *time.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return *d
}

func optU32(v *uint32) uint32 {
	if v == nil {
		return 0
	}
	return *v
}

// check is KEEPALIVED-MIB's checker subtree (check/check_snmp.c).
func (t *tree) check(c *Checker, g Global) {
	for gi, grp := range c.Groups {
		t.row(ccol(1, 1), uint32(gi+1)).str(2, grp.Name)
		for mi, m := range grp.Members {
			r := t.row(ccol(2, 1), uint32(gi+1), uint32(mi+1))
			ranged := !m.IsMark && m.AddrEnd.IsValid() && m.AddrEnd != m.Addr
			switch {
			case m.IsMark:
				r.int(2, 1)
				r.gauge(3, m.FWMark)
				continue
			case ranged:
				r.int(2, 3)
				r.addr(6, m.Addr)
				r.addr(7, m.AddrEnd)
			default:
				r.int(2, 2)
				r.addr(5, m.Addr)
			}
			r.int(4, addrType(m.Addr))
			r.gauge(8, uint32(m.Port))
		}
	}
	for vi := range c.VirtualServers {
		t.virtualServer(uint32(vi+1), &c.VirtualServers[vi])
	}
	t.lvsGlobals(g)
}

func (t *tree) virtualServer(vi uint32, v *VirtualServer) {
	r := t.row(ccol(3, 1), vi)
	switch {
	case v.Group != "":
		r.int(2, 3)
		r.str(3, v.Group)
	case v.FWMark != 0:
		r.int(2, 1)
	default:
		r.int(2, 2)
	}
	if v.FWMark != 0 {
		r.gauge(4, v.FWMark)
	}
	r.int(5, map[bool]int32{false: 1, true: 2}[v.IPv6])
	if v.FWMark == 0 && v.Group == "" {
		r.addr(6, v.Addr)
		r.gauge(7, uint32(v.Port))
	}
	if v.FWMark == 0 {
		r.int(8, protocol(v.Protocol))
	}
	if n, ok := schedulers[v.Scheduler]; ok {
		r.int(9, n)
	} else {
		r.int(9, 99)
	}
	if k := lbKind(v.Forwarding); k != 0 {
		r.int(10, k)
	}
	r.truth(11, v.Alive)
	r.optStr(12, v.VirtualHost)
	r.truth(13, v.PersistenceTimeout != 0)
	if v.PersistenceTimeout != 0 {
		r.gauge(14, v.PersistenceTimeout)
	}
	var gran [4]byte
	binary.BigEndian.PutUint32(gran[:], v.PersistenceGranularity)
	if v.AddrFamily != 6 {
		r.octets(15, gran[:])
	}
	if v.AddrFamily != 4 {
		if v.AddrFamily == 6 {
			r.gauge(51, v.PersistenceGranularity)
		} else {
			r.gauge(51, binary.LittleEndian.Uint32(gran[:]))
		}
	}
	r.gauge(16, secs(v.DelayLoop))
	r.truth(17, v.HASuspend)
	r.truth(37, v.OnePacket)
	r.truth(18, v.Alpha)
	r.truth(19, v.Omega)
	r.gauge(20, uint32(len(v.RealServers)))
	up := uint32(0)
	for _, rs := range v.RealServers {
		if rs.Alive {
			up++
		}
	}
	r.gauge(21, up)
	r.gauge(22, v.Quorum)
	r.truth(23, v.QuorumUp)
	r.script(24, v.QuorumUpScript)
	r.script(25, v.QuorumDownScript)
	r.gauge(26, v.Hysteresis)
	t.ipvsStats(r, v.Stats, 27, 38)
	r.truth(52, v.Hashed)
	r.truth(53, v.Sched1)
	r.truth(54, v.Sched2)
	r.truth(55, v.Sched3)
	r.truth(62, v.Sched1)
	r.truth(63, v.Sched2)
	r.truth(56, !v.Inhibit)
	r.gauge(57, optU32(v.Retry))
	r.gauge(58, secs(optDur(v.DelayBeforeRetry)))
	r.gauge(59, secs(optDur(v.Warmup)))
	r.int(60, v.Weight)
	r.truth(61, v.SMTPAlert)
	r.gauge(64, usec(v.DelayLoop))
	r.gauge(65, usec(optDur(v.DelayBeforeRetry)))
	r.gauge(66, usec(optDur(v.Warmup)))
	r.gauge(67, usec(v.ConnTimeout))
	tunnel(r, v.Forwarding, v.Tunnel, 68)
	r.optStr(71, v.Name)

	n := uint32(0)
	if v.Sorry != nil {
		n++
		t.realServer(vi, n, v.Sorry, true)
	}
	for i := range v.RealServers {
		n++
		t.realServer(vi, n, &v.RealServers[i], false)
	}
}

// protocol is virtualServerProtocol: tcp 1, udp 2, sctp 3, other 4.
func protocol(p string) int32 {
	switch p {
	case "TCP":
		return 1
	case "UDP":
		return 2
	case "SCTP":
		return 3
	}
	return 4
}

// ipvsStats emits the 32-bit columns from first and the 64-bit ones from
// first64 (virtual and real server tables share the layout).
func (t *tree) ipvsStats(r row, s IPVSStats, first, first64 uint32) {
	r.add(agentx.Varbind{Name: r.name(first), Type: agentx.Gauge32, Uint: s.Conns & 0xffffffff})
	r.counter(first+1, s.InPkts)
	r.counter(first+2, s.OutPkts)
	r.counter64(first+3, s.InBytes)
	r.counter64(first+4, s.OutBytes)
	for i, rate := range []uint64{s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
		r.gauge(first+5+uint32(i), uint32(rate))
	}
	r.counter64(first64, s.Conns)
	r.counter64(first64+1, s.InPkts)
	r.counter64(first64+2, s.OutPkts)
	for i, rate := range []uint64{s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
		r.gauge(first64+3+2*uint32(i), uint32(rate))
		r.gauge(first64+4+2*uint32(i), uint32(rate>>32))
	}
}

// tunnel emits the tunnel type, port and checksum columns from first.
func tunnel(r row, fwd string, tn Tunnel, first uint32) {
	if fwd != "TUN" {
		return
	}
	r.int(first, int32(tn.Type)+1)
	if tn.Type == 1 {
		r.gauge(first+1, uint32(tn.Port))
	}
	if tn.Type != 0 {
		r.int(first+2, int32(tn.Csum)+1)
	}
}

func realWeight(w int64) int32 {
	const ipvsWeightLimit = 65535
	switch {
	case w < 0:
		return 0
	case w > ipvsWeightLimit:
		return ipvsWeightLimit
	}
	return int32(w)
}

func (t *tree) realServer(vi, ri uint32, rs *RealServer, sorry bool) {
	r := t.row(ccol(4, 1), vi, ri)
	r.truth(2, !sorry)
	r.int(3, addrType(rs.Addr))
	r.addr(4, rs.Addr)
	r.gauge(5, uint32(rs.Port))
	if !sorry {
		r.truth(6, rs.Alive)
		r.int(7, realWeight(rs.Weight))
		if rs.UpperLimit != 0 {
			r.gauge(8, rs.UpperLimit)
		}
		if rs.LowerLimit != 0 {
			r.gauge(9, rs.LowerLimit)
		}
		r.truth(10, !rs.Inhibit)
		r.script(11, rs.NotifyUp)
		r.script(12, rs.NotifyDown)
		r.gauge(13, rs.FailedChecks)
	}
	s := rs.Stats
	r.add(agentx.Varbind{Name: r.name(14), Type: agentx.Gauge32, Uint: s.Conns & 0xffffffff})
	r.gauge(15, rs.ActiveConns)
	r.gauge(16, rs.InactConns)
	r.gauge(17, rs.PersistConns)
	r.counter(18, s.InPkts)
	r.counter(19, s.OutPkts)
	r.counter64(20, s.InBytes)
	r.counter64(21, s.OutBytes)
	for i, rate := range []uint64{s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
		r.gauge(22+uint32(i), uint32(rate))
	}
	r.counter64(27, s.Conns)
	r.counter64(28, s.InPkts)
	r.counter64(29, s.OutPkts)
	for i, rate := range []uint64{s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS} {
		r.gauge(30+2*uint32(i), uint32(rate))
		r.gauge(31+2*uint32(i), uint32(rate>>32))
	}
	if k := lbKind(rs.Forwarding); k != 0 {
		r.int(40, k)
	}
	r.optStr(41, rs.VirtualHost)
	r.truth(42, rs.Alpha)
	r.gauge(43, optU32(rs.Retry))
	r.gauge(44, secs(optDur(rs.DelayBeforeRetry)))
	r.gauge(45, secs(optDur(rs.Warmup)))
	r.gauge(46, secs(optDur(rs.DelayLoop)))
	r.truth(47, rs.SMTPAlert)
	r.gauge(48, usec(optDur(rs.DelayBeforeRetry)))
	r.gauge(49, usec(optDur(rs.Warmup)))
	r.gauge(50, usec(optDur(rs.DelayLoop)))
	r.gauge(51, usec(rs.ConnTimeout))
	tunnel(r, rs.Forwarding, rs.Tunnel, 52)
	r.optStr(55, rs.Name)
}

// lvsGlobals is the LVS sync daemon and timeout scalars (.3.6, .3.7).
func (t *tree) lvsGlobals(g Global) {
	sd := g.LVSSyncDaemon
	t.int(ccol(6, 1, 0), truth(sd != nil))
	if sd != nil {
		t.str(ccol(6, 2, 0), sd.Interface)
		if sd.Instance != "" {
			t.str(ccol(6, 3, 0), sd.Instance)
		}
		t.int(ccol(6, 4, 0), int32(sd.SyncID))
		t.int(ccol(6, 5, 0), int32(sd.MaxLen))
		t.int(ccol(6, 6, 0), int32(sd.Port))
		t.int(ccol(6, 7, 0), int32(sd.TTL))
		if sd.Group.IsValid() {
			t.int(ccol(6, 8, 0), addrType(sd.Group))
			t.octets(ccol(6, 9, 0), addrBytes(sd.Group))
		}
	}
	for i, v := range []int32{g.LVSTimeouts.TCP, g.LVSTimeouts.TCPFin, g.LVSTimeouts.UDP} {
		if v != 0 {
			t.int(ccol(7, uint32(i+1), 0), v)
		}
	}
}
