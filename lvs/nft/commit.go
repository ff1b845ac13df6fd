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
	// known: resolve no next hop the state does not have (SetActive: the
	// gate switches at once, not after probing an unreachable server,
	// which has no slot and keeps none). A state read back is still
	// resolved in full.
	known bool
}

// planned is one service's new plan and (for a difference) objects.
type planned struct {
	k    lvs.ServiceKey
	p    svcPlan
	pc   persistChoice
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
	ps, err := b.planAll(ctx, ch, x, !full)
	if err != nil {
		return err
	}
	base := &st.agg
	if full {
		fresh := newAggregate()
		base = &fresh
	}
	d := newDelta()
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
	var fill func(c *nftables.Conn) (batchStats, error)
	if full {
		// Counted first, each service's objects built and dropped, so
		// that the rewrite below holds one service's at a time.
		for _, pl := range ps {
			if !pl.gone {
				d.account(serviceObjects(pl.p, x, pl.pc), pl.p, x, 1)
			}
		}
	}
	sh := base.shape(d, st.dev, x.masq, b.opts.Interfaces)
	var tables []nftables.TableFamily
	if !st.inet {
		tables = append(tables, nftables.TableFamilyINet)
	}
	if sh.dev && !st.dev {
		tables = append(tables, nftables.TableFamilyNetdev)
	}
	if full {
		fill = func(c *nftables.Conn) (batchStats, error) { return b.emitFull(c, ps, x, d, sh, tables) }
	} else {
		bt := newBatch(func(n objName) []nftables.SetElement { return base.sharedElems(n, d) })
		b.diffDelta(bt, ps, x, d, ch.hops != nil)
		bt.addTables = tables
		if bt.empty() {
			fill = nil
		} else {
			fill = func(c *nftables.Conn) (batchStats, error) { return bt.emit(c, b.opts.Table) }
		}
	}
	if err := b.transact(fill); err != nil {
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
	if err := b.transact(bt.filler(b.opts.Table)); err != nil {
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
	if (len(want) == 0 || ch.known) && !full {
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

// planAll plans every service of ch, with its objects when asked.
func (b *Backend) planAll(ctx context.Context, ch change, x rctx, objects bool) ([]planned, error) {
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
		pl := planned{k: k, p: p, pc: pc}
		if objects {
			pl.so = serviceObjects(p, x, pc)
		}
		out = append(out, pl)
	}
	return out, nil
}

// emitFull queues the rewrite of every object of ours over a state known
// by names only, one service at a time, so that only one service's
// element specs are alive at once:
//  1. new tables; every old chain flushed, every old set deleted (the
//     persistence maps that stay excepted), old chains not wanted deleted;
//  2. the shared maps (empty) and base chains, the DR real servers' chains;
//  3. each service: its chains, its sets with their elements, its rules;
//  4. the services' elements of the shared maps.
func (b *Backend) emitFull(c *nftables.Conn, ps []planned, x rctx, d *delta, sh shape, tables []nftables.TableFamily) (batchStats, error) {
	st := b.st
	var total batchStats
	run := func(bt *batch) error {
		bt.flushChains = nil // step 1 flushed every chain that stays
		s, err := bt.emit(c, b.opts.Table)
		total.add(s)
		return err
	}
	g := globalObjects(sh)
	want, kept := map[objName]bool{}, map[objName]bool{}
	for _, ch := range g.chains {
		want[ch.name] = true
	}
	for a, n := range d.rs {
		if n > 0 {
			want[devName(rsChainName(a))] = true
		}
	}
	for _, pl := range ps {
		if !pl.gone {
			want[inetName(chainName(pl.k))] = true
			want[devName(chainName(pl.k))] = pl.p.Mode == modeDR
			kept[inetName(chainName(pl.k)+"_persist")] = pl.pc.keep
		}
	}
	bt := newBatch(nil)
	bt.addTables = tables
	for _, n := range sortedObjNamesOf(st.chains) {
		bt.flushChains = append(bt.flushChains, n)
		if !want[n] {
			bt.delChains = append(bt.delChains, n)
		}
	}
	for _, n := range sortedObjNamesOf(st.sets) {
		if !kept[n] {
			bt.delSets = append(bt.delSets, n)
		}
	}
	s, err := bt.emit(c, b.opts.Table)
	total.add(s)
	if err != nil {
		return total, err
	}
	shells := func(chains []*chainSpec) []*chainSpec {
		var out []*chainSpec
		for _, ch := range chains {
			if st.chains[ch.name] {
				out = append(out, &chainSpec{name: ch.name})
			}
		}
		return out
	}
	bt = newBatch(func(objName) []nftables.SetElement { return nil })
	bt.diffGroup(&group{chains: shells(g.chains)}, &g, false)
	for _, a := range sortedAddrs(d.rs) {
		if d.rs[a] > 0 {
			nc := rsChain(a, x.hops[a])
			var oc *chainSpec
			if st.chains[nc.name] {
				oc = &chainSpec{name: nc.name}
			}
			bt.diffChain(oc, nc, false)
		}
	}
	if err := run(bt); err != nil {
		return total, err
	}
	for _, pl := range ps {
		if pl.gone {
			continue
		}
		so := serviceObjects(pl.p, x, pl.pc)
		old := group{chains: shells(so.chains)}
		for _, set := range so.sets {
			if kept[set.name] {
				old.sets = append(old.sets, set)
			}
		}
		bt = newBatch(nil)
		bt.diffGroup(&old, &so.group, false)
		if err := run(bt); err != nil {
			return total, err
		}
	}
	bt = newBatch(nil)
	fresh := newAggregate()
	for _, set := range g.sets {
		if set.shared {
			bt.addElems.add(set.name, set.decl, fresh.sharedElems(set.name, d)...)
		}
	}
	return total, run(bt)
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

// transact sends what fill queues as one transaction, on a socket sized
// for it; a nil fill sends nothing.
func (b *Backend) transact(fill func(c *nftables.Conn) (batchStats, error)) error {
	if fill == nil {
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
	stats, err := fill(c)
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
