package lvs

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// flakyBackend fails whole Apply calls while fail is above zero.
type flakyBackend struct {
	*MemBackend
	fail, failed atomic.Int32
}

func (b *flakyBackend) Apply(ctx context.Context, ops []Op) error {
	if b.fail.Load() > 0 {
		b.fail.Add(-1)
		b.failed.Add(1)
		return errors.New("injected")
	}
	return b.MemBackend.Apply(ctx, ops)
}

func waitProgrammed(t *testing.T, m *Manager) KernelStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := m.KernelStatus()
		if st.Programmed {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("kernel not programmed after 10s: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestManagerRetryTimerOnOwnerLoop: with nobody calling in, the owner
// loop's timer makes the retries, both of the first write (armed before
// the loop runs) and of a health change's; SetHealth does not report the
// kernel's failure.
func TestManagerRetryTimerOnOwnerLoop(t *testing.T) {
	b := &flakyBackend{MemBackend: NewMemBackend(nil)}
	b.fail.Store(2)
	m, err := NewManager(loadConf(t, managerConf), Options{RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Open: func(string) (Backend, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-m.Ready()
	st := waitProgrammed(t, m)
	if n := b.failed.Load(); n != 2 || st.Failures != 0 || st.Services != 4 || st.Dests != 6 {
		t.Fatalf("start: %d failed writes, status %+v; want 2 failures then 4 services, 6 destinations", n, st)
	}
	if got := len(b.Ops()); got != 10 {
		t.Fatalf("start: %d ops applied, want 10", got)
	}
	b.ResetOps()
	b.fail.Store(3)
	k := RSKey{VS: "[198.51.100.10]:tcp:80", RS: "[198.51.100.12]:tcp:80"}
	if err := m.SetHealth(k, false, -1); err != nil {
		t.Fatalf("SetHealth reported the kernel's failure: %v", err)
	}
	if st := m.Status(); st.Kernel.Programmed || !slices.Equal(st.Kernel.Pending, []string{k.VS}) {
		// The first retry is 10ms away: under heavy load it may have run
		// already, but it fails too (three failures are injected).
		t.Errorf("after a failed write, Status().Kernel: %+v", st.Kernel)
	}
	waitProgrammed(t, m)
	if n := b.failed.Load(); n != 5 {
		t.Errorf("%d failed writes in all, want 5", n)
	}
	want := "del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80"
	if got := opStrings(b.Ops()); !slices.Contains(got, want) {
		t.Errorf("the retry did not apply the health change: %q", got)
	}
}
