package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 16, must show 2: the daemon's track_process against Debian's
// keepalived 2.2.7, both running at the same time on the same processes.
// Each daemon has its own veth from the namespace it runs in into a test
// namespace, and talks unicast VRRP to the test namespace's end (nobody
// answers: the instance becomes MASTER once it may).

func needRootKeepalived(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, process connector)")
	}
	needDebianKeepalived(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
}

// tpTag names the test's processes: unique to this run, short enough for
// a comm (15 characters).
func tpTag(letter string) string { return fmt.Sprintf("kgvs%s%d", letter, os.Getpid()%100000) }

// vethSide is one daemon's link: host in the namespace the daemon runs in
// ("" is the initial one), peer in the test namespace.
type vethSide struct {
	ns, host, peer      string
	hostIP, peerIP, vip string
}

// testNet is the test namespace and one veth per daemon into it; the
// /29s of 203.0.113.0/24 are ones no interface uses yet.
type testNet struct {
	t     *testing.T
	ns    string
	sides []*vethSide
	extra []string // namespaces the daemons run in
}

func newTestNet(t *testing.T, daemonNS bool) *testNet {
	t.Helper()
	pid := os.Getpid() % 100000
	n := &testNet{t: t, ns: fmt.Sprintf("kgvs%dt", pid)}
	t.Cleanup(n.close)
	n.must("ip", "netns", "add", n.ns)
	n.must("ip", "-n", n.ns, "link", "set", "lo", "up")
	used, _ := exec.Command("sh", "-c", "ip -4 -o addr show; for n in $(ip netns list | cut -d' ' -f1); do ip -n $n -4 -o addr show; done").Output()
	k := pid % 32
	for _, side := range []string{"a", "b"} {
		s := &vethSide{host: fmt.Sprintf("kgvs%d%s", pid, side), peer: "p" + side}
		for range 32 {
			k = (k + 1) % 32
			if k != 0 && !strings.Contains(string(used), fmt.Sprintf("203.0.113.%d/", 8*k+1)) {
				break
			}
		}
		s.hostIP, s.peerIP, s.vip = fmt.Sprintf("203.0.113.%d", 8*k+1), fmt.Sprintf("203.0.113.%d", 8*k+2), fmt.Sprintf("203.0.113.%d", 8*k+3)
		ipHost := []string{"ip"}
		if daemonNS {
			s.ns = fmt.Sprintf("kgvs%d%s", pid, side)
			n.must("ip", "netns", "add", s.ns)
			n.extra = append(n.extra, s.ns)
			ipHost = []string{"ip", "-n", s.ns}
			n.must(append(ipHost, "link", "set", "lo", "up")...)
			n.must("ip", "link", "add", s.host, "netns", s.ns, "type", "veth", "peer", "name", s.peer, "netns", n.ns)
		} else {
			n.must("ip", "link", "add", s.host, "type", "veth", "peer", "name", s.peer, "netns", n.ns)
		}
		n.must(append(ipHost, "addr", "add", s.hostIP+"/29", "dev", s.host)...)
		n.must(append(ipHost, "link", "set", s.host, "up")...)
		n.must("ip", "-n", n.ns, "addr", "add", s.peerIP+"/29", "dev", s.peer)
		n.must("ip", "-n", n.ns, "link", "set", s.peer, "up")
		n.sides = append(n.sides, s)
	}
	return n
}

func (n *testNet) must(args ...string) {
	n.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s: %v %s", strings.Join(args, " "), err, out)
	}
}

// close kills what runs in the namespaces, by PID, and removes the links
// and namespaces.
func (n *testNet) close() {
	for _, ns := range append([]string{n.ns}, n.extra...) {
		killNamespace(ns)
	}
	for _, s := range n.sides {
		if s.ns == "" {
			exec.Command("ip", "link", "del", s.host).Run()
		}
	}
	for _, ns := range append([]string{n.ns}, n.extra...) {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

func killNamespace(ns string) {
	for range 20 {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		if len(strings.Fields(string(out))) == 0 {
			return
		}
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vipOn says whether the side's VIP is on its host interface now.
func (s *vethSide) vipOn() bool {
	args := []string{"-o", "-4", "addr", "show", "dev", s.host}
	if s.ns != "" {
		args = append([]string{"-n", s.ns}, args...)
	}
	out, _ := exec.Command("ip", args...).Output()
	return strings.Contains(string(out), " "+s.vip+"/32 ")
}

// stampedLine is a log line and when it came, since the test's start.
type stampedLine struct {
	at   time.Duration
	line string
}

// tpTranscript keeps the lines both daemons must agree on: quorum and
// priority changes, the FAULT entries and state changes, the sync
// group's, and the connector's refusal.
type tpTranscript struct {
	mu    sync.Mutex
	t0    time.Time
	raw   []string
	lines []stampedLine
}

var (
	consoleStamp = regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$`)
	keptLine     = regexp.MustCompile(`^(Quorum (gained|lost) for tracked process \S+|\(\S+\) Changing effective priority from \d+ to \d+|` +
		`\(\S+\) entering FAULT state \(tracked process \S+ quorum not achieved\)|\(\S+\) Entering (FAULT|BACKUP|MASTER) STATE|` +
		`VRRP_Group\(\S+\) Syncing instances to \S+ state|Failed to set/clear process event listen - .*|` +
		`\(\S+\): entering FAULT state \(tracked file \S+ has status -?\d+\)|\(\S+\): tracked file \S+ (now|leaving) FAULT state|` +
		`\(\S+\) Setting effective priority to \d+|Invalid number -?\d+ read from \S+ - ignoring)$`)
)

func (tr *tpTranscript) add(line string) {
	if m := consoleStamp.FindStringSubmatch(line); m != nil {
		line = m[1]
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.raw = append(tr.raw, line)
	if keptLine.MatchString(line) {
		tr.lines = append(tr.lines, stampedLine{time.Since(tr.t0), line})
	}
}

func (tr *tpTranscript) len() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.lines)
}

func (tr *tpTranscript) from(i int) []stampedLine {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]stampedLine(nil), tr.lines[i:]...)
}

func (tr *tpTranscript) has(s string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, l := range tr.raw {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// tpDaemon is one daemon under test, logging to the console (-l -D).
type tpDaemon struct {
	name string
	cmd  *exec.Cmd
	tr   *tpTranscript
	done chan struct{}
	pids []string
	tmp  string // the daemon's TMPDIR
}

// dumpTracking asks for keepalived.data (SIGUSR1) and returns its
// track_process lines: the instance's and sync group's tracked processes
// and the "VRRP Track processes" section.
func (d *tpDaemon) dumpTracking(t *testing.T) []string {
	return d.dumpLines(t, "------< VRRP Track processes >------", "   Tracked processes :", "   Tracked process :")
}

// dumpLines asks for keepalived.data (SIGUSR1) and returns the lines of
// the named section and of the named lists (a title and its indented
// entries).
func (d *tpDaemon) dumpLines(t *testing.T, sectionTitle string, listTitles ...string) []string {
	t.Helper()
	f := filepath.Join(d.tmp, "keepalived.data")
	os.Remove(f)
	d.cmd.Process.Signal(syscall.SIGUSR1)
	var b []byte
	deadline := time.Now().Add(10 * time.Second)
	for len(b) == 0 || !strings.Contains(string(b), "------< Interfaces >------") {
		if time.Now().After(deadline) {
			t.Fatalf("%s wrote no keepalived.data", d.name)
		}
		time.Sleep(20 * time.Millisecond)
		b, _ = os.ReadFile(f)
	}
	var out []string
	list, section := false, false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "------<"):
			section = l == sectionTitle
			list = false
		case slices.Contains(listTitles, l):
			list = true
		case list && !strings.HasPrefix(l, "     "):
			list = false
		}
		if list || section {
			out = append(out, l)
		}
	}
	return out
}

func startTPDaemon(t *testing.T, name, bin, dir, conf, ns string, t0 time.Time) *tpDaemon {
	t.Helper()
	cf := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &tpDaemon{name: name, tr: &tpTranscript{t0: t0}, done: make(chan struct{}), tmp: filepath.Join(dir, name+".tmp")}
	if err := os.Mkdir(d.tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"main", "vrrp", "check"} {
		d.pids = append(d.pids, filepath.Join(dir, name+"."+p+".pid"))
	}
	argv := []string{bin, "-n", "-l", "-D", "-G", "-P", "-f", cf, "-p", d.pids[0], "-r", d.pids[1], "-c", d.pids[2]}
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(os.Environ(), "TMPDIR="+d.tmp) // where the dumps go
	out, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout = d.cmd.Stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			d.tr.add(sc.Text())
		}
	}()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// stop sends SIGTERM, then kills by the pids the daemon wrote.
func (d *tpDaemon) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		for _, p := range d.pids {
			if b, err := os.ReadFile(p); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd.Wait()
	if t.Failed() {
		d.tr.mu.Lock()
		t.Logf("%s's log:\n  %s", d.name, strings.Join(d.tr.raw, "\n  "))
		d.tr.mu.Unlock()
	}
}

func (d *tpDaemon) waitLog(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !d.tr.has(s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %q", d.name, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tpProcs starts and kills the tracked processes (copies of sleep under
// the test's names), by PID; what is left is killed at the end.
type tpProcs struct {
	t    *testing.T
	dir  string
	mu   sync.Mutex
	cmds []*exec.Cmd
}

func newTPProcs(t *testing.T, dir string) *tpProcs {
	p := &tpProcs{t: t, dir: dir}
	b, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"A", "B", "C", "D"} {
		if err := os.WriteFile(filepath.Join(dir, tpTag(l)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.cmds {
			if c.ProcessState == nil {
				c.Process.Kill()
				c.Wait()
			}
		}
	})
	return p
}

func (p *tpProcs) start(letter string) *exec.Cmd {
	p.t.Helper()
	c := exec.Command(filepath.Join(p.dir, tpTag(letter)), "3600")
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmds = append(p.cmds, c)
	p.mu.Unlock()
	return c
}

func (p *tpProcs) kill(c *exec.Cmd) {
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
}

// tpConf is the configuration both daemons read: trackers with a delay,
// a terminate_delay, quorum bounds, a reverse weight, weight 0 (FAULT)
// and one tracked by the sync group.
func tpConf(s *vethSide, vrid int) string {
	return fmt.Sprintf(`global_defs {
  router_id kgvs
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
vrrp_track_process tp_g {
  process %[3]s
  weight 15
}
vrrp_track_process tp_r {
  process %[4]s
  weight 20 reverse
}
vrrp_track_process tp_q {
  process %[1]s
  quorum 2
  quorum_max 2
  weight 5
}
vrrp_sync_group G {
  group {
    VI_1
  }
  track_process {
    tp_g
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface %[5]s
  virtual_router_id %[6]d
  priority 100
  advert_int 1
  unicast_src_ip %[7]s
  unicast_peer {
    %[8]s
  }
  virtual_ipaddress {
    %[9]s/32
  }
  track_process {
    tp_w
    tp_f
    tp_r
    tp_q
  }
}
`, tpTag("A"), tpTag("B"), tpTag("C"), tpTag("D"), s.host, vrid, s.hostIP, s.peerIP, s.vip)
}

// tpPair is keepalived and ours on the same configuration.
type tpPair struct {
	t        *testing.T
	t0       time.Time
	net      *testNet
	ka, ours *tpDaemon
	report   []string
}

func startTPPair(t *testing.T, daemonNS bool) (*tpPair, *tpProcs) {
	t.Helper()
	needRootKeepalived(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	pr := newTPProcs(t, dir)
	p := startKAPair(t, daemonNS, tpConf)
	if !daemonNS {
		for _, d := range []*tpDaemon{p.ka, p.ours} {
			d.waitLog(t, "proc_events has confirmed it is configured")
		}
	}
	return p, pr
}

// startKAPair starts keepalived and ours, each on its own side of a
// testNet, with conf's configuration for that side.
func startKAPair(t *testing.T, daemonNS bool, conf func(s *vethSide, vrid int) string) *tpPair {
	t.Helper()
	needRootKeepalived(t)
	bin := buildSelf(t)
	dir := t.TempDir()
	p := &tpPair{t: t, t0: time.Now(), net: newTestNet(t, daemonNS)}
	vrid := 1 + os.Getpid()%200
	a, b := p.net.sides[0], p.net.sides[1]
	p.ka = startTPDaemon(t, "keepalived", debianKeepalived, dir, conf(a, vrid), a.ns, p.t0)
	p.ours = startTPDaemon(t, "ours", bin, dir, conf(b, vrid+1), b.ns, p.t0)
	for _, d := range []*tpDaemon{p.ka, p.ours} {
		d.waitLog(t, "Startup complete")
	}
	return p
}

type tpStep struct {
	name  string
	do    func()
	want  []string
	delay time.Duration // the configured delay before the first line
	vip   *bool         // the VIP should be on (or off) after the step
	// wantOurs, when set, is what ours logs where it knowingly differs
	// from keepalived's want, for the reason why (printed).
	wantOurs []string
	why      string
}

// tpSlack is how late past its delay a line may come on either side:
// the machine is shared, and the lines of a state change wait for VRRP's
// timers as well (a MASTER line comes about 3.6 s after BACKUP).
const tpSlack = 3 * time.Second

// run performs each step, waits for its lines on both sides and a quiet
// time after, and compares: the same lines, in the same order, each no
// earlier than its configured delay and within tpSlack of it on both.
func (p *tpPair) run(steps []tpStep) {
	t := p.t
	t.Helper()
	for _, st := range steps {
		ika, iours := p.ka.tr.len(), p.ours.tr.len()
		at := time.Since(p.t0)
		st.do()
		wantOurs := st.want
		if st.wantOurs != nil {
			wantOurs = st.wantOurs
		}
		n, no := len(st.want), len(wantOurs)
		deadline := time.Now().Add(st.delay + 15*time.Second)
		for p.ka.tr.len()-ika < n || p.ours.tr.len()-iours < no {
			if time.Now().After(deadline) {
				t.Fatalf("step %q: keepalived %q, ours %q, want %q", st.name, tpLines(p.ka.tr.from(ika)), tpLines(p.ours.tr.from(iours)), st.want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(max(st.delay, 500*time.Millisecond) + 300*time.Millisecond)
		ka, ours := p.ka.tr.from(ika), p.ours.tr.from(iours)
		if !slicesEqual(tpLines(ka), st.want) || !slicesEqual(tpLines(ours), wantOurs) {
			t.Fatalf("step %q:\n keepalived %q\n ours       %q\n want       %q (ours %q)", st.name, tpLines(ka), tpLines(ours), st.want, wantOurs)
		}
		if st.wantOurs != nil {
			p.report = append(p.report, fmt.Sprintf("%-24s known difference: %s\n%24s keepalived %q\n%24s ours       %q", st.name, st.why, "", st.want, "", wantOurs))
			ka, ours = commonLines(ka, ours)
		}
		for i := range ka {
			dk, do := ka[i].at-at, ours[i].at-at
			p.report = append(p.report, fmt.Sprintf("%-24s %-62s keepalived %6.3fs  ours %6.3fs", st.name, ka[i].line, dk.Seconds(), do.Seconds()))
			if i == 0 && (dk < st.delay || do < st.delay) {
				t.Errorf("step %q: %q before its delay %v: keepalived %v ours %v", st.name, ka[i].line, st.delay, dk, do)
			}
			if dk > st.delay+tpSlack+4*time.Second || do > st.delay+tpSlack+4*time.Second || i == 0 && (dk > st.delay+tpSlack || do > st.delay+tpSlack) {
				t.Errorf("step %q: %q late: keepalived %v ours %v (delay %v)", st.name, ka[i].line, dk, do, st.delay)
			}
		}
		if n == 0 {
			p.report = append(p.report, fmt.Sprintf("%-24s (nothing, on both sides)", st.name))
		}
		if st.vip != nil {
			ka, ours := p.net.sides[0].vipOn(), p.net.sides[1].vipOn()
			p.report = append(p.report, fmt.Sprintf("%-24s VIP on the interface: keepalived %v, ours %v", st.name, ka, ours))
			if ka != *st.vip || ours != *st.vip {
				t.Errorf("step %q: VIP keepalived %v ours %v, want %v", st.name, ka, ours, *st.vip)
			}
		}
	}
	t.Logf("side by side, each line's delay from its step's action:\n%s", strings.Join(p.report, "\n"))
}

// commonLines pairs the lines both sides logged, in keepalived's order,
// to compare their delays.
func commonLines(ka, ours []stampedLine) (a, b []stampedLine) {
	used := make([]bool, len(ours))
	for _, k := range ka {
		for j, o := range ours {
			if !used[j] && o.line == k.line {
				used[j] = true
				a, b = append(a, k), append(b, o)
				break
			}
		}
	}
	return a, b
}

// compareDumps compares the track_process lines of both daemons'
// keepalived.data.
func (p *tpPair) compareDumps() {
	ka, ours := p.ka.dumpTracking(p.t), p.ours.dumpTracking(p.t)
	if len(ka) < 10 || !slicesEqual(ka, ours) {
		p.t.Errorf("keepalived.data track_process lines differ:\n--- keepalived\n%s\n--- ours\n%s", strings.Join(ka, "\n"), strings.Join(ours, "\n"))
	}
	p.report = append(p.report, fmt.Sprintf("%-24s keepalived.data: %d track_process lines, the same on both sides", "SIGUSR1 (dump)", len(ka)))
}

func tpLines(l []stampedLine) []string {
	out := []string{}
	for _, s := range l {
		out = append(out, s.line)
	}
	return out
}

func slicesEqual(a, b []string) bool {
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

func (p *tpPair) startLines(want []string) {
	p.t.Helper()
	for _, d := range []*tpDaemon{p.ka, p.ours} {
		if got := tpLines(d.tr.from(0)); !slicesEqual(got, want) {
			p.t.Fatalf("%s started with %q, want %q", d.name, got, want)
		}
	}
}

func prioLine(from, to int) string {
	return fmt.Sprintf("(VI_1) Changing effective priority from %d to %d", from, to)
}

func quorumLine(word, name string) string {
	return fmt.Sprintf("Quorum %s for tracked process %s", word, name)
}

// TestTrackProcessSideBySide: both daemons in the initial network
// namespace; every start and kill moves the instance's priority and
// state the same way, after the same delays, and the VIP with it.
func TestTrackProcessSideBySide(t *testing.T) {
	p, pr := startTPPair(t, false)
	p.startLines([]string{"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"})
	on, off := true, false
	var a1, a2, a3, b, c, d *exec.Cmd
	p.run([]tpStep{
		{name: "start B (weight 0)", do: func() { b = pr.start("B") },
			want: []string{quorumLine("gained", "tp_f"), "(VI_1) Entering BACKUP STATE", "VRRP_Group(G) Syncing instances to BACKUP state",
				"(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"}, vip: &on},
		{name: "start A (by exec)", do: func() { a1 = pr.start("A") },
			want: []string{quorumLine("gained", "tp_w"), prioLine(100, 110)}},
		{name: "start C (sync group)", do: func() { c = pr.start("C") },
			want: []string{quorumLine("gained", "tp_g"), prioLine(110, 125)}},
		{name: "start D (reverse)", do: func() { d = pr.start("D") },
			want: []string{quorumLine("gained", "tp_r"), prioLine(125, 105)}},
		{name: "start A2 (quorum 2)", do: func() { a2 = pr.start("A") },
			want: []string{quorumLine("gained", "tp_q"), prioLine(105, 110)}},
		{name: "SIGUSR1 (dump)", do: func() { p.compareDumps() }},
		{name: "start A3 (quorum_max)", do: func() { a3 = pr.start("A") },
			want: []string{quorumLine("lost", "tp_q"), prioLine(110, 105)}},
		{name: "kill A3, A2", do: func() { pr.kill(a3); time.Sleep(300 * time.Millisecond); pr.kill(a2) },
			want: []string{quorumLine("gained", "tp_q"), prioLine(105, 110), quorumLine("lost", "tp_q"), prioLine(110, 105)}},
		{name: "kill A (delay 1)", do: func() { pr.kill(a1) }, delay: time.Second,
			want: []string{quorumLine("lost", "tp_w"), prioLine(105, 95)}},
		{name: "kill D", do: func() { pr.kill(d) },
			want: []string{quorumLine("lost", "tp_r"), prioLine(95, 115)}},
		{name: "kill C", do: func() { pr.kill(c) },
			want: []string{quorumLine("lost", "tp_g"), prioLine(115, 100)}},
		{name: "restart B in 0.2s", do: func() {
			pr.kill(b)
			time.Sleep(200 * time.Millisecond)
			b = pr.start("B")
		}, delay: 500 * time.Millisecond, vip: &on},
		{name: "kill B (term_delay .5)", do: func() { pr.kill(b) }, delay: 500 * time.Millisecond,
			want: []string{quorumLine("lost", "tp_f"), "(VI_1) Entering FAULT STATE", "VRRP_Group(G) Syncing instances to FAULT state"}, vip: &off},
	})
}

// TestTrackProcessNetNSSideBySide: both daemons inside network
// namespaces, where the kernel refuses the process connector: the same
// refusal, the same FAULT at start with a tracked process running, no
// reaction to starts and kills, and on reload the same count from /proc.
func TestTrackProcessNetNSSideBySide(t *testing.T) {
	needRootKeepalived(t)
	dir := t.TempDir()
	pr := newTPProcs(t, dir)
	a := pr.start("A") // running before both start: not counted (no scan)
	p, _ := startTPPair(t, true)
	p.startLines([]string{"Failed to set/clear process event listen - errno 111 - Connection refused",
		"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"})
	off := false
	var b *exec.Cmd
	reload := func() {
		p.ka.cmd.Process.Signal(syscall.SIGHUP)
		p.ours.cmd.Process.Signal(syscall.SIGHUP)
	}
	p.run([]tpStep{
		{name: "start B", do: func() { b = pr.start("B") }, delay: time.Second, vip: &off},
		{name: "kill A, start it", do: func() { pr.kill(a); a = pr.start("A") }, delay: time.Second},
		{name: "reload", do: reload, want: []string{prioLine(100, 110), "(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"},
			wantOurs: []string{prioLine(100, 110), "(VI_1) Entering BACKUP STATE", "VRRP_Group(G) Syncing instances to BACKUP state",
				"(VI_1) Entering MASTER STATE", "VRRP_Group(G) Syncing instances to MASTER state"},
			why: "keepalived rebuilds the instance on reload and logs its start as \"(VI_1) Entering BACKUP STATE (init)\" without the group's line; ours keeps the instance and logs its leaving FAULT"},
		{name: "kill A, B", do: func() { pr.kill(a); pr.kill(b) }, delay: time.Second},
		{name: "reload", do: reload, want: []string{"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)"}, vip: &off,
			wantOurs: []string{"(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)", prioLine(110, 100),
				"(VI_1) Entering FAULT STATE", "VRRP_Group(G) Syncing instances to FAULT state"},
			why: "keepalived's rebuilt instance starts at its base priority and logs \"(VI_1) entering FAULT state\" (it sends no priority 0 advert); ours keeps the instance, changes its priority and leaves MASTER for FAULT (priority 0 sent)"},
	})
}
