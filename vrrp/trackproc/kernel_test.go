package trackproc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
)

// These tests use the kernel's process-events connector, which answers
// only in the initial network namespace and to root.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the process-events connector is for CAP_NET_ADMIN")
	}
}

// tag makes names no other test uses; a comm keeps 15 characters.
func tag(letter string) string {
	return fmt.Sprintf("kgtp%s%d", letter, os.Getpid()%100000)
}

// copyBinary copies src into dir under name: a program whose comm is
// name.
func copyBinary(t *testing.T, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// procs starts and kills test processes, by PID, and kills what is left
// at the end.
type procs struct {
	t    *testing.T
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func newProcs(t *testing.T) *procs {
	p := &procs{t: t}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.cmds {
			if c.ProcessState == nil {
				syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
				c.Wait()
			}
		}
	})
	return p
}

func (p *procs) start(argv ...string) *exec.Cmd {
	p.t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, c)
	p.mu.Unlock()
	return c
}

// kill kills the process (not its group) and reaps it.
func (p *procs) kill(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
}

// logLines collects a logrus logger's messages with their arrival time.
type logLines struct {
	mu     sync.Mutex
	lines  []stamped
	t0     time.Time
	mirror func(string)
}

type stamped struct {
	at   time.Duration
	line string
}

func (l *logLines) Levels() []logrus.Level { return logrus.AllLevels }
func (l *logLines) Fire(e *logrus.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, stamped{time.Since(l.t0), e.Message})
	if l.mirror != nil {
		l.mirror(e.Message)
	}
	return nil
}

func (l *logLines) all() []stamped {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]stamped(nil), l.lines...)
}

func newLog(t0 time.Time) (*logrus.Entry, *logLines) {
	ll := &logLines{t0: t0}
	lg := logrus.New()
	lg.Out = io.Discard
	lg.AddHook(ll)
	return logrus.NewEntry(lg), ll
}

// waitEvent waits for the next event and says how long it took.
func waitEvent(t *testing.T, m *Monitor, limit time.Duration) (Event, time.Duration) {
	t.Helper()
	t0 := time.Now()
	select {
	case ev := <-m.Events():
		return ev, time.Since(t0)
	case <-time.After(limit):
		t.Fatalf("no event within %v; status %+v", limit, m.Status())
		return Event{}, 0
	}
}

func noEvent(t *testing.T, m *Monitor, d time.Duration) {
	t.Helper()
	select {
	case ev := <-m.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

// slack is how late past its delay a change may come on a loaded
// machine; a change is never accepted early.
const slack = 3 * time.Second

// TestConnectorRootNS runs the Monitor on the real connector in the
// initial network namespace: processes under distinctive names are
// started and killed, and the trackers follow with their delays.
func TestConnectorRootNS(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	sleepA := copyBinary(t, "/bin/sleep", dir, tag("A"))
	sleepF := copyBinary(t, "/bin/sleep", dir, tag("F"))
	bashK := copyBinary(t, "/bin/bash", dir, tag("K"))
	comm := &config.TrackProcess{Name: "comm", Process: tag("A"), Quorum: 1, QuorumMax: -1,
		TerminateDelay: 300 * time.Millisecond, ForkDelay: 300 * time.Millisecond}
	exact := &config.TrackProcess{Name: "exact", Process: sleepF, Params: []string{"3600", "1"}, ParamMatch: "exact",
		FullCommand: true, Quorum: 1, QuorumMax: -1}
	initial := &config.TrackProcess{Name: "initial", Process: sleepF, Params: []string{"3600", "2"}, ParamMatch: "initial",
		FullCommand: true, Quorum: 1, QuorumMax: -1}
	partial := &config.TrackProcess{Name: "partial", Process: sleepF, Params: []string{"3601"}, ParamMatch: "partial",
		FullCommand: true, Quorum: 1, QuorumMax: -1}
	fork := &config.TrackProcess{Name: "fork", Process: tag("K"), Quorum: 2, QuorumMax: -1, ForkDelay: 400 * time.Millisecond}
	pr := newProcs(t)
	already := pr.start(sleepA, "3600") // running before the start: found by the scan
	logger, lines := newLog(time.Now())
	cfg := &config.Config{TrackProcesses: []*config.TrackProcess{comm, exact, initial, partial, fork}}
	cfg.Global.NetlinkBufs.ProcessMonitor = 1 << 20 // process_monitor_rcv_bufs: set without complaint
	m := Start(cfg, MonitorOptions{Log: logger, LogDetail: true})
	defer m.Close()
	s := m.Status()
	if !s.Open || !s.Listening {
		t.Fatalf("the connector refused LISTEN (this test must run in the initial network namespace): %+v\n%v", s, lines.all())
	}
	if st, _ := s.Tracker("comm"); st.Count != 1 || !st.Up {
		t.Fatalf("initial scan missed the running %s: %+v", tag("A"), st)
	}
	waitFor(t, "the kernel's LISTEN acknowledgement", func() bool { return m.Status().Responded })

	// comm, terminate_delay: the loss comes after 300ms; a restart
	// within the delay cancels it.
	pr.kill(already)
	noEvent(t, m, 100*time.Millisecond)
	a := pr.start(sleepA, "3600")
	noEvent(t, m, 500*time.Millisecond)
	pr.kill(a)
	ev, d := waitEvent(t, m, 10*time.Second)
	if ev.Tracker != "comm" || ev.Up || d < 300*time.Millisecond || d > 300*time.Millisecond+slack {
		t.Fatalf("comm loss %+v after %v, want after 300ms", ev, d)
	}
	t.Logf("comm: lost %v after the kill (terminate_delay 300ms)", d)

	// Full command lines with exact, initial and partial matching.
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"3600", "1"}, []string{"exact"}},
		{[]string{"3600", "1", "5"}, nil},
		{[]string{"3600", "25"}, []string{"initial"}},
		{[]string{"3601", "7"}, []string{"partial"}},
		{[]string{"36010"}, nil},
	}
	for _, tc := range cases {
		c := pr.start(append([]string{sleepF}, tc.args...)...)
		for _, w := range tc.want {
			ev, _ := waitEvent(t, m, 10*time.Second)
			if ev.Tracker != w || !ev.Up {
				t.Fatalf("%v: event %+v, want %s up", tc.args, ev, w)
			}
		}
		noEvent(t, m, 200*time.Millisecond)
		pr.kill(c)
		for _, w := range tc.want {
			ev, _ := waitEvent(t, m, 10*time.Second)
			if ev.Tracker != w || ev.Up {
				t.Fatalf("%v: event %+v, want %s down", tc.args, ev, w)
			}
		}
	}

	// fork_delay: a bash whose subshell makes the count reach quorum 2
	// by a fork; the subshell's own child execs sleep and stops counting.
	k := pr.start(bashK, "-c", "(/bin/sleep 3600; :) & wait")
	ev, d = waitEvent(t, m, 10*time.Second)
	if ev.Tracker != "fork" || !ev.Up || d < 400*time.Millisecond || d > 400*time.Millisecond+slack {
		t.Fatalf("fork gain %+v after %v, want after 400ms", ev, d)
	}
	t.Logf("fork: gained %v after the start (fork_delay 400ms)", d)
	if st, _ := m.Status().Tracker("fork"); st.Count != 2 {
		t.Fatalf("fork count %+v", st)
	}
	sub := childOf(t, k.Process.Pid, tag("K"))
	syscall.Kill(sub, syscall.SIGKILL)
	ev, d = waitEvent(t, m, 10*time.Second)
	if ev.Tracker != "fork" || ev.Up || d > slack {
		t.Fatalf("fork loss %+v after %v", ev, d)
	}
	k.Wait() // the parent's wait returned: it exits too
	syscall.Kill(-k.Process.Pid, syscall.SIGKILL)
	waitFor(t, "every count back to 0", func() bool {
		for _, st := range m.Status().Trackers {
			if st.Count != 0 || st.Up {
				return false
			}
		}
		return true
	})
	for _, l := range lines.all() {
		t.Logf("%8.3fs %s", l.at.Seconds(), l.line)
		if strings.HasPrefix(l.line, "Cannot") || strings.HasPrefix(l.line, "Failed") {
			t.Errorf("socket setup complained: %s", l.line)
		}
	}
}

// childOf finds the child of pid whose comm is comm.
func childOf(t *testing.T, pid int, comm string) int {
	t.Helper()
	var found int
	waitFor(t, "the subshell", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if err != nil {
			return false
		}
		for _, f := range strings.Fields(string(b)) {
			var c int
			fmt.Sscan(f, &c)
			if cm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c)); strings.TrimSpace(string(cm)) == comm {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectorNetNSRefused opens the socket in a network namespace of
// its own: the kernel has no connector there and refuses LISTEN with
// ECONNREFUSED. Like keepalived, the Monitor logs it, closes the socket,
// does not scan, so a running tracked process is not counted, and hears
// nothing afterwards; a reload counts what runs then, once.
func TestConnectorNetNSRefused(t *testing.T) {
	needRoot(t)
	ns := fmt.Sprintf("kgtp%dnsr", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	sleepA := copyBinary(t, "/bin/sleep", dir, tag("N"))
	pr := newProcs(t)
	running := pr.start(sleepA, "3600")
	waitFor(t, "the process", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", running.Process.Pid))
		return strings.TrimSpace(string(b)) == tag("N")
	})
	tp := &config.TrackProcess{Name: "tp", Process: tag("N"), Quorum: 1, QuorumMax: -1}
	none := &config.TrackProcess{Name: "none", Process: tag("N"), Quorum: 0, QuorumMax: 0}
	cfg := &config.Config{TrackProcesses: []*config.TrackProcess{tp, none}}
	logger, lines := newLog(time.Now())
	m := Start(cfg, MonitorOptions{Log: logger, NetNS: int(f.Fd())})
	defer m.Close()
	s := m.Status()
	if s.Open || s.Listening {
		t.Fatalf("connector accepted in a netns: %+v", s)
	}
	got := lines.all()
	if len(got) != 1 || got[0].line != "Failed to set/clear process event listen - errno 111 - Connection refused" {
		t.Fatalf("log %+v", got)
	}
	if st, _ := s.Tracker("tp"); st.Count != 0 || st.Up {
		t.Fatalf("tp %+v", st)
	}
	if st, _ := s.Tracker("none"); st.Count != 0 || !st.Up {
		t.Fatalf("none %+v", st)
	}
	other := pr.start(sleepA, "3600")
	pr.kill(running)
	noEvent(t, m, 300*time.Millisecond)
	s = m.Reload(cfg)
	if st, _ := s.Tracker("tp"); st.Count != 1 || !st.Up {
		t.Fatalf("after reload tp %+v", st)
	}
	if st, _ := s.Tracker("none"); st.Up {
		t.Fatalf("after reload none %+v", st)
	}
	if !s.Open || s.Listening {
		t.Fatalf("after reload: %+v", s)
	}
	pr.kill(other)
	noEvent(t, m, 300*time.Millisecond)
	if st, _ := m.Status().Tracker("tp"); st.Count != 1 {
		t.Fatalf("a snapshot should not move: %+v", st)
	}
}

// TestDialRcvBuf: process_monitor_rcv_bufs on the real socket, and the
// doubling of reinitialise_track_processes.
func TestDialRcvBuf(t *testing.T) {
	needRoot(t)
	c, err := Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetRcvBuf(1<<20, true); err != nil {
		t.Fatal(err)
	}
	if n, err := c.RcvBuf(); err != nil || n != 2<<20 { // the kernel doubles what is set
		t.Fatalf("SO_RCVBUF %d %v", n, err)
	}
	h := &sysHost{m: &Monitor{conn: c}}
	size, getErr, setErr := h.GrowRcvBuf(true)
	if getErr != nil || setErr != nil || size != 4<<20 {
		t.Fatalf("grow: %d %v %v", size, getErr, setErr)
	}
	if n, _ := c.RcvBuf(); n != 8<<20 {
		t.Fatalf("after growing: %d", n)
	}
}
