package check

import (
	"container/heap"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/check/httpget"
	"keepalived-go/check/internal/sock"
	"keepalived-go/internal/rawsys"
	"keepalived-go/internal/timerfd"
)

// ioLoop runs plain HTTP_GET and TCP_CHECK attempts the way keepalived's
// checker does: non-blocking sockets in one epoll set and a small state
// machine each, with no goroutine per attempt. At 10,000 checks/s on one
// core, a goroutine per probe (its contexts, runtime timers, poller
// registration and scheduling) cost as much CPU as the probes' own system
// calls. Every other checker keeps running on a goroutine of its own.
//
// The epoll descriptor itself sits on Go's poller, so the loop goroutine
// parks like any other instead of holding a thread in epoll_wait. Its
// system calls are raw (package rawsys): none of them can sleep. The
// engine's schedule rides on the loop's timer (setDue), and finished
// attempts go to the engine from the loop goroutine (run's onWake), so a
// check that completes at once costs one goroutine wakeup, not four. For that
// the sockets do not set keepalived's SO_LINGER of 5 s: on Linux it only
// makes close() wait for the FIN to be acknowledged, the packets on the
// wire are the same, and an event loop must not wait.
type ioLoop struct {
	epfd  int
	ep    *os.File
	epoch time.Time
	// tfd is a timerfd in the epoll set for the earliest probe deadline;
	// see package timerfd for why not a runtime timer.
	tfd int

	mu      sync.Mutex
	byFD    []*loopProbe
	timers  probeHeap
	due     time.Duration // when the engine wants onWake; 0: not
	waitFor time.Duration // deadline armed on tfd; 0: none
	free    []*loopProbe
	results []probeResult
	stats   []CheckStat
	closed  bool
	// busy: the loop goroutine is between its wakeup and its re-arming,
	// which then covers every change made meanwhile.
	busy bool

	events []unix.EpollEvent
}

type probeState uint8

const (
	stateConnecting probeState = iota
	stateWriting
	stateReading
)

type loopProbe struct {
	c     *ckRun
	fd    int
	state probeState
	start time.Time
	// deadline of the current phase and of the whole attempt, as
	// durations since the loop's epoch.
	deadline, final time.Duration
	timeout         time.Duration // per phase; 0: only final
	// at is p's key in timers, index its place there (-1: not queued).
	// at may be earlier than deadline: the entry is moved on when it
	// comes out, which is cheaper than fixing the heap on every read.
	at    time.Duration
	index int
	// http is nil for TCP_CHECK.
	http *httpget.Session
	req  []byte
	sent int
}

func newIOLoop() (*ioLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(tfd)}); err != nil {
		unix.Close(tfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &ioLoop{
		tfd:    tfd,
		epfd:   epfd,
		ep:     os.NewFile(uintptr(epfd), "check-epoll"),
		epoch:  time.Now(),
		events: make([]unix.EpollEvent, 256),
	}, nil
}

// loopable reports whether attempt a of c can run on the loop.
func loopable(c *ckRun, step int) bool {
	switch ch := c.checker.(type) {
	case *HTTPCheck:
		return step >= 0 && step < len(ch.Targets) && !ch.Targets[step].TLS
	case *TCPCheck:
		return true
	}
	return false
}

func (l *ioLoop) now() time.Duration { return time.Since(l.epoch) }

// start begins attempt a of c; its result arrives through run's onWake.
func (l *ioLoop) start(c *ckRun, a Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	// A result that is there at once (a refused connect) still needs
	// the loop to wake and hand it over.
	defer l.rearm()
	p := l.get()
	p.c = c
	p.start = time.Now()
	now := p.start.Sub(l.epoch)
	p.final = now + c.timing.AttemptTimeout
	var o sock.Options
	switch ch := c.checker.(type) {
	case *HTTPCheck:
		t := &ch.Targets[a.Step]
		if p.http == nil {
			p.http = &httpget.Session{}
		}
		p.http.Reset(t)
		p.req, p.sent, p.timeout = ch.request(a.Step), 0, t.Timeout
		o = sock.Options{Dst: t.Addr, Bind: t.Bind, Interface: t.BindInterface, Mark: t.FWMark}
	case *TCPCheck:
		p.http, p.timeout = nil, 0
		o = sock.Options{Dst: ch.Conn.Dst, Bind: ch.Conn.Bind, Interface: ch.Conn.BindIf, Mark: ch.Conn.FWMark}
	}
	fd, pending, err := sock.Start(o)
	if err != nil {
		l.finish(p, p.connectError(err))
		return
	}
	p.fd = fd
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := rawsys.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.finish(p, fmt.Errorf("%w: epoll_ctl: %w", ErrSocket, err))
		return
	}
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, nil)
	}
	l.byFD[fd] = p
	p.state = stateConnecting
	l.arm(p, now)
	if !pending {
		l.step(p, now)
	}
}

// setDue asks for an onWake call with due set at t (the zero Time: none).
func (l *ioLoop) setDue(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.due = 0
	if !t.IsZero() {
		l.due = max(t.Sub(l.epoch), 1)
	}
	l.rearm()
}

func (l *ioLoop) get() *loopProbe {
	if n := len(l.free); n > 0 {
		p := l.free[n-1]
		l.free = l.free[:n-1]
		return p
	}
	return &loopProbe{fd: -1, index: -1}
}

// arm starts a phase: its deadline is the connect timeout from now, within
// the attempt's own bound, as keepalived re-arms connect_timeout per I/O.
func (l *ioLoop) arm(p *loopProbe, now time.Duration) {
	p.deadline = p.final
	if p.timeout > 0 {
		p.deadline = min(now+p.timeout, p.final)
	}
	if p.index < 0 {
		p.at = p.deadline
		heap.Push(&l.timers, p)
		if l.waitFor == 0 || p.at < l.waitFor {
			l.rearm()
		}
	}
}

// step advances p as far as its socket allows.
func (l *ioLoop) step(p *loopProbe, now time.Duration) {
	for {
		switch p.state {
		case stateConnecting:
			done, err := sock.Status(p.fd)
			if !done {
				return
			}
			if err != nil {
				l.finish(p, p.connectError(err))
				return
			}
			if p.http == nil {
				l.finish(p, nil)
				return
			}
			p.state = stateWriting
			l.arm(p, now)
		case stateWriting:
			n, err := rawsys.Write(p.fd, p.req[p.sent:])
			if err == unix.EAGAIN {
				return
			}
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				l.finish(p, p.http.WriteFailed(err.(unix.Errno)))
				return
			}
			p.sent += n
			if p.sent < len(p.req) {
				continue
			}
			p.state = stateReading
			l.arm(p, now)
		case stateReading:
			buf := p.http.ReadBuf()
			if len(buf) == 0 {
				_, err := p.http.End(false)
				l.finish(p, err)
				return
			}
			n, err := rawsys.Read(p.fd, buf)
			switch {
			case err == unix.EAGAIN:
				return
			case err == unix.EINTR:
			case err != nil:
				_, err := p.http.ReadFailed(err.(unix.Errno))
				l.finish(p, err)
				return
			case n == 0:
				_, err := p.http.End(true)
				l.finish(p, err)
				return
			default:
				if err := p.http.Read(n); err != nil {
					l.finish(p, err)
					return
				}
				if p.http.Complete() {
					_, err := p.http.End(true)
					l.finish(p, err)
					return
				}
				// Each read that brings data gets a fresh timeout.
				l.arm(p, now)
			}
		}
	}
}

func (p *loopProbe) connectError(err error) error {
	if p.http != nil {
		he := httpget.ConnectError(err)
		if he.Kind == httpget.ErrSocket {
			return fmt.Errorf("%w: %w", ErrSocket, he)
		}
		return he
	}
	return tcpConnectError(err)
}

// timedOut is the error of p's phase running out.
func (p *loopProbe) timedOut() error {
	if p.http == nil {
		return fmt.Errorf("%w: connect: %w", ErrTimeout, os.ErrDeadlineExceeded)
	}
	switch p.state {
	case stateConnecting:
		return p.http.TimedOut(httpget.PhaseConnect)
	case stateWriting:
		return p.http.TimedOut(httpget.PhaseWrite)
	}
	return p.http.TimedOut(p.http.Phase())
}

// finish closes p's socket (which also takes it out of the epoll set) and
// queues its result.
func (l *ioLoop) finish(p *loopProbe, err error) {
	if p.fd >= 0 {
		if p.fd < len(l.byFD) {
			l.byFD[p.fd] = nil
		}
		rawsys.Close(p.fd)
		p.fd = -1
	}
	end := time.Now()
	l.results = append(l.results, probeResult{id: p.c.id, err: err, end: end})
	l.stats = append(l.stats, CheckStat{Kind: p.c.kind, Result: resultClass(err), Duration: end.Sub(p.start), VS: p.c.rs.vsKey, RS: p.c.rs.rsKey})
	p.c, p.req = nil, nil
	if p.index >= 0 {
		heap.Remove(&l.timers, p.index)
	}
	l.free = append(l.free, p)
}

// run waits for socket events and deadlines until stop is closed. After
// each wakeup it calls onWake, without holding l.mu, with the attempts
// finished since the last call and whether the time set by setDue has
// come; onWake may start attempts and set the next due time.
func (l *ioLoop) run(stop <-chan struct{}, onCheck func(CheckStat), onWake func(done []probeResult, due bool)) {
	rc, err := l.ep.SyscallConn()
	if err != nil {
		return
	}
	var stats []CheckStat
	var done []probeResult
	for {
		n := 0
		werr := rc.Read(func(fd uintptr) bool {
			n, _ = rawsys.EpollPoll(int(fd), l.events)
			return n > 0
		})
		select {
		case <-stop:
			return
		default:
		}
		if werr != nil {
			return
		}
		l.mu.Lock()
		l.busy = true
		now := l.now()
		for _, ev := range l.events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == l.tfd {
				var b [8]byte
				rawsys.Read(l.tfd, b[:])
				l.waitFor = 0
				continue
			}
			if fd < len(l.byFD) && l.byFD[fd] != nil {
				l.step(l.byFD[fd], now)
			}
		}
		l.expire(now)
		due := l.due != 0 && l.due <= now
		if due {
			l.due = 0
		}
		stats, l.stats = l.stats, stats[:0]
		done, l.results = l.results, done[:0]
		l.mu.Unlock()
		if onCheck != nil {
			for _, s := range stats {
				onCheck(s)
			}
		}
		if onWake != nil && (due || len(done) > 0) {
			onWake(done, due)
		}
		clear(done)
		l.mu.Lock()
		l.busy = false
		l.rearm()
		l.mu.Unlock()
	}
}

// expire ends every probe whose phase deadline has passed.
func (l *ioLoop) expire(now time.Duration) {
	for len(l.timers) > 0 && l.timers[0].at <= now {
		p := l.timers[0]
		if p.deadline > now { // its phase moved on
			p.at = p.deadline
			heap.Fix(&l.timers, 0)
			continue
		}
		l.finish(p, p.timedOut())
	}
}

// rearm points tfd at the earliest probe deadline or due time, which
// wakes the loop when nothing else does; at once when results wait.
func (l *ioLoop) rearm() {
	if l.busy || l.closed {
		return
	}
	var want time.Duration
	if len(l.timers) > 0 {
		want = max(l.timers[0].at, 1)
	}
	if l.due != 0 && (want == 0 || l.due < want) {
		want = l.due
	}
	if len(l.results) > 0 {
		want = 1
	}
	if want == l.waitFor {
		return
	}
	l.waitFor = want
	d := time.Duration(0) // disarm
	if want != 0 {
		d = want - l.now()
		if d <= 0 {
			d = -1 // at once
		}
	}
	timerfd.Arm(l.tfd, d)
}

// close ends every probe without a result and releases the epoll set.
func (l *ioLoop) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for _, p := range l.byFD {
		if p != nil && p.fd >= 0 {
			unix.Close(p.fd)
		}
	}
	l.byFD = nil
	unix.Close(l.tfd)
	l.ep.Close()
}

// probeHeap orders in-flight probes by their timer key.
type probeHeap []*loopProbe

func (h probeHeap) Len() int           { return len(h) }
func (h probeHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h probeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *probeHeap) Push(x any) {
	p := x.(*loopProbe)
	p.index = len(*h)
	*h = append(*h, p)
}
func (h *probeHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*h = old[:len(old)-1]
	return p
}
