// Package timerfd is a one-shot timer on a Linux timerfd, waited for
// through Go's network poller instead of the runtime's timer heap.
//
// Why: the runtime's system monitor thread sleeps until the next runtime
// timer, so every time.Timer expiry wakes two threads, and the poller
// rounds timeouts to milliseconds. An idle daemon whose work is a few
// timers a second spent a third of its CPU in those extra wakeups. A
// timerfd fires in the poller like a socket does: one thread wakes, on
// time to the microsecond.
package timerfd

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/rawsys"
)

// Timer delivers a tick on C when it expires, or calls its function
// (NewFunc). Unlike time.Timer, a tick of an earlier arming may still
// arrive after Reset or Stop: callers re-check the time when a tick comes,
// as an event loop does anyway.
type Timer struct {
	C <-chan struct{}

	c    chan struct{}
	fn   func()
	mu   sync.Mutex
	fd   int
	f    *os.File
	std  *time.Timer // fallback where timerfd is unavailable
	done chan struct{}
}

// New returns a disarmed timer. Where timerfd cannot be created it falls
// back to a time.Timer, so callers need no second path.
func New() *Timer {
	c := make(chan struct{}, 1)
	return start(&Timer{C: c, c: c})
}

// NewFunc returns a disarmed timer that calls fn at each expiry from the
// timer's own goroutine; C is nil. Where fn is all the tick's receiver
// would do, this saves waking a second goroutine per expiry. fn may call
// Reset; it must not call Close, which waits for fn to return.
func NewFunc(fn func()) *Timer {
	return start(&Timer{fn: fn})
}

func start(t *Timer) *Timer {
	t.fd, t.done = -1, make(chan struct{})
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		t.std = time.AfterFunc(time.Hour, t.tick)
		t.std.Stop()
		close(t.done)
		return t
	}
	t.fd = fd
	t.f = os.NewFile(uintptr(fd), "timerfd")
	go t.wait()
	return t
}

func (t *Timer) tick() {
	if t.fn != nil {
		// The expiry comes through the kernel, which the race detector
		// does not see: taking mu orders what preceded the Reset before
		// fn, as it is in fact.
		t.mu.Lock()
		t.mu.Unlock()
		t.fn()
		return
	}
	select {
	case t.c <- struct{}{}:
	default:
	}
}

func (t *Timer) wait() {
	defer close(t.done)
	rc, err := t.f.SyscallConn()
	if err != nil {
		return
	}
	var buf [8]byte
	// One Read for the timer's life: after a tick the callback waits for
	// the poller's next readiness edge rather than reading again only to
	// find the count empty. Each expiry after a read brings an edge, and
	// within one Read none is lost between callbacks.
	rc.Read(func(fd uintptr) bool {
		for {
			// Raw (package rawsys): no monitor-thread wakeup per read.
			_, err := rawsys.Read(int(fd), buf[:])
			switch err {
			case nil:
				t.tick()
				return false
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false
			}
			return true // closed
		}
	})
}

// Reset arms the timer to expire d from now; d <= 0 expires at once.
func (t *Timer) Reset(d time.Duration) {
	if d <= 0 {
		d = -1
	}
	t.set(d)
}

// Stop disarms the timer.
func (t *Timer) Stop() { t.set(0) }

// set is Arm on t's timerfd, or the fallback's equivalent.
func (t *Timer) set(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.std != nil && d == 0:
		t.std.Stop()
	case t.std != nil:
		t.std.Reset(max(d, 0))
	case t.fd >= 0:
		_ = Arm(t.fd, d)
	}
}

// Close releases the timer; C gets no more ticks.
func (t *Timer) Close() {
	t.mu.Lock()
	if t.std != nil {
		t.std.Stop()
	}
	if t.f != nil {
		t.f.Close()
		t.fd = -1
	}
	t.mu.Unlock()
	<-t.done
}

// Arm sets the timerfd fd (not a Timer's) to expire d from now, or
// disarms it when d is 0; d < 0 expires at once. For timerfds that sit
// in an epoll set of their own.
func Arm(fd int, d time.Duration) error {
	if d < 0 {
		d = 1
	}
	return rawsys.TimerfdSettime(fd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))})
}
