package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// advertCapture records VRRP adverts seen by a node: arrival time, source
// and priority.
type advertCapture struct {
	mu   sync.Mutex
	seen []advert
}

type advert struct {
	at   time.Time
	src  string
	prio byte
}

func captureAdverts(t *testing.T, n *nettest.Node) *advertCapture {
	t.Helper()
	c, err := n.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	joinVRRPGroup(t, c, n)
	ac := &advertCapture{}
	go func() {
		buf := make([]byte, 1500)
		for {
			k, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			// net's ip4 sockets strip the IP header: VRRP starts at 0.
			if k >= 3 {
				ac.mu.Lock()
				ac.seen = append(ac.seen, advert{time.Now(), from.(*net.IPAddr).IP.String(), buf[2]})
				ac.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return ac
}

func (ac *advertCapture) from(src string) []advert {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	var out []advert
	for _, a := range ac.seen {
		if a.src == src {
			out = append(out, a)
		}
	}
	return out
}

func maxGap(ads []advert, since time.Time) time.Duration {
	var worst time.Duration
	var prev time.Time
	for _, a := range ads {
		if a.at.Before(since) {
			continue
		}
		if !prev.IsZero() {
			worst = max(worst, a.at.Sub(prev))
		}
		prev = a.at
	}
	return worst
}

const reloadConf = `global_defs {
    router_id RELOAD
}
vrrp_instance ETH0 {
    state MASTER
    interface eth0
    virtual_router_id 10
    priority 200
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24
%s    }
    notify_stop "/bin/touch /etc/keepalived/stopped"
}
`

// SIGTERM on the MASTER sends a priority 0 advert, the BACKUP takes over
// within Skew_Time (+20 ms), notify_stop runs (issue 7, must-show 2).
func TestStopHandsOverWithinSkew(t *testing.T) {
	lan := nettest.NewLAN(t)
	n1 := lan.AddNode("n1", "198.51.100.11/24")
	n2 := lan.AddNode("n2", "198.51.100.12/24")
	n3 := lan.AddNode("n3", "198.51.100.13/24")
	bin := buildSelf(t)
	dir1 := t.TempDir()
	os.WriteFile(filepath.Join(dir1, "keepalived.conf"), []byte(strings.Replace(reloadConf, "%s", "", 1)), 0o644)
	dir2 := t.TempDir()
	backup := strings.Replace(strings.Replace(reloadConf, "%s", "", 1), "priority 200", "priority 100", 1)
	backup = strings.Replace(backup, "state MASTER", "state BACKUP", 1)
	os.WriteFile(filepath.Join(dir2, "keepalived.conf"), []byte(backup), 0o644)
	ads := captureAdverts(t, n3)
	d1 := startDaemon(n1, bin, dir1)
	w1, w2 := n1.Watch("eth0"), n2.Watch("eth0")
	nettest.WaitFor(t, 10*time.Second, "n1 MASTER", func() bool { return w1.Has("198.51.100.10") })
	startDaemon(n2, bin, dir2)
	time.Sleep(2500 * time.Millisecond)

	d1.Signal(syscall.SIGTERM)
	var zeroAt time.Time
	nettest.WaitFor(t, 5*time.Second, "priority 0 advert", func() bool {
		for _, a := range ads.from("198.51.100.11") {
			if a.prio == 0 {
				zeroAt = a.at
				return true
			}
		}
		return false
	})
	for !w2.Has("198.51.100.10") {
		if time.Since(zeroAt) > 3*time.Second {
			t.Fatalf("BACKUP did not take over")
		}
		time.Sleep(time.Millisecond)
	}
	took := time.Since(zeroAt)
	skew := time.Duration(256-100) * time.Second / 256
	t.Logf("priority 0 advert to BACKUP holding the VIP: %v (Skew_Time %v)", took, skew)
	if took > skew+20*time.Millisecond {
		t.Errorf("takeover took %v, Skew_Time is %v", took, skew)
	}
	nettest.WaitFor(t, 5*time.Second, "notify_stop", func() bool {
		_, err := os.Stat(filepath.Join(dir1, "stopped"))
		return err == nil
	})
}

// SIGHUP with the same file, with a new VIP, and with a syntax error: the
// VIP never flaps (polled every 5 ms), adverts keep their interval, the new
// VIP appears, the broken file is refused and logged (issue 7, must-show 1).
func TestReloadWithoutFlap(t *testing.T) {
	lan := nettest.NewLAN(t)
	n1 := lan.AddNode("n1", "198.51.100.11/24")
	n2 := lan.AddNode("n2", "198.51.100.12/24")
	bin := buildSelf(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	write := func(extra string) { os.WriteFile(conf, []byte(strings.Replace(reloadConf, "%s", extra, 1)), 0o644) }
	write("")
	ads := captureAdverts(t, n2)
	d := startDaemon(n1, bin, dir)
	w := n1.Watch("eth0")
	nettest.WaitFor(t, 10*time.Second, "MASTER with the VIP", func() bool { return w.Has("198.51.100.10") })
	time.Sleep(1500 * time.Millisecond)

	var flaps, polls int
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
				polls++
				if !w.Has("198.51.100.10") {
					flaps++
				}
			}
		}
	}()
	since := time.Now()
	reloads := 0
	hup := func(what string) {
		reloads++
		d.Signal(syscall.SIGHUP)
		nettest.WaitFor(t, 5*time.Second, what, func() bool {
			return strings.Count(d.Output(), "Reload finished")+strings.Count(d.Output(), "Reload failed") >= reloads
		})
		time.Sleep(1500 * time.Millisecond)
	}
	hup("reload of the same file")
	write("        198.51.100.20/24\n")
	hup("reload with a new VIP")
	if !w.Has("198.51.100.20") {
		t.Errorf("new VIP not added by reload")
	}
	os.WriteFile(conf, []byte(strings.Replace(reloadConf, "%s", "", 1)+"vrrp_instance BROKEN {\n  state MASTER\n"), 0o644)
	hup("reload of a broken file")
	close(stop)
	<-done
	if !strings.Contains(d.Output(), "Reload failed, keeping the running configuration") {
		t.Errorf("broken reload not refused:\n%s", d.Output())
	}
	if !w.Has("198.51.100.20") || !w.Has("198.51.100.10") {
		t.Errorf("broken reload changed the running VIPs")
	}
	gap := maxGap(ads.from("198.51.100.11"), since)
	t.Logf("3 reloads: %d polls every 5 ms, %d without the VIP; largest advert gap %v", polls, flaps, gap)
	if flaps > 0 {
		t.Errorf("VIP missing in %d of %d polls during reloads\n%s", flaps, polls, d.Output())
	}
	if gap > 1050*time.Millisecond {
		t.Errorf("advert gap %v during reloads, interval is 1 s", gap)
	}
}
