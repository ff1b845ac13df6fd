package nft

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// batch collects the changes of one transaction and queues them in the
// order the kernel needs: objects exist before anything refers to them,
// and references are gone before what they refer to is deleted.
//
//  1. new tables
//  2. new chains (empty)
//  3. chains flushed (to be refilled or deleted: drops their references to sets)
//  4. elements deleted (drops verdict references to chains)
//  5. sets deleted
//  6. sets added, then their elements
//  7. elements added
//  8. rules added
//  9. chains deleted
//  10. tables deleted
type batch struct {
	addTables, delTables []nftables.TableFamily
	addChains            []*chainSpec
	flushChains          []objName
	delSets              []objName
	addSets              []*setSpec
	// created names the sets added in this batch: they are complete, no
	// element delta applies to them.
	created    map[objName]bool
	delElems   elemOps
	addElems   elemOps
	addRules   []*chainSpec
	delChains  []objName
	sharedFull func(objName) []nftables.SetElement
}

// elemOps are element changes per set, in order of first use.
type elemOps struct {
	order []objName
	by    map[objName]*elemOp
}

type elemOp struct {
	decl  nftables.Set
	elems []nftables.SetElement
}

func (o *elemOps) add(name objName, decl nftables.Set, e ...nftables.SetElement) {
	if len(e) == 0 {
		return
	}
	if o.by == nil {
		o.by = map[objName]*elemOp{}
	}
	op := o.by[name]
	if op == nil {
		op = &elemOp{decl: decl}
		o.by[name] = op
		o.order = append(o.order, name)
	}
	op.elems = append(op.elems, e...)
}

func newBatch(sharedFull func(objName) []nftables.SetElement) *batch {
	return &batch{created: map[objName]bool{}, sharedFull: sharedFull}
}

// empty reports whether the batch changes nothing.
func (b *batch) empty() bool {
	return len(b.addTables)+len(b.delTables)+len(b.addChains)+len(b.flushChains)+len(b.delSets)+len(b.addSets)+
		len(b.delElems.order)+len(b.addElems.order)+len(b.addRules)+len(b.delChains) == 0
}

// diffGroup adds what turns old into new. oldUnknown says old was read
// back by name only: its chains are refilled and its sets recreated.
func (b *batch) diffGroup(old, new *group, oldUnknown bool) {
	oldS := map[objName]*setSpec{}
	for _, s := range old.sets {
		oldS[s.name] = s
	}
	newS := map[objName]bool{}
	refill := oldUnknown
	for _, s := range new.sets {
		newS[s.name] = true
		o, had := oldS[s.name]
		switch {
		case !had:
			b.addSet(s)
		case s.dynamic && s.keep:
			// The persistence map stays with its entries.
		case oldUnknown || s.dynamic || !sameDecl(o.decl, s.decl):
			b.delSets = append(b.delSets, s.name)
			b.addSet(s)
			refill = true
		case !s.shared:
			b.diffElems(o, s)
		}
	}
	for _, s := range old.sets {
		if !newS[s.name] {
			b.delSets = append(b.delSets, s.name)
			refill = true
		}
	}
	oldC := map[objName]*chainSpec{}
	for _, c := range old.chains {
		oldC[c.name] = c
	}
	newC := map[objName]bool{}
	for _, c := range new.chains {
		newC[c.name] = true
		o, had := oldC[c.name]
		switch {
		case !had:
			b.addChains = append(b.addChains, c)
			b.addRules = append(b.addRules, c)
		case refill || !sameRules(o, c):
			b.flushChains = append(b.flushChains, c.name)
			b.addRules = append(b.addRules, c)
		}
	}
	for _, c := range old.chains {
		if !newC[c.name] {
			b.flushChains = append(b.flushChains, c.name)
			b.delChains = append(b.delChains, c.name)
		}
	}
}

// diffChain turns chain old (nil: absent) into new (nil: gone), for
// chains outside any group (the DR real servers' chains).
func (b *batch) diffChain(old, new *chainSpec, oldUnknown bool) {
	switch {
	case old == nil && new != nil:
		b.addChains = append(b.addChains, new)
		b.addRules = append(b.addRules, new)
	case old != nil && new == nil:
		b.flushChains = append(b.flushChains, old.name)
		b.delChains = append(b.delChains, old.name)
	case old != nil && (oldUnknown || !sameRules(old, new)):
		b.flushChains = append(b.flushChains, new.name)
		b.addRules = append(b.addRules, new)
	}
}

func (b *batch) addSet(s *setSpec) {
	b.addSets = append(b.addSets, s)
	b.created[s.name] = true
}

// diffElems changes the elements of a static set from old's to new's:
// a changed element is deleted and added again in the same batch.
func (b *batch) diffElems(old, new *setSpec) {
	have := make(map[string]*nftables.SetElement, len(old.elems))
	for i := range old.elems {
		have[string(old.elems[i].Key)] = &old.elems[i]
	}
	for i := range new.elems {
		e := &new.elems[i]
		k := string(e.Key)
		o, ok := have[k]
		if ok {
			delete(have, k)
			if sameElem(o, e) {
				continue
			}
			b.delElems.add(new.name, new.decl, *o)
		}
		b.addElems.add(new.name, new.decl, *e)
	}
	for i := range old.elems {
		if _, gone := have[string(old.elems[i].Key)]; gone {
			b.delElems.add(new.name, new.decl, old.elems[i])
		}
	}
}

// shared records a change of one element of a shared set, unless the set
// is created in this batch with all of its elements.
func (b *batch) shared(name objName, decl nftables.Set, e nftables.SetElement, add bool) {
	if b.created[name] {
		return
	}
	if add {
		b.addElems.add(name, decl, e)
	} else {
		b.delElems.add(name, decl, e)
	}
}

func sameElem(a, b *nftables.SetElement) bool {
	if !bytes.Equal(a.Val, b.Val) || a.Comment != b.Comment || a.Timeout != b.Timeout {
		return false
	}
	if (a.VerdictData == nil) != (b.VerdictData == nil) {
		return false
	}
	return a.VerdictData == nil || (a.VerdictData.Kind == b.VerdictData.Kind && a.VerdictData.Chain == b.VerdictData.Chain)
}

func sameDecl(a, b nftables.Set) bool {
	a.ID, b.ID, a.Table, b.Table = 0, 0, nil, nil
	return reflect.DeepEqual(a, b)
}

func sameRules(a, b *chainSpec) bool {
	if len(a.rules) != len(b.rules) {
		return false
	}
	fam := byte(a.name.fam)
	for i := range a.rules {
		if !bytes.Equal(a.rules[i].udata, b.rules[i].udata) || len(a.rules[i].exprs) != len(b.rules[i].exprs) {
			return false
		}
		for j := range a.rules[i].exprs {
			x, err1 := expr.Marshal(fam, a.rules[i].exprs[j])
			y, err2 := expr.Marshal(fam, b.rules[i].exprs[j])
			if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
				return false
			}
		}
	}
	return true
}

// Netlink attribute lengths are 16 bits: an element list must stay below
// 64 KiB, so element changes go in chunks of about maxElemChunk bytes.
const maxElemChunk = 32 << 10

// batchStats describes a queued transaction: its netlink messages and an
// upper bound of their size, which the socket buffers are sized to.
type batchStats struct {
	Messages int
	Bytes    int
	Elements int
}

func (s *batchStats) add(o batchStats) {
	s.Messages += o.Messages
	s.Bytes += o.Bytes
	s.Elements += o.Elements
}

// filler is b as a transaction's contents (nil when b changes nothing).
func (b *batch) filler(name string) func(c *nftables.Conn) (batchStats, error) {
	if b.empty() {
		return nil
	}
	return func(c *nftables.Conn) (batchStats, error) { return b.emit(c, name) }
}

// emit queues b on c for our tables named name.
func (b *batch) emit(c *nftables.Conn, name string) (batchStats, error) {
	var st batchStats
	tables := map[nftables.TableFamily]*nftables.Table{
		nftables.TableFamilyINet:   {Name: name, Family: nftables.TableFamilyINet},
		nftables.TableFamilyNetdev: {Name: name, Family: nftables.TableFamilyNetdev},
	}
	msg := func(n int) { st.Messages++; st.Bytes += 64 + n }
	chain := func(n objName) *nftables.Chain { return &nftables.Chain{Name: n.name, Table: tables[n.fam]} }
	for _, f := range b.addTables {
		c.AddTable(tables[f])
		msg(len(name))
	}
	for _, cs := range b.addChains {
		ch := chain(cs.name)
		if cs.base != nil {
			bc := *cs.base
			bc.Table = tables[cs.name.fam]
			ch = &bc
		}
		c.AddChain(ch)
		msg(len(cs.name.name) + 64)
	}
	for _, n := range b.flushChains {
		c.FlushChain(chain(n))
		msg(len(n.name))
	}
	elems := func(ops *elemOps, del bool) error {
		for _, n := range ops.order {
			op := ops.by[n]
			if err := b.elemChunks(c, tables[n.fam], op.decl, op.elems, del, &st); err != nil {
				return err
			}
		}
		return nil
	}
	if err := elems(&b.delElems, true); err != nil {
		return st, err
	}
	for _, n := range b.delSets {
		c.DelSet(&nftables.Set{Name: n.name, Table: tables[n.fam]})
		msg(len(n.name))
	}
	for _, s := range b.addSets {
		decl := s.decl
		decl.Table, decl.ID = tables[s.name.fam], 0
		if err := c.AddSet(&decl, nil); err != nil {
			return st, fmt.Errorf("set %s: %w", s.name.name, err)
		}
		msg(len(s.name.name) + 128)
		contents := s.elems
		switch {
		case s.shared:
			contents = b.sharedFull(s.name)
		case s.dynamic:
			contents = s.carry
		}
		if err := b.elemChunks(c, decl.Table, decl, contents, false, &st); err != nil {
			return st, err
		}
	}
	if err := elems(&b.addElems, false); err != nil {
		return st, err
	}
	for _, cs := range b.addRules {
		for _, r := range cs.rules {
			c.AddRule(&nftables.Rule{Table: tables[cs.name.fam], Chain: chain(cs.name), Exprs: r.exprs, UserData: r.udata})
			n := len(r.udata) + len(cs.name.name)
			for _, e := range r.exprs {
				if m, err := expr.Marshal(byte(cs.name.fam), e); err == nil {
					n += len(m) + 8
				}
			}
			msg(n)
		}
	}
	for _, n := range b.delChains {
		c.DelChain(chain(n))
		msg(len(n.name))
	}
	for _, f := range b.delTables {
		c.DelTable(tables[f])
		msg(len(name))
	}
	return st, nil
}

// elemChunks queues elements in messages that keep each element list
// below the 16-bit attribute length.
func (b *batch) elemChunks(c *nftables.Conn, t *nftables.Table, decl nftables.Set, elems []nftables.SetElement, del bool, st *batchStats) error {
	decl.Table = t
	for len(elems) > 0 {
		n, size := 0, 0
		for n < len(elems) && size < maxElemChunk {
			size += elemSize(&elems[n])
			n++
		}
		var err error
		if del {
			err = c.SetDeleteElements(&decl, elems[:n])
		} else {
			err = c.SetAddElements(&decl, elems[:n])
		}
		if err != nil {
			return fmt.Errorf("elements of %s: %w", decl.Name, err)
		}
		st.Messages++
		st.Bytes += 128 + size
		st.Elements += n
		elems = elems[n:]
	}
	return nil
}

// elemSize bounds the encoded size of one element: attribute headers
// (4 bytes each, values padded to 4) around key, data, verdict, comment
// and timeout.
func elemSize(e *nftables.SetElement) int {
	pad := func(n int) int { return (n + 3) &^ 3 }
	n := 4 + 8 + 4 + pad(len(e.Key))
	if len(e.Val) > 0 {
		n += 8 + pad(len(e.Val))
	}
	if e.VerdictData != nil {
		n += 24 + pad(len(e.VerdictData.Chain)+1)
	}
	if e.Comment != "" {
		n += 8 + pad(len(e.Comment)+3)
	}
	if e.Timeout != 0 {
		n += 12
	}
	return n
}
