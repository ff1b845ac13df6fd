package config

import "keepalived-go/parser"

// SNMP is global_defs' SNMP settings, set by the enable_snmp_* keywords,
// enable_traps and snmp_socket, and by the -x and -A flags
// (Options.SNMPAll, Options.SNMPSocket) as keepalived's alloc_global_data
// sets them before the file is read.
type SNMP struct {
	VRRP    bool   // enable_snmp_vrrp (enable_snmp_keepalived), -x
	Checker bool   // enable_snmp_checker, -x
	RFCv2   bool   // enable_snmp_rfcv2, enable_snmp_rfc, -x
	RFCv3   bool   // enable_snmp_rfcv3, enable_snmp_rfc, -x
	Traps   bool   // enable_traps
	Socket  string // snmp_socket or -A; "" is net-snmp's default unix:/var/agentx/master
}

// Enabled reports whether any MIB is served.
func (s SNMP) Enabled() bool { return s.VRRP || s.Checker || s.RFCv2 || s.RFCv3 }

// pathMax is Linux's PATH_MAX: keepalived refuses a longer socket name.
const pathMax = 4096

// snmpDefaults applies -x and -A before global_defs is read.
func (b *builder) snmpDefaults() {
	s := &b.cfg.Global.SNMP
	if b.opts.SNMPAll {
		s.VRRP, s.Checker, s.RFCv2, s.RFCv3 = true, true, true, true
	}
	s.Socket = b.opts.SNMPSocket
}

// snmpKeyword reads one SNMP keyword of global_defs, as keepalived's
// snmp_*_handler, trap_handler and snmp_socket_handler do; it reports
// whether the keyword was one of them.
func (b *builder) snmpKeyword(st *parser.Stmt) bool {
	s := &b.cfg.Global.SNMP
	switch st.Name() {
	case "enable_snmp_vrrp", "enable_snmp_keepalived":
		s.VRRP = true
	case "enable_snmp_checker":
		s.Checker = true
	case "enable_snmp_rfc":
		s.RFCv2, s.RFCv3 = true, true
	case "enable_snmp_rfcv2":
		s.RFCv2 = true
	case "enable_snmp_rfcv3":
		s.RFCv3 = true
	case "enable_traps":
		s.Traps = true
	case "snmp_socket":
		b.snmpSocket(st)
	default:
		return false
	}
	// Until cmd/keepalived serves SNMP the daemon reports these as "not
	// supported yet" from Other; the wiring removes this.
	b.cfg.Global.Other = append(b.cfg.Global.Other, b.keep(st, "global_defs"))
	return true
}

// snmpSocket is snmp_socket_handler.
func (b *builder) snmpSocket(st *parser.Stmt) {
	s := &b.cfg.Global.SNMP
	switch {
	case len(st.Args) > 1:
		b.report(st, parser.SevGeneral, "Too many parameters specified for snmp_socket - ignoring")
	case len(st.Args) < 1:
		b.report(st, parser.SevGeneral, "SNMP error : snmp socket name missing")
	case len(st.Args[0].Value()) > pathMax-1:
		b.report(st, parser.SevGeneral, "SNMP error : snmp socket name too long - ignored")
	case s.Socket != "":
		b.report(st, parser.SevGeneral, "SNMP socket already set to %s - ignoring", s.Socket)
	default:
		s.Socket = st.Args[0].Value()
	}
}
