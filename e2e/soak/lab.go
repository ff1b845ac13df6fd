package soak

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"keepalived-go/internal/nettest"
)

// The lab's addresses (test ranges only).
const (
	vip        = "198.51.100.10"
	clientAddr = "198.51.100.100/24"
	advert     = time.Second
	backupPrio = 100
)

// node is one of the two routers: its namespace, the relay port that
// shapes its link, its daemon and its web server.
type node struct {
	name, ns, addr string // addr: its own address, with the prefix
	prio           int
	etc            string // bound on /etc/keepalived
	sh             *shaper
	relay          *relay
	web            *http.Server
	nl             *netlink.Handle
	link           netlink.Link

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	paused   bool
	starts   int
	lives    []*Life
	goodAlt  bool // which of the two good files is in place
	badNext  int  // which bad file comes next
	stopping bool
}

// lab is the soak's topology: a bridge, two nodes behind relays, a client.
type lab struct {
	prefix, lanNS, relayNS, clientNS string
	nodes                            []*node
	bin                              string
	nss                              []string
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func runAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// newLab builds the namespaces; close removes them.
func newLab(bin, dir string) (*lab, error) {
	p := fmt.Sprintf("kgsoak%d", os.Getpid()%100000)
	l := &lab{prefix: p, lanNS: p + "-lan", relayNS: p + "-relay", clientNS: p + "-c", bin: bin}
	for _, ns := range []string{l.lanNS, l.relayNS, l.clientNS} {
		if err := l.addNS(ns); err != nil {
			return l, err
		}
	}
	if err := runAll(
		[]string{"ip", "-n", l.lanNS, "link", "add", "br0", "type", "bridge"},
		[]string{"ip", "-n", l.lanNS, "link", "set", "br0", "up"},
		[]string{"ip", "link", "add", "eth0", "netns", l.clientNS, "type", "veth", "peer", "name", "pc", "netns", l.lanNS},
		[]string{"ip", "-n", l.lanNS, "link", "set", "pc", "master", "br0", "up"},
		[]string{"ip", "-n", l.clientNS, "addr", "add", clientAddr, "dev", "eth0"},
		[]string{"ip", "-n", l.clientNS, "link", "set", "eth0", "up"},
		[]string{"ip", "netns", "exec", l.clientNS, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off"},
	); err != nil {
		return l, err
	}
	for i, name := range []string{"a", "b"} {
		n := &node{name: name, ns: p + "-" + name, addr: fmt.Sprintf("198.51.100.%d/24", 11+i), prio: 150 - 50*i,
			etc: filepath.Join(dir, name), sh: &shaper{}, exited: make(chan struct{})}
		close(n.exited)
		l.nodes = append(l.nodes, n)
		if err := l.addNode(n); err != nil {
			return l, err
		}
	}
	return l, nil
}

func (l *lab) addNS(ns string) error {
	if err := run("ip", "netns", "add", ns); err != nil {
		return err
	}
	l.nss = append(l.nss, ns)
	return runAll([]string{"ip", "-n", ns, "link", "set", "lo", "up"},
		[]string{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"})
}

// addNode wires node n: eth0 in its namespace, r<n> and b<n> in the
// relay's, p<n> on the bridge; offloads off so that every frame the relay
// reads is one wire frame with its checksums done.
func (l *lab) addNode(n *node) error {
	if err := l.addNS(n.ns); err != nil {
		return err
	}
	r, b, p := "r"+n.name, "b"+n.name, "p"+n.name
	if err := runAll(
		[]string{"ip", "link", "add", "eth0", "netns", n.ns, "type", "veth", "peer", "name", r, "netns", l.relayNS},
		[]string{"ip", "link", "add", b, "netns", l.relayNS, "type", "veth", "peer", "name", p, "netns", l.lanNS},
		[]string{"ip", "-n", l.lanNS, "link", "set", p, "master", "br0", "up"},
		[]string{"ip", "-n", l.relayNS, "link", "set", r, "up"},
		[]string{"ip", "-n", l.relayNS, "link", "set", b, "up"},
		[]string{"ip", "-n", n.ns, "addr", "add", n.addr, "dev", "eth0"},
		[]string{"ip", "-n", n.ns, "link", "set", "eth0", "up"},
		[]string{"ip", "netns", "exec", n.ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off", "gro", "off"},
	); err != nil {
		return err
	}
	var err error
	if n.relay, err = startRelay(l.relayNS, r, b, n.sh); err != nil {
		return err
	}
	h, err := netns.GetFromName(n.ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if n.nl, err = netlink.NewHandleAt(h); err != nil {
		return err
	}
	if n.link, err = n.nl.LinkByName("eth0"); err != nil {
		return err
	}
	return l.startWeb(n)
}

// startWeb serves the node's name on port 80 of every address it has.
func (l *lab) startWeb(n *node) error {
	var ln net.Listener
	if err := nettest.InNamespace(n.ns, func() (err error) { ln, err = net.Listen("tcp4", "0.0.0.0:80"); return err }); err != nil {
		return err
	}
	n.web = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, n.name) }),
		ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
	go n.web.Serve(ln)
	return nil
}

// holds reports whether n has the VIP on its interface.
func (n *node) holds() bool {
	addrs, err := n.nl.AddrList(n.link, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IP.String() == vip {
			return true
		}
	}
	return false
}

// close stops everything and removes the namespaces, processes first.
func (l *lab) close() {
	for _, n := range l.nodes {
		n.mu.Lock()
		n.stopping = true
		if n.cmd != nil && n.paused {
			n.cmd.Process.Signal(syscall.SIGCONT)
		}
		n.mu.Unlock()
		if n.web != nil {
			n.web.Close()
		}
		if n.relay != nil {
			n.relay.close()
		}
		if n.nl != nil {
			n.nl.Close()
		}
	}
	for _, ns := range l.nss {
		nettest.KillAll(ns)
		exec.Command("ip", "netns", "del", ns).Run()
	}
}
