package notify

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"syscall"
	"time"

	"keepalived-go/internal/script"
)

// Timeouts. keepalived itself never times out notify_* scripts (it forks
// and forgets them) except notify_stop and shutdown notifies, which get one
// second; hung scripts then pile up unseen. We bound every script.
const (
	DefaultScriptTimeout = 60 * time.Second
	StopScriptTimeout    = time.Second
)

// Defaults of DispatcherOptions.
const (
	DefaultMaxConcurrent = 8
	DefaultMaxQueued     = 1024
)

// Sentinel errors of Submit.
var (
	ErrQueueFull = errors.New("notify queue full")
	ErrClosed    = errors.New("notify dispatcher closed")
)

// Job is a script to run in the background.
type Job struct {
	// Key orders jobs: those with the same Key run one at a time in Submit
	// order (use the vrrp_instance / sync group / real server name, so an
	// instance's notify_master runs before its generic notify and BACKUP
	// after MASTER is never overtaken). "" means no ordering constraint.
	Key string
	// Name labels the job in logs and results, e.g. "VI_1 notify_master".
	Name    string
	Command script.Command
	// Timeout: 0 takes the dispatcher's default, negative means none.
	Timeout time.Duration
}

// Result reports a finished (or refused) job.
type Result struct {
	Job      Job
	Start    time.Time
	Duration time.Duration
	ExitCode int            // 0 on success; -1 when killed, not started or timed out
	Signal   syscall.Signal // when killed by a signal
	TimedOut bool
	Err      error // nil on exit 0
}

// Stats are the dispatcher's counters since it was created.
type Stats struct {
	Submitted, Started, Succeeded, Failed, TimedOut, Dropped uint64
	Running, Queued                                          int
}

// DispatcherOptions configure a Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	Runner         script.Runner // default &script.ExecRunner{Logf: Logf}
	MaxConcurrent  int
	MaxQueued      int
	DefaultTimeout time.Duration
	// OnResult is called once per finished job, from the job's goroutine;
	// it must not block for long.
	OnResult func(Result)
	Logf     Logf
	Now      func() time.Time
}

type keyQueue struct {
	jobs    []Job
	running bool
	ready   bool
}

// Dispatcher runs Jobs in the background: per-key order, at most
// MaxConcurrent at once, each with a timeout after which its process group
// is killed. Submit never blocks.
type Dispatcher struct {
	opts DispatcherOptions

	mu      sync.Mutex
	queues  map[string]*keyQueue
	ready   []string // keys whose head job may start
	running int
	queued  int
	closed  bool
	seq     uint64
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	stats   Stats
}

// NewDispatcher returns a running dispatcher.
func NewDispatcher(opts DispatcherOptions) *Dispatcher {
	if opts.Runner == nil {
		opts.Runner = &script.ExecRunner{Logf: opts.Logf}
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = DefaultMaxQueued
	}
	if opts.DefaultTimeout == 0 {
		opts.DefaultTimeout = DefaultScriptTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{opts: opts, queues: map[string]*keyQueue{}, ctx: ctx, cancel: cancel}
}

// Submit queues j and returns at once. It fails with ErrQueueFull when
// MaxQueued jobs wait already (the job is dropped and logged) and with
// ErrClosed after Close.
func (d *Dispatcher) Submit(j Job) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.stats.Submitted++
	if len(j.Command.Argv) == 0 {
		d.stats.Dropped++
		return script.ErrNoCommand
	}
	if d.queued >= d.opts.MaxQueued {
		d.stats.Dropped++
		d.opts.Logf.Printf("Notify queue full (%d waiting) - dropping %s script %s", d.queued, j.Name, j.Command.Argv[0])
		return ErrQueueFull
	}
	key := j.Key
	if key == "" {
		// A private key per job: unordered jobs never wait for each other.
		d.seq++
		key = "\x00" + strconv.FormatUint(d.seq, 10)
	}
	q := d.queues[key]
	if q == nil {
		q = &keyQueue{}
		d.queues[key] = q
	}
	q.jobs = append(q.jobs, j)
	d.queued++
	if !q.running && !q.ready {
		q.ready = true
		d.ready = append(d.ready, key)
	}
	d.dispatchLocked()
	return nil
}

func (d *Dispatcher) dispatchLocked() {
	for d.running < d.opts.MaxConcurrent && len(d.ready) > 0 {
		key := d.ready[0]
		d.ready = d.ready[1:]
		q := d.queues[key]
		q.ready = false
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		q.running = true
		d.queued--
		d.running++
		d.stats.Started++
		d.wg.Add(1)
		go d.run(key, j)
	}
}

func (d *Dispatcher) run(key string, j Job) {
	defer d.wg.Done()
	timeout := j.Timeout
	if timeout == 0 {
		timeout = d.opts.DefaultTimeout
	}
	ctx, cancel := d.ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(d.ctx, timeout)
	}
	start := d.opts.Now()
	err := d.opts.Runner.Run(ctx, j.Command)
	cancel()
	res := Result{Job: j, Start: start, Duration: d.opts.Now().Sub(start), Err: err, ExitCode: -1}
	var ee *script.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &ee):
		res.ExitCode = ee.Code
		res.Signal = ee.Signal
	case errors.Is(err, script.ErrTimeout):
		res.TimedOut = true
		d.opts.Logf.Printf("%s script %s timed out after %s - killed its process group", j.Name, j.Command.Argv[0], timeout)
	}

	d.mu.Lock()
	switch {
	case err == nil:
		d.stats.Succeeded++
	case res.TimedOut:
		d.stats.TimedOut++
	default:
		d.stats.Failed++
	}
	d.running--
	q := d.queues[key]
	q.running = false
	if len(q.jobs) > 0 {
		q.ready = true
		d.ready = append(d.ready, key)
	} else {
		delete(d.queues, key)
	}
	d.dispatchLocked()
	d.mu.Unlock()

	if d.opts.OnResult != nil {
		d.opts.OnResult(res)
	}
}

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Running = d.running
	s.Queued = d.queued
	return s
}

// Close stops accepting jobs and lets the queued and running ones finish
// (shutdown STOP notifies are queued just before) until ctx is done; then
// it drops what has not started, kills the running scripts' process
// groups and waits for them to be reaped.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	idle := make(chan struct{})
	go func() {
		// Jobs start only from Submit (now refused) or when another job
		// finishes, so once nothing runs and nothing waits we are done.
		for {
			d.wg.Wait()
			d.mu.Lock()
			done := d.running == 0 && d.queued == 0
			d.mu.Unlock()
			if done {
				close(idle)
				return
			}
		}
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	d.mu.Lock()
	d.stats.Dropped += uint64(d.queued)
	d.queued = 0
	d.ready = nil
	for k, q := range d.queues {
		q.jobs = nil
		if !q.running {
			delete(d.queues, k)
		}
	}
	d.mu.Unlock()
	d.cancel()
	<-idle
	return ctx.Err()
}
