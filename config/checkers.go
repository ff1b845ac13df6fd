package config

import (
	"fmt"
	"slices"
	"time"

	"keepalived-go/parser"
)

// The checkers of a real server: the checkers queue and the common keywords
// of check/check_api.c (queue_checker, dequeue_new_checker,
// check_conn_opts, install_checker_common_keywords), and the table of
// checker kinds (install_checkers_keyword): each kind registers its row
// from its own file, check_<kind>.go.

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
	if k := checkerKindOf(c.m.Kind); k != nil {
		return k.retry, k.dbr
	}
	return 1, timerHz
}

// checkerKind is one row of the checker table. Each kind registers its row
// from its own file (check_<kind>.go), which also holds its CheckerKind,
// its options type and its keywords.
type checkerKind struct {
	name CheckerKind
	// order is the kind's place in install_checkers_keyword (MISC, SMTP,
	// TCP, PING, UDP, HTTP_GET, SSL_GET, DNS, FILE, BFD), which is the
	// order of the real server's keyword table.
	order int
	// keywords builds the block's table (fresh entries: parser tables are
	// looked up by their first entry).
	keywords func(s *checkState) []*parser.Keyword
	start    func(s *checkState, v parser.Strvec)
	end      func(s *checkState)
	// retry and dbr are the kind's default_retry and
	// default_delay_before_retry in timer ticks (0: delay_loop).
	retry uint32
	dbr   uint64
}

// checkerKindRows are the registered kinds, in order.
var checkerKindRows []*checkerKind

// registerCheckerKind adds a kind's row; called from the kind's file's
// init. A name or order registered twice is a programming error.
func registerCheckerKind(k checkerKind) {
	for _, o := range checkerKindRows {
		if o.name == k.name || o.order == k.order {
			panic(fmt.Sprintf("config: checker kind %s (order %d) registered twice", k.name, k.order))
		}
	}
	i, _ := slices.BinarySearchFunc(checkerKindRows, k.order, func(r *checkerKind, o int) int { return r.order - o })
	checkerKindRows = slices.Insert(checkerKindRows, i, &k)
}

// checkerKindOf is the row of a kind (nil: none).
func checkerKindOf(name CheckerKind) *checkerKind {
	for _, k := range checkerKindRows {
		if k.name == name {
			return k
		}
	}
	return nil
}

// CheckerKinds are the checker blocks a real_server may hold, in
// keepalived's order. The checker engine keeps one row per kind
// (check/kinds.go) and its tests hold the two to the same list.
func CheckerKinds() []CheckerKind {
	ks := make([]CheckerKind, len(checkerKindRows))
	for i, k := range checkerKindRows {
		ks[i] = k.name
	}
	return ks
}

// CheckerOptions are the settings only one checker kind has
// (*HTTPOptions, *MiscOptions, ...; nil for a kind with none). Each kind's
// file defines its type and the Checker accessor that reads it.
type CheckerOptions interface{ isCheckerOptions() }

// scriptOptions is implemented by the options of a kind that runs a
// script: the script is named (naming.go) and checked by script security
// (check_validate.go), which removes the checker when it may not run.
type scriptOptions interface {
	CheckerOptions
	checkerScript() *Script
}

// modelOptions is implemented by the options of a kind that completes
// them once the checker's timings are resolved (ckState.model).
type modelOptions interface {
	CheckerOptions
	completeModel(m *Checker)
}

// checkerKeywords installs every checker block of a real server.
func (s *checkState) checkerKeywords() []*parser.Keyword {
	var kws []*parser.Keyword
	for _, k := range checkerKindRows {
		kws = append(kws, &parser.Keyword{
			Name:    string(k.name),
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
