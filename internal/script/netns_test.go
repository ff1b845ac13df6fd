package script

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

const debianKeepalived = "/usr/sbin/keepalived"

// needRootTools skips the test unless it runs as root with ip(8) and
// Debian's keepalived installed (CI has all of them).
func needRootTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, keepalived)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	if _, err := os.Stat(debianKeepalived); err != nil {
		t.Skip("needs Debian's keepalived package (" + debianKeepalived + ")")
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newNetns creates a namespace with lo and an interface dum0 (veth to dum1) holding
// 198.51.100.1/24, and removes it (after killing every process left in it)
// when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("kago-script-%d", os.Getpid())
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = exec.Command("ip", "netns", "del", ns).Run()
	})
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	// veth rather than dummy: the dummy module is not always available.
	run(t, "ip", "-n", ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1")
	run(t, "ip", "-n", ns, "link", "set", "dum1", "up")
	run(t, "ip", "-n", ns, "link", "set", "dum0", "up")
	run(t, "ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "dum0")
	return ns
}

// keepalivedProc is Debian's keepalived running in a namespace.
type keepalivedProc struct {
	cmd *exec.Cmd
	out *nettest.Buffer
}

// startKeepalived runs Debian's keepalived in the foreground inside ns with
// conf, with extra environment; it is stopped (SIGTERM, then SIGKILL after
// 5 s) when the test ends.
func startKeepalived(t *testing.T, ns, dir, conf string, env ...string) *keepalivedProc {
	t.Helper()
	return startDaemon(t, debianKeepalived, ns, dir, conf, env...)
}

// startDaemon runs bin (Debian's keepalived or ours) in the namespace.
func startDaemon(t *testing.T, bin, ns, dir, conf string, env ...string) *keepalivedProc {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, bin,
		"-n", "-l", "-D", "-f", conf,
		"-p", dir+"/keepalived.pid", "-r", dir+"/vrrp.pid", "-c", dir+"/checkers.pid")
	out := &nettest.Buffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start keepalived: %v", err)
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
	return &keepalivedProc{cmd: cmd, out: out}
}

// waitFor polls cond every 100 ms until it holds or the deadline passes.
func waitFor(ctx context.Context, cond func() bool) bool {
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

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
