// Package evloop is the one goroutine that owns an engine: an epoll set
// waited on through Go's network poller, holding the engine's sockets, a
// timerfd for its next deadline and an eventfd for its inbox.
//
// It is etcd raft's node.run and gobgp's Serve loop in keepalived's
// shape (keepalived's scheduler is one epoll loop per process): the owner
// reads its sockets itself, fires its timer itself and runs what other
// goroutines post to its inbox, so an advert or an expiry wakes one
// goroutine and no lock guards the engine's state. Other goroutines talk
// to the owner only through Post.
//
// Why not a select over channels: every packet would cost a reader
// goroutine's wakeup and then the owner's, and every timer expiry the
// timer's goroutine's and then the owner's; on a node with hundreds of
// VRRP instances those extra wakeups were most of the daemon's CPU.
package evloop

import (
	"errors"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/rawsys"
	"keepalived-go/internal/timerfd"
)

// ErrClosed: the loop has stopped; nothing posted will run.
var ErrClosed = errors.New("evloop: closed")

// Handler is called by the owner when fd is ready, with the epoll events.
type Handler func(events uint32)

// Loop is an owner goroutine's event set. New makes it; the owner calls
// Run, which returns once Stop was called. Add, Remove and Arm are the
// owner's (call them from Run's callbacks, or before Run); Post and Stop
// may be called from any goroutine.
type Loop struct {
	epfd, tfd, efd int
	ep             *os.File
	epoch          time.Time
	handlers       []Handler
	events         []unix.EpollEvent
	// armed is the deadline set on tfd, as time since epoch; 0: none.
	armed time.Duration

	mu      sync.Mutex
	inbox   []func()
	spare   []func()
	stopped bool
	closed  bool
}

// New creates the epoll set with its timerfd and eventfd.
func New() (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	l := &Loop{epfd: epfd, tfd: -1, efd: -1, epoch: time.Now(), events: make([]unix.EpollEvent, 256)}
	fail := func(call string, err error) (*Loop, error) {
		for _, fd := range []int{l.tfd, l.efd, l.epfd} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return nil, os.NewSyscallError(call, err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		return fail("fcntl", err)
	}
	if l.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail("timerfd_create", err)
	}
	if l.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail("eventfd", err)
	}
	for _, fd := range []int{l.tfd, l.efd} {
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			return fail("epoll_ctl", err)
		}
	}
	l.ep = os.NewFile(uintptr(epfd), "evloop")
	return l, nil
}

// Now is the loop's clock: time since New, monotonic.
func (l *Loop) Now() time.Duration { return time.Since(l.epoch) }

// Epoch is the wall time of Now() == 0.
func (l *Loop) Epoch() time.Time { return l.epoch }

// Add puts fd in the set, level-triggered for events (EPOLLIN ...): h
// runs while it is ready. A handler reading one datagram per call lets
// the set report the next one, which costs fewer system calls than
// reading until EAGAIN.
func (l *Loop) Add(fd int, events uint32, h Handler) error {
	if err := rawsys.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)}); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	for fd >= len(l.handlers) {
		l.handlers = append(l.handlers, nil)
	}
	l.handlers[fd] = h
	return nil
}

// Remove takes fd out of the set (before it is closed).
func (l *Loop) Remove(fd int) {
	if fd >= 0 && fd < len(l.handlers) && l.handlers[fd] != nil {
		l.handlers[fd] = nil
		_ = rawsys.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	}
}

// Arm asks for Run's onTimer at (time since New; 0 or less: never). It
// only moves the timerfd earlier: a deadline that moved later is found
// when the earlier one fires and the owner arms again, which is cheaper
// than a timerfd_settime for every advert that pushes a timer back.
func (l *Loop) Arm(at time.Duration) {
	if at <= 0 || (l.armed != 0 && l.armed <= at) {
		return
	}
	l.armed = at
	d := at - l.Now()
	if d <= 0 {
		d = -1 // at once
	}
	_ = timerfd.Arm(l.tfd, d)
}

// Set arms the timer for exactly at (0 or less: disarmed), moving it
// later too. For an owner whose deadlines often vanish before they come
// (a probe's timeout, when the probe ends first), a timerfd_settime when
// the deadline changes costs less than the wakeups a stale one brings.
func (l *Loop) Set(at time.Duration) {
	if at <= 0 {
		at = 0
	}
	if at == l.armed {
		return
	}
	l.armed = at
	d := time.Duration(0) // disarm
	if at > 0 {
		if d = at - l.Now(); d <= 0 {
			d = -1 // at once
		}
	}
	_ = timerfd.Arm(l.tfd, d)
}

// Post queues f to run on the owner goroutine, in order, and wakes it.
// It never blocks. It returns ErrClosed when the loop has stopped.
func (l *Loop) Post(f func()) error {
	l.mu.Lock()
	if l.stopped || l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	wake := len(l.inbox) == 0
	l.inbox = append(l.inbox, f)
	l.mu.Unlock()
	if wake {
		l.poke()
	}
	return nil
}

func (l *Loop) poke() {
	one := [8]byte{1}
	_, _ = rawsys.Write(l.efd, one[:])
}

// Stop makes Run return after what it is doing; functions posted later
// are refused.
func (l *Loop) Stop() {
	l.mu.Lock()
	already := l.stopped
	l.stopped = true
	l.mu.Unlock()
	if !already {
		l.poke()
	}
}

// Run serves the set on the calling goroutine, which becomes the owner,
// until Stop. After each wakeup it calls onTimer when the armed deadline
// came, then after(), where the owner arms its next deadline. The inbox
// is drained before Run returns, so a Post that returned nil has run.
func (l *Loop) Run(onTimer, after func()) error {
	rc, err := l.ep.SyscallConn()
	if err != nil {
		return err
	}
	for {
		n := 0
		werr := rc.Read(func(fd uintptr) bool {
			n, _ = rawsys.EpollPoll(int(fd), l.events)
			return n > 0
		})
		if werr != nil {
			return werr
		}
		fired, posted := false, false
		for _, ev := range l.events[:max(n, 0)] {
			fd := int(ev.Fd)
			switch {
			case fd == l.tfd:
				var b [8]byte
				rawsys.Read(l.tfd, b[:])
				l.armed = 0
				fired = true
			case fd == l.efd:
				var b [8]byte
				rawsys.Read(l.efd, b[:])
				posted = true
			case fd < len(l.handlers) && l.handlers[fd] != nil:
				l.handlers[fd](ev.Events)
			}
		}
		if posted && l.drain() {
			return nil
		}
		if fired && onTimer != nil {
			onTimer()
		}
		if after != nil {
			after()
		}
	}
}

// drain runs the inbox; it reports whether Stop was called.
func (l *Loop) drain() bool {
	for {
		l.mu.Lock()
		q := l.inbox
		l.inbox, l.spare = l.spare[:0], nil
		stopped := l.stopped
		if len(q) == 0 {
			l.spare = q
			l.mu.Unlock()
			return stopped
		}
		l.mu.Unlock()
		for i, f := range q {
			f()
			q[i] = nil
		}
		l.mu.Lock()
		if l.spare == nil {
			l.spare = q[:0]
		}
		l.mu.Unlock()
	}
}

// Close releases the set; descriptors added with Add are the caller's to
// close. Posts after Close fail.
func (l *Loop) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	unix.Close(l.tfd)
	unix.Close(l.efd)
	return l.ep.Close()
}

// Forget drops fd's handler without touching the epoll set, for a
// descriptor the caller is about to close (closing takes it out of the
// set, so an EPOLL_CTL_DEL would be a system call for nothing).
func (l *Loop) Forget(fd int) {
	if fd >= 0 && fd < len(l.handlers) {
		l.handlers[fd] = nil
	}
}
