package config

import (
	"keepalived-go/parser"
)

// The checker process's work after its read, as keepalived -t runs it
// (check_daemon.c start_check): link_vsg_to_vs (check/ipwrapper.c), then
// validate_check_config and check_check_script_security
// (check/check_data.c). Only then is the model written.

// validate is start_check after the read.
func (s *checkState) validate() {
	s.linkVSGToVS()
	for _, vs := range s.vss {
		if !vs.removed {
			s.validateVS(vs)
		}
	}
	s.resolveCheckers()
	s.scriptSecurity()
	s.writeModel()
}

// group is ipvs_get_group_by_name: the first group of that name.
func (s *checkState) group(name string) *vsgState {
	for _, g := range s.vsgs {
		if !g.removed && g.m.Name == name {
			return g
		}
	}
	return nil
}

// linkVSGToVS is link_vsg_to_vs. Its messages are log lines: a virtual
// server it drops goes without a word under -t.
func (s *checkState) linkVSGToVS() {
	for _, vs := range s.vss {
		if vs.vsgname == nil {
			continue
		}
		g := s.group(*vs.vsgname)
		if g == nil {
			// "Virtual server group %s specified but not configured - ignoring virtual server %s"
			vs.removed = true
			continue
		}
		vs.vsg = g
		gaf := famUnspec
		if g.haveIPv4 != g.haveIPv6 {
			gaf = famInet
			if g.haveIPv6 {
				gaf = famInet6
			}
		}
		switch {
		case g.haveIPv4 && g.haveIPv6 && vs.af != famUnspec:
			vs.removed = true
		case (g.haveIPv4 && vs.af == famInet6) || (g.haveIPv6 && vs.af == famInet):
			vs.removed = true
		case gaf != famUnspec:
			if vs.af == famUnspec {
				vs.af = gaf
			} else if gaf != vs.af {
				vs.removed = true
			}
		}
	}
	// A group's virtual servers are numbered: the number is their port.
	for _, g := range s.vsgs {
		if g.removed {
			continue
		}
		seq := uint16(0)
		for _, vs := range s.vss {
			if !vs.removed && vs.vsgname != nil && *vs.vsgname == g.m.Name {
				vs.addr.port = seq
				seq++
			}
		}
	}
}

// validateVS is validate_check_config's work on one virtual server.
func (s *checkState) validateVS(vs *vsState) {
	l := s.l
	if len(vs.rs) == 0 {
		l.report(parser.SevGeneral, "Virtual server %s has no real servers - ignoring", fmtVS(vs))
		vs.removed = true
		return
	}
	if vs.haSuspend && (vs.fwmark != 0 || (vs.vsg != nil && vs.vsg.hasFWMark())) {
		l.report(parser.SevGeneral, "Virtual server %s: cannot use ha_suspend with fwmarks - clearing ha_suspend", fmtVS(vs))
		vs.haSuspend = false
	}
	if (vs.vsg != nil && vs.vsg.hasAddrRange()) || (vs.vsg == nil && vs.fwmark == 0) {
		if vs.proto == 0 {
			l.report(parser.SevGeneral, "Virtual server %s: no protocol set - defaulting to UDP", fmtVS(vs))
			vs.proto = protoUDP
		}
		if vs.flags&svcFOnePacket != 0 && vs.proto != protoUDP {
			l.report(parser.SevGeneral, "Virtual server %s: one packet scheduling requires UDP - resetting", fmtVS(vs))
			vs.flags &^= svcFOnePacket
			vs.dropFlag("ops")
		}
		if vs.persistTO == 0 && vs.vsg == nil && vs.fwmark == 0 && vs.addr.port == 0 {
			l.report(parser.SevGeneral, "Virtual server %s: zero port only valid for persistent services - setting", fmtVS(vs))
			vs.persistTO = ipvsPersistTimeout
		}
	}
	if vs.persistTO == 0 && vs.vsg != nil {
		for _, e := range vs.vsg.entries {
			if !e.IsMark && e.Port == 0 {
				l.report(parser.SevGeneral, "Virtual server %s: zero port only valid for persistent services - setting", fmtVS(vs))
				vs.persistTO = ipvsPersistTimeout
				break
			}
		}
	}
	if vs.proto != 0 && ((vs.vsg != nil && !vs.vsg.hasAddrRange() && vs.vsg.hasFWMark()) || (vs.vsg == nil && vs.fwmark != 0)) {
		l.report(parser.SevGeneral, "Warning: Virtual server %s: protocol specified for fwmark - protocol will be ignored", fmtVS(vs))
		vs.proto = 0
	}
	if vs.sched == "" {
		l.report(parser.SevGeneral, "Virtual server %s: no scheduler set, setting default '%s'", fmtVS(vs), "wlc")
		vs.sched = "wlc"
	}
	if vs.smtpAlert == -1 {
		vs.smtpAlert = s.globalSMTPAlert(0)
	}
	weightSum := s.validateRealServers(vs)
	if ss := vs.ssvr; ss != nil && ss.fwd == fwdUnset {
		s.defaultForwarding(vs)
		ss.fwd, ss.tun = vs.fwd, vs.tun
	}
	if vs.quorum > weightSum {
		l.report(parser.SevGeneral, "Warning - quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", vs.quorum, fmtVS(vs), weightSum, weightSum)
		vs.quorum = weightSum
	}
	if vs.hysteresis >= vs.quorum {
		l.report(parser.SevGeneral, "Virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", fmtVS(vs), vs.hysteresis, vs.quorum, vs.quorum-1)
		vs.hysteresis = vs.quorum - 1
	}
	if vs.vsg != nil {
		s.groupPorts(vs)
	} else {
		s.servicePorts(vs)
	}
}

func (vs *vsState) dropFlag(name string) {
	for i, n := range vs.flagNames {
		if n == name {
			vs.flagNames = append(vs.flagNames[:i], vs.flagNames[i+1:]...)
			return
		}
	}
}

// globalSMTPAlert is the default of an smtp_alert left unset: the
// checker's global setting, else smtp_alert, else def.
func (s *checkState) globalSMTPAlert(def int8) int8 {
	g := &s.l.cfg.Global
	switch {
	case g.SMTPAlertChecker != nil:
		return b2i8(*g.SMTPAlertChecker)
	case g.SMTPAlert != nil:
		return b2i8(*g.SMTPAlert)
	}
	return def
}

func b2i8(b bool) int8 {
	if b {
		return 1
	}
	return 0
}

// defaultForwarding gives a virtual server without a forwarding method
// NAT, as keepalived does the first time one of its servers needs it.
func (s *checkState) defaultForwarding(vs *vsState) {
	if vs.fwd == fwdUnset {
		s.l.report(parser.SevGeneral, "Virtual server %s: no forwarding method set, setting default NAT", fmtVS(vs))
		vs.fwd = fwdNAT
	}
}

// sameSockaddr is sockstorage_equal (address and port).
func sameSockaddr(a, b sockaddr) bool {
	if a.fam != b.fam {
		return false
	}
	return a.fam == famUnspec || (a.ip == b.ip && a.port == b.port)
}

// validateRealServers is validate_check_config's loop over a virtual
// server's real servers: duplicates go, unset settings come from the
// virtual server; it returns the total weight (an unsigned int in C).
func (s *checkState) validateRealServers(vs *vsState) uint32 {
	var sum uint32
	kept := vs.rs[:0]
	for _, rs := range vs.rs {
		dup := false
		for _, o := range kept {
			if sameSockaddr(rs.sa(), o.sa()) {
				s.l.report(parser.SevGeneral, "VS %s: real server %s is duplicated - removing second rs", fmtVS(vs), fmtRS(rs, vs))
				dup = true
				break
			}
		}
		if dup {
			rs.removed = true
			continue
		}
		kept = append(kept, rs)
		s.inheritRS(vs, rs)
		sum += uint32(rs.m.Weight)
		if ss := vs.ssvr; ss != nil && sameSockaddr(ss.sa(), rs.sa()) {
			if ss.inhibit != rs.inhibit {
				verb := "clear"
				if rs.inhibit != 0 {
					verb = "sett"
				}
				s.l.report(parser.SevGeneral, "Virtual server %s: real server %s matches sorry server, but inhibit setting differs, %sing on sorry server", fmtVS(vs), fmtRS(rs, vs), verb)
				ss.inhibit = rs.inhibit
			}
			vs.ssvrDup = true
		}
	}
	vs.rs = kept
	return sum
}

// inheritRS gives a real server the virtual server's settings it lacks.
func (s *checkState) inheritRS(vs *vsState, rs *rsState) {
	m := rs.m
	if rs.fwd == fwdUnset {
		s.defaultForwarding(vs)
		rs.fwd, rs.tun = vs.fwd, vs.tun
	}
	if rs.alpha == -1 {
		rs.alpha = b2i8(vs.alpha)
	}
	if rs.inhibit == -1 {
		rs.inhibit = b2i8(vs.inhibit)
	}
	if m.Retry == -1 && vs.retry != unsetU32 {
		m.Retry = int(vs.retry)
	}
	if m.ConnectTimeout == -1 {
		m.ConnectTimeout = usDur(uint64(vs.connTo))
	}
	if m.DelayLoop == -1 {
		m.DelayLoop = usDur(vs.delayLoop)
	}
	if m.Warmup == nil {
		m.Warmup = usPtr(vs.warmup)
	}
	if m.DelayBeforeRetry == nil {
		m.DelayBeforeRetry = usPtr(vs.dbr)
	}
	if m.Weight == -1 {
		m.Weight = int(vs.weight)
	}
	if rs.smtpAlert == -1 {
		// keepalived's own inconsistency, kept for compatibility: real
		// servers alert by default.
		rs.smtpAlert = s.globalSMTPAlert(1)
	}
}

// groupPorts is validate_check_config's port check of a virtual server
// group: only warnings.
func (s *checkState) groupPorts(vs *vsState) {
	l := s.l
	ss := vs.ssvr
	if vs.vsg.hasFWMark() {
		for _, rs := range vs.rs {
			if rs.fwd != fwdNAT && rs.m.Port != 0 {
				l.report(parser.SevGeneral, "WARNING - fwmark virtual server %s, real server %s has port specified - port will be ignored", fmtVS(vs), fmtRS(rs, vs))
			}
		}
		if ss != nil && ss.fwd != fwdNAT && ss.m.Port != 0 {
			l.report(parser.SevGeneral, "WARNING - fwmark virtual server %s, sorry server has port specified - port will be ignored", fmtVS(vs))
		}
	}
	for _, e := range vs.vsg.entries {
		if e.IsMark {
			continue
		}
		for _, rs := range vs.rs {
			if rs.fwd != fwdNAT && rs.m.Port != 0 && e.Port != rs.m.Port {
				l.report(parser.SevGeneral, "virtual server %s:[%s] and real server %s ports don't match", fmtVS(vs), fmtVSGE(e), fmtRS(rs, vs))
			}
		}
		if ss != nil && ss.fwd != fwdNAT && ss.m.Port != 0 && e.Port != ss.m.Port {
			l.report(parser.SevGeneral, "WARNING - virtual server %s, sorry server has port specified - port will be ignored", fmtVS(vs))
		}
	}
}

// servicePorts is validate_check_config's port correction for a virtual
// server of its own: servers that are not NAT take its port (none for a
// fwmark); NAT ones without a port take it too.
func (s *checkState) servicePorts(vs *vsState) {
	l := s.l
	for _, rs := range vs.rs {
		switch {
		case rs.fwd == fwdNAT:
			if vs.fwmark == 0 && rs.m.Port == 0 {
				rs.m.Port = int(vs.addr.port)
			}
		case vs.fwmark != 0:
			if rs.m.Port != 0 {
				l.report(parser.SevGeneral, "WARNING - fwmark virtual server %s, real server %s has port specified - clearing", fmtVS(vs), fmtRS(rs, vs))
				rs.m.Port = 0
			}
		case rs.m.Port == 0:
			rs.m.Port = int(vs.addr.port)
		case rs.m.Port != int(vs.addr.port):
			l.report(parser.SevGeneral, "WARNING - virtual server %s and real server %s ports don't match - resetting", fmtVS(vs), fmtRS(rs, vs))
			rs.m.Port = int(vs.addr.port)
		}
	}
	ss := vs.ssvr
	if ss == nil || ss.fwd == fwdNAT {
		return
	}
	switch {
	case vs.fwmark != 0:
		if ss.m.Port != 0 {
			l.report(parser.SevGeneral, "WARNING - virtual server %s, sorry server has port specified - clearing", fmtVS(vs))
			ss.m.Port = 0
		}
	case ss.m.Port == 0:
		ss.m.Port = int(vs.addr.port)
	case ss.m.Port != int(vs.addr.port):
		l.report(parser.SevGeneral, "WARNING - virtual server %s and sorry server ports don't match - resetting", fmtVS(vs))
		ss.m.Port = int(vs.addr.port)
	}
}

// live reports whether a checker still belongs to a kept real server.
func (c *ckState) live() bool {
	return !c.removed && c.rs != nil && !c.rs.removed && c.vs != nil && !c.vs.removed
}

// resolveCheckers is validate_check_config's loop over the checkers queue:
// every unset timing comes from the real server, else the checker kind's
// default.
func (s *checkState) resolveCheckers() {
	for _, c := range s.queue {
		if !c.live() {
			continue
		}
		rs, m := c.rs.m, c.m
		if c.alpha == -1 {
			c.alpha = c.rs.alpha
		}
		if !c.launch {
			continue
		}
		defRetry, defDBR := c.defaults()
		if m.Retry == -1 {
			m.Retry = int(defRetry)
			if rs.Retry != -1 {
				m.Retry = rs.Retry
			}
		}
		if m.DelayLoop == -1 {
			m.DelayLoop = rs.DelayLoop
		}
		if m.Warmup == -1 {
			m.Warmup = m.DelayLoop
			if rs.Warmup != nil {
				m.Warmup = *rs.Warmup
			}
		}
		if m.DelayBeforeRetry == -1 {
			switch {
			case rs.DelayBeforeRetry != nil:
				m.DelayBeforeRetry = *rs.DelayBeforeRetry
			case defDBR != 0:
				m.DelayBeforeRetry = usDur(defDBR)
			default:
				m.DelayBeforeRetry = m.DelayLoop
			}
		}
	}
}

// scriptSecurity is check_check_script_security: MISC_CHECK scripts that
// cannot run lose their checker, notify scripts that cannot run are
// dropped, and running scripts without script security is reported.
func (s *checkState) scriptSecurity() {
	any := false
	for _, vs := range s.vss {
		any = any || !vs.removed
	}
	if !any {
		return
	}
	var flags scriptFlags
	kept := s.queue[:0]
	for _, c := range s.queue {
		if o, ok := c.m.Options.(scriptOptions); ok {
			f := s.l.checkScriptSecure(o.checkerScript())
			flags |= f
			if f&(scInhibit|scNotFound) != 0 || f&(scExecutable|scSystem) == 0 {
				c.removed = true
				continue
			}
		}
		kept = append(kept, c)
	}
	s.queue = kept
	notify := func(p **Script) {
		if *p == nil {
			return
		}
		f := s.l.checkScriptSecure(*p)
		flags |= f
		if f&(scInhibit|scNotFound) != 0 || f&scExecutable == 0 {
			*p = nil
		}
	}
	for _, vs := range s.vss {
		if vs.removed {
			continue
		}
		notify(&vs.quorumUp)
		notify(&vs.quorumDown)
		for _, rs := range vs.rs {
			notify(&rs.m.NotifyUp)
			notify(&rs.m.NotifyDown)
		}
	}
	// The checker process's copies of the fifo scripts: their flags count
	// here; dropping them is the global model's business.
	g := &s.l.cfg.Global
	for _, sc := range []*Script{g.NotifyFIFO.Script, g.LVSNotifyFIFO.Script} {
		if sc != nil {
			flags |= s.l.checkScriptSecure(sc)
		}
	}
	if !s.l.users.security && flags&scIsScript != 0 {
		extra := ""
		if flags&scInsecure != 0 {
			extra = " There are insecure scripts."
		}
		s.l.report(parser.SevSecurity, "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.%s", extra)
	}
}
