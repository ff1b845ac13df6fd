package nftfw

import (
	"os/exec"
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
