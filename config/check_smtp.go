package config

import (
	"time"

	"keepalived-go/parser"
)

// SMTP_CHECK with its deprecated host blocks: check/check_smtp.c's
// configuration (install_smtp_check_keyword and its handlers,
// smtp_check_end_handler).

// SMTPCheck is the SMTP_CHECK block.
const SMTPCheck CheckerKind = "SMTP_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: SMTPCheck, order: 2, keywords: (*checkState).smtpKeywords,
		start: (*checkState).smtpStart, end: (*checkState).smtpEnd, retry: 1, dbr: timerHz})
}

// SMTPOptions holds SMTP_CHECK settings.
type SMTPOptions struct {
	HeloName string
}

func (*SMTPOptions) isCheckerOptions() {}

// SMTPOpts are an SMTP_CHECK's settings (nil for another kind).
func (c *Checker) SMTPOpts() *SMTPOptions {
	o, _ := c.Options.(*SMTPOptions)
	return o
}

// smtpStart is smtp_check_handler: the connection starts unset, so the end
// handler can tell whether any of it was configured.
func (s *checkState) smtpStart(parser.Strvec) {
	c := s.queueChecker(SMTPCheck, true)
	c.m.Options = &SMTPOptions{}
	co := c.conn()
	co.dst.fam = famUnspec
	co.dst.port = 0
}

func (s *checkState) smtpKeywords() []*parser.Keyword {
	kws := []*parser.Keyword{kw("helo_name", func(v parser.Strvec) {
		c := s.cur()
		if c == nil || c.m.SMTPOpts() == nil {
			return
		}
		if v.Len() < 2 {
			s.l.report(parser.SevGeneral, "SMTP_CHECK helo name missing")
			return
		}
		c.m.SMTPOpts().HeloName = v.Slot(1)
	})}
	kws = append(kws, s.commonKeywords(true)...)
	return append(kws, &parser.Keyword{Name: "host", Handler: s.smtpHost, Sub: s.commonKeywords(true), Close: s.smtpHostEnd})
}

// smtpHost is smtp_host_handler: the checker's connection is put aside and
// a new one, to the real server, takes its place for the block.
func (s *checkState) smtpHost(parser.Strvec) {
	c := s.cur()
	if c == nil {
		return
	}
	s.smtpSavedCo = c.co
	c.co = &coState{}
	if c.rs != nil {
		c.co.dst = c.rs.sa()
	}
}

// smtpHostEnd is smtp_host_end_handler.
func (s *checkState) smtpHostEnd() {
	c := s.cur()
	if c == nil {
		return
	}
	if s.checkConnOpts(c.co) {
		s.smtpHosts = append(s.smtpHosts, c.co)
	}
	c.co = s.smtpSavedCo
}

// smtpEnd is smtp_check_end_handler: the checker connects where its own
// connection keywords say (the real server by default) unless only host
// blocks were given: then the first host is the checker's and every other
// host gets a copy of the checker.
func (s *checkState) smtpEnd() {
	c := s.cur()
	if c == nil || c.m.SMTPOpts() == nil {
		return
	}
	if c.m.SMTPOpts().HeloName == "" {
		c.m.SMTPOpts().HeloName = "smtpchecker.keepalived.org"
	}
	co := c.co
	hosts := s.smtpHosts
	if co.dst.fam != famUnspec || co.dst.port != 0 || co.bindto.fam != famUnspec || co.bindto.port != 0 ||
		co.bindIf != "" || len(hosts) == 0 || co.fwmark != 0 || co.connTo != unsetU32 {
		saved := co.dst.port
		if co.dst.fam == famUnspec && c.rs != nil {
			co.dst = c.rs.sa()
			if saved != 0 {
				co.dst.port = saved
			}
		}
		if saved == 0 && c.rs != nil {
			co.dst.port = uint16(c.rs.m.Port)
		}
		if !s.checkConnOpts(co) {
			// the host list stays for the next SMTP_CHECK, as in keepalived
			s.dequeue()
			return
		}
	} else {
		c.co, hosts = hosts[0], hosts[1:]
	}
	s.smtpHosts = nil
	connTo := unsetU32
	if c.rs != nil && c.rs.m.ConnectTimeout >= 0 {
		connTo = uint32(c.rs.m.ConnectTimeout / time.Microsecond)
	}
	if connTo == unsetU32 && c.vs != nil {
		connTo = c.vs.connTo
	}
	if c.co.connTo == unsetU32 {
		c.co.connTo = connTo
	}
	for _, hco := range hosts {
		if hco.connTo == unsetU32 {
			hco.connTo = connTo
		}
		n := *c
		m := *c.m
		sm := *c.m.SMTPOpts()
		m.Options = &sm
		n.m, n.co = &m, hco
		s.queue = append(s.queue, &n)
	}
}
