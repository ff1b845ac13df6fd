package nftfw

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Family is a table's nftables family.
type Family uint8

// The two families keepalived's VRRP firewall uses (NFPROTO_IPV4/IPV6).
const (
	IPv4 Family = 2
	IPv6 Family = 10
)

func (f Family) String() string {
	if f == IPv6 {
		return "ip6"
	}
	return "ip"
}

// KeyType is one field of a set's key or a map's data (nft's datatype).
type KeyType uint8

// The datatypes keepalived's sets use, with nft's numbers.
const (
	TypeIPv4Addr   KeyType = 7
	TypeIPv6Addr   KeyType = 8
	TypeIfIndex    KeyType = 20
	TypeICMPv6Type KeyType = 29
	TypeIfName     KeyType = 41
)

var typeNames = map[KeyType]string{
	TypeIPv4Addr: "ipv4_addr", TypeIPv6Addr: "ipv6_addr", TypeIfIndex: "iface_index",
	TypeICMPv6Type: "icmpv6_type", TypeIfName: "ifname",
}

// Size is the key length in bytes keepalived gives the type (setup_set).
func (t KeyType) Size() uint32 {
	switch t {
	case TypeIPv4Addr, TypeIfIndex:
		return 4
	case TypeIPv6Addr, TypeIfName:
		return 16
	case TypeICMPv6Type:
		return 1
	}
	return 0
}

func (t KeyType) String() string { return typeNames[t] }

// Ruleset is what keepalived's VRRP firewall holds in the kernel: its
// tables in the order they were created. Every object carries the order in
// which it was created (Seq), so that a change is applied in the order
// keepalived would have made it.
type Ruleset struct {
	Tables []*Table
}

// Table is one table (family ip or ip6) named after the nftables keyword.
type Table struct {
	Family Family
	Name   string
	Seq    int
	Sets   []*Set
	Chains []*Chain
}

// Set is a set (or, with Data, a map) and its elements.
type Set struct {
	Name     string
	Seq      int
	Key      []KeyType // several: a concatenation
	Data     KeyType   // a map's data type; 0 for a set
	Constant bool
	Elems    []Elem
}

// Elem is one element. Which fields are used follows the set's key: Addr
// for an address, Iface for an iface_index or ifname field (resolved to an
// index when written), ICMPv6 for icmpv6_type; To is a map's data (an
// interface, by index).
type Elem struct {
	Addr   netip.Addr
	Iface  string
	ICMPv6 uint8
	To     string
}

// Chain is a chain: a base chain when Hook is set.
type Chain struct {
	Name     string
	Seq      int
	Hook     string // "input" | "output" | "" (a regular chain)
	Priority int32
	Rules    []*Rule
}

// RuleKind says which of keepalived's rules a Rule is.
type RuleKind uint8

// keepalived's rules (vrrp_nftables.c setup_rule*).
const (
	// RuleAddrSet is "ip[6] daddr|saddr @set drop".
	RuleAddrSet RuleKind = iota + 1
	// RuleAddrIfSet is "ip6 daddr . iif[name] @set drop" (or saddr . oif).
	RuleAddrIfSet
	// RuleNDAccept is "icmpv6 type @neighbor-discovery accept".
	RuleNDAccept
	// RuleLinkLocalGoto is "ip6 daddr|saddr fe80::/10 goto chain".
	RuleLinkLocalGoto
	// RuleIGMPDup is "ip protocol igmp meta oifkind "macvlan" dup to
	// ip daddr device oif map @vmac_map drop" (icmpv6 mld2-listener-report
	// for ip6).
	RuleIGMPDup
	// RuleRouterSolicitDrop is "icmpv6 type nd-router-solicit meta oifkind
	// "macvlan" oif @vmac_set drop".
	RuleRouterSolicitDrop
)

// Rule is one rule of a chain.
type Rule struct {
	Kind    RuleKind
	Seq     int
	Family  Family
	Set     string // the set or map looked up
	Source  bool   // saddr/oif (output) rather than daddr/iif (input)
	ByName  bool   // iifname/oifname rather than iif/oif
	Goto    string // RuleLinkLocalGoto's chain
	Counter bool
}

// Table returns the table of family f, or nil.
func (rs *Ruleset) Table(f Family) *Table {
	for _, t := range rs.Tables {
		if t.Family == f {
			return t
		}
	}
	return nil
}

// Set returns the named set, or nil.
func (t *Table) Set(name string) *Set {
	for _, s := range t.Sets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name string) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Clone returns a deep copy.
func (rs *Ruleset) Clone() *Ruleset {
	out := &Ruleset{}
	for _, t := range rs.Tables {
		nt := *t
		nt.Sets, nt.Chains = nil, nil
		for _, s := range t.Sets {
			ns := *s
			ns.Key = append([]KeyType(nil), s.Key...)
			ns.Elems = append([]Elem(nil), s.Elems...)
			nt.Sets = append(nt.Sets, &ns)
		}
		for _, c := range t.Chains {
			nc := *c
			nc.Rules = nil
			for _, r := range c.Rules {
				nr := *r
				nc.Rules = append(nc.Rules, &nr)
			}
			nt.Chains = append(nt.Chains, &nc)
		}
		out.Tables = append(out.Tables, &nt)
	}
	return out
}

// String renders the ruleset as `nft -y list ruleset` prints it, in the
// canonical form the tests compare (see Canonical): one element list per
// line, elements sorted, counters without their numbers.
func (rs *Ruleset) String() string {
	var b strings.Builder
	for _, t := range rs.Tables {
		fmt.Fprintf(&b, "table %s %s {\n", t.Family, t.Name)
		var blocks []string
		for _, s := range t.Sets {
			blocks = append(blocks, s.render(t.Family))
		}
		for _, c := range t.Chains {
			blocks = append(blocks, c.render())
		}
		b.WriteString(strings.Join(blocks, "\n"))
		b.WriteString("}\n")
	}
	return b.String()
}

func (s *Set) render(f Family) string {
	var b strings.Builder
	kind := "set"
	if s.Data != 0 {
		kind = "map"
	}
	fmt.Fprintf(&b, "\t%s %s {\n", kind, s.Name)
	var key []string
	for _, k := range s.Key {
		key = append(key, k.String())
	}
	typ := strings.Join(key, " . ")
	if s.Data != 0 {
		typ += " : " + s.Data.String()
	}
	fmt.Fprintf(&b, "\t\ttype %s\n", typ)
	if s.Constant {
		b.WriteString("\t\tflags constant\n")
	}
	if len(s.Elems) > 0 {
		var els []string
		for _, e := range s.Elems {
			els = append(els, s.renderElem(e))
		}
		sort.Strings(els)
		fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(els, ", "))
	}
	b.WriteString("\t}\n")
	return b.String()
}

var icmpv6Names = map[uint8]string{133: "nd-router-solicit", 135: "nd-neighbor-solicit", 136: "nd-neighbor-advert", 143: "mld2-listener-report"}

func (s *Set) renderElem(e Elem) string {
	var parts []string
	for _, k := range s.Key {
		switch k {
		case TypeIPv4Addr, TypeIPv6Addr:
			parts = append(parts, e.Addr.String())
		case TypeIfIndex, TypeIfName:
			parts = append(parts, fmt.Sprintf("%q", e.Iface))
		case TypeICMPv6Type:
			parts = append(parts, icmpv6Names[e.ICMPv6])
		}
	}
	out := strings.Join(parts, " . ")
	if s.Data != 0 {
		out += fmt.Sprintf(" : %q", e.To)
	}
	return out
}

func (c *Chain) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tchain %s {\n", c.Name)
	if c.Hook != "" {
		fmt.Fprintf(&b, "\t\ttype filter hook %s priority %d; policy accept;\n", c.Hook, c.Priority)
	}
	for _, r := range c.Rules {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t}\n")
	return b.String()
}

// String is the rule as nft prints it.
func (r *Rule) String() string {
	dir, ifk := "daddr", "iif"
	if r.Source {
		dir, ifk = "saddr", "oif"
	}
	if r.ByName {
		ifk += "name"
	}
	counter := ""
	if r.Counter {
		counter = "counter "
	}
	switch r.Kind {
	case RuleAddrSet:
		return fmt.Sprintf("%s %s @%s %sdrop", r.Family, dir, r.Set, counter)
	case RuleAddrIfSet:
		return fmt.Sprintf("ip6 %s . %s @%s %sdrop", dir, ifk, r.Set, counter)
	case RuleNDAccept:
		return fmt.Sprintf("icmpv6 type @%s %saccept", r.Set, counter)
	case RuleLinkLocalGoto:
		return fmt.Sprintf("ip6 %s fe80::/10 %sgoto %s", dir, counter, r.Goto)
	case RuleIGMPDup:
		if r.Family == IPv6 {
			return fmt.Sprintf("icmpv6 type mld2-listener-report meta oifkind \"macvlan\" dup to ip6 daddr device oif map @%s %sdrop", r.Set, counter)
		}
		return fmt.Sprintf("ip protocol igmp meta oifkind \"macvlan\" dup to ip daddr device oif map @%s %sdrop", r.Set, counter)
	case RuleRouterSolicitDrop:
		return fmt.Sprintf("icmpv6 type nd-router-solicit meta oifkind \"macvlan\" oif @%s %sdrop", r.Set, counter)
	}
	return fmt.Sprintf("rule kind %d", r.Kind)
}
