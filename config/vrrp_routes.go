package config

import (
	"math"
	"net/netip"

	"keepalived-go/parser"
)

// Routes: a port of keepalived 2.2.7's alloc_route and parse_nexthops
// (vrrp/vrrp_iproute.c) and parse_route (vrrp_ipaddress.c), with the
// #ifdef branches Debian's build has (RTA_ENCAP, RTA_EXPIRES, RTA_NEWDST,
// RTA_PREF, RTAX_CC_ALGO, RTAX_QUICKACK, RTAX_FASTOPEN_NO_COOKIE, RTA_VIA,
// RTA_TTL_PROPAGATE, LWTUNNEL_ENCAP_MPLS, LWTUNNEL_ENCAP_ILA, VRF). Words are
// read with strvec_slot: a missing one ends the read as in keepalived.

// routeAddr is an ip_address_t of a route: its family is FamilyUnspec for
// "default", "any" and "all" until alloc_route settles it.
type routeAddr struct {
	p      netip.Prefix
	family AddrFamily
}

// parseRoute is parse_route.
func (s *vrrpState) parseRoute(str string) (routeAddr, bool) {
	switch str {
	case "default", "any", "all":
		return routeAddr{}, true
	case "default6":
		// keepalived logs "'default6' is deprecated - please replace with
		// 'inet6 default'".
		return routeAddr{p: netip.PrefixFrom(netip.IPv6Unspecified(), 0), family: FamilyInet6}, true
	}
	p, ok := s.parseIPAddress(str, true)
	if !ok {
		return routeAddr{}, false
	}
	return routeAddr{p: p, family: familyOfAddr(p.Addr())}, true
}

// settle gives a "default" address the family of its route.
func (a routeAddr) settle(f AddrFamily) netip.Prefix {
	if a.family != FamilyUnspec {
		return a.p
	}
	if f == FamilyInet6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// routeRead is alloc_route's state while it reads one line.
type routeRead struct {
	s         *vrrpState
	w         parser.Strvec
	i         int
	r         *Route
	static    bool
	dst       *routeAddr
	dest      string
	doNexthop bool
}

// result of one keyword: go on, stop reading (break), or drop the route.
type rres int

const (
	rNext rres = iota
	rBreak
	rSkip // continue without the loop's i++
	rErr
)

// allocRoute is alloc_route; static is its allow_track_group.
func (s *vrrpState) allocRoute(w parser.Strvec, static bool) (Route, bool) {
	r := &Route{Pos: s.l.pos(), Words: append([]string(nil), w.W...), Table: RTTableMain,
		Scope: RTScopeUniverse, Type: RTNUnicast}
	p := &routeRead{s: s, w: w, r: r, static: static}
loop:
	for p.i < w.Len() {
		res := p.keyword(w.Slot(p.i))
		switch res {
		case rErr:
			return Route{}, false
		case rBreak:
			break loop
		case rSkip:
			continue
		}
		p.i++
	}
	rep := func(format string, args ...any) { s.l.report(parser.SevGeneral, format, args...) }
	if p.doNexthop {
		p.parseNexthops()
	} else if p.i < w.Len() {
		rep("Route has trailing nonsense - %s", w.Slot(p.i))
		return Route{}, false
	}
	if p.dst == nil {
		rep("Route must have a destination")
		return Route{}, false
	}
	if !r.NoTrack {
		if r.Has&RouteProtocol != 0 && r.Protocol != RTProtKeepalived {
			rep("Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(%d), resetting protocol", RTProtKeepalived)
		}
		r.Protocol = RTProtKeepalived
		r.Has |= RouteProtocol
		if r.Dev == "" {
			rep("Warning - cannot track route %s with no interface specified, not tracking", p.dest)
			r.NoTrack = true
		}
	}
	if r.TrackGroup != "" && r.Dev == "" {
		rep("Static route cannot have track group if no oif specified")
		r.TrackGroup = ""
	}
	if r.Family == FamilyUnspec {
		r.Family = FamilyInet
	}
	r.Dst = p.dst.settle(r.Family)
	return *r, true
}

func (p *routeRead) rep(format string, args ...any) {
	p.s.l.report(parser.SevGeneral, format, args...)
}

// next is strvec_slot(strvec, ++i).
func (p *routeRead) next() string {
	p.i++
	return p.w.Slot(p.i)
}

// setFamily is the "family unset: take it; else it must match" step.
func (p *routeRead) setFamily(f AddrFamily) bool {
	if p.r.Family == FamilyUnspec {
		p.r.Family = f
		return true
	}
	return p.r.Family == f
}

// keyword handles the word at p.i (one branch of alloc_route's chain).
func (p *routeRead) keyword(str string) rres {
	r := p.r
	switch str {
	case "inet6", "inet":
		f, other := FamilyInet6, "IPv4"
		if str == "inet" {
			f, other = FamilyInet, "IPv6"
		}
		if !p.setFamily(f) {
			p.rep("%s specified for %s route", str, other)
			return rErr
		}
		// keepalived steps past the word here and again at the end of its
		// loop: the word after inet/inet6 is never read.
		p.i++
	case "src":
		a, ok := p.s.parseIPAddress(p.next(), false)
		if !ok {
			p.rep("invalid route src address %s", p.w.Slot(p.i))
			return rErr
		}
		r.PrefSrc = a.Addr()
		if !p.setFamily(familyOfAddr(a.Addr())) {
			p.rep("Cannot mix IPv4 and IPv6 addresses for route")
			return rErr
		}
	case "as":
		if p.next() == "to" {
			p.i++
		}
		p.rep("\"as to\" for MPLS only - ignoring")
	case "via", "gw":
		return p.via(str)
	case "from":
		a, ok := p.s.parseRoute(p.next())
		if !ok {
			p.rep("invalid route from address %s", p.w.Slot(p.i))
			return rErr
		}
		if a.family != FamilyInet6 {
			p.rep("route from address only supported with IPv6 (%s)", p.w.Slot(p.i))
			return rErr
		}
		r.Src = a.p
		if !p.setFamily(a.family) {
			p.rep("Cannot mix IPv4 and IPv6 addresses for route")
			return rErr
		}
	case "tos", "dsfield":
		v, ok := p.s.rt.dsfield(p.next())
		if !ok {
			p.rep("TOS value %s is invalid", p.w.Slot(p.i))
			return rErr
		}
		r.TOS = v
		r.Has |= RouteDSField
	case "table":
		v, ok := p.s.rt.table(p.next())
		if !ok {
			p.rep("Routing table %s not found for route", p.w.Slot(p.i))
			return rErr
		}
		r.Table = v
	case "protocol":
		v, ok := p.s.rt.proto(p.next())
		if !ok {
			p.rep("Protocol %s not found or invalid for route", p.w.Slot(p.i))
			return rErr
		}
		r.Protocol = v
		r.Has |= RouteProtocol
	case "scope":
		v, ok := p.s.rt.scope(p.next())
		if !ok {
			p.rep("Scope %s not found or invalid for route", p.w.Slot(p.i))
			return rErr
		}
		r.Scope = v
		r.Has |= RouteScope
	case "metric", "priority", "preference":
		v, ok := p.s.getU32(p.next(), math.MaxUint32, "Invalid metric %s specified for route")
		if !ok {
			return rErr
		}
		r.Metric = v
		r.Has |= RouteMetric
	case "dev", "oif":
		name := p.next()
		ifp := p.s.ifs.get(name, ifCreateIfDynamic)
		if ifp == nil {
			p.rep("WARNING - interface %s for VROUTE nexthop doesn't exist", name)
			return rErr
		}
		r.Dev = ifp.Name
	case "onlink":
		r.Flags |= RTNHFOnlink
	case "encap":
		p.s.parseEncap(p.w, &p.i, &r.Encap)
	default:
		return p.keyword2(str)
	}
	return rNext
}

// keyword2 is the second half of alloc_route's chain.
func (p *routeRead) keyword2(str string) rres {
	r := p.r
	switch str {
	case "expires":
		p.i++
		if r.Family == FamilyInet {
			p.rep("expires is only valid for IPv6")
			return rErr
		}
		r.Family = FamilyInet6
		v, ok := p.s.getU32(p.w.Slot(p.i), math.MaxUint32, "Invalid expires time %s specified for route")
		if !ok {
			return rErr
		}
		r.Expires = v
		r.Has |= RouteExpires
	case "mtu", "advmss", "reordering", "cwnd", "ssthresh", "window", "initcwnd", "initrwnd", "hoplimit":
		return p.metric(str)
	case "rtt", "rttvar", "rto_min":
		return p.rttMetric(str)
	case "realms":
		v, ok := p.s.getRealms(p.next())
		if !ok {
			p.rep("Invalid realms %s for route", p.w.Slot(p.i))
			return rErr
		}
		r.Realms = v
		if r.Family == FamilyInet6 {
			p.rep("realms are only valid for IPv4")
			return rErr
		}
		r.Family = FamilyInet
	case "features":
		if p.next() == "ecn" {
			r.Features |= RTAXFeatureECN
		} else {
			p.rep("feature %s not supported", p.w.Slot(p.i))
		}
	case "quickack", "fastopen_no_cookie":
		p.i++
		v, ok := p.s.getU32(p.w.Slot(p.i), 1, "Invalid "+str+" value %s specified for route")
		if !ok {
			return rErr
		}
		if str == "quickack" {
			r.QuickAck, r.Has = v != 0, r.Has|RouteQuickAck
		} else {
			r.FastOpenNoCookie, r.Has = v != 0, r.Has|RouteFastOpenNoCookie
		}
	case "congctl":
		p.i++
		if p.w.Slot(p.i) == "lock" {
			r.Lock |= 1 << RTAXCCAlgo
			p.i++
		}
		r.CongCtl = p.w.Slot(p.i)
	case "pref":
		return p.pref()
	case "ttl-propagate":
		switch v := p.next(); v {
		case "enabled":
			r.TTLPropagate = true
		case "disabled":
			r.TTLPropagate = false
		default:
			p.rep("%s value %s not recognised", "ttl-propagate", v)
		}
		r.Has |= RouteTTLPropagate
	case "add":
		r.Has = r.Has&^RouteAppend | RouteAdd
	case "prepend":
		r.Has &^= RouteAdd | RouteAppend
	case "append":
		r.Has = r.Has&^RouteAdd | RouteAppend
	default:
		return p.keyword3(str)
	}
	return rNext
}

// keyword3 is the end of alloc_route's chain: "or", "nexthop", no_track,
// track_group, vrf, and the destination (with its optional type).
func (p *routeRead) keyword3(str string) rres {
	r := p.r
	switch {
	case str == "or":
		return p.or()
	case str == "nexthop":
		if len(r.Nexthops) > 0 {
			p.rep("Cannot specify nexthops with \"or\" route")
		} else {
			p.doNexthop = true
		}
		return rBreak
	case str == "no_track":
		r.NoTrack = true
	case p.static && str == "track_group":
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
	case str == "vrf":
		name := p.next()
		ifp := p.s.ifs.get(name, ifNoCreate)
		if ifp == nil {
			p.rep("VRF %s not found for route", name)
			return rErr
		}
		if ifp.Kind != "vrf" {
			p.rep("Route specified VRF %s is not a VRF", name)
			return rErr
		}
		r.Table, r.VRF = ifp.VRFTable, name
	default:
		if str == "to" {
			p.i++
		}
		if t, ok := findRTNType(str); ok {
			r.Type = t
			// Debian's keepalived 2.2.7 sets its IPROUTE_BIT_ADD with
			// the type (its data dump shows "add blackhole ...", and a
			// later append or prepend clears it again): the route is
			// added with NLM_F_EXCL, as "add" does.
			r.Has |= RouteType | RouteAdd
			p.i++
		}
		p.dest = p.w.Slot(p.i)
		a, ok := p.s.parseRoute(p.dest)
		if !ok {
			p.dst = nil
			p.rep("unknown route keyword %s", p.dest)
			return rErr
		}
		p.dst = &a
		if r.Family == FamilyUnspec {
			r.Family = a.family
		} else if r.Family != a.family {
			p.rep("Cannot mix IPv4 and IPv6 addresses for route (%s)", p.dest)
			return rErr
		}
	}
	return rNext
}

// via is the "via"/"gw" branch.
func (p *routeRead) via(kw string) rres {
	r := p.r
	if kw == "gw" {
		p.rep("\"gw\" for routes is deprecated. Please use \"via\"")
	}
	str := p.next()
	family := r.Family
	switch str {
	case "inet":
		family = FamilyInet
		str = p.next()
	case "inet6":
		family = FamilyInet6
		str = p.next()
	}
	if !p.setFamily(family) {
		p.rep("Cannot mix IPv4 and IPv6 addresses for route")
		return rErr
	}
	r.Via = netip.Addr{}
	a, ok := p.s.parseIPAddress(str, false)
	if !ok {
		p.rep("invalid route via address %s", p.w.Slot(p.i))
		return rErr
	}
	r.Via = a.Addr()
	if !p.setFamily(familyOfAddr(a.Addr())) {
		p.rep("Cannot mix IPv4 and IPv6 addresses for route")
		return rErr
	}
	return rNext
}

// metric reads the u32/u8 metrics, with an optional "lock" where keepalived
// accepts one.
func (p *routeRead) metric(str string) rres {
	r := p.r
	type m struct {
		opt  RouteOpt
		rtax int
		lock bool
		dst  *uint32
		msg  string
	}
	var hop uint32
	tab := map[string]m{
		"mtu":        {RouteMTU, RTAXMTU, true, &r.MTU, "Invalid MTU %s specified for route"},
		"advmss":     {RouteAdvMSS, RTAXAdvMSS, true, &r.AdvMSS, "Invalid advmss %s specified for route"},
		"reordering": {RouteReordering, RTAXReordering, true, &r.Reordering, "Invalid reordering value %s specified for route"},
		"cwnd":       {RouteCwnd, RTAXCwnd, true, &r.Cwnd, "Invalid cwnd value %s specified for route"},
		"ssthresh":   {RouteSSThresh, RTAXSSThresh, true, &r.SSThresh, "Invalid ssthresh value %s specified for route"},
		"window":     {RouteWindow, RTAXWindow, false, &r.Window, "Invalid window value %s specified for route"},
		"initcwnd":   {RouteInitCwnd, RTAXInitCwnd, false, &r.InitCwnd, "Invalid initcwnd value %s specified for route"},
		"initrwnd":   {RouteInitRwnd, RTAXInitRwnd, false, &r.InitRwnd, "Invalid initrwnd value %s specified for route"},
		"hoplimit":   {RouteHoplimit, RTAXHoplimit, false, &hop, "Invalid hoplimit %s specified for route"},
	}
	e := tab[str]
	p.i++
	if e.lock && p.w.Slot(p.i) == "lock" {
		r.Lock |= 1 << e.rtax
		p.i++
	}
	max := uint(math.MaxUint32)
	if str == "hoplimit" {
		max = 255
	}
	v, ok := p.s.getU(p.w.Slot(p.i), max, e.msg)
	if !ok {
		return rErr
	}
	*e.dst = uint32(v)
	if str == "hoplimit" {
		r.Hoplimit = uint8(v)
	}
	r.Has |= e.opt
	return rNext
}

// rttMetric reads rtt, rttvar and rto_min (get_time_rtt).
func (p *routeRead) rttMetric(str string) rres {
	r := p.r
	p.i++
	var rtax int
	var opt RouteOpt
	var dst *uint32
	var mult uint32
	msg := "Invalid %s %s for route"
	switch str {
	case "rtt":
		rtax, opt, dst, mult = RTAXRTT, RouteRTT, &r.RTT, 8
	case "rttvar":
		rtax, opt, dst, mult = RTAXRTTVar, RouteRTTVar, &r.RTTVar, 4
	default:
		rtax, opt, dst, mult = RTAXRTOMin, RouteRTOMin, &r.RTOMin, 1
		msg = "Invalid %s value %s specified for route"
	}
	if p.w.Slot(p.i) == "lock" {
		r.Lock |= 1 << rtax
		p.i++
	}
	v, ok := p.s.getTimeRTT(p.w.Slot(p.i), mult)
	if !ok {
		p.rep(msg, str, p.w.Slot(p.i))
		return rErr
	}
	*dst = v
	r.Has |= opt
	return rNext
}

// pref is the "pref" branch.
func (p *routeRead) pref() rres {
	r := p.r
	p.i++
	if r.Family == FamilyInet {
		p.rep("pref is only valid for IPv6")
		return rErr
	}
	r.Family = FamilyInet6
	switch str := p.w.Slot(p.i); str {
	case "low":
		r.Pref = PrefLow
	case "medium":
		r.Pref = PrefMedium
	case "high":
		r.Pref = PrefHigh
	default:
		v, ok := p.s.getU(str, 255, "Invalid pref value %s specified for route")
		if !ok {
			return rErr
		}
		r.Pref = uint8(v)
	}
	r.Has |= RoutePref
	return rNext
}

// or is the deprecated "or" branch: the via address becomes the first
// nexthop, the "or" address the second.
func (p *routeRead) or() rres {
	r := p.r
	p.rep("\"or\" for routes is deprecated. Please use \"nexthop\"")
	if len(r.Nexthops) > 0 {
		p.rep("\"or\" route already specified - ignoring subsequent")
		p.i += 2
		return rSkip
	}
	first := Nexthop{Addr: r.Via}
	r.Via = netip.Addr{}
	r.Nexthops = append(r.Nexthops, first)
	a, ok := p.s.parseIPAddress(p.next(), false)
	if !ok {
		p.rep("Invalid \"or\" address %s", p.w.Slot(p.i))
		return rErr
	}
	r.Nexthops = append(r.Nexthops, Nexthop{Addr: a.Addr()})
	return rNext
}

// parseNexthops is parse_nexthops. Its errors drop the nexthop being read
// (and what follows), never the route: keepalived ignores its outcome.
func (p *routeRead) parseNexthops() {
	r, w := p.r, p.w
	family := FamilyUnspec
	for p.i < w.Len() && w.Slot(p.i) == "nexthop" {
		p.i++
		nh := Nexthop{}
		ok := true
	hop:
		for ok && p.i < w.Len() {
			switch str := w.Slot(p.i); str {
			case "via":
				family, ok = p.nexthopVia(&nh, family)
			case "dev":
				name := p.next()
				ifp := p.s.ifs.get(name, ifCreateIfDynamic)
				if ifp == nil {
					p.rep("WARNING - interface %s for VROUTE nexthop doesn't exist", name)
					ok = false
				} else {
					nh.Dev = ifp.Name
				}
			case "weight":
				v, good := p.s.getU32(p.next(), 256, "Invalid weight %s specified for route")
				switch {
				case !good:
					ok = false
				case v == 0:
					p.rep("Invalid weight 0 specified for route")
					ok = false
				default:
					nh.Weight, nh.HasWeight = uint8(v-1), true
				}
			case "onlink":
				nh.Flags |= RTNHFOnlink
			case "encap":
				p.s.parseEncap(w, &p.i, &nh.Encap)
			case "realms":
				v, good := p.s.getRealms(p.next())
				switch {
				case !good:
					p.rep("Invalid realms %s for route", w.Slot(p.i))
					ok = false
				case r.Family == FamilyUnspec || r.Family == FamilyInet:
					nh.Realms, r.Family = v, FamilyInet
				default:
					nh.Realms = v
					p.rep("realms are only supported for IPv4")
					ok = false
				}
			case "as":
				if p.next() == "to" {
					p.i++
				}
				p.rep("'as [to]' (nat) not supported")
				ok = false
			default:
				break hop
			}
			if ok {
				p.i++
			}
		}
		if !ok {
			return
		}
		r.Nexthops = append(r.Nexthops, nh)
	}
	if p.i < w.Len() {
		p.rep("Route has trailing nonsense after nexthops - %s", w.Slot(p.i))
	}
}

// nexthopVia is parse_nexthops' "via": the family word, if any, is kept for
// the nexthops that follow, as keepalived's variable is.
func (p *routeRead) nexthopVia(nh *Nexthop, family AddrFamily) (AddrFamily, bool) {
	r := p.r
	str := p.next()
	switch str {
	case "inet":
		family = FamilyInet
		str = p.next()
	case "inet6":
		family = FamilyInet6
		str = p.next()
	}
	if family != FamilyUnspec && !p.setFamily(family) {
		p.rep("IPv4/6 mismatch for nexthop")
		return family, false
	}
	a, ok := p.s.parseIPAddress(str, false)
	if !ok {
		p.rep("invalid nexthop address %s", str)
		return family, false
	}
	nh.Addr = a.Addr()
	if r.Family != FamilyUnspec && familyOfAddr(a.Addr()) != r.Family {
		p.rep("Address family mismatch for next hop")
		return family, false
	}
	if r.Family == FamilyUnspec {
		r.Family = familyOfAddr(a.Addr())
	}
	return family, true
}
