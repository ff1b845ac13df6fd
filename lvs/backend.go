package lvs

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Backend is where a table lives: the kernel's IPVS, or memory in tests.
type Backend interface {
	// List returns everything the backend holds, ours or not.
	List(ctx context.Context) (Table, error)
	// Apply performs ops in order. It carries on past a failed op so one
	// bad destination does not block the rest, and returns the failures
	// joined, each naming its op (see OpError).
	Apply(ctx context.Context, ops []Op) error
}

// OpError is the failure of one op. It unwraps to the cause, so
// errors.Is(err, unix.EEXIST) works through a joined Apply error.
type OpError struct {
	Op  Op
	Err error
}

func (e *OpError) Error() string {
	return opVerb(e.Op) + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

// opVerb names an op for error messages:
// "create dest 198.51.100.12:80 in TCP 198.51.100.10:80".
func opVerb(o Op) string {
	verb := map[OpKind]string{
		AddService: "create service", UpdateService: "update service", DelService: "remove service",
		AddDest: "create dest", UpdateDest: "update dest", DelDest: "remove dest",
	}[o.Kind]
	if o.Kind.IsDest() {
		return fmt.Sprintf("%s %s in %s", verb, o.Dest.DestKey, o.Service.ServiceKey)
	}
	return fmt.Sprintf("%s %s", verb, o.Service.ServiceKey)
}

// MemBackend is an in-memory Backend that behaves like the kernel for the
// ops Diff emits (EEXIST on a duplicate, ESRCH/ENOENT on a missing object)
// and records every op it is given, like raft's MemoryStorage.
type MemBackend struct {
	mu    sync.Mutex
	table Table
	ops   []Op
	// Fail, when set, is consulted before each op; a non-nil result
	// fails that op without changing the table.
	Fail func(Op) error
}

// NewMemBackend returns a backend holding a copy of initial (may be nil).
func NewMemBackend(initial Table) *MemBackend {
	if initial == nil {
		initial = Table{}
	}
	return &MemBackend{table: initial.Clone()}
}

// List returns a copy of the held table.
func (m *MemBackend) List(ctx context.Context) (Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table.Clone(), nil
}

// Apply performs ops in order and records them.
func (m *MemBackend) Apply(ctx context.Context, ops []Op) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		m.ops = append(m.ops, op)
		if err := m.apply(op); err != nil {
			errs = append(errs, &OpError{Op: op, Err: err})
		}
	}
	return errors.Join(errs...)
}

func (m *MemBackend) apply(op Op) error {
	if m.Fail != nil {
		if err := m.Fail(op); err != nil {
			return err
		}
	}
	k := op.Service.ServiceKey
	vs, ok := m.table[k]
	switch op.Kind {
	case AddService:
		if ok {
			return unix.EEXIST
		}
		m.table[k] = VirtualService{Service: op.Service, Dests: map[DestKey]Destination{}}
		return nil
	}
	if !ok {
		return unix.ESRCH
	}
	_, dok := vs.Dests[op.Dest.DestKey]
	switch op.Kind {
	case UpdateService:
		vs.Service = op.Service
		m.table[k] = vs
	case DelService:
		delete(m.table, k)
	case AddDest:
		if dok {
			return unix.EEXIST
		}
		vs.Dests[op.Dest.DestKey] = op.Dest
	case UpdateDest:
		if !dok {
			return unix.ENOENT
		}
		vs.Dests[op.Dest.DestKey] = op.Dest
	case DelDest:
		if !dok {
			return unix.ENOENT
		}
		delete(vs.Dests, op.Dest.DestKey)
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
	return nil
}

// Ops returns the ops applied so far.
func (m *MemBackend) Ops() []Op {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Op(nil), m.ops...)
}

// ResetOps forgets the recorded ops.
func (m *MemBackend) ResetOps() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops = nil
}
