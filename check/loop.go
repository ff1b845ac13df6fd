package check

import (
	"container/heap"
	"fmt"
	"math"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/check/httpget"
	"keepalived-go/check/internal/sock"
	"keepalived-go/internal/evloop"
	"keepalived-go/internal/rawsys"
)

// ioLoop runs plain HTTP_GET and TCP_CHECK attempts the way keepalived's
// checker does: non-blocking sockets in one epoll set and a small state
// machine each, with no goroutine per attempt. At 10,000 checks/s on one
// core, a goroutine per probe (its contexts, runtime timers, poller
// registration and scheduling) cost as much CPU as the probes' own system
// calls. Every other checker keeps running on a goroutine of its own.
//
// The sockets sit in the engine's own event loop (evloop), so the
// engine's owner goroutine steps them, expires them and takes their
// results itself: a check that completes at once costs one goroutine
// wakeup. Its system calls are raw (package rawsys): none of them can
// sleep. For that the sockets do not set keepalived's SO_LINGER of 5 s: on
// Linux it only makes close() wait for the FIN to be acknowledged, the
// packets on the wire are the same, and an event loop must not wait. Only
// the owner calls its methods.
type ioLoop struct {
	loop   *evloop.Loop
	timers probeHeap
	free   []*loopProbe
	// results and stats are what finished since take.
	results []probeResult
	stats   []CheckStat
	live    map[*loopProbe]bool
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
	// durations since the loop's epoch (final: noFinal when the attempt
	// has no bound of its own).
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
	// onReady is the loop's handler for fd, made once per probe.
	onReady evloop.Handler
}

// noFinal is the final deadline of an attempt with no bound of its own.
const noFinal = time.Duration(math.MaxInt64)

func newIOLoop(loop *evloop.Loop) *ioLoop {
	return &ioLoop{loop: loop, live: map[*loopProbe]bool{}}
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

func (l *ioLoop) now() time.Duration { return l.loop.Now() }

// start begins attempt a of c; its result comes out of take.
func (l *ioLoop) start(c *ckRun, a Attempt) {
	p := l.get()
	p.c = c
	p.start = time.Now()
	now := l.now()
	p.final = noFinal
	if c.timing.AttemptTimeout > 0 {
		p.final = now + c.timing.AttemptTimeout
	}
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
		p.http, p.timeout = nil, ch.Timeout
		o = sock.Options{Dst: ch.Conn.Dst, Bind: ch.Conn.Bind, Interface: ch.Conn.BindIf, Mark: ch.Conn.FWMark}
	}
	l.live[p] = true
	fd, _, err := sock.Start(o)
	if err != nil {
		l.finish(p, p.connectError(err))
		return
	}
	p.fd = fd
	if err := l.loop.Add(fd, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET, p.onReady); err != nil {
		l.finish(p, fmt.Errorf("%w: epoll_ctl: %w", ErrSocket, err))
		return
	}
	p.state = stateConnecting
	l.arm(p, now)
	// Look at once rather than after the next wait: a connect to this
	// host is done by now, and a server that accepts and closes at once
	// must not win the race against our first look (keepalived, awake
	// on the socket a few microseconds after the handshake, reads
	// success from such a server on a multi-core host).
	l.step(p, now)
}

func (l *ioLoop) get() *loopProbe {
	if n := len(l.free); n > 0 {
		p := l.free[n-1]
		l.free = l.free[:n-1]
		return p
	}
	p := &loopProbe{fd: -1, index: -1}
	p.onReady = func(uint32) { l.step(p, l.now()) }
	return p
}

// arm starts a phase: its deadline is the connect timeout from now, within
// the attempt's own bound, as keepalived re-arms connect_timeout per I/O.
func (l *ioLoop) arm(p *loopProbe, now time.Duration) {
	p.deadline = p.final
	if p.timeout > 0 {
		p.deadline = min(now+p.timeout, p.final)
	}
	if p.index < 0 && p.deadline != noFinal {
		p.at = p.deadline
		heap.Push(&l.timers, p)
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
			if err != nil && !(p.http == nil && connectedThenReset(err)) {
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
		l.loop.Forget(p.fd)
		rawsys.Close(p.fd)
		p.fd = -1
	}
	delete(l.live, p)
	end := time.Now()
	l.results = append(l.results, probeResult{id: p.c.id, err: err, end: end})
	l.stats = append(l.stats, CheckStat{Kind: p.c.kind, Result: resultClass(err), Duration: end.Sub(p.start), VS: p.c.rs.vsKey, RS: p.c.rs.rsKey})
	p.c, p.req = nil, nil
	if p.index >= 0 {
		heap.Remove(&l.timers, p.index)
	}
	l.free = append(l.free, p)
}

// take hands over the attempts finished since the last take, and their
// metrics records; the slices given are reused for the next ones.
func (l *ioLoop) take(results []probeResult, stats []CheckStat) ([]probeResult, []CheckStat) {
	results, l.results = l.results, results[:0]
	stats, l.stats = l.stats, stats[:0]
	return results, stats
}

// nextDeadline is the earliest probe phase deadline (loop clock).
func (l *ioLoop) nextDeadline() (time.Duration, bool) {
	if len(l.timers) == 0 {
		return 0, false
	}
	return l.timers[0].at, true
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

// close ends every probe without a result.
func (l *ioLoop) close() {
	for p := range l.live {
		if p.fd >= 0 {
			l.loop.Forget(p.fd)
			rawsys.Close(p.fd)
			p.fd = -1
		}
	}
	clear(l.live)
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
