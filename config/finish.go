package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/participle/v2/lexer"
	"keepalived-go/parser"
)

// finish applies defaults that depend on other blocks and runs keepalived's
// whole-config checks, in the order keepalived runs them.
func (b *builder) finish() {
	b.finishVRRP()
	b.finishLVS()
	b.checkScriptSecurity()
}

func atPos(p Pos) lexer.Position {
	return lexer.Position{Filename: p.File, Line: int(p.Line), Column: int(p.Col)}
}

func (b *builder) finishVRRP() {
	g := &b.cfg.Global
	scripts := map[string]bool{}
	disabled := map[string]bool{}
	var usable []*VRRPScript
	for _, s := range b.cfg.Scripts {
		if c := s.Script.Command; c != "" && (c[0] == '/' || isWordStart(c[0])) && !scriptExists(s.Script) {
			b.reportGlobal(parser.SevGeneral, "Disabling track script %s since not found/accessible", s.Name)
			disabled[s.Name] = true
			continue
		}
		scripts[s.Name] = true
		usable = append(usable, s)
	}
	b.cfg.Scripts = usable
	files := map[string]bool{}
	for _, f := range b.cfg.TrackFiles {
		files[f.Name] = true
	}
	for _, in := range b.pendingSMTP {
		switch {
		case g.SMTPAlertVRRP != nil:
			in.SMTPAlert = *g.SMTPAlertVRRP
		case g.SMTPAlert != nil:
			in.SMTPAlert = *g.SMTPAlert
		}
	}
	var kept []*VRRPInstance
	byName := map[string]*VRRPInstance{}
	for _, in := range b.cfg.Instances {
		if in.Version == unsetInt {
			in.Version = g.VRRPVersion
		}
		if in.GarpMasterDelay == unsetInt {
			in.GarpMasterDelay = g.GarpMasterDelay
		}
		if in.GarpMasterRepeat == unsetInt {
			in.GarpMasterRepeat = g.GarpMasterRepeat
		}
		if in.GarpMasterRefresh == unsetInt {
			in.GarpMasterRefresh = g.GarpMasterRefresh
		}
		if in.GarpMasterRefreshRepeat == unsetInt {
			in.GarpMasterRefreshRepeat = g.GarpMasterRefreshRep
		}
		if in.GarpLowerPrioDelay == unsetInt {
			in.GarpLowerPrioDelay = in.GarpMasterDelay
			if g.GarpLowerPrioDelay != nil {
				in.GarpLowerPrioDelay = *g.GarpLowerPrioDelay
			}
		}
		if in.GarpLowerPrioRepeat == unsetInt {
			in.GarpLowerPrioRepeat = in.GarpMasterRepeat
			if g.GarpLowerPrioRepeat != nil {
				in.GarpLowerPrioRepeat = *g.GarpLowerPrioRepeat
			}
		}
		if in.DownTimerAdverts == unsetInt {
			in.DownTimerAdverts = g.DownTimerAdverts
		}
		if !in.LowerPrioNoAdvert {
			in.LowerPrioNoAdvert = g.LowerPrioNoAdvert
		}
		if !in.HigherPrioSendAdvert {
			in.HigherPrioSendAdvert = g.HigherPrioSendAdvert
		}
		if in.Version == 2 && in.AdvertInt%time.Second != 0 {
			d := in.AdvertInt.Round(time.Second)
			if d == 0 {
				d = time.Second
			}
			b.reportGlobal(parser.SevGeneral, "(%s) VRRPv2 advert interval %s not an integer number of seconds - rounding to %d", in.Name, fmtSeconds(in.AdvertInt), d/time.Second)
			in.AdvertInt = d
		}
		if in.Version == 3 && in.Auth.Type != "" {
			b.reportGlobal(parser.SevGeneral, "(%s) VRRP version 3 does not support authentication. Ignoring.", in.Name)
			in.Auth = Auth{}
		}
		in.TrackScripts = b.resolveRefs(in.Name, "track script", dropRefs(in.TrackScripts, disabled), scripts)
		in.TrackFiles = b.resolveRefs(in.Name, "track file", in.TrackFiles, files)
		if in.VRID == 0 {
			b.reportGlobal(parser.SevGeneral, "(%s) the virtual router id must be set", in.Name)
			continue
		}
		if in.Auth.Type == "AH" && in.State == StateMaster && in.Priority != 255 {
			b.reportGlobal(parser.SevGeneral, "(%s) Initial state master is incompatible with AH authentication - clearing", in.Name)
			in.State = StateBackup
		}
		kept = append(kept, in)
		byName[in.Name] = in
	}
	b.cfg.Instances = kept
	var groups []*SyncGroup
	for _, sg := range b.cfg.SyncGroups {
		var members []string
		for _, m := range sg.Members {
			in, ok := byName[m]
			if !ok {
				b.reportGlobal(parser.SevGeneral, "Virtual router %s specified in sync group %s doesn't exist - ignoring", m, sg.Name)
				continue
			}
			in.SyncGroup = sg.Name
			members = append(members, m)
		}
		sg.Members = members
		if len(members) == 0 {
			b.reportGlobal(parser.SevGeneral, "Sync group %s has no virtual router(s). removing", sg.Name)
			continue
		}
		if len(members) == 1 {
			b.reportGlobal(parser.SevGeneral, "Sync group %s has only 1 virtual router(s) - this probably isn't what you want", sg.Name)
		}
		if !sg.TrackingWeight {
			for _, m := range members {
				in := byName[m]
				for i, r := range in.TrackInterfaces {
					if r.HasWeight && r.Weight != 0 {
						b.reportGlobal(parser.SevGeneral, "(%s) ignoring %s tracked interface weight due to SYNC group", in.Name, r.Name)
						in.TrackInterfaces[i].Weight = 0
					}
				}
			}
		}
		sg.TrackScripts = b.resolveRefs(sg.Name, "track script", dropRefs(sg.TrackScripts, disabled), scripts)
		sg.TrackFiles = b.resolveRefs(sg.Name, "track file", sg.TrackFiles, files)
		groups = append(groups, sg)
	}
	b.cfg.SyncGroups = groups
	if b.missingInterface {
		b.reportGlobal(parser.SevBadInterface, "Non-existent interface specified in configuration")
	}
}

func (b *builder) resolveRefs(owner, what string, refs []TrackRef, known map[string]bool) []TrackRef {
	var out []TrackRef
	for _, r := range refs {
		if !known[r.Name] {
			b.diags.Add(atPos(r.Pos), parser.SevGeneral, "(%s) %s %s not found, ignoring...", owner, what, r.Name)
			continue
		}
		out = append(out, r)
	}
	return out
}

// dropRefs removes references to scripts keepalived disabled: it stops
// tracking them without a further message.
func dropRefs(refs []TrackRef, disabled map[string]bool) []TrackRef {
	var out []TrackRef
	for _, r := range refs {
		if !disabled[r.Name] {
			out = append(out, r)
		}
	}
	return out
}

func isWordStart(c byte) bool {
	return c == '.' || c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func fmtSeconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", d.Seconds()), "0"), ".")
}

func (b *builder) finishLVS() {
	g := &b.cfg.Global
	groups := map[string]*VirtualServerGroup{}
	for _, sg := range b.cfg.ServerGroups {
		groups[sg.Name] = sg
	}
	// Real servers without their own smtp_alert take the global one. They
	// are numbered in the order resolveVS saw them: every virtual server's,
	// in file order, before any is dropped below.
	seq := 0
	for _, vs := range b.cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			if b.rsDefaultSMTP.has(seq) {
				switch {
				case g.SMTPAlertChecker != nil:
					rs.SMTPAlert = *g.SMTPAlertChecker
				case g.SMTPAlert != nil:
					rs.SMTPAlert = *g.SMTPAlert
				default:
					// keepalived's own inconsistency, kept for compatibility: real
					// servers alert by default when nothing says otherwise.
					rs.SMTPAlert = true
				}
			}
			seq++
		}
	}
	var kept []*VirtualServer
	for _, vs := range b.cfg.VirtualServers {
		if vs.Group != "" && groups[vs.Group] == nil {
			b.reportGlobal(parser.SevGeneral, "Virtual server group %s specified but not configured - ignoring virtual server %s", vs.Group, vs.Name())
			continue
		}
		byAddr := vs.Group == "" && vs.FWMark == 0
		if grp := groups[vs.Group]; grp != nil {
			for _, e := range grp.Entries {
				if !e.IsMark {
					byAddr = true
				}
			}
		}
		if byAddr && vs.Protocol == "" {
			b.reportGlobal(parser.SevGeneral, "Virtual server %s: no protocol set - defaulting to UDP", vs.Name())
			vs.Protocol = "UDP"
		}
		if !byAddr && vs.Protocol != "" {
			b.reportGlobal(parser.SevGeneral, "Warning: Virtual server %s: protocol specified for fwmark - protocol will be ignored", vs.Name())
			vs.Protocol = ""
		}
		if byAddr && vs.Group == "" && vs.FWMark == 0 && vs.Port == 0 && vs.PersistenceTimeout == 0 {
			b.reportGlobal(parser.SevGeneral, "Virtual server %s: zero port only valid for persistent services - setting", vs.Name())
			vs.PersistenceTimeout = 6 * time.Minute
		}
		if vs.Scheduler == "" {
			b.reportGlobal(parser.SevGeneral, "Virtual server %s: no scheduler set, setting default 'wlc'", vs.Name())
			vs.Scheduler = "wlc"
		}
		vs.SMTPAlert = vs.SMTPAlert || (g.SMTPAlertChecker != nil && *g.SMTPAlertChecker) || (g.SMTPAlertChecker == nil && g.SMTPAlert != nil && *g.SMTPAlert)
		kept = append(kept, vs)
	}
	b.cfg.VirtualServers = kept
	for _, vs := range b.cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			b.checkPorts(vs, rs, groups)
		}
	}
	for _, vs := range b.cfg.VirtualServers {
		if ss := vs.SorryServer; ss != nil {
			if ss.Forwarding == "" {
				if vs.Forwarding == "" {
					b.reportGlobal(parser.SevGeneral, "Virtual server %s: no forwarding method set, setting default NAT", vs.Name())
					vs.Forwarding = ForwardNAT
				}
				ss.Forwarding, ss.Tunnel = vs.Forwarding, vs.Tunnel
			}
			ss.Weight, ss.Retry, ss.ConnectTimeout, ss.DelayLoop = 1, 0, vs.ConnectTimeout, vs.DelayLoop
			ss.InhibitOnFailure = vs.SorryServerInhibit
			if ss.Port == 0 && vs.FWMark == 0 {
				ss.Port = vs.Port
			}
		}
		sum := 0
		for _, rs := range vs.RealServers {
			sum += rs.Weight
		}
		if len(vs.RealServers) > 0 && vs.Quorum > sum {
			b.reportGlobal(parser.SevGeneral, "Warning - quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", vs.Quorum, vs.Name(), sum, sum)
			vs.Quorum = sum
		}
		if vs.Hysteresis >= vs.Quorum && vs.Quorum > 0 {
			b.reportGlobal(parser.SevGeneral, "Virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", vs.Name(), vs.Hysteresis, vs.Quorum, vs.Quorum-1)
			vs.Hysteresis = vs.Quorum - 1
		}
	}
}

// checkPorts applies keepalived's port rules between a service and a real server.
func (b *builder) checkPorts(vs *VirtualServer, rs *RealServer, groups map[string]*VirtualServerGroup) {
	if rs.Forwarding == ForwardNAT {
		if vs.FWMark == 0 && rs.Port == 0 {
			rs.Port = vs.Port
		}
		return
	}
	switch {
	case vs.FWMark != 0:
		if rs.Port != 0 {
			b.reportGlobal(parser.SevGeneral, "WARNING - fwmark virtual server %s, real server %s has port specified - clearing", vs.Name(), vs.RealServerName(rs))
			rs.Port = 0
		}
	case vs.Group != "":
		if grp := groups[vs.Group]; grp != nil && rs.Port != 0 {
			for _, e := range grp.Entries {
				if !e.IsMark && e.Port != rs.Port {
					b.reportGlobal(parser.SevGeneral, "virtual server %s:[%s] and real server %s ports don't match", vs.Name(), e.String(), vs.RealServerName(rs))
				}
			}
		}
	case rs.Port == 0:
		rs.Port = vs.Port
	case rs.Port != vs.Port:
		b.reportGlobal(parser.SevGeneral, "WARNING - virtual server %s and real server %s ports don't match - resetting", vs.Name(), vs.RealServerName(rs))
		rs.Port = vs.Port
	}
}

// resolveVS applies the virtual server's settings to its real servers and
// their checkers as soon as its block is read, so nothing waits in memory
// for the end of a file that may hold 40,000 real servers.
func (b *builder) resolveVS(vs *VirtualServer) {
	for _, p := range b.rsPending {
		rs := p.rs
		if rs.Forwarding == "" {
			if vs.Forwarding == "" {
				b.reportGlobal(parser.SevGeneral, "Virtual server %s: no forwarding method set, setting default NAT", vs.Name())
				vs.Forwarding = ForwardNAT
			}
			rs.Forwarding, rs.Tunnel = vs.Forwarding, vs.Tunnel
		}
		if p.alpha != nil {
			rs.Alpha = *p.alpha
		} else {
			rs.Alpha = vs.Alpha
		}
		if p.inhibit != nil {
			rs.InhibitOnFailure = *p.inhibit
		} else {
			rs.InhibitOnFailure = vs.InhibitOnFailure
		}
		if rs.Retry < 0 && vs.Retry != nil {
			rs.Retry = *vs.Retry
		}
		if rs.ConnectTimeout < 0 {
			rs.ConnectTimeout = vs.ConnectTimeout
		}
		if rs.DelayLoop < 0 {
			rs.DelayLoop = vs.DelayLoop
		}
		if rs.Warmup == nil {
			rs.Warmup = vs.Warmup
		}
		if rs.DelayBeforeRetry == nil {
			rs.DelayBeforeRetry = vs.DelayBeforeRetry
		}
		if rs.Weight < 0 {
			rs.Weight = vs.Weight
		}
		if p.smtp != nil {
			rs.SMTPAlert = *p.smtp
		} else {
			b.rsDefaultSMTP.set(b.rsSeen)
		}
		b.rsSeen++
		for _, c := range b.ckPending[p.ckFrom:p.ckTo] {
			b.resolveChecker(c, rs)
		}
	}
	clear(b.rsPending)
	b.rsPending = b.rsPending[:0]
	clear(b.ckPending)
	b.ckPending = b.ckPending[:0]
}

// resolveChecker gives a checker its timings: its own keyword, else the
// real server's, else the checker kind's default, as keepalived does.
func (b *builder) resolveChecker(p ckInherit, rs *RealServer) {
	ck := p.ck
	if p.alpha != nil {
		ck.Alpha = *p.alpha
	} else {
		ck.Alpha = rs.Alpha
	}
	ck.ConnectTimeout = rs.ConnectTimeout
	if p.timeout != nil {
		ck.ConnectTimeout = *p.timeout
	}
	ck.DelayLoop = rs.DelayLoop
	if p.delay != nil {
		ck.DelayLoop = *p.delay
	}
	defaultRetry, defaultDBR := 1, time.Second
	switch ck.Kind {
	case DNSCheck:
		defaultRetry, defaultDBR = 3, 0
	case MiscCheck:
		defaultRetry = 0
	case HTTPGet, SSLGet:
		defaultDBR = 3 * time.Second
	}
	switch {
	case p.retry != nil:
		ck.Retry = *p.retry
	case rs.Retry >= 0:
		ck.Retry = rs.Retry
	default:
		ck.Retry = defaultRetry
	}
	switch {
	case p.warmup != nil:
		ck.Warmup = *p.warmup
	case rs.Warmup != nil:
		ck.Warmup = *rs.Warmup
	default:
		ck.Warmup = ck.DelayLoop
	}
	switch {
	case p.dbr != nil:
		ck.DelayBeforeRetry = *p.dbr
	case rs.DelayBeforeRetry != nil:
		ck.DelayBeforeRetry = *rs.DelayBeforeRetry
	case defaultDBR != 0:
		ck.DelayBeforeRetry = defaultDBR
	default:
		ck.DelayBeforeRetry = ck.DelayLoop
	}
	if ck.Misc != nil && ck.Misc.Timeout == 0 {
		ck.Misc.Timeout = ck.DelayLoop
	}
}
