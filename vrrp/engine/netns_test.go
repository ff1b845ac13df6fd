package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The namespace tests run real kernels, real packets: every node is a
// network namespace with eth0 on a bridge in a namespace of its own (so
// tests can capture there). Addresses: 198.51.100.10+i/24 and
// 2001:db8::10+i/64 for node i. They need root, ip(8) (Debian package
// iproute2); the interop tests also keepalived and tshark.

var (
	helperOnce sync.Once
	helperPath string
	helperErr  error
	labSeq     atomic.Int32
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and raw sockets (CI runs these as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8): Debian package iproute2")
	}
}

// helper builds the engine's test binary once per test run.
func helper(t *testing.T) string {
	t.Helper()
	helperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kagovrrp")
		if err != nil {
			helperErr = err
			return
		}
		helperPath = filepath.Join(dir, "kagovrrp")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(gobin, "build", "-o", helperPath, "./internal/kagovrrp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			helperErr = fmt.Errorf("building kagovrrp: %v\n%s", err, out)
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	return helperPath
}

type lab struct {
	t      *testing.T
	prefix string
	br     string
	nodes  []*node
	dir    string
}

type node struct {
	lab  *lab
	ns   string
	idx  int
	ip4  string
	ip6  string
	proc *proc
}

type proc struct {
	cmd    *exec.Cmd
	log    string
	stats  string
	ka     bool
	done   chan struct{}
	exited atomic.Bool
}

func ipcmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newLab creates n nodes on a bridge; everything is removed at cleanup
// (processes inside killed by PID first).
func newLab(t *testing.T, n int) *lab {
	t.Helper()
	needRoot(t)
	l := &lab{t: t, prefix: fmt.Sprintf("kgv%d-%d", os.Getpid()%100000, labSeq.Add(1)), dir: t.TempDir()}
	l.br = l.prefix + "-br"
	all := []string{l.br}
	for i := range n {
		all = append(all, fmt.Sprintf("%s-%c", l.prefix, 'a'+i))
	}
	for _, ns := range all {
		ipcmd(t, "netns", "add", ns)
		t.Cleanup(func() { killNS(ns); exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipcmd(t, "-n", l.br, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	ipcmd(t, "-n", l.br, "link", "set", "br0", "up")
	for i := range n {
		nd := &node{lab: l, ns: all[i+1], idx: i, ip4: fmt.Sprintf("198.51.100.%d", 11+i), ip6: fmt.Sprintf("2001:db8::%d", 11+i)}
		port := fmt.Sprintf("p%c", 'a'+i)
		ipcmd(t, "-n", l.br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", nd.ns)
		ipcmd(t, "-n", l.br, "link", "set", port, "master", "br0", "up")
		ipcmd(t, "-n", nd.ns, "addr", "add", nd.ip4+"/24", "dev", "eth0")
		ipcmd(t, "-n", nd.ns, "addr", "add", nd.ip6+"/64", "dev", "eth0", "nodad")
		ipcmd(t, "-n", nd.ns, "link", "set", "lo", "up")
		ipcmd(t, "-n", nd.ns, "link", "set", "eth0", "up")
		l.nodes = append(l.nodes, nd)
	}
	// Wait for the link-local addresses (DAD) so IPv6 adverts have a source.
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range l.nodes {
		for time.Now().Before(deadline) {
			out, _ := exec.Command("ip", "-n", nd.ns, "-6", "addr", "show", "dev", "eth0", "scope", "link").Output()
			if bytes.Contains(out, []byte("fe80")) && !bytes.Contains(out, []byte("tentative")) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return l
}

func killNS(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// start runs our engine (kagovrrp) on conf in the node.
func (nd *node) start(conf string) *proc {
	t := nd.lab.t
	t.Helper()
	bin := helper(t)
	dir := nd.lab.dir
	base := filepath.Join(dir, fmt.Sprintf("%s-%d", nd.ns, time.Now().UnixNano()))
	cf := base + ".conf"
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{log: base + ".log", stats: base + ".json"}
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("ip", "netns", "exec", nd.ns, bin, "-f", cf, "-D", "-stats", p.stats)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	nd.launch(p, lf)
	return p
}

// startKA runs Debian's keepalived 2.2.7 (VRRP only) on conf in the node.
func (nd *node) startKA(conf string) *proc {
	t := nd.lab.t
	t.Helper()
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived not installed (Debian package keepalived)")
	}
	base := filepath.Join(nd.lab.dir, fmt.Sprintf("%s-ka-%d", nd.ns, time.Now().UnixNano()))
	cf := base + ".conf"
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{log: base + ".log", ka: true}
	lf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("ip", "netns", "exec", nd.ns, ka, "-n", "-l", "-D", "-P", "-f", cf,
		"-p", base+".pid", "-r", base+".vrrp.pid", "-c", base+".check.pid")
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	nd.launch(p, lf)
	return p
}

func (nd *node) launch(p *proc, lf *os.File) {
	t := nd.lab.t
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); lf.Close(); p.exited.Store(true); close(p.done) }()
	nd.proc = p
	t.Cleanup(func() {
		if !p.exited.Load() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("log of %s (%s):\n%s", nd.ns, map[bool]string{true: "keepalived", false: "ours"}[p.ka], b)
		}
	})
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("process did not stop within 5s")
	}
}

func (p *proc) signal(s syscall.Signal) {
	if !p.exited.Load() {
		p.cmd.Process.Signal(s)
	}
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

type statsFile struct {
	Instances map[string]struct {
		State           string            `json:"state"`
		Priority        int               `json:"priority"`
		AdvertsReceived uint64            `json:"adverts_received"`
		AdvertsSent     uint64            `json:"adverts_sent"`
		Discards        map[string]uint64 `json:"discards"`
	} `json:"instances"`
	Discards     map[string]uint64 `json:"discards"`
	ActionErrors uint64            `json:"action_errors"`
}

func (p *proc) readStats(t *testing.T) statsFile {
	t.Helper()
	var s statsFile
	b, err := os.ReadFile(p.stats)
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	return s
}

// hasAddr reports whether addr is configured in the node.
func (nd *node) hasAddr(addr string) bool {
	out, _ := exec.Command("ip", "-n", nd.ns, "-br", "addr", "show").Output()
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, addr+"/") {
			return true
		}
	}
	return false
}

// holders lists the nodes holding addr.
func (l *lab) holders(addr string) []int {
	var h []int
	for _, nd := range l.nodes {
		if nd.hasAddr(addr) {
			h = append(h, nd.idx)
		}
	}
	return h
}

// waitHolder waits until exactly node want holds addr (want -1: nobody).
func (l *lab) waitHolder(addr string, want int, within time.Duration) time.Duration {
	l.t.Helper()
	start := time.Now()
	for {
		h := l.holders(addr)
		if want < 0 && len(h) == 0 || len(h) == 1 && h[0] == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			l.t.Fatalf("%s: want held by node %d only within %v, held by %v", addr, want, within, h)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdSteady checks that exactly node want keeps addr for d.
func (l *lab) holdSteady(addr string, want int, d time.Duration) {
	l.t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if h := l.holders(addr); len(h) != 1 || h[0] != want {
			l.t.Fatalf("%s: want held by node %d only, held by %v", addr, want, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedConf is the seed scenario's vrrp_instance with lab addresses.
func seedConf(state string, prio int, extra string) string {
	return fmt.Sprintf(`global_defs {
   router_id HA_LVS
}
vrrp_instance ETH0 {
    state %s
    interface eth0
    virtual_router_id 10
    priority %d
    garp_master_delay 2
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass p@ssw0rd
    }
    virtual_ipaddress {
        198.51.100.110/24
    }
%s}
`, state, prio, extra)
}

// invalidRE matches what keepalived 2.2.7 (and we, with the same texts)
// log for a discarded advert.
var invalidRE = regexp.MustCompile(`(?i)too short|too long|invalid|wrong version|mismatch|unexpected ip number|not present in MASTER|not a unicast peer|received a \d+ auth|Unknown VRID|Expected \w+icast|auth type|already processed`)

func noInvalid(t *testing.T, who, log string) {
	t.Helper()
	for _, ln := range strings.Split(log, "\n") {
		if invalidRE.MatchString(ln) {
			t.Errorf("%s logged an invalid packet: %s", who, ln)
		}
	}
}
