package nftfw

import (
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"keepalived-go/internal/nettest"
)

func needNFT(t *testing.T) {
	t.Helper()
	nettest.Skip(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft(8): Debian package nftables (make deps)")
	}
}

// listRuleset is `nft -y list ruleset` in the node, canonical.
func listRuleset(t *testing.T, n *nettest.Node) string {
	t.Helper()
	return Canonical(n.MustExec("nft", "-y", "list", "ruleset"))
}

func openFirewall(t *testing.T, n *nettest.Node, s Settings, ins []Instance) *Firewall {
	t.Helper()
	h, err := netns.GetFromName(n.NS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	f, err := New(s, ins, Options{NetNS: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestKernelHoldsModel writes the two fixtures' event sequences to a fresh
// namespace and reads them back: the kernel holds exactly the model, at
// each step, and nothing after Stop.
func TestKernelHoldsModel(t *testing.T) {
	needNFT(t)
	lan := nettest.NewLAN(t)
	n := lan.AddNode("r", "198.51.100.11/24")
	n.MustExec("ip", "link", "add", "link", "eth0", "name", "vrrp.51", "type", "macvlan", "mode", "private")
	for _, tc := range []struct {
		name  string
		set   Settings
		ins   []Instance
		steps []step
		want  string
	}{
		{"strict", Settings{Table: "keepalived", Priority: -1, Counters: true}, strictInstances(),
			[]step{{"master", "V4"}, {"master", "V6"}}, strictPair},
		{"vmac", Settings{Table: "mytable", Priority: -5}, vmacInstances(),
			[]step{{"vmac-up", "V4"}, {"master", "V4"}, {"master", "V6"}}, vmacPair},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A previous run's tables are cleared when the first table
			// is made, the other family's too.
			n.MustExec("nft", "add", "table", "ip6", tc.set.Table)
			n.MustExec("nft", "add", "chain", "ip6", tc.set.Table, "stale")
			n.MustExec("nft", "add", "table", "ip", tc.set.Table)
			f := openFirewall(t, n, tc.set, tc.ins)
			for _, s := range tc.steps {
				var err error
				switch s.op {
				case "master":
					err = f.SetVIPs(s.inst, true)
				case "vmac-up":
					err = f.VMACUp(s.inst)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", s.op, s.inst, err)
				}
				if got, want := listRuleset(t, n), f.Ruleset().String(); got != want {
					t.Fatalf("after %s %s the kernel holds:\n%s\nthe model:\n%s", s.op, s.inst, got, want)
				}
			}
			if got := listRuleset(t, n); got != strings.TrimLeft(tc.want, "\n") {
				t.Errorf("kernel:\n%s\nwant:\n%s", got, tc.want)
			}
			for _, in := range tc.ins {
				if err := f.SetVIPs(in.Name, false); err != nil {
					t.Fatal(err)
				}
				if got, want := listRuleset(t, n), f.Ruleset().String(); got != want {
					t.Fatalf("after %s backup the kernel holds:\n%s\nthe model:\n%s", in.Name, got, want)
				}
			}
			if err := f.Stop(); err != nil {
				t.Fatal(err)
			}
			if got := listRuleset(t, n); got != "" {
				t.Errorf("after stop:\n%s", got)
			}
		})
	}
}

// TestKernelRandomWalk drives a firewall through a seeded random sequence
// of events (MASTER, BACKUP, VMAC up and down, reloads with an address
// more or less, stop) and checks after each that the kernel holds exactly
// the model.
func TestKernelRandomWalk(t *testing.T) {
	needNFT(t)
	lan := nettest.NewLAN(t)
	n := lan.AddNode("r", "198.51.100.11/24")
	n.MustExec("ip", "link", "add", "link", "eth0", "name", "vrrp.51", "type", "macvlan", "mode", "private")
	ins := append(vmacInstances(), Instance{Name: "S", IPv6: true, Iface: "eth0", Block: true,
		VIPs: addrs("eth0", "fe80::77", "2001:db8::77"), EVIPs: addrs("eth0", "198.51.100.77")})
	set := Settings{Table: "keepalived", Priority: -1, Counters: true}
	f := openFirewall(t, n, set, ins)
	rng := rand.New(rand.NewPCG(16, 2026))
	names := []string{"V4", "V6", "S"}
	for i := range 60 {
		name := names[rng.IntN(len(names))]
		var op string
		var err error
		switch k := rng.IntN(10); {
		case k < 4:
			op, err = "master", f.SetVIPs(name, true)
		case k < 7:
			op, err = "backup", f.SetVIPs(name, false)
		case k == 7:
			op, err = "vmac-up", f.VMACUp("V4")
		case k == 8:
			// A reload that adds or drops the IPv4 eVIP of S.
			next := slices.Clone(ins)
			if rng.IntN(2) == 0 {
				next[2].EVIPs = nil
			}
			op, err = "reload", f.Reload(set, next)
		default:
			op, err = "stop", f.Stop()
		}
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, op, name, err)
		}
		if got, want := listRuleset(t, n), f.Ruleset().String(); got != want || want != f.core.Ruleset().String() {
			t.Fatalf("step %d %s %s: the kernel holds:\n%s\nwritten:\n%s\nthe model:\n%s", i, op, name, got, want, f.core.Ruleset())
		}
	}
}
