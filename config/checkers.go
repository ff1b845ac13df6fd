package config

import (
	"strings"
	"time"

	"keepalived-go/parser"
)

// The checkers of a real server: the checkers queue and the common keywords
// of check/check_api.c (queue_checker, dequeue_new_checker,
// check_conn_opts, install_checker_common_keywords), and one row per
// checker kind with its keyword installer (install_checkers_keyword), in
// keepalived's order.

// ckState is what checker_t holds besides the model while the checker
// process reads and validates it. The model is filled in place; its unset
// timings are keepalived's sentinels: Retry, DelayLoop, Warmup and
// DelayBeforeRetry -1.
type ckState struct {
	m  *Checker
	vs *vsState
	rs *rsState
	// co is conn_opts_t, made on first use as queue_checker makes it (the
	// real server's address and port as written); nil for MISC_CHECK and
	// BFD_CHECK, which have none (hasCo false).
	co    *coState
	hasCo bool
	// connTo is connect_timeout while co is not made yet (unsetU32: none).
	connTo uint32
	// launch is false for BFD_CHECK (no thread: no timings inherited).
	launch     bool
	alpha      int8 // -1: not set
	removed    bool
	dnsNameSet bool
}

// coState is conn_opts_t.
type coState struct {
	dst, bindto sockaddr
	bindIf      string
	connTo      uint32
	fwmark      uint32
}

// conn is CHECKER_GET_CO for a checker: its conn_opts_t, nil for a kind
// without one.
func (c *ckState) conn() *coState {
	if c.co == nil && c.hasCo {
		c.co = &coState{connTo: c.connTo}
		if c.rs != nil {
			c.co.dst = sockaddr{fam: famOf(c.rs.m.Addr), ip: c.rs.m.Addr, port: c.rs.port0}
		}
	}
	return c.co
}

// defaults are the checker kind's default_retry and
// default_delay_before_retry (0: delay_loop).
func (c *ckState) defaults() (retry uint32, dbr uint64) {
	switch c.m.Kind {
	case MiscCheck:
		return 0, timerHz
	case DNSCheck:
		return 3, 0
	case HTTPGet, SSLGet:
		return 1, 3 * timerHz
	}
	return 1, timerHz
}

// checkerKind is one row of the checker table.
type checkerKind struct {
	name string
	// keywords builds the block's table (fresh entries: parser tables are
	// looked up by their first entry).
	keywords func(s *checkState) []*parser.Keyword
	start    func(s *checkState, v parser.Strvec)
	end      func(s *checkState)
}

// checkerKinds is install_checkers_keyword's order.
var checkerKinds = []checkerKind{
	{"MISC_CHECK", (*checkState).miscKeywords, (*checkState).miscStart, (*checkState).miscEnd},
	{"SMTP_CHECK", (*checkState).smtpKeywords, (*checkState).smtpStart, (*checkState).smtpEnd},
	{"TCP_CHECK", func(s *checkState) []*parser.Keyword { return s.commonKeywords(true) },
		func(s *checkState, _ parser.Strvec) { s.queueChecker(TCPCheck, true) }, (*checkState).connEnd},
	{"PING_CHECK", func(s *checkState) []*parser.Keyword { return s.commonKeywords(true) },
		func(s *checkState, _ parser.Strvec) { s.queueChecker(PingCheck, true) }, (*checkState).connEnd},
	{"UDP_CHECK", (*checkState).udpKeywords, (*checkState).udpStart, (*checkState).udpEnd},
	{"HTTP_GET", (*checkState).httpKeywords, (*checkState).httpStart, (*checkState).httpEnd},
	{"SSL_GET", (*checkState).httpKeywords, (*checkState).httpStart, (*checkState).httpEnd},
	{"DNS_CHECK", (*checkState).dnsKeywords, (*checkState).dnsStart, (*checkState).dnsEnd},
	{"FILE_CHECK", (*checkState).fileKeywords, (*checkState).fileStart, (*checkState).fileEnd},
	{"BFD_CHECK", (*checkState).bfdCheckKeywords, (*checkState).bfdCheckStart, (*checkState).bfdCheckEnd},
}

// CheckerKinds are the checker blocks a real_server may hold, in
// keepalived's order. The checker engine keeps one row per kind
// (check/kinds.go) and its tests hold the two to the same list.
var CheckerKinds = func() []CheckerKind {
	ks := make([]CheckerKind, len(checkerKinds))
	for i, k := range checkerKinds {
		ks[i] = CheckerKind(k.name)
	}
	return ks
}()

// checkerKeywords installs every checker block of a real server.
func (s *checkState) checkerKeywords() []*parser.Keyword {
	var kws []*parser.Keyword
	for _, k := range checkerKinds {
		k := k
		kws = append(kws, &parser.Keyword{
			Name:    k.name,
			Handler: func(v parser.Strvec) { k.start(s, v) },
			Sub:     k.keywords(s),
			Close:   func() { k.end(s) },
		})
	}
	return kws
}

// cur is CHECKER_GET_CURRENT: the last checker queued (nil when the queue
// is empty, where keepalived reads the list head as a checker).
func (s *checkState) cur() *ckState {
	if len(s.queue) == 0 {
		return nil
	}
	return s.queue[len(s.queue)-1]
}

// curCo is CHECKER_GET_CO.
func (s *checkState) curCo() *coState {
	if c := s.cur(); c != nil {
		return c.conn()
	}
	return nil
}

// queueChecker is queue_checker: the checker belongs to the last real
// server of the last virtual server; its connection defaults to the real
// server's address and port as they are now.
func (s *checkState) queueChecker(kind CheckerKind, withCo bool) *ckState {
	vs, rs := s.curRS()
	c := &ckState{m: &Checker{Pos: s.l.pos(), Kind: kind, Retry: -1, DelayLoop: -1, Warmup: -1, DelayBeforeRetry: -1},
		vs: vs, rs: rs, hasCo: withCo, connTo: unsetU32, launch: true, alpha: -1}
	s.queue = append(s.queue, c)
	return c
}

// dequeue is dequeue_new_checker: the last checker queued goes.
func (s *checkState) dequeue() {
	if c := s.cur(); c != nil {
		c.removed = true
		s.queue = s.queue[:len(s.queue)-1]
	}
}

// checkConnOpts is check_conn_opts.
func (s *checkState) checkConnOpts(co *coState) bool {
	if co == nil {
		return true
	}
	if co.dst.fam == famInet6 && co.dst.ip.Is6() && co.dst.ip.IsLinkLocalUnicast() && co.bindIf == "" {
		s.l.report(parser.SevGeneral, "Checker link local address %s requires a bind_if", sockaddrString(co.dst))
		return false
	}
	return true
}

// checkConn is check_conn_opts(CHECKER_GET_CO()) for checker c, without
// making the conn_opts_t of a checker that never changed it.
func (s *checkState) checkConn(c *ckState) bool {
	switch {
	case c == nil || !c.hasCo:
		return true
	case c.co != nil:
		return s.checkConnOpts(c.co)
	case c.rs == nil:
		return true
	}
	return s.checkConnOpts(&coState{dst: sockaddr{fam: famOf(c.rs.m.Addr), ip: c.rs.m.Addr, port: c.rs.port0}})
}

// connEnd is tcp_check_end_handler and ping_check_end_handler.
func (s *checkState) connEnd() {
	if !s.checkConn(s.cur()) {
		s.dequeue()
	}
}

// commonKeywords is install_checker_common_keywords.
func (s *checkState) commonKeywords(connection bool) []*parser.Keyword {
	co := func(f func(*coState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.curCo(); c != nil {
				f(c, v)
			}
		}
	}
	ck := func(f func(*ckState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.cur(); c != nil {
				f(c, v)
			}
		}
	}
	var kws []*parser.Keyword
	if connection {
		kws = append(kws,
			kw("connect_ip", co(s.connectIP)),
			kw("connect_port", co(func(c *coState, v parser.Strvec) { s.coPort(v, &c.dst, "connect_port") })),
			kw("bindto", co(s.bindTo)),
			kw("bind_port", co(func(c *coState, v parser.Strvec) { s.coPort(v, &c.bindto, "bind_port") })),
			kw("bind_if", co(func(c *coState, v parser.Strvec) {
				if len(v.Slot(1)) > ifNameSize-1 {
					s.l.report(parser.SevGeneral, "Interface name %s is too long - ignoring", v.Slot(1))
					return
				}
				c.bindIf = v.Slot(1)
			})),
			kw("connect_timeout", ck(func(c *ckState, v parser.Strvec) {
				if c.co != nil {
					s.connTimeout(v, &c.co.connTo, "")
				} else if c.hasCo {
					s.connTimeout(v, &c.connTo, "")
				}
			})),
			kw("fwmark", co(func(c *coState, v parser.Strvec) {
				n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
				if !ok {
					s.l.report(parser.SevGeneral, "Invalid fwmark connection value '%s'", v.Slot(1))
					return
				}
				c.fwmark = uint32(n)
			})),
		)
	}
	timer := func(minUs uint64, msg string, dst func(*Checker) *time.Duration) func(parser.Strvec) {
		return ck(func(c *ckState, v parser.Strvec) {
			t := unsetU64
			if s.timer(v, minUs, 0, &t, msg); t != unsetU64 {
				*dst(c.m) = usDur(t)
			}
		})
	}
	return append(kws,
		kw("retry", ck(func(c *ckState, v parser.Strvec) {
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Invalid retry connection value '%s'", v.Slot(1))
				return
			}
			c.m.Retry = int(n)
		})),
		kw("delay_before_retry", timer(0, "Invalid delay_before_retry connection value '%s'",
			func(m *Checker) *time.Duration { return &m.DelayBeforeRetry })),
		kw("warmup", timer(0, "Invalid warmup connection value '%s'", func(m *Checker) *time.Duration { return &m.Warmup })),
		kw("delay_loop", timer(1, "delay_loop '%s' is invalid - ignoring", func(m *Checker) *time.Duration { return &m.DelayLoop })),
		kw("alpha", ck(func(c *ckState, v parser.Strvec) { s.checkerAlpha(&c.alpha, v) })),
		kw("log_all_failures", ck(func(c *ckState, v parser.Strvec) {
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res == -1 {
					s.l.report(parser.SevGeneral, "Invalid log_all_failures parameter %s", v.Slot(1))
					return
				}
			}
			c.m.LogAllFailures = res == 1
		})),
	)
}

// checkerAlpha is alpha_handler (and bfd_alpha_handler).
func (s *checkState) checkerAlpha(dst *int8, v parser.Strvec) {
	res := 1
	if v.Len() >= 2 {
		if res = checkTrueFalse(v.Slot(1)); res == -1 {
			s.l.report(parser.SevGeneral, "Invalid alpha parameter %s", v.Slot(1))
			return
		}
	}
	*dst = int8(res)
}

// connectIP is co_ip_handler.
func (s *checkState) connectIP(c *coState, v parser.Strvec) {
	if s.l.stoSockaddr(v.Slot(1), "", false, &c.dst) {
		s.l.report(parser.SevGeneral, "Invalid connect_ip address %s - ignoring", v.Slot(1))
	} else if c.bindto.fam != famUnspec && c.bindto.fam != c.dst.fam {
		s.l.report(parser.SevGeneral, "connect_ip address %s does not match address family of bindto - skipping", v.Slot(1))
		c.dst.fam = famUnspec
	}
}

// bindTo is co_srcip_handler.
func (s *checkState) bindTo(c *coState, v parser.Strvec) {
	if s.l.stoSockaddr(v.Slot(1), "", false, &c.bindto) {
		s.l.report(parser.SevGeneral, "Invalid bindto address %s - ignoring", v.Slot(1))
	} else if c.dst.fam != famUnspec && c.dst.fam != c.bindto.fam {
		s.l.report(parser.SevGeneral, "bindto address %s does not match address family of connect_ip - skipping", v.Slot(1))
		c.bindto.fam = famUnspec
	}
}

// coPort is co_port_handler and co_srcport_handler (checker_set_dst_port).
func (s *checkState) coPort(v parser.Strvec, dst *sockaddr, kw string) {
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 65535, true)
	if !ok {
		s.l.report(parser.SevGeneral, "Invalid checker %s '%s'", kw, v.Slot(1))
		return
	}
	dst.port = uint16(n)
}

// --- UDP_CHECK (check_udp.c)

func (s *checkState) udpStart(parser.Strvec) {
	c := s.queueChecker(UDPCheck, true)
	c.m.UDP = &UDPOptions{MaxReplyLength: 255}
}

func (s *checkState) udpKeywords() []*parser.Keyword {
	udp := func(f func(*UDPOptions, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.cur(); c != nil && c.m.UDP != nil {
				f(c.m.UDP, v)
			}
		}
	}
	return append(s.commonKeywords(true),
		kw("payload", udp(func(u *UDPOptions, v parser.Strvec) {
			if v.Len() == 1 {
				s.l.report(parser.SevGeneral, "UDP_CHECK payload requires a payload")
				return
			}
			data, _, n := readHexStr(strings.Join(v.W[1:], " "), false)
			if n == 0 {
				s.l.report(parser.SevGeneral, "Invalid hex string for UDP_CHECK payload")
				u.Payload = nil
				return
			}
			u.Payload = data
		})),
		kw("require_reply", udp(func(u *UDPOptions, v parser.Strvec) {
			u.RequireReply = true
			if v.Len() == 1 {
				return
			}
			data, mask, n := readHexStr(strings.Join(v.W[1:], " "), true)
			if n == 0 {
				s.l.report(parser.SevGeneral, "Invalid hex string for UDP_CHECK reply")
				u.ReplyPattern = nil
				return
			}
			u.ReplyPattern = data
			if mask != nil {
				u.ReplyMask = mask
			}
		})),
		kw("min_reply_length", udp(func(u *UDPOptions, v parser.Strvec) { s.udpLength(v, &u.MinReplyLength, "min") })),
		kw("max_reply_length", udp(func(u *UDPOptions, v parser.Strvec) { s.udpLength(v, &u.MaxReplyLength, "max") })),
	)
}

// udpLength is min_length_handler and max_length_handler.
func (s *checkState) udpLength(v parser.Strvec, dst *int, which string) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 65535, false)
	if !ok {
		s.l.report(parser.SevGeneral, "UDP_CHECK %s length %s not valid - must be between 0 & %d", which, v.Slot(1), 65535)
		return
	}
	*dst = int(n)
}

// udpEnd is udp_check_end_handler.
func (s *checkState) udpEnd() {
	c := s.cur()
	if !s.checkConn(c) {
		s.dequeue()
		return
	}
	if c != nil && c.m.UDP != nil && c.m.UDP.MinReplyLength > c.m.UDP.MaxReplyLength {
		s.l.report(parser.SevGeneral, "UDP_CHECK min_reply length %d > max_reply_length %d - will always fail",
			c.m.UDP.MinReplyLength, c.m.UDP.MaxReplyLength)
	}
}

// readHexStr is read_hex_str: hex digits, optionally separated by spaces
// or tabs between octets; with a mask, x or X is a wildcard nibble (mask nil
// when there is none). n is 0 for an invalid or empty string.
func readHexStr(str string, allowMask bool) (data, mask []byte, n int) {
	hexv := func(c byte) byte {
		switch {
		case c >= '0' && c <= '9':
			return c - '0'
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10
		case allowMask && (c == 'x' || c == 'X'):
			return 0xfe
		}
		return 0xff
	}
	using := false
	var val byte
	p := 0
	for {
		for p < len(str) && (str[p] == ' ' || str[p] == '\t') {
			p++
		}
		if p >= len(str) {
			break
		}
		val = hexv(str[p])
		p++
		if val == 0xff {
			break
		}
		var m byte
		if val == 0xfe {
			m, val, using = 0x0f, 0, true
		}
		if p < len(str) && str[p] != ' ' {
			hi := val << 4
			m <<= 4
			val = hexv(str[p])
			p++
			if val == 0xff {
				break
			}
			if val == 0xfe {
				m |= 0x0f
				val = 0
				using = true
			}
			val |= hi
		}
		data = append(data, val)
		mask = append(mask, m)
	}
	if val == 0xff || len(data) == 0 {
		return nil, nil, 0
	}
	if !using {
		mask = nil
	}
	return data, mask, len(data)
}

// --- DNS_CHECK (check_dns.c)

// dnsTypes is check_dns.c's DNS_TYPE table.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}

func (s *checkState) dnsStart(parser.Strvec) {
	c := s.queueChecker(DNSCheck, true)
	c.m.DNS = &DNSOptions{Type: "SOA"}
}

func (s *checkState) dnsKeywords() []*parser.Keyword {
	dns := func(f func(*ckState, *DNSOptions, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.cur(); c != nil && c.m.DNS != nil {
				f(c, c.m.DNS, v)
			}
		}
	}
	return append(s.commonKeywords(true),
		kw("type", dns(func(_ *ckState, d *DNSOptions, v parser.Strvec) {
			for _, t := range dnsTypes {
				if strings.EqualFold(t, v.Slot(1)) {
					d.Type = t
					return
				}
			}
			s.l.report(parser.SevGeneral, "Unknown DNS check type %s - ignoring", v.Slot(1))
		})),
		kw("name", dns(s.dnsName)),
	)
}

// dnsName is dns_name_handler. keepalived's test for an empty label also
// refuses a name whose second character is a dot.
func (s *checkState) dnsName(c *ckState, d *DNSOptions, v parser.Strvec) {
	if c.dnsNameSet {
		s.l.report(parser.SevGeneral, "DNS_CHECK name already specified - ignoring")
		return
	}
	name := v.Slot(1)
	invalid := false
	if len(name) > 1 && name[0] == '.' {
		invalid = true
	} else {
		for p := 0; ; {
			if p+1 < len(name) && name[p+1] == '.' {
				invalid = true
				break
			}
			next := strings.IndexByte(name[min(p+1, len(name)):], '.')
			if next < 0 {
				break
			}
			p += 1 + next
		}
	}
	if invalid {
		s.l.report(parser.SevGeneral, "DNS_CHECK name '%s' has empty label - ignoring", name)
		return
	}
	d.Name = name
	c.dnsNameSet = true
}

// dnsEnd is dns_check_end.
func (s *checkState) dnsEnd() {
	if !s.checkConn(s.cur()) {
		s.dequeue()
	}
}

// --- FILE_CHECK (check_file.c): kept on the real server, not queued.

func (s *checkState) fileStart(parser.Strvec) {
	if _, rs := s.curRS(); rs != nil {
		rs.ext().trackFiles = append(rs.ext().trackFiles, &fileMonitor{pos: s.l.pos(), weight: ipvsWeightFault})
	}
}

// curFile is the last FILE_CHECK of the current real server.
func (s *checkState) curFile() *fileMonitor {
	if _, rs := s.curRS(); rs != nil && rs.extra != nil && len(rs.extra.trackFiles) > 0 {
		return rs.extra.trackFiles[len(rs.extra.trackFiles)-1]
	}
	return nil
}

func (s *checkState) fileKeywords() []*parser.Keyword {
	f := func(h func(*fileMonitor, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if t := s.curFile(); t != nil {
				h(t, v)
			}
		}
	}
	return []*parser.Keyword{
		kw("track_file", f(func(t *fileMonitor, v parser.Strvec) {
			tf := s.l.checkerTrackFile(v.Slot(1))
			if tf == nil {
				s.l.report(parser.SevGeneral, "track_file %s not found", v.Slot(1))
				return
			}
			t.file = tf
		})),
		kw("weight", f(s.fileWeight)),
	}
}

// fileWeight is check_file.c's track_file_weight_handler.
func (s *checkState) fileWeight(t *fileMonitor, v parser.Strvec) {
	if v.Len() < 2 {
		s.l.report(parser.SevGeneral, "track file weight missing")
		return
	}
	w, ok := s.l.readInt(v.Slot(1), -ipvsWeightLimit, ipvsWeightLimit, true)
	if !ok {
		s.l.report(parser.SevGeneral, "weight for track file must be in [%d..%d] inclusive. Ignoring...", -ipvsWeightLimit, ipvsWeightLimit)
		return
	}
	reverse := false
	if v.Len() >= 3 {
		switch v.Slot(2) {
		case "reverse":
			reverse = true
		case "noreverse":
		default:
			s.l.report(parser.SevGeneral, "unknown track file weight option %s - ignoring", v.Slot(2))
			return
		}
	}
	t.weight, t.reverse = int32(w), reverse
}

// fileEnd is check_file.c's file_end_handler.
func (s *checkState) fileEnd() {
	_, rs := s.curRS()
	t := s.curFile()
	if t == nil {
		return
	}
	if t.file == nil {
		s.l.report(parser.SevGeneral, "FILE_CHECK has no track_file specified - ignoring")
		rs.extra.trackFiles = rs.extra.trackFiles[:len(rs.extra.trackFiles)-1]
		return
	}
	if t.weight == ipvsWeightFault {
		t.weight, t.reverse = int32(t.file.Weight), t.file.WeightReverse
	}
}

// checkerTrackFile finds a track_file block the checker's read has seen so
// far (keepalived's find_tracked_file_by_name on check_data->track_files):
// one defined after the virtual server is not found.
func (l *loader) checkerTrackFile(name string) *TrackFile {
	for _, tf := range l.checkTrackFiles {
		if tf.Name == name {
			return tf
		}
	}
	return nil
}
