package lvs

import (
	"fmt"
	"slices"
)

// OpKind is what an Op does to the kernel table. The values are in the
// order Diff emits them.
type OpKind uint8

// Op kinds, one kernel request each.
const (
	DelDest OpKind = iota + 1
	DelService
	AddService
	UpdateService
	UpdateDest
	AddDest
)

func (k OpKind) String() string {
	switch k {
	case DelDest:
		return "del-dest"
	case DelService:
		return "del-service"
	case AddService:
		return "add-service"
	case UpdateService:
		return "update-service"
	case UpdateDest:
		return "update-dest"
	case AddDest:
		return "add-dest"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// IsDest reports whether the op acts on a destination.
func (k OpKind) IsDest() bool { return k == DelDest || k == UpdateDest || k == AddDest }

// Op is one change to the kernel table. Service is the full desired service
// for service ops and the service a destination belongs to for destination
// ops.
type Op struct {
	Kind    OpKind
	Service Service
	Dest    Destination // set for destination ops only
}

// String names the operation and the object, e.g.
// "add-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80".
func (o Op) String() string {
	if o.Kind.IsDest() {
		return fmt.Sprintf("%s %s in %s", o.Kind, o.Dest, o.Service.ServiceKey)
	}
	return fmt.Sprintf("%s %s", o.Kind, describeService(o.Service))
}

// Diff returns the operations that turn observed into desired. It is pure
// and idempotent: once the ops are applied, Diff of the same desired table
// against the new observed table is empty.
//
// Every observed service missing from desired is removed; callers that must
// leave foreign services alone filter observed first (Reconciler does).
// A service removal is a single op because the kernel drops a service's
// destinations with it. Ops are ordered: destination removals, service
// removals, service additions and updates, destination updates, destination
// additions. Within a group they follow the canonical key order. So a
// destination is never added before its service exists and capacity is
// freed before it is claimed.
func Diff(desired, observed Table) []Op {
	var delDests, delSvcs, svcs, updDests, addDests []Op

	for _, k := range observed.Keys() {
		if _, ok := desired[k]; !ok {
			delSvcs = append(delSvcs, Op{Kind: DelService, Service: observed[k].Service})
		}
	}
	for _, k := range desired.Keys() {
		want := desired[k]
		have, exists := observed[k]
		switch {
		case !exists:
			svcs = append(svcs, Op{Kind: AddService, Service: want.Service})
		case !sameSettings(want.Service, have.Service):
			svcs = append(svcs, Op{Kind: UpdateService, Service: want.Service})
		}
		for _, d := range have.SortedDests() {
			if _, ok := want.Dests[d.DestKey]; !ok {
				delDests = append(delDests, Op{Kind: DelDest, Service: want.Service, Dest: d})
			}
		}
		for _, d := range want.SortedDests() {
			o, ok := have.Dests[d.DestKey]
			switch {
			case !ok:
				addDests = append(addDests, Op{Kind: AddDest, Service: want.Service, Dest: d})
			case !sameDest(d, o):
				updDests = append(updDests, Op{Kind: UpdateDest, Service: want.Service, Dest: d})
			}
		}
	}
	return slices.Concat(delDests, delSvcs, svcs, updDests, addDests)
}
