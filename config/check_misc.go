package config

import (
	"time"

	"keepalived-go/parser"
)

// MISC_CHECK: check/check_misc.c's configuration (install_misc_check_keyword
// and its handlers, misc_end_handler).

// MiscCheck is the MISC_CHECK block.
const MiscCheck CheckerKind = "MISC_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: MiscCheck, order: 1, keywords: (*checkState).miscKeywords,
		start: (*checkState).miscStart, end: (*checkState).miscEnd, retry: 0, dbr: timerHz})
}

// MiscOptions holds MISC_CHECK settings.
type MiscOptions struct {
	Path    *Script
	Timeout time.Duration
	Dynamic bool
}

func (*MiscOptions) isCheckerOptions() {}

// checkerScript: the misc script is named and goes through script
// security.
func (o *MiscOptions) checkerScript() *Script { return o.Path }

// completeModel: keepalived runs a script for at most delay_loop without
// misc_timeout.
func (o *MiscOptions) completeModel(m *Checker) {
	if o.Timeout == 0 {
		o.Timeout = m.DelayLoop
	}
}

// MiscOpts are a MISC_CHECK's settings (nil for another kind).
func (c *Checker) MiscOpts() *MiscOptions {
	o, _ := c.Options.(*MiscOptions)
	return o
}

// miscStart is misc_check_handler.
func (s *checkState) miscStart(parser.Strvec) {
	c := s.queueChecker(MiscCheck, false)
	c.m.Options = &MiscOptions{}
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
			c.m.MiscOpts().Timeout = us(uint64(n) * timerHz)
		})),
		kw("misc_dynamic", m(func(c *ckState, _ parser.Strvec) { c.m.MiscOpts().Dynamic = true })),
		kw("user", m(s.miscUser)),
	)
}

// miscScript is the misc checker's script, allocated on first use
// (keepalived's embedded notify_script_t).
func (c *ckState) miscScript() *Script {
	if c.m.MiscOpts().Path == nil {
		c.m.MiscOpts().Path = &Script{}
	}
	return c.m.MiscOpts().Path
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
		s.l.report(parser.SevGeneral, "No user specified for misc checker script %s", cmdStr(c.m.MiscOpts().Path))
		return
	}
	uid, gid, ok := s.l.scriptUIDGID(v.W, 1)
	if !ok {
		s.l.report(parser.SevGeneral, "Failed to set uid/gid for misc checker script %s - removing", cmdStr(c.m.MiscOpts().Path))
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
	if c.m.MiscOpts().Path == nil || c.m.MiscOpts().Path.Args == nil {
		s.l.report(parser.SevGeneral, "No script path has been specified for MISC_CHECKER - skipping")
		s.dequeue()
		return
	}
	if !s.miscUserSet {
		uid, gid, ok := s.l.defaultScriptUser()
		if !ok {
			s.l.report(parser.SevGeneral, "Unable to set default user for misc script %s - removing", cmdStr(c.m.MiscOpts().Path))
			s.dequeue()
			return
		}
		c.m.MiscOpts().Path.UID, c.m.MiscOpts().Path.GID = uid, gid
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
