package nft

import (
	"fmt"

	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// editor performs ops on a table as the kernel's IPVS would, with its
// errors (EEXIST for a duplicate, ESRCH for a missing service, ENOENT for
// a missing destination), and refuses what this data plane cannot
// program, leaving the table unchanged on any error. Each service's
// destinations are copied once, on its first change, and the check of
// its forwarding methods is kept up to date per op, so thousands of ops
// on one service cost what they change.
type editor struct {
	t    lvs.Table
	mine map[lvs.ServiceKey]bool // t[k].Dests is our copy
	fwd  map[lvs.ServiceKey]*fwdCount
}

// fwdCount counts a service's destinations per forwarding method.
type fwdCount [8]int

func newEditor(t lvs.Table) *editor {
	return &editor{t: t, mine: map[lvs.ServiceKey]bool{}, fwd: map[lvs.ServiceKey]*fwdCount{}}
}

func (e *editor) counts(k lvs.ServiceKey) *fwdCount {
	c := e.fwd[k]
	if c == nil {
		c = &fwdCount{}
		for _, d := range e.t[k].Dests {
			c[d.Forward&7]++
		}
		e.fwd[k] = c
	}
	return c
}

// check is serviceMode's verdict on a service with these counts.
func (c *fwdCount) check(s lvs.Service) error {
	for f, n := range c {
		if n > 0 && lvs.Forward(f) != lvs.NAT && lvs.Forward(f) != lvs.DR && lvs.Forward(f) != lvs.Local {
			return fmt.Errorf("lb_kind %s: %w", lvs.Forward(f), ErrUnsupported)
		}
	}
	if c[lvs.DR] > 0 && c[lvs.NAT] > 0 {
		return fmt.Errorf("NAT and DR destinations in one service: %w", ErrUnsupported)
	}
	if c[lvs.DR] > 0 && s.IsFWMark() {
		return fmt.Errorf("fwmark service in DR mode (no mark exists at ingress): %w", ErrUnsupported)
	}
	return nil
}

func (e *editor) apply(op lvs.Op) error {
	k := op.Service.ServiceKey
	vs, ok := e.t[k]
	if op.Kind == lvs.AddService {
		if ok {
			return unix.EEXIST
		}
		if len(describe(op.Service)) > 200 {
			return fmt.Errorf("service settings too long for a rule comment: %w", ErrUnsupported)
		}
		e.t[k] = lvs.VirtualService{Service: op.Service, Dests: map[lvs.DestKey]lvs.Destination{}}
		e.mine[k], e.fwd[k] = true, &fwdCount{}
		return nil
	}
	if !ok {
		return unix.ESRCH
	}
	c := e.counts(k)
	old, dok := vs.Dests[op.Dest.DestKey]
	switch op.Kind {
	case lvs.UpdateService:
		if err := c.check(op.Service); err != nil {
			return err
		}
		if len(describe(op.Service)) > 200 {
			return fmt.Errorf("service settings too long for a rule comment: %w", ErrUnsupported)
		}
		vs.Service = op.Service
		e.t[k] = vs
		return nil
	case lvs.DelService:
		delete(e.t, k)
		delete(e.fwd, k)
		delete(e.mine, k)
		return nil
	case lvs.AddDest, lvs.UpdateDest, lvs.DelDest:
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
	switch {
	case op.Kind == lvs.AddDest && dok:
		return unix.EEXIST
	case op.Kind != lvs.AddDest && !dok:
		return unix.ENOENT
	}
	next := *c
	if dok {
		next[old.Forward&7]--
	}
	if op.Kind != lvs.DelDest {
		next[op.Dest.Forward&7]++
	}
	if err := next.check(vs.Service); err != nil {
		return err
	}
	*c = next
	if !e.mine[k] {
		d := make(map[lvs.DestKey]lvs.Destination, len(vs.Dests)+1)
		for dk, x := range vs.Dests {
			d[dk] = x
		}
		vs.Dests = d
		e.t[k] = vs
		e.mine[k] = true
	}
	if op.Kind == lvs.DelDest {
		delete(vs.Dests, op.Dest.DestKey)
	} else {
		vs.Dests[op.Dest.DestKey] = op.Dest
	}
	return nil
}
