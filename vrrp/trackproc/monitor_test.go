package trackproc

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
)

// fakeConn is a connector fed by the test.
type fakeConn struct {
	mu        sync.Mutex
	listenErr error
	listens   []bool
	rcvbuf    int
	in        chan received
	closed    chan struct{}
	once      sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan received, 64), closed: make(chan struct{}), rcvbuf: 212992}
}

func (f *fakeConn) Listen(enable bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listens = append(f.listens, enable)
	return f.listenErr
}

func (f *fakeConn) Receive(_ context.Context, b []byte) (int, uint32, error) {
	select {
	case r := <-f.in:
		return copy(b, r.b), r.from, r.err
	case <-f.closed:
		return 0, 0, os.ErrClosed
	}
}

func (f *fakeConn) RcvBuf() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rcvbuf, nil
}

func (f *fakeConn) SetRcvBuf(n int, force bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rcvbuf = n
	return nil
}

func (f *fakeConn) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeConn) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

type monEnv struct {
	t    *testing.T
	m    *Monitor
	conn *fakeConn
	host *MemHost
	hook *test.Hook
	seq  uint32
}

func trackCfg(procs ...*config.TrackProcess) *config.Config {
	return &config.Config{TrackProcesses: procs}
}

func proc(name, process string) *config.TrackProcess {
	return &config.TrackProcess{Name: name, Process: process, Quorum: 1, QuorumMax: -1}
}

func startMon(t *testing.T, cfg *config.Config, conn *fakeConn, dialErr error) *monEnv {
	t.Helper()
	l, hook := test.NewNullLogger()
	e := &monEnv{t: t, conn: conn, host: NewMemHost(), hook: hook}
	e.host.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
	e.m = Start(cfg, MonitorOptions{
		Log:       logrus.NewEntry(l),
		LogDetail: true,
		Host:      e.host,
		NumCPUs:   1,
		Dial: func() (Conn, error) {
			if dialErr != nil {
				return nil, dialErr
			}
			return conn, nil
		},
	})
	t.Cleanup(e.m.Close)
	return e
}

func (e *monEnv) lines() []string {
	var out []string
	for _, en := range e.hook.AllEntries() {
		out = append(out, en.Message)
	}
	e.hook.Reset()
	return out
}

func (e *monEnv) send(m Msg) {
	m.Idx, m.Val, m.Seq = CnIdxProc, CnValProc, e.seq
	e.seq++
	e.conn.in <- received{b: m.Marshal()}
}

// until waits for the Monitor to reach a state (the fake connection's
// messages go through the reader goroutine first).
func (e *monEnv) until(what string, ok func(Snapshot) bool) Snapshot {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := e.m.Status()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *monEnv) next() Event {
	e.t.Helper()
	select {
	case ev := <-e.m.Events():
		return ev
	case <-time.After(10 * time.Second):
		e.t.Fatal("no event")
		return Event{}
	}
}

func TestMonitorEvents(t *testing.T) {
	d := proc("delayed", "kgtpx")
	d.TerminateDelay = 50 * time.Millisecond
	e := startMon(t, trackCfg(proc("tp", "kgtpd"), d), newFakeConn(), nil)
	e.send(Msg{What: EventNone, Ack: 1})
	s := e.m.Status()
	if !s.Open || !s.Listening || s.Seq != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	if st, _ := s.Tracker("tp"); st.Count != 1 || !st.Up {
		t.Fatalf("initial scan: %+v", st)
	}
	e.send(Msg{What: EventExit, PID: 10, TGID: 10})
	if ev := e.next(); ev != (Event{Seq: 1, Tracker: "tp", Up: false}) {
		t.Fatalf("event %+v", ev)
	}
	e.host.Set(ProcInfo{PID: 11, Comm: "kgtpx"})
	e.send(Msg{What: EventExec, PID: 11, TGID: 11})
	if ev := e.next(); ev != (Event{Seq: 2, Tracker: "delayed", Up: true}) {
		t.Fatalf("event %+v", ev)
	}
	start := time.Now()
	e.send(Msg{What: EventExit, PID: 11, TGID: 11})
	if ev := e.next(); ev != (Event{Seq: 3, Tracker: "delayed", Up: false}) {
		t.Fatalf("event %+v", ev)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("terminate_delay not waited: %v", el)
	}
	want := []string{
		"proc_events has confirmed it is configured",
		"Quorum lost for tracked process tp",
		"Quorum gained for tracked process delayed",
		"Quorum lost for tracked process delayed",
	}
	if got := e.lines(); !reflect.DeepEqual(got, want) {
		t.Fatalf("log %q", got)
	}
	if got := e.conn.listens; !reflect.DeepEqual(got, []bool{true}) {
		t.Fatalf("listens %v", got)
	}
	e.m.Close()
	if !reflect.DeepEqual(e.conn.listens, []bool{true, false}) || !e.conn.isClosed() {
		t.Fatalf("close: listens %v closed %v", e.conn.listens, e.conn.isClosed())
	}
}

// The connector refused (a network namespace other than the initial
// one): keepalived's line, the socket closed, nothing counted.
func TestMonitorRefused(t *testing.T) {
	c := newFakeConn()
	c.listenErr = os.NewSyscallError("sendmsg", unix.ECONNREFUSED)
	q0 := proc("none", "kgtpx")
	q0.Quorum, q0.QuorumMax = 0, 0
	e := startMon(t, trackCfg(proc("tp", "kgtpd"), q0), c, nil)
	s := e.m.Status()
	if s.Open || s.Listening {
		t.Fatalf("snapshot %+v", s)
	}
	if st, _ := s.Tracker("tp"); st.Count != 0 || st.Up {
		t.Fatalf("tp %+v", st)
	}
	if st, _ := s.Tracker("none"); !st.Up {
		t.Fatalf("none %+v", st)
	}
	if got := e.lines(); !reflect.DeepEqual(got, []string{"Failed to set/clear process event listen - errno 111 - Connection refused"}) {
		t.Fatalf("log %q", got)
	}
	if !c.isClosed() {
		t.Fatal("socket left open")
	}
	// A reload reopens the socket without LISTEN and counts a snapshot.
	c2 := newFakeConn()
	e.m.opts.Dial = func() (Conn, error) { return c2, nil }
	s = e.m.Reload(trackCfg(proc("tp", "kgtpd"), q0))
	if st, _ := s.Tracker("tp"); st.Count != 1 || !st.Up || !s.Open || s.Listening {
		t.Fatalf("after reload %+v", s)
	}
	if len(c2.listens) != 0 {
		t.Fatalf("reload sent LISTEN %v", c2.listens)
	}
	e.m.Close()
	if len(c2.listens) != 0 || !c2.isClosed() {
		t.Fatalf("close after refused start: listens %v", c2.listens)
	}
}

func TestMonitorDialErrors(t *testing.T) {
	cases := []struct {
		err  error
		bufs config.NetlinkBufs
		want []string
	}{
		{&DialError{Op: "socket", Err: os.NewSyscallError("socket", unix.EPROTONOSUPPORT)}, config.NetlinkBufs{}, []string{
			"track_process not available - is CONFIG_PROC_EVENTS enabled in kernel config?",
			"Failed to set/clear process event listen - errno 9 - Bad file descriptor",
		}},
		{&DialError{Op: "bind", Err: unix.EPERM}, config.NetlinkBufs{ProcessMonitor: 1 << 20, ProcessMonitorForce: true}, []string{
			"Failed to bind to process monitoring socket - errno 1 - Operation not permitted",
			"Cannot set process monitor SO_RCVBUFFORCE option. errno=9 (Bad file descriptor)",
			"Failed to set/clear process event listen - errno 9 - Bad file descriptor",
		}},
		{&DialError{Op: "socket", Err: unix.EMFILE}, config.NetlinkBufs{}, []string{
			"Failed to open process monitoring socket - errno 24 - Too many open files",
			"Failed to set/clear process event listen - errno 9 - Bad file descriptor",
		}},
	}
	for _, tc := range cases {
		cfg := trackCfg(proc("tp", "kgtpd"))
		cfg.Global.NetlinkBufs = tc.bufs
		e := startMon(t, cfg, nil, tc.err)
		if s := e.m.Status(); s.Open || s.NotSupported != errors.Is(tc.err, unix.EPROTONOSUPPORT) {
			t.Errorf("%v: %+v", tc.err, s)
		}
		if got := e.lines(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: log %q", tc.err, got)
		}
	}
}

func TestMonitorBadInput(t *testing.T) {
	c := newFakeConn()
	e := startMon(t, trackCfg(proc("tp", "kgtpd")), c, nil)
	e.send(Msg{What: EventNone, Ack: 1})
	good := Msg{Idx: 1, Val: 1, What: EventExit, PID: 10, TGID: 10}.Marshal()
	c.in <- received{b: good, from: 4242} // not the kernel
	c.in <- received{b: good[:10]}        // !NLMSG_OK
	short := Msg{Idx: 1, Val: 1, What: EventFork, ParentPID: 10, ParentTGID: 10, ChildPID: 11, ChildTGID: 11}.Marshal()[:60]
	binary.NativeEndian.PutUint32(short, 60)
	c.in <- received{b: short}          // too short for its event
	c.in <- received{}                  // empty
	c.in <- received{err: unix.EINVAL}  // receive error
	c.in <- received{err: unix.ENOBUFS} // overrun
	s := e.until("bad input handled", func(s Snapshot) bool { return s.Stats.Overruns == 1 })
	if st, _ := s.Tracker("tp"); st.Count != 1 || !st.Up {
		t.Fatalf("tp changed: %+v", st)
	}
	if s.Stats.Dropped != 3 || s.Stats.Overruns != 1 {
		t.Fatalf("stats %+v", s.Stats)
	}
	got := strings.Join(e.lines(), "\n")
	for _, w := range []string{"addrlen 12, expect 12, pid 4242", "proc_event !NLMSG_OK", "proc_event recvmsg returned 0",
		"process monitor netlink recv error 22 - Invalid argument"} {
		if !strings.Contains(got, w) {
			t.Errorf("log lacks %q:\n%s", w, got)
		}
	}
	// A second after the overrun the socket buffer grows and /proc is
	// read again.
	e.host.Remove(10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := e.m.Status().Tracker("tp"); !st.Up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reinitialisation")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ev := e.next(); ev.Up || ev.Tracker != "tp" {
		t.Fatalf("event %+v", ev)
	}
	if got := strings.Join(e.lines(), "\n"); !strings.Contains(got, "Setting global_def process_monitor_rcv_bufs to 425984") {
		t.Errorf("log %s", got)
	}
	if e.host.Grown != 1 {
		t.Fatalf("grown %d", e.host.Grown)
	}
}

// Events queue while the consumer is away; past maxQueue they fold into
// each tracker's latest state.
func TestMonitorQueue(t *testing.T) {
	e := startMon(t, trackCfg(proc("tp", "kgtpd"), proc("other", "kgtpo")), newFakeConn(), nil)
	e.send(Msg{What: EventNone, Ack: 1})
	for i := range maxQueue/2 + 1 {
		e.send(Msg{What: EventExit, PID: 10, TGID: 10})
		e.host.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
		e.send(Msg{What: EventExec, PID: 10, TGID: 10})
		if i == 0 {
			e.host.Set(ProcInfo{PID: 20, Comm: "kgtpo"})
			e.send(Msg{What: EventExec, PID: 20, TGID: 20})
		}
	}
	e.until("all handled", func(s Snapshot) bool { return s.Stats.Messages == 1+2*(maxQueue/2+1)+1 })
	// 4099 events: folded at the 4097th (a tp gain) to other's only
	// event and tp's latest; the last two came after.
	want := []Event{{3, "other", true}, {4097, "tp", true}, {4098, "tp", false}, {4099, "tp", true}}
	var got []Event
	for len(got) < len(want) {
		got = append(got, e.next())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("folded queue %+v", got)
	}
	select {
	case ev := <-e.m.Events():
		t.Fatalf("extra event %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	if !strings.Contains(strings.Join(e.lines(), "\n"), "events behind") {
		t.Fatal("folding not logged")
	}
}

func TestNumCPUsConf(t *testing.T) {
	// The possible CPUs include every CPU this process may run on.
	if n := numCPUsConf(); n < runtime.NumCPU() {
		t.Fatalf("%d CPUs, %d usable", n, runtime.NumCPU())
	}
}
