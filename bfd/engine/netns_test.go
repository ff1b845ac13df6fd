package engine

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/bfd/packet"
	"keepalived-go/config"
	"keepalived-go/internal/nettest"
)

// nsNet opens the engine's sockets inside a test namespace, so an
// in-process engine is a node of the LAN.
type nsNet struct{ ns string }

func (n nsNet) ListenUDP(network string, laddr netip.AddrPort, control func(uintptr) error) (*net.UDPConn, error) {
	var c *net.UDPConn
	err := nettest.InNamespace(n.ns, func() (err error) {
		c, err = Linux{}.ListenUDP(network, laddr, control)
		return err
	})
	return c, err
}

func (n nsNet) LocalPortRange() (lo, hi int, ok bool) {
	nettest.InNamespace(n.ns, func() error {
		lo, hi, ok = Linux{}.LocalPortRange()
		return nil
	})
	return
}

// need skips unless root with ip(8), and fails under CI when a Debian
// package the test needs is missing (scripts/deps.sh installs them).
func need(t *testing.T, bins ...string) {
	t.Helper()
	nettest.Skip(t)
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s missing under CI (scripts/deps.sh)", b)
			}
			t.Skipf("needs %s", b)
		}
	}
}

const bfddPath = "/usr/lib/frr/bfdd"

// frr is FRR's bfdd (Debian package frr) running in a node with a private
// config, pid file and sockets; vtysh talks to it through them.
type frr struct {
	node *nettest.Node
	dir  string
	proc *nettest.Proc
}

// startBfdd runs bfdd in node with one peer per line of peers
// ("ADDR local-address ADDR"), each with the given timers.
func startBfdd(t *testing.T, node *nettest.Node, rxMs, txMs, mult int, peers ...string) *frr {
	t.Helper()
	dir, err := os.MkdirTemp("", "kgbfd-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u, err := user.Lookup("frr")
	if err != nil {
		t.Fatalf("no frr user (Debian package frr): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	var conf strings.Builder
	conf.WriteString("bfd\n")
	for _, p := range peers {
		fmt.Fprintf(&conf, " peer %s\n  receive-interval %d\n  transmit-interval %d\n  detect-multiplier %d\n !\n", p, rxMs, txMs, mult)
	}
	conf.WriteString("!\n")
	if err := os.WriteFile(filepath.Join(dir, "bfdd.conf"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.Chown(dir, uid, gid)
	f := &frr{node: node, dir: dir}
	f.proc = node.Start(nil, bfddPath, "-f", dir+"/bfdd.conf", "-i", dir+"/bfdd.pid", "--vty_socket", dir,
		"--bfdctl", dir+"/bfdd.sock", "-z", dir+"/zserv.api", "-u", "frr", "-g", "frr", "--log", "stdout", "--log-level", "info")
	t.Cleanup(func() {
		// SIGTERM first: bfdd removes its /var/tmp/frr/bfdd.PID on a clean exit.
		f.proc.Signal(syscall.SIGTERM)
		select {
		case <-waitChan(f.proc):
		case <-time.After(3 * time.Second):
			f.proc.Cmd.Process.Kill()
		}
		os.RemoveAll(fmt.Sprintf("/var/tmp/frr/bfdd.%d", f.proc.Cmd.Process.Pid))
	})
	nettest.WaitFor(t, 10*time.Second, "bfdd's vty socket", func() bool {
		_, err := os.Stat(filepath.Join(dir, "bfdd.vty"))
		return err == nil
	})
	return f
}

func waitChan(p *nettest.Proc) chan struct{} {
	c := make(chan struct{})
	go func() { p.Wait(); close(c) }()
	return c
}

// peers is `show bfd peers json`: peer address -> status.
func (f *frr) peers(t *testing.T) map[string]string {
	t.Helper()
	out, err := f.node.Exec("vtysh", "--vty_socket", f.dir, "-d", "bfdd", "-c", "show bfd peers json")
	if err != nil {
		t.Fatalf("vtysh: %v\n%s", err, out)
	}
	var list []struct {
		Peer   string `json:"peer"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &list); err != nil {
		t.Fatalf("vtysh output %q: %v", out, err)
	}
	m := map[string]string{}
	for _, p := range list {
		m[p.Peer] = p.Status
	}
	return m
}

// waitNegotiated waits until name is Up with the poll sequence over and
// detection time detect: right after Up the detection time still derives
// from the neighbour's idle_tx (a cut then takes seconds to notice, with
// keepalived as with us).
func waitNegotiated(t *testing.T, r *running, name string, detect time.Duration) SessionStatus {
	t.Helper()
	var s SessionStatus
	nettest.WaitFor(t, 3*time.Second, name+" negotiated", func() bool {
		s = r.session(t, name)
		return s.State == packet.Up && s.RemoteState == packet.Up && !s.Poll && s.DetectTime == detect
	})
	return s
}

// cutAndMeasure cuts node's cable at the bridge and returns how long after
// the cut r reported name Down; the cable is restored afterwards.
func cutAndMeasure(t *testing.T, node *nettest.Node, r *running, name string) time.Duration {
	t.Helper()
	if err := node.Cable(false); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	ev := r.waitEvent(t, name, false, 3*time.Second)
	if err := node.Cable(true); err != nil {
		t.Fatal(err)
	}
	return ev.Seen.Sub(cut)
}

// Must-show 1 (FRR): ours and FRR's bfdd, over IPv4 and IPv6, both reach
// Up; with FRR's cable cut ours reports Down no later than min_rx x
// multiplier + 10 ms after the cut, and Up again once it is restored.
func TestFRRInterop(t *testing.T) {
	need(t, bfddPath, "vtysh")
	lan := nettest.NewLAN(t)
	us := lan.AddNode("us", "198.51.100.1/24", "2001:db8::1/64")
	peer := lan.AddNode("frr", "198.51.100.2/24", "2001:db8::2/64")
	f := startBfdd(t, peer, 50, 50, 3, "198.51.100.1 local-address 198.51.100.2", "2001:db8::1 local-address 2001:db8::2")
	mod := func(bi *config.BFDInstance) {
		bi.MinRx, bi.MinTx, bi.Multiplier = 50*time.Millisecond, 50*time.Millisecond, 3
	}
	r := startEngine(t, Options{Net: nsNet{us.NS}},
		inst("frr4", "198.51.100.2", "198.51.100.1", mod),
		// FRR drops single-hop packets whose hop limit is not 255 (RFC 5881
		// §5); keepalived's default hoplimit is 64, so with FRR an operator
		// writes `hoplimit 255`, as here.
		inst("frr6", "2001:db8::2", "2001:db8::1", mod))
	r.waitEvent(t, "frr4", true, 5*time.Second)
	r.waitEvent(t, "frr6", true, 5*time.Second)
	nettest.WaitFor(t, 3*time.Second, "FRR sees both peers up", func() bool {
		p := f.peers(t)
		return p["198.51.100.1"] == "up" && p["2001:db8::1"] == "up"
	})
	for _, name := range []string{"frr4", "frr6"} {
		s := waitNegotiated(t, r, name, 150*time.Millisecond)
		if s.State != packet.Up || s.RemoteState != packet.Up || s.DetectTime != 150*time.Millisecond || s.Poll {
			t.Fatalf("%s: %+v", name, s)
		}
		t.Logf("%s: Up, local discr %#x remote %#x, tx %v, detect %v, source port %d", name, s.LocalDiscr, s.RemoteDiscr, s.TxInterval, s.DetectTime, s.LocalPort)
	}
	for i := 0; i < 3; i++ {
		d := cutAndMeasure(t, peer, r, "frr4")
		t.Logf("cut %d: Down after %v (bound 160ms)", i, d)
		if d > 160*time.Millisecond {
			t.Errorf("cut %d: Down %v after the cut, more than 150 ms + 10 ms", i, d)
		}
		r.waitEvent(t, "frr4", true, 5*time.Second)
		waitNegotiated(t, r, "frr4", 150*time.Millisecond)
	}
}

const kaBFDConf = `global_defs {
    router_id ka
}
bfd_instance ours {
    neighbor_ip 198.51.100.1
    source_ip 198.51.100.3
    min_rx 50
    min_tx 50
    multiplier 3
}
bfd_instance ours6 {
    neighbor_ip 2001:db8::1
    source_ip 2001:db8::3
    min_rx 50
    min_tx 50
    multiplier 3
}
`

// startKeepalived runs Debian's keepalived in node with conf, its pid
// files in a directory of the test's.
func startKeepalived(t *testing.T, node *nettest.Node, conf string) *nettest.Proc {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := node.Start(nil, "/usr/sbin/keepalived", "-n", "-l", "-D", "-f", p, "-p", dir+"/k.pid",
		"-r", dir+"/v.pid", "-c", dir+"/c.pid", "-b", dir+"/b.pid")
	t.Cleanup(func() {
		proc.Signal(syscall.SIGTERM)
		select {
		case <-waitChan(proc):
		case <-time.After(5 * time.Second):
			proc.Cmd.Process.Kill()
		}
	})
	return proc
}

// Must-show 1 (keepalived): ours and Debian's keepalived, over IPv4 and
// IPv6, both reach Up (keepalived logs "(ours) Entering Up state"); with
// keepalived's cable cut ours reports Down within min_rx x multiplier +
// 10 ms; with ours cut keepalived logs the expiry of its session.
func TestKeepalivedInterop(t *testing.T) {
	need(t, "keepalived")
	lan := nettest.NewLAN(t)
	us := lan.AddNode("us", "198.51.100.1/24", "2001:db8::1/64")
	kn := lan.AddNode("ka", "198.51.100.3/24", "2001:db8::3/64")
	ka := startKeepalived(t, kn, kaBFDConf)
	mod := func(bi *config.BFDInstance) {
		bi.MinRx, bi.MinTx, bi.Multiplier = 50*time.Millisecond, 50*time.Millisecond, 3
	}
	r := startEngine(t, Options{Net: nsNet{us.NS}},
		inst("ka4", "198.51.100.3", "198.51.100.1", mod),
		inst("ka6", "2001:db8::3", "2001:db8::1", mod, func(bi *config.BFDInstance) { bi.TTL = 64 }))
	r.waitEvent(t, "ka4", true, 5*time.Second)
	r.waitEvent(t, "ka6", true, 5*time.Second)
	nettest.WaitFor(t, 3*time.Second, "keepalived's sessions Up", func() bool {
		o := ka.Output()
		return strings.Contains(o, "(ours) Entering Up state") && strings.Contains(o, "(ours6) Entering Up state")
	})
	for _, name := range []string{"ka4", "ka6"} {
		s := waitNegotiated(t, r, name, 150*time.Millisecond)
		if s.State != packet.Up || s.RemoteState != packet.Up || s.DetectTime != 150*time.Millisecond || s.Poll {
			t.Fatalf("%s: %+v", name, s)
		}
		t.Logf("%s: Up, local discr %#x remote %#x, tx %v, detect %v, source port %d", name, s.LocalDiscr, s.RemoteDiscr, s.TxInterval, s.DetectTime, s.LocalPort)
	}
	for i := 0; i < 3; i++ {
		d := cutAndMeasure(t, kn, r, "ka4")
		t.Logf("cut %d: Down after %v (bound 160ms)", i, d)
		if d > 160*time.Millisecond {
			t.Errorf("cut %d: Down %v after the cut, more than 150 ms + 10 ms", i, d)
		}
		r.waitEvent(t, "ka4", true, 5*time.Second)
		waitNegotiated(t, r, "ka4", 150*time.Millisecond)
	}
	// The other way: keepalived notices ours gone.
	if err := us.Cable(false); err != nil {
		t.Fatal(err)
	}
	nettest.WaitFor(t, 2*time.Second, "keepalived's expiry", func() bool {
		return strings.Contains(ka.Output(), "(ours) Entering Down state (Local diagnostic - Control Detection Time Expired")
	})
	us.Cable(true)
}
