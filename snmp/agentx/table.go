package agentx

import (
	"slices"
)

// Table is a View over a fixed set of varbinds, kept sorted by name.
type Table struct {
	vbs []Varbind
	// objects are the OIDs of the object types (table columns and
	// scalars) the table serves, sorted: a Get under one of them that
	// finds nothing is noSuchInstance, anything else noSuchObject.
	objects []OID
	// ObjectOf, when set, names the object type (column or scalar) an OID
	// belongs to: a Get under an object that has instances is then
	// noSuchInstance too, without listing the objects up front.
	ObjectOf func(OID) OID
}

// NewTable sorts vbs by name (of equal names one is kept) and returns
// the view; objects lists the object types served, which may have no
// instance at the moment.
func NewTable(vbs []Varbind, objects []OID) *Table {
	// Sort an index rather than the 96-octet varbinds themselves.
	idx := make([]int32, len(vbs))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(x, y int32) int { return vbs[x].Name.Compare(vbs[y].Name) })
	out := make([]Varbind, 0, len(vbs))
	for k, i := range idx {
		if k > 0 && vbs[idx[k-1]].Name.Compare(vbs[i].Name) == 0 {
			continue
		}
		out = append(out, vbs[i])
	}
	objs := slices.Clone(objects)
	slices.SortFunc(objs, OID.Compare)
	return &Table{vbs: out, objects: objs}
}

// Varbinds returns the sorted contents.
func (t *Table) Varbinds() []Varbind { return t.vbs }

// Get implements View.
func (t *Table) Get(name OID) Varbind {
	i, found := slices.BinarySearchFunc(t.vbs, name, func(v Varbind, n OID) int { return v.Name.Compare(n) })
	if found {
		return t.vbs[i]
	}
	j, _ := slices.BinarySearchFunc(t.objects, name, OID.Compare)
	if j > 0 && name.HasPrefix(t.objects[j-1]) && len(name) > len(t.objects[j-1]) {
		return Varbind{Name: name, Type: NoSuchInstance}
	}
	if t.ObjectOf != nil {
		if obj := t.ObjectOf(name); len(obj) > 0 && len(obj) < len(name) {
			if vb, ok := t.Next(obj, false); ok && vb.Name.HasPrefix(obj) {
				return Varbind{Name: name, Type: NoSuchInstance}
			}
		}
	}
	return Varbind{Name: name, Type: NoSuchObject}
}

// Next implements View.
func (t *Table) Next(start OID, include bool) (Varbind, bool) {
	i, found := slices.BinarySearchFunc(t.vbs, start, func(v Varbind, n OID) int { return v.Name.Compare(n) })
	if found && !include {
		i++
	}
	if i >= len(t.vbs) {
		return Varbind{}, false
	}
	return t.vbs[i], true
}
