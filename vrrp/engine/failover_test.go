package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const vip = "198.51.100.110"

// TestNetnsSeedFailover: the seed scenario on two nodes of ours. MASTER
// first, then BACKUP: the VIP is on the master only; stopping it (priority
// 0) moves the VIP within Skew_Time plus slack; starting it again preempts.
func TestNetnsSeedFailover(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	pa := a.start(seedConf("MASTER", 200, ""))
	time.Sleep(300 * time.Millisecond)
	pb := b.start(seedConf("BACKUP", 100, ""))
	l.waitHolder(vip, 0, 6*time.Second)
	l.holdSteady(vip, 0, 1500*time.Millisecond)
	if s := pb.readStats(t); s.Instances["ETH0"].State != "BACKUP" || s.Instances["ETH0"].AdvertsReceived == 0 {
		t.Fatalf("backup stats %+v", s)
	}
	pa.stop(t)
	// Priority 0: the backup takes over after Skew_Time (0.61 s at 100).
	if d := l.waitHolder(vip, 1, 2*time.Second); d > 1500*time.Millisecond {
		t.Errorf("takeover after priority 0 took %v", d)
	}
	if !strings.Contains(pa.logText(), "(ETH0) sent 0 priority") {
		t.Error("master did not log its priority 0 advert")
	}
	if !strings.Contains(pb.logText(), "(ETH0) Entering MASTER STATE") {
		t.Error("backup did not log (ETH0) Entering MASTER STATE")
	}
	a.start(seedConf("MASTER", 200, ""))
	l.waitHolder(vip, 0, 6*time.Second)
	l.holdSteady(vip, 0, 500*time.Millisecond)
	for _, p := range []*proc{pb, a.proc} {
		s := p.readStats(t)
		if n := len(s.Instances["ETH0"].Discards) + len(s.Discards); n != 0 {
			t.Errorf("discards: %+v", s)
		}
	}
}

// TestNetnsLinkDown: the master's link goes down: it enters FAULT and
// drops the VIP, the backup takes over after Master_Down_Interval; link up
// brings the master back by preemption.
func TestNetnsLinkDown(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	pa := a.start(seedConf("MASTER", 200, ""))
	b.start(seedConf("BACKUP", 100, ""))
	l.waitHolder(vip, 0, 6*time.Second)
	ipcmd(t, "-n", a.ns, "link", "set", "eth0", "down")
	// Master_Down_Interval at priority 100 is 3 + 0.61 s.
	if d := l.waitHolder(vip, 1, 5*time.Second); d > 4600*time.Millisecond {
		t.Errorf("takeover after link down took %v", d)
	}
	waitFor(t, "FAULT on the master", 2*time.Second, func() bool {
		return strings.Contains(pa.logText(), "(ETH0) Entering FAULT STATE")
	})
	ipcmd(t, "-n", a.ns, "link", "set", "eth0", "up")
	l.waitHolder(vip, 0, 7*time.Second)
	l.holdSteady(vip, 0, 500*time.Millisecond)
}

// TestNetnsSIGKILL: a master killed hard leaves its VIP behind; the backup
// takes over after Master_Down_Interval; the restarted master removes the
// residual VIP at startup (keepalived's vrrp_restore_interfaces_startup)
// and preempts back, leaving the VIP on exactly one node.
func TestNetnsSIGKILL(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	pa := a.start(seedConf("MASTER", 200, ""))
	b.start(seedConf("BACKUP", 100, ""))
	l.waitHolder(vip, 0, 6*time.Second)
	pa.kill9(t)
	waitFor(t, "backup holding the VIP", 5*time.Second, func() bool { return b.hasAddr(vip) })
	if !a.hasAddr(vip) {
		t.Fatal("a SIGKILLed master cannot remove its VIP; the test needs it left behind")
	}
	pa2 := a.start(seedConf("MASTER", 200, ""))
	waitFor(t, "residual VIP removed", 2*time.Second, func() bool { return !a.hasAddr(vip) })
	if !strings.Contains(pa2.logText(), "(ETH0) removing VIPs.") {
		t.Error("restart did not log removing the residual VIPs")
	}
	l.waitHolder(vip, 0, 6*time.Second)
	l.holdSteady(vip, 0, 500*time.Millisecond)
}

// TestNetnsUnicast: unicast_src_ip/unicast_peer, VRRPv3 at 0.2 s; nothing
// is sent to the multicast group.
func TestNetnsUnicast(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	conf := func(nd, peer *node, state string, prio int) string {
		return fmt.Sprintf(`vrrp_instance U {
    state %s
    interface eth0
    virtual_router_id 20
    version 3
    priority %d
    advert_int 0.2
    unicast_src_ip %s
    unicast_peer {
        %s
    }
    virtual_ipaddress {
        %s/24
    }
}
`, state, prio, nd.ip4, peer.ip4, vip)
	}
	pa := a.start(conf(a, b, "MASTER", 200))
	pb := b.start(conf(b, a, "BACKUP", 100))
	l.waitHolder(vip, 0, 3*time.Second)
	l.holdSteady(vip, 0, time.Second)
	if s := pb.readStats(t); s.Instances["U"].AdvertsReceived < 3 {
		t.Fatalf("backup received %d unicast adverts", s.Instances["U"].AdvertsReceived)
	}
	if out, _ := exec.Command("ip", "-n", a.ns, "maddr", "show", "dev", "eth0").Output(); strings.Contains(string(out), "224.0.0.18") {
		t.Error("unicast instance joined 224.0.0.18")
	}
	pa.stop(t)
	l.waitHolder(vip, 1, 2*time.Second)
	a.start(conf(a, b, "MASTER", 200))
	l.waitHolder(vip, 0, 3*time.Second)
}

// TestNetnsIPv6: VRRPv3 over IPv6 (ff02::12, link-local sources).
func TestNetnsIPv6(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	const vip6 = "2001:db8::110"
	conf := func(state string, prio int) string {
		return fmt.Sprintf(`vrrp_instance V6 {
    state %s
    interface eth0
    virtual_router_id 30
    version 3
    priority %d
    advert_int 0.2
    virtual_ipaddress {
        %s/64
    }
}
`, state, prio, vip6)
	}
	pa := a.start(conf("MASTER", 200))
	pb := b.start(conf("BACKUP", 100))
	l.waitHolder(vip6, 0, 3*time.Second)
	l.holdSteady(vip6, 0, time.Second)
	s := pb.readStats(t)
	if is := s.Instances["V6"]; is.AdvertsReceived < 3 || len(is.Discards) != 0 {
		t.Fatalf("backup stats %+v", s)
	}
	pa.stop(t)
	l.waitHolder(vip6, 1, 2*time.Second)
	a.start(conf("MASTER", 200))
	l.waitHolder(vip6, 0, 3*time.Second)
}

// TestNetnsSyncGroup: two instances in a vrrp_sync_group move together:
// a tracked interface going down on the master faults one member, the
// other follows, and the backup node takes both VIPs.
func TestNetnsSyncGroup(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	for _, nd := range l.nodes {
		// No dummy module in every kernel: a veth pair inside the node.
		ipcmd(t, "-n", nd.ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
		ipcmd(t, "-n", nd.ns, "link", "set", "dum1", "up")
		ipcmd(t, "-n", nd.ns, "link", "set", "dum0", "up")
	}
	const vip2 = "198.51.100.120"
	conf := func(state string, prio int) string {
		return fmt.Sprintf(`vrrp_sync_group G {
    group {
        I1
        I2
    }
}
vrrp_instance I1 {
    state %[1]s
    interface eth0
    virtual_router_id 41
    version 3
    priority %[2]d
    advert_int 0.2
    track_interface {
        dum0
    }
    virtual_ipaddress {
        %[3]s/24
    }
}
vrrp_instance I2 {
    state %[1]s
    interface eth0
    virtual_router_id 42
    version 3
    priority %[2]d
    advert_int 0.2
    virtual_ipaddress {
        %[4]s/24
    }
}
`, state, prio, vip, vip2)
	}
	pa := a.start(conf("MASTER", 200))
	b.start(conf("BACKUP", 100))
	l.waitHolder(vip, 0, 3*time.Second)
	l.waitHolder(vip2, 0, time.Second)
	ipcmd(t, "-n", a.ns, "link", "set", "dum0", "down")
	l.waitHolder(vip, 1, 2*time.Second)
	l.waitHolder(vip2, 1, time.Second)
	if log := pa.logText(); !strings.Contains(log, "VRRP_Group(G) Syncing instances to FAULT state") {
		t.Error("no group FAULT sync logged")
	}
	ipcmd(t, "-n", a.ns, "link", "set", "dum0", "up")
	l.waitHolder(vip, 0, 3*time.Second)
	l.waitHolder(vip2, 0, time.Second)
}

// TestNetnsTrackScript: a vrrp_script with weight -150 failing on the
// master drops it below the backup, which preempts; success restores it.
func TestNetnsTrackScript(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	a, b := l.nodes[0], l.nodes[1]
	flag := filepath.Join(l.dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := func(state string, prio int, track bool) string {
		c := fmt.Sprintf(`vrrp_script chk {
    script "/usr/bin/test -e %s"
    interval 0.2
    fall 2
    rise 2
    weight -150
}
vrrp_instance T {
    state %s
    interface eth0
    virtual_router_id 50
    version 3
    priority %d
    advert_int 0.2
    track_script {
        chk
    }
    virtual_ipaddress {
        %s/24
    }
}
`, flag, state, prio, vip)
		if !track {
			c = strings.Replace(c, "chk\n    }\n", "}\n", 1)
			c = strings.Replace(c, "    track_script {\n        }\n", "", 1)
		}
		return c
	}
	pa := a.start(conf("MASTER", 200, true))
	b.start(conf("BACKUP", 100, false))
	l.waitHolder(vip, 0, 3*time.Second)
	os.Remove(flag)
	l.waitHolder(vip, 1, 3*time.Second)
	log := pa.logText()
	for _, want := range []string{"VRRP_Script(chk) failed (exited with status 1)", "(T) Changing effective priority from 200 to 50"} {
		if !strings.Contains(log, want) {
			t.Errorf("missing log line %q", want)
		}
	}
	os.WriteFile(flag, nil, 0o644)
	l.waitHolder(vip, 0, 3*time.Second)
	if !strings.Contains(pa.logText(), "VRRP_Script(chk) succeeded") {
		t.Error("missing VRRP_Script(chk) succeeded")
	}
}

// TestNetnsVMAC: use_vmac puts the VIP on a macvlan with the virtual MAC
// 00:00:5e:00:01:VRID; a client's ARP entry for the VIP holds that MAC and
// stays valid across a failover.
func TestNetnsVMAC(t *testing.T) {
	t.Parallel()
	l := newLab(t, 3)
	a, b, c := l.nodes[0], l.nodes[1], l.nodes[2]
	l.nodes = l.nodes[:2] // c is the client, not a router
	conf := func(state string, prio int) string {
		return fmt.Sprintf(`vrrp_instance M {
    state %s
    interface eth0
    use_vmac
    virtual_router_id 60
    version 3
    priority %d
    advert_int 0.2
    virtual_ipaddress {
        %s/24
    }
}
`, state, prio, vip)
	}
	pa := a.start(conf("MASTER", 200))
	b.start(conf("BACKUP", 100))
	l.waitHolder(vip, 0, 3*time.Second)
	out, _ := exec.Command("ip", "-n", a.ns, "-br", "link", "show", "vrrp.60").Output()
	if !strings.Contains(string(out), "00:00:5e:00:01:3c") {
		t.Fatalf("vmac: %s", out)
	}
	if out, _ := exec.Command("ip", "-n", a.ns, "-br", "addr", "show", "dev", "vrrp.60").Output(); !strings.Contains(string(out), vip+"/24") {
		t.Fatalf("VIP not on the vmac: %s", out)
	}
	// Reachability without ping(8): a TCP connect to a closed port is
	// refused at once by whoever holds the VIP, and times out otherwise.
	connect := func(addr string) {
		t.Helper()
		out, _ := exec.Command("ip", "netns", "exec", c.ns, "timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/"+addr+"/9").CombinedOutput()
		if !strings.Contains(string(out), "refused") {
			t.Fatalf("%s not reachable from the client: %s", addr, out)
		}
	}
	ping := func() { t.Helper(); connect(vip) }
	// The routers must know the client already: otherwise they resolve it
	// with an ARP request from eth0 whose sender is the VIP (the RST's
	// source), and the client learns eth0's MAC for the VIP from that.
	connect(a.ip4)
	connect(b.ip4)
	neigh := func() string {
		out, _ := exec.Command("ip", "-n", c.ns, "neigh", "show", vip).Output()
		return string(out)
	}
	ping()
	if n := neigh(); !strings.Contains(n, "00:00:5e:00:01:3c") {
		la, _ := exec.Command("ip", "-n", a.ns, "-br", "link").Output()
		lb, _ := exec.Command("ip", "-n", b.ns, "-br", "link").Output()
		t.Fatalf("client's neighbour entry: %s\na: %s\nb: %s", n, la, lb)
	}
	pa.stop(t)
	l.waitHolder(vip, 1, 2*time.Second)
	ping()
	if n := neigh(); !strings.Contains(n, "00:00:5e:00:01:3c") {
		t.Fatalf("client's neighbour entry after failover: %s", n)
	}
	if out, _ := exec.Command("ip", "-n", a.ns, "link", "show", "vrrp.60").CombinedOutput(); !strings.Contains(string(out), "does not exist") {
		t.Errorf("vmac left behind on stop: %s", out)
	}
}
