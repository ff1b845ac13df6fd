package nft

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/google/nftables"

	"keepalived-go/lvs"
)

// kstate is what our tables hold: as we last programmed them (known), or
// as read back by name after a start, a failure or someone else's change.
type kstate struct {
	// known: plans, x and agg describe the kernel's contents exactly, so
	// a change is programmed as a difference. Otherwise only the names of
	// our objects are known and the next commit refills all of them.
	known bool
	// genid is the ruleset generation the state was read or programmed
	// at; stale says someone else committed since.
	genid uint32
	stale bool

	inet, dev bool                          // our tables exist
	foreign   map[nftables.TableFamily]bool // objects not ours in our tables
	chains    map[objName]bool              // read back (not known)
	sets      map[objName]bool

	table lvs.Table
	// slots are the slot tables read back (not known), kept so hash
	// slots stay where they are across a restart.
	slots map[lvs.ServiceKey][]lvs.DestKey
	plans map[lvs.ServiceKey]svcPlan // known
	x     rctx                       // known: what the plans were rendered with
	agg   aggregate                  // known
}

func newKState() *kstate {
	return &kstate{foreign: map[nftables.TableFamily]bool{}, chains: map[objName]bool{}, sets: map[objName]bool{},
		table: lvs.Table{}, slots: map[lvs.ServiceKey][]lvs.DestKey{}, plans: map[lvs.ServiceKey]svcPlan{},
		x: rctx{hops: map[netip.Addr]Hop{}, active: map[netip.Addr]bool{}}, agg: newAggregate()}
}

// prevSlots is the slot table service k holds now (slot -> destination).
func (s *kstate) prevSlots(k lvs.ServiceKey) []lvs.DestKey {
	if p, ok := s.plans[k]; ok {
		out := make([]lvs.DestKey, len(p.Slots))
		for i, j := range p.Slots {
			out[i] = p.Dests[j].DestKey
		}
		return out
	}
	return s.slots[k]
}

// dests counts the destinations held.
func (s *kstate) dests() int {
	n := 0
	for _, vs := range s.table {
		n += len(vs.Dests)
	}
	return n
}

// aggregate counts what the services put in shared objects.
type aggregate struct {
	shared  map[objName]map[string]*sharedRef
	rs      map[netip.Addr]int // DR real servers with slots
	ifaces  map[string]int     // their egress interfaces
	nat, dr int                // services per mode
}

type sharedRef struct {
	elem nftables.SetElement
	n    int
}

func newAggregate() aggregate {
	return aggregate{shared: map[objName]map[string]*sharedRef{}, rs: map[netip.Addr]int{}, ifaces: map[string]int{}}
}

// delta is a change of an aggregate, applied once the kernel took it.
type delta struct {
	shared  map[objName]map[string]*sharedRef // n is the change
	rs      map[netip.Addr]int
	ifaces  map[string]int
	nat, dr int
}

func newDelta() *delta {
	return &delta{shared: map[objName]map[string]*sharedRef{}, rs: map[netip.Addr]int{}, ifaces: map[string]int{}}
}

// account adds (sign 1) or removes (-1) a service's contributions.
func (d *delta) account(so svcObjects, p svcPlan, x rctx, sign int) {
	if p.Mode == modeDR {
		d.dr += sign
	} else {
		d.nat += sign
	}
	for _, c := range so.contribs {
		m := d.shared[c.set]
		if m == nil {
			m = map[string]*sharedRef{}
			d.shared[c.set] = m
		}
		k := string(c.elem.Key)
		if r := m[k]; r != nil {
			r.n += sign
		} else {
			m[k] = &sharedRef{elem: c.elem, n: sign}
		}
	}
	for _, a := range so.rs {
		d.rs[a] += sign
		if h := x.hops[a]; !h.Local && h.Ifname != "" {
			d.ifaces[h.Ifname] += sign
		}
	}
}

func (a *aggregate) sharedCount(set objName, key string) int {
	if r := a.shared[set][key]; r != nil {
		return r.n
	}
	return 0
}

// apply makes d part of a.
func (a *aggregate) apply(d *delta) {
	a.nat += d.nat
	a.dr += d.dr
	for set, m := range d.shared {
		am := a.shared[set]
		if am == nil {
			am = map[string]*sharedRef{}
			a.shared[set] = am
		}
		for k, r := range m {
			if r.n == 0 {
				continue
			}
			cur := am[k]
			if cur == nil {
				cur = &sharedRef{elem: r.elem}
				am[k] = cur
			}
			cur.n += r.n
			if cur.n <= 0 {
				delete(am, k)
			}
		}
	}
	for k, n := range d.rs {
		if a.rs[k] += n; a.rs[k] <= 0 {
			delete(a.rs, k)
		}
	}
	for k, n := range d.ifaces {
		if a.ifaces[k] += n; a.ifaces[k] <= 0 {
			delete(a.ifaces, k)
		}
	}
}

// shape is the global group's shape for the aggregate a plus d.
func (a *aggregate) shape(d *delta, devExists, masq bool, ifaces []string) shape {
	s := shape{nat: a.nat+d.nat > 0, dr: a.dr+d.dr > 0, masq: masq}
	s.dev = devExists || s.dr
	s.ifaces = ifaces
	if len(ifaces) == 0 {
		for k, n := range a.ifaces {
			if n+d.ifaces[k] > 0 {
				s.ifaces = append(s.ifaces, k)
			}
		}
		for k, n := range d.ifaces {
			if _, ok := a.ifaces[k]; !ok && n > 0 {
				s.ifaces = append(s.ifaces, k)
			}
		}
		slices.Sort(s.ifaces)
	}
	return s
}

// sharedElems lists the elements of a shared set once d applies, sorted
// by key so batches are reproducible.
func (a *aggregate) sharedElems(set objName, d *delta) []nftables.SetElement {
	var out []nftables.SetElement
	for k, r := range a.shared[set] {
		if r.n+d.sharedN(set, k) > 0 {
			out = append(out, r.elem)
		}
	}
	for k, r := range d.shared[set] {
		if _, ok := a.shared[set][k]; !ok && r.n > 0 {
			out = append(out, r.elem)
		}
	}
	slices.SortFunc(out, func(x, y nftables.SetElement) int { return slices.Compare(x.Key, y.Key) })
	return out
}

func (d *delta) sharedN(set objName, k string) int {
	if r := d.shared[set][k]; r != nil {
		return r.n
	}
	return 0
}

// rsAfter reports how many services send to a once d applies.
func (a *aggregate) rsAfter(d *delta, addr netip.Addr) int { return a.rs[addr] + d.rs[addr] }

// copyActive snapshots the active VIPs for a render.
func copyActive(m map[netip.Addr]bool) map[netip.Addr]bool { return maps.Clone(m) }
