package config

import (
	"net/netip"
	"time"

	"keepalived-go/parser"
)

// real_server and sorry_server: rs_handler (alloc_rs), the handlers of the
// real_server block and rs_end_handler, ssvr_handler (alloc_ssvr)
// (check/check_parser.c, check/check_data.c).

// rsState is what real_server_t holds besides the model while the
// checker reads and validates it. The model is filled in place; its unset
// values are keepalived's sentinels: Weight, ConnectTimeout and DelayLoop
// -1, Retry -1, Warmup and DelayBeforeRetry nil.
type rsState struct {
	m *RealServer
	// port0 is the port as written: checkers connect to it, whatever
	// validate_check_config does to the real server's port later.
	port0                     uint16
	fwd                       fwdMethod
	inhibit, alpha, smtpAlert int8 // -1: not set
	removed                   bool
	tun                       *tunnel
	extra                     *rsExtra
}

// rsExtra is the rare part of a real server: its FILE_CHECKs
// (tracked_file_monitor_t) and the bfd_instances its BFD_CHECKs follow.
type rsExtra struct {
	trackFiles  []*fileMonitor
	trackedBFDs []string
}

func (rs *rsState) ext() *rsExtra {
	if rs.extra == nil {
		rs.extra = &rsExtra{}
	}
	return rs.extra
}

// sa is the real server's address as keepalived's sockaddr.
func (rs *rsState) sa() sockaddr {
	return sockaddr{fam: famOf(rs.m.Addr), ip: rs.m.Addr, port: uint16(rs.m.Port)}
}

func famOf(a netip.Addr) family {
	switch {
	case !a.IsValid():
		return famUnspec
	case a.Is4():
		return famInet
	}
	return famInet6
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
	var addr sockaddr
	if l.stoSockaddr(ip, port, has && !allZeros(port), &addr) {
		shown := "(null)"
		if has {
			shown = port
		}
		l.report(parser.SevGeneral, "Invalid real server ip address/port %s/%s - skipping", ip, shown)
		l.p.SkipBlock(true)
		return
	}
	rs := &rsState{m: &RealServer{Pos: l.pos(), Addr: addr.ip, Port: int(addr.port), Weight: -1, Retry: -1,
		ConnectTimeout: -1, DelayLoop: -1}, port0: addr.port, fwd: vs.fwd, tun: vs.tun,
		alpha: -1, inhibit: -1, smtpAlert: -1}
	vs.rs = append(vs.rs, rs)
}

// rsEnd is rs_end_handler: a real server that is not tunnelled must have
// its service's family (which it gives a service that has none yet).
func (s *checkState) rsEnd() {
	vs, rs := s.curRS()
	if rs == nil || rs.fwd == fwdTUN {
		return
	}
	if fam := famOf(rs.m.Addr); vs.af == famUnspec {
		vs.af = fam
	} else if vs.af != fam {
		s.l.report(parser.SevGeneral, "Address family of virtual server and real server %s don't match - skipping real server.", rs.m.Addr)
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
	m := func(f func(*RealServer, parser.Strvec)) func(parser.Strvec) {
		return h(func(_ *vsState, rs *rsState, v parser.Strvec) { f(rs.m, v) })
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
	timer := func(minUs uint64, msg string, set func(*RealServer, time.Duration)) func(parser.Strvec) {
		return m(func(r *RealServer, v parser.Strvec) {
			t := unsetU64
			if s.timer(v, minUs, 0, &t, msg); t != unsetU64 {
				set(r, usDur(t))
			}
		})
	}
	kws := []*parser.Keyword{
		kw("weight", m(s.rsWeight)),
		kw("lvs_method", h(func(_ *vsState, rs *rsState, v parser.Strvec) { s.rsForwarding(rs, v, "real") })),
		kw("uthreshold", m(func(r *RealServer, v parser.Strvec) { s.threshold(v, &r.UThreshold, "uthreshold") })),
		kw("lthreshold", m(func(r *RealServer, v parser.Strvec) { s.threshold(v, &r.LThreshold, "lthreshold") })),
		tf("inhibit_on_failure", func(rs *rsState) *int8 { return &rs.inhibit }, "Invalid inhibit_on_failure parameter %s"),
		kw("notify_up", h(func(vs *vsState, rs *rsState, v parser.Strvec) { s.rsScript(vs, v, &rs.m.NotifyUp, "notify_up") })),
		kw("notify_down", h(func(vs *vsState, rs *rsState, v parser.Strvec) { s.rsScript(vs, v, &rs.m.NotifyDown, "notify_down") })),
		tf("alpha", func(rs *rsState) *int8 { return &rs.alpha }, "Invalid alpha parameter %s"),
		kw("retry", m(s.rsRetry)),
		kw("delay_before_retry", timer(0, "real server delay_before_retry '%s' invalid - ignoring",
			func(r *RealServer, d time.Duration) { r.DelayBeforeRetry = &d })),
		kw("warmup", timer(0, "real server warmup '%s' invalid - ignoring", func(r *RealServer, d time.Duration) { r.Warmup = &d })),
		kw("connect_timeout", m(func(r *RealServer, v parser.Strvec) {
			t := unsetU32
			if s.connTimeout(v, &t, "real server "); t != unsetU32 {
				r.ConnectTimeout = usDur(uint64(t))
			}
		})),
		kw("delay_loop", timer(1, "real server delay_loop '%s' invalid - ignoring", func(r *RealServer, d time.Duration) { r.DelayLoop = d })),
		kw("smtp_alert", h(func(_ *vsState, rs *rsState, v parser.Strvec) {
			s.smtpAlert(v, &rs.smtpAlert, "Invalid real_server smtp_alert parameter %s")
		})),
		kw("virtualhost", m(func(r *RealServer, v parser.Strvec) {
			s.virtualhost(v, &r.VirtualHost, "real server virtualhost missing")
		})),
		kw("snmp_name", m(func(r *RealServer, v parser.Strvec) { s.snmpName(v, &r.SNMPName, "real server") })),
	}
	return append(kws, s.checkerKeywords()...)
}

// rsForwarding is rs_forwarding_handler (and ss_forwarding_handler).
func (s *checkState) rsForwarding(rs *rsState, v parser.Strvec, sType string) {
	t := *rs.tun
	if s.svrForwarding(&rs.fwd, &t, v, sType) {
		rs.tun = &t
	}
}

// rsWeight is rs_weight_handler.
func (s *checkState) rsWeight(r *RealServer, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, ipvsWeightLimit, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Real server weight %s is outside range 0-%d", v.Slot(1), ipvsWeightLimit)
		return
	}
	r.Weight = int(n)
}

// threshold is uthreshold_handler and lthreshold_handler.
func (s *checkState) threshold(v parser.Strvec, dst *int, kw string) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Invalid real_server %s '%s' - ignoring", kw, v.Slot(1))
		return
	}
	*dst = int(n)
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
func (s *checkState) rsRetry(r *RealServer, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 1<<32-1, false)
	if !ok {
		s.l.report(parser.SevGeneral, "retry value invalid - %s", v.Slot(1))
		return
	}
	r.Retry = int(n)
}

// sorryServer is ssvr_handler and alloc_ssvr: a later sorry_server
// replaces an earlier one.
func (s *checkState) sorryServer(vs *vsState, v parser.Strvec) {
	ip := v.Slot(1)
	port, has := "", v.Len() >= 3
	if has {
		port = v.Slot(2)
	}
	var addr sockaddr
	if s.l.stoSockaddr(ip, port, has && !allZeros(port), &addr) {
		s.l.report(parser.SevGeneral, "Invalid sorry server IP address %s - skipping", ip)
		return
	}
	vs.ssvr = &rsState{m: &RealServer{Pos: s.l.pos(), Addr: addr.ip, Port: int(addr.port), Weight: 1},
		port0: addr.port, fwd: vs.fwd, tun: vs.tun}
}
