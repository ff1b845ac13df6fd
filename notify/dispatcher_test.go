package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"keepalived-go/internal/script"
)

// gateRunner is a fake Runner: each Run records its argv[1] and blocks until
// the test releases that name (or the context ends).
type gateRunner struct {
	mu       sync.Mutex
	started  []string
	running  int
	maxSeen  int
	gates    map[string]chan error
	startedC chan string
}

func newGateRunner() *gateRunner {
	return &gateRunner{gates: map[string]chan error{}, startedC: make(chan string, 100)}
}

func (g *gateRunner) gate(name string) chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.gates[name]
	if !ok {
		c = make(chan error, 1)
		g.gates[name] = c
	}
	return c
}

func (g *gateRunner) Run(ctx context.Context, c script.Command) error {
	name := c.Argv[1]
	gate := g.gate(name)
	g.mu.Lock()
	g.started = append(g.started, name)
	g.running++
	if g.running > g.maxSeen {
		g.maxSeen = g.running
	}
	g.mu.Unlock()
	g.startedC <- name
	defer func() {
		g.mu.Lock()
		g.running--
		g.mu.Unlock()
	}()
	select {
	case err := <-gate:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w", script.ErrCanceled)
	}
}

// closeNow closes d killing whatever still runs, so a failed test never
// hangs on a gate that was not released.
func closeNow(d *Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = d.Close(ctx)
}

func expectStartSet(t *testing.T, g *gateRunner, want ...string) {
	t.Helper()
	need := map[string]bool{}
	for _, w := range want {
		need[w] = true
	}
	for range want {
		select {
		case got := <-g.startedC:
			if !need[got] {
				t.Fatalf("started %s, want one of %v", got, want)
			}
			delete(need, got)
		case <-time.After(5 * time.Second):
			t.Fatalf("%v never started", need)
		}
	}
}

func job(key, name string) Job {
	return Job{Key: key, Name: name, Command: script.Command{Argv: []string{"/fake", name}}}
}

func expectStart(t *testing.T, g *gateRunner, want string) {
	t.Helper()
	select {
	case got := <-g.startedC:
		if got != want {
			t.Fatalf("started %s, want %s", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s never started", want)
	}
}

func expectNoStart(t *testing.T, g *gateRunner) {
	t.Helper()
	select {
	case got := <-g.startedC:
		t.Fatalf("%s started unexpectedly", got)
	default:
	}
}

func TestDispatcherOrderPerKey(t *testing.T) {
	g := newGateRunner()
	results := make(chan Result, 10)
	d := NewDispatcher(DispatcherOptions{Runner: g, MaxConcurrent: 4, OnResult: func(r Result) { results <- r }})
	defer closeNow(d)

	// VI_1: notify_master, then the generic notify, then a later BACKUP.
	for _, n := range []string{"A-master", "A-generic", "A-backup"} {
		if err := d.Submit(job("VI_1", n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Submit(job("VI_2", "B-master")); err != nil {
		t.Fatal(err)
	}
	expectStartSet(t, g, "A-master", "B-master")
	expectNoStart(t, g)
	// Dispatch happens under the lock at Submit: the counters are exact.
	if s := d.Stats(); s.Running != 2 || s.Queued != 2 {
		t.Fatalf("stats %+v", s)
	}

	g.gate("A-master") <- nil
	expectStart(t, g, "A-generic")
	expectNoStart(t, g)
	if s := d.Stats(); s.Running != 2 || s.Queued != 1 {
		t.Fatalf("stats %+v", s)
	}
	g.gate("A-generic") <- &script.ExitError{Code: 3}
	expectStart(t, g, "A-backup")
	g.gate("A-backup") <- nil
	g.gate("B-master") <- nil

	codes := map[string]int{}
	for i := 0; i < 4; i++ {
		r := <-results
		codes[r.Job.Name] = r.ExitCode
	}
	if codes["A-generic"] != 3 || codes["A-master"] != 0 || codes["B-master"] != 0 {
		t.Errorf("exit codes %v", codes)
	}
	s := d.Stats()
	if s.Started != 4 || s.Succeeded != 3 || s.Failed != 1 || s.Running != 0 || s.Queued != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestDispatcherConcurrencyBound(t *testing.T) {
	g := newGateRunner()
	d := NewDispatcher(DispatcherOptions{Runner: g, MaxConcurrent: 2})
	defer closeNow(d)
	names := []string{"j0", "j1", "j2", "j3", "j4"}
	for _, n := range names {
		if err := d.Submit(job("", n)); err != nil {
			t.Fatal(err)
		}
	}
	expectStartSet(t, g, "j0", "j1")
	expectNoStart(t, g)
	if s := d.Stats(); s.Running != 2 || s.Queued != 3 {
		t.Fatalf("stats %+v", s)
	}
	for i, n := range names {
		g.gate(n) <- nil
		if i+2 < len(names) {
			expectStart(t, g, names[i+2])
		}
	}
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g.maxSeen != 2 {
		t.Errorf("max concurrent %d, want 2", g.maxSeen)
	}
}

func TestDispatcherSubmitNeverBlocks(t *testing.T) {
	g := newGateRunner()
	var logged []string
	var mu sync.Mutex
	logf := func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() }
	d := NewDispatcher(DispatcherOptions{Runner: g, MaxConcurrent: 1, MaxQueued: 3, Logf: logf})
	var worst time.Duration
	var errs []error
	for i := 0; i < 6; i++ {
		start := time.Now()
		errs = append(errs, d.Submit(job("VI_1", fmt.Sprintf("s%d", i))))
		if el := time.Since(start); el > worst {
			worst = el
		}
	}
	if worst > time.Millisecond {
		t.Errorf("Submit took %v", worst)
	}
	// s0 may have started (not queued), s1..s3 fill the queue.
	expectStart(t, g, "s0")
	nFull := 0
	for _, err := range errs {
		if errors.Is(err, ErrQueueFull) {
			nFull++
		}
	}
	if nFull != 2 {
		t.Errorf("%d submits refused, want 2 (errs %v)", nFull, errs)
	}
	if len(logged) == 0 || logged[0] != "Notify queue full (3 waiting) - dropping s4 script /fake" {
		t.Errorf("log %q", logged)
	}
	// Close kills the running one when its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close: %v", err)
	}
	if err := d.Submit(job("", "late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
	if s := d.Stats(); s.Dropped != 5 || s.Running != 0 {
		t.Errorf("stats %+v", s)
	}
}

type timeoutRunner struct{}

func (timeoutRunner) Run(ctx context.Context, c script.Command) error {
	<-ctx.Done()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s", script.ErrTimeout, c.Argv[0])
	}
	return script.ErrCanceled
}

func TestDispatcherTimeoutResult(t *testing.T) {
	results := make(chan Result, 1)
	var logged []string
	d := NewDispatcher(DispatcherOptions{Runner: timeoutRunner{}, OnResult: func(r Result) { results <- r },
		Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	defer closeNow(d)
	j := job("VI_1", "stop")
	j.Timeout = time.Millisecond
	if err := d.Submit(j); err != nil {
		t.Fatal(err)
	}
	r := <-results
	if !r.TimedOut || r.ExitCode != -1 || !errors.Is(r.Err, script.ErrTimeout) {
		t.Errorf("result %+v", r)
	}
	if len(logged) != 1 || logged[0] != "stop script /fake timed out after 1ms - killed its process group" {
		t.Errorf("log %q", logged)
	}
	if s := d.Stats(); s.TimedOut != 1 {
		t.Errorf("stats %+v", s)
	}
}
