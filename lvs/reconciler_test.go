package lvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

var foreignKey = ServiceAddr(TCP, netip.MustParseAddrPort("203.0.113.9:443"))

func foreignTable() Table {
	return Table{}.Add(Service{ServiceKey: foreignKey, Scheduler: "wlc"},
		Dest(netip.MustParseAddrPort("203.0.113.20:443"), NAT, 1))
}

func TestReconcilerLifecycle(t *testing.T) {
	ctx := context.Background()
	b := NewMemBackend(foreignTable())
	r := NewReconciler(b)

	// Start: ours appears, the operator's service is untouched.
	ops, err := r.Reconcile(ctx, seedTable(100, 100))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 {
		t.Fatalf("start: %q", opStrings(ops))
	}
	// Reconcile again: nothing to do.
	if ops, err := r.Reconcile(ctx, seedTable(100, 100)); err != nil || len(ops) != 0 {
		t.Fatalf("steady state: %q, %v", opStrings(ops), err)
	}
	// Reload with one weight changed: exactly one update.
	b.ResetOps()
	if _, err := r.Reconcile(ctx, seedTable(100, 60)); err != nil {
		t.Fatal(err)
	}
	want := []string{"update-dest 198.51.100.12:80 Route weight 60 in TCP 198.51.100.10:80"}
	if got := opStrings(b.Ops()); !slices.Equal(got, want) {
		t.Fatalf("reload: %q, want %q", got, want)
	}
	if got := r.Owned(); !slices.Equal(got, []ServiceKey{seedKey}) {
		t.Fatalf("owned %v", got)
	}
	// Stop: ours goes, the foreign one stays.
	if _, err := r.Release(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := b.List(ctx)
	if got.String() != foreignTable().String() {
		t.Fatalf("after release:\n%s", got)
	}
	if len(r.Owned()) != 0 {
		t.Fatalf("still owns %v", r.Owned())
	}
}

func TestReconcilerAdoptsExisting(t *testing.T) {
	// A previous run (or a crash) left our service with a stale weight and
	// an extra destination: the desired service is ours and converges.
	ctx := context.Background()
	stale := seedTable(1, 100)
	stale[seedKey].Dests[DestKey{netip.MustParseAddr("198.51.100.13"), 80}] = Dest(netip.MustParseAddrPort("198.51.100.13:80"), DR, 5)
	b := NewMemBackend(stale)
	ops, err := NewReconciler(b).Reconcile(ctx, seedTable(100, 100))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"del-dest 198.51.100.13:80 Route weight 5 in TCP 198.51.100.10:80",
		"update-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80",
	}
	if got := opStrings(ops); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReconcilerRetriesFailedRemoval(t *testing.T) {
	ctx := context.Background()
	b := NewMemBackend(nil)
	r := NewReconciler(b)
	if _, err := r.Reconcile(ctx, seedTable(100, 100)); err != nil {
		t.Fatal(err)
	}
	b.Fail = func(o Op) error {
		if o.Kind == DelService {
			return unix.EBUSY
		}
		return nil
	}
	_, err := r.Release(ctx)
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("release error %v, want EBUSY", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Error() != "remove service TCP 198.51.100.10:80: device or resource busy" {
		t.Fatalf("error %v does not name the op", err)
	}
	// Still ours, so the next call retries the removal.
	b.Fail = nil
	ops, err := r.Release(ctx)
	if err != nil || len(ops) != 1 || ops[0].Kind != DelService {
		t.Fatalf("retry: %q, %v", opStrings(ops), err)
	}
}

func TestReconcilerApplyErrorsNameTheObject(t *testing.T) {
	ctx := context.Background()
	b := NewMemBackend(nil)
	b.Fail = func(o Op) error {
		if o.Kind == AddDest && o.Dest.Addr == rs2.Addr() {
			return unix.EINVAL
		}
		return nil
	}
	_, err := NewReconciler(b).Reconcile(ctx, seedTable(100, 100))
	if !errors.Is(err, unix.EINVAL) || err.Error() != "create dest 198.51.100.12:80 in TCP 198.51.100.10:80: invalid argument" {
		t.Fatalf("got %v", err)
	}
	// The failure did not stop the other destination.
	got, _ := b.List(ctx)
	if len(got[seedKey].Dests) != 1 {
		t.Fatalf("table:\n%s", got)
	}
}

func TestReconcilerFlush(t *testing.T) {
	ctx := context.Background()
	b := NewMemBackend(foreignTable())
	r := NewReconciler(b)
	if _, err := r.Reconcile(ctx, seedTable(100, 100)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.List(ctx); len(got) != 0 {
		t.Fatalf("after flush:\n%s", got)
	}
}

func TestReconcilerListError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewReconciler(NewMemBackend(nil)).Reconcile(ctx, seedTable(1, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func ExampleDiff() {
	observed := Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"},
		Dest(netip.MustParseAddrPort("198.51.100.11:80"), DR, 100),
		Dest(netip.MustParseAddrPort("198.51.100.12:80"), DR, 100))
	desired := Table{}.Add(Service{ServiceKey: seedKey, Scheduler: "rr"},
		Dest(netip.MustParseAddrPort("198.51.100.11:80"), DR, 100),
		Dest(netip.MustParseAddrPort("198.51.100.12:80"), DR, 50))
	for _, op := range Diff(desired, observed) {
		fmt.Println(op)
	}
	// Output:
	// update-dest 198.51.100.12:80 Route weight 50 in TCP 198.51.100.10:80
}
