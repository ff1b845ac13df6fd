package config

import (
	"strings"

	"keepalived-go/parser"
)

// DNS_CHECK: check/check_dns.c's configuration (install_dns_check_keyword
// and its handlers, dns_check_end).

// DNSCheck is the DNS_CHECK block.
const DNSCheck CheckerKind = "DNS_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: DNSCheck, order: 8, keywords: (*checkState).dnsKeywords,
		start: (*checkState).dnsStart, end: (*checkState).dnsEnd, retry: 3, dbr: 0})
}

// DNSOptions holds DNS_CHECK settings.
type DNSOptions struct {
	Type string
	Name string
}

func (*DNSOptions) isCheckerOptions() {}

// DNSOpts are a DNS_CHECK's settings (nil for another kind).
func (c *Checker) DNSOpts() *DNSOptions {
	o, _ := c.Options.(*DNSOptions)
	return o
}

// dnsTypes is check_dns.c's DNS_TYPE table.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}

func (s *checkState) dnsStart(parser.Strvec) {
	c := s.queueChecker(DNSCheck, true)
	c.m.Options = &DNSOptions{Type: "SOA"}
}

func (s *checkState) dnsKeywords() []*parser.Keyword {
	dns := func(f func(*ckState, *DNSOptions, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.cur(); c != nil && c.m.DNSOpts() != nil {
				f(c, c.m.DNSOpts(), v)
			}
		}
	}
	return append(s.commonKeywords(true),
		kw("type", dns(func(_ *ckState, d *DNSOptions, v parser.Strvec) {
			for _, t := range dnsTypes {
				if strings.EqualFold(t, v.Slot(1)) {
					d.Type = t
					return
				}
			}
			s.l.report(parser.SevGeneral, "Unknown DNS check type %s - ignoring", v.Slot(1))
		})),
		kw("name", dns(s.dnsName)),
	)
}

// dnsName is dns_name_handler. keepalived's test for an empty label also
// refuses a name whose second character is a dot.
func (s *checkState) dnsName(c *ckState, d *DNSOptions, v parser.Strvec) {
	if c.dnsNameSet {
		s.l.report(parser.SevGeneral, "DNS_CHECK name already specified - ignoring")
		return
	}
	name := v.Slot(1)
	invalid := false
	if len(name) > 1 && name[0] == '.' {
		invalid = true
	} else {
		for p := 0; ; {
			if p+1 < len(name) && name[p+1] == '.' {
				invalid = true
				break
			}
			next := strings.IndexByte(name[min(p+1, len(name)):], '.')
			if next < 0 {
				break
			}
			p += 1 + next
		}
	}
	if invalid {
		s.l.report(parser.SevGeneral, "DNS_CHECK name '%s' has empty label - ignoring", name)
		return
	}
	d.Name = name
	c.dnsNameSet = true
}

// dnsEnd is dns_check_end.
func (s *checkState) dnsEnd() {
	if !s.checkConn(s.cur()) {
		s.dequeue()
	}
}
