package trackproc

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/internal/errno"
)

// Event is a tracker gaining (Up) or losing its quorum. Seq increases by
// one per event; a Snapshot's Seq is that of the last event before it,
// so a consumer applying a Snapshot skips the events it already holds.
type Event struct {
	Seq     uint64
	Tracker string
	Up      bool
}

// Snapshot is the Monitor's state.
type Snapshot struct {
	Seq       uint64
	Open      bool // the connector socket is open
	Listening bool // the kernel accepted PROC_CN_MCAST_LISTEN
	Responded bool // the kernel acknowledged it
	// NotSupported is keepalived's proc_events_not_supported: the kernel
	// has no process-events connector (EPROTONOSUPPORT). keepalived's
	// later configuration reads then drop every vrrp_track_process
	// ("no kernel support for track_process (CONFIG_PROC_EVENTS)").
	NotSupported bool
	Trackers     []Status
	Stats        Stats
}

// Tracker returns the named tracker's status.
func (s Snapshot) Tracker(name string) (Status, bool) {
	for _, t := range s.Trackers {
		if t.Name == name {
			return t, true
		}
	}
	return Status{}, false
}

// MonitorOptions configure a Monitor.
type MonitorOptions struct {
	// Log receives keepalived's track_process log lines; nil discards.
	Log *logrus.Entry
	// LogDetail adds the --log-detail (-D) lines.
	LogDetail bool
	// Dial opens the connector; nil is Dial(NetNS).
	Dial func() (Conn, error)
	// NetNS is a network namespace file descriptor to open the socket in
	// (0: the calling thread's). The connector only answers in the
	// initial namespace: a daemon that moves to net_namespace opens it
	// there first, as keepalived does before its setns.
	NetNS int
	// NoReopen is keepalived's global net_namespace case: a reload never
	// opens the socket again (it was opened before entering the
	// namespace).
	NoReopen bool
	// Host reads processes; nil is /proc, with the socket's buffer.
	Host Host
	// Now is a monotonic clock; nil is time since Start.
	Now func() time.Duration
	// NumCPUs is sysconf(_SC_NPROCESSORS_CONF); 0 reads sysfs.
	NumCPUs int
}

// maxQueue bounds the events waiting for the consumer; past it they are
// folded into each tracker's latest state.
const maxQueue = 4096

// Monitor owns a Core in one goroutine: the connector socket's messages,
// the Core's timers, Status and Reload requests all go through its loop.
type Monitor struct {
	opts   MonitorOptions
	log    *logrus.Entry
	core   *Core
	events chan Event
	reqs   chan func()
	rx     chan received
	done   chan struct{}
	wg     sync.WaitGroup

	// owned by the loop
	conn         Conn
	listening    bool
	notSupported bool
	seq          uint64
	queue        []Event
	folded       bool
}

type received struct {
	b    []byte
	from uint32
	err  error
}

// Start opens the connector (when cfg has any vrrp_track_process), asks
// for process events, scans /proc and starts the loop. Everything it
// logs is keepalived's wording. The returned Monitor's Status gives the
// initial states, which keepalived applies without logging changes.
func Start(cfg *config.Config, opts MonitorOptions) *Monitor {
	m := &Monitor{
		opts:   opts,
		log:    opts.Log,
		events: make(chan Event),
		reqs:   make(chan func()),
		rx:     make(chan received, 16),
		done:   make(chan struct{}),
	}
	if m.log == nil {
		l := logrus.New()
		l.Out = discard{}
		m.log = logrus.NewEntry(l)
	}
	if m.opts.Now == nil {
		t0 := time.Now()
		m.opts.Now = func() time.Duration { return time.Since(t0) }
	}
	host := opts.Host
	if host == nil {
		host = &sysHost{m: m}
	}
	specs := specsOf(cfg)
	m.core = NewCore(specs, host, Options{Detail: opts.LogDetail, RcvBufForce: cfg.Global.NetlinkBufs.ProcessMonitorForce})
	if len(specs) > 0 {
		m.open()
		m.initListen(cfg.Global.NetlinkBufs)
		n := opts.NumCPUs
		if n == 0 {
			n = numCPUsConf()
		}
		m.core.Start(m.opts.Now(), m.listening, n)
		m.flush()
	}
	m.wg.Add(1)
	go m.run()
	return m
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func specsOf(cfg *config.Config) []Spec {
	var out []Spec
	for _, p := range cfg.TrackProcesses {
		out = append(out, SpecOf(p))
	}
	return out
}

// open is keepalived's open_track_processes/nl_connect.
func (m *Monitor) open() {
	if m.conn != nil {
		return
	}
	dial := m.opts.Dial
	if dial == nil {
		dial = func() (Conn, error) { return Dial(m.opts.NetNS) }
	}
	c, err := dial()
	if err != nil {
		var de *DialError
		switch {
		case errors.As(err, &de) && de.Op == "bind":
			m.log.Infof("Failed to bind to process monitoring socket - errno %d - %s", errno.Of(err), errno.Text(err))
		case errors.Is(err, unix.EPROTONOSUPPORT):
			m.notSupported = true
			if m.opts.LogDetail {
				m.log.Info("track_process not available - is CONFIG_PROC_EVENTS enabled in kernel config?")
			}
		default:
			m.log.Infof("Failed to open process monitoring socket - errno %d - %s", errno.Of(err), errno.Text(err))
		}
		return
	}
	m.conn = c
	m.wg.Add(1)
	go m.reader(c)
}

// initListen is the first half of keepalived's init_track_processes.
// With no socket (open failed) keepalived still goes through the motions
// on fd -1, and logs EBADF for them.
func (m *Monitor) initListen(bufs config.NetlinkBufs) {
	if bufs.ProcessMonitor != 0 {
		var err error = unix.EBADF
		if m.conn != nil {
			err = m.conn.SetRcvBuf(int(bufs.ProcessMonitor), bufs.ProcessMonitorForce)
		}
		if err != nil {
			force := ""
			if bufs.ProcessMonitorForce {
				force = "FORCE"
			}
			m.log.Infof("Cannot set process monitor SO_RCVBUF%s option. errno=%d (%s)", force, errno.Of(err), errno.Text(err))
		}
	}
	var err error = unix.EBADF
	if m.conn != nil {
		err = m.conn.Listen(true)
	}
	if err != nil {
		m.log.Infof("Failed to set/clear process event listen - errno %d - %s", errno.Of(err), errno.Text(err))
		m.closeConn()
		return
	}
	m.listening = true
}

func (m *Monitor) closeConn() {
	if m.conn != nil {
		m.conn.Close()
		m.conn = nil
	}
}

// reader feeds the loop with datagrams until the socket is closed.
func (m *Monitor) reader(c Conn) {
	defer m.wg.Done()
	for {
		b := make([]byte, 1024)
		n, from, err := c.Receive(context.Background(), b)
		if err != nil && errClosed(err) {
			return
		}
		select {
		case m.rx <- received{b: b[:n], from: from, err: err}:
		case <-m.done:
			return
		}
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			// Do not spin on an error that repeats.
			select {
			case <-time.After(10 * time.Millisecond):
			case <-m.done:
				return
			}
		}
	}
}

// handle is handle_proc_ev's checks before the Core's.
func (m *Monitor) handle(r received) {
	now := m.opts.Now()
	switch {
	case errors.Is(r.err, unix.ENOBUFS):
		m.core.Overflow(now)
	case r.err != nil:
		m.core.RecvError(r.err)
	case len(r.b) == 0:
		m.log.Info("proc_event recvmsg returned 0")
	case r.from != 0:
		m.log.Infof("addrlen 12, expect 12, pid %d", r.from)
		m.core.Dropped()
	default:
		msg, err := Decode(r.b)
		if err != nil {
			if errors.Is(err, ErrNotOK) {
				m.log.Info("proc_event !NLMSG_OK")
			}
			m.core.Dropped()
			return
		}
		m.core.Handle(now, msg)
	}
}

// flush logs the Core's lines and queues its changes.
func (m *Monitor) flush() {
	if !m.core.HasReady() {
		return
	}
	r := m.core.Ready()
	for _, l := range r.Logs {
		m.log.Info(l)
	}
	for _, c := range r.Changes {
		m.seq++
		m.queue = append(m.queue, Event{Seq: m.seq, Tracker: c.Tracker, Up: c.Up})
	}
	if len(m.queue) > maxQueue {
		m.fold()
	}
}

// fold keeps only each tracker's latest event, in the order of those
// events, when the consumer has fallen far behind.
func (m *Monitor) fold() {
	last := map[string]int{}
	for i, e := range m.queue {
		last[e.Tracker] = i
	}
	var out []Event
	for i, e := range m.queue {
		if last[e.Tracker] == i {
			out = append(out, e)
		}
	}
	if !m.folded {
		m.folded = true
		m.log.Warnf("track_process: the VRRP engine is %d events behind; keeping each tracker's latest", len(m.queue))
	}
	m.queue = out
}

func (m *Monitor) run() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if d, ok := m.core.NextDeadline(); ok {
			timer.Reset(max(d-m.opts.Now(), 0))
		} else {
			timer.Stop()
		}
		var out chan Event
		var head Event
		if len(m.queue) > 0 {
			out, head = m.events, m.queue[0]
		}
		select {
		case <-m.done:
			return
		case r := <-m.rx:
			m.handle(r)
		case <-timer.C:
			m.core.Tick(m.opts.Now())
		case f := <-m.reqs:
			f()
		case out <- head:
			m.queue = m.queue[1:]
		}
		m.flush()
	}
}

// do runs f on the loop and waits; false once the Monitor is closed.
func (m *Monitor) do(f func()) bool {
	ch := make(chan struct{})
	select {
	case m.reqs <- func() { f(); close(ch) }:
		<-ch
		return true
	case <-m.done:
		return false
	}
}

func (m *Monitor) snapshot() Snapshot {
	return Snapshot{
		Seq:          m.seq,
		Open:         m.conn != nil,
		Listening:    m.listening,
		Responded:    m.core.Responded(),
		NotSupported: m.notSupported,
		Trackers:     m.core.Status(),
		Stats:        m.core.Stats(),
	}
}

// Events delivers the changes in order.
func (m *Monitor) Events() <-chan Event { return m.events }

// Status returns the current state.
func (m *Monitor) Status() Snapshot {
	var s Snapshot
	m.do(func() { s = m.snapshot() })
	return s
}

// Reload installs cfg's trackers as keepalived's reload does: the socket
// is opened if it was not (without asking for events again: keepalived
// sends LISTEN only at start), pid counting starts again from a /proc
// scan, pending delays are dropped. The Snapshot holds the new initial
// states (not reported as Events) and the Seq from which Events are
// newer.
func (m *Monitor) Reload(cfg *config.Config) Snapshot {
	var s Snapshot
	m.do(func() {
		specs := specsOf(cfg)
		if len(specs) > 0 && !m.opts.NoReopen {
			m.open()
		}
		m.core.force = cfg.Global.NetlinkBufs.ProcessMonitorForce
		m.core.Reload(specs)
		m.flush()
		s = m.snapshot()
	})
	return s
}

// Close stops the Monitor as keepalived's end_process_monitor does: it
// asks the kernel to stop sending (PROC_CN_MCAST_IGNORE) and closes the
// socket.
func (m *Monitor) Close() {
	m.do(func() {
		if m.conn != nil && m.core.cpuSeq != nil {
			if err := m.conn.Listen(false); err != nil {
				m.log.Infof("Failed to set/clear process event listen - errno %d - %s", errno.Of(err), errno.Text(err))
			}
		}
		m.closeConn()
		close(m.done)
	})
	m.wg.Wait()
}

// sysHost is /proc and the Monitor's socket.
type sysHost struct {
	ProcFS
	m *Monitor
}

// GrowRcvBuf doubles what getsockopt(SO_RCVBUF) reports, as
// reinitialise_track_processes does.
func (h *sysHost) GrowRcvBuf(force bool) (uint32, error, error) {
	if h.m.conn == nil {
		return 0, unix.EBADF, nil
	}
	n, err := h.m.conn.RcvBuf()
	if err != nil {
		return 0, err, nil
	}
	size := uint32(n) * 2
	return size, nil, h.m.conn.SetRcvBuf(int(size), force)
}

// numCPUsConf is sysconf(_SC_NPROCESSORS_CONF): the possible CPUs.
func numCPUsConf() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err == nil {
		n := 0
		for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
			lo, hi, found := strings.Cut(r, "-")
			if !found {
				hi = lo
			}
			if h, err := strconv.Atoi(hi); err == nil && h+1 > n {
				n = h + 1
			}
		}
		if n > 0 {
			return n
		}
	}
	return runtime.NumCPU()
}
