package config

import (
	"net/netip"
	"strings"

	"keepalived-go/parser"
)

// Routes and rules (static_routes, static_rules, virtual_routes,
// virtual_rules). INTERIM: the entries are kept as written for the vrrp I/O
// shell with the checks the previous loader made; the full port of
// vrrp_iproute.c alloc_route and vrrp_iprule.c alloc_rule (every option and
// message) replaces this.

var routeTypes = map[string]bool{"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true,
	"throw": true, "local": true, "broadcast": true, "multicast": true, "anycast": true, "nat": true}

// routeArgs counts the values taken by route keywords we step over.
var routeArgs = map[string]int{"src": 1, "via": 1, "gw": 1, "or": 1, "dev": 1, "table": 1, "metric": 1, "scope": 1,
	"protocol": 1, "realms": 1, "mtu": 1, "advmss": 1, "tos": 1, "dsfield": 1, "preference": 1, "pref": 1,
	"onlink": 0, "no_track": 0, "track": 0, "from": 1, "expires": 1, "ttl-propagate": 1, "congctl": 1,
	"initcwnd": 1, "initrwnd": 1, "features": 1, "quickack": 1, "fastopen_no_cookie": 1, "rto_min": 1,
	"hoplimit": 1, "reordering": 1, "window": 1, "rtt": 1, "rttvar": 1, "ssthresh": 1, "cwnd": 1, "encap": 0,
	"nexthop": 0, "weight": 1}

func (s *vrrpState) allocRoute(w parser.Strvec, static bool) (Route, bool) {
	words := append([]string(nil), w.W...)
	dst := ""
	hasDev, noTrack := false, false
	for i := 0; i < len(words); i++ {
		wd := words[i]
		if n, ok := routeArgs[wd]; ok {
			switch wd {
			case "gw":
				s.l.report(parser.SevGeneral, "\"gw\" for routes is deprecated. Please use \"via\"")
			case "or":
				s.l.report(parser.SevGeneral, "\"or\" for routes is deprecated. Please use \"nexthop\"")
			case "dev":
				hasDev = true
			case "no_track":
				noTrack = true
			}
			i += n
			continue
		}
		if routeTypes[wd] || wd == "to" {
			continue
		}
		if dst == "" {
			dst = wd
			if !strings.Contains(dst, "/") {
				if a, err := netip.ParseAddr(dst); err == nil {
					dst = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
		}
	}
	if !static && !noTrack && !hasDev && dst != "" {
		s.l.report(parser.SevGeneral, "Warning - cannot track route %s with no interface specified, not tracking", dst)
	}
	return Route{Pos: s.l.pos(), Args: words}, true
}

func (s *vrrpState) allocRule(w parser.Strvec, static bool) (Rule, bool) {
	words := append([]string(nil), w.W...)
	hasPref, v6 := false, false
	for i := 0; i < len(words); i++ {
		switch wd := words[i]; wd {
		case "preference", "priority", "pref", "prio":
			hasPref = true
			i++
		case "from", "to":
			if i+1 >= len(words) {
				continue
			}
			a := words[i+1]
			i++
			if a == "all" {
				continue
			}
			p, ok := s.parseIPAddress(a, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Invalid rule %s address %s", wd, a)
				return Rule{}, false
			}
			v6 = v6 || p.Addr().Is6()
		}
	}
	if !hasPref {
		prio := &s.rulePrio4
		if v6 {
			prio = &s.rulePrio6
		}
		s.l.report(parser.SevGeneral, "Rule has no preference specified - setting to %d. This is probably not what you want.", *prio)
		*prio--
	}
	return Rule{Pos: s.l.pos(), Args: words}, true
}
