package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// The VMAC and ipvlan variants, each run by Debian's keepalived and then
// by ours on the same node: what the kernel holds while the instances
// are MASTER and after the daemon stopped must be the same, and so must
// the lines of the VMAC's making and removal.

type vmacCase struct {
	name string
	// setup runs on the node before each daemon (sysctls).
	setup []string
	conf  string // global_defs body + instances
	// want is logged by both (keepalived's words), in order.
	want []string
}

var vmacCases = []vmacCase{
	{name: "IPv4", conf: `
vrrp_instance V4 {
  interface eth0
  use_vmac
  virtual_router_id 40
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.51.100.100/24
  }
}`, want: []string{"(V4): Success creating VMAC interface vrrp.40", "(V4) Entering MASTER STATE", "(V4) Success removing VMAC interface vrrp.40"}},
	{name: "IPv4 rp_filter", setup: []string{"sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=0"}, conf: `
vrrp_instance V4 {
  interface eth0
  use_vmac
  virtual_router_id 40
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.51.100.100/24
  }
}`, want: []string{"(V4) Entering MASTER STATE"}},
	{name: "IPv6 xmit_base, named, MAC", conf: `
vrrp_instance V6 {
  interface eth0
  use_vmac kgvmac6 02:00:5e:00:02:42
  vmac_xmit_base
  virtual_router_id 61
  priority 150
  advert_int 1
  virtual_ipaddress {
    2001:db8:60::100/64
  }
}`, want: []string{"(V6): Success creating VMAC interface kgvmac6", "(V6) Entering MASTER STATE"}},
	{name: "same VRID both families, vmac_prefix", conf: `
global_defs {
  vmac_prefix kgv
}
vrrp_instance V4 {
  interface eth0
  use_vmac
  virtual_router_id 50
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.51.100.100/24
    2001:db8:60::200/64
  }
}
vrrp_instance V6 {
  interface eth0
  use_vmac
  virtual_router_id 50
  priority 150
  advert_int 1
  virtual_ipaddress {
    2001:db8:60::100/64
    198.51.100.200/24
  }
}`, want: []string{"(V4): Success creating VMAC interface kgv.50", "(V6): Success creating VMAC interface kgv6.50", "(V4) Entering MASTER STATE", "(V6) Entering MASTER STATE"}},
	{name: "use_vmac_addr, vmac_addr_prefix", conf: `
global_defs {
  vmac_addr_prefix kga
}
vrrp_instance V4 {
  interface eth0
  use_vmac_addr
  virtual_router_id 52
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.51.100.100/24
    2001:db8:60::300/64
    198.51.100.101/24 dev eth1
  }
}`, want: []string{"(V4) Entering MASTER STATE"}},
	{name: "ipvlan (no CONFIG_IPVLAN here)", conf: `
vrrp_instance VI {
  interface eth0
  use_ipvlan 198.51.100.21/24 private
  virtual_router_id 41
  priority 150
  advert_int 1
  virtual_ipaddress {
    198.51.100.101/24
  }
}`, want: []string{"(VI): Unable to create ipvlan interface vrrp.41", "(VI): entering FAULT state (interface vrrp.41 down)"}},
}

// kernelState is the node's links, addresses and the sysctls keepalived
// touches for VMACs, with interface indexes and peers masked.
func kernelState(t *testing.T, n *nettest.Node) string {
	t.Helper()
	s := n.MustExec("sh", "-c", `ip -d link show; ip -d addr show;
for f in /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_filter /proc/sys/net/ipv4/conf/*/accept_local \
  /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/promote_secondaries /proc/sys/net/ipv6/conf/*/disable_ipv6 \
  /proc/sys/net/ipv6/conf/*/addr_gen_mode; do echo "$f=$(cat $f)"; done`)
	s = regexp.MustCompile(`(?m)^\d+: `).ReplaceAllString(s, "")
	s = regexp.MustCompile(`@if\d+| link-netns \S+|(?m)^Error: .*$`).ReplaceAllString(s, "")
	// The VIPs' broadcast attribute is issue 16's address item (branch
	// vkernel): left out here, where the links are compared.
	s = regexp.MustCompile(` brd \d+\.\d+\.\d+\.\d+ scope`).ReplaceAllString(s, " scope")
	return s
}

func TestVMACKernelParity(t *testing.T) {
	needRootKeepalived(t)
	bin := buildSelf(t)
	for _, c := range vmacCases {
		t.Run(c.name, func(t *testing.T) { vmacParity(t, bin, c) })
	}
}

func vmacParity(t *testing.T, bin string, c vmacCase) {
	dir := t.TempDir()
	lan := nettest.NewLAN(t)
	n := lan.AddNode("a", "198.51.100.1/24", "2001:db8:60::1/64")
	other := nettest.NewLAN(t)
	other.Attach(n, "eth1", "203.0.113.1/24")
	// No test address still doing DAD when the states are taken.
	nettest.WaitFor(t, 10*time.Second, "DAD done", func() bool {
		out, _ := n.Exec("ip", "-6", "addr", "show", "tentative")
		return strings.TrimSpace(out) == ""
	})
	conf := filepath.Join(dir, "k.conf")
	body := c.conf
	if !strings.Contains(body, "global_defs") {
		body = "global_defs {\n  router_id vmacparity\n}\n" + body
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(who, argv0 string) (running, stopped string, log []string) {
		for _, s := range c.setup {
			n.MustExec("sh", "-c", s)
		}
		p := n.Start(nil, argv0, "-n", "-l", "-D", "-G", "-P", "-f", conf,
			"-p", filepath.Join(dir, who+".pid"), "-r", filepath.Join(dir, who+".vrrp.pid"), "-c", filepath.Join(dir, who+".check.pid"))
		last := c.want[len(c.want)-1]
		if strings.Contains(last, "removing") && len(c.want) > 1 {
			last = c.want[len(c.want)-2]
		}
		nettest.WaitFor(t, 20*time.Second, who+": "+last, func() bool { return strings.Contains(p.Output(), last) })
		time.Sleep(time.Second)
		running = kernelState(t, n)
		p.Signal(syscall.SIGTERM)
		p.Wait()
		stopped = kernelState(t, n)
		return running, stopped, strings.Split(p.Output(), "\n")
	}
	kaRun, kaStop, kaLog := run("keepalived", debianKeepalived)
	ourRun, ourStop, ourLog := run("ours", bin)
	for _, w := range c.want {
		for who, l := range map[string][]string{"keepalived": kaLog, "ours": ourLog} {
			found := false
			for _, line := range l {
				if strings.HasSuffix(line, ": "+w) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s did not log %q", who, w)
			}
		}
	}
	if kaRun != ourRun {
		t.Errorf("running: the kernel differs\n%s", lineDiff(kaRun, ourRun))
	}
	if kaStop != ourStop {
		t.Errorf("after stop: the kernel differs\n%s", lineDiff(kaStop, ourStop))
	}
	t.Logf("%s: running %d lines and after stop %d lines of links, addresses and sysctls, equal: %v", c.name,
		strings.Count(kaRun, "\n"), strings.Count(kaStop, "\n"), kaRun == ourRun && kaStop == ourStop)
	if t.Failed() {
		t.Logf("keepalived:\n%s\nours:\n%s", strings.Join(kaLog, "\n"), strings.Join(ourLog, "\n"))
	}
}
