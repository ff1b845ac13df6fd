package nft

import (
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudflare/ipvs/netmask"

	"keepalived-go/lvs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/nft")

var (
	vipNAT  = netip.MustParseAddr("203.0.113.10")
	rs1     = netip.MustParseAddr("198.51.100.11")
	rs2     = netip.MustParseAddr("198.51.100.12")
	client1 = netip.MustParseAddr("203.0.113.101")
)

// natLab: client (203.0.113.0/24) -- lb (VIP 203.0.113.10) -- bridge of
// real servers rs1, rs2 (198.51.100.0/24, default route via the lb).
type natLab struct {
	client, lb *ns
	b          *Backend
}

func newNATLab(t *testing.T, opts Options) *natLab {
	needKernel(t)
	l := &natLab{client: newNS(t, "cli"), lb: newNS(t, "lb")}
	r1, r2 := newNS(t, "rs1"), newNS(t, "rs2")
	link(t, l.client, "eth0", "02:00:00:00:01:01", l.lb, "eth0", "02:00:00:00:01:02")
	link(t, l.lb, "eth1", "02:00:00:00:02:01", r1, "eth0", "02:00:00:00:02:11")
	link(t, l.lb, "eth2", "02:00:00:00:02:02", r2, "eth0", "02:00:00:00:02:12")
	l.client.run(t, "ip", "addr", "add", "203.0.113.2/24", "dev", "eth0")
	for i := 101; i <= 108; i++ {
		l.client.run(t, "ip", "addr", "add", "203.0.113."+itoa(i)+"/24", "dev", "eth0")
	}
	l.client.run(t, "ip", "route", "add", "default", "via", "203.0.113.1")
	l.lb.run(t, "ip", "addr", "add", "203.0.113.1/24", "dev", "eth0")
	l.lb.run(t, "ip", "addr", "add", vipNAT.String()+"/32", "dev", "eth0")
	l.lb.run(t, "ip", "addr", "add", "198.51.100.1/32", "dev", "eth1")
	l.lb.run(t, "ip", "addr", "add", "198.51.100.1/32", "dev", "eth2")
	l.lb.run(t, "ip", "route", "add", rs1.String()+"/32", "dev", "eth1")
	l.lb.run(t, "ip", "route", "add", rs2.String()+"/32", "dev", "eth2")
	l.lb.run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for i, r := range []*ns{r1, r2} {
		a := []netip.Addr{rs1, rs2}[i]
		r.run(t, "ip", "addr", "add", a.String()+"/24", "dev", "eth0")
		if !opts.Masquerade {
			r.run(t, "ip", "route", "add", "default", "via", "198.51.100.1", "dev", "eth0", "onlink")
		}
		r.serve(t, []string{"A", "B"}[i], a.String()+":8080")
	}
	opts.NetNS = l.lb.h
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	l.b = b
	waitHTTP(t, l.lb, "http://"+rs1.String()+":8080/")
	waitHTTP(t, l.lb, "http://"+rs2.String()+":8080/")
	return l
}

func itoa(i int) string { return strconv.Itoa(i) }

func natService(sched string) lvs.Service {
	return lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.AddrPortFrom(vipNAT, 80)), Scheduler: sched}
}

func natDests(w1, w2 int) []lvs.Destination {
	return []lvs.Destination{
		lvs.Dest(netip.AddrPortFrom(rs1, 8080), lvs.NAT, w1),
		lvs.Dest(netip.AddrPortFrom(rs2, 8080), lvs.NAT, w2),
	}
}

// reconcile drives the backend through lvs.Reconciler as the daemon does
// and checks that a second pass has nothing to do.
func reconcile(t *testing.T, b *Backend, want lvs.Table) {
	t.Helper()
	r := lvs.NewReconciler(b)
	if _, err := r.Reconcile(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	ops, err := r.Reconcile(context.Background(), want)
	if err != nil || len(ops) != 0 {
		t.Fatalf("second reconcile not empty: %v %v", ops, err)
	}
}

func within(t *testing.T, what string, got, want, tol int) {
	t.Helper()
	if got < want-tol || got > want+tol {
		t.Errorf("%s: got %d, want %d +- %d", what, got, want, tol)
	}
}

const vipURL = "http://203.0.113.10/"

func TestKernelNATRoundRobin(t *testing.T) {
	l := newNATLab(t, Options{})
	reconcile(t, l.b, lvs.Table{}.Add(natService("rr"), natDests(100, 100)...))
	got := count(t, l.client.client(netip.Addr{}, false), vipURL, 200)
	t.Logf("rr over 200 requests: %v", got)
	within(t, "A", got["A"], 100, 20)
	within(t, "B", got["B"], 100, 20)

	// A health change: B leaves. A connection established to B keeps
	// its server (conntrack); new connections all go to A.
	ka := l.client.client(client1, true)
	var onB bool
	for range 4 {
		name, _, err := get(ka, vipURL)
		if err != nil {
			t.Fatal(err)
		}
		if name == "B" {
			onB = true
			break
		}
		ka.CloseIdleConnections()
	}
	if !onB {
		t.Fatal("no connection landed on B in 4 tries of round robin")
	}
	reconcile(t, l.b, lvs.Table{}.Add(natService("rr"), natDests(100, 100)[:1]...))
	name, reused, err := get(ka, vipURL)
	if err != nil || name != "B" || !reused {
		t.Errorf("established connection after B left: server %q reused %v err %v; want B on the same connection", name, reused, err)
	}
	got = count(t, l.client.client(netip.Addr{}, false), vipURL, 20)
	if got["A"] != 20 {
		t.Errorf("new connections after B left: %v, want all 20 on A", got)
	}
}

func TestKernelNATWeighted(t *testing.T) {
	l := newNATLab(t, Options{Masquerade: true})
	reconcile(t, l.b, lvs.Table{}.Add(natService("wrr"), natDests(3, 1)...))
	got := count(t, l.client.client(netip.Addr{}, false), vipURL, 200)
	t.Logf("wrr 3:1 over 200 requests (masquerade): %v", got)
	within(t, "A", got["A"], 150, 20)
	within(t, "B", got["B"], 50, 20)
}

// clients sends perClient requests from each of the client's extra
// addresses and returns, per address, the servers that answered.
func clients(t *testing.T, l *natLab, perClient int) map[netip.Addr]map[string]int {
	t.Helper()
	out := map[netip.Addr]map[string]int{}
	for i := 101; i <= 108; i++ {
		a := netip.MustParseAddr("203.0.113." + itoa(i))
		out[a] = count(t, l.client.client(a, false), vipURL, perClient)
	}
	return out
}

func sticky(t *testing.T, per map[netip.Addr]map[string]int) (servers map[string]int) {
	t.Helper()
	servers = map[string]int{}
	for a, got := range per {
		if len(got) != 1 || got["error"] != 0 {
			t.Errorf("client %s: answers %v, want one server", a, got)
		}
		for s := range got {
			servers[s]++
		}
	}
	return servers
}

func TestKernelNATSourceHash(t *testing.T) {
	l := newNATLab(t, Options{})
	reconcile(t, l.b, lvs.Table{}.Add(natService("sh"), natDests(1, 1)...))
	servers := sticky(t, clients(t, l, 10))
	t.Logf("sh: clients per server %v", servers)
	if servers["A"] == 0 || servers["B"] == 0 {
		t.Errorf("sh sent all 8 clients to one server: %v", servers)
	}
}

func TestKernelNATPersistence(t *testing.T) {
	l := newNATLab(t, Options{})
	svc := natService("rr")
	svc.Timeout = 600
	svc.Netmask = netmask.MaskFrom(32, 32)
	reconcile(t, l.b, lvs.Table{}.Add(svc, natDests(1, 1)...))
	servers := sticky(t, clients(t, l, 10))
	t.Logf("rr persistent: clients per server %v", servers)
	// First connections alternate, so the 8 clients split 4/4.
	if servers["A"] != 4 || servers["B"] != 4 {
		t.Errorf("persistent rr: clients per server %v, want 4 and 4", servers)
	}
	// A weight change rewrites the maps but keeps the persistence
	// entries: every client stays where it was.
	before := clients(t, l, 1)
	reconcile(t, l.b, lvs.Table{}.Add(svc, natDests(2, 1)...))
	after := clients(t, l, 3)
	for a, got := range after {
		for s := range before[a] {
			if got[s] != 3 {
				t.Errorf("client %s moved after a weight change: before %v after %v", a, before[a], got)
			}
		}
	}
	elems := l.lb.run(t, "nft", "list", "map", "inet", DefaultTable, chainName(svc.ServiceKey)+"_persist")
	if n := strings.Count(elems, "expires"); n != 8 {
		t.Errorf("persistence map holds %d entries, want 8:\n%s", n, elems)
	}
}

// TestKernelRestart: a new Backend on the same namespace lists what the
// first programmed, so the reconciler of a restarted daemon has nothing
// to do; golden files pin the ruleset.
func TestKernelRestartAndGolden(t *testing.T) {
	needKernel(t)
	n := newNS(t, "gold")
	n.run(t, "ip", "link", "add", "eth0", "address", "02:00:00:00:03:01", "type", "veth", "peer", "name", "peer0")
	n.run(t, "ip", "link", "set", "peer0", "up")
	n.run(t, "ip", "link", "set", "eth0", "up")
	n.run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "eth0")
	n.run(t, "ip", "neigh", "add", "198.51.100.2", "lladdr", "02:00:00:00:03:02", "dev", "eth0", "nud", "permanent")
	b, err := New(Options{NetNS: n.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Not persistent: nft 1.0.6 cannot print the persistence rules (see
	// TestKernelPersistencePrintable).
	persist := natService("wrr")
	dr := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.MustParseAddrPort("198.51.100.10:80")), Scheduler: "rr"}
	six := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.UDP, netip.MustParseAddrPort("[2001:db8::10]:53")), Scheduler: "sh", Flags: lvs.FlagSched2}
	want := lvs.Table{}.
		Add(persist, natDests(3, 1)...).
		Add(dr, lvs.Dest(netip.MustParseAddrPort("198.51.100.1:80"), lvs.DR, 100), lvs.Dest(netip.MustParseAddrPort("198.51.100.2:80"), lvs.DR, 100)).
		Add(six, lvs.Dest(netip.MustParseAddrPort("[2001:db8::1]:53"), lvs.NAT, 1), lvs.Dest(netip.MustParseAddrPort("[2001:db8::2]:53"), lvs.NAT, 0))
	reconcile(t, b, want)
	if err := b.SetActive(dr.Addr, true); err != nil {
		t.Fatal(err)
	}
	golden(t, "ruleset.nft", n.run(t, "nft", "list", "ruleset"))

	b2, err := New(Options{NetNS: n.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	got, err := b2.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ops := lvs.Diff(want, got); len(ops) != 0 {
		t.Errorf("restarted backend would change %v\nlisted:\n%s", ops, got)
	}
	if out := n.run(t, "nft", "list", "map", "netdev", DefaultTable, "dr4"); strings.Contains(out, "198.51.100.10") {
		t.Errorf("a new backend must not forward before SetActive:\n%s", out)
	}
	if err := b2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := n.run(t, "nft", "list", "ruleset"); strings.Contains(out, DefaultTable) {
		t.Errorf("Flush left our tables:\n%s", out)
	}
}

var counters = regexp.MustCompile(`expires \S+`)

func golden(t *testing.T, name, got string) {
	t.Helper()
	got = counters.ReplaceAllString(got, "expires X")
	path := filepath.Join("..", "..", "testdata", "nft", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
