package trackproc

import (
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errEBADF = syscall.EBADF

// env drives a Core with a fake clock and a MemHost, numbering messages
// on CPU 0 as the kernel does.
type env struct {
	t    *testing.T
	c    *Core
	h    *MemHost
	now  time.Duration
	seq  uint32
	log  []string // everything logged and changed, in order
	next int32
}

func newEnv(t *testing.T, opts Options, specs ...Spec) *env {
	t.Helper()
	h := NewMemHost()
	return &env{t: t, c: NewCore(specs, h, opts), h: h, next: 1000}
}

func (e *env) drain() {
	r := e.c.Ready()
	e.log = append(e.log, r.Logs...)
	for _, ch := range r.Changes {
		e.log = append(e.log, fmt.Sprintf("change %s up=%v", ch.Tracker, ch.Up))
	}
}

// start starts the core; when listening, the kernel acknowledges.
func (e *env) start(listening bool) {
	e.c.Start(e.now, listening, 2)
	e.drain()
	if listening {
		e.send(Msg{What: EventNone, Ack: 1})
	}
}

func (e *env) send(m Msg) {
	m.Idx, m.Val, m.Seq = CnIdxProc, CnValProc, e.seq
	e.seq++
	e.c.Handle(e.now, m)
	e.drain()
}

// spawn is a shell starting a program: fork of an untracked parent, then
// exec of the child.
func (e *env) spawn(comm string, argv ...string) int32 {
	pid := e.next
	e.next++
	e.send(Msg{What: EventFork, ParentPID: 1, ParentTGID: 1, ChildPID: pid, ChildTGID: pid})
	e.h.Set(ProcInfo{PID: pid, Comm: comm, Cmdline: cmdline(argv...)})
	e.send(Msg{What: EventExec, PID: pid, TGID: pid})
	return pid
}

// fork is a process forking a copy of itself.
func (e *env) fork(parent int32) int32 {
	pid := e.next
	e.next++
	p, _ := e.h.Lookup(parent, Read{Comm: true, Cmdline: true, Limit: 1 << 20})
	p.PID = pid
	e.h.Set(p)
	e.send(Msg{What: EventFork, ParentPID: parent, ParentTGID: parent, ChildPID: pid, ChildTGID: pid})
	return pid
}

func (e *env) exec(pid int32, comm string, argv ...string) {
	e.h.Set(ProcInfo{PID: pid, Comm: comm, Cmdline: cmdline(argv...)})
	e.send(Msg{What: EventExec, PID: pid, TGID: pid})
}

func (e *env) exit(pid int32) {
	e.h.Remove(pid)
	e.send(Msg{What: EventExit, PID: pid, TGID: pid})
}

func (e *env) advance(d time.Duration) {
	e.now += d
	e.c.Tick(e.now)
	e.drain()
}

func (e *env) want(lines ...string) {
	e.t.Helper()
	if lines == nil {
		lines = []string{}
	}
	got := e.log
	if got == nil {
		got = []string{}
	}
	if !reflect.DeepEqual(got, lines) {
		e.t.Fatalf("at %v got\n  %s\nwant\n  %s", e.now, strings.Join(got, "\n  "), strings.Join(lines, "\n  "))
	}
	e.log = nil
}

func (e *env) wantStatus(name string, count int, up bool) {
	e.t.Helper()
	for _, s := range e.c.Status() {
		if s.Name == name {
			if s.Count != count || s.Up != up {
				e.t.Fatalf("%s: count %d up %v, want %d %v", name, s.Count, s.Up, count, up)
			}
			return
		}
	}
	e.t.Fatalf("no tracker %s", name)
}

func cmdline(argv ...string) []byte {
	if len(argv) == 0 {
		return nil
	}
	return []byte(strings.Join(argv, "\x00") + "\x00")
}

func spec(name, process string) Spec {
	return Spec{Name: name, Process: process, Quorum: 1, QuorumMax: Unlimited}
}

func TestCommStartExit(t *testing.T) {
	e := newEnv(t, Options{}, spec("tp", "kgtpd"))
	e.start(true)
	e.wantStatus("tp", 0, false)
	e.want()
	pid := e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.wantStatus("tp", 1, true)
	other := e.spawn("sshd")
	e.exit(other)
	e.want()
	e.exit(pid)
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	e.wantStatus("tp", 0, false)
}

// The initial scan's state is not a change: keepalived sets it in
// initialise_process_tracking_priorities without logging quorum lines.
func TestInitialScan(t *testing.T) {
	e := newEnv(t, Options{}, spec("a", "kgtpa"), spec("b", "kgtpb"))
	e.h.Set(ProcInfo{PID: 10, Comm: "kgtpa"})
	e.h.Set(ProcInfo{PID: 11, Comm: "kgtpb"})
	e.h.Zombie(11) // a zombie is skipped when the comm is read from stat
	e.start(true)
	e.want()
	e.wantStatus("a", 1, true)
	e.wantStatus("b", 0, false)
	e.exit(10)
	e.want("Quorum lost for tracked process a", "change a up=false")
}

// terminate_delay: the loss is reported only after the delay, and a
// process back in time cancels it without any change.
func TestTerminateDelay(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.TerminateDelay = 2 * time.Second
	e := newEnv(t, Options{}, s)
	e.start(true)
	pid := e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.exit(pid)
	e.want()
	if st := e.c.Status()[0]; !st.TerminatePending || !st.Up || st.Count != 0 {
		t.Fatalf("status %+v", st)
	}
	e.advance(time.Second)
	pid = e.spawn("kgtpd") // back within the delay
	e.want()
	e.advance(5 * time.Second)
	e.want()
	e.exit(pid)
	e.advance(2*time.Second - time.Microsecond)
	e.want()
	e.advance(time.Microsecond)
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	if _, ok := e.c.NextDeadline(); ok {
		t.Fatal("a timer is still pending")
	}
}

// A start by exec never waits fork_delay: keepalived applies it only
// when a counted process forks.
func TestForkDelay(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.Quorum = 2
	s.ForkDelay = 3 * time.Second
	e := newEnv(t, Options{}, s)
	e.start(true)
	p1 := e.spawn("kgtpd")
	e.want()
	child := e.fork(p1) // reaches quorum 2 by a fork: wait fork_delay
	e.want()
	e.wantStatus("tp", 2, false)
	e.advance(3 * time.Second)
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	// The child exiting drops below quorum at once (no terminate_delay).
	e.exit(child)
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	// A fork whose child exits within fork_delay: the timer is cancelled
	// and nothing is reported.
	child = e.fork(p1)
	e.advance(time.Second)
	e.exit(child)
	e.want()
	e.advance(10 * time.Second)
	e.want()
	// Reaching quorum by exec is immediate.
	e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
}

// delay sets both: a quick restart under a supervisor that forks is
// absorbed.
func TestForkCancelsTerminate(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.ForkDelay, s.TerminateDelay = time.Second, time.Second
	e := newEnv(t, Options{}, s)
	e.h.Set(ProcInfo{PID: 50, Comm: "kgtpd"})
	e.start(true)
	e.wantStatus("tp", 1, true)
	e.exit(50)
	e.want()
	// A new instance appears by fork of an untracked parent and exec:
	// that cancels the terminate timer.
	e.spawn("kgtpd")
	e.advance(time.Minute)
	e.want()
	e.wantStatus("tp", 1, true)
}

func TestQuorumMax(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.Quorum, s.QuorumMax = 2, 3
	e := newEnv(t, Options{}, s)
	e.start(true)
	var pids []int32
	for range 4 {
		pids = append(pids, e.spawn("kgtpd"))
	}
	e.want("Quorum gained for tracked process tp", "change tp up=true",
		"Quorum lost for tracked process tp", "change tp up=false")
	e.wantStatus("tp", 4, false)
	e.exit(pids[3])
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.exit(pids[2])
	e.want()
	e.exit(pids[1])
	e.want("Quorum lost for tracked process tp", "change tp up=false")
}

// quorum_max 0 (quorum 0): the tracker is up while no process runs.
func TestQuorumZero(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.Quorum, s.QuorumMax = 0, 0
	e := newEnv(t, Options{}, s)
	e.start(true)
	e.wantStatus("tp", 0, true)
	pid := e.spawn("kgtpd")
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	e.exit(pid)
	e.want("Quorum gained for tracked process tp", "change tp up=true")
}

// A process exec'ing something else stops counting at once, without
// terminate_delay; one exec'ing the same program again is counted twice
// while it lives, as in keepalived (check_process adds a reference
// without looking for one).
func TestExecAway(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.TerminateDelay = time.Second
	e := newEnv(t, Options{}, s)
	e.start(true)
	pid := e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.exec(pid, "sleep")
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	e.exec(pid, "kgtpd")
	e.exec(pid, "kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.wantStatus("tp", 2, true)
	e.exit(pid)
	e.advance(time.Second)
	e.want("Quorum lost for tracked process tp", "change tp up=false")
	e.wantStatus("tp", 0, false)
}

// Renaming (PROC_EVENT_COMM) moves a process between comm trackers at
// once; full_command trackers ignore it.
func TestCommChange(t *testing.T) {
	full := spec("full", "/usr/bin/kgtpd")
	full.FullCommand = true
	s := spec("tp", "kgtpd")
	s.TerminateDelay = time.Hour
	e := newEnv(t, Options{}, s, spec("worker", "kgtpd-worker"), full)
	e.start(true)
	pid := e.spawn("kgtpd", "/usr/bin/kgtpd")
	e.want("Quorum gained for tracked process tp", "Quorum gained for tracked process full",
		"change tp up=true", "change full up=true")
	e.send(Msg{What: EventComm, PID: pid, TGID: pid, Comm: "kgtpd-worker"})
	e.want("Quorum lost for tracked process tp", "Quorum gained for tracked process worker",
		"change tp up=false", "change worker up=true")
	e.send(Msg{What: EventComm, PID: pid, TGID: pid, Comm: "kgtpd-worker"}) // unchanged
	e.want()
	e.wantStatus("full", 1, true)
	// A thread renamed is ignored.
	e.send(Msg{What: EventComm, PID: pid + 100, TGID: pid, Comm: "kgtpd"})
	e.want()
}

func TestThreadsIgnored(t *testing.T) {
	e := newEnv(t, Options{}, spec("tp", "kgtpd"))
	e.start(true)
	pid := e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.send(Msg{What: EventFork, ParentPID: pid, ParentTGID: pid, ChildPID: pid + 1, ChildTGID: pid})
	e.send(Msg{What: EventExit, PID: pid + 1, TGID: pid})
	e.send(Msg{What: EventExec, PID: pid + 1, TGID: pid})
	e.want()
	e.wantStatus("tp", 1, true)
}

func TestFullCommandParams(t *testing.T) {
	mk := func(name string, m Match, params ...string) Spec {
		s := spec(name, "/opt/kgtpd")
		s.FullCommand, s.Match = true, m
		if len(params) > 0 {
			s.Params = cmdline(params...)
		}
		return s
	}
	specs := []Spec{
		mk("argv0", MatchNone),
		mk("noparams", MatchExact),
		mk("exact", MatchExact, "-c", "a.conf"),
		mk("initial", MatchInitial, "-c", "a.co"),
		mk("partial", MatchPartial, "-c"),
		mk("partialall", MatchPartial),
	}
	cases := []struct {
		argv []string
		want []string
	}{
		{[]string{"/opt/kgtpd"}, []string{"argv0", "noparams", "partialall"}},
		{[]string{"/opt/kgtpd", "-c", "a.conf"}, []string{"argv0", "exact", "initial", "partial", "partialall"}},
		{[]string{"/opt/kgtpd", "-c", "a.conf", "-d"}, []string{"argv0", "initial", "partial", "partialall"}},
		{[]string{"/opt/kgtpd", "-c", "a.co"}, []string{"argv0", "initial", "partial", "partialall"}},
		{[]string{"/opt/kgtpd", "-cx"}, []string{"argv0", "partialall"}},
		{[]string{"/opt/kgtpd", "-c", "b.conf"}, []string{"argv0", "partial", "partialall"}},
		{[]string{"kgtpd", "-c", "a.conf"}, nil},
		{[]string{"/opt/kgtpd2"}, nil},
	}
	for _, tc := range cases {
		c := NewCore(specs, NewMemHost(), Options{})
		var got []string
		for _, s := range c.trackers {
			if s.matches("", cmdline(tc.argv...)) {
				got = append(got, s.Name)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: matched %v, want %v", tc.argv, got, tc.want)
		}
	}
	// A command line rewritten without NULs matches argv0 alone (and
	// partial without parameters), as keepalived's size_t -1 does.
	var got []string
	for _, s := range specs {
		if s.matches("", []byte("/opt/kgtpd")) {
			got = append(got, s.Name)
		}
	}
	if want := []string{"argv0", "partialall"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unterminated: %v, want %v", got, want)
	}
}

// keepalived reads only vrrp_max_process_name_len+1 (scan) or +2 (exec)
// bytes of a command line; a longer one must still not match exactly.
func TestCmdlineLimit(t *testing.T) {
	s := spec("exact", "/opt/kgtpd")
	s.FullCommand, s.Match, s.Params = true, MatchExact, cmdline("-c", "a")
	e := newEnv(t, Options{}, s)
	e.h.Set(ProcInfo{PID: 7, Cmdline: cmdline("/opt/kgtpd", "-c", "a", strings.Repeat("x", 100))})
	e.h.Set(ProcInfo{PID: 8, Cmdline: cmdline("/opt/kgtpd", "-c", "a")})
	e.start(true)
	e.wantStatus("exact", 1, true)
	if e.c.read != (Read{Cmdline: true, Limit: len("/opt/kgtpd") + 1 + len("-c\x00a\x00")}) {
		t.Fatalf("read %+v", e.c.read)
	}
	e.exec(8, "", "/opt/kgtpd", "-c", "a", "-v")
	e.want("Quorum lost for tracked process exact", "change exact up=false")
}

func TestSequenceAndFilters(t *testing.T) {
	e := newEnv(t, Options{Detail: true}, spec("tp", "kgtpd"))
	e.start(true)
	e.want("proc_events has confirmed it is configured")
	if !e.c.Responded() {
		t.Fatal("ack not recorded")
	}
	e.seq += 5
	e.send(Msg{What: EventExit, PID: 1, TGID: 1})
	e.want("Missed 5 messages on CPU 0")
	e.send(Msg{What: EventNone, Ack: 1}) // another listener's LISTEN is acknowledged to all
	e.want("proc_events has confirmed it is configured")
	// An event flagged as an ack, an ack without the flag, another
	// connector and a CPU past the count are ignored.
	pid := e.next
	e.h.Set(ProcInfo{PID: pid, Comm: "kgtpd"})
	for _, m := range []Msg{
		{What: EventExec, PID: pid, TGID: pid, Ack: 1},
		{What: EventNone},
		{What: EventExec, PID: pid, TGID: pid, CPU: 2},
	} {
		m.Idx, m.Val, m.Seq = CnIdxProc, CnValProc, e.seq
		e.seq++
		e.c.Handle(e.now, m)
	}
	e.c.Handle(e.now, Msg{Idx: 2, Val: 1, What: EventExec, PID: pid, TGID: pid, Seq: e.seq})
	e.drain()
	e.want()
	e.wantStatus("tp", 0, false)
	// The three skipped messages numbered on CPU 0 show as missed.
	e.send(Msg{What: EventExit, PID: 1, TGID: 1})
	e.want("Missed 3 messages on CPU 0")
	// Without --log-detail the gap is not logged while a reinitialisation
	// is pending.
	e.c.detail = false
	e.c.Overflow(e.now)
	e.seq += 2
	e.send(Msg{What: EventExit, PID: 1, TGID: 1})
	e.want()
	if st := e.c.Stats(); st.Missed != 10 || st.Overruns != 1 || st.Dropped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAckTimeout(t *testing.T) {
	e := newEnv(t, Options{}, spec("tp", "kgtpd"))
	e.c.Start(e.now, true, 2)
	e.advance(99 * time.Millisecond)
	e.want()
	e.advance(time.Millisecond)
	e.want("WARNING - the kernel does not support proc events - track_process will not work")
	e = newEnv(t, Options{}, spec("tp", "kgtpd"))
	e.start(true)
	e.send(Msg{What: EventNone, Ack: 1})
	e.advance(time.Second)
	e.want()
}

// Refused LISTEN (a network namespace other than the initial one): no
// scan, so a running process is not counted, and no events; a reload
// scans /proc once, as keepalived's reload_track_processes does.
func TestNotListening(t *testing.T) {
	q0 := spec("none", "kgtpx")
	q0.Quorum, q0.QuorumMax = 0, 0
	e := newEnv(t, Options{}, spec("tp", "kgtpd"), q0)
	e.h.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
	e.start(false)
	e.wantStatus("tp", 0, false)
	e.wantStatus("none", 0, true)
	e.send(Msg{What: EventExit, PID: 10, TGID: 10})
	e.h.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
	e.send(Msg{What: EventExec, PID: 10, TGID: 10})
	e.advance(time.Second)
	e.want()
	e.c.Reload([]Spec{spec("tp", "kgtpd"), q0})
	e.drain()
	e.want()
	e.wantStatus("tp", 1, true)
	e.h.Remove(10)
	e.send(Msg{What: EventExit, PID: 10, TGID: 10})
	e.want()
	e.wantStatus("tp", 1, true)
}

func TestReload(t *testing.T) {
	s := spec("tp", "kgtpd")
	s.TerminateDelay = time.Second
	e := newEnv(t, Options{}, s, spec("gone", "kgtpg"))
	e.start(true)
	a := e.spawn("kgtpd")
	e.spawn("kgtpn")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
	e.exit(a) // terminate timer pending
	e.c.Reload([]Spec{spec("tp", "kgtpd"), spec("new", "kgtpn")})
	e.drain()
	e.want()
	e.wantStatus("tp", 0, false)
	e.wantStatus("new", 1, true)
	if _, ok := e.c.NextDeadline(); ok {
		t.Fatal("timer survived the reload")
	}
	e.spawn("kgtpd")
	e.want("Quorum gained for tracked process tp", "change tp up=true")
}

func TestOverflowReinitialise(t *testing.T) {
	s := spec("tp", "kgtpd")
	e := newEnv(t, Options{Detail: true}, s, spec("other", "kgtpo"))
	e.h.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
	e.start(true)
	e.want("proc_events has confirmed it is configured")
	e.wantStatus("tp", 1, true)
	e.c.Overflow(e.now)
	// Meanwhile the process died and another tracked one started, and
	// the events were lost.
	e.h.Remove(10)
	e.h.Set(ProcInfo{PID: 11, Comm: "kgtpo"})
	e.h.Set(ProcInfo{PID: 12, Comm: "kgtpo"})
	e.advance(999 * time.Millisecond)
	e.want()
	e.advance(time.Millisecond)
	e.want("Setting global_def process_monitor_rcv_bufs to 425984 - recommend updating configuration file",
		"Process tp, number of current processes changed from 1 to 0, quorum down",
		"Quorum lost for tracked process tp",
		"Process other, number of current processes changed from 0 to 2, quorum up",
		"Quorum gained for tracked process other",
		"change tp up=false", "change other up=true")
	e.h.GetErr = fmt.Errorf("wrapped: %w", errEBADF)
	e.c.Overflow(e.now)
	e.advance(time.Second)
	e.want("Cannot get process monitor SO_RCVBUF option. errno=9 (Bad file descriptor)")
}

// A configuration without track processes at start, and one reload that
// adds some: keepalived never ran init_track_processes, so its CPU count
// is 0 and every event is ignored; the trackers keep the reload's scan.
func TestReloadAddsTrackers(t *testing.T) {
	e := newEnv(t, Options{})
	e.h.Set(ProcInfo{PID: 10, Comm: "kgtpd"})
	e.c.Reload([]Spec{spec("tp", "kgtpd")})
	e.drain()
	e.want()
	e.wantStatus("tp", 1, true)
	e.exit(10)
	e.spawn("kgtpd")
	e.want()
	e.wantStatus("tp", 1, true)
}
