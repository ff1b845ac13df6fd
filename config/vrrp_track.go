package config

import (
	"strings"
	"time"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Tracking objects and the blocks that define them: ports of keepalived
// 2.2.7's vrrp_track.c (alloc_track_if, alloc_track_script,
// alloc_track_process, alloc_track_bfd), trackers/track_file.c, and the
// vrrp_script / vrrp_track_process / garp_group / use_vmac / use_ipvlan
// handlers of vrrp_parser.c.

// allocTrackIf is alloc_track_if.
func (s *vrrpState) allocTrackIf(name string, list []*trackedIf, w parser.Strvec) []*trackedIf {
	tracked := w.Slot(0)
	ifp := s.ifs.get(tracked, ifCreateIfDynamic)
	if ifp == nil {
		s.l.report(parser.SevGeneral, "(%s) tracked interface %s doesn't exist", name, tracked)
		return list
	}
	for _, t := range list {
		if t.ifp == ifp {
			s.l.report(parser.SevGeneral, "(%s) duplicate track_interface %s - ignoring", name, tracked)
			return list
		}
	}
	t := &trackedIf{ifp: ifp}
	if w.Len() >= 2 {
		if w.Slot(1) != "weight" {
			s.l.report(parser.SevGeneral, "(%s) unknown track_interface %s option %s - ignoring", name, tracked, w.Slot(1))
			return list
		}
		if w.Len() == 2 {
			s.l.report(parser.SevGeneral, "(%s) weight without value specified for track_interface %s - ignoring", name, tracked)
			return list
		}
		if n, ok := s.l.readInt(w.Slot(2), -254, 254, true); !ok {
			s.l.report(parser.SevGeneral, "(%s) weight %s for %s must be between [-253..253] inclusive. Ignoring...", name, w.Slot(2), tracked)
		} else if n == -254 || n == 254 {
			s.l.report(parser.SevGeneral, "(%s) weight for %s cannot be +/-254. Setting to +/-253", name, tracked)
			t.weight = 253
			if n < 0 {
				t.weight = -253
			}
		} else {
			t.weight = n
		}
		if w.Len() >= 4 {
			if w.Slot(3) == "reverse" {
				t.reverse = true
			} else {
				s.l.report(parser.SevGeneral, "(%s) unknown track_interace %s weight option %s - ignoring", name, tracked, w.Slot(3))
			}
		}
	}
	return append(list, t)
}

func (s *vrrpState) findScript(name string) *VRRPScript {
	for _, sc := range s.l.cfg.Scripts {
		if sc.Name == name {
			return sc
		}
	}
	return nil
}

// allocTrackScript is alloc_track_script.
func (s *vrrpState) allocTrackScript(name string, list []*trackedScript, w parser.Strvec) []*trackedScript {
	tracked := w.Slot(0)
	sc := s.findScript(tracked)
	if sc == nil {
		s.l.report(parser.SevGeneral, "(%s) track script %s not found, ignoring...", name, tracked)
		return list
	}
	for _, t := range list {
		if t.scr == sc {
			s.l.report(parser.SevGeneral, "(%s) duplicate track_script %s - ignoring", name, tracked)
			return list
		}
	}
	t := &trackedScript{scr: sc, weight: sc.Weight, reverse: sc.WeightReverse}
	if w.Len() >= 2 {
		if w.Slot(1) != "weight" {
			s.l.report(parser.SevGeneral, "(%s) unknown track script option %s - ignoring", name, w.Slot(1))
			return list
		}
		if w.Len() == 2 {
			s.l.report(parser.SevGeneral, "(%s) weight without value specified for track script %s - ignoring", name, tracked)
			return list
		}
		if n, ok := s.l.readInt(w.Slot(2), -254, 254, true); !ok {
			t.weight = sc.Weight
			s.l.report(parser.SevGeneral, "(%s) track script %s: weight must be between [-253..253] inclusive, ignoring...", name, tracked)
		} else if n == -254 || n == 254 {
			s.l.report(parser.SevGeneral, "(%s) weight for %s cannot be +/-254. Setting to +/-253", name, tracked)
			t.weight = 253
			if n < 0 {
				t.weight = -253
			}
		} else {
			t.weight = n
		}
		if w.Len() >= 4 {
			switch w.Slot(3) {
			case "reverse":
				t.reverse = true
			case "noreverse":
				t.reverse = false
			default:
				s.l.report(parser.SevGeneral, "(%s) unknown track_script %s weight option %s - ignoring", name, tracked, w.Slot(3))
			}
		}
	}
	return append(list, t)
}

// allocTrackFile is vrrp_alloc_track_file.
func (s *vrrpState) allocTrackFile(name string, list []*trackedFile, w parser.Strvec) []*trackedFile {
	tracked := w.Slot(0)
	var f *TrackFile
	for _, tf := range s.vrrpFiles {
		if tf.Name == tracked {
			f = tf
			break
		}
	}
	if f == nil {
		s.l.report(parser.SevGeneral, "(%s) track file %s not found, ignoring...", name, tracked)
		return list
	}
	for _, t := range list {
		if t.file == f {
			s.l.report(parser.SevGeneral, "(%s) duplicate track_file %s - ignoring", name, tracked)
			return list
		}
	}
	t := &trackedFile{file: f, weight: f.Weight, reverse: f.WeightReverse}
	if w.Len() >= 2 {
		if w.Slot(1) != "weight" {
			s.l.report(parser.SevGeneral, "(%s) unknown track file option %s - ignoring", name, w.Slot(1))
			return list
		}
		if w.Len() == 2 {
			s.l.report(parser.SevGeneral, "(%s) weight without value specified for track file %s - ignoring", name, tracked)
			return list
		}
		if n, ok := s.l.readInt(w.Slot(2), -254, 254, true); !ok {
			s.l.report(parser.SevGeneral, "(%s) weight for track file %s must be in [-254..254] inclusive. Ignoring...", name, tracked)
			t.weight = f.Weight
		} else {
			t.weight = n
		}
		if w.Len() >= 4 {
			switch w.Slot(3) {
			case "reverse":
				t.reverse = true
			case "noreverse":
				t.reverse = false
			default:
				s.l.report(parser.SevGeneral, "(%s) unknown track file %s weight option %s - ignoring", name, tracked, w.Slot(3))
				return list
			}
		}
	}
	return append(list, t)
}

// allocTrackProcess is alloc_track_process.
func (s *vrrpState) allocTrackProcess(name string, list []*trackedProc, w parser.Strvec) []*trackedProc {
	tracked := w.Slot(0)
	var p *TrackProcess
	for _, tp := range s.l.cfg.TrackProcesses {
		if tp.Name == tracked {
			p = tp
			break
		}
	}
	if p == nil {
		s.l.report(parser.SevGeneral, "(%s) track process %s not found, ignoring...", name, tracked)
		return list
	}
	for _, t := range list {
		if t.proc == p {
			s.l.report(parser.SevGeneral, "(%s) duplicate track_process %s - ignoring", name, tracked)
			return list
		}
	}
	t := &trackedProc{proc: p, weight: p.Weight, reverse: p.WeightReverse}
	if w.Len() >= 2 {
		if w.Slot(1) != "weight" {
			s.l.report(parser.SevGeneral, "(%s) unknown track process option %s - ignoring", name, w.Slot(1))
			return list
		}
		if w.Len() == 2 {
			s.l.report(parser.SevGeneral, "(%s) weight without value specified for track process %s - ignoring", name, tracked)
			return list
		}
		if n, ok := s.l.readInt(w.Slot(2), -254, 254, true); !ok {
			s.l.report(parser.SevGeneral, "(%s) weight for track process %s must be in [-254..254] inclusive. Ignoring...", name, tracked)
			t.weight = p.Weight
		} else {
			t.weight = n
		}
		if w.Len() >= 4 {
			switch w.Slot(3) {
			case "reverse":
				t.reverse = true
			case "noreverse":
				t.reverse = false
			default:
				s.l.report(parser.SevGeneral, "(%s) unknown track_process %s weight option %s - ignoring", name, tracked, w.Slot(3))
			}
		}
	}
	return append(list, t)
}

// allocTrackBFD is alloc_track_bfd.
func (s *vrrpState) allocTrackBFD(name string, list []*trackedBFD, w parser.Strvec) []*trackedBFD {
	tracked := w.Slot(0)
	var b *vrrpTrackedBFD
	for _, tb := range s.trackBFDs {
		if tb.name == tracked {
			b = tb
			break
		}
	}
	if b == nil {
		s.l.report(parser.SevGeneral, "(%s) track bfd %s not found, ignoring...", name, tracked)
		return list
	}
	for _, t := range list {
		if t.bfd == b {
			s.l.report(parser.SevGeneral, "(%s) duplicate track_bfd %s - ignoring", name, tracked)
			return list
		}
	}
	t := &trackedBFD{bfd: b, weight: b.weight, reverse: b.reverse}
	if w.Len() >= 2 {
		if w.Slot(1) != "weight" {
			s.l.report(parser.SevGeneral, "(%s) unknown track bfd %s option %s - ignoring", name, tracked, w.Slot(1))
			return list
		}
		if w.Len() == 2 {
			s.l.report(parser.SevGeneral, "(%s) weight without value specified for track bfd %s - ignoring", name, tracked)
			return list
		}
		if n, ok := s.l.readInt(w.Slot(2), -253, 253, true); !ok {
			s.l.report(parser.SevGeneral, "(%s) weight for track bfd %s must be in [-253..253] inclusive. Ignoring...", name, tracked)
			t.weight = b.weight
		} else {
			t.weight = n
		}
		if w.Len() >= 4 {
			switch w.Slot(3) {
			case "reverse":
				t.reverse = true
			case "noreverse":
				t.reverse = false
			default:
				s.l.report(parser.SevGeneral, "(%s) unknown track bfd %s weight option %s - ignoring", name, tracked, w.Slot(3))
				return list
			}
		}
	}
	return append(list, t)
}

// vrrpScript is vrrp_script_handler with alloc_vrrp_script.
func (s *vrrpState) vrrpScript(v parser.Strvec) {
	if v.Nil() {
		return
	}
	name := v.Slot(1)
	s.l.cfg.Scripts = append(s.l.cfg.Scripts, &VRRPScript{Pos: s.l.pos(), Name: name,
		Interval: time.Second, Timeout: 0, Weight: 0, Rise: 1, Fall: 1})
	s.scriptUser = false
	s.removeScr = false
}

func (s *vrrpState) curScript() *VRRPScript {
	if len(s.l.cfg.Scripts) == 0 {
		return &VRRPScript{}
	}
	return s.l.cfg.Scripts[len(s.l.cfg.Scripts)-1]
}

func (s *vrrpState) scriptKeywords() []*parser.Keyword {
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	secs := func(name, what, badMsg string, dst func(*VRRPScript) *time.Duration) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			sc := s.curScript()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
			if !ok {
				s.l.report(parser.SevGeneral, badMsg, sc.Name, v.Slot(1), (1<<32-1)/timerHz)
				return
			}
			if n == 0 {
				s.l.report(parser.SevGeneral, "(%s): vrrp script %s must be greater than 0, setting to 1", sc.Name, what)
				n = 1
			}
			*dst(sc) = time.Duration(n) * time.Second
		})
	}
	riseFall := func(name string, dst func(*VRRPScript) *int) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			sc := s.curScript()
			n, ok := s.l.readUnsigned(v.Slot(1), 1, 1<<31-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): vrrp script %s value '%s' invalid, defaulting to 1", sc.Name, name, v.Slot(1))
				n = 1
			}
			*dst(sc) = int(n)
		})
	}
	return []*parser.Keyword{
		kw("script", func(parser.Strvec) {
			sc := s.curScript()
			words, ok := parser.SplitQuotedEscaped(s.l.p.Line(), s.l.report)
			if !ok || len(words) < 2 {
				sc.Script = nil
				return
			}
			args, ok := parser.SplitQuotedEscaped(words[1], s.l.report)
			if !ok {
				sc.Script = nil
				return
			}
			uid, gid := 0, 0
			if sc.Script != nil {
				uid, gid = sc.Script.UID, sc.Script.GID
			}
			sc.Script = &Script{Pos: s.l.pos(), Raw: rawAfterKeyword(s.l.p.Line()), Command: words[1], Args: args, UID: uid, GID: gid}
		}),
		secs("interval", "interval", "(%s): vrrp script interval '%s' must be between 1 and %d - ignoring", func(sc *VRRPScript) *time.Duration { return &sc.Interval }),
		kw("timeout", func(v parser.Strvec) {
			sc := s.curScript()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): vrrp script timeout '%s' invalid - ignoring", sc.Name, v.Slot(1))
				return
			}
			if n == 0 {
				s.l.report(parser.SevGeneral, "(%s): vrrp script timeout must be greater than 0, setting to 1", sc.Name)
				n = 1
			}
			sc.Timeout = time.Duration(n) * time.Second
		}),
		kw("weight", func(v parser.Strvec) {
			sc := s.curScript()
			n, ok := s.l.readInt(v.Slot(1), -253, 253, true)
			if !ok {
				s.l.report(parser.SevGeneral, "vrrp_script %s weight %s must be in [-253, 253]", sc.Name, v.Slot(1))
			}
			// keepalived stores what strtol read even when out of range.
			sc.Weight = n
			if v.Len() >= 3 {
				if v.Slot(2) == "reverse" {
					sc.WeightReverse = true
				} else {
					s.l.report(parser.SevGeneral, "vrrp_script %s unknown weight option %s", sc.Name, v.Slot(2))
				}
			}
		}),
		riseFall("rise", func(sc *VRRPScript) *int { return &sc.Rise }),
		riseFall("fall", func(sc *VRRPScript) *int { return &sc.Fall }),
		kw("user", func(v parser.Strvec) {
			sc := s.curScript()
			uid, gid, ok := s.l.scriptUIDGID(v.W, 1)
			if !ok {
				s.l.report(parser.SevGeneral, "Unable to set uid/gid for script %s", cmdStr(sc.Script))
				s.removeScr = true
				return
			}
			s.removeScr = false
			s.scriptUser = true
			sc.User = v.Slot(1)
			sc.Group = v.At(2)
			if sc.Script == nil {
				sc.Script = &Script{}
			}
			sc.Script.UID, sc.Script.GID, sc.Script.UserSet = uid, gid, true
			sc.Script.User, sc.Script.Group = sc.User, sc.Group
		}),
		kw("init_fail", func(parser.Strvec) { s.curScript().InitFail = true }),
	}
}

// scriptEnd is vrrp_vscript_end_handler.
func (s *vrrpState) scriptEnd() {
	sc := s.curScript()
	if sc.Script == nil || len(sc.Script.Args) == 0 || sc.Script.Args[0] == "" {
		s.l.report(parser.SevGeneral, "No script set for vrrp_script %s - removing", sc.Name)
		s.removeScr = true
	} else if !s.removeScr && !s.scriptUser {
		uid, gid, ok := s.l.defaultScriptUser()
		if !ok {
			s.l.report(parser.SevGeneral, "Unable to set default user for vrrp script %s - removing", sc.Name)
			s.removeScr = true
		} else {
			sc.Script.UID, sc.Script.GID = uid, gid
		}
	}
	if s.removeScr && len(s.l.cfg.Scripts) > 0 {
		s.l.cfg.Scripts = s.l.cfg.Scripts[:len(s.l.cfg.Scripts)-1]
	}
}

// trackProcess is vrrp_tprocess_handler with alloc_vrrp_process.
func (s *vrrpState) trackProcess(v parser.Strvec) {
	if v.Nil() {
		return
	}
	s.l.cfg.TrackProcesses = append(s.l.cfg.TrackProcesses, &TrackProcess{Pos: s.l.pos(), Name: v.Slot(1), Quorum: 1, QuorumMax: -1})
}

func (s *vrrpState) curProc() *TrackProcess {
	return s.l.cfg.TrackProcesses[len(s.l.cfg.TrackProcesses)-1]
}

func (s *vrrpState) trackProcessKeywords() []*parser.Keyword {
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	delay := func(name, prefix string, term, fork bool) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			p := s.curProc()
			n, ok := s.l.readDecimal(v.Slot(1), 1, 3600*timerHz, 6, true)
			if !ok {
				s.l.report(parser.SevGeneral, "%sdelay (%s) for vrrp_track_process %s must be between [0.000001..3600] inclusive. Ignoring...", prefix, v.Slot(1), p.Name)
				return
			}
			if term {
				p.TerminateDelay = us(n)
			}
			if fork {
				p.ForkDelay = us(n)
			}
		})
	}
	return []*parser.Keyword{
		kw("process", func(v parser.Strvec) {
			p := s.curProc()
			if p.Process != "" {
				s.l.report(parser.SevGeneral, "Process already set for track process %s - ignoring %s", p.Name, v.Slot(1))
				return
			}
			p.Process = v.Slot(1)
			if v.Len() > 2 {
				p.Params = append([]string(nil), v.W[2:]...)
				if p.ParamMatch == "" {
					p.ParamMatch = "exact"
				}
				p.FullCommand = true
			}
		}),
		kw("param_match", func(v parser.Strvec) {
			p := s.curProc()
			switch {
			case v.Len() == 1:
				p.ParamMatch, p.FullCommand = "exact", true
			case v.Slot(1) == "initial" || v.Slot(1) == "partial":
				p.ParamMatch, p.FullCommand = v.Slot(1), true
			default:
				s.l.report(parser.SevGeneral, "Invalid param_match type %s - ignoring", v.Slot(1))
			}
		}),
		kw("weight", func(v parser.Strvec) {
			p := s.curProc()
			if v.Len() < 2 {
				s.l.report(parser.SevGeneral, "No weight specified for track process %s - ignoring", p.Name)
				return
			}
			if p.Weight != 0 {
				s.l.report(parser.SevGeneral, "Weight already set for track process %s - ignoring %s", p.Name, v.Slot(1))
				return
			}
			n, ok := s.l.readInt(v.Slot(1), -254, 254, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Weight (%s) for vrrp_track_process %s must be between [-254..254] inclusive. Ignoring...", v.Slot(1), p.Name)
				return
			}
			if v.Len() >= 3 {
				if v.Slot(2) == "reverse" {
					p.WeightReverse = true
				} else {
					s.l.report(parser.SevGeneral, "vrrp_track_process %s unknown weight option %s", p.Name, v.Slot(2))
				}
			}
			p.Weight = n
		}),
		kw("quorum", func(v parser.Strvec) {
			p := s.curProc()
			n, ok := s.l.readUnsigned(v.Slot(1), 1, 65535, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Quorum (%s) for vrrp_track_process %s must be between [1..65535] inclusive. Ignoring...", v.Slot(1), p.Name)
				return
			}
			if p.QuorumMax >= 0 && int(n) > p.QuorumMax {
				s.l.report(parser.SevGeneral, "Quorum is greater than quorum_max - ignoring")
				return
			}
			p.Quorum = int(n)
		}),
		kw("quorum_max", func(v parser.Strvec) {
			p := s.curProc()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 65535, true)
			if !ok {
				s.l.report(parser.SevGeneral, "quorum_max (%s) for vrrp_track_process %s must be between [0..65535] inclusive. Ignoring...", v.Slot(1), p.Name)
				return
			}
			if (n != 0 || p.Quorum > 1) && int(n) < p.Quorum {
				s.l.report(parser.SevGeneral, "quorum_max is less than quorum - ignoring")
				return
			}
			p.QuorumMax = int(n)
			if n == 0 {
				p.Quorum = 0
			} else if p.Quorum == 0 {
				p.Quorum = 1
			}
		}),
		delay("delay", "", true, true),
		delay("terminate_delay", "terminate_", true, false),
		delay("fork_delay", "fork_", false, true),
		kw("full_command", func(parser.Strvec) { s.curProc().FullCommand = true }),
	}
}

// trackProcessEnd is vrrp_tprocess_end_handler.
func (s *vrrpState) trackProcessEnd() {
	p := s.curProc()
	if p.Process == "" {
		s.l.report(parser.SevGeneral, "track process '%s' process name not specified", p.Name)
		if len(s.l.cfg.TrackProcesses) > 0 {
			s.l.cfg.TrackProcesses = s.l.cfg.TrackProcesses[:len(s.l.cfg.TrackProcesses)-1]
		}
	}
}

// garpGroup is garp_group_handler with alloc_garp_delay.
func (s *vrrpState) garpGroup(v parser.Strvec) {
	if v.Nil() {
		return
	}
	s.curGarp = &GarpGroup{Pos: s.l.pos()}
	s.l.cfg.GarpGroups = append(s.l.cfg.GarpGroups, s.curGarp)
}

func (s *vrrpState) garpInterval(v parser.Strvec, name string) {
	g := s.curGarp
	n, ok := s.l.readDecimal(v.Slot(1), 0, 1<<31-1, 6, true)
	if !ok {
		s.l.report(parser.SevGeneral, "garp_group %s '%s' invalid", name, v.Slot(1))
		return
	}
	d := us(n)
	if name == "garp_interval" {
		g.GarpInterval = &d
	} else {
		g.GnaInterval = &d
	}
}

func (s *vrrpState) garpGroupInterface(v parser.Strvec) {
	ifp := s.ifs.get(v.Slot(1), ifCreateIfDynamic)
	if ifp == nil {
		s.l.report(parser.SevGeneral, "WARNING - interface %s specified for garp_group doesn't exist", v.Slot(1))
		return
	}
	if ifp.garpSet {
		s.l.report(parser.SevGeneral, "garp_group already specified for %s - ignoring", v.Slot(1))
		return
	}
	if ifp.macvlan {
		s.l.report(parser.SevGeneral, "Cannot specify garp_delay on a vmac (%s) - ignoring", ifp.Name)
		return
	}
	ifp.garpSet = true
	s.garpIfaces[ifp.Name] = s.curGarp
	s.curGarp.Interfaces = append(s.curGarp.Interfaces, ifp.Name)
}

func (s *vrrpState) garpGroupInterfaces(v parser.Strvec) {
	g := s.curGarp
	names := s.l.p.ValueWords(v)
	if names == nil {
		s.l.report(parser.SevGeneral, "Warning - empty garp_group interfaces block")
		return
	}
	g.AggregationGroup = 1
	for _, o := range s.l.cfg.GarpGroups {
		if o.AggregationGroup != 0 && o != g {
			g.AggregationGroup++
		}
	}
	for _, name := range names {
		ifp := s.ifs.get(name, ifCreateIfDynamic)
		if ifp == nil {
			if !s.l.cfg.Global.DynamicInterfaces {
				s.l.report(parser.SevGeneral, "WARNING - interface %s specified for garp_group doesn't exist", name)
			}
			continue
		}
		if ifp.garpSet {
			// keepalived prints the block's second word here, not this one.
			second := ""
			if len(names) > 1 {
				second = names[1]
			}
			s.l.report(parser.SevGeneral, "garp_group already specified for %s - ignoring", second)
			continue
		}
		if ifp.macvlan {
			s.l.report(parser.SevGeneral, "Cannot specify garp_delay on a vmac (%s) - ignoring", ifp.Name)
			continue
		}
		ifp.garpSet = true
		s.garpIfaces[ifp.Name] = g
		g.Interfaces = append(g.Interfaces, ifp.Name)
	}
}

// garpGroupEnd is garp_group_end_handler.
func (s *vrrpState) garpGroupEnd() {
	g := s.curGarp
	if g.GarpInterval == nil && g.GnaInterval == nil {
		s.l.report(parser.SevGeneral, "garp group %d does not have any delay set - removing", g.AggregationGroup)
		for name, o := range s.garpIfaces {
			if o == g {
				delete(s.garpIfaces, name)
				if e := s.ifs.entries[name]; e != nil {
					e.garpSet = false
				}
			}
		}
		s.l.cfg.GarpGroups = s.l.cfg.GarpGroups[:len(s.l.cfg.GarpGroups)-1]
	}
}

// devNameValid is the kernel's dev_valid_name.
func devNameValid(name string) bool {
	if name == "" || len(name) >= ifNameSize || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/: \t\n\v\f\r")
}

// useVMAC is vrrp_vmac_handler.
func (s *vrrpState) useVMAC(v parser.Strvec) {
	in, x := s.cur()
	in.UseVMAC = true
	for i := 1; i < v.Len() && i <= 2; i++ {
		w := v.Slot(i)
		if strings.Contains(w, ":") {
			if x.macSpecified {
				s.l.report(parser.SevGeneral, "VMAC interface address already specified")
				continue
			}
			if strings.Trim(w, "0123456789ABCDEFabcdef:") != "" {
				s.l.report(parser.SevGeneral, "VMAC invalid MAC address %s", w)
				continue
			}
			mac, useVRID, ok := parseVMACAddr(w)
			switch {
			case !ok:
				s.l.report(parser.SevGeneral, "VMAC invalid MAC address %s - ignored", w)
			case mac[0]&1 != 0:
				s.l.report(parser.SevGeneral, "VMAC MAC address is multicast %s - ignoring", w)
			case mac[0] == 0 && mac[1] == 0 && mac[2] == 0x5e && mac[3] == 0 && (mac[4] == 1 || mac[4] == 2):
				s.l.report(parser.SevGeneral, "VMAC MAC address not allowed to be RFC5798 address (%s) - ignoring", w)
			default:
				x.macSpecified, x.macUseVRID = true, useVRID
				in.VMACMAC = mac
			}
			continue
		}
		if in.VMACName != "" {
			s.l.report(parser.SevGeneral, "VMAC interface name already specified")
			continue
		}
		if !devNameValid(w) {
			s.l.report(parser.SevGeneral, "VMAC interface name '%s' too long or invalid characters - ignoring", w)
			continue
		}
		if o := s.instanceUsingVMACName(w); o != nil {
			s.l.report(parser.SevGeneral, "(%s) VRRP instance %s is already using %s - ignoring name", in.Name, o.Name, w)
			continue
		}
		in.VMACName = w
		if e := s.ifs.get(w, ifNoCreate); e != nil && (e.Kind != "macvlan" || !e.macvlan) {
			s.l.report(parser.SevGeneral, "(%s) interface %s already exists and is not a private macvlan; ignoring vmac if_name", in.Name, w)
			in.VMACName = ""
		}
	}
}

func (s *vrrpState) instanceUsingVMACName(name string) *VRRPInstance {
	for _, o := range s.l.cfg.Instances {
		if o.VMACName == name || o.IPVLANName == name {
			return o
		}
	}
	return nil
}

// parseVMACAddr reads use_vmac's MAC: six octets, or five (the VRID is
// the sixth).
func parseVMACAddr(p string) (mac []byte, useVRID, ok bool) {
	mac = make([]byte, 6)
	for j := 0; j < 6; j++ {
		v, rest, erange := cnum.Strtoul(p, 16)
		n := len(p) - len(rest)
		if erange || n > 2 || n == 0 {
			return nil, false, false
		}
		if (rest == "" || rest[0] != ':') && (rest != "" || j < 4) {
			return nil, false, false
		}
		mac[j] = byte(v)
		if j == 4 && (rest == "" || rest == ":") {
			return mac, true, true
		}
		if rest == "" {
			break // j == 5
		}
		p = rest[1:]
		if p == "" && j < 5 {
			return nil, false, false
		}
	}
	return mac, false, true
}

// useIPVLAN is vrrp_ipvlan_handler.
func (s *vrrpState) useIPVLAN(v parser.Strvec) {
	in, x := s.cur()
	if in.UseIPVLAN {
		s.l.report(parser.SevGeneral, "(%s) use_ipvlan already specified", in.Name)
		return
	}
	in.UseIPVLAN = true
	hadType := false
	for i := 1; i < v.Len(); i++ {
		w := v.Slot(i)
		switch w {
		case "bridge", "private", "vepa":
			if hadType {
				s.l.report(parser.SevGeneral, "(%s) ipvlan type already specified - ignoring '%s'", in.Name, w)
			} else {
				in.IPVLANType, hadType = w, true
				if w == "bridge" {
					in.IPVLANType = ""
				}
			}
			continue
		}
		if checkValidIPAddress(w, true) {
			pfx, ok := s.parseIPAddress(w, true)
			if in.IPVLANAddr.IsValid() {
				s.l.report(parser.SevGeneral, "(%s) ipvlan address already specified - ignoring '%s'", in.Name, w)
				continue
			}
			if !ok {
				continue
			}
			fam := familyOf(pfx.Addr())
			if x.family == "" {
				x.family = fam
			} else if fam != x.family {
				s.l.report(parser.SevGeneral, "(%s) ipvlan address[%s] MUST match vrrp instance family !!! Skipping...", in.Name, w)
				continue
			}
			in.IPVLANAddr = pfx
			if !x.saddr.IsValid() {
				x.saddr, x.saddrConfig = pfx.Addr(), true
			}
			continue
		}
		if in.IPVLANName != "" || in.VMACName != "" {
			s.l.report(parser.SevGeneral, "(%s) IPVLAN interface already specified - ignoring '%s'", in.Name, w)
			continue
		}
		if len(w) >= ifNameSize {
			s.l.report(parser.SevGeneral, "(%s) IPVLAN interface name '%s' too long - ignoring", in.Name, w)
			continue
		}
		if o := s.instanceUsingVMACName(w); o != nil {
			s.l.report(parser.SevGeneral, "(%s) VRRP instance %s is already using %s - ignoring name", in.Name, o.Name, w)
			continue
		}
		in.IPVLANName = w
		if e := s.ifs.get(w, ifNoCreate); e != nil && e.Kind != "ipvlan" {
			s.l.report(parser.SevGeneral, "(%s) interface %s already exists and is not an l2 ipvlan; ignoring ipvlan if_name", in.Name, w)
			in.IPVLANName = ""
		}
	}
}

// trackFileKeywords is add_track_file_keywords (trackers/track_file.c):
// track_file and its deprecated synonym vrrp_track_file, read by the checker
// and VRRP processes.
func (l *loader) trackFileKeywords(active bool) []*parser.Keyword {
	if !active {
		return []*parser.Keyword{{Name: "track_file", Inactive: true}, {Name: "vrrp_track_file", Inactive: true}}
	}
	sub := func() []*parser.Keyword {
		return []*parser.Keyword{
			{Name: "file", Handler: l.trackFileFile},
			{Name: "weight", Handler: l.trackFileWeight},
			{Name: "init_file", Handler: l.trackFileInit},
		}
	}
	return []*parser.Keyword{
		{Name: "track_file", Handler: l.trackFileStart, Sub: sub(), Close: l.trackFileEnd},
		{Name: "vrrp_track_file", Handler: l.trackFileStart, Sub: sub(), Close: l.trackFileEnd},
	}
}

// trackFile state is keepalived's cur_track_file and track_file_init.
type trackFileState struct {
	cur       *TrackFile
	init      int // 0 none, 1 create, 2 overwrite
	initValue int
}

func (l *loader) trackFileStart(v parser.Strvec) {
	if v.Nil() {
		return
	}
	l.tf.cur = &TrackFile{Pos: l.pos(), Name: v.Slot(1), Weight: 1}
	l.tf.init = 0
}

func (l *loader) trackFileFile(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "track file file name missing")
		return
	}
	f := l.tf.cur
	if f == nil {
		return
	}
	if f.File != "" {
		l.report(parser.SevGeneral, "File already set for track file %s - ignoring %s", f.Name, v.Slot(1))
		return
	}
	f.File = v.Slot(1)
}

func (l *loader) trackFileWeight(v parser.Strvec) {
	f := l.tf.cur
	if v.Len() < 2 {
		name := ""
		if f != nil {
			name = f.Name
		}
		l.report(parser.SevGeneral, "No weight specified for track file %s - ignoring", name)
		return
	}
	if f == nil {
		return
	}
	if f.Weight != 1 {
		l.report(parser.SevGeneral, "Weight already set for track file %s - ignoring %s", f.Name, v.Slot(1))
		return
	}
	n, ok := l.readInt(v.Slot(1), -254, 254, true)
	if !ok {
		l.report(parser.SevGeneral, "Weight (%s) for track_file %s must be between [-254..254] inclusive. Ignoring...", v.Slot(1), f.Name)
		n = 1
	}
	f.Weight = n
	if v.Len() >= 3 {
		if v.Slot(2) == "reverse" {
			f.WeightReverse = true
		} else {
			l.report(parser.SevGeneral, "track_file %s unknown weight option %s", f.Name, v.Slot(2))
		}
	}
}

func (l *loader) trackFileInit(v parser.Strvec) {
	f := l.tf.cur
	if f == nil {
		return
	}
	l.tf.init, l.tf.initValue = 1, 0
	for i := 1; i < v.Len(); i++ {
		w := strings.TrimLeft(v.Slot(i), whiteSpace)
		switch {
		case w != "" && (w[0] >= '0' && w[0] <= '9' || w[0] == '-'):
			n, ok := l.readInt(v.Slot(i), -1<<31, 1<<31-1, false)
			if !ok {
				l.report(parser.SevGeneral, "Track file %s init value %s is invalid", f.Name, w)
				n = 0
			} else if n < -254 || n > 254 {
				l.report(parser.SevGeneral, "Track file %s init value %d is outside sensible range [%d, %d]", f.Name, n, -254, 254)
			}
			l.tf.initValue = n
		case w == "overwrite":
			l.tf.init = 2
		default:
			l.report(parser.SevGeneral, "Unknown track file init option %s", w)
		}
	}
}

// trackFileEnd is track_file_end_handler.
func (l *loader) trackFileEnd() {
	f := l.tf.cur
	if f == nil {
		return
	}
	if f.File == "" {
		l.report(parser.SevGeneral, "No file set for track_file %s - ignoring", f.Name)
		return
	}
	l.tf.cur = nil
	f.InitFile = l.tf.init != 0
	f.Overwrite = l.tf.init == 2
	f.InitValue = l.tf.initValue
	switch l.pass {
	case passVRRP:
		l.vrrp.vrrpFiles = append(l.vrrp.vrrpFiles, f)
		l.cfg.TrackFiles = append(l.cfg.TrackFiles, f)
	case passChecker:
		l.checkTrackFiles = append(l.checkTrackFiles, f)
	}
	if l.tf.init == 0 {
		return
	}
	if st, err := statFile(f.File); err == nil {
		if l.tf.init == 1 {
			return
		}
		if !st.Mode().IsRegular() {
			l.report(parser.SevGeneral, "Cannot initialise track file %s - it is not a regular file", f.Name)
			return
		}
	}
	// The file is written when the daemon starts (not under -t).
}
