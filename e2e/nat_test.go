package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

const natConf = `global_defs {
    router_id NAT
}
vrrp_instance VI_NAT {
    state MASTER
    interface eth1
    virtual_router_id 51
    priority 255
    advert_int 1
    virtual_ipaddress {
        203.0.113.10/24 dev eth1
    }
}
virtual_server 203.0.113.10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.22 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
virtual_server 203.0.113.10 81 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout 60
    real_server 198.51.100.21 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.22 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`

// lb_kind NAT through the daemon: the client is on another subnet routed
// through the LB, the real servers use the LB as their gateway, as in
// keepalived's NAT setups. wrr 3:1 splits 3:1; persistence keeps a client
// on one server (issue 8, must-show 4, end to end).
func TestNATWeightedAndPersistent(t *testing.T) {
	nettest.Skip(t)
	if _, err := exec.LookPath("ab"); err != nil {
		t.Skip("needs ab (apache2-utils; make deps)")
	}
	servers := nettest.NewLAN(t)
	clients := nettest.NewLAN(t)
	lb := servers.AddNode("lb", "198.51.100.11/24")
	rs1 := servers.AddNode("rs1", "198.51.100.21/24")
	rs2 := servers.AddNode("rs2", "198.51.100.22/24")
	client := clients.AddNode("client", "203.0.113.100/24")
	clients.Attach(lb, "eth1", "203.0.113.1/24")
	lb.MustExec("sysctl", "-qw", "net.ipv4.ip_forward=1")
	for _, rs := range []*nettest.Node{rs1, rs2} {
		rs.MustExec("ip", "route", "add", "default", "via", "198.51.100.11")
	}
	client.MustExec("ip", "route", "add", "default", "via", "203.0.113.1")

	bin := build(t, "keepalived-go/cmd/keepalived", "keepalived")
	web := build(t, "keepalived-go/internal/seedweb", "seedweb")
	logs := map[string]string{}
	for name, rs := range map[string]*nettest.Node{"rs1": rs1, "rs2": rs2} {
		logs[name] = filepath.Join(t.TempDir(), "access.log")
		rs.Start(nil, web, "-listen", ":80", "-log", logs[name])
	}
	etc := t.TempDir()
	os.WriteFile(filepath.Join(etc, "keepalived.conf"), []byte(natConf), 0o644)
	d := lb.Start(map[string]string{etc: "/etc/keepalived"}, bin, "-n", "-l", "-G",
		"-f", "/etc/keepalived/keepalived.conf", "-p", etc+"/k.pid", "-r", etc+"/v.pid", "-c", etc+"/c.pid")
	nettest.WaitFor(t, 20*time.Second, "both real servers up", func() bool {
		return strings.Count(d.Output(), "TCP connection to") >= 4 || strings.Count(d.Output(), "success") >= 4
	})
	time.Sleep(time.Second)

	count := func() (int, int) {
		a, _ := os.ReadFile(logs["rs1"])
		b, _ := os.ReadFile(logs["rs2"])
		return strings.Count(string(a), "203.0.113.100 - - "), strings.Count(string(b), "203.0.113.100 - - ")
	}
	reset := func() {
		os.WriteFile(logs["rs1"], nil, 0o644)
		os.WriteFile(logs["rs2"], nil, 0o644)
	}
	reset()
	out, _ := client.Exec("ab", "-q", "-n", "400", "-c", "4", "http://203.0.113.10/")
	time.Sleep(300 * time.Millisecond)
	a, b := count()
	t.Logf("wrr 3:1 over 400 requests: rs1 %d, rs2 %d", a, b)
	if !strings.Contains(out, "Failed requests:        0") || a+b != 400 || a < 270 || a > 330 {
		t.Errorf("wrr 3:1: rs1 %d rs2 %d\n%s\n%s", a, b, out, d.Output())
	}

	reset()
	out, _ = client.Exec("ab", "-q", "-n", "100", "-c", "4", "http://203.0.113.10:81/")
	time.Sleep(300 * time.Millisecond)
	a, b = count()
	t.Logf("rr with persistence_timeout 60, one client, 100 requests: rs1 %d, rs2 %d", a, b)
	if !strings.Contains(out, "Failed requests:        0") || a+b != 100 || (a != 0 && b != 0) {
		t.Errorf("persistence: rs1 %d rs2 %d\n%s", a, b, out)
	}
}
