package nft

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"

	"keepalived-go/lvs"
)

// change is one commit: the services that may differ from what the
// kernel holds (keys) and what they become (sub; a key missing from sub
// is removed).
type change struct {
	sub  lvs.Table
	keys []lvs.ServiceKey
	// hops, when set, replaces every DR next hop (Refresh).
	hops map[netip.Addr]Hop
}

// planned is one service's new plan and objects.
type planned struct {
	k    lvs.ServiceKey
	p    svcPlan
	so   svcObjects
	gone bool
}

// commit programs ch in one transaction. When the state is known only
// the services in ch are rendered and the batch holds their differences;
// otherwise (after a read) every object of ours is refilled.
func (b *Backend) commit(ctx context.Context, ch change) error {
	st := b.st
	full := !st.known
	if full {
		next := maps.Clone(st.table)
		for _, k := range ch.keys {
			if vs, ok := ch.sub[k]; ok {
				next[k] = vs
			} else {
				delete(next, k)
			}
		}
		ch.sub, ch.keys = next, next.Keys()
		for k := range st.table {
			if _, ok := next[k]; !ok {
				ch.keys = append(ch.keys, k)
			}
		}
	}
	x := rctx{hops: st.x.hops, active: copyActive(b.active), masq: b.opts.Masquerade}
	if ch.hops != nil {
		x.hops = ch.hops
	}
	x.hops = b.resolveNew(ctx, ch, x.hops, full)
	ps, err := b.planAll(ctx, ch, x)
	if err != nil {
		return err
	}
	base := &st.agg
	if full {
		fresh := newAggregate()
		base = &fresh
	}
	d := newDelta()
	bt := newBatch(func(n objName) []nftables.SetElement { return base.sharedElems(n, d) })
	remaining := len(st.table)
	if full {
		remaining = len(ch.sub)
	}
	for _, pl := range ps {
		_, had := st.table[pl.k]
		switch {
		case full:
		case had && pl.gone:
			remaining--
		case !had && !pl.gone:
			remaining++
		}
	}
	if remaining == 0 && !st.foreign[nftables.TableFamilyINet] && !st.foreign[nftables.TableFamilyNetdev] {
		return b.dropTables(x)
	}
	if full {
		b.diffFull(bt, ps, x, d)
	} else {
		b.diffDelta(bt, ps, x, d, ch.hops != nil)
	}
	sh := base.shape(d, st.dev, x.masq, b.opts.Interfaces)
	if !st.inet {
		bt.addTables = append(bt.addTables, nftables.TableFamilyINet)
	}
	if sh.dev && !st.dev {
		bt.addTables = append(bt.addTables, nftables.TableFamilyNetdev)
	}
	if err := b.flush(bt); err != nil {
		return err
	}
	// The kernel holds it: the state follows.
	if full {
		st.table, st.plans, st.slots = lvs.Table{}, map[lvs.ServiceKey]svcPlan{}, map[lvs.ServiceKey][]lvs.DestKey{}
		st.agg = *base
		clear(st.chains)
		clear(st.sets)
		st.known = true
	}
	for _, pl := range ps {
		if pl.gone {
			delete(st.table, pl.k)
			delete(st.plans, pl.k)
		} else {
			st.table[pl.k] = ch.sub[pl.k]
			st.plans[pl.k] = pl.p
		}
		delete(st.slots, pl.k)
	}
	st.agg.apply(d)
	st.x = x
	st.inet, st.dev = true, st.dev || sh.dev
	return nil
}

// dropTables deletes our tables when no service remains and nothing but
// ours is in them: nothing of ours is left behind on stop.
func (b *Backend) dropTables(x rctx) error {
	st := b.st
	bt := newBatch(nil)
	if st.inet {
		bt.delTables = append(bt.delTables, nftables.TableFamilyINet)
	}
	if st.dev {
		bt.delTables = append(bt.delTables, nftables.TableFamilyNetdev)
	}
	if err := b.flush(bt); err != nil {
		return err
	}
	genid, stale := st.genid, st.stale
	b.st = newKState()
	b.st.known, b.st.genid, b.st.stale = true, genid, stale
	b.st.x.active = x.active
	return nil
}

// resolveNew finds the next hops of DR destinations that have none yet
// (all of them for a full render), on a copy of hops.
func (b *Backend) resolveNew(ctx context.Context, ch change, hops map[netip.Addr]Hop, full bool) map[netip.Addr]Hop {
	var want []netip.Addr
	seen := map[netip.Addr]bool{}
	for _, k := range ch.keys {
		vs, ok := ch.sub[k]
		if !ok {
			continue
		}
		if m, err := serviceMode(vs); err != nil || m != modeDR {
			continue
		}
		for _, d := range vs.Dests {
			if d.Weight <= 0 || seen[d.Addr] {
				continue
			}
			seen[d.Addr] = true
			if _, ok := hops[d.Addr]; !ok || full && ch.hops == nil {
				want = append(want, d.Addr)
			}
		}
	}
	if len(want) == 0 && !full {
		return hops
	}
	out := map[netip.Addr]Hop{}
	if !full || ch.hops != nil {
		out = maps.Clone(hops)
	}
	for a, h := range b.resolve(ctx, want) {
		out[a] = h
	}
	return out
}

// planAll plans every service of ch.
func (b *Backend) planAll(ctx context.Context, ch change, x rctx) ([]planned, error) {
	st := b.st
	eligible := func(d lvs.Destination) bool {
		_, ok := x.hops[d.Addr]
		return ok
	}
	out := make([]planned, 0, len(ch.keys))
	for _, k := range ch.keys {
		vs, ok := ch.sub[k]
		if !ok {
			out = append(out, planned{k: k, gone: true})
			continue
		}
		m, err := serviceMode(vs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		el := eligible
		if m == modeNAT {
			el = nil
		}
		p, err := plan(vs, st.prevSlots(k), el)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if p.Note != b.notes[k] {
			if p.Note != "" {
				b.log.Warnf("nftables: virtual server %s: %s", k, p.Note)
			}
			b.notes[k] = p.Note
		}
		var pc persistChoice
		if p.Mode == modeNAT && p.Service.Persistent() {
			old, had := st.table[k]
			exists := had && old.Service.Persistent()
			if !st.known {
				exists = st.sets[inetName(chainName(k)+"_persist")]
			}
			switch {
			case exists && persistCompatible(old, p):
				pc.keep = true
			case exists:
				pc.carry = b.carry(ctx, k, p)
			}
		}
		out = append(out, planned{k: k, p: p, so: serviceObjects(p, x, pc)})
	}
	return out, nil
}

// diffFull renders everything over a state known by names only.
func (b *Backend) diffFull(bt *batch, ps []planned, x rctx, d *delta) {
	st := b.st
	var old, next group
	for _, n := range sortedObjNamesOf(st.sets) {
		if ours(n.name) {
			old.sets = append(old.sets, &setSpec{name: n})
		}
	}
	for _, n := range sortedObjNamesOf(st.chains) {
		if ours(n.name) {
			old.chains = append(old.chains, &chainSpec{name: n})
		}
	}
	var svcs group
	for _, pl := range ps {
		if pl.gone {
			continue
		}
		d.account(pl.so, pl.p, x, 1)
		svcs.chains = append(svcs.chains, pl.so.chains...)
		svcs.sets = append(svcs.sets, pl.so.sets...)
	}
	empty := newAggregate()
	g := globalObjects(empty.shape(d, st.dev, x.masq, b.opts.Interfaces))
	next.chains = append(g.chains, svcs.chains...)
	next.sets = append(g.sets, svcs.sets...)
	for _, a := range sortedAddrs(d.rs) {
		if d.rs[a] > 0 {
			next.chains = append(next.chains, rsChain(a, x.hops[a]))
		}
	}
	bt.diffGroup(&old, &next, true)
}

// diffDelta renders the changed services against what they were.
func (b *Backend) diffDelta(bt *batch, ps []planned, x rctx, d *delta, hopsChanged bool) {
	st := b.st
	for _, pl := range ps {
		var old, next svcObjects
		if op, ok := st.plans[pl.k]; ok {
			old = serviceObjects(op, st.x, persistChoice{keep: true})
			d.account(old, op, st.x, -1)
		}
		if !pl.gone {
			next = pl.so
			d.account(next, pl.p, x, 1)
		}
		bt.diffGroup(&old.group, &next.group, false)
	}
	none := newDelta()
	og := globalObjects(st.agg.shape(none, st.dev, st.x.masq, b.opts.Interfaces))
	ng := globalObjects(st.agg.shape(d, st.dev, x.masq, b.opts.Interfaces))
	bt.diffGroup(&og, &ng, false)
	decls := map[objName]nftables.Set{}
	for _, s := range ng.sets {
		decls[s.name] = s.decl
	}
	for _, set := range sortedObjNamesOf(d.shared) {
		for _, k := range sortedKeysOf(d.shared[set]) {
			r := d.shared[set][k]
			before := st.agg.sharedCount(set, k)
			after := before + r.n
			switch {
			case before <= 0 && after > 0:
				bt.shared(set, decls[set], r.elem, true)
			case before > 0 && after <= 0:
				bt.shared(set, decls[set], r.elem, false)
			}
		}
	}
	addrs := map[netip.Addr]bool{}
	for a := range d.rs {
		addrs[a] = true
	}
	if hopsChanged {
		for a := range st.agg.rs {
			addrs[a] = true
		}
	}
	for _, a := range sortedAddrs(addrs) {
		var oc, nc *chainSpec
		if st.agg.rs[a] > 0 {
			oc = rsChain(a, st.x.hops[a])
		}
		if st.agg.rsAfter(d, a) > 0 {
			nc = rsChain(a, x.hops[a])
		}
		bt.diffChain(oc, nc, false)
	}
}

// flush sends bt as one transaction on a socket sized for it.
func (b *Backend) flush(bt *batch) error {
	if bt.empty() {
		return nil
	}
	var sz sockSizes
	copts := b.copts
	if b.opts.TestDial == nil { // nltest's socket has no buffers
		copts = append(slices.Clone(copts), nftables.WithSockOptions(sz.option))
	}
	c, err := nftables.New(copts...)
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	stats, err := bt.emit(c, b.opts.Table)
	if err != nil {
		return err
	}
	sz.want(stats)
	start := time.Now()
	err = c.Flush()
	b.stat.record(stats, sz, time.Since(start), err)
	if err != nil {
		return fmt.Errorf("nftables transaction (%d messages, %d bytes): %w", stats.Messages, stats.Bytes, err)
	}
	return nil
}

func sortedObjNamesOf[V any](m map[objName]V) []objName {
	out := make([]objName, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b objName) int {
		if c := cmp.Compare(a.fam, b.fam); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	return out
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
