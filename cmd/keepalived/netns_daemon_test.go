package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 16, must show 4: an Octavia-shaped configuration (the amphora's
// keepalived: unicast VRRP with a VIP, virtual routes and rules, a check
// script, a tracked process, and a UDP virtual server, here on the
// nftables data plane since this kernel has no IPVS) with net_namespace:
// the daemon, started in the initial namespace, runs in that namespace,
// and nothing of it shows outside. Debian's keepalived runs the same
// configuration (less the data plane it cannot run here) the same way.

func octaviaConf(ns, dir, peer string) string {
	return fmt.Sprintf(`global_defs {
  router_id amphora_kgvs
  vrrp_skip_check_adv_addr
  vrrp_garp_master_refresh 5
  vrrp_garp_master_refresh_repeat 2
  lvs_backend nftables
}
net_namespace %[1]s

vrrp_script check_script {
  script /bin/true
  interval 1
  fall 2
  rise 2
}
vrrp_track_process tp_amp {
  process %[4]s
  weight 10
}

vrrp_instance kgvs_amp {
  state MASTER
  interface eth1
  virtual_router_id 1
  priority 100
  nopreempt
  accept
  garp_master_refresh 5
  garp_master_refresh_repeat 2
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass 9b1b4e11
  }
  unicast_src_ip 203.0.113.241
  unicast_peer {
    %[3]s
  }
  virtual_ipaddress {
    203.0.113.245
  }
  virtual_routes {
    203.0.113.240/29 dev eth1 src 203.0.113.245 scope link table 1
    default via 203.0.113.242 dev eth1 onlink table 1
  }
  virtual_rules {
    from 203.0.113.245/32 table 1 priority 100
  }
  track_script {
    check_script
  }
  track_process {
    tp_amp
  }
}

virtual_server 203.0.113.245 5353 {
  delay_loop 30
  lb_algo rr
  lb_kind NAT
  protocol UDP
  real_server 203.0.113.242 5353 {
    weight 13
  }
}
`, ns, dir, peer, tpTag("A"))
}

// rootState is what the initial namespace holds that a daemon could
// change: links, addresses, routes, rules, nftables, VMAC-relevant
// sysctls are not touched by this configuration.
func rootState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, c := range [][]string{
		{"ip", "-o", "link", "show"}, {"ip", "-o", "addr", "show"},
		{"ip", "route", "show", "table", "all"}, {"ip", "-6", "route", "show", "table", "all"},
		{"ip", "rule", "show"}, {"ip", "-6", "rule", "show"}, {"nft", "list", "ruleset"},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
		b.WriteString(strings.Join(c, " ") + "\n" + string(out))
	}
	return b.String()
}

func TestOctaviaNetNamespace(t *testing.T) {
	needRootKeepalived(t)
	bin := buildSelf(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	pid := os.Getpid() % 100000
	amp, tenant := fmt.Sprintf("kgvsamp%d", pid), fmt.Sprintf("kgvsten%d", pid)
	for _, ns := range []string{amp, tenant} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v %s", err, out)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{amp, tenant} {
			killNamespace(ns)
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, c := range [][]string{
		{"ip", "link", "add", "eth1", "netns", amp, "type", "veth", "peer", "name", "eth0", "netns", tenant},
		{"ip", "-n", amp, "addr", "add", "203.0.113.241/29", "dev", "eth1"},
		{"ip", "-n", tenant, "addr", "add", "203.0.113.242/29", "dev", "eth0"},
		{"ip", "-n", amp, "link", "set", "eth1", "up"}, {"ip", "-n", amp, "link", "set", "lo", "up"},
		{"ip", "-n", tenant, "link", "set", "eth0", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", c, err, out)
		}
	}
	pr := newTPProcs(t, dir)
	conf := filepath.Join(dir, "amphora.conf")
	if err := os.WriteFile(conf, []byte(octaviaConf(amp, dir, "203.0.113.242")), 0o644); err != nil {
		t.Fatal(err)
	}
	before := rootState(t)
	inNS := func(args ...string) string {
		out, _ := exec.Command("ip", append([]string{"-n", amp}, args...)...).CombinedOutput()
		return string(out)
	}
	var report []string
	run := func(who, argv0 string, extra ...string) {
		t.Helper()
		tr := &tpTranscript{t0: time.Now()}
		d := &tpDaemon{name: who, tr: tr, done: make(chan struct{}), tmp: t.TempDir()}
		d.pids = []string{filepath.Join(pidDir, amp, "keepalived.pid")}
		d.cmd = exec.Command(argv0, append([]string{"-n", "-l", "-D", "-f", conf}, extra...)...)
		out, _ := d.cmd.StderrPipe()
		d.cmd.Stdout = d.cmd.Stderr
		if err := d.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(d.done)
			b := make([]byte, 4096)
			var line strings.Builder
			for {
				n, err := out.Read(b)
				for _, c := range b[:n] {
					if c == '\n' {
						tr.add(line.String())
						line.Reset()
					} else {
						line.WriteByte(c)
					}
				}
				if err != nil {
					return
				}
			}
		}()
		defer d.stop(t)
		d.waitLog(t, "(kgvs_amp) Entering MASTER STATE")
		time.Sleep(time.Second)
		// The daemon (the pid it was started with) is in the namespace.
		self, _ := os.Stat(fmt.Sprintf("/proc/%d/ns/net", d.cmd.Process.Pid))
		want, _ := os.Stat(netnsDir + amp)
		inside := self != nil && want != nil && os.SameFile(self, want)
		pidFile, _ := os.ReadFile(filepath.Join(pidDir, amp, "keepalived.pid"))
		vip := strings.Contains(inNS("-o", "addr", "show", "dev", "eth1"), "203.0.113.245/32")
		nft, _ := exec.Command("ip", "netns", "exec", amp, "nft", "list", "tables").CombinedOutput()
		routes := strings.Count(inNS("route", "show", "table", "1"), "\n")
		rules := strings.Count(inNS("rule", "show", "table", "1"), "\n")
		// track_process works in the namespace: keepalived opens the
		// connector before entering it.
		c := pr.start("A")
		d.waitLog(t, "(kgvs_amp) Changing effective priority from 100 to 110")
		pr.kill(c)
		d.waitLog(t, "(kgvs_amp) Changing effective priority from 110 to 100")
		after := rootState(t)
		report = append(report, fmt.Sprintf("%-10s pid %d in %s: %v; pid file /run/keepalived/%s/keepalived.pid = %q; VIP on eth1 inside: %v; nftables inside: %q; tracked process seen: true; initial namespace unchanged: %v; inside, table 1 holds %d routes and %d rules (virtual_routes/rules: branch vkernel)",
			who, d.cmd.Process.Pid, amp, inside, amp, strings.TrimSpace(string(pidFile)), vip, strings.Fields(string(nft)), after == before, routes, rules))
		if !inside || strings.TrimSpace(string(pidFile)) != fmt.Sprint(d.cmd.Process.Pid) || !vip {
			t.Errorf("%s: in the namespace %v, pid file %q, VIP %v", who, inside, pidFile, vip)
		}
		if after != before {
			t.Errorf("%s changed the initial namespace:\n%s", who, lineDiff(before, after))
		}
		if who == "ours" && !strings.Contains(string(nft), "keepalived_lb") {
			t.Errorf("ours: no nftables data plane in the namespace: %s", nft)
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop", who)
		}
		d.cmd.Wait()
		if _, err := os.Stat(filepath.Join(pidDir, amp)); err == nil {
			t.Errorf("%s left %s/%s behind", who, pidDir, amp)
		}
		if got := rootState(t); got != before {
			t.Errorf("%s left changes in the initial namespace:\n%s", who, lineDiff(before, got))
		}
		if s := inNS("-o", "addr", "show", "dev", "eth1"); strings.Contains(s, "203.0.113.245") {
			t.Errorf("%s left its VIP: %s", who, s)
		}
	}
	// keepalived's checker process stops it without IPVS: its VRRP
	// process alone (-P).
	run("keepalived", debianKeepalived, "-P")
	run("ours", bin)
	t.Logf("net_namespace %s, an Octavia-shaped configuration started from the initial namespace:\n%s", amp, strings.Join(report, "\n"))
}
