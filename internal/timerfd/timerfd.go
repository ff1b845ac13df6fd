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

// Timer delivers a tick on C when it expires. Unlike time.Timer, a tick
// of an earlier arming may still arrive after Reset or Stop: callers
// re-check the time when a tick comes, as an event loop does anyway.
type Timer struct {
	C <-chan struct{}

	c    chan struct{}
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
	t := &Timer{C: c, c: c, fd: -1, done: make(chan struct{})}
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
	for {
		// The read itself is raw (see package rawsys); the poller parks
		// this goroutine until the expiry count is readable.
		err := rc.Read(func(fd uintptr) bool {
			_, err := rawsys.Read(int(fd), buf[:])
			return err != unix.EAGAIN
		})
		if err != nil {
			return
		}
		t.tick()
	}
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
