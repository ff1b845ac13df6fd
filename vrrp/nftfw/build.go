package nftfw

// The pieces keepalived 2.2.7 builds, each once, in the order its
// vrrp_nftables.c builds them. A table's first creation in a run also
// clears a previous run's tables of that name (check_and_delete_tables);
// the shell does that, as it is not part of the ruleset.

func (c *Core) next() int { c.seq++; return c.seq }

func (c *Core) addChain(t *Table, name, hook string) *Chain {
	ch := &Chain{Name: name, Seq: c.next(), Hook: hook}
	if hook != "" {
		ch.Priority = c.set.Priority
	}
	t.Chains = append(t.Chains, ch)
	return ch
}

func (c *Core) addSet(t *Table, s *Set) {
	s.Seq = c.next()
	t.Sets = append(t.Sets, s)
}

func (c *Core) addRule(t *Table, chain string, r Rule) {
	r.Seq = c.next()
	r.Family = t.Family
	r.Counter = c.set.Counters
	ch := t.Chain(chain)
	ch.Rules = append(ch.Rules, &r)
}

// ensureTable is nft_setup_ipv4 / nft_setup_ipv6: the table and its
// output chain.
func (c *Core) ensureTable(f Family) *Table {
	if c.st.table[f] {
		return c.rs.Table(f)
	}
	t := &Table{Family: f, Name: c.set.Table, Seq: c.next()}
	c.rs.Tables = append(c.rs.Tables, t)
	c.addChain(t, "out", "output")
	c.st.table[f] = true
	return t
}

// ensureVIPs is nft_setup_ipv4_vips / nft_setup_ipv6_vips.
func (c *Core) ensureVIPs(f Family) {
	if c.st.vips[f] {
		return
	}
	t := c.ensureTable(f)
	c.addChain(t, "in", "input")
	if f == IPv4 {
		c.addSet(t, &Set{Name: "vips", Key: []KeyType{TypeIPv4Addr}})
		c.addRule(t, "in", Rule{Kind: RuleAddrSet, Set: "vips"})
		c.addRule(t, "out", Rule{Kind: RuleAddrSet, Set: "vips", Source: true})
		c.st.vips[f] = true
		return
	}
	c.addChain(t, "in_link_local", "")
	c.addChain(t, "out_link_local", "")
	c.addSet(t, &Set{Name: "vips", Key: []KeyType{TypeIPv6Addr}})
	// ND must reach the VIPs' link-local and global addresses.
	c.addSet(t, &Set{Name: "neighbor-discovery", Key: []KeyType{TypeICMPv6Type}, Constant: true,
		Elems: []Elem{{ICMPv6: 135}, {ICMPv6: 136}}})
	c.addRule(t, "in", Rule{Kind: RuleNDAccept, Set: "neighbor-discovery"})
	c.addRule(t, "in", Rule{Kind: RuleLinkLocalGoto, Goto: "in_link_local"})
	c.addRule(t, "out", Rule{Kind: RuleNDAccept, Set: "neighbor-discovery", Source: true})
	c.addRule(t, "out", Rule{Kind: RuleLinkLocalGoto, Goto: "out_link_local", Source: true})
	c.addRule(t, "in", Rule{Kind: RuleAddrSet, Set: "vips"})
	c.addRule(t, "out", Rule{Kind: RuleAddrSet, Set: "vips", Source: true})
	c.st.vips[f] = true
}

// ensureLinkLocal is setup_link_local_checks: the set of link-local VIPs
// keyed by interface name or by index, and a rule for it in each
// link-local chain.
func (c *Core) ensureLinkLocal(byName bool) {
	if byName && c.st.llName || !byName && c.st.llIndex {
		return
	}
	t := c.rs.Table(IPv6)
	name, key := "vips_link_local", TypeIfIndex
	if byName {
		name, key = "vips_link_local_name", TypeIfName
		c.st.llName = true
	} else {
		c.st.llIndex = true
	}
	c.addSet(t, &Set{Name: name, Key: []KeyType{TypeIPv6Addr, key}})
	c.addRule(t, "in_link_local", Rule{Kind: RuleAddrIfSet, Set: name, ByName: byName})
	c.addRule(t, "out_link_local", Rule{Kind: RuleAddrIfSet, Set: name, ByName: byName, Source: true})
}

// ensureIGMP is nft_setup_igmp: the VMAC map (and for ip6 the VMAC set)
// and the rules that send IGMP / MLD reports out of the VMAC's parent
// instead, and keep router solicitations off VMACs.
func (c *Core) ensureIGMP(f Family) {
	if c.st.igmp[f] {
		return
	}
	t := c.ensureTable(f)
	c.addSet(t, &Set{Name: "vmac_map", Key: []KeyType{TypeIfIndex}, Data: TypeIfIndex})
	if f == IPv6 {
		c.addSet(t, &Set{Name: "vmac_set", Key: []KeyType{TypeIfIndex}})
	}
	c.addRule(t, "out", Rule{Kind: RuleIGMPDup, Set: "vmac_map", Source: true})
	if f == IPv6 {
		c.addRule(t, "out", Rule{Kind: RuleRouterSolicitDrop, Set: "vmac_set", Source: true})
	}
	c.st.igmp[f] = true
}
