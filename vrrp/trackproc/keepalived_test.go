package trackproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keepalived-go/config"
)

// Side by side with Debian's keepalived 2.2.7: both watch the same
// processes at the same time, keepalived through its VRRP instance's log
// (-D), ours through the Monitor and kaInstance, a minimal stand-in for
// the engine that applies Effect as vrrp_track.c does.

const debianKeepalived = "/usr/sbin/keepalived"

func needKeepalived(t *testing.T) {
	t.Helper()
	needRoot(t)
	if _, err := os.Stat(debianKeepalived); err != nil {
		t.Skip("needs Debian's keepalived (apt-get install keepalived; scripts/deps.sh)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
}

// transcript is a list of normalized log lines with their arrival time.
type transcript struct {
	mu      sync.Mutex
	t0      time.Time
	lines   []stamped
	inFault bool
}

// add keeps the lines both sides must agree on: quorum changes, priority
// changes, FAULT entries and the exit from FAULT (to BACKUP), and the
// connector's refusal. MASTER/BACKUP moves driven by VRRP timing are
// not track_process's doing.
func (tr *transcript) add(line string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	keep := ""
	switch {
	case strings.HasPrefix(line, "Quorum "), strings.Contains(line, "Changing effective priority"),
		strings.HasPrefix(line, "Failed to set/clear process event listen"):
		keep = line
	case strings.Contains(line, "entering FAULT state (tracked process"):
		keep, tr.inFault = line, true
	case strings.HasSuffix(line, "entering FAULT state"):
		tr.inFault = true
	case strings.HasSuffix(line, "Entering FAULT STATE"):
		keep, tr.inFault = line, true
	case strings.Contains(line, "Entering BACKUP STATE") && tr.inFault:
		keep, tr.inFault = "(VI_1) Entering BACKUP STATE", false
	}
	if keep != "" {
		tr.lines = append(tr.lines, stamped{time.Since(tr.t0), keep})
	}
}

func (tr *transcript) len() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.lines)
}

func (tr *transcript) from(i int) []stamped {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]stamped(nil), tr.lines[i:]...)
}

var kaStamp = regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$`)

// keepalived runs Debian's keepalived -n -l -D (in ns when given), its
// console log feeding tr; it is stopped by PID at the end.
type keepalived struct {
	cmd     *exec.Cmd
	raw     []string
	mu      sync.Mutex
	vrrpPID string
	done    chan struct{}
}

func runKeepalived(t *testing.T, dir, conf, ns string, tr *transcript) *keepalived {
	t.Helper()
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &keepalived{vrrpPID: filepath.Join(dir, "vrrp.pid"), done: make(chan struct{})}
	argv := []string{debianKeepalived, "-n", "-l", "-D", "-G", "-P", "-f", cf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", k.vrrpPID}
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	k.cmd = exec.Command(argv[0], argv[1:]...)
	stderr, err := k.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	k.cmd.Stdout = k.cmd.Stderr
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(k.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if m := kaStamp.FindStringSubmatch(line); m != nil {
				line = m[1]
			}
			k.mu.Lock()
			k.raw = append(k.raw, line)
			k.mu.Unlock()
			tr.add(line)
		}
	}()
	t.Cleanup(func() { k.stop(t) })
	return k
}

func (k *keepalived) stop(t *testing.T) {
	if k.cmd.ProcessState != nil {
		return
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(10 * time.Second):
		if b, err := os.ReadFile(k.vrrpPID); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		k.cmd.Process.Kill()
		<-k.done
	}
	k.cmd.Wait()
	t.Logf("keepalived's log:\n  %s", strings.Join(k.log(), "\n  "))
}

func (k *keepalived) log() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.raw...)
}

func (k *keepalived) waitLog(t *testing.T, substr string) {
	t.Helper()
	waitFor(t, "keepalived: "+substr, func() bool {
		for _, l := range k.log() {
			if strings.Contains(l, substr) {
				return true
			}
		}
		return false
	})
}

// veth is the topology: the daemon's VRRP interface is one end
// of a veth pair in the namespace the daemon runs in, the other end is
// in a namespace of the test's. Only a /29 of 203.0.113.0/24 that the
// root namespace does not use is addressed.
type veth struct {
	ns, host, peer        string
	hostIP, peerIP, vipIP string
}

func newVeth(t *testing.T) *veth {
	t.Helper()
	pid := os.Getpid()
	v := &veth{ns: fmt.Sprintf("kgtp%dv", pid), host: fmt.Sprintf("kgtp%dh", pid), peer: fmt.Sprintf("kgtp%dp", pid)}
	used, _ := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	for i := range 32 {
		k := (pid + i) % 32
		if !strings.Contains(string(used), fmt.Sprintf("203.0.113.%d/", 8*k+1)) {
			v.hostIP, v.peerIP, v.vipIP = fmt.Sprintf("203.0.113.%d", 8*k+1), fmt.Sprintf("203.0.113.%d", 8*k+2), fmt.Sprintf("203.0.113.%d", 8*k+3)
			break
		}
	}
	if v.hostIP == "" {
		t.Fatal("no free /29 in 203.0.113.0/24")
	}
	t.Cleanup(v.close)
	for _, c := range [][]string{
		{"ip", "netns", "add", v.ns},
		{"ip", "link", "add", v.host, "type", "veth", "peer", "name", v.peer},
		{"ip", "link", "set", v.peer, "netns", v.ns},
		{"ip", "addr", "add", v.hostIP + "/29", "dev", v.host},
		{"ip", "link", "set", v.host, "up"},
		{"ip", "-n", v.ns, "addr", "add", v.peerIP + "/29", "dev", v.peer},
		{"ip", "-n", v.ns, "link", "set", v.peer, "up"},
		{"ip", "-n", v.ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	return v
}

// close kills what runs in the namespace, by PID, then removes the link
// and the namespace.
func (v *veth) close() {
	out, _ := exec.Command("ip", "netns", "pids", v.ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	exec.Command("ip", "link", "del", v.host).Run()
	exec.Command("ip", "netns", "del", v.ns).Run()
}

// kaInstance is keepalived's vrrp_track.c for one instance tracking
// processes: the effective priority and FAULT from the trackers' states,
// logged as keepalived logs them.
type kaInstance struct {
	name      string
	base      int
	refs      []config.TrackRef
	up        map[string]bool
	effective int
	fault     bool
	tr        *transcript
	seq       uint64
}

// init is initialise_process_tracking_priorities followed by
// vrrp_set_effective_priority for a fresh instance (start or reload).
func (v *kaInstance) init(s Snapshot) {
	v.up = map[string]bool{}
	for _, st := range s.Trackers {
		v.up[st.Name] = st.Up
	}
	v.seq = s.Seq
	wasFault := v.fault
	v.fault = false
	for _, st := range s.Trackers { // keepalived walks the trackers
		for _, r := range v.refs {
			if _, f := Effect(st.Up, r.Weight, r.Reverse); r.Name == st.Name && f {
				v.tr.add(fmt.Sprintf("(%s) entering FAULT state (tracked process %s quorum not achieved)", v.name, st.Name))
				v.fault = true
			}
		}
	}
	v.effective = v.base
	v.setPriority()
	// The instance starts after its priorities are set.
	if wasFault && !v.fault {
		v.tr.add(fmt.Sprintf("(%s) Entering BACKUP STATE (init)", v.name))
	}
}

func (v *kaInstance) setPriority() {
	total := v.base
	for _, r := range v.refs {
		d, _ := Effect(v.up[r.Name], r.Weight, r.Reverse)
		total += d
	}
	p := min(max(total, 1), 254)
	if v.base == 255 || p == v.effective {
		return
	}
	v.tr.add(fmt.Sprintf("(%s) Changing effective priority from %d to %d", v.name, v.effective, p))
	v.effective = p
}

// apply is process_update_track_process_status for this instance.
func (v *kaInstance) apply(ev Event) {
	if ev.Seq <= v.seq {
		return
	}
	v.seq = ev.Seq
	v.up[ev.Tracker] = ev.Up
	fault := false
	for _, r := range v.refs {
		if _, f := Effect(v.up[r.Name], r.Weight, r.Reverse); f {
			fault = true
		}
	}
	switch {
	case fault && !v.fault:
		v.tr.add(fmt.Sprintf("(%s) Entering FAULT STATE", v.name))
	case !fault && v.fault:
		v.tr.add(fmt.Sprintf("(%s) Entering BACKUP STATE", v.name))
	}
	v.fault = fault
	v.setPriority()
}

// sideBySide runs keepalived and ours on one configuration and collects
// both transcripts.
type sideBySide struct {
	t        *testing.T
	t0       time.Time
	ka, ours *transcript
	kad      *keepalived
	mon      *Monitor
	mu       sync.Mutex
	inst     *kaInstance
	cfg      *config.Config
}

func startSideBySide(t *testing.T, dir, conf, kaNS string, netnsFD int) *sideBySide {
	t.Helper()
	s := &sideBySide{t: t, t0: time.Now()}
	s.ka, s.ours = &transcript{t0: s.t0}, &transcript{t0: s.t0}
	s.kad = runKeepalived(t, dir, conf, kaNS, s.ka)
	s.kad.waitLog(t, "Startup complete")
	if kaNS == "" {
		s.kad.waitLog(t, "proc_events has confirmed it is configured")
	}
	s.cfg = loadConf(t, filepath.Join(dir, "keepalived.conf"))
	logger, hook := newLog(s.t0)
	hook.mirror = s.ours.add
	s.mon = Start(s.cfg, MonitorOptions{Log: logger, LogDetail: true, NetNS: netnsFD})
	in := s.cfg.Instances[0]
	s.inst = &kaInstance{name: in.Name, base: in.Priority, refs: in.TrackProcesses, tr: s.ours}
	s.inst.init(s.mon.Status())
	done := make(chan struct{})
	go func() {
		for {
			select {
			case ev := <-s.mon.Events():
				s.mu.Lock()
				s.inst.apply(ev)
				s.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); s.mon.Close() })
	return s
}

func loadConf(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, diags := config.Load(path, config.Options{})
	if diags.Fatal() {
		t.Fatalf("our config read failed: %v", diags)
	}
	return cfg
}

// reload is SIGHUP to keepalived and Reload to ours (the adapter starts
// the instance afresh, as keepalived's reload does).
func (s *sideBySide) reload() {
	s.kad.cmd.Process.Signal(syscall.SIGHUP)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inst.init(s.mon.Reload(s.cfg))
}

type step struct {
	name  string
	do    func()
	want  []string
	delay time.Duration // configured delay before the lines
}

// run performs the steps; each waits for its lines on both sides, then
// a quiet time in which nothing more may come.
func (s *sideBySide) run(steps []step) {
	t := s.t
	t.Helper()
	var report []string
	for _, st := range steps {
		ika, iours := s.ka.len(), s.ours.len()
		at := time.Since(s.t0)
		st.do()
		n := len(st.want)
		deadline := time.Now().Add(st.delay + 15*time.Second)
		for s.ka.len()-ika < n || s.ours.len()-iours < n {
			if time.Now().After(deadline) {
				t.Fatalf("step %q: keepalived %v, ours %v, want %q", st.name, lines(s.ka.from(ika)), lines(s.ours.from(iours)), st.want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(max(st.delay, 300*time.Millisecond) + 200*time.Millisecond)
		ka, ours := s.ka.from(ika), s.ours.from(iours)
		if !equal(lines(ka), st.want) || !equal(lines(ours), st.want) {
			t.Fatalf("step %q:\n keepalived %q\n ours       %q\n want       %q", st.name, lines(ka), lines(ours), st.want)
		}
		for i := range ka {
			dk, do := ka[i].at-at, ours[i].at-at
			report = append(report, fmt.Sprintf("%-22s %-58s keepalived %7.3fs  ours %7.3fs", st.name, ka[i].line, dk.Seconds(), do.Seconds()))
			if dk < st.delay || do < st.delay {
				t.Errorf("step %q: %q before its delay %v: keepalived %v ours %v", st.name, ka[i].line, st.delay, dk, do)
			}
			if dk > st.delay+slack || do > st.delay+slack {
				t.Errorf("step %q: %q later than %v past its delay: keepalived %v ours %v", st.name, ka[i].line, slack, dk, do)
			}
		}
		if n == 0 {
			report = append(report, fmt.Sprintf("%-22s (nothing, on both sides)", st.name))
		}
	}
	t.Logf("side by side, delays from each step's action:\n%s", strings.Join(report, "\n"))
}

func lines(l []stamped) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, s.line)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// trackConf is the configuration both daemons read.
func trackConf(dir, iface, src, peer, vip string) string {
	return fmt.Sprintf(`global_defs {
  router_id kgtp
}
vrrp_track_process tp_w {
  process %[1]s
  weight 10
  delay 1
}
vrrp_track_process tp_f {
  process %[2]s
  terminate_delay 0.5
}
vrrp_track_process tp_r {
  process %[3]s 3600 7
  param_match partial
  weight 20 reverse
}
vrrp_track_process tp_q {
  process %[1]s
  quorum 2
  quorum_max 3
  weight 5
}
vrrp_track_process tp_k {
  process %[4]s
  quorum 2
  fork_delay 0.8
  weight 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface %[5]s
  virtual_router_id %[9]d
  priority 100
  advert_int 1
  unicast_src_ip %[6]s
  unicast_peer {
    %[7]s
  }
  virtual_ipaddress {
    %[8]s/32
  }
  track_process {
    tp_w
    tp_f
    tp_r
    tp_q weight 7
    tp_k
  }
}
`, tag("A"), tag("B"), filepath.Join(dir, tag("C")), tag("K"), iface, src, peer, vip, 1+os.Getpid()%250)
}

// TestKeepalivedSideBySide is the scenario: keepalived runs in
// the initial network namespace, its VRRP interface a veth into a test
// namespace; ours watches the same processes at the same time. Every
// start and kill must give the same quorum, priority and FAULT lines on
// both sides, in the same order, after the same delays.
func TestKeepalivedSideBySide(t *testing.T) {
	needKeepalived(t)
	v := newVeth(t)
	dir := t.TempDir()
	sleepA := copyBinary(t, "/bin/sleep", dir, tag("A"))
	sleepB := copyBinary(t, "/bin/sleep", dir, tag("B"))
	sleepC := copyBinary(t, "/bin/sleep", dir, tag("C"))
	bashK := copyBinary(t, "/bin/bash", dir, tag("K"))
	s := startSideBySide(t, dir, trackConf(dir, v.host, v.hostIP, v.peerIP, v.vipIP), "", 0)
	init := []string{"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"}
	if got := lines(s.ka.from(0)); !equal(got, init) {
		t.Fatalf("keepalived started with %q", got)
	}
	if got := lines(s.ours.from(0)); !equal(got, init) {
		t.Fatalf("ours started with %q", got)
	}
	pr := newProcs(t)
	var a [5]*exec.Cmd
	var b, c, k *exec.Cmd
	prio := func(from, to int) string {
		return fmt.Sprintf("(VI_1) Changing effective priority from %d to %d", from, to)
	}
	q := func(word, name string) string { return fmt.Sprintf("Quorum %s for tracked process %s", word, name) }
	s.run([]step{
		{name: "start B", do: func() { b = pr.start(sleepB, "3600") },
			want: []string{q("gained", "tp_f"), "(VI_1) Entering BACKUP STATE"}},
		{name: "start A1", do: func() { a[1] = pr.start(sleepA, "3600") },
			want: []string{q("gained", "tp_w"), prio(100, 110)}},
		{name: "start C 3600 7 9", do: func() { c = pr.start(sleepC, "3600", "7", "9") },
			want: []string{q("gained", "tp_r"), prio(110, 90)}},
		{name: "start A2 (quorum 2)", do: func() { a[2] = pr.start(sleepA, "3600") },
			want: []string{q("gained", "tp_q"), prio(90, 97)}},
		{name: "start A3", do: func() { a[3] = pr.start(sleepA, "3600") }},
		{name: "start A4 (quorum_max)", do: func() { a[4] = pr.start(sleepA, "3600") },
			want: []string{q("lost", "tp_q"), prio(97, 90)}},
		{name: "kill A4", do: func() { pr.kill(a[4]) },
			want: []string{q("gained", "tp_q"), prio(90, 97)}},
		{name: "kill A3", do: func() { pr.kill(a[3]) }},
		{name: "kill A2", do: func() { pr.kill(a[2]) },
			want: []string{q("lost", "tp_q"), prio(97, 90)}},
		{name: "kill A1 (delay 1)", do: func() { pr.kill(a[1]) }, delay: time.Second,
			want: []string{q("lost", "tp_w"), prio(90, 80)}},
		{name: "kill C", do: func() { pr.kill(c) },
			want: []string{q("lost", "tp_r"), prio(80, 100)}},
		{name: "restart B in 0.2s", do: func() {
			pr.kill(b)
			time.Sleep(200 * time.Millisecond)
			b = pr.start(sleepB, "3600")
		}, delay: 500 * time.Millisecond},
		{name: "K forks (fork_delay)", do: func() { k = pr.start(bashK, "-c", "(/bin/sleep 3600; :) & wait") },
			delay: 800 * time.Millisecond, want: []string{q("gained", "tp_k"), prio(100, 103)}},
		{name: "kill K's subshell", do: func() { syscall.Kill(childOf(t, k.Process.Pid, tag("K")), syscall.SIGKILL) },
			want: []string{q("lost", "tp_k"), prio(103, 100)}},
		{name: "kill B (term_delay .5)", do: func() { pr.kill(b) }, delay: 500 * time.Millisecond,
			want: []string{q("lost", "tp_f"), "(VI_1) Entering FAULT STATE"}},
	})
}

// TestKeepalivedNetNSSideBySide runs both inside a network namespace,
// where the kernel refuses the connector: the same refusal line, the
// same FAULT at start with tracked processes running, no reaction to
// starts and kills, and on reload the same snapshot of /proc.
func TestKeepalivedNetNSSideBySide(t *testing.T) {
	needKeepalived(t)
	v := newVeth(t)
	dir := t.TempDir()
	sleepA := copyBinary(t, "/bin/sleep", dir, tag("A"))
	sleepB := copyBinary(t, "/bin/sleep", dir, tag("B"))
	copyBinary(t, "/bin/sleep", dir, tag("C"))
	pr := newProcs(t)
	a := pr.start(sleepA, "3600") // running before both start
	waitFor(t, "A's exec", func() bool {
		cm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", a.Process.Pid))
		return strings.TrimSpace(string(cm)) == tag("A")
	})
	f, err := os.Open("/run/netns/" + v.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := startSideBySide(t, dir, trackConf(dir, v.peer, v.peerIP, v.hostIP, v.vipIP), v.ns, int(f.Fd()))
	init := []string{"Failed to set/clear process event listen - errno 111 - Connection refused",
		"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"}
	for _, side := range []*transcript{s.ka, s.ours} {
		if got := lines(side.from(0)); !equal(got, init) {
			t.Fatalf("started with %q", got)
		}
	}
	var b *exec.Cmd
	s.run([]step{
		{name: "start B", do: func() { b = pr.start(sleepB, "3600") }, delay: 700 * time.Millisecond},
		{name: "kill A", do: func() { pr.kill(a); a = pr.start(sleepA, "3600") }, delay: 700 * time.Millisecond},
		{name: "reload", do: s.reload, want: []string{"(VI_1) Changing effective priority from 100 to 110", "(VI_1) Entering BACKUP STATE"}},
		{name: "kill A, B", do: func() { pr.kill(a); pr.kill(b) }, delay: 700 * time.Millisecond},
		{name: "reload", do: s.reload, want: []string{"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"}},
	})
}
