package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// seedNode prepares /etc/keepalived for one seed node: the lab config's
// VRRP part (the LVS part is exercised elsewhere) and redirect.sh unchanged.
func seedNode(t *testing.T, conf string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("../../testdata/seed", conf))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if i := strings.Index(text, "virtual_server"); i >= 0 {
		text = text[:i]
	}
	os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(text), 0o644)
	script, err := os.ReadFile("../../testdata/seed/redirect.sh")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "redirect.sh"), script, 0o700)
	return dir
}

func startDaemon(node *nettest.Node, bin, etc string) *nettest.Proc {
	return node.Start(map[string]string{etc: "/etc/keepalived"}, bin, "-n", "-l", "-G",
		"-f", "/etc/keepalived/keepalived.conf",
		"-p", etc+"/k.pid", "-r", etc+"/v.pid", "-c", etc+"/c.pid")
}

func redirectRules(t *testing.T, n *nettest.Node) int {
	if _, err := os.Stat("/usr/sbin/iptables"); err != nil {
		t.Skip("iptables is not installed (make deps)")
	}
	out := n.MustExec("iptables", "-t", "nat", "-S", "PREROUTING")
	return strings.Count(out, "-A PREROUTING -d 198.51.100.10/32 -p tcp -j REDIRECT")
}

// The seed's redirect.sh, installed unchanged, adds the REDIRECT rule on the
// BACKUP and removes it on the node that becomes MASTER, through a failover
// and back (issue 6, must-show 1).
func TestSeedRedirectThroughFailover(t *testing.T) {
	lan := nettest.NewLAN(t)
	n1 := lan.AddNode("n1", "198.51.100.11/24")
	n2 := lan.AddNode("n2", "198.51.100.12/24")
	bin := buildSelf(t)
	etc1, etc2 := seedNode(t, "lab-master.conf"), seedNode(t, "lab-backup.conf")
	p1 := startDaemon(n1, bin, etc1)
	nettest.WaitFor(t, 10*time.Second, "n1 MASTER with the VIP", func() bool { return n1.HasAddr("198.51.100.10") })
	startDaemon(n2, bin, etc2)
	nettest.WaitFor(t, 10*time.Second, "REDIRECT rule on the BACKUP", func() bool { return redirectRules(t, n2) == 1 })
	if got := redirectRules(t, n1); got != 0 {
		t.Errorf("MASTER has %d REDIRECT rules, want 0", got)
	}
	if n2.HasAddr("198.51.100.10") {
		t.Errorf("BACKUP holds the VIP")
	}

	p1.Signal(syscall.SIGTERM)
	nettest.WaitFor(t, 5*time.Second, "n2 takes the VIP", func() bool { return n2.HasAddr("198.51.100.10") })
	nettest.WaitFor(t, 5*time.Second, "n2 removes its REDIRECT rule", func() bool { return redirectRules(t, n2) == 0 })
	if n1.HasAddr("198.51.100.10") {
		t.Errorf("stopped MASTER kept the VIP")
	}

	startDaemon(n1, bin, etc1)
	nettest.WaitFor(t, 10*time.Second, "n1 preempts back", func() bool {
		return n1.HasAddr("198.51.100.10") && !n2.HasAddr("198.51.100.10")
	})
	nettest.WaitFor(t, 5*time.Second, "REDIRECT rule back on n2", func() bool { return redirectRules(t, n2) == 1 })
	// redirect.sh is not idempotent (README): n1 ran "add" at start
	// (BACKUP) and "del" on MASTER, so it holds none.
	if got := redirectRules(t, n1); got != 0 {
		t.Errorf("n1 holds %d REDIRECT rules after preempting, want 0\n%s", got, p1.Output())
	}
}
