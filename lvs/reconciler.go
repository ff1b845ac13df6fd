package lvs

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Reconciler converges a Backend to a desired Table. It owns the services
// it was asked to hold and never touches any other service in the backend
// (another keepalived, an operator's ipvsadm) unless told to Flush.
// It is safe for concurrent use; calls are serialized.
type Reconciler struct {
	b     Backend
	mu    sync.Mutex
	owned map[ServiceKey]struct{}
}

// NewReconciler returns a reconciler over b that owns no service yet.
func NewReconciler(b Backend) *Reconciler {
	return &Reconciler{b: b, owned: map[ServiceKey]struct{}{}}
}

// Reconcile lists the backend, diffs desired against the services that are
// ours or desired, and applies the difference. Every service in desired
// becomes ours: if it already exists, its settings and destinations are
// converged. A service that was ours and is no longer desired is removed.
// It returns the ops it applied (also on error, for logging and counting).
func (r *Reconciler) Reconcile(ctx context.Context, desired Table) ([]Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	observed, err := r.b.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list ipvs table: %w", err)
	}
	mine := observed.Only(func(k ServiceKey) bool {
		_, own := r.owned[k]
		_, want := desired[k]
		return own || want
	})
	ops := Diff(desired, mine)
	for k := range desired {
		r.owned[k] = struct{}{}
	}
	if len(ops) == 0 {
		r.forget(desired)
		return nil, nil
	}
	if err := r.b.Apply(ctx, ops); err != nil {
		// Keep ownership of services whose removal may have failed, so
		// the next call retries it.
		return ops, err
	}
	r.forget(desired)
	return ops, nil
}

// forget drops ownership of everything not in desired.
func (r *Reconciler) forget(desired Table) {
	for k := range r.owned {
		if _, ok := desired[k]; !ok {
			delete(r.owned, k)
		}
	}
}

// Release removes every service that is ours: keepalived's behaviour on
// stop, unless --dont-release-ipvs.
func (r *Reconciler) Release(ctx context.Context) ([]Op, error) {
	return r.Reconcile(ctx, Table{})
}

// Flusher is an optional Backend capability: clearing the whole table in
// one request (IPVS_CMD_FLUSH).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Flush removes every service in the backend, ours or not (lvs_flush,
// lvs_flush_onstop). It uses the backend's Flusher when it has one and
// otherwise removes the services one by one.
func (r *Reconciler) Flush(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.owned)
	if f, ok := r.b.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return fmt.Errorf("flush ipvs table: %w", err)
		}
		return nil
	}
	observed, err := r.b.List(ctx)
	if err != nil {
		return fmt.Errorf("list ipvs table: %w", err)
	}
	return r.b.Apply(ctx, Diff(Table{}, observed))
}

// Owned returns the keys of the services this reconciler holds, sorted.
func (r *Reconciler) Owned() []ServiceKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]ServiceKey, 0, len(r.owned))
	for k := range r.owned {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, ServiceKey.Compare)
	return keys
}

// ReconcileKnown converges only the services in desired, diffing against
// known, what the caller last saw the backend hold for those keys, instead
// of listing the backend. It is the cheap path for health changes, where
// one destination moves in a table of thousands; after an Apply error the
// caller must fall back to Reconcile, since known may be stale.
func (r *Reconciler) ReconcileKnown(ctx context.Context, desired, known Table) ([]Op, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := Diff(desired, known.Only(func(k ServiceKey) bool { _, ok := desired[k]; return ok }))
	for k := range desired {
		r.owned[k] = struct{}{}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return ops, r.b.Apply(ctx, ops)
}
