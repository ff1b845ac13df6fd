package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/nettest"
)

// sleepers counts `sleep 1000` processes inside a node.
func sleepers(n *nettest.Node) int {
	count := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.HasPrefix(string(cmd), "/bin/sleep\x001000") {
			continue
		}
		if inNS(e.Name(), n.NS) {
			count++
		}
	}
	return count
}

func inNS(pid, ns string) bool {
	a, err1 := os.Stat(filepath.Join("/proc", pid, "ns/net"))
	b, err2 := os.Stat("/var/run/netns/" + ns)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// A track script and a notify script that never return: the track script
// is killed at its timeout, and the MASTER keeps advertising on time
// (issue 6, must-show 4: measured on the wire from the other node).
func TestHungScriptsDoNotDelayAdverts(t *testing.T) {
	lan := nettest.NewLAN(t)
	n1 := lan.AddNode("n1", "198.51.100.11/24")
	n2 := lan.AddNode("n2", "198.51.100.12/24")
	bin := buildSelf(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(`global_defs {
    router_id HUNG
    enable_script_security
    script_user root
}
vrrp_script chk_hang {
    script "/bin/sleep 1000"
    interval 1
    timeout 1
    weight -10
}
vrrp_instance ETH0 {
    state MASTER
    interface eth0
    virtual_router_id 10
    priority 200
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24
    }
    track_script {
        chk_hang
    }
    notify_master "/bin/sleep 1000"
}
`), 0o644)
	c, err := n2.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	joinVRRPGroup(t, c, n2)
	d := startDaemon(n1, bin, dir)
	nettest.WaitFor(t, 10*time.Second, "n1 MASTER", func() bool { return n1.HasAddr("198.51.100.10") })

	var arrivals []time.Time
	maxSleepers := 0
	buf := make([]byte, 1500)
	end := time.Now().Add(6 * time.Second)
	for time.Now().Before(end) {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, _, err := c.ReadFrom(buf); err == nil {
			arrivals = append(arrivals, time.Now())
		}
		maxSleepers = max(maxSleepers, sleepers(n1))
	}
	var worst time.Duration
	for i := 1; i < len(arrivals); i++ {
		worst = max(worst, arrivals[i].Sub(arrivals[i-1]))
	}
	t.Logf("%d adverts in 6 s, largest gap %v, at most %d hung sleep processes alive", len(arrivals), worst, maxSleepers)
	if len(arrivals) < 5 || worst > 1100*time.Millisecond {
		t.Errorf("adverts delayed: %d in 6 s, largest gap %v", len(arrivals), worst)
	}
	// One notify_master sleeper plus at most the current track run and the
	// one being killed: a script that was not killed would pile up.
	if maxSleepers > 3 {
		t.Errorf("%d sleep processes alive: timed-out track scripts are not killed", maxSleepers)
	}
	if !strings.Contains(d.Output(), "VRRP_Script(chk_hang) timed_out") {
		t.Errorf("no timed_out report:\n%s", d.Output())
	}
}

// joinVRRPGroup makes n2 a member of 224.0.0.18 on eth0, as a VRRP router
// is, so multicast adverts are delivered to our raw socket.
func joinVRRPGroup(t *testing.T, c net.PacketConn, n *nettest.Node) {
	t.Helper()
	idx, err := strconv.Atoi(strings.TrimSpace(n.MustExec("cat", "/sys/class/net/eth0/ifindex")))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.(*net.IPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	mreq := &unix.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}, Ifindex: int32(idx)}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		t.Fatalf("join 224.0.0.18: %v", err)
	}
}
