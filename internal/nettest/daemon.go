package nettest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DebianKeepalived is where Debian's keepalived 2.2.7 is installed; tests
// run it beside ours.
const DebianKeepalived = "/usr/sbin/keepalived"

// NeedKeepalived skips the test unless it runs as root with ip(8) and
// Debian's keepalived installed (CI has all of them).
func NeedKeepalived(t testing.TB) {
	t.Helper()
	Skip(t)
	if _, err := os.Stat(DebianKeepalived); err != nil {
		t.Skip("needs Debian's keepalived package (" + DebianKeepalived + ")")
	}
}

// mustRun runs a command in the initial namespace and fails the test on
// error.
func mustRun(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// OneLinkNS creates a namespace named prefix-<pid> with lo and an
// interface dum0 (a veth to dum1) holding 198.51.100.1/24, and removes it
// (after killing every process left in it, by PID) when the test ends.
func OneLinkNS(t testing.TB, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, os.Getpid())
	mustRun(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		KillAll(ns)
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	mustRun(t, "ip", "-n", ns, "link", "set", "lo", "up")
	// veth rather than dummy: the dummy module is not always available.
	mustRun(t, "ip", "-n", ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
	mustRun(t, "ip", "-n", ns, "link", "set", "dum1", "up")
	mustRun(t, "ip", "-n", ns, "link", "set", "dum0", "up")
	mustRun(t, "ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "dum0")
	return ns
}

// Daemon is a keepalived (Debian's or ours) running in the foreground in a
// namespace; Out holds what it printed.
type Daemon struct {
	Cmd *exec.Cmd
	Out *Buffer
}

// StartDaemon runs bin in ns with conf (-n -l -D, pid files under dir) and
// extra environment; it is stopped (SIGTERM, then SIGKILL after 5 s) when
// the test ends.
func StartDaemon(t testing.TB, bin, ns, dir, conf string, env ...string) *Daemon {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, bin,
		"-n", "-l", "-D", "-f", conf,
		"-p", dir+"/keepalived.pid", "-r", dir+"/vrrp.pid", "-c", dir+"/checkers.pid")
	out := &Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return &Daemon{Cmd: cmd, Out: out}
}

// Until polls cond every 100 ms until it holds or ctx ends, and says
// whether it held.
func Until(ctx context.Context, cond func() bool) bool {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
}
