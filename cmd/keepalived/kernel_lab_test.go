package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"keepalived-go/internal/nettest"
)

// A lab where the same configuration runs under Debian's keepalived 2.2.7
// and under ours, each on a LAN of its own, so that what the kernel holds
// (addresses, routes, rules, nftables) can be compared state by state.

// impl names an implementation under test.
type impl string

const (
	implOurs impl = "ours"
	implKA   impl = "keepalived"
)

var (
	oursOnce sync.Once
	oursBin  string
	oursErr  error
)

// oursBinary builds the daemon once per test binary.
func oursBinary(t *testing.T) string {
	t.Helper()
	oursOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kgvk-bin")
		if err != nil {
			oursErr = err
			return
		}
		oursBin = filepath.Join(dir, "keepalived")
		if out, err := exec.Command("go", "build", "-o", oursBin, ".").CombinedOutput(); err != nil {
			oursErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if oursErr != nil {
		t.Fatal(oursErr)
	}
	return oursBin
}

func needKeepalived(t *testing.T) {
	t.Helper()
	nettest.Skip(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived is not installed (Debian package keepalived, scripts/deps.sh)")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft is not installed (Debian package nftables, scripts/deps.sh)")
	}
}

// klab is one implementation's LAN: a runs the implementation under test,
// b a peer keepalived, c a client; a and b have trk0 and aux0 too.
type klab struct {
	t       *testing.T
	impl    impl
	lan     *nettest.LAN
	a, b, c *nettest.Node
	dir     string
	subj    *kproc
	peer    *kproc
}

// kproc is a daemon started in a node.
type kproc struct {
	cmd  *exec.Cmd
	out  *nettest.Buffer
	done chan struct{}
	dir  string
	// fifo is the vrrp_notify_fifo the daemon writes its instance states
	// to, in the order they happen (two notify scripts forked a moment
	// apart may finish in either order); last is the latest state read.
	fifo string
	mu   sync.Mutex
	last string
}

func newKLab(t *testing.T, im impl) *klab {
	t.Helper()
	lan := nettest.NewLAN(t)
	l := &klab{t: t, impl: im, lan: lan, dir: t.TempDir()}
	l.a = lan.AddNode("a", "198.51.100.11/24")
	l.b = lan.AddNode("b", "198.51.100.12/24")
	l.c = lan.AddNode("c", "198.51.100.13/24")
	// trk0 is the tracked interface (down: FAULT), aux0 carries static
	// entries; veth pairs within the node (this kernel may have no dummy
	// driver).
	for _, n := range []*nettest.Node{l.a, l.b} {
		for _, d := range []string{"trk0", "aux0"} {
			n.MustExec("ip", "link", "add", d, "type", "veth", "peer", "name", d+"p")
			n.MustExec("ip", "link", "set", d+"p", "up")
			n.MustExec("ip", "link", "set", d, "up")
		}
	}
	// The peer's instance state goes to a file of its own.
	os.MkdirAll(filepath.Join(l.dir, "a"), 0o755)
	os.MkdirAll(filepath.Join(l.dir, "b"), 0o755)
	return l
}

// notifyScript writes the instance's state to DIR/state.
func notifyScript(t *testing.T, dir string) string {
	p := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho \"$3\" > "+filepath.Join(dir, "state")+".new && mv "+
		filepath.Join(dir, "state")+".new "+filepath.Join(dir, "state")+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs im on conf in node n; conf may use @NOTIFY@ for the path of
// a notify script that records the state.
func (l *klab) start(n *nettest.Node, im impl, conf string) *kproc {
	t := l.t
	t.Helper()
	dir := filepath.Join(l.dir, n.Name)
	p := &kproc{out: &nettest.Buffer{}, done: make(chan struct{}), dir: dir, fifo: filepath.Join(dir, "notify.fifo")}
	p.readFifo(t)
	conf = p.withNotify(strings.ReplaceAll(conf, "@NOTIFY@", notifyScript(t, dir)))
	os.Remove(filepath.Join(dir, "state"))
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := "/usr/sbin/keepalived"
	if im == implOurs {
		bin = oursBinary(t)
	}
	cmd := exec.Command("ip", "netns", "exec", n.NS, bin, "-n", "-l", "-D", "-P", "-f", cf,
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	p.cmd = cmd
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", n.Name, im, p.out.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for the daemon to exit.
func (p *kproc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop within 10 s")
	}
	// keepalived's parent exits once its children are gone; give the
	// kernel's cleanup a moment.
	time.Sleep(200 * time.Millisecond)
}

// reload writes conf (with @NOTIFY@ resolved) and sends SIGHUP.
func (p *kproc) reload(t *testing.T, conf string) {
	t.Helper()
	conf = p.withNotify(strings.ReplaceAll(conf, "@NOTIFY@", filepath.Join(p.dir, "notify.sh")))
	if err := os.WriteFile(filepath.Join(p.dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
}

// withNotify adds the daemon's vrrp_notify_fifo to conf's global_defs.
func (p *kproc) withNotify(conf string) string {
	if strings.Contains(conf, "global_defs {") {
		return strings.Replace(conf, "global_defs {", "global_defs {\n    vrrp_notify_fifo "+p.fifo, 1)
	}
	return "global_defs {\n    vrrp_notify_fifo " + p.fifo + "\n}\n" + conf
}

// readFifo makes the notify FIFO and records the instance states written
// to it ("INSTANCE "VI" FAULT 100") until the test ends. Opened read-write,
// it never sees an end of file while the daemon restarts.
func (p *kproc) readFifo(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(p.fifo)
	if err := syscall.Mkfifo(p.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p.fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if w := strings.Fields(sc.Text()); len(w) >= 3 && w[0] == "INSTANCE" {
				p.mu.Lock()
				p.last = w[2]
				p.mu.Unlock()
			}
		}
	}()
}

// state is the instance's last state, as the daemon wrote it to its
// notify FIFO.
func (p *kproc) state() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *kproc) waitState(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for p.state() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want %q after %v", p.state(), want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// snapshot is what the kernel of a node holds, normalised so that two
// runs on fresh namespaces compare equal: MAC addresses, the link-local
// addresses made from them, and lifetimes that count down are masked.
type snapshot map[string]string

var (
	reMAC      = regexp.MustCompile(`([0-9a-f]{2}:){5}[0-9a-f]{2}`)
	reLL       = regexp.MustCompile(`fe80::[0-9a-f:]+`)
	reLftSecs  = regexp.MustCompile(`(valid|preferred)_lft [1-9][0-9]*sec`)
	reIfIndex  = regexp.MustCompile(`(?m)^[0-9]+: `)
	reLinkNS   = regexp.MustCompile(`link-netns \S+`)
	reNFHandle = regexp.MustCompile(` # handle [0-9]+`)
)

func normalise(s string) string {
	s = reMAC.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "00:00:5e:00:0") {
			return m // a VMAC's address is the same on every run
		}
		return "MAC"
	})
	s = reLL.ReplaceAllString(s, "fe80::LL")
	s = reLftSecs.ReplaceAllString(s, "${1}_lft Nsec")
	s = reIfIndex.ReplaceAllString(s, "N: ")
	s = reLinkNS.ReplaceAllString(s, "link-netns NS")
	return reNFHandle.ReplaceAllString(s, "")
}

// addrLines keeps the lines of "ip -d addr" that say what an address or
// link is, not the link's driver details.
func addrLines(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		tl := strings.TrimSpace(line)
		switch {
		case tl == "":
		case strings.HasPrefix(tl, "inet"), strings.HasPrefix(tl, "valid_lft"), reIfIndex.MatchString(line):
			out = append(out, line)
		case strings.HasPrefix(tl, "link/ether"):
			f := strings.Fields(tl)
			out = append(out, "    "+strings.Join(f[:min(4, len(f))], " "))
		case strings.HasPrefix(tl, "macvlan"), strings.HasPrefix(tl, "ipvlan"):
			f := strings.Fields(tl)
			out = append(out, "    "+strings.Join(f[:min(3, len(f))], " "))
		}
	}
	return strings.Join(out, "\n")
}

// snap reads node n's kernel.
func snap(t *testing.T, n *nettest.Node) snapshot {
	t.Helper()
	run := func(args ...string) string {
		out, err := n.Exec(args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	sortLines := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return strings.Join(l, "\n")
	}
	return snapshot{
		"ip -d addr":              normalise(addrLines(run("ip", "-d", "addr"))),
		"ip route show table all": sortLines(normalise(run("ip", "route", "show", "table", "all"))),
		"ip rule":                 normalise(run("ip", "rule") + run("ip", "-6", "rule")),
		"nft list ruleset":        normalise(run("nft", "list", "ruleset")),
	}
}

// compareSnaps fails with a diff of what differs between the two.
func compareSnaps(t *testing.T, state string, ours, theirs snapshot) {
	t.Helper()
	keys := make([]string, 0, len(ours))
	for k := range ours {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ours[k] != theirs[k] {
			t.Errorf("%s: %s differs\n%s", state, k, lineDiff(theirs[k], ours[k]))
		}
	}
}

// reach reports whether the client gets an answer from addr: a ping, and
// a TCP connection to port 8080, each within a second.
func reach(t *testing.T, c *nettest.Node, addr string) (ping, tcp bool) {
	t.Helper()
	ping = pingOnce(t, c, addr)
	err := c.Do(func() error {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "8080"), time.Second)
		if err == nil {
			conn.Close()
		}
		return err
	})
	return ping, err == nil
}

// pingOnce sends one ICMP echo request from node c and waits a second
// for the reply.
func pingOnce(t *testing.T, c *nettest.Node, addr string) bool {
	t.Helper()
	var pc *icmp.PacketConn
	if err := c.Do(func() (err error) { pc, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	id := os.Getpid() & 0xffff
	b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("kgvk")}}).Marshal(nil)
	dst := &net.IPAddr{IP: net.ParseIP(addr)}
	if _, err := pc.WriteTo(b, dst); err != nil {
		return false
	}
	pc.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return false
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply || from.String() != addr {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
			return true
		}
	}
}

// serve accepts TCP connections on port 8080 of node n until the test ends.
func serve(t *testing.T, n *nettest.Node) {
	t.Helper()
	ln, err := n.Listen("tcp", ":8080")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// bothImpls runs scenario under keepalived and under ours in parallel,
// each on its own LAN, and returns what each recorded.
func bothImpls[T any](t *testing.T, scenario func(t *testing.T, l *klab) T) (ours, theirs T) {
	t.Helper()
	needKeepalived(t)
	oursBinary(t)
	var wg sync.WaitGroup
	for _, im := range []impl{implKA, implOurs} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Subtests give each side its own failure and cleanup.
			t.Run(string(im), func(t *testing.T) {
				r := scenario(t, newKLab(t, im))
				if im == implOurs {
					ours = r
				} else {
					theirs = r
				}
			})
		}()
	}
	wg.Wait()
	return ours, theirs
}

// lineDiff lists the lines only keepalived's side (-) or only ours (+)
// has, then both in full.
func lineDiff(theirs, ours string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	a, b := count(theirs), count(ours)
	var out []string
	for _, l := range strings.Split(theirs, "\n") {
		if b[l] < a[l] {
			out = append(out, "- "+l)
			a[l]--
		}
	}
	a = count(theirs)
	for _, l := range strings.Split(ours, "\n") {
		if a[l] < b[l] {
			out = append(out, "+ "+l)
			b[l]--
		}
	}
	return strings.Join(out, "\n") + "\n--- keepalived\n" + theirs + "\n--- ours\n" + ours
}
