package config

import (
	"net/netip"

	"keepalived-go/parser"
)

// The checker process's configuration: a port of keepalived 2.2.7's
// check/check_parser.c (init_check_keywords and its handlers) and of the
// allocation functions of check/check_data.c (alloc_vs, alloc_rs,
// alloc_ssvr, alloc_vsg, alloc_vsg_entry). The handlers fill a state that
// keeps keepalived's own representation (its "unset" sentinels, address
// families, the global checkers queue); validate (check_validate.go) runs
// link_vsg_to_vs and validate_check_config over it and only then writes the
// model, so every inherited value in the model is final.

// family is a sockaddr's ss_family.
type family uint8

const (
	famUnspec family = iota
	famInet
	famInet6
)

func (f family) String() string {
	switch f {
	case famInet:
		return "inet"
	case famInet6:
		return "inet6"
	}
	return ""
}

// sockaddr is keepalived's sockaddr_t as the checker code uses it: a family,
// an address and a port. A failed inet_stosockaddr leaves the family unset.
type sockaddr struct {
	fam  family
	ip   netip.Addr
	port uint16
}

// Sentinels keepalived uses for "not set" (UINT_MAX, ULONG_MAX, INT64_MAX).
const (
	unsetU32 = ^uint32(0)
	unsetU64 = ^uint64(0)
	unsetI64 = int64(^uint64(0) >> 1)
)

// Limits of keepalived's checker code.
const (
	ipvsWeightLimit     = 1<<31 - 1 // IPVS_WEIGHT_LIMIT (INT32_MAX)
	ipvsWeightFault     = -1 << 31  // IPVS_WEIGHT_FAULT
	ipvsPersistTimeout  = 6 * 60    // IPVS_SVC_PERSISTENT_TIMEOUT
	ipvsSchedNameMaxlen = 16        // IP_VS_SCHEDNAME_MAXLEN
	ipvsPENameMaxlen    = 16        // IP_VS_PENAME_MAXLEN
	ifNameSize          = 16        // IFNAMSIZ
	bfdINameMax         = 32        // BFD_INAME_MAX
	defaultDelayLoop    = 60 * timerHz
)

// IPVS service flags (linux/ip_vs.h).
const (
	svcFOnePacket = 0x0004
	svcFSched1    = 0x0008
	svcFSched2    = 0x0010
	svcFSched3    = 0x0020
)

// checkState is the checker process's read (check_data_t plus the statics of
// the checkers' parsers) and its validation.
type checkState struct {
	l *loader

	ssl         *SSLContext
	sslRequired bool
	vsgs        []*vsgState
	vss         []*vsState
	// queue is keepalived's checkers_queue: CHECKER_GET_CURRENT is its
	// last entry, whatever real server that belongs to.
	queue []*ckState
	// trackBFDs are the bfd_instance names the checker keeps
	// (check_data->track_bfds).
	trackBFDs []string
	bfdEvents bfdEventBits // specified_event_processes

	// statics of the checkers' parsers
	misc          *ckState // check_misc.c new_misck_checker
	miscUserSet   bool     // check_misc.c script_user_set
	bfdChecker    *ckState // check_bfd.c new_checker
	smtpHosts     []*coState
	smtpSavedCo   *coState
	regexPattern  *string // check_http.c conf_regex_pattern
	regexOptions  uint32  // check_http.c conf_regex_options
	jitStackStart uint64
	jitStackMax   uint64
	numSMTPAlert  int
	sharedHTTP    map[string]*HTTPOptions
	httpScratch   HTTPOptions
}

func newCheckState(l *loader) *checkState { return &checkState{l: l} }

// vsgState is virtual_server_group_t.
type vsgState struct {
	m *VirtualServerGroup
	// entries in file order (keepalived keeps its address ranges and its
	// fwmarks in two lists; the model keeps one).
	entries            []*VSGEntry
	haveIPv4, haveIPv6 bool
	fwmarkNoFamily     bool
	removed            bool
}

func (g *vsgState) hasAddrRange() bool {
	for _, e := range g.entries {
		if !e.IsMark {
			return true
		}
	}
	return false
}

func (g *vsgState) hasFWMark() bool {
	for _, e := range g.entries {
		if e.IsMark {
			return true
		}
	}
	return false
}

// vsState is virtual_server_t while the checker reads and validates it.
type vsState struct {
	pos        Pos
	vsgname    *string
	vsg        *vsgState
	af         family
	addr       sockaddr
	fwmark     uint32
	ssvr       *rsState
	ssvrDup    bool
	proto      uint8 // service_type: 0, tcp, udp, sctp
	haSuspend  bool
	sched      string
	flags      uint32
	flagNames  []string
	persistTO  uint32
	peName     string
	fwd        fwdMethod
	tun        *tunnel
	snmpName   string
	granText   string
	gran       uint32
	vhost      string
	weight     int32
	rs         []*rsState
	alpha      bool
	omega      bool
	inhibit    bool
	connTo     uint32
	delayLoop  uint64
	warmup     uint64
	retry      uint32
	dbr        uint64
	quorumUp   *Script
	quorumDown *Script
	quorum     uint32
	hysteresis uint32
	smtpAlert  int8
	removed    bool
}

// IP protocol numbers of service_type.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// checkKeywords is init_check_keywords.
func (l *loader) checkKeywords(active bool) []*parser.Keyword {
	var s *checkState
	if active {
		s = l.check
	}
	ssl := &parser.Keyword{Name: "SSL", Inactive: !active}
	vsg := &parser.Keyword{Name: "virtual_server_group", Inactive: !active}
	vs := &parser.Keyword{Name: "virtual_server", Inactive: !active, Handler: func(parser.Strvec) {}}
	if active {
		ssl.Handler = s.sslHandler
		ssl.Sub = s.sslKeywords()
		vsg.Handler = s.vsgHandler
		vs.Handler = s.vsHandler
		vs.Sub = s.vsKeywords()
		vs.Close = s.vsEnd
	}
	return []*parser.Keyword{ssl, vsg, vs}
}

// kw makes one table entry.
func kw(name string, h func(parser.Strvec)) *parser.Keyword {
	return &parser.Keyword{Name: name, Handler: h}
}

// sslHandler is ssl_handler.
func (s *checkState) sslHandler(v parser.Strvec) {
	if s.ssl != nil {
		s.l.report(parser.SevGeneral, "SSL context already specified - replacing")
	}
	s.ssl = &SSLContext{}
}

func (s *checkState) sslKeywords() []*parser.Keyword {
	file := func(typ string, dst func(*SSLContext) *string) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if v.Len() < 2 {
				s.l.report(parser.SevGeneral, "SSL %s missing", typ)
				return
			}
			p := dst(s.ssl)
			if *p != "" {
				s.l.report(parser.SevGeneral, "SSL %s already specified - replacing", typ)
			}
			*p = v.Slot(1)
		}
	}
	return []*parser.Keyword{
		kw("password", file("password", func(c *SSLContext) *string { return &c.Password })),
		kw("ca", file("cafile", func(c *SSLContext) *string { return &c.CAFile })),
		kw("certificate", file("certfile", func(c *SSLContext) *string { return &c.CertFile })),
		kw("key", file("keyfile", func(c *SSLContext) *string { return &c.KeyFile })),
	}
}

// vsgHandler is vsg_handler: the group's entries are a value block read
// with the group name left out of the vector.
func (s *checkState) vsgHandler(v parser.Strvec) {
	g := &vsgState{m: &VirtualServerGroup{Pos: s.l.pos(), Name: v.Slot(1)}}
	s.vsgs = append(s.vsgs, g)
	var rest []string
	if v.Len() > 2 {
		rest = v.W[2:]
	}
	s.l.p.ValueBlockNull(rest, func(e parser.Strvec) { s.vsgEntry(g, e) })
	switch {
	case len(g.entries) == 0:
		s.l.report(parser.SevGeneral, "virtual server group %s has no entries - removing", g.m.Name)
		g.removed = true
	case g.haveIPv4 && g.haveIPv6 && g.fwmarkNoFamily:
		s.l.report(parser.SevGeneral, "virtual server group %s cannot have IPv4, IPv6 and fwmark without family - removing", g.m.Name)
		g.removed = true
	}
}

// vsgEntry is alloc_vsg_entry.
func (s *checkState) vsgEntry(g *vsgState, v parser.Strvec) {
	l := s.l
	addrStr := v.Slot(0)
	if addrStr == "fwmark" {
		mark, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
		if !ok {
			l.report(parser.SevGeneral, "(%s): fwmark '%s' must be in [0, %d] - ignoring", g.m.Name, v.Slot(1), uint32(1<<32-1))
			return
		}
		e := &VSGEntry{Pos: l.pos(), FWMark: uint32(mark), IsMark: true}
		if v.Len() > 2 {
			switch fam := v.Slot(2); fam {
			case "inet":
				e.Family = "inet"
				g.haveIPv4 = true
			case "inet6":
				e.Family = "inet6"
				g.haveIPv6 = true
			default:
				l.report(parser.SevGeneral, "(%s): fwmark '%d' family %s unknown - ignoring", g.m.Name, uint32(mark), fam)
				return
			}
		} else {
			g.fwmarkNoFamily = true
		}
		g.entries = append(g.entries, e)
		return
	}
	port, hasPort := "", false
	if v.Len() >= 2 {
		port = v.Slot(1)
		hasPort = !allZeros(port)
	}
	var addr sockaddr
	if l.stoSockaddr(addrStr, port, hasPort, &addr) {
		extra := ""
		if hasPort {
			extra = "/port/" + port
		}
		l.report(parser.SevGeneral, "Invalid virtual server group IP address %s %s - skipping", addrStr, extra)
		return
	}
	end, ok := s.vsgRangeEnd(addrStr, port, hasPort, addr)
	if !ok {
		return
	}
	e := &VSGEntry{Pos: l.pos(), First: addr.ip, Last: end.ip, Port: int(addr.port)}
	g.entries = append(g.entries, e)
	if addr.fam == famInet {
		g.haveIPv4 = true
	} else {
		g.haveIPv6 = true
	}
}

// allZeros is keepalived's !s[strspn(s, "0")]: a port of only zeros is no
// port at all (inet_stosockaddr rejects port 0).
func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
