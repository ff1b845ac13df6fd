package nft

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"keepalived-go/lvs"
)

// The kernel state is described as values (specs) and programmed as the
// difference between the specs of what the kernel holds and of what it
// must hold: a health change in one service rewrites a few elements of
// that service's maps, not the table.
//
// Objects are grouped so that rules only refer to sets of their own
// group: a service's chains and sets form one group; the base chains and
// the shared maps (service dispatch, masquerade, DR dispatch) form the
// global group. Elements of the shared maps are contributions of the
// services, counted, so that one service's change adds or removes only
// its own elements. Sets are referred to by name only (no set ID): the
// kernel finds a set added earlier in the same batch by its name.

// Names of our fixed objects.
const (
	chainPre  = "prerouting"
	chainOut  = "output"
	chainPost = "postrouting"
	ingress   = "in_" // + interface name
)

// objName names one of our chains or sets.
type objName struct {
	fam  nftables.TableFamily
	name string
}

func inetName(n string) objName { return objName{nftables.TableFamilyINet, n} }
func devName(n string) objName  { return objName{nftables.TableFamilyNetdev, n} }

// rule is one rule of a chain.
type rule struct {
	exprs []expr.Any
	udata []byte
}

// chainSpec is a chain and its rules.
type chainSpec struct {
	name objName
	// base carries the hook of a base chain; nil for a regular chain.
	base  *nftables.Chain
	rules []rule
}

// setSpec is a set or map and, for a static one, its elements.
type setSpec struct {
	name objName
	decl nftables.Set // declaration; Table and ID are filled at emission
	// elems are the contents of a static set.
	elems []nftables.SetElement
	// shared: the contents are the services' contributions.
	shared bool
	// dynamic: a persistence map, filled by the packet path. keep says the
	// existing map stays with its entries; otherwise it is recreated
	// holding carry.
	dynamic bool
	keep    bool
	carry   []nftables.SetElement
}

// group is objects that refer to each other only within the group, in
// creation order.
type group struct {
	chains []*chainSpec
	sets   []*setSpec
}

func (g *group) chain(c *chainSpec) *chainSpec { g.chains = append(g.chains, c); return c }
func (g *group) set(s *setSpec) *setSpec       { g.sets = append(g.sets, s); return s }

// contrib is one element a service puts in a shared set.
type contrib struct {
	set  objName
	elem nftables.SetElement
}

// rctx is what a service's objects depend on besides its plan.
type rctx struct {
	hops   map[netip.Addr]Hop
	active map[netip.Addr]bool
	masq   bool
}

// svcObjects are a service's group and its contributions.
type svcObjects struct {
	group
	contribs []contrib
	// rs are the DR real servers its slots go to.
	rs []netip.Addr
}

// persistChoice says what happens to a persistence map: kept as it is,
// or recreated holding carry.
type persistChoice struct {
	keep  bool
	carry []nftables.SetElement
}

// withPort reports whether a NAT service's slot map holds address and
// port (every destination has a port) or the address alone.
func withPort(p svcPlan) bool {
	for _, d := range p.Dests {
		if d.Port == 0 {
			return false
		}
	}
	return true
}

// serviceObjects describes what the kernel holds for one service.
func serviceObjects(p svcPlan, x rctx, pc persistChoice) svcObjects {
	var so svcObjects
	k := p.Service.ServiceKey
	base := chainName(k)
	f := p.Service.Family
	kt := addrPort4
	if is6(f) {
		kt = addrPort6
	}
	chain := so.chain(&chainSpec{name: inetName(base)})
	// The descriptor rule: no expressions, only the comment that lets
	// List recover the service.
	chain.rules = append(chain.rules, rule{udata: userdata.AppendString(nil, userdata.TypeComment, describe(p.Service))})
	rs := so.set(&setSpec{name: inetName(base + "_rs"), decl: nftables.Set{Name: base + "_rs", KeyType: kt}})
	for _, d := range p.Dests {
		rs.elems = append(rs.elems, nftables.SetElement{Key: addrPortKey(d.Addr, d.Port), Comment: describeDest(d)})
	}
	if p.Mode == modeDR {
		drObjects(&so, p, x, base)
		return so
	}
	wp := withPort(p)
	dt := kt
	if !wp {
		dt = nftables.TypeIPAddr
		if is6(f) {
			dt = nftables.TypeIP6Addr
		}
	}
	slots := so.set(&setSpec{name: inetName(base + "_slots"), decl: nftables.Set{Name: base + "_slots",
		KeyType: nftables.TypeMark, KeyByteOrder: nativeOrder, DataType: dt, IsMap: true}})
	for s, i := range p.Slots {
		d := p.Dests[i]
		val := d.Addr.AsSlice()
		if wp {
			val = addrPortKey(d.Addr, d.Port)
		}
		slots.elems = append(slots.elems, nftables.SetElement{Key: slotKey(s), Val: val})
	}
	var persist *nftables.Set
	if p.Service.Persistent() {
		pk := nftables.TypeIPAddr
		if is6(f) {
			pk = nftables.TypeIP6Addr
		}
		ps := so.set(&setSpec{name: inetName(base + "_persist"), dynamic: true, keep: pc.keep, carry: pc.carry,
			decl: nftables.Set{Name: base + "_persist", KeyType: pk, DataType: dt, IsMap: true,
				HasTimeout: true, Dynamic: true, Timeout: time.Duration(p.Service.Timeout) * time.Second, Size: 65535}})
		persist = &ps.decl
	}
	for _, r := range natRules(p, &slots.decl, persist, wp) {
		chain.rules = append(chain.rules, rule{exprs: r})
	}
	jump := &expr.Verdict{Kind: expr.VerdictJump, Chain: base}
	disp := nftables.SetElement{Key: serviceKeyBytes(k), VerdictData: jump}
	switch {
	case k.IsFWMark() && is6(k.Family):
		so.contribs = append(so.contribs, contrib{inetName("fwm6"), nftables.SetElement{Key: slotKey(int(k.FWMark)), VerdictData: jump}})
	case k.IsFWMark():
		so.contribs = append(so.contribs, contrib{inetName("fwm4"), nftables.SetElement{Key: slotKey(int(k.FWMark)), VerdictData: jump}})
	case is6(k.Family):
		so.contribs = append(so.contribs, contrib{inetName("svc6"), disp})
	default:
		so.contribs = append(so.contribs, contrib{inetName("svc4"), disp})
	}
	if x.masq {
		protos := []lvs.Protocol{k.Protocol}
		if k.IsFWMark() {
			protos = []lvs.Protocol{lvs.TCP, lvs.UDP, lvs.SCTP}
		}
		for _, dst := range p.Dests {
			set := inetName("masq4")
			if dst.Addr.Is6() {
				set = inetName("masq6")
			}
			for _, pr := range protos {
				so.contribs = append(so.contribs, contrib{set,
					nftables.SetElement{Key: serviceKeyBytes(lvs.ServiceKey{Addr: dst.Addr, Protocol: pr, Port: dst.Port})}})
			}
		}
	}
	return so
}

// drObjects adds the netdev side of a DR service: its chain picking a
// slot, the slot map jumping to the real servers' chains, and its entry
// in the DR dispatch map while its VIP is active.
func drObjects(so *svcObjects, p svcPlan, x rctx, base string) {
	k := p.Service.ServiceKey
	devChain := so.chain(&chainSpec{name: devName(base)})
	slots := so.set(&setSpec{name: devName(base + "_slots"), decl: nftables.Set{Name: base + "_slots",
		KeyType: nftables.TypeMark, KeyByteOrder: nativeOrder, DataType: nftables.TypeVerdict, IsMap: true}})
	seen := map[netip.Addr]bool{}
	for s, i := range p.Slots {
		d := p.Dests[i]
		slots.elems = append(slots.elems, nftables.SetElement{Key: slotKey(s), Comment: d.DestKey.String(),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: rsChainName(d.Addr)}})
		if !seen[d.Addr] {
			seen[d.Addr] = true
			so.rs = append(so.rs, d.Addr)
		}
	}
	if len(p.Slots) > 0 {
		devChain.rules = append(devChain.rules, rule{exprs: drRule(p, &slots.decl)})
	}
	if x.active[k.Addr] {
		set := devName("dr4")
		if is6(k.Family) {
			set = devName("dr6")
		}
		so.contribs = append(so.contribs, contrib{set, nftables.SetElement{Key: serviceKeyBytes(k),
			VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: base}}})
	}
}

// shape is what the global group depends on.
type shape struct {
	nat, dr bool // a NAT / DR service exists
	dev     bool // the netdev table exists or is needed
	masq    bool
	ifaces  []string // DR ingress interfaces
}

// globalObjects describes the base chains and the shared maps.
func globalObjects(s shape) group {
	var g group
	var svc, fwm [2]*nftables.Set
	for i, n := range []string{"4", "6"} {
		kt := svcKey4
		if i == 1 {
			kt = svcKey6
		}
		svc[i] = &g.set(&setSpec{name: inetName("svc" + n), shared: true,
			decl: nftables.Set{Name: "svc" + n, KeyType: kt, DataType: nftables.TypeVerdict, IsMap: true}}).decl
	}
	for i, n := range []string{"4", "6"} {
		fwm[i] = &g.set(&setSpec{name: inetName("fwm" + n), shared: true,
			decl: nftables.Set{Name: "fwm" + n, KeyType: nftables.TypeMark, DataType: nftables.TypeVerdict, IsMap: true, KeyByteOrder: nativeOrder}}).decl
	}
	masq4 := &g.set(&setSpec{name: inetName("masq4"), shared: true, decl: nftables.Set{Name: "masq4", KeyType: svcKey4}}).decl
	masq6 := &g.set(&setSpec{name: inetName("masq6"), shared: true, decl: nftables.Set{Name: "masq6", KeyType: svcKey6}}).decl
	// The NAT base chains exist only while a NAT service does: a NAT
	// chain makes the kernel track and NAT-check every packet of the
	// namespace (VRRP adverts, health checks), and DR needs none of it.
	if s.nat {
		for _, c := range []*nftables.Chain{
			{Name: chainPre, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
			{Name: chainOut, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		} {
			ch := g.chain(&chainSpec{name: inetName(c.Name), base: c})
			for i, f := range []lvs.Family{lvs.INET, lvs.INET6} {
				ch.rules = append(ch.rules, rule{exprs: append(matchNFProto(f), dispatch(f, svc[i])...)})
				ch.rules = append(ch.rules, rule{exprs: append(matchNFProto(f),
					&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
					&expr.Lookup{SourceRegister: reg1, SetName: fwm[i].Name, IsDestRegSet: true})})
			}
		}
		post := g.chain(&chainSpec{name: inetName(chainPost), base: &nftables.Chain{Name: chainPost, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}})
		if s.masq {
			post.rules = append(post.rules, rule{exprs: masqRule(lvs.INET, masq4)}, rule{exprs: masqRule(lvs.INET6, masq6)})
		}
	}
	if !s.dev {
		return g
	}
	dr4 := &g.set(&setSpec{name: devName("dr4"), shared: true, decl: nftables.Set{Name: "dr4", KeyType: svcKey4, DataType: nftables.TypeVerdict, IsMap: true}}).decl
	dr6 := &g.set(&setSpec{name: devName("dr6"), shared: true, decl: nftables.Set{Name: "dr6", KeyType: svcKey6, DataType: nftables.TypeVerdict, IsMap: true}}).decl
	if !s.dr {
		return g
	}
	for _, ifn := range s.ifaces {
		ch := g.chain(&chainSpec{name: devName(ingress + ifn), base: &nftables.Chain{Name: ingress + ifn, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter, Device: ifn}})
		for _, f := range []lvs.Family{lvs.INET, lvs.INET6} {
			m := dr4
			if is6(f) {
				m = dr6
			}
			e := append(matchPktHost(), matchEtherType(f)...)
			ch.rules = append(ch.rules, rule{exprs: append(e, dispatch(f, m)...)})
		}
	}
	return g
}

// rsChain is the DR chain that delivers to one real server.
func rsChain(a netip.Addr, h Hop) *chainSpec {
	c := &chainSpec{name: devName(rsChainName(a))}
	if h.Local {
		c.rules = []rule{{exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}}}
	} else {
		c.rules = []rule{{exprs: forwardRule(h)}}
	}
	return c
}

// persistCompatible reports whether the persistence map of old can serve
// p unchanged: same layout, same timeout, no destination gone.
func persistCompatible(old lvs.VirtualService, p svcPlan) bool {
	if !old.Service.Persistent() || old.Service.Timeout != p.Service.Timeout ||
		!slices.Equal(maskBytes(old.Service), maskBytes(p.Service)) || !samePorts(old, withPort(p)) {
		return false
	}
	for k := range old.Dests {
		if !slices.ContainsFunc(p.Dests, func(d lvs.Destination) bool { return d.DestKey == k }) {
			return false
		}
	}
	return true
}

// samePorts reports whether the persistence map of old holds the same
// data layout (address only, or address and port) as wanted.
func samePorts(old lvs.VirtualService, withPort bool) bool {
	had := true
	for _, d := range old.Dests {
		if d.Port == 0 {
			had = false
		}
	}
	return had == withPort
}

// ours reports whether a name in our tables follows our naming; anything
// else (an operator's debugging chain) is left alone.
func ours(name string) bool {
	for _, p := range []string{"vs_", "rs_", ingress, "svc", "fwm", "masq", "dr4", "dr6", chainPre, chainOut, chainPost} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
