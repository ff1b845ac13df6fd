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
}

// NewTable sorts vbs by name (the last of equal names wins) and returns
// the view; objects lists the object types served, which may have no
// instance at the moment.
func NewTable(vbs []Varbind, objects []OID) *Table {
	slices.SortStableFunc(vbs, func(x, y Varbind) int { return x.Name.Compare(y.Name) })
	out := vbs[:0]
	for i, v := range vbs {
		if i+1 < len(vbs) && vbs[i+1].Name.Compare(v.Name) == 0 {
			continue
		}
		out = append(out, v)
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
