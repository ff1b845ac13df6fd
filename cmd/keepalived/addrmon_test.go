package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netns"

	"keepalived-go/internal/nettest"
)

// -a/--address-monitoring, in a namespace of the test's own: the
// addresses there at start and every later addition and removal are
// logged in keepalived's words, by the VRRP process with the interface,
// by the checker process without.
func TestAddressMonitoring(t *testing.T) {
	nettest.Skip(t)
	ns := fmt.Sprintf("kgunsupa%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "up")
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := logrus.New()
	var out nettest.Buffer
	log.SetOutput(&out)
	m := &addrMonitor{log: log, vrrp: true, check: true, ns: &h}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	has := func(s string) func() bool { return func() bool { return strings.Contains(out.String(), s) } }
	waitFor(t, "the existing address", has("Netlink reflector reports IP 127.0.0.1 added to lo"))
	waitFor(t, "the checker's line", has("Netlink reflector reports IP 127.0.0.1 added\""))
	ip("-n", ns, "addr", "add", "198.51.100.5/32", "dev", "lo")
	waitFor(t, "the addition", has("Netlink reflector reports IP 198.51.100.5 added to lo"))
	ip("-n", ns, "addr", "del", "198.51.100.5/32", "dev", "lo")
	waitFor(t, "the removal", has("Netlink reflector reports IP 198.51.100.5 removed from lo"))
	waitFor(t, "the checker's removal", has("Netlink reflector reports IP 198.51.100.5 removed\""))
}
