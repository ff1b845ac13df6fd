// Package e2e runs the seed scenario end to end: two nodes that are both the
// load-balancer pair and the web servers, and a client, in network
// namespaces, with our daemon, the seed's configs (addresses moved) and its
// redirect.sh unchanged. On kernels without IPVS the daemon uses the
// nftables data plane.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

const vip = "198.51.100.10"

type seedNode struct {
	*nettest.Node
	etc    string
	daemon *nettest.Proc
	web    *nettest.Proc
	addr   string
}

type seed struct {
	t      *testing.T
	bin    string
	web    string
	a, b   *seedNode
	client *nettest.Node
	watchA *nettest.AddrWatcher
	watchB *nettest.AddrWatcher
}

func build(t *testing.T, pkg, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func newSeed(t *testing.T) *seed {
	nettest.Skip(t)
	if _, err := exec.LookPath("ab"); err != nil {
		t.Skip("needs ab (apache2-utils; make deps)")
	}
	lan := nettest.NewLAN(t)
	s := &seed{t: t, bin: build(t, "keepalived-go/cmd/keepalived", "keepalived"), web: build(t, "keepalived-go/internal/seedweb", "seedweb")}
	s.a = &seedNode{Node: lan.AddNode("a", "198.51.100.11/24"), addr: "198.51.100.11"}
	s.b = &seedNode{Node: lan.AddNode("b", "198.51.100.12/24"), addr: "198.51.100.12"}
	s.client = lan.AddNode("client", "198.51.100.100/24")
	for _, n := range []struct {
		node *seedNode
		conf string
	}{{s.a, "lab-master.conf"}, {s.b, "lab-backup.conf"}} {
		n.node.etc = t.TempDir()
		for _, f := range []string{n.conf, "redirect.sh"} {
			b, err := os.ReadFile(filepath.Join("../testdata/seed", f))
			if err != nil {
				t.Fatal(err)
			}
			dst := f
			if f == n.conf {
				dst = "keepalived.conf"
			}
			mode := os.FileMode(0o700)
			if f == n.conf {
				// keepalived skips an executable configuration file
				mode = 0o644
			}
			os.WriteFile(filepath.Join(n.node.etc, dst), b, mode)
		}
		s.startWeb(n.node)
	}
	s.watchA, s.watchB = s.a.Watch("eth0"), s.b.Watch("eth0")
	return s
}

func (s *seed) startWeb(n *seedNode) {
	n.web = n.Start(nil, s.web, "-listen", ":80", "-log", filepath.Join(n.etc, "access.log"))
}

func (s *seed) stopWeb(n *seedNode) {
	n.web.Signal(syscall.SIGKILL)
	n.web.Wait()
}

func (s *seed) startDaemon(n *seedNode) {
	n.daemon = n.Start(map[string]string{n.etc: "/etc/keepalived"}, s.bin, "-n", "-l", "-G",
		"-f", "/etc/keepalived/keepalived.conf", "-p", n.etc+"/k.pid", "-r", n.etc+"/v.pid", "-c", n.etc+"/c.pid")
}

// served counts the client's requests in a node's access log.
func (n *seedNode) served() int {
	b, _ := os.ReadFile(filepath.Join(n.etc, "access.log"))
	return strings.Count(string(b), "198.51.100.100 - - ")
}

func (n *seedNode) resetLog() { os.WriteFile(filepath.Join(n.etc, "access.log"), nil, 0o644) }

type abResult struct {
	complete, failed int
	rps              float64
	out              string
}

var (
	reComplete = regexp.MustCompile(`Complete requests:\s+(\d+)`)
	reFailed   = regexp.MustCompile(`Failed requests:\s+(\d+)`)
	reRPS      = regexp.MustCompile(`Requests per second:\s+([\d.]+)`)
)

// ab runs ApacheBench from the client through the VIP (-r: go on after
// socket errors, so failures are counted rather than fatal).
func (s *seed) ab(n, c int, extra ...string) abResult {
	args := append([]string{"ab", "-q", "-r", "-s", "5", "-n", strconv.Itoa(n), "-c", strconv.Itoa(c)}, extra...)
	out, _ := s.client.Exec(append(args, "http://"+vip+"/")...)
	r := abResult{out: out}
	if m := reComplete.FindStringSubmatch(out); m != nil {
		r.complete, _ = strconv.Atoi(m[1])
	}
	if m := reFailed.FindStringSubmatch(out); m != nil {
		r.failed, _ = strconv.Atoi(m[1])
	}
	if m := reRPS.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	return r
}

// up brings the pair up: A MASTER with the VIP, both real servers checked.
func (s *seed) up() {
	s.startDaemon(s.a)
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("A's daemon said:\n%s", s.a.daemon.Output())
		}
	})
	nettest.WaitFor(s.t, 15*time.Second, "A MASTER with the VIP", func() bool { return s.watchA.Has(vip) })
	s.startDaemon(s.b)
	nettest.WaitFor(s.t, 15*time.Second, "both real servers up on A", func() bool {
		out := s.a.daemon.Output()
		return strings.Contains(out, "[198.51.100.11]:tcp:80 succeed") && strings.Contains(out, "[198.51.100.12]:tcp:80 succeed")
	})
	nettest.WaitFor(s.t, 15*time.Second, "B BACKUP", func() bool { return strings.Contains(s.b.daemon.Output(), "Entering BACKUP STATE") })
	// notify_backup (redirect.sh add) runs after the state change is
	// logged; until its rule is in, B refuses what A forwards to it.
	nettest.WaitFor(s.t, 15*time.Second, "B's REDIRECT rule", func() bool {
		out, _ := s.b.Exec("iptables", "-t", "nat", "-S", "PREROUTING")
		return strings.Contains(out, "REDIRECT")
	})
}

// Must-show 1: ab -n 20000 -c 200 through the VIP, 0 failures, the round
// robin split within 50% ± 5% counted from both access logs.
func TestSeedLoadSplit(t *testing.T) {
	s := newSeed(t)
	s.up()
	s.a.resetLog()
	s.b.resetLog()
	r := s.ab(20000, 200)
	time.Sleep(300 * time.Millisecond) // log flush
	na, nb := s.a.served(), s.b.served()
	share := 100 * float64(na) / float64(na+nb)
	t.Logf("ab -n 20000 -c 200: %d complete, %d failed, %.0f req/s; node A %d, node B %d (%.1f%% / %.1f%%)", r.complete, r.failed, r.rps, na, nb, share, 100-share)
	fmt.Printf("seed load: %d requests, %d failed, %.0f req/s, split A %d / B %d (%.1f%%)\n", r.complete, r.failed, r.rps, na, nb, share)
	if r.complete != 20000 || r.failed != 0 {
		t.Errorf("ab: %d complete, %d failed\n%s", r.complete, r.failed, r.out)
	}
	if share < 45 || share > 55 {
		t.Errorf("split %.1f%% / %.1f%%, want 50 ± 5", share, 100-share)
	}
}

// Must-show 2: B's web server stops mid-run; after delay_loop x (retry+1)
// plus one connect_timeout no new connection goes to B; failed requests
// are counted and all fall inside that window.
func TestSeedWebServerDies(t *testing.T) {
	s := newSeed(t)
	s.up()
	const window = 3*(3+1)*time.Second + 3*time.Second
	stop := make(chan struct{})
	done := make(chan []sample, 1)
	go func() { done <- s.load(20, 400000, stop) }()
	time.Sleep(2 * time.Second)
	stopped := time.Now()
	s.stopWeb(s.b)
	nettest.WaitFor(t, window+5*time.Second, "B removed from the table", func() bool {
		return strings.Contains(s.a.daemon.Output(), "Removing service [198.51.100.12]:tcp:80")
	})
	removedAfter := time.Since(stopped)
	time.Sleep(3 * time.Second)
	close(stop)
	samples := <-done
	n, first, last := failures(samples)
	t.Logf("web server on B stopped; removed after %v (bound %v); %d requests, %d failed, from %v to %v after the stop",
		removedAfter.Round(time.Millisecond), window, len(samples), n, first.Sub(stopped).Round(time.Millisecond), last.Sub(stopped).Round(time.Millisecond))
	fmt.Printf("web server down: removed after %v (bound %v); %d of %d requests failed, all within %v of the stop\n",
		removedAfter.Round(time.Millisecond), window, n, len(samples), last.Sub(stopped).Round(time.Millisecond))
	if removedAfter > window+time.Second {
		t.Errorf("B removed after %v, bound is %v", removedAfter, window)
	}
	if n == 0 {
		t.Errorf("no failures while B was down and still in the table: is B really stopped?")
	}
	if n > 0 && (first.Before(stopped.Add(-time.Second)) || last.Sub(stopped) > removedAfter+time.Second) { // requests in flight at the stop may fail too
		t.Errorf("failures outside the window: from %v to %v after the stop, removal after %v", first.Sub(stopped), last.Sub(stopped), removedAfter)
		for _, x := range samples {
			if !x.ok && x.start.Before(stopped.Add(-time.Second)) {
				t.Logf("failed %v after the stop (%v): %s", x.start.Sub(stopped), x.end.Sub(x.start), x.err)
			}
		}
	}
	s.startWeb(s.b)
	nettest.WaitFor(t, 20*time.Second, "B re-added", func() bool {
		return strings.Contains(s.a.daemon.Output(), "Adding service [198.51.100.12]:tcp:80")
	})
}

// Must-show 3: the MASTER is killed (SIGKILL and link down) mid-run; the
// BACKUP serves within Master_Down_Interval; after the old MASTER returns
// and preempts, traffic is split again.
func TestSeedMasterDies(t *testing.T) {
	s := newSeed(t)
	s.up()
	masterDown := 3*time.Second + time.Duration(256-100)*time.Second/256
	stop := make(chan struct{})
	done := make(chan []sample, 1)
	go func() { done <- s.load(20, 400000, stop) }()
	time.Sleep(2 * time.Second)
	killed := time.Now()
	s.a.daemon.Signal(syscall.SIGKILL)
	s.a.MustExec("ip", "link", "set", "eth0", "down")
	for !s.watchB.Has(vip) {
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("B never took the VIP")
		}
		time.Sleep(2 * time.Millisecond)
	}
	takeover := time.Since(killed)
	time.Sleep(3 * time.Second)
	close(stop)
	samples := <-done
	n, _, last := failures(samples)
	var servedAgain time.Duration
	for _, x := range samples {
		if x.ok && x.start.After(killed) && x.end.After(killed.Add(takeover)) {
			servedAgain = x.end.Sub(killed)
			break
		}
	}
	t.Logf("MASTER killed and unplugged: B holds the VIP after %v (Master_Down_Interval %v), first answer from B %v after the kill; %d of %d requests failed, the last %v after the kill",
		takeover.Round(time.Millisecond), masterDown, servedAgain.Round(time.Millisecond), n, len(samples), last.Sub(killed).Round(time.Millisecond))
	fmt.Printf("master down: VIP on B after %v (Master_Down_Interval %v), serving again %v after the kill; %d of %d requests failed\n",
		takeover.Round(time.Millisecond), masterDown, servedAgain.Round(time.Millisecond), n, len(samples))
	if takeover > masterDown+100*time.Millisecond {
		t.Errorf("takeover after %v, Master_Down_Interval is %v", takeover, masterDown)
	}
	if servedAgain == 0 || servedAgain > masterDown+time.Second {
		t.Errorf("B served again %v after the kill", servedAgain)
	}
	// The old MASTER returns and preempts; traffic is split again.
	s.a.MustExec("ip", "link", "set", "eth0", "up")
	s.a.MustExec("ip", "addr", "flush", "dev", "eth0", "to", vip+"/32")
	s.startDaemon(s.a)
	nettest.WaitFor(t, 15*time.Second, "A preempts", func() bool { return s.watchA.Has(vip) && !s.watchB.Has(vip) })
	nettest.WaitFor(t, 15*time.Second, "A checks both servers", func() bool {
		return strings.Count(s.a.daemon.Output(), "succeed on service") >= 2
	})
	time.Sleep(time.Second)
	s.a.resetLog()
	s.b.resetLog()
	r2 := s.ab(4000, 50)
	time.Sleep(300 * time.Millisecond)
	na, nb := s.a.served(), s.b.served()
	t.Logf("after preempt: %d failed, split A %d / B %d", r2.failed, na, nb)
	if r2.failed != 0 || na < 1600 || nb < 1600 {
		t.Errorf("after preempt: %d failed, split A %d / B %d", r2.failed, na, nb)
	}
}
