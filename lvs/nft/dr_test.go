package nft

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"keepalived-go/lvs"
)

var (
	vipDR = netip.MustParseAddr("198.51.100.10")
	nodeA = netip.MustParseAddr("198.51.100.111")
	nodeB = netip.MustParseAddr("198.51.100.112")
)

// TestKernelDR is the seed scenario's data plane: client, node A (holds
// the VIP, balances) and node B (accepts the VIP by the seed's REDIRECT
// rule) on one bridge; A is itself one of the two real servers.
func TestKernelDR(t *testing.T) {
	needKernel(t)
	cli, a, b := newDRLab(t)
	be, err := New(Options{NetNS: a.h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	svc := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.AddrPortFrom(vipDR, 80)), Scheduler: "rr"}
	both := []lvs.Destination{
		lvs.Dest(netip.AddrPortFrom(nodeA, 80), lvs.DR, 100),
		lvs.Dest(netip.AddrPortFrom(nodeB, 80), lvs.DR, 100),
	}
	reconcile(t, be, lvs.Table{}.Add(svc, both...))
	drNATChains(t, be, a, svc, both)
	url := "http://" + vipDR.String() + "/"
	c := cli.client(netip.Addr{}, false)

	// Not MASTER yet: nothing is forwarded, A answers everything.
	if got := count(t, c, url, 20); got["A"] != 20 {
		t.Errorf("inactive: %v, want all 20 on A", got)
	}
	if err := be.SetActive(vipDR, true); err != nil {
		t.Fatal(err)
	}
	got := count(t, c, url, 200)
	t.Logf("DR active, 200 requests: %v", got)
	within(t, "A", got["A"], 100, 25)
	within(t, "B", got["B"], 100, 25)
	if !strings.Contains(a.run(t, "nft", "list", "chain", "netdev", DefaultTable, rsChainName(nodeB)), `dup to "eth0"`) {
		t.Error("no forwarding chain towards B")
	}

	drBLeaves(t, be, cli, c, url, svc, both)
	drBMACChanges(t, be, a, b, c, url)

	// BACKUP again: nothing forwarded.
	if err := be.SetActive(vipDR, false); err != nil {
		t.Fatal(err)
	}
	if got := count(t, c, url, 20); got["A"] != 20 {
		t.Errorf("after SetActive(false): %v, want all 20 on A", got)
	}
}

// newDRLab wires TestKernelDR's namespaces: client, A and B on a bridge,
// B redirecting the VIP to itself, both serving their name on port 80.
func newDRLab(t *testing.T) (cli, a, b *ns) {
	sw := newNS(t, "sw")
	cli, a, b = newNS(t, "cli"), newNS(t, "a"), newNS(t, "b")
	sw.run(t, "ip", "link", "add", "br0", "type", "bridge")
	sw.run(t, "ip", "link", "set", "br0", "up")
	for i, n := range []*ns{cli, a, b} {
		port := "p" + itoa(i)
		link(t, n, "eth0", "02:00:00:00:04:0"+itoa(i+1), sw, port, "02:00:00:00:05:0"+itoa(i+1))
		sw.run(t, "ip", "link", "set", port, "master", "br0")
	}
	cli.run(t, "ip", "addr", "add", "198.51.100.100/24", "dev", "eth0")
	a.run(t, "ip", "addr", "add", nodeA.String()+"/24", "dev", "eth0")
	a.run(t, "ip", "addr", "add", vipDR.String()+"/24", "dev", "eth0")
	b.run(t, "ip", "addr", "add", nodeB.String()+"/24", "dev", "eth0")
	if _, err := b.runErr("iptables", "-t", "nat", "-A", "PREROUTING", "-d", vipDR.String(), "-p", "tcp", "-j", "REDIRECT"); err != nil {
		// Same effect with nft when iptables is not installed.
		b.run(t, "nft", "add table ip redir; add chain ip redir pre { type nat hook prerouting priority dstnat; }; add rule ip redir pre ip daddr "+vipDR.String()+" tcp dport 80 redirect")
	}
	a.serve(t, "A", ":80")
	b.serve(t, "B", ":80")
	waitHTTP(t, a, "http://"+nodeA.String()+"/")
	waitHTTP(t, b, "http://"+nodeB.String()+"/")
	return cli, a, b
}

// drNATChains: NAT base chains come and go with NAT services: while they
// exist the kernel conntracks every packet of the namespace.
func drNATChains(t *testing.T, be *Backend, a *ns, svc lvs.Service, both []lvs.Destination) {
	natHooks := func() bool {
		return strings.Contains(a.run(t, "nft", "list", "table", "inet", DefaultTable), "type nat hook")
	}
	if natHooks() {
		t.Error("DR only, yet our inet table has NAT base chains")
	}
	// One reconciler: it removes only services it put there.
	rec := lvs.NewReconciler(be)
	for _, step := range []struct {
		want lvs.Table
		nat  bool
	}{{lvs.Table{}.Add(svc, both...).Add(natService("rr"), natDests(1, 1)...), true}, {lvs.Table{}.Add(svc, both...), false}} {
		if _, err := rec.Reconcile(context.Background(), step.want); err != nil {
			t.Fatal(err)
		}
		if natHooks() != step.nat {
			t.Errorf("NAT service there: %v, NAT base chains there: %v", step.nat, !step.nat)
		}
	}
}

// drBLeaves: health change, B leaves. A connection already on A keeps
// going; every new connection goes to A. B comes back at the end.
func drBLeaves(t *testing.T, be *Backend, cli *ns, c *http.Client, url string, svc lvs.Service, both []lvs.Destination) {
	ka := cli.client(netip.Addr{}, true)
	var onA bool
	for range 20 {
		name, _, err := get(ka, url)
		if err == nil && name == "A" {
			onA = true
			break
		}
		ka.CloseIdleConnections()
	}
	if !onA {
		t.Fatal("no connection landed on A in 20 tries")
	}
	reconcile(t, be, lvs.Table{}.Add(svc, both[:1]...))
	if name, reused, err := get(ka, url); err != nil || name != "A" || !reused {
		t.Errorf("established connection on A after B left: %q reused %v err %v", name, reused, err)
	}
	if got := count(t, c, url, 40); got["A"] != 40 {
		t.Errorf("after B left: %v, want all 40 on A", got)
	}
	reconcile(t, be, lvs.Table{}.Add(svc, both...))
}

// drBMACChanges: B's MAC changes; the neighbour update reaches Run, which
// points the forwarding chain at the new address; B keeps its share.
func drBMACChanges(t *testing.T, be *Backend, a, b *ns, c *http.Client, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- be.Run(ctx, time.Hour) }()
	t.Cleanup(func() { cancel(); <-ran })
	// nft prints the MAC rewrite as a number.
	const newMAC, newMACHex = "02:00:00:00:04:33", "0x20000000433"
	time.Sleep(100 * time.Millisecond) // let Run subscribe
	b.run(t, "ip", "link", "set", "eth0", "address", newMAC)
	a.run(t, "ip", "neigh", "replace", nodeB.String(), "lladdr", newMAC, "dev", "eth0", "nud", "reachable")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(a.run(t, "nft", "list", "chain", "netdev", DefaultTable, rsChainName(nodeB)), newMACHex) {
		if time.Now().After(deadline) {
			t.Fatalf("forwarding chain towards B still lacks %s after 5 s:\n%s", newMAC,
				a.run(t, "nft", "list", "chain", "netdev", DefaultTable, rsChainName(nodeB)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := count(t, c, url, 100)
	within(t, "B after its MAC changed", got["B"], 50, 20)
}
