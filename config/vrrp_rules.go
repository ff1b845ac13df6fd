package config

import (
	"bufio"
	"math"
	"os"
	"strings"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Rules: a port of keepalived 2.2.7's alloc_rule (vrrp/vrrp_iprule.c) with
// the #ifdef branches of Debian's build (FRA_SUPPRESS_PREFIXLEN,
// FRA_SUPPRESS_IFGROUP, FRA_TUN_ID, FRA_UID_RANGE, FRA_L3MDEV, FRA_PROTOCOL,
// FRA_IP_PROTO, FRA_SPORT_RANGE, FRA_DPORT_RANGE).

// ruleStartPriority is keepalived's RULE_START_PRIORITY: rules without a
// preference get 16384, 16383, ... (one count per family), in file order.
const ruleStartPriority = 16384

type ruleRead struct {
	s      *vrrpState
	w      parser.Strvec
	i      int
	r      *Rule
	family AddrFamily
	// tableOption is set by options only a table lookup can have.
	tableOption bool
	from, to    *routeAddr
}

// allocRule is alloc_rule; static is its allow_track_group.
func (s *vrrpState) allocRule(w parser.Strvec, static bool) (Rule, bool) {
	r := &Rule{Pos: s.l.pos(), Words: append([]string(nil), w.W...), Action: FRActUnspec, SuppressPrefixLen: -1}
	p := &ruleRead{s: s, w: w, r: r}
loop:
	for p.i < w.Len() {
		switch p.keyword(w.Slot(p.i), static) {
		case rErr:
			return Rule{}, false
		case rBreak:
			break loop
		}
		p.i++
	}
	if !p.finish() {
		return Rule{}, false
	}
	return *r, true
}

func (p *ruleRead) rep(format string, args ...any) {
	p.s.l.report(parser.SevGeneral, format, args...)
}

func (p *ruleRead) next() string {
	p.i++
	return p.w.Slot(p.i)
}

// finish is alloc_rule's checks after the read.
func (p *ruleRead) finish() bool {
	r := p.r
	if r.Action == FRActGoto {
		if r.Has&RuleHasPriority == 0 {
			p.rep("Invalid rule - goto target %d specified without preference", r.Goto)
			return false
		}
		if r.Priority >= r.Goto {
			p.rep("Invalid rule - preference %d >= goto target %d", r.Priority, r.Goto)
			return false
		}
	}
	if r.Action == FRActUnspec {
		p.rep("No action specified for rule - ignoring")
		return false
	}
	if r.Action != FRActToTable && p.tableOption {
		p.rep("suppressor/realm specified for non table action - skipping")
		return false
	}
	if r.Table != 0 && r.L3MDev {
		p.rep("table cannot be specified for l3mdev rules")
		return false
	}
	if !r.NoTrack {
		if r.Has&RuleHasProtocol != 0 && r.Protocol != RTProtKeepalived {
			p.rep("Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", RTProtKeepalived)
		}
		r.Protocol = RTProtKeepalived
		r.Has |= RuleHasProtocol
	}
	if r.TrackGroup != "" && r.IIf == "" {
		p.rep("Static rule cannot have track_group if dev/iif not specified")
		r.TrackGroup = ""
	}
	r.Family = p.family
	if r.Family == FamilyUnspec {
		r.Family = FamilyInet
	}
	if p.from != nil {
		r.From = p.from.settle(r.Family)
	}
	if p.to != nil {
		r.To = p.to.settle(r.Family)
	}
	if r.Has&RuleHasPriority == 0 {
		next := &p.s.rulePrio6
		if r.Family == FamilyInet {
			next = &p.s.rulePrio4
		}
		r.Priority = *next
		*next--
		r.Has |= RuleHasPriority
		p.rep("Rule has no preference specified - setting to %d. This is probably not what you want.", r.Priority)
	}
	return true
}

// addr reads "from" or "to" ("all" is settled to the rule's family at
// the end).
func (p *ruleRead) addr(kw string) (*routeAddr, bool) {
	a, ok := p.s.parseRoute(p.next())
	if !ok {
		p.rep("Invalid rule %s address %s", kw, p.w.Slot(p.i))
		return nil, false
	}
	if p.family == FamilyUnspec {
		p.family = a.family
	} else if a.family != p.family {
		p.rep("rule specification has mixed IPv4 and IPv6")
		return nil, false
	}
	return &a, true
}

// keyword handles the word at p.i (one branch of alloc_rule's chain).
func (p *ruleRead) keyword(str string, static bool) rres {
	r := p.r
	switch str {
	case "inet6", "inet":
		f, other := FamilyInet6, "IPv4"
		if str == "inet" {
			f, other = FamilyInet, "IPv6"
		}
		if p.family == FamilyUnspec {
			p.family = f
		} else if p.family != f {
			p.rep("%s specified for %s rule", str, other)
			return rErr
		}
		// As in alloc_route, the next word is stepped over.
		p.i++
	case "from", "to":
		a, ok := p.addr(str)
		if !ok {
			return rErr
		}
		if str == "from" {
			p.from = a
		} else {
			p.to = a
		}
	case "table", "lookup":
		v, ok := p.s.rt.table(p.next())
		if !ok {
			p.rep("Routing table %s not found for rule", p.w.Slot(p.i))
			return rErr
		}
		if v == 0 {
			p.rep("Table 0 is not valid")
			return rErr
		}
		r.Table = v
		if r.Action != FRActUnspec {
			p.rep("Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule")
			return rErr
		}
		r.Action = FRActToTable
	case "not":
		r.Invert = true
	case "preference", "order", "priority":
		p.i++
		v, ok := p.s.l.readUnsignedBase(p.w.Slot(p.i), 0, 0, math.MaxUint32, false)
		if !ok {
			p.rep("Invalid rule preference %s specified", str)
			return rErr
		}
		r.Priority = uint32(v)
		r.Has |= RuleHasPriority
	case "tos", "dsfield":
		v, ok := p.s.rt.dsfield(p.next())
		if !ok {
			p.rep("TOS value %s is invalid", p.w.Slot(p.i))
			return rErr
		}
		r.TOS = v
	case "fwmark":
		return p.fwmark()
	case "realms":
		v, ok := p.s.getRealms(p.next())
		if !ok {
			p.rep("invalid realms %s for rule", p.w.Slot(p.i))
			return rErr
		}
		r.Realms = v
		p.tableOption = true
		if p.family == FamilyUnspec {
			p.family = FamilyInet
		} else if p.family != FamilyInet {
			p.rep("realms is only valid for IPv4")
			return rErr
		}
	case "suppress_prefixlength", "sup_pl":
		p.i++
		v, ok := p.s.l.readUnsigned(p.w.Slot(p.i), 0, math.MaxInt32, false)
		if !ok {
			p.rep("Invalid suppress_prefixlength %s specified", str)
			return rErr
		}
		r.SuppressPrefixLen = int32(v)
		p.tableOption = true
	case "suppress_ifgroup", "sup_group":
		v, ok := p.s.rt.group(p.next())
		if !ok {
			p.rep("suppress_group %s is invalid", p.w.Slot(p.i))
			return rErr
		}
		r.SuppressGroup = v
		r.Has |= RuleHasSupGroup
		p.tableOption = true
	case "dev", "iif", "oif":
		name := p.next()
		ifp := p.s.ifs.get(name, ifCreateIfDynamic)
		if ifp == nil {
			p.rep("WARNING - interface %s for rule doesn't exist", name)
			return rErr
		}
		if str == "oif" {
			r.OIf = ifp.Name
		} else {
			r.IIf = ifp.Name
		}
	default:
		return p.keyword2(str, static)
	}
	return rNext
}

// keyword2 is the second half of alloc_rule's chain.
func (p *ruleRead) keyword2(str string, static bool) rres {
	r := p.r
	switch {
	case str == "tunnel-id":
		p.i++
		v, ok := p.s.l.readUnsigned64(p.w.Slot(p.i), 0, math.MaxUint64, false)
		if !ok {
			p.rep("Invalid tunnel-id %s specified", str)
			return rErr
		}
		r.TunnelID = v
	case str == "uidrange":
		a, b, n := scanRange(p.next(), 32)
		if n != 2 {
			p.rep("Invalid uidrange %s specified", str)
			return rErr
		}
		r.UIDStart, r.UIDEnd = uint32(a), uint32(b)
		r.Has |= RuleHasUIDRange
	case str == "l3mdev":
		r.L3MDev = true
		if r.Action != FRActUnspec {
			p.rep("Cannot specify l3mdev with other action")
			return rErr
		}
		r.Action = FRActToTable
	case str == "protocol":
		p.i++
		if v, ok := p.s.l.readUnsigned(p.w.Slot(p.i), 0, 255, false); !ok {
			p.rep("Invalid protocol %s", p.w.Slot(p.i))
		} else {
			r.Protocol = uint8(v)
			r.Has |= RuleHasProtocol
		}
	case str == "ipproto":
		if v := inetProtoA2N(p.next()); v < 0 || v > 255 {
			p.rep("Invalid ipproto %s", p.w.Slot(p.i))
		} else {
			r.IPProto = uint8(v)
			r.Has |= RuleHasIPProto
		}
	case str == "sport" || str == "dport":
		// keepalived's sscanf("%hu-%hu"): a single port is refused.
		a, b, n := scanRange(p.next(), 16)
		if n != 2 {
			p.rep("invalid %s range %s", str, p.w.Slot(p.i))
		} else if str == "sport" {
			r.SPortStart, r.SPortEnd = uint16(a), uint16(b)
			r.Has |= RuleHasSPortRange
		} else {
			r.DPortStart, r.DPortEnd = uint16(a), uint16(b)
			r.Has |= RuleHasDPortRange
		}
	case str == "no_track":
		r.NoTrack = true
	case static && str == "track_group":
		name := p.next()
		if r.TrackGroup != "" {
			p.rep("track_group %s is a duplicate", name)
			return rBreak
		}
		if p.s.haveTrackGroup(name) {
			r.TrackGroup = name
		} else {
			p.rep("track_group %s not found", name)
		}
	default:
		return p.action(str)
	}
	return rNext
}

// action is the last branch: goto, nop or a route type as the action.
func (p *ruleRead) action(str string) rres {
	r := p.r
	if str == "type" {
		str = p.next()
	}
	var act uint8
	switch str {
	case "goto":
		p.i++
		v, ok := p.s.l.readUnsigned(p.w.Slot(p.i), 0, math.MaxUint32, false)
		if !ok {
			p.rep("Invalid target %s specified", str)
			return rErr
		}
		r.Goto = uint32(v)
		act = FRActGoto
	case "nop":
		act = FRActNop
	default:
		t, ok := findRTNType(str)
		if !ok {
			p.rep("Unknown rule option %s", str)
			return rErr
		}
		switch t {
		case RTNBlackhole:
			act = FRActBlackhole
		case RTNUnreachable:
			act = FRActUnreachable
		case RTNProhibit:
			act = FRActProhibit
		default:
			p.rep("Invalid rule action %s", str)
			return rErr
		}
	}
	if r.Action != FRActUnspec {
		p.rep("Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule")
		return rErr
	}
	r.Action = act
	return rNext
}

// fwmark is the "fwmark MARK[/MASK]" branch.
func (p *ruleRead) fwmark() rres {
	r := p.r
	str := strings.TrimLeft(p.next(), whiteSpace)
	bad := func() rres {
		p.rep("Invalid rule fwmark %s specified", str)
		r.Has &^= RuleHasFwmask
		return rErr
	}
	if strings.HasPrefix(str, "-") {
		return bad()
	}
	val, end, erange := cnum.Strtoul(str, 0)
	if erange || val > math.MaxUint32 {
		return bad()
	}
	var mask uint64
	if strings.HasPrefix(end, "/") {
		if len(end) > 1 && (strings.IndexByte(whiteSpace, end[1]) >= 0 || end[1] == '-') {
			return bad()
		}
		var e2 bool
		mask, end, e2 = cnum.Strtoul(end[1:], 0)
		if e2 || mask > math.MaxUint32 {
			return bad()
		}
		r.Has |= RuleHasFwmask
	}
	if end != "" {
		return bad()
	}
	r.Fwmark, r.Fwmask = uint32(val), uint32(mask)
	r.Has |= RuleHasFwmark
	return rNext
}

// scanRange is sscanf(s, "%u-%u") (bits 32) or "%hu-%hu" (bits 16): the
// values, truncated as glibc stores them, and the count converted (-1 for
// an empty input).
func scanRange(s string, bits uint) (a, b uint64, n int) {
	if strings.TrimLeft(s, whiteSpace) == "" {
		return 0, 0, -1
	}
	conv := func(s string) (uint64, string, bool) {
		s = strings.TrimLeft(s, whiteSpace)
		body := strings.TrimLeft(s, "+-")
		if len(s)-len(body) > 1 || body == "" || body[0] < '0' || body[0] > '9' {
			return 0, s, false
		}
		v, rest, erange := cnum.Strtoul(s, 10)
		if erange {
			v = math.MaxUint64
		}
		return v & (1<<bits - 1), rest, true
	}
	a, rest, ok := conv(s)
	if !ok {
		return 0, 0, 0
	}
	if !strings.HasPrefix(rest, "-") {
		return a, 0, 1
	}
	b, _, ok = conv(rest[1:])
	if !ok {
		return a, 0, 1
	}
	return a, b, 2
}

// inetProtoA2N is vrrp_iprule.c's inet_proto_a2n: a number up to 127, else
// a name from the protocols database.
func inetProtoA2N(buf string) int {
	buf = strings.TrimLeft(buf, whiteSpace)
	if buf == "" || buf[0] == '-' {
		return -1
	}
	n, rest, erange := cnum.Strtoul(buf, 10)
	if erange || n > 127 {
		return -1
	}
	if rest == "" {
		return int(n)
	}
	if v, ok := getProtoByName(buf); ok {
		return v
	}
	return -1
}

// protocolsFile is what getprotobyname reads (a seam for tests).
var protocolsFile = "/etc/protocols"

// getProtoByName is getprotobyname over /etc/protocols: a name or alias.
func getProtoByName(name string) (int, bool) {
	f, err := os.Open(protocolsFile)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fl := strings.Fields(line)
		if len(fl) < 2 {
			continue
		}
		match := fl[0] == name
		for _, al := range fl[2:] {
			match = match || al == name
		}
		if match {
			v, rest, _ := cnum.Strtoul(fl[1], 10)
			if rest != "" {
				continue
			}
			return int(v), true
		}
	}
	return 0, false
}
