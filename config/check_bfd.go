package config

import "keepalived-go/parser"

// BFD_CHECK: check/check_bfd.c's configuration (install_bfd_check_keyword
// and its handlers, bfd_end_handler), and bfd_instance as the checker
// process reads it.

// BFDCheck is the BFD_CHECK block.
const BFDCheck CheckerKind = "BFD_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: BFDCheck, order: 10, keywords: (*checkState).bfdCheckKeywords,
		start: (*checkState).bfdCheckStart, end: (*checkState).bfdCheckEnd, retry: 1, dbr: timerHz})
}

// BFDOptions holds BFD_CHECK settings.
type BFDOptions struct {
	Name string
}

func (*BFDOptions) isCheckerOptions() {}

// BFDOpts are a BFD_CHECK's settings (nil for another kind).
func (c *Checker) BFDOpts() *BFDOptions {
	o, _ := c.Options.(*BFDOptions)
	return o
}

// bfdCheckStart is bfd_check_handler: a checker with no thread of its own.
func (s *checkState) bfdCheckStart(parser.Strvec) {
	c := s.queueChecker(BFDCheck, false)
	c.launch = false
	c.m.Options = &BFDOptions{}
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
	case c.m.BFDOpts().Name != "":
		s.l.report(parser.SevGeneral, "(%s) BFD_CHECK - BFD %s already specified as %s", where, name, c.m.BFDOpts().Name)
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
	c.m.BFDOpts().Name = name
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
	if c.m.BFDOpts().Name == "" {
		where := ""
		if c.rs != nil && c.vs != nil {
			where = fmtRS(c.rs, c.vs)
		}
		s.l.report(parser.SevGeneral, "(%s) No name has been specified for BFD_CHECKER - skipping", where)
		s.dequeue()
		return
	}
	if c.rs != nil {
		c.rs.ext().trackedBFDs = append(c.rs.ext().trackedBFDs, c.m.BFDOpts().Name)
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
