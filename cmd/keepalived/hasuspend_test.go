package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// The daemon under test: VRRP on eth1 (its own link), the checked real
// server reached over eth0, and the virtual server on the instance's VIP
// with ha_suspend.
const haSuspendConf = `global_defs {
    router_id HASUSPEND
}
vrrp_instance VI {
    state MASTER
    interface eth1
    virtual_router_id 61
    priority 200
    advert_int 1
    virtual_ipaddress {
        203.0.113.50/24
    }
}
virtual_server 203.0.113.50 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 198.51.100.21 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// ha_suspend pauses the checkers of a virtual server while its address is
// not on the node and resumes them when it comes back (keepalived's
// update_checker_activity), in namespaces: the instance carrying the VIP
// goes FAULT when its interface goes down and MASTER again when it comes
// up, and the checker's connections to the real server, which stays
// reachable over another interface, stop and start with it. Before this
// the LVS engine noticed (Manager.OnSuspend) but nobody told the checkers.
func TestHASuspendFollowsVRRP(t *testing.T) {
	web := nettest.NewLAN(t)
	node := web.AddNode("lb", "198.51.100.11/24")
	rs := web.AddNode("rs", "198.51.100.21/24")
	vrrpLAN := nettest.NewLAN(t)
	vrrpLAN.Attach(node, "eth1", "203.0.113.11/24")

	ln, err := rs.Listen("tcp", "198.51.100.21:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	checksIn := func(d time.Duration) int64 {
		before := accepted.Load()
		time.Sleep(d)
		return accepted.Load() - before
	}

	etc := t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "keepalived.conf"), []byte(haSuspendConf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(node, buildSelf(t), etc)
	defer func() { p.Signal(syscall.SIGTERM); p.Wait() }()
	hasVIP := func() bool {
		out, _ := node.Exec("ip", "-br", "addr", "show", "dev", "eth1")
		return strings.Contains(out, "203.0.113.50/24")
	}

	nettest.WaitFor(t, 10*time.Second, "MASTER with the VIP", hasVIP)
	if n := checksIn(3 * time.Second); n < 2 {
		t.Fatalf("%d checks in 3 s while MASTER (delay_loop 1)\n%s", n, p.Output())
	}

	node.MustExec("ip", "link", "set", "eth1", "down")
	nettest.WaitFor(t, 10*time.Second, "the checker suspended", func() bool {
		return strings.Contains(p.Output(), "Suspending healthchecker for service [198.51.100.21]:tcp:80 for VS [203.0.113.50]:tcp:80")
	})
	if hasVIP() {
		t.Error("FAULT instance kept its VIP")
	}
	time.Sleep(1500 * time.Millisecond) // an attempt in flight may still land
	if n := checksIn(3 * time.Second); n != 0 {
		t.Fatalf("%d checks in 3 s with the virtual server's address gone\n%s", n, p.Output())
	}

	node.MustExec("ip", "link", "set", "eth1", "up")
	nettest.WaitFor(t, 15*time.Second, "MASTER again with the VIP", hasVIP)
	nettest.WaitFor(t, 5*time.Second, "the checker resumed", func() bool {
		return strings.Contains(p.Output(), "Activating healthchecker for service [198.51.100.21]:tcp:80 for VS [203.0.113.50]:tcp:80")
	})
	if n := checksIn(3 * time.Second); n < 2 {
		t.Fatalf("%d checks in 3 s after the address came back\n%s", n, p.Output())
	}
}
