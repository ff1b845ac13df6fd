package config

import (
	"net/netip"
	"strings"

	"keepalived-go/parser"
)

// Route and rule entries are kept verbatim for the vrrp I/O shell; here we
// only run the checks keepalived's parser makes, with its messages.

var routeTypes = map[string]bool{"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true,
	"throw": true, "local": true, "broadcast": true, "multicast": true, "anycast": true, "nat": true}

// routeArgs counts the values taken by route keywords we step over.
var routeArgs = map[string]int{"src": 1, "via": 1, "gw": 1, "or": 1, "dev": 1, "table": 1, "metric": 1, "scope": 1,
	"protocol": 1, "realms": 1, "mtu": 1, "advmss": 1, "tos": 1, "dsfield": 1, "preference": 1, "pref": 1,
	"onlink": 0, "no_track": 0, "track": 0, "from": 1, "expires": 1, "ttl-propagate": 1, "congctl": 1,
	"initcwnd": 1, "initrwnd": 1, "features": 1, "quickack": 1, "fastopen_no_cookie": 1, "rto_min": 1,
	"hoplimit": 1, "reordering": 1, "window": 1, "rtt": 1, "rttvar": 1, "ssthresh": 1, "cwnd": 1, "encap": 0,
	"nexthop": 0, "weight": 1}

func (b *builder) checkRoute(st *parser.Stmt, words []string, tracked bool) {
	dst := ""
	hasDev, noTrack := false, false
	for i := 0; i < len(words); i++ {
		w := words[i]
		if n, ok := routeArgs[w]; ok {
			switch w {
			case "gw":
				b.report(st, parser.SevGeneral, "\"gw\" for routes is deprecated. Please use \"via\"")
			case "or":
				b.report(st, parser.SevGeneral, "\"or\" for routes is deprecated. Please use \"nexthop\"")
			case "dev":
				hasDev = true
			case "no_track":
				noTrack = true
			}
			i += n
			continue
		}
		if routeTypes[w] || w == "to" {
			continue
		}
		if dst == "" {
			dst = w
			if !strings.Contains(dst, "/") {
				if a, err := netip.ParseAddr(dst); err == nil {
					dst = netip.PrefixFrom(a, a.BitLen()).String()
				}
			}
		}
	}
	if tracked && !noTrack && !hasDev && dst != "" {
		b.report(st, parser.SevGeneral, "Warning - cannot track route %s with no interface specified, not tracking", dst)
	}
}

func (b *builder) checkRule(st *parser.Stmt, words []string) {
	hasPref := false
	v6 := false
	for i := 0; i < len(words); i++ {
		switch w := words[i]; w {
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
			p, err := parsePrefix(a)
			if err != nil {
				b.report(st, parser.SevGeneral, "VRRP parsed invalid IP %s. skipping IP...", a)
				b.report(st, parser.SevGeneral, "Invalid rule %s address %s", w, a)
				return
			}
			v6 = v6 || p.Addr().Is6()
		}
	}
	if !hasPref {
		prio := &b.nextRulePrio4
		if v6 {
			prio = &b.nextRulePrio6
		}
		b.report(st, parser.SevGeneral, "Rule has no preference specified - setting to %d. This is probably not what you want.", *prio)
		*prio--
	}
}
