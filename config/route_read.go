package config

import (
	"math"
	"net/netip"
	"strings"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Value helpers of routes and rules: ports of keepalived 2.2.7's
// vrrp/vrrp_ip_rule_route_parser.c (get_u8/u16/u32/u64, get_realms,
// get_time_rtt, get_addr64, parse_mpls_address) and the encapsulation
// parsers of vrrp_iproute.c (parse_encap and its MPLS, IP, ILA and IP6
// parsers).

// getU is get_u8/get_u16/get_u32: read_unsigned (0..max), else msg.
func (s *vrrpState) getU(str string, max uint, msg string) (uint, bool) {
	v, ok := s.l.readUnsigned(str, 0, max, false)
	if !ok {
		s.l.report(parser.SevGeneral, msg, str)
		return 0, false
	}
	return v, true
}

func (s *vrrpState) getU32(str string, max uint, msg string) (uint32, bool) {
	v, ok := s.getU(str, max, msg)
	return uint32(v), ok
}

// getU64 is get_u64.
func (s *vrrpState) getU64(str string, msg string) (uint64, bool) {
	v, ok := s.l.readUnsigned64(str, 0, math.MaxUint64, false)
	if !ok {
		s.l.report(parser.SevGeneral, msg, str)
		return 0, false
	}
	return v, true
}

// getRealms is get_realms: "[from/]to" realms, from in the high 16 bits.
func (s *vrrpState) getRealms(str string) (uint32, bool) {
	first, second, slash := strings.Cut(str, "/")
	v, ok := s.rt.realms(first)
	if !ok {
		return 0, false
	}
	if slash {
		v1, ok := s.rt.realms(second)
		if !ok {
			return 0, false
		}
		v = v<<16 | v1
	}
	return v, true
}

// The kernel's TCP_RTO_MIN and TCP_RTO_MAX in ms (get_time_rtt's bounds).
const (
	rttMinMs = 200
	rttMaxMs = 120000
)

// getTimeRTT is get_time_rtt: a time with "s", "sec", "secs" or "ms" (in
// units of 1/mult ms), or a raw number of those units, clamped to the
// kernel's bounds (keepalived logs the clamping).
func (s *vrrpState) getTimeRTT(str string, mult uint32) (uint32, bool) {
	str = strings.TrimLeft(str, whiteSpace)
	raw := true
	shift := 0
	num := str
	if k := strings.IndexAny(str, "sS"); k >= 0 {
		unit := strings.ToLower(str[k:])
		if unit != "s" && unit != "sec" && unit != "secs" {
			return 0, false
		}
		raw = false
		if k > 0 && (str[k-1]|0x20) == 'm' {
			k--
		} else {
			shift = 3
		}
		if k == 0 {
			return 0, false
		}
		num = str[:k]
	}
	if strings.ContainsAny(num, "eE") {
		// keepalived logs "rtt value exponential form %s no longer supported".
		return 0, false
	}
	v, ok := s.l.readDecimal(num, 0, uint64(rttMaxMs*mult), shift, false)
	if !ok {
		return 0, false
	}
	res := uint32(v)
	if !raw {
		res *= mult
	}
	switch {
	case res > rttMaxMs*mult:
		res = rttMaxMs * mult
	case res < rttMinMs*mult:
		res = rttMinMs * mult
	}
	return res, true
}

// getAddr64 is get_addr64: four hex groups of up to 16 bits.
func getAddr64(cp string) (uint64, bool) {
	cp = strings.TrimLeft(cp, whiteSpace)
	var v uint64
	for i := 0; i < 4; i++ {
		if cp == "" || cnum.Digit(cp[0]) < 0 || cnum.Digit(cp[0]) > 15 {
			return 0, false
		}
		n, rest, erange := cnum.Strtoul(cp, 16)
		if erange || n > 0xffff || len(rest) == len(cp) {
			return 0, false
		}
		v = v<<16 | n
		if rest == "" {
			if i != 3 {
				return 0, false
			}
			break
		}
		if i == 3 || rest[0] != ':' {
			return 0, false
		}
		cp = rest[1:]
	}
	return v, true
}

// maxMPLSLabels is keepalived's MAX_MPLS_LABELS.
const maxMPLSLabels = 2

// parseMPLSAddress is parse_mpls_address: up to two 20-bit labels
// separated by '/'.
func parseMPLSAddress(str string) ([]uint32, bool) {
	str = strings.TrimLeft(str, whiteSpace)
	var labels []uint32
	for count := 0; count < maxMPLSLabels; count++ {
		if strings.HasPrefix(str, "-") || (str != "" && strings.IndexByte(whiteSpace, str[0]) >= 0) {
			return nil, false
		}
		label, rest, erange := cnum.Strtoul(str, 0)
		if len(rest) == len(str) || erange || label > math.MaxUint32 || label&^0xFFFFF != 0 {
			return nil, false
		}
		labels = append(labels, uint32(label))
		if rest == "" {
			return labels, true
		}
		if rest[0] != '/' {
			return nil, false
		}
		str = rest[1:]
	}
	return nil, false
}

// parseEncap is parse_encap: *i is at "encap"; on return it is at the last
// word read (alloc_route steps past it). Its outcome is ignored by
// keepalived: an invalid encapsulation leaves what was parsed.
func (s *vrrpState) parseEncap(w parser.Strvec, i *int, e *Encap) {
	rep := func(format string, args ...any) { s.l.report(parser.SevGeneral, format, args...) }
	*i++
	if w.Len() <= *i {
		rep("Missing encap type")
		return
	}
	str := w.Slot(*i)
	*i++
	switch str {
	case "ip":
		s.parseEncapIP(w, i, e, false)
	case "ip6":
		s.parseEncapIP(w, i, e, true)
	case "mpls":
		e.Type = EncapMPLS
		if *i >= w.Len() {
			rep("missing address for MPLS encapsulation")
			break
		}
		a := w.Slot(*i)
		*i++
		labels, ok := parseMPLSAddress(a)
		if !ok {
			rep("invalid mpls address %s for encapsulation", a)
			e.Labels = nil
			break
		}
		e.Labels = labels
	case "ila":
		e.Type = EncapILA
		if *i >= w.Len() {
			rep("missing locator for ILA encapsulation")
			break
		}
		a := w.Slot(*i)
		*i++
		loc, ok := getAddr64(a)
		if !ok {
			rep("invalid locator %s for ila encapsulation", a)
			break
		}
		e.Locator = loc
	default:
		rep("Unknown encap type - %s", str)
		return
	}
	*i--
}

// parseEncapIP is parse_encap_ip and parse_encap_ip6: pairs of option and
// value until a word that is not an option.
func (s *vrrpState) parseEncapIP(w parser.Strvec, iPtr *int, e *Encap, v6 bool) {
	rep := func(format string, args ...any) { s.l.report(parser.SevGeneral, format, args...) }
	msgs := map[string]string{"id": "encap id %s value is invalid", "dst": "Invalid encap ip dst %s",
		"src": "Invalid encap ip src %s", "family": "IPv6 address %s not valid for ip encapsulation",
		"tos": "dsfield %s not valid for ip encapsulation", "ttl": "ttl %s is not valid for ip encapsulation",
		"flags": "flags %s is not valid for ip encapsulation", "missing": "address or id missing for ip encapsulation"}
	tos, ttl := "tos", "ttl"
	e.Type = EncapIP
	if v6 {
		e.Type = EncapIP6
		tos, ttl = "tc", "hoplimit"
		msgs = map[string]string{"id": "id %s value invalid for IPv6 encapsulation", "dst": "Invalid encap ip6 dst %s",
			"src": "Invalid encap ip6 src %s", "family": "IPv4 address %s not valid for ip6 encapsulation",
			"tc": "tc value %s is invalid for ip6 encapsulation", "hoplimit": "Invalid hoplimit %s specified for ip6 encapsulation",
			"flags": "flags %s is not valid for ip6 encapsulation", "missing": "address or id missing for ip6 encapsulation"}
	}
	i := *iPtr
	fail := func() {
		*iPtr = i
		e.Dst, e.Src = netip.Addr{}, netip.Addr{}
	}
	for i+1 < w.Len() {
		str, str1 := w.Slot(i), w.Slot(i+1)
		switch str {
		case "id":
			v, ok := s.getU64(str1, msgs["id"])
			if !ok {
				fail()
				return
			}
			e.ID, e.Has = v, e.Has|EncapHasID
		case "dst", "src":
			a, ok := s.parseIPAddress(str1, false)
			if str == "dst" {
				e.Dst = a.Addr()
			} else {
				e.Src = a.Addr()
			}
			if !ok {
				rep(msgs[str], str1)
				fail()
				return
			}
			if a.Addr().Is6() != v6 {
				rep(msgs["family"], str1)
				fail()
				return
			}
		case tos:
			v, ok := s.rt.dsfield(str1)
			if !ok {
				// keepalived prints the option word for ip6's tc.
				arg := str1
				if v6 {
					arg = str
				}
				rep(msgs[tos], arg)
				fail()
				return
			}
			e.TOS, e.Has = v, e.Has|EncapHasDSField
		case ttl:
			v, ok := s.getU(str1, 255, msgs[ttl])
			if !ok {
				fail()
				return
			}
			e.TTL, e.Has = uint8(v), e.Has|EncapHasHoplimit
		case "flags":
			v, ok := s.getU(str1, 65535, msgs["flags"])
			if !ok {
				fail()
				return
			}
			e.Flags, e.Has = uint16(v), e.Has|EncapHasFlags
		default:
			s.encapEnd(e, msgs["missing"], iPtr, i)
			return
		}
		i += 2
	}
	s.encapEnd(e, msgs["missing"], iPtr, i)
}

// encapEnd is the end of parse_encap_ip/ip6: an address or an id is needed.
func (s *vrrpState) encapEnd(e *Encap, missing string, iPtr *int, i int) {
	*iPtr = i
	if !e.Dst.IsValid() && e.Has&EncapHasID == 0 {
		s.l.report(parser.SevGeneral, "%s", missing)
		e.Dst, e.Src = netip.Addr{}, netip.Addr{}
	}
}
