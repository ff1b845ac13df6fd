// Package nettest builds throwaway network topologies for tests: network
// namespaces joined by a bridge that lives in a namespace of its own, so
// nothing touches the host's interfaces. Only the test ranges
// (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) belong here.
package nettest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var seq atomic.Int32

// Skip skips the test unless it can create namespaces (root, ip, iptables).
func Skip(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (make deps)")
	}
}

// LAN is a bridge in its own namespace with nodes attached.
type LAN struct {
	t      testing.TB
	prefix string
	NS     string
	nodes  []*Node
	ports  int
	hmu    sync.Mutex
	h      *netlink.Handle // in NS, for Cable
}

// Node is a namespace with eth0 on the LAN.
type Node struct {
	lan  *LAN
	Name string
	NS   string
	port string // eth0's peer on the bridge
}

// NewLAN creates the bridge namespace; everything is removed at test end,
// processes first (by PID), or the namespaces would live on.
func NewLAN(t testing.TB) *LAN {
	t.Helper()
	Skip(t)
	l := &LAN{t: t, prefix: fmt.Sprintf("kgt%d-%d", os.Getpid()%100000, seq.Add(1))}
	l.NS = l.prefix + "-lan"
	l.must("ip", "netns", "add", l.NS)
	t.Cleanup(l.Close)
	l.must("ip", "-n", l.NS, "link", "add", "br0", "type", "bridge")
	l.must("ip", "-n", l.NS, "link", "set", "br0", "up")
	return l
}

func (l *LAN) must(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// AddNode creates a namespace with eth0 bridged into the LAN and the given
// addresses (CIDR) on it.
func (l *LAN) AddNode(name string, addrs ...string) *Node {
	l.t.Helper()
	n := &Node{lan: l, Name: name, NS: l.prefix + "-" + name}
	l.must("ip", "netns", "add", n.NS)
	l.nodes = append(l.nodes, n)
	peer := fmt.Sprintf("p%d", len(l.nodes))
	n.port = peer
	l.must("ip", "link", "add", "eth0", "netns", n.NS, "type", "veth", "peer", "name", peer, "netns", l.NS)
	l.must("ip", "-n", l.NS, "link", "set", peer, "master", "br0", "up")
	l.must("ip", "-n", n.NS, "link", "set", "lo", "up")
	// IPv6 DAD would delay test addresses by a second or more.
	exec.Command("ip", "netns", "exec", n.NS, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").Run()
	for _, a := range addrs {
		args := []string{"ip", "-n", n.NS, "addr", "add", a, "dev", "eth0"}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		l.must(args...)
	}
	l.must("ip", "-n", n.NS, "link", "set", "eth0", "up")
	return n
}

// Attach gives an existing node (of any LAN) another interface, ifname, on
// this LAN, with the given addresses: a router between two LANs.
func (l *LAN) Attach(n *Node, ifname string, addrs ...string) {
	l.t.Helper()
	l.ports++
	peer := fmt.Sprintf("x%d", l.ports)
	l.must("ip", "link", "add", ifname, "netns", n.NS, "type", "veth", "peer", "name", peer, "netns", l.NS)
	l.must("ip", "-n", l.NS, "link", "set", peer, "master", "br0", "up")
	for _, a := range addrs {
		args := []string{"ip", "-n", n.NS, "addr", "add", a, "dev", ifname}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		l.must(args...)
	}
	l.must("ip", "-n", n.NS, "link", "set", ifname, "up")
}

// Cable cuts (up false) or restores the node's link at the bridge: its
// port goes down, so nothing passes either way, and the change is made
// when Cable returns (a netlink call, no process started). The node's eth0
// loses carrier as a pulled cable makes it; other nodes see no change.
func (n *Node) Cable(up bool) error {
	l := n.lan
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.h == nil {
		ns, err := netns.GetFromPath("/var/run/netns/" + l.NS)
		if err != nil {
			return err
		}
		h, err := netlink.NewHandleAt(ns)
		ns.Close()
		if err != nil {
			return err
		}
		l.h = h
	}
	link, err := l.h.LinkByName(n.port)
	if err != nil {
		return err
	}
	if up {
		return l.h.LinkSetUp(link)
	}
	return l.h.LinkSetDown(link)
}

// Block drops every frame the bridge would forward to or from the node
// (blocked true), or lets them pass again: a cut in the middle of the
// wire. Unlike Cable, the node's link stays up, so only what watches the
// path (BFD, VRRP adverts) notices. The change is made when Block returns
// (one nftables batch in the LAN's namespace, no process started).
func (n *Node) Block(blocked bool) error {
	l := n.lan
	l.hmu.Lock()
	defer l.hmu.Unlock()
	ns, err := netns.GetFromPath("/var/run/netns/" + l.NS)
	if err != nil {
		return err
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyBridge, Name: "nettest"})
	name := "cut-" + n.port
	if !blocked {
		ch := &nftables.Chain{Table: t, Name: name}
		c.FlushChain(ch)
		c.DelChain(ch)
		return c.Flush()
	}
	ch := c.AddChain(&nftables.Chain{Table: t, Name: name, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
	port := make([]byte, unix.IFNAMSIZ)
	copy(port, n.port)
	for _, key := range []expr.MetaKey{expr.MetaKeyIIFNAME, expr.MetaKeyOIFNAME} {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Meta{Key: key, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	return c.Flush()
}

// Close kills every process in the namespaces and deletes them.
func (l *LAN) Close() {
	l.hmu.Lock()
	if l.h != nil {
		l.h.Close()
		l.h = nil
	}
	l.hmu.Unlock()
	nss := []string{l.NS}
	for _, n := range l.nodes {
		nss = append(nss, n.NS)
	}
	for _, ns := range nss {
		KillAll(ns)
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// KillAll kills the processes inside a namespace, by PID.
func KillAll(ns string) {
	for i := 0; i < 20; i++ {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return
		}
		for _, p := range pids {
			var pid int
			fmt.Sscan(p, &pid)
			if pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Exec runs a command in the node and returns its combined output.
func (n *Node) Exec(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.NS}, args...)...).CombinedOutput()
	return string(out), err
}

// MustExec is Exec that fails the test on error.
func (n *Node) MustExec(args ...string) string {
	n.lan.t.Helper()
	out, err := n.Exec(args...)
	if err != nil {
		n.lan.t.Fatalf("%s: %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
	}
	return out
}

// HasAddr reports whether addr (no prefix length) is on the node's eth0.
func (n *Node) HasAddr(addr string) bool {
	out, _ := exec.Command("ip", "-n", n.NS, "-br", "addr", "show", "dev", "eth0").Output()
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, addr+"/") {
			return true
		}
	}
	return false
}

// Proc is a process started in a node.
type Proc struct {
	Cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
}

// Wait blocks until the process has exited. Only nettest calls Cmd.Wait:
// two concurrent waits on one process can block forever.
func (p *Proc) Wait() { <-p.done }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Output is what the process wrote so far (stdout and stderr).
func (p *Proc) Output() string { return p.out.String() }

// Start runs argv in the node. binds maps host directories onto paths
// (e.g. a test dir onto /etc/keepalived) in a private mount namespace, so
// configs and scripts keep their real paths without touching the host.
func (n *Node) Start(binds map[string]string, argv ...string) *Proc {
	n.lan.t.Helper()
	var script strings.Builder
	for src, dst := range binds {
		fmt.Fprintf(&script, "mount --bind %q %q && ", src, dst)
	}
	script.WriteString(`exec "$@"`)
	args := append([]string{"netns", "exec", n.NS, "unshare", "-m", "sh", "-c", script.String(), "sh"}, argv...)
	cmd := exec.Command("ip", args...)
	buf := &Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		n.lan.t.Fatalf("start %v: %v", argv, err)
	}
	p := &Proc{Cmd: cmd, out: buf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	n.lan.t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// WaitFor polls cond every 10 ms until it holds or timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for a writing process and a reading test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Listen opens a listener inside the node's namespace (the socket is made
// on a thread switched into it and keeps that namespace), so an in-process
// test server can be reached as a local service of the node.
func (n *Node) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.inNS(func() (err error) { l, err = net.Listen(network, addr); return err })
	return l, err
}

// ListenPacket is Listen for packet sockets (e.g. "ip4:112" to see VRRP).
func (n *Node) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.inNS(func() (err error) { c, err = net.ListenPacket(network, addr); return err })
	return c, err
}

// inNS runs open on a thread switched into the node's namespace.
func (n *Node) inNS(open func() error) error { return InNamespace(n.NS, open) }

// InNamespace runs open on a thread switched into network namespace ns
// (/var/run/netns/ns); sockets open creates belong to that namespace.
func InNamespace(ns string, open func() error) error {
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	ch := make(chan error, 1)
	go func() {
		// Never unlocked: if switching back failed, the thread must die
		// with this goroutine rather than run others in the wrong netns.
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			ch <- err
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			ch <- err
			return
		}
		err = open()
		if e := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); e != nil {
			ch <- e
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

// AddrWatcher answers "is addr on dev?" through a netlink handle inside the
// node, cheap enough to poll every few milliseconds.
type AddrWatcher struct {
	h   *netlink.Handle
	dev string
}

// Watch opens a netlink handle in the node's namespace.
func (n *Node) Watch(dev string) *AddrWatcher {
	n.lan.t.Helper()
	ns, err := netns.GetFromPath("/var/run/netns/" + n.NS)
	if err != nil {
		n.lan.t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(ns)
	ns.Close()
	if err != nil {
		n.lan.t.Fatal(err)
	}
	n.lan.t.Cleanup(h.Close)
	return &AddrWatcher{h: h, dev: dev}
}

// Has reports whether addr (no prefix length) is on the device.
func (w *AddrWatcher) Has(addr string) bool {
	link, err := w.h.LinkByName(w.dev)
	if err != nil {
		return false
	}
	addrs, err := w.h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IP.String() == addr {
			return true
		}
	}
	return false
}

// Dial connects from inside the node's namespace.
func (n *Node) Dial(network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.inNS(func() (err error) { c, err = net.DialTimeout(network, addr, 5*time.Second); return err })
	return c, err
}

// HTTPGet fetches a URL from inside the node's namespace.
func (n *Node) HTTPGet(url string) (string, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) { return n.Dial(network, addr) },
	}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Do runs fn on a thread switched into the node's namespace: sockets fn
// opens belong to the node (fn must not hand its work to other goroutines
// before they are open).
func (n *Node) Do(fn func() error) error { return n.inNS(fn) }
