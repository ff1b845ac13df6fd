package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

const atomicNetnsConf = `global_defs {
    router_id %s
%s}
vrrp_instance VI_1 {
    state MASTER
%s    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`

func atomicNetnsFile(routerID string, checkLog, iface bool) string {
	c, i := "", "    interface eth0\n"
	if checkLog {
		c = "    reload_check_config /etc/keepalived/check.log\n"
	}
	if !iface {
		i = ""
	}
	return fmt.Sprintf(atomicNetnsConf, routerID, c, i)
}

// refusedReload is what one daemon did with a reload its VRRP part refuses.
type refusedReload struct {
	refusedIn     time.Duration // SIGHUP to the failure logged
	polls, missed int           // VIP polls every 5 ms from SIGHUP to the dump, and how many lacked it
	routerID      string        // in keepalived.data after the refused reload
	alive         bool          // still running a second later
	next          string        // router_id in the dump after a good reload, "" if not tried
	log           string
}

var dataRouterID = regexp.MustCompile(`(?m)^ Router ID = (.*)$`)

// runRefusedReload starts argv0 on node as MASTER of VI_1, replaces its
// file by one whose VRRP instance has no interface (and a new router_id),
// sends SIGHUP and observes: how long until it logs the refusal, whether
// the VIP stays, what router_id its data dump shows, and then whether a
// good file still reloads.
func runRefusedReload(t *testing.T, node *nettest.Node, argv0 string, checkLog bool, failure string) refusedReload {
	t.Helper()
	etc, tmp := varTempDir(t), varTempDir(t)
	conf := filepath.Join(etc, "keepalived.conf")
	os.WriteFile(conf, []byte(atomicNetnsFile("RUNNING", checkLog, true)), 0o644)
	if !strings.HasPrefix(argv0, "/usr/") {
		b, err := os.ReadFile(argv0)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(etc, "keepalived"), b, 0o755)
		argv0 = "/etc/keepalived/keepalived"
	}
	// A daemon that exited on the previous file (keepalived) leaves its VIP.
	node.Exec("ip", "addr", "del", "198.51.100.10/24", "dev", "eth0")
	p := node.Start(map[string]string{etc: "/etc/keepalived", tmp: "/tmp"},
		"/usr/bin/env", "-u", "TMPDIR", argv0, "-n", "-l", "-f", "/etc/keepalived/keepalived.conf",
		"-p", "/etc/keepalived/k.pid", "-r", "/etc/keepalived/v.pid", "-c", "/etc/keepalived/c.pid")
	defer func() {
		p.Signal(syscall.SIGTERM)
		p.Wait()
	}()
	w := node.Watch("eth0")
	nettest.WaitFor(t, 15*time.Second, argv0+" MASTER with the VIP", func() bool { return w.Has("198.51.100.10") })

	var polls, missed atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				polls.Add(1)
				if !w.Has("198.51.100.10") {
					missed.Add(1)
				}
			}
		}
	}()
	os.WriteFile(conf, []byte(atomicNetnsFile("REJECTED", checkLog, false)), 0o644)
	var r refusedReload
	hup := time.Now()
	p.Signal(syscall.SIGHUP)
	nettest.WaitFor(t, 10*time.Second, argv0+" refusing the reload", func() bool {
		select {
		case <-p.Done():
			return true
		default:
			return strings.Contains(p.Output(), failure)
		}
	})
	r.refusedIn = time.Since(hup)
	time.Sleep(1500 * time.Millisecond)
	select {
	case <-p.Done():
	default:
		r.alive = true
	}
	dump := func() string {
		os.Remove(filepath.Join(tmp, "keepalived.data"))
		p.Signal(syscall.SIGUSR1)
		var b []byte
		nettest.WaitFor(t, 5*time.Second, argv0+" writes keepalived.data", func() bool {
			b, _ = os.ReadFile(filepath.Join(tmp, "keepalived.data"))
			return dataRouterID.Match(b)
		})
		return dataRouterID.FindStringSubmatch(string(b))[1]
	}
	if r.alive {
		r.routerID = dump()
	}
	close(stop)
	<-done
	r.polls, r.missed = int(polls.Load()), int(missed.Load())
	if r.alive {
		os.WriteFile(conf, []byte(atomicNetnsFile("NEXT", checkLog, true)), 0o644)
		p.Signal(syscall.SIGHUP)
		time.Sleep(2 * time.Second)
		r.next = dump()
	}
	r.log = p.Output()
	return r
}

// Finding 7 of issue 19, side by side: Debian's keepalived and ours, one
// after the other on the same node, get a SIGHUP with a file whose VRRP
// instance has no interface and whose router_id changed. With
// reload_check_config both refuse it, keep the VIP, keep the running
// router_id and log keepalived's failure line; a good file then reloads.
// Without it keepalived's VRRP process exits on the file (and the daemon
// with it, its documented behaviour); ours refuses it as with the setting,
// the VRRP engine's refusal reaching no engine and not global_defs.
func TestRefusedReloadKeepsRunningConfigLikeKeepalived(t *testing.T) {
	keepalivedAvailable(t)
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("dut", "198.51.100.11/24")
	const kaFailure = "New config failed validation, see /etc/keepalived/check.log for details"

	ka := runRefusedReload(t, node, "/usr/sbin/keepalived", true, kaFailure)
	ours := runRefusedReload(t, node, bin, true, kaFailure)
	t.Logf("reload_check_config, refused file: keepalived refused in %v, VIP missing in %d/%d polls, alive %v, router_id %s, after a good reload %s",
		ka.refusedIn.Round(time.Millisecond), ka.missed, ka.polls, ka.alive, ka.routerID, ka.next)
	t.Logf("reload_check_config, refused file: ours      refused in %v, VIP missing in %d/%d polls, alive %v, router_id %s, after a good reload %s",
		ours.refusedIn.Round(time.Millisecond), ours.missed, ours.polls, ours.alive, ours.routerID, ours.next)
	for _, r := range []struct {
		who string
		r   refusedReload
	}{{"keepalived", ka}, {"ours", ours}} {
		if !r.r.alive || r.r.missed != 0 || r.r.routerID != "RUNNING" || r.r.next != "NEXT" || !strings.Contains(r.r.log, kaFailure) {
			t.Errorf("%s: %+v", r.who, r.r)
		}
	}
	if strings.Contains(ours.log[:strings.Index(ours.log, kaFailure)], "Reload finished") {
		t.Errorf("ours logged Reload finished for the refused file:\n%s", ours.log)
	}

	kaNo := runRefusedReload(t, node, "/usr/sbin/keepalived", false, "exited with permanent error CONFIG")
	oursNo := runRefusedReload(t, node, bin, false, "Reload failed, keeping the running configuration: vrrp: ")
	t.Logf("no reload_check_config: keepalived after %v: alive %v (its VRRP process exits on the file)", kaNo.refusedIn.Round(time.Millisecond), kaNo.alive)
	t.Logf("no reload_check_config: ours refused in %v, VIP missing in %d/%d polls, alive %v, router_id %s, after a good reload %s",
		oursNo.refusedIn.Round(time.Millisecond), oursNo.missed, oursNo.polls, oursNo.alive, oursNo.routerID, oursNo.next)
	if !oursNo.alive || oursNo.missed != 0 || oursNo.routerID != "RUNNING" || oursNo.next != "NEXT" {
		t.Errorf("ours without reload_check_config: %+v", oursNo)
	}
	if strings.Count(oursNo.log, "Reload finished") != 1 {
		t.Errorf("ours: want one Reload finished (the good file):\n%s", oursNo.log)
	}
}
