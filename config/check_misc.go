package config

import (
	"time"

	"keepalived-go/parser"
)

// MISC_CHECK (check/check_misc.c), SMTP_CHECK with its deprecated host
// blocks (check/check_smtp.c) and BFD_CHECK (check/check_bfd.c).

// --- MISC_CHECK

// miscStart is misc_check_handler.
func (s *checkState) miscStart(parser.Strvec) {
	c := s.queueChecker(MiscCheck, false)
	c.m.Misc = &MiscOptions{}
	s.misc = c
	s.miscUserSet = false
}

func (s *checkState) miscKeywords() []*parser.Keyword {
	m := func(f func(*ckState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if s.misc != nil {
				f(s.misc, v)
			}
		}
	}
	return append(s.commonKeywords(false),
		kw("misc_path", m(s.miscPath)),
		kw("misc_timeout", m(func(c *ckState, v parser.Strvec) {
			n, ok := s.l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Invalid misc_timeout value '%s'", v.Slot(1))
				return
			}
			c.m.Misc.Timeout = us(uint64(n) * timerHz)
		})),
		kw("misc_dynamic", m(func(c *ckState, _ parser.Strvec) { c.m.Misc.Dynamic = true })),
		kw("user", m(s.miscUser)),
	)
}

// miscScript is the misc checker's script, allocated on first use
// (keepalived's embedded notify_script_t).
func (c *ckState) miscScript() *Script {
	if c.m.Misc.Path == nil {
		c.m.Misc.Path = &Script{}
	}
	return c.m.Misc.Path
}

// miscPath is misc_path_handler: the line is read again with quotes and
// escapes, and its second word split once more into the command's words
// (set_script_params_array). A user after the command is not read here.
func (s *checkState) miscPath(c *ckState, _ parser.Strvec) {
	line := s.l.p.Line()
	words, ok := parser.SplitQuotedEscaped(line, s.l.report)
	if !ok || len(words) < 2 {
		return
	}
	args, ok := parser.SplitQuotedEscaped(words[1], s.l.report)
	if !ok {
		return
	}
	sc := c.miscScript()
	sc.Pos, sc.Raw, sc.Command, sc.Args = s.l.pos(), rawAfterKeyword(line), words[1], args
}

// miscUser is misc_user_handler.
func (s *checkState) miscUser(c *ckState, v parser.Strvec) {
	if v.Len() < 2 {
		s.l.report(parser.SevGeneral, "No user specified for misc checker script %s", cmdStr(c.m.Misc.Path))
		return
	}
	uid, gid, ok := s.l.scriptUIDGID(v.W, 1)
	if !ok {
		s.l.report(parser.SevGeneral, "Failed to set uid/gid for misc checker script %s - removing", cmdStr(c.m.Misc.Path))
		s.dequeue()
		s.misc = nil
		return
	}
	sc := c.miscScript()
	sc.UID, sc.GID, sc.UserSet = uid, gid, true
	sc.User, sc.Group = v.Slot(1), ""
	if v.Len() > 2 {
		sc.Group = v.Slot(2)
	}
	s.miscUserSet = true
}

// miscEnd is misc_end_handler.
func (s *checkState) miscEnd() {
	c := s.misc
	if c == nil {
		return
	}
	s.misc = nil
	if c.m.Misc.Path == nil || c.m.Misc.Path.Args == nil {
		s.l.report(parser.SevGeneral, "No script path has been specified for MISC_CHECKER - skipping")
		s.dequeue()
		return
	}
	if !s.miscUserSet {
		uid, gid, ok := s.l.defaultScriptUser()
		if !ok {
			s.l.report(parser.SevGeneral, "Unable to set default user for misc script %s - removing", cmdStr(c.m.Misc.Path))
			s.dequeue()
			return
		}
		c.m.Misc.Path.UID, c.m.Misc.Path.GID = uid, gid
	}
}

// cmdStr is keepalived's cmd_str: each word quoted with ', except a first
// word that is a redirection (< or >); "(null)" past keepalived's buffer.
func cmdStr(sc *Script) string {
	if sc == nil {
		return ""
	}
	total := 0
	for _, a := range sc.Args {
		total += len(a) + 3
	}
	if total > maxBufLen {
		return "(null)"
	}
	out := make([]byte, 0, total)
	for i, a := range sc.Args {
		extra := 2
		if i > 0 {
			extra++
		}
		if len(out)+len(a)+extra >= maxBufLen {
			return "(null)"
		}
		if i > 0 {
			out = append(out, ' ')
		}
		q := i > 0 || a == "" || (a[0] != '<' && a[0] != '>')
		if q {
			out = append(out, '\'')
		}
		out = append(out, a...)
		if q {
			out = append(out, '\'')
		}
	}
	return string(out)
}

// maxBufLen is keepalived's MAXBUF.
const maxBufLen = 1024

// --- SMTP_CHECK

// smtpStart is smtp_check_handler: the connection starts unset, so the end
// handler can tell whether any of it was configured.
func (s *checkState) smtpStart(parser.Strvec) {
	c := s.queueChecker(SMTPCheck, true)
	c.m.SMTP = &SMTPOptions{}
	co := c.conn()
	co.dst.fam = famUnspec
	co.dst.port = 0
}

func (s *checkState) smtpKeywords() []*parser.Keyword {
	kws := []*parser.Keyword{kw("helo_name", func(v parser.Strvec) {
		c := s.cur()
		if c == nil || c.m.SMTP == nil {
			return
		}
		if v.Len() < 2 {
			s.l.report(parser.SevGeneral, "SMTP_CHECK helo name missing")
			return
		}
		c.m.SMTP.HeloName = v.Slot(1)
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
	if c == nil || c.m.SMTP == nil {
		return
	}
	if c.m.SMTP.HeloName == "" {
		c.m.SMTP.HeloName = "smtpchecker.keepalived.org"
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
		sm := *c.m.SMTP
		m.SMTP = &sm
		n.m, n.co = &m, hco
		s.queue = append(s.queue, &n)
	}
}

// --- BFD_CHECK

// bfdCheckStart is bfd_check_handler: a checker with no thread of its own.
func (s *checkState) bfdCheckStart(parser.Strvec) {
	c := s.queueChecker(BFDCheck, false)
	c.launch = false
	c.m.BFD = &BFDOptions{}
	s.bfdChecker = c
}

func (s *checkState) bfdCheckKeywords() []*parser.Keyword {
	return []*parser.Keyword{
		kw("name", s.bfdCheckName),
		kw("alpha", func(v parser.Strvec) {
			if s.bfdChecker != nil {
				s.checkerAlpha(&s.bfdChecker.alpha, v)
			}
		}),
	}
}

// bfdCheckName is bfd_name_handler.
func (s *checkState) bfdCheckName(v parser.Strvec) {
	c := s.bfdChecker
	if c == nil {
		return
	}
	where := ""
	if c.rs != nil && c.vs != nil {
		where = fmtRS(c.rs, c.vs)
	}
	name := v.At(1)
	bad := true
	switch {
	case v.Len() != 2:
		s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - No or too many names specified - skipping checker", where)
	case !s.checkerHasBFD(name):
		s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - BFD %s not configured", where, name)
	case c.m.BFD.Name != "":
		s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - BFD %s already specified as %s", where, name, c.m.BFD.Name)
	case len(name) >= bfdINameMax:
		s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - BFD name %s too long", where, name)
	default:
		bad = false
	}
	if !bad && c.rs != nil && c.rs.extra != nil {
		for _, b := range c.rs.extra.trackedBFDs {
			if b == name {
				s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - RS already monitoring %s", where, v.Slot(1))
				bad = true
				break
			}
		}
	}
	if bad {
		s.dequeue()
		s.bfdChecker = nil
		return
	}
	c.m.BFD.Name = name
}

func (s *checkState) checkerHasBFD(name string) bool {
	for _, b := range s.trackBFDs {
		if b == name {
			return true
		}
	}
	return false
}

// bfdCheckEnd is check_bfd.c's bfd_end_handler.
func (s *checkState) bfdCheckEnd() {
	c := s.bfdChecker
	if c == nil {
		return
	}
	s.bfdChecker = nil
	if c.m.BFD.Name == "" {
		where := ""
		if c.rs != nil && c.vs != nil {
			where = fmtRS(c.rs, c.vs)
		}
		s.l.report(parser.SevGeneral, "(%s) No name has been specified for BFD_CHECKER - skipping", where)
		s.dequeue()
		return
	}
	if c.rs != nil {
		c.rs.ext().trackedBFDs = append(c.rs.ext().trackedBFDs, c.m.BFD.Name)
	}
}

// bfdEventBits is bfd_parser.c's specified_event_processes.
type bfdEventBits uint8

const (
	bfdEventVRRP bfdEventBits = 1 << iota
	bfdEventChecker
)

// bfdCheckerKeywords are bfd_instance as the checker process installs it
// (init_bfd_keywords with prog_type PROG_TYPE_CHECKER): bfd_checker_handler
// records the name, every BFD setting is ignored, `vrrp` and `checker`
// say which processes want the instance's events.
func (s *checkState) bfdCheckerKeywords() []*parser.Keyword {
	ignore := func(parser.Strvec) {}
	var sub []*parser.Keyword
	for _, n := range []string{"source_ip", "neighbor_ip", "neighbour_ip", "min_rx", "min_tx", "idle_tx",
		"multiplier", "passive", "ttl", "hoplimit", "max_hops", "weight"} {
		sub = append(sub, kw(n, ignore))
	}
	sub = append(sub,
		kw("vrrp", func(parser.Strvec) { s.bfdEvents |= bfdEventVRRP }),
		kw("checker", func(parser.Strvec) { s.bfdEvents |= bfdEventChecker }),
	)
	return []*parser.Keyword{{Name: "bfd_instance", Handler: s.bfdCheckerHandler, Sub: sub, Close: s.bfdCheckerEnd}}
}

// bfdCheckerHandler is bfd_checker_handler (a missing name crashes
// keepalived; here it ends the read as a missing parameter).
func (s *checkState) bfdCheckerHandler(v parser.Strvec) {
	name := v.Slot(1)
	if s.checkerHasBFD(name) {
		s.l.report(parser.SevGeneral, "BFD %s already specified", name)
		s.l.p.SkipBlock(true)
		return
	}
	s.trackBFDs = append(s.trackBFDs, name)
	s.bfdEvents = 0
}

// bfdCheckerEnd is bfd_checker_end_handler: an instance whose block names
// processes without the checker is not the checker's.
func (s *checkState) bfdCheckerEnd() {
	if s.bfdEvents != 0 && s.bfdEvents&bfdEventChecker == 0 && len(s.trackBFDs) > 0 {
		s.trackBFDs = s.trackBFDs[:len(s.trackBFDs)-1]
	}
}
