package config

import (
	"strings"

	"keepalived-go/parser"
)

// virtual_server: vs_handler (alloc_vs), the handlers of its block and
// vs_end_handler (check/check_parser.c, check/check_data.c).

// lvsSchedulers is check_parser.c's list of valid schedulers.
var lvsSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"}

// fwdMethod is a forwarding_method; fwdUnset is keepalived's
// IP_VS_CONN_F_FWD_MASK, "not set yet".
type fwdMethod uint8

const (
	fwdUnset fwdMethod = iota
	fwdNAT
	fwdDR
	fwdTUN
)

func (f fwdMethod) model() Forwarding {
	switch f {
	case fwdNAT:
		return ForwardNAT
	case fwdDR:
		return ForwardDR
	case fwdTUN:
		return ForwardTUN
	}
	return ""
}

// tunnel is tun_type, tun_port and tun_flags. Servers share their
// tunnel settings by pointer; a handler that changes them makes a new one.
type tunnel struct {
	typ  string // ipip | gue | gre
	port uint16
	csum string // nocsum | csum | remcsum
}

// ipipTunnel is keepalived's zeroed tunnel settings.
var ipipTunnel = &tunnel{typ: "ipip", csum: "nocsum"}

// curVS is list_last_entry(&check_data->vs): the last virtual server read,
// nil when there is none (where keepalived reads freed memory).
func (s *checkState) curVS() *vsState {
	if len(s.vss) == 0 {
		return nil
	}
	return s.vss[len(s.vss)-1]
}

// vsHandler is vs_handler and alloc_vs.
func (s *checkState) vsHandler(v parser.Strvec) {
	l := s.l
	param1 := v.Slot(1)
	param2, has2 := "", v.Len() >= 3
	if has2 {
		param2 = v.Slot(2)
	}
	vs := &vsState{pos: l.pos()}
	switch {
	case param1 == "group":
		name := param2
		vs.vsgname = &name
	case param1 == "fwmark":
		mark, ok := l.readUnsigned(param2, 0, 1<<32-1, true)
		if !ok {
			l.report(parser.SevGeneral, "virtual server fwmark '%s' must be in [0, %d] - ignoring", param2, uint32(1<<32-1))
			l.p.SkipBlock(true)
			return
		}
		vs.fwmark = uint32(mark)
	default:
		hasPort := has2 && !allZeros(param2)
		if l.stoSockaddr(param1, param2, hasPort, &vs.addr) {
			if hasPort {
				l.report(parser.SevGeneral, "Invalid virtual server IP address/port %s/%s - skipping", param1, param2)
			} else {
				l.report(parser.SevGeneral, "Invalid virtual server IP address %s - skipping", param1)
			}
			l.p.SkipBlock(true)
			return
		}
		vs.af = vs.addr.fam
	}
	vs.tun = ipipTunnel
	vs.quorum = 1
	vs.connTo = 5 * timerHz
	vs.delayLoop = defaultDelayLoop
	vs.warmup, vs.retry, vs.dbr = unsetU64, unsetU32, unsetU64
	vs.weight = 1
	vs.smtpAlert = -1
	vs.gran = 0xffffffff
	s.vss = append(s.vss, vs)
}

// vsKeywords is the virtual_server block's table, in keepalived's order.
func (s *checkState) vsKeywords() []*parser.Keyword {
	h := func(f func(*vsState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if vs := s.curVS(); vs != nil {
				f(vs, v)
			}
		}
	}
	set := func(f func(*vsState)) func(parser.Strvec) {
		return h(func(vs *vsState, _ parser.Strvec) { f(vs) })
	}
	kws := []*parser.Keyword{
		kw("ip_family", h(s.ipFamily)),
		kw("retry", h(s.vsRetry)),
		kw("delay_before_retry", h(func(vs *vsState, v parser.Strvec) {
			s.timer(v, 0, 0, &vs.dbr, "virtual server delay before retry '%s' invalid - ignoring")
		})),
		kw("warmup", h(func(vs *vsState, v parser.Strvec) {
			s.timer(v, 0, 0, &vs.warmup, "virtual server warmup '%s' invalid - ignoring")
		})),
		kw("connect_timeout", h(func(vs *vsState, v parser.Strvec) { s.connTimeout(v, &vs.connTo, "virtual server ") })),
		kw("delay_loop", h(func(vs *vsState, v parser.Strvec) {
			s.timer(v, 1, 0, &vs.delayLoop, "virtual server delay loop '%s' invalid - ignoring")
		})),
		kw("inhibit_on_failure", set(func(vs *vsState) { vs.inhibit = true })),
		kw("lb_algo", h(s.lbAlgo)),
		kw("lvs_sched", h(s.lbAlgo)),
	}
	for _, f := range []string{"hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback"} {
		kws = append(kws, kw(f, h(s.lbFlags)))
	}
	kws = append(kws,
		kw("lb_kind", h(s.vsForwarding)),
		kw("lvs_method", h(s.vsForwarding)),
		kw("persistence_engine", h(s.persistenceEngine)),
		kw("persistence_timeout", h(s.persistenceTimeout)),
		kw("persistence_granularity", h(s.persistenceGranularity)),
		kw("protocol", h(s.protocol)),
		kw("ha_suspend", set(func(vs *vsState) { vs.haSuspend = true })),
		kw("smtp_alert", h(func(vs *vsState, v parser.Strvec) {
			s.smtpAlert(v, &vs.smtpAlert, "Invalid virtual_server smtp_alert parameter %s")
		})),
		kw("virtualhost", h(func(vs *vsState, v parser.Strvec) { s.virtualhost(v, &vs.vhost, "virtual server virtualhost missing") })),
		kw("snmp_name", h(func(vs *vsState, v parser.Strvec) { s.snmpName(v, &vs.snmpName, "virtual server") })),
		kw("alpha", set(func(vs *vsState) { vs.alpha = true })),
		kw("omega", set(func(vs *vsState) { vs.omega = true })),
		kw("quorum_up", h(func(vs *vsState, v parser.Strvec) { s.vsScript(vs, v, &vs.quorumUp, "quorum_up") })),
		kw("quorum_down", h(func(vs *vsState, v parser.Strvec) { s.vsScript(vs, v, &vs.quorumDown, "quorum_down") })),
		kw("quorum", h(s.quorum)),
		kw("hysteresis", h(s.hysteresis)),
		kw("weight", h(s.vsWeight)),
		kw("sorry_server", h(s.sorryServer)),
		kw("sorry_server_inhibit", h(func(vs *vsState, _ parser.Strvec) {
			if vs.ssvr != nil {
				vs.ssvr.inhibit = 1
			} else {
				s.l.report(parser.SevGeneral, "Ignoring sorry_server inhibit used before or without sorry_server")
			}
		})),
		kw("sorry_server_lvs_method", h(func(vs *vsState, v parser.Strvec) {
			if vs.ssvr != nil {
				s.rsForwarding(vs.ssvr, v, "sorry")
			} else {
				s.l.report(parser.SevGeneral, "sorry_server forwarding used without sorry_server")
			}
		})),
		&parser.Keyword{Name: "real_server", Handler: s.rsHandler, Sub: s.rsKeywords(), Close: s.rsEnd},
	)
	return kws
}

// ipFamily is ip_family_handler.
func (s *checkState) ipFamily(vs *vsState, v parser.Strvec) {
	var af family
	switch v.Slot(1) {
	case "inet":
		af = famInet
	case "inet6":
		af = famInet6
	default:
		s.l.report(parser.SevGeneral, "unknown address family %s", v.Slot(1))
		return
	}
	if vs.af != famUnspec && af != vs.af {
		s.l.report(parser.SevGeneral, "Virtual server specified family %s conflicts with server family", v.Slot(1))
		return
	}
	vs.af = af
}

// vsRetry is vs_retry_handler.
func (s *checkState) vsRetry(vs *vsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 1<<32-1, false)
	if !ok {
		s.l.report(parser.SevGeneral, "retry value invalid - %s", v.Slot(1))
		return
	}
	vs.retry = uint32(n)
}

// timer is the shape of keepalived's delay handlers: read_timer with a
// minimum and maximum (0: none) and ignore_error, msg on failure.
func (s *checkState) timer(v parser.Strvec, minUs, maxUs uint64, dst *uint64, msg string) {
	t, ok := s.l.readTimer(v.Slot(1), minUs, maxUs, true)
	if !ok {
		s.l.report(parser.SevGeneral, msg, v.Slot(1))
		return
	}
	*dst = t
}

// connTimeout is vs_co_timeout_handler and rs_co_timeout_handler.
func (s *checkState) connTimeout(v parser.Strvec, dst *uint32, who string) {
	t, ok := s.l.readTimer(v.Slot(1), 1, 1<<32-1, true)
	if !ok {
		s.l.report(parser.SevGeneral, "%sconnect_timeout %s invalid - ignoring", who, v.Slot(1))
		return
	}
	*dst = uint32(t)
}

// lbAlgo is lbalgo_handler.
func (s *checkState) lbAlgo(vs *vsState, v parser.Strvec) {
	str := v.Slot(1)
	for _, sc := range lvsSchedulers {
		if sc == str && len(str) < ipvsSchedNameMaxlen {
			vs.sched = str
			return
		}
	}
	s.l.report(parser.SevGeneral, "Invalid lvs_scheduler '%s' - ignoring", v.Slot(1))
}

// lbFlags is lbflags_handler: ops and flag-N always, sh-* only with the sh
// scheduler and mh-* only with mh (set before), hashed never.
func (s *checkState) lbFlags(vs *vsState, v parser.Strvec) {
	str := v.Slot(0)
	var bit uint32
	switch {
	case str == "ops":
		bit = svcFOnePacket
	case str == "flag-1":
		bit = svcFSched1
	case str == "flag-2":
		bit = svcFSched2
	case str == "flag-3":
		bit = svcFSched3
	case vs.sched == "sh":
		switch str {
		case "sh-port":
			bit = svcFSched2
		case "sh-fallback":
			bit = svcFSched1
		}
	case vs.sched == "mh":
		switch str {
		case "mh-port":
			bit = svcFSched2
		case "mh-fallback":
			bit = svcFSched1
		}
	default:
		s.l.report(parser.SevGeneral, "%s only applies to sh scheduler - ignoring", str)
	}
	if bit == 0 {
		return
	}
	vs.flags |= bit
	for _, n := range vs.flagNames {
		if n == str {
			return
		}
	}
	vs.flagNames = append(vs.flagNames, str)
}

// svrForwarding is svr_forwarding_handler: the method is set first, then
// the TUN options are read; an error among them leaves the tunnel settings
// as they were (it returns false then).
func (s *checkState) svrForwarding(fwd *fwdMethod, tun *tunnel, v parser.Strvec, sType string) bool {
	l := s.l
	switch str := v.Slot(1); str {
	case "NAT":
		*fwd = fwdNAT
	case "DR":
		*fwd = fwdDR
	case "TUN":
		*fwd = fwdTUN
	default:
		l.report(parser.SevGeneral, "PARSER : unknown [%s] routing method for %s server.", str, sType)
		return false
	}
	t := tunnel{typ: "ipip", csum: "nocsum"}
	for i := 2; i < v.Len(); i++ {
		switch w := v.Slot(i); w {
		case "type":
			if v.Len() == i+1 {
				l.report(parser.SevGeneral, "Missing tunnel type for %s server.", sType)
				return false
			}
			switch tt := v.Slot(i + 1); tt {
			case "ipip", "gue", "gre":
				t.typ = tt
			default:
				l.report(parser.SevGeneral, "Unknown tunnel type %s for %s server.", tt, sType)
				return false
			}
			i++
		case "port":
			if v.Len() == i+1 {
				l.report(parser.SevGeneral, "Missing port for %s server gue tunnel.", sType)
				return false
			}
			n, ok := l.readUnsigned(v.Slot(i+1), 1, 65535, false)
			if !ok {
				l.report(parser.SevGeneral, "Invalid gue tunnel port %s for %s server.", v.Slot(i+1), sType)
				return false
			}
			t.port = uint16(n)
			i++
		case "nocsum", "csum", "remcsum":
			t.csum = w
		default:
			l.report(parser.SevGeneral, "Invalid tunnel option %s for %s server.", w, sType)
			return false
		}
	}
	switch {
	case (t.typ == "gue") != (t.port != 0):
		l.report(parser.SevGeneral, "gue tunnels require port, otherwise cannot have port.")
		return false
	case t.typ == "ipip" && t.csum != "nocsum":
		l.report(parser.SevGeneral, "ipip tunnels do not support checksum option.")
		return false
	case t.typ == "gre" && t.csum == "remcsum":
		l.report(parser.SevGeneral, "gre tunnels do not support remote checksum option.")
		return false
	}
	*tun = t
	return true
}

// vsForwarding is vs_forwarding_handler.
func (s *checkState) vsForwarding(vs *vsState, v parser.Strvec) {
	t := *vs.tun
	if s.svrForwarding(&vs.fwd, &t, v, "virtual") {
		vs.tun = &t
	}
}

// persistenceEngine is pengine_handler.
func (s *checkState) persistenceEngine(vs *vsState, v parser.Strvec) {
	str := v.Slot(1)
	if len(str) > ipvsPENameMaxlen {
		s.l.report(parser.SevGeneral, "persistence_name too long, truncating - %s", v.Slot(1))
		str = str[:ipvsPENameMaxlen]
	}
	vs.peName = str
}

// persistenceTimeout is pto_handler.
func (s *checkState) persistenceTimeout(vs *vsState, v parser.Strvec) {
	if v.Len() < 2 {
		vs.persistTO = ipvsPersistTimeout
		return
	}
	n, ok := s.l.readUnsigned(v.Slot(1), 1, lvsMaxTimeout, false)
	if !ok {
		s.l.report(parser.SevGeneral, "persistence_timeout invalid")
		return
	}
	vs.persistTO = uint32(n)
}

// persistenceGranularity is pgr_handler: a prefix length for IPv6, an
// inet_aton netmask for IPv4; the family, when the service has none yet,
// is IPv4 if the value has a '.'.
func (s *checkState) persistenceGranularity(vs *vsState, v parser.Strvec) {
	af := vs.af
	if af == famUnspec {
		af = famInet6
		if strings.Contains(v.Slot(1), ".") {
			af = famInet
		}
	}
	if af == famInet6 {
		n, ok := s.l.readUnsigned(v.Slot(1), 1, 128, false)
		if !ok {
			s.l.report(parser.SevGeneral, "Invalid IPv6 persistence_granularity specified - %s", v.Slot(1))
			return
		}
		vs.gran, vs.granText = uint32(n), itoa(int(n))
	} else {
		b, ok := inetAton(v.Slot(1))
		if !ok {
			s.l.report(parser.SevGeneral, "Invalid IPv4 persistence_granularity specified - %s", v.Slot(1))
			return
		}
		vs.gran = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		vs.granText = sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	if vs.af == famUnspec {
		vs.af = af
	}
	if vs.persistTO == 0 {
		vs.persistTO = ipvsPersistTimeout
	}
}

// protocol is proto_handler.
func (s *checkState) protocol(vs *vsState, v parser.Strvec) {
	switch str := v.Slot(1); strings.ToUpper(str) {
	case "TCP":
		vs.proto = protoTCP
	case "SCTP":
		vs.proto = protoSCTP
	case "UDP":
		vs.proto = protoUDP
	default:
		s.l.report(parser.SevGeneral, "Unknown protocol %s - ignoring", str)
	}
}

// smtpAlert is the shape of vs_smtp_alert_handler and rs_smtp_alert_handler.
func (s *checkState) smtpAlert(v parser.Strvec, dst *int8, msg string) {
	res := 1
	if v.Len() >= 2 {
		res = checkTrueFalse(v.Slot(1))
		if res == -1 {
			s.l.report(parser.SevGeneral, msg, v.Slot(1))
			return
		}
	}
	*dst = int8(res)
	s.numSMTPAlert++
}

// virtualhost is vs_virtualhost_handler and rs_virtualhost_handler.
func (s *checkState) virtualhost(v parser.Strvec, dst *string, missing string) {
	if v.Len() < 2 {
		s.l.report(parser.SevGeneral, "%s", missing)
		return
	}
	*dst = strings.Clone(v.Slot(1))
}

// snmpName is vs_snmp_name_handler and rs_snmp_name_handler.
func (s *checkState) snmpName(v parser.Strvec, dst *string, who string) {
	if v.Len() != 2 {
		s.l.report(parser.SevGeneral, "%s snmp_name missing or extra parameters", who)
		return
	}
	*dst = strings.Clone(v.Slot(1))
}

// vsScript is quorum_up_handler and quorum_down_handler.
func (s *checkState) vsScript(vs *vsState, v parser.Strvec, dst **Script, kw string) {
	if *dst != nil {
		s.l.report(parser.SevGeneral, "(%s) %s script already specified - ignoring %s", cNull(vs.vsgname), kw, v.Slot(1))
		return
	}
	*dst = s.l.notifyScript(0, "quorum")
}

// quorum is quorum_handler.
func (s *checkState) quorum(vs *vsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 1<<32-1, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Quorum %s must be in [1, %d]. Setting to 1.", v.Slot(1), uint32(1<<32-1))
		n = 1
	}
	vs.quorum = uint32(n)
}

// hysteresis is hysteresis_handler.
func (s *checkState) hysteresis(vs *vsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Hysteresis %s must be in [0, %d] - ignoring", v.Slot(1), uint32(1<<32-1))
		return
	}
	vs.hysteresis = uint32(n)
}

// vsWeight is vs_weight_handler.
func (s *checkState) vsWeight(vs *vsState, v parser.Strvec) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, ipvsWeightLimit, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Virtual server weight %s is outside range 1-%d", v.Slot(1), ipvsWeightLimit)
		return
	}
	vs.weight = int32(n)
}

// vsEnd is vs_end_handler: the service's family from its sorry server,
// else (a fwmark with only tunnelled servers) from its servers if they
// agree, else IPv4.
func (s *checkState) vsEnd() {
	vs := s.curVS()
	if vs == nil {
		return
	}
	if vs.ssvr != nil && vs.ssvr.fwd != fwdTUN {
		if fam := famOf(vs.ssvr.m.Addr); vs.af == famUnspec {
			vs.af = fam
		} else if vs.af != fam {
			s.l.report(parser.SevGeneral, "Address family of virtual server and sorry server %s don't match - skipping sorry server.", vs.ssvr.m.Addr)
			vs.ssvr = nil
		}
	}
	if vs.af != famUnspec || vs.vsgname != nil {
		return
	}
	mixed := false
	if vs.ssvr != nil {
		vs.af = famOf(vs.ssvr.m.Addr)
	}
	for _, rs := range vs.rs {
		if fam := famOf(rs.m.Addr); vs.af == famUnspec {
			vs.af = fam
		} else if vs.af != fam {
			mixed = true
			break
		}
	}
	if mixed || vs.af == famUnspec {
		vs.af = famInet
	}
}
