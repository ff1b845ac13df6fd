package config

import (
	"keepalived-go/parser"
)

// real_server and sorry_server: rs_handler (alloc_rs), the handlers of the
// real_server block and rs_end_handler, ssvr_handler (alloc_ssvr)
// (check/check_parser.c, check/check_data.c).

// rsState is real_server_t while the checker reads and validates it.
type rsState struct {
	pos        Pos
	addr       sockaddr
	weight     int64 // effective_weight; unsetI64 until set
	iweight    int32
	fwd        fwdMethod
	tun        tunnel
	snmpName   *string
	uthr, lthr uint32
	inhibit    int8 // -1: not set
	notifyUp   *Script
	notifyDown *Script
	alpha      int8
	connTo     uint32
	delayLoop  uint64
	warmup     uint64
	retry      uint32
	dbr        uint64
	smtpAlert  int8
	vhost      *string
	// trackFiles are the FILE_CHECK blocks (tracked_file_monitor_t).
	trackFiles []*fileMonitor
	// trackedBFDs are the bfd_instance names its BFD_CHECKs follow.
	trackedBFDs []string
	removed     bool
}

// fileMonitor is tracked_file_monitor_t: one FILE_CHECK of a real server.
type fileMonitor struct {
	pos     Pos
	file    *TrackFile
	weight  int32
	reverse bool
}

// curRS is the last real server of the last virtual server (keepalived's
// list_last_entry(&vs->rs)), nil when there is none.
func (s *checkState) curRS() (*vsState, *rsState) {
	vs := s.curVS()
	if vs == nil || len(vs.rs) == 0 {
		return vs, nil
	}
	return vs, vs.rs[len(vs.rs)-1]
}

// rsHandler is rs_handler and alloc_rs.
func (s *checkState) rsHandler(v parser.Strvec) {
	l := s.l
	ip := v.Slot(1)
	port, has := "", v.Len() >= 3
	if has {
		port = v.Slot(2)
	}
	vs := s.curVS()
	if vs == nil {
		l.p.SkipBlock(true)
		return
	}
	rs := &rsState{pos: l.pos()}
	if l.stoSockaddr(ip, port, has && !allZeros(port), &rs.addr) {
		shown := "(null)"
		if has {
			shown = port
		}
		l.report(parser.SevGeneral, "Invalid real server ip address/port %s/%s - skipping", ip, shown)
		l.p.SkipBlock(true)
		return
	}
	rs.weight = unsetI64
	rs.fwd, rs.tun = vs.fwd, vs.tun
	rs.alpha, rs.inhibit, rs.smtpAlert = -1, -1, -1
	rs.connTo = unsetU32
	rs.delayLoop, rs.warmup, rs.dbr = unsetU64, unsetU64, unsetU64
	rs.retry = unsetU32
	vs.rs = append(vs.rs, rs)
}

// rsEnd is rs_end_handler: a real server that is not tunnelled must have
// its service's family (which it gives a service that has none yet).
func (s *checkState) rsEnd() {
	vs, rs := s.curRS()
	if rs == nil || rs.fwd == fwdTUN {
		return
	}
	if vs.af == famUnspec {
		vs.af = rs.addr.fam
	} else if vs.af != rs.addr.fam {
		s.l.report(parser.SevGeneral, "Address family of virtual server and real server %s don't match - skipping real server.", sockaddrString(rs.addr))
		rs.removed = true
		vs.rs = vs.rs[:len(vs.rs)-1]
	}
}

// rsKeywords is the real_server block's table, in keepalived's order, the
// checkers last.
func (s *checkState) rsKeywords() []*parser.Keyword {
	h := func(f func(*vsState, *rsState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if vs, rs := s.curRS(); rs != nil {
				f(vs, rs, v)
			}
		}
	}
	tf := func(name string, dst func(*rsState) *int8, msg string) *parser.Keyword {
		return kw(name, h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res == -1 {
					s.l.report(parser.SevGeneral, msg, v.Slot(1))
					return
				}
			}
			*dst(rs) = int8(res)
		}))
	}
	kws := []*parser.Keyword{
		kw("weight", h(s.rsWeight)),
		kw("lvs_method", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.svrForwarding(&rs.fwd, &rs.tun, v, "real") })),
		kw("uthreshold", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.threshold(v, &rs.uthr, "uthreshold") })),
		kw("lthreshold", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.threshold(v, &rs.lthr, "lthreshold") })),
		tf("inhibit_on_failure", func(rs *rsState) *int8 { return &rs.inhibit }, "Invalid inhibit_on_failure parameter %s"),
		kw("notify_up", h(func(vs *vsState, rs *rsState, v parser.Strvec) { s.rsScript(vs, v, &rs.notifyUp, "notify_up") })),
		kw("notify_down", h(func(vs *vsState, rs *rsState, v parser.Strvec) { s.rsScript(vs, v, &rs.notifyDown, "notify_down") })),
		tf("alpha", func(rs *rsState) *int8 { return &rs.alpha }, "Invalid alpha parameter %s"),
		kw("retry", h(s.rsRetry)),
		kw("delay_before_retry", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.timer(v, 0, 0, &rs.dbr, "real server delay_before_retry '%s' invalid - ignoring")
		})),
		kw("warmup", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.timer(v, 0, 0, &rs.warmup, "real server warmup '%s' invalid - ignoring")
		})),
		kw("connect_timeout", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.connTimeout(v, &rs.connTo, "real server ") })),
		kw("delay_loop", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.timer(v, 1, 0, &rs.delayLoop, "real server delay_loop '%s' invalid - ignoring")
		})),
		kw("smtp_alert", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.smtpAlert(v, &rs.smtpAlert, "Invalid real_server smtp_alert parameter %s")
		})),
		kw("virtualhost", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.virtualhost(v, &rs.vhost, "real server virtualhost missing")
		})),
		kw("snmp_name", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.snmpName(v, &rs.snmpName, "real server") })),
	}
	return append(kws, s.checkerKeywords()...)
}

// rsWeight is rs_weight_handler.
func (s *checkState) rsWeight(_ *vsState, rs *rsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, ipvsWeightLimit, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Real server weight %s is outside range 0-%d", v.Slot(1), ipvsWeightLimit)
		return
	}
	rs.weight = int64(n)
	rs.iweight = int32(n)
}

// threshold is uthreshold_handler and lthreshold_handler.
func (s *checkState) threshold(v parser.Strvec, dst *uint32, kw string) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Invalid real_server %s '%s' - ignoring", kw, v.Slot(1))
		return
	}
	*dst = uint32(n)
}

// rsScript is notify_up_handler and notify_down_handler.
func (s *checkState) rsScript(vs *vsState, v parser.Strvec, dst **Script, kw string) {
	if *dst != nil {
		s.l.report(parser.SevGeneral, "(%s) %s script already specified - ignoring %s", cNull(vs.vsgname), kw, v.Slot(1))
		return
	}
	*dst = s.l.notifyScript(0, "notify")
}

// rsRetry is rs_retry_handler.
func (s *checkState) rsRetry(_ *vsState, rs *rsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 1<<32-1, false)
	if !ok {
		s.l.report(parser.SevGeneral, "retry value invalid - %s", v.Slot(1))
		return
	}
	rs.retry = uint32(n)
}

// sorryServer is ssvr_handler and alloc_ssvr: a later sorry_server
// replaces an earlier one.
func (s *checkState) sorryServer(vs *vsState, v parser.Strvec) {
	ip := v.Slot(1)
	port, has := "", v.Len() >= 3
	if has {
		port = v.Slot(2)
	}
	ss := &rsState{pos: s.l.pos(), weight: 1, iweight: 1, fwd: vs.fwd, tun: vs.tun}
	if s.l.stoSockaddr(ip, port, has && !allZeros(port), &ss.addr) {
		s.l.report(parser.SevGeneral, "Invalid sorry server IP address %s - skipping", ip)
		return
	}
	vs.ssvr = ss
}
