package iproute

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/nettest"
	"keepalived-go/parser"
)

// The kernel comparison: each configuration is run by Debian's keepalived
// 2.2.7 (MASTER, so its virtual routes and rules are installed; static ones
// are installed at start whatever the state) in one network namespace, and
// installed with this package in another namespace built the same way; the
// kernel's route and rule tables must then read the same.

var nsSeq atomic.Int32

// kernelConfigs are the configurations compared: every route and rule
// option keepalived parses, including ones the kernel refuses (both must
// be refused) and keepalived's message size limits.
var kernelConfigs = map[string]struct{ vroutes, vrules, sroutes, srules string }{
	"basic4": {vroutes: `
        203.0.113.128/25 via 198.51.100.1 dev eth0
        198.51.100.64/26 dev eth1 table 100 metric 5 scope link
        203.0.113.64/26 via 198.51.100.1 dev eth0 src 198.51.100.10 protocol 18
        203.0.113.32/27 dev eth0 tos 0x10 metric 7
        blackhole 203.0.113.16/28 table 101
        unreachable 203.0.113.8/29 table 101 metric 3
        prohibit 203.0.113.4/30 table 101
        throw 203.0.113.0/30 table 102
        local 198.51.100.200 dev eth0 table 103
        203.0.113.128/25 via 203.0.113.1 dev eth1 append
        203.0.113.200/32 via 198.51.100.250 dev eth0 onlink table 104
        198.51.100.128/25 via 203.0.113.1 dev eth1 realms 3/4 table 105
        default via 198.51.100.1 dev eth0 table 106
        203.0.113.96/27 dev eth0 no_track table 107 protocol static
        203.0.113.96/27 dev eth0 table 107 add
        203.0.113.160/27 dev eth0 table 2000
        203.0.113.192/27 via 198.51.100.1 table 108
        203.0.113.224/27 via 198.51.100.1 or 203.0.113.1 dev eth0 table 109`},
	"metrics4": {vroutes: `
        203.0.113.128/25 dev eth0 mtu lock 1400 advmss 1300 hoplimit 9 table 110
        203.0.113.64/26 dev eth0 rtt 300ms rttvar lock 200ms rto_min 300ms table 110
        203.0.113.32/27 dev eth0 reordering lock 5 window 1000 cwnd lock 10 ssthresh 20 initcwnd 10 initrwnd 20 table 110
        203.0.113.16/28 dev eth0 features ecn quickack 1 fastopen_no_cookie 1 table 110
        203.0.113.8/29 dev eth0 congctl lock reno table 110
        203.0.113.0/29 dev eth0 congctl cubic table 111
        203.0.113.200/32 dev eth0 ttl-propagate enabled table 110
        203.0.113.201/32 dev eth0 rtt 1.5s rttvar 1 table 110`},
	"ipv6": {vroutes: `
        2001:db8:3::/48 via 2001:db8:1::1 dev eth0
        2001:db8:4::/48 dev eth1 metric 100 pref high
        2001:db8:5::/48 dev eth0 expires 300
        2001:db8:6::/48 from 2001:db8:1::/64 dev eth0
        2001:db8:7::/48 dev eth0 table 120 src 2001:db8:1::2
        blackhole 2001:db8:8::/48 table 120
        default6 via 2001:db8:1::1 dev eth0 table 121
        2001:db8:9::/48 dev eth0 mtu 1400 hoplimit 5 table 122
        2001:db8:a::/48 dev eth0 pref 5 table 122
        2001:db8:b::/48 via 2001:db8:2::1 dev eth1 pref low metric 5 table 123 add`},
	"multipath": {vroutes: `
        203.0.113.128/25 nexthop via 198.51.100.1 dev eth0 weight 2 nexthop via 203.0.113.1 dev eth1 weight 3
        203.0.113.64/26 table 130 nexthop via 198.51.100.1 dev eth0 onlink nexthop via 203.0.113.1 dev eth1 realms 5
        2001:db8:3::/48 nexthop via 2001:db8:1::1 dev eth0 nexthop via 2001:db8:2::1 dev eth1
        2001:db8:4::/48 nexthop via 2001:db8:1::1 dev eth0 nexthop via 2001:db8:2::1 dev eth1 nexthop via 2001:db8:1::3 dev eth0
        203.0.113.32/27 via 198.51.100.1 or 198.51.100.3 dev eth0 table 131
        203.0.113.16/28 dev eth0 table 132 nexthop via 198.51.100.1 encap ip id 5 dst 198.51.100.9
        203.0.113.0/28 table 133 nexthop via 198.51.100.1 dev eth0 nexthop via 198.51.100.3 dev eth0 nexthop via 203.0.113.1 dev eth1 nexthop via 203.0.113.3 dev eth1`},
	"encap": {vroutes: `
        203.0.113.128/25 dev eth0 encap ip id 5 dst 198.51.100.5 tos 0x10 ttl 5 table 140
        2001:db8:3::/48 dev eth0 encap ip6 id 7 dst 2001:db8:1::5 hoplimit 9 table 140
        203.0.113.64/26 via 198.51.100.1 dev eth0 encap mpls 100/200 table 140
        2001:db8:4::/48 dev eth0 encap ila 1:2:3:4 table 140
        2001:db8:5::/48 via 2001:db8:1::1 dev eth0 src 2001:db8:1::2 table 141 encap ip6 id 7 dst 2001:db8:1::5 src 2001:db8:1::6 tc 0x10 hoplimit 9 flags 1
        203.0.113.32/27 dev eth0 encap ip dst 198.51.100.5 src 198.51.100.6 flags 1 table 142`},
	"rules": {vrules: `
        from 198.51.100.0/24 table 100 priority 100
        to 203.0.113.0/24 lookup 101 priority 101
        not from 198.51.100.128/25 table 102 priority 102
        fwmark 0x10/0xff table 103 priority 103
        fwmark 7 table 103 priority 104
        iif eth0 table 104 priority 105
        oif eth1 table 104 priority 106
        tos 0x10 table 105 priority 107
        from 198.51.100.0/24 realms 1/2 table 106 priority 108
        table main suppress_prefixlength 0 priority 109
        table main suppress_ifgroup default priority 110
        uidrange 100-200 table 107 priority 111
        ipproto tcp sport 1000-2000 dport 80-81 table 108 priority 112
        tunnel-id 5 table 109 priority 113
        priority 114 goto 200
        priority 200 nop
        from 198.51.100.1 blackhole priority 115
        from 198.51.100.2 unreachable priority 116
        from 198.51.100.3 prohibit priority 117
        l3mdev priority 118
        from 198.51.100.4 table 2000 priority 119
        from 198.51.100.5 table 110 no_track priority 120
        from 198.51.100.6 table 111
        from all table 112 priority 121
        from 2001:db8:1::/64 table 100 priority 100
        to 2001:db8:2::/64 table 101
        from 2001:db8:1::5 blackhole priority 101
        fwmark 9 table 113 priority 122 protocol 5`},
	"static": {
		sroutes: `
    203.0.113.128/25 via 198.51.100.1 dev eth0
    203.0.113.64/26 dev eth1 table 150 track_group TG1
    2001:db8:3::/48 via 2001:db8:1::1 dev eth0 no_track
    blackhole 203.0.113.32/27 table 151
    203.0.113.16/28 dev eth0 protocol zebra no_track metric 3`,
		srules: `
    from 198.51.100.0/24 table 150 priority 300
    iif eth1 table 151 priority 301 track_group TG1
    to 2001:db8:2::/64 table 150
    from 203.0.113.5 table 151`,
		vroutes: `
        203.0.113.200/32 dev eth0 table 152`},
}

func kernelConf(c struct{ vroutes, vrules, sroutes, srules string }) string {
	var b strings.Builder
	b.WriteString("track_group TG1 {\n    group {\n        VI_1\n    }\n}\n")
	if c.sroutes != "" {
		fmt.Fprintf(&b, "static_routes {%s\n}\n", c.sroutes)
	}
	if c.srules != "" {
		fmt.Fprintf(&b, "static_rules {%s\n}\n", c.srules)
	}
	b.WriteString(`vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 255
    advert_int 1
    virtual_ipaddress {
        198.51.100.10
    }
`)
	if c.vroutes != "" {
		fmt.Fprintf(&b, "    virtual_routes {%s\n    }\n", c.vroutes)
	}
	if c.vrules != "" {
		fmt.Fprintf(&b, "    virtual_rules {%s\n    }\n", c.vrules)
	}
	b.WriteString("}\n")
	return b.String()
}

// kns is a namespace with eth0 and eth1 (a veth pair) addressed alike on
// both sides of the comparison.
type kns struct {
	t    *testing.T
	name string
}

func newKNS(t *testing.T, side string) *kns {
	t.Helper()
	n := &kns{t: t, name: fmt.Sprintf("kgrt%d-%d-%s", os.Getpid()%100000, nsSeq.Add(1), side)}
	n.ip("netns", "add", n.name)
	t.Cleanup(func() {
		nettest.KillAll(n.name)
		exec.Command("ip", "netns", "del", n.name).Run()
	})
	exec.Command("ip", "netns", "exec", n.name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").Run()
	n.ip("-n", n.name, "link", "set", "lo", "up")
	// Fixed MACs: the link-local addresses (and routes) are the same on both sides.
	n.ip("-n", n.name, "link", "add", "eth0", "address", "02:00:5e:10:00:01", "type", "veth", "peer", "name", "eth1", "address", "02:00:5e:10:00:02")
	for _, a := range [][]string{
		{"198.51.100.2/24", "eth0"}, {"2001:db8:1::2/64", "eth0"}, {"203.0.113.2/24", "eth1"}, {"2001:db8:2::2/64", "eth1"},
	} {
		args := []string{"-n", n.name, "addr", "add", a[0], "dev", a[1]}
		if strings.Contains(a[0], ":") {
			args = append(args, "nodad")
		}
		n.ip(args...)
	}
	n.ip("-n", n.name, "link", "set", "eth0", "up")
	n.ip("-n", n.name, "link", "set", "eth1", "up")
	return n
}

func (n *kns) ip(args ...string) string {
	n.t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var (
	expiresRE = regexp.MustCompile(`expires -?\d+sec`)
	ifindexRE = regexp.MustCompile(`\bif\d+\b`)
)

// tables is what the kernel holds, indexes and expiry counts masked.
func (n *kns) tables() string {
	var b strings.Builder
	for _, args := range [][]string{
		{"-4", "-d", "route", "show", "table", "all"}, {"-6", "-d", "route", "show", "table", "all"},
		{"rule", "show"}, {"-6", "rule", "show"},
	} {
		out := n.ip(append([]string{"-n", n.name}, args...)...)
		out = expiresRE.ReplaceAllString(out, "expires Nsec")
		out = ifindexRE.ReplaceAllString(out, "ifN")
		fmt.Fprintf(&b, "### ip %s\n%s", strings.Join(args, " "), out)
	}
	return b.String()
}

// stable polls the tables until two reads 100ms apart agree and cond holds.
func (n *kns) stable(cond func(string) bool) string {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	prev := ""
	for {
		cur := n.tables()
		if cur == prev && cond(cur) {
			return cur
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: tables did not settle:\n%s", n.name, cur)
		}
		prev = cur
		time.Sleep(100 * time.Millisecond)
	}
}

// runKeepalived starts Debian's keepalived on conf, waits until it is
// MASTER with its routes in place, reads the tables, stops it (SIGTERM: it
// removes what it installed) and reads them again.
func runKeepalived(t *testing.T, n *kns, dir, conf string) (master, stopped, log string) {
	t.Helper()
	cf := filepath.Join(dir, "ka.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "ka.log")
	lf, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command("ip", "netns", "exec", n.name, "keepalived", "-n", "-l", "-D", "-P", "-f", cf,
		"-p", filepath.Join(dir, "ka.pid"), "-r", filepath.Join(dir, "ka.vrrp.pid"), "-c", filepath.Join(dir, "ka.chk.pid"))
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			nettest.KillAll(n.name)
			<-done
		}
	}
	defer stop()
	tabs := n.stable(func(s string) bool {
		b, _ := os.ReadFile(logf)
		return strings.Contains(string(b), "Entering MASTER STATE") && strings.Contains(s, "198.51.100.10 dev eth0")
	})
	stop()
	after := n.stable(func(string) bool { return true })
	b, _ := os.ReadFile(logf)
	return tabs, after, string(b)
}

// runOurs loads conf as keepalived's VRRP process does and installs what
// keepalived installs at start (static routes, static rules after deleting
// leftovers) and on becoming MASTER (the VIP, virtual routes, virtual
// rules), then removes them as keepalived does when it stops
// (restore_vrrp_interfaces: virtual rules, routes, VIP; then static rules
// and routes).
func runOurs(t *testing.T, n *kns, dir, conf string) (master, stopped string, errs []error) {
	t.Helper()
	cf := filepath.Join(dir, "ours.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var ifs config.InterfaceSet
	if err := nettest.InNamespace(n.name, func() error { ifs = config.SystemInterfaces(); return nil }); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(cf, config.Options{Interfaces: ifs, Hostname: "node1", Parser: parser.Options{Dir: dir}})
	if diags.Fatal() || cfg.VRRPFailed || len(cfg.Instances) != 1 {
		t.Fatalf("config refused:\n%s", diags)
	}
	h, err := Open("/run/netns/" + n.name)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	sroutes, srules := NewRouteStates(cfg.StaticRoutes), NewRuleStates(cfg.StaticRules)
	h.RuleList(srules, Del, true)
	_, e := h.RouteList(sroutes, Add, false)
	errs = append(errs, e...)
	errs = append(errs, h.RuleList(srules, Add, false)...)
	n.ip("-n", n.name, "addr", "add", "198.51.100.10/32", "dev", "eth0")
	in := cfg.Instances[0]
	vroutes, vrules := NewRouteStates(in.Routes), NewRuleStates(in.Rules)
	_, e = h.RouteList(vroutes, Add, false)
	errs = append(errs, e...)
	errs = append(errs, h.RuleList(vrules, Add, false)...)
	master = n.stable(func(string) bool { return true })
	h.RuleList(vrules, Del, false)
	h.RouteList(vroutes, Del, false)
	n.ip("-n", n.name, "addr", "del", "198.51.100.10/32", "dev", "eth0")
	h.RuleList(srules, Del, false)
	h.RouteList(sroutes, Del, false)
	return master, n.stable(func(string) bool { return true }), errs
}

func TestKernelMatchesKeepalived(t *testing.T) {
	nettest.Skip(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("needs Debian's keepalived (apt-get install keepalived)")
	}
	for name, c := range kernelConfigs {
		t.Run(name, func(t *testing.T) {
			conf := kernelConf(c)
			dir := t.TempDir()
			ka, kaStopped, kaLog := runKeepalived(t, newKNS(t, "ka"), dir, conf)
			ours, oursStopped, errs := runOurs(t, newKNS(t, "go"), dir, conf)
			if ka != ours {
				t.Errorf("kernel tables differ as MASTER\n--- keepalived\n%s--- ours\n%s--- keepalived's log\n%s", ka, ours, kaLog)
			}
			if kaStopped != oursStopped {
				t.Errorf("kernel tables differ after removal\n--- keepalived\n%s--- ours\n%s--- keepalived's log\n%s", kaStopped, oursStopped, kaLog)
			}
			if oursStopped == ours {
				t.Errorf("nothing was removed")
			}
			// keepalived logs each refusal ("Netlink: error: ..."); ours
			// returns them.
			kaErrs := strings.Count(kaLog, "Netlink: error:")
			if kaErrs != len(errs) {
				t.Errorf("keepalived had %d refusals, ours %d: %v\n%s", kaErrs, len(errs), errs, kaLog)
			}
			if os.Getenv("KG_SHOW") != "" {
				t.Logf("tables:\n%s", ours)
			}
			t.Logf("%s: %d lines of tables agree; %d requests refused by the kernel on both sides %v", name,
				strings.Count(ours, "\n"), len(errs), errs)
		})
	}
}
