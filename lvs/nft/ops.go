package nft

import (
	"fmt"

	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// applyOp performs op on t as the kernel's IPVS would, with its errors
// (EEXIST for a duplicate, ESRCH for a missing service, ENOENT for a
// missing destination), and refuses what this data plane cannot program,
// leaving t unchanged on any error.
func applyOp(t lvs.Table, op lvs.Op) error {
	k := op.Service.ServiceKey
	vs, ok := t[k]
	if op.Kind == lvs.AddService {
		if ok {
			return unix.EEXIST
		}
		t[k] = lvs.VirtualService{Service: op.Service, Dests: map[lvs.DestKey]lvs.Destination{}}
		return nil
	}
	if !ok {
		return unix.ESRCH
	}
	next := lvs.VirtualService{Service: vs.Service, Dests: make(map[lvs.DestKey]lvs.Destination, len(vs.Dests))}
	for dk, d := range vs.Dests {
		next.Dests[dk] = d
	}
	_, dok := vs.Dests[op.Dest.DestKey]
	switch op.Kind {
	case lvs.UpdateService:
		next.Service = op.Service
	case lvs.DelService:
		delete(t, k)
		return nil
	case lvs.AddDest:
		if dok {
			return unix.EEXIST
		}
		next.Dests[op.Dest.DestKey] = op.Dest
	case lvs.UpdateDest:
		if !dok {
			return unix.ENOENT
		}
		next.Dests[op.Dest.DestKey] = op.Dest
	case lvs.DelDest:
		if !dok {
			return unix.ENOENT
		}
		delete(next.Dests, op.Dest.DestKey)
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
	if _, err := serviceMode(next); err != nil {
		return err
	}
	if len(describe(next.Service)) > 200 {
		return fmt.Errorf("service settings too long for a rule comment: %w", ErrUnsupported)
	}
	t[k] = next
	return nil
}
