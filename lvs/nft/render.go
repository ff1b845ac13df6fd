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

// observed is what our two tables hold now, as read back by List.
type observed struct {
	inetTable, devTable bool
	inetChains          map[string]bool
	devChains           map[string]bool
	inetSets            map[string]bool
	devSets             map[string]bool
	table               lvs.Table
	// slots is the slot table of each service (slot -> destination),
	// read back so hash slots stay where they are.
	slots map[lvs.ServiceKey][]lvs.DestKey
}

func newObserved() *observed {
	return &observed{
		inetChains: map[string]bool{}, devChains: map[string]bool{},
		inetSets: map[string]bool{}, devSets: map[string]bool{},
		table: lvs.Table{}, slots: map[lvs.ServiceKey][]lvs.DestKey{},
	}
}

// desired is the whole state render writes.
type desired struct {
	plans  []svcPlan // canonical order
	hops   map[netip.Addr]Hop
	active map[netip.Addr]bool
	ifaces []string // DR ingress interfaces
	masq   bool
	// keepPersist lists the services whose persistence map stays as it
	// is; the others get a new one holding carry.
	keepPersist map[lvs.ServiceKey]bool
	carry       map[lvs.ServiceKey][]nftables.SetElement
}

// Names of our fixed objects.
const (
	chainPre  = "prerouting"
	chainOut  = "output"
	chainPost = "postrouting"
	ingress   = "in_" // + interface name
)

// render queues, on c, the messages that turn o into d: one batch, so the
// kernel switches from the old rules and maps to the new ones at once.
// Objects that exist are flushed and refilled rather than recreated:
// base chains stay registered (no packet ever sees a missing hook) and
// persistence maps keep their entries.
func render(c *nftables.Conn, name string, o *observed, d desired) error {
	inet := &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	dev := &nftables.Table{Name: name, Family: nftables.TableFamilyNetdev}
	var hasDR, hasNAT bool
	for _, p := range d.plans {
		hasDR = hasDR || p.Mode == modeDR
		hasNAT = hasNAT || p.Mode == modeNAT
	}
	r := &renderer{c: c, o: o, inet: inet, dev: dev, wantChain: map[*nftables.Table]map[string]bool{inet: {}, dev: {}},
		wantSet: map[*nftables.Table]map[string]bool{inet: {}, dev: {}}}

	// Phase 1: tables, chains, sets exist and are empty.
	if !o.inetTable {
		c.AddTable(inet)
	}
	needDev := hasDR || o.devTable
	if needDev && !o.devTable {
		c.AddTable(dev)
	}
	// The NAT base chains exist only while a NAT service does: a NAT
	// chain makes the kernel track and NAT-check every packet of the
	// namespace (VRRP adverts, health checks), and DR needs none of it.
	var pre, out, post *nftables.Chain
	if hasNAT {
		pre = r.chain(inet, chainPre, &nftables.Chain{Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
		out = r.chain(inet, chainOut, &nftables.Chain{Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
		post = r.chain(inet, chainPost, &nftables.Chain{Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	}
	svc4 := r.set(inet, &nftables.Set{Name: "svc4", KeyType: svcKey4, DataType: nftables.TypeVerdict, IsMap: true})
	svc6 := r.set(inet, &nftables.Set{Name: "svc6", KeyType: svcKey6, DataType: nftables.TypeVerdict, IsMap: true})
	fwm4 := r.set(inet, &nftables.Set{Name: "fwm4", KeyType: nftables.TypeMark, DataType: nftables.TypeVerdict, IsMap: true, KeyByteOrder: nativeOrder})
	fwm6 := r.set(inet, &nftables.Set{Name: "fwm6", KeyType: nftables.TypeMark, DataType: nftables.TypeVerdict, IsMap: true, KeyByteOrder: nativeOrder})
	masq4 := r.set(inet, &nftables.Set{Name: "masq4", KeyType: svcKey4})
	masq6 := r.set(inet, &nftables.Set{Name: "masq6", KeyType: svcKey6})
	var dr4, dr6 *nftables.Set
	var ins []*nftables.Chain
	if needDev {
		dr4 = r.set(dev, &nftables.Set{Name: "dr4", KeyType: svcKey4, DataType: nftables.TypeVerdict, IsMap: true})
		dr6 = r.set(dev, &nftables.Set{Name: "dr6", KeyType: svcKey6, DataType: nftables.TypeVerdict, IsMap: true})
		if hasDR {
			for _, ifn := range d.ifaces {
				ins = append(ins, r.chain(dev, ingress+ifn, &nftables.Chain{Type: nftables.ChainTypeFilter,
					Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter, Device: ifn}))
			}
		}
	}

	type svcObjs struct {
		p                  svcPlan
		chain, devChain    *nftables.Chain
		rs, slots, persist *nftables.Set
		withPort           bool
	}
	var svcs []svcObjs
	rsChains := map[netip.Addr]*nftables.Chain{}
	var rsOrder []netip.Addr
	for _, p := range d.plans {
		so := svcObjs{p: p}
		base := chainName(p.Service.ServiceKey)
		f := p.Service.Family
		so.chain = r.chain(inet, base, &nftables.Chain{})
		kt := addrPort4
		if is6(f) {
			kt = addrPort6
		}
		so.rs = r.set(inet, &nftables.Set{Name: base + "_rs", KeyType: kt})
		switch p.Mode {
		case modeNAT:
			so.withPort = true
			for _, d := range p.Dests {
				if d.Port == 0 {
					so.withPort = false
				}
			}
			dt := kt
			if !so.withPort {
				dt = nftables.TypeIPAddr
				if is6(f) {
					dt = nftables.TypeIP6Addr
				}
			}
			so.slots = r.set(inet, &nftables.Set{Name: base + "_slots", KeyType: nftables.TypeMark, KeyByteOrder: nativeOrder,
				DataType: dt, IsMap: true})
			if p.Service.Persistent() {
				pk := nftables.TypeIPAddr
				if is6(f) {
					pk = nftables.TypeIP6Addr
				}
				ps := &nftables.Set{Name: base + "_persist", KeyType: pk, DataType: dt, IsMap: true,
					HasTimeout: true, Dynamic: true, Timeout: time.Duration(p.Service.Timeout) * time.Second, Size: 65535}
				keep := d.keepPersist[p.Service.ServiceKey] && o.inetSets[ps.Name]
				so.persist = r.persistSet(inet, ps, keep, d.carry[p.Service.ServiceKey])
			}
		case modeDR:
			so.devChain = r.chain(dev, base, &nftables.Chain{})
			so.slots = r.set(dev, &nftables.Set{Name: base + "_slots", KeyType: nftables.TypeMark, KeyByteOrder: nativeOrder,
				DataType: nftables.TypeVerdict, IsMap: true})
			for _, i := range p.Slots {
				a := p.Dests[i].Addr
				if _, ok := rsChains[a]; !ok {
					rsChains[a] = r.chain(dev, rsChainName(a), &nftables.Chain{})
					rsOrder = append(rsOrder, a)
				}
			}
		}
		svcs = append(svcs, so)
	}

	// Phase 2: what is ours and no longer wanted goes, now that nothing
	// wanted refers to it.
	r.dropUnwanted(inet, o.inetChains, o.inetSets)
	if o.devTable {
		r.dropUnwanted(dev, o.devChains, o.devSets)
	}

	// Phase 3: contents.
	for _, a := range rsOrder {
		h := d.hops[a]
		if h.Local {
			c.AddRule(&nftables.Rule{Table: dev, Chain: rsChains[a], Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
		} else {
			c.AddRule(&nftables.Rule{Table: dev, Chain: rsChains[a], Exprs: forwardRule(h)})
		}
	}
	var svc4E, svc6E, fwm4E, fwm6E, masq4E, masq6E, dr4E, dr6E []nftables.SetElement
	for _, so := range svcs {
		p, k := so.p, so.p.Service.ServiceKey
		// The descriptor rule: no expressions, only the comment that lets
		// List recover the service.
		c.AddRule(&nftables.Rule{Table: inet, Chain: so.chain,
			UserData: userdata.AppendString(nil, userdata.TypeComment, describe(p.Service))})
		var rsE []nftables.SetElement
		for _, d := range p.Dests {
			rsE = append(rsE, nftables.SetElement{Key: addrPortKey(d.Addr, d.Port), Comment: describeDest(d)})
		}
		if err := c.SetAddElements(so.rs, rsE); err != nil {
			return err
		}
		jump := &expr.Verdict{Kind: expr.VerdictJump, Chain: so.chain.Name}
		switch p.Mode {
		case modeNAT:
			var slotE []nftables.SetElement
			for s, i := range p.Slots {
				d := p.Dests[i]
				val := d.Addr.AsSlice()
				if so.withPort {
					val = addrPortKey(d.Addr, d.Port)
				}
				slotE = append(slotE, nftables.SetElement{Key: slotKey(s), Val: val})
			}
			if err := c.SetAddElements(so.slots, slotE); err != nil {
				return err
			}
			for _, rule := range natRules(p, so.slots, so.persist, so.withPort) {
				c.AddRule(&nftables.Rule{Table: inet, Chain: so.chain, Exprs: rule})
			}
			switch {
			case k.IsFWMark() && is6(k.Family):
				fwm6E = append(fwm6E, nftables.SetElement{Key: slotKey(int(k.FWMark)), VerdictData: jump})
			case k.IsFWMark():
				fwm4E = append(fwm4E, nftables.SetElement{Key: slotKey(int(k.FWMark)), VerdictData: jump})
			case is6(k.Family):
				svc6E = append(svc6E, nftables.SetElement{Key: serviceKeyBytes(k), VerdictData: jump})
			default:
				svc4E = append(svc4E, nftables.SetElement{Key: serviceKeyBytes(k), VerdictData: jump})
			}
			if d.masq {
				protos := []lvs.Protocol{k.Protocol}
				if k.IsFWMark() {
					protos = []lvs.Protocol{lvs.TCP, lvs.UDP, lvs.SCTP}
				}
				for _, dst := range p.Dests {
					for _, pr := range protos {
						e := nftables.SetElement{Key: serviceKeyBytes(lvs.ServiceKey{Addr: dst.Addr, Protocol: pr, Port: dst.Port})}
						if dst.Addr.Is6() {
							masq6E = append(masq6E, e)
						} else {
							masq4E = append(masq4E, e)
						}
					}
				}
			}
		case modeDR:
			var slotE []nftables.SetElement
			for s, i := range p.Slots {
				d := p.Dests[i]
				slotE = append(slotE, nftables.SetElement{Key: slotKey(s), Comment: d.DestKey.String(),
					VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: rsChains[d.Addr].Name}})
			}
			if err := c.SetAddElements(so.slots, slotE); err != nil {
				return err
			}
			if len(p.Slots) > 0 {
				c.AddRule(&nftables.Rule{Table: dev, Chain: so.devChain, Exprs: drRule(p, so.slots)})
			}
			if d.active[k.Addr] {
				e := nftables.SetElement{Key: serviceKeyBytes(k), VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: so.devChain.Name}}
				if is6(k.Family) {
					dr6E = append(dr6E, e)
				} else {
					dr4E = append(dr4E, e)
				}
			}
		}
	}
	for _, x := range []struct {
		s *nftables.Set
		e []nftables.SetElement
	}{{svc4, svc4E}, {svc6, svc6E}, {fwm4, fwm4E}, {fwm6, fwm6E}, {masq4, masq4E}, {masq6, masq6E}, {dr4, dr4E}, {dr6, dr6E}} {
		if x.s != nil && len(x.e) > 0 {
			if err := c.SetAddElements(x.s, x.e); err != nil {
				return err
			}
		}
	}
	for _, ch := range []*nftables.Chain{pre, out} {
		if !hasNAT {
			break
		}
		for _, f := range []lvs.Family{lvs.INET, lvs.INET6} {
			m, fm := svc4, fwm4
			if is6(f) {
				m, fm = svc6, fwm6
			}
			c.AddRule(&nftables.Rule{Table: inet, Chain: ch, Exprs: append(matchNFProto(f), dispatch(f, m)...)})
			c.AddRule(&nftables.Rule{Table: inet, Chain: ch, Exprs: append(matchNFProto(f),
				&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
				&expr.Lookup{SourceRegister: reg1, SetName: fm.Name, SetID: fm.ID, IsDestRegSet: true})})
		}
	}
	if d.masq && hasNAT {
		c.AddRule(&nftables.Rule{Table: inet, Chain: post, Exprs: masqRule(lvs.INET, masq4)})
		c.AddRule(&nftables.Rule{Table: inet, Chain: post, Exprs: masqRule(lvs.INET6, masq6)})
	}
	for _, ch := range ins {
		for _, f := range []lvs.Family{lvs.INET, lvs.INET6} {
			m := dr4
			if is6(f) {
				m = dr6
			}
			e := append(matchPktHost(), matchEtherType(f)...)
			c.AddRule(&nftables.Rule{Table: dev, Chain: ch, Exprs: append(e, dispatch(f, m)...)})
		}
	}
	return nil
}

// persistCompatible reports whether the persistence map of old can serve
// p unchanged: same layout, same timeout, no destination gone.
func persistCompatible(old lvs.VirtualService, p svcPlan) bool {
	withPort := true
	for _, d := range p.Dests {
		if d.Port == 0 {
			withPort = false
		}
	}
	if old.Service.Timeout != p.Service.Timeout || !slices.Equal(maskBytes(old.Service), maskBytes(p.Service)) ||
		!samePorts(old, withPort) {
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

type renderer struct {
	c         *nftables.Conn
	o         *observed
	inet, dev *nftables.Table
	wantChain map[*nftables.Table]map[string]bool
	wantSet   map[*nftables.Table]map[string]bool
}

func (r *renderer) exists(t *nftables.Table, chain bool, name string) bool {
	switch {
	case t == r.inet && chain:
		return r.o.inetChains[name]
	case t == r.inet:
		return r.o.inetSets[name]
	case chain:
		return r.o.devChains[name]
	}
	return r.o.devSets[name]
}

// chain makes sure chain name exists in t and is empty.
func (r *renderer) chain(t *nftables.Table, name string, tmpl *nftables.Chain) *nftables.Chain {
	ch := *tmpl
	ch.Name, ch.Table = name, t
	r.wantChain[t][name] = true
	if r.exists(t, true, name) {
		r.c.FlushChain(&ch)
		return &ch
	}
	return r.c.AddChain(&ch)
}

// set makes sure set s exists in t and is empty.
func (r *renderer) set(t *nftables.Table, s *nftables.Set) *nftables.Set {
	s.Table = t
	r.wantSet[t][s.Name] = true
	if r.exists(t, false, s.Name) {
		r.c.FlushSet(s)
		return s
	}
	if err := r.c.AddSet(s, nil); err != nil {
		// Only a malformed set description fails here; it is ours.
		panic("nft: " + err.Error())
	}
	return s
}

// persistSet keeps the persistence map with its entries when its layout
// is unchanged, else replaces it (the old one goes in phase 2).
//
// A destination removed from the service invalidates the entries that
// point at it; the map is then rebuilt holding carry, the entries the
// caller read that still point at a live destination, with their
// remaining lifetime. (Deleting single entries instead could fail the
// whole batch on one that expired in between.)
func (r *renderer) persistSet(t *nftables.Table, s *nftables.Set, keep bool, carry []nftables.SetElement) *nftables.Set {
	s.Table = t
	r.wantSet[t][s.Name] = true
	if keep {
		return s
	}
	if r.exists(t, false, s.Name) {
		r.c.DelSet(s)
	}
	if err := r.c.AddSet(s, carry); err != nil {
		panic("nft: " + err.Error())
	}
	return s
}

// dropUnwanted deletes our chains and sets that no wanted object needs.
// Rules go first (they refer to sets), then sets (their elements refer
// to chains), then chains.
func (r *renderer) dropUnwanted(t *nftables.Table, chains, sets map[string]bool) {
	var gone []string
	for _, n := range sortedKeys(chains) {
		if !r.wantChain[t][n] && ours(n) {
			ch := &nftables.Chain{Name: n, Table: t}
			r.c.FlushChain(ch)
			gone = append(gone, n)
		}
	}
	for _, n := range sortedKeys(sets) {
		if !r.wantSet[t][n] && ours(n) {
			r.c.DelSet(&nftables.Set{Name: n, Table: t})
		}
	}
	for _, n := range gone {
		r.c.DelChain(&nftables.Chain{Name: n, Table: t})
	}
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
