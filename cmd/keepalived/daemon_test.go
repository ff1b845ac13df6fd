package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

func buildSelf(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keepalived")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The lifecycle keepalived operators rely on: pid files while running, a
// bad config on SIGHUP keeps the running one, SIGTERM stops cleanly.
func TestDaemonLifecycle(t *testing.T) {
	bin := buildSelf(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	good := "global_defs {\n    router_id LIFECYCLE\n}\n"
	os.WriteFile(conf, []byte(good), 0o644)
	pid := filepath.Join(dir, "k.pid")
	cmd := exec.Command(bin, "-n", "-l", "-G", "-f", conf, "-p", pid, "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	var out nettest.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "Startup complete", func() bool { return strings.Contains(out.String(), "Startup complete") })
	for _, f := range []string{"k.pid", "v.pid", "c.pid"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || strings.TrimSpace(string(b)) != itoa(cmd.Process.Pid) {
			t.Errorf("pid file %s = %q, %v", f, b, err)
		}
	}
	// A second daemon on the same pid file refuses to start.
	second := exec.Command(bin, "-n", "-l", "-G", "-f", conf, "-p", pid, "-r", filepath.Join(dir, "v2.pid"), "-c", filepath.Join(dir, "c2.pid"))
	if b, err := second.CombinedOutput(); err == nil || !strings.Contains(string(b), "already running") {
		t.Errorf("second daemon: %v %s", err, b)
	}

	os.WriteFile(conf, []byte("global_defs {\n  router_id X\n}\ninclude /nonexistent/*.conf\nincludea /nope.conf\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "failed reload", func() bool { return strings.Contains(out.String(), "Reload failed, keeping the running configuration") })

	os.WriteFile(conf, []byte(good), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "reload", func() bool { return strings.Contains(out.String(), "Reload finished") })

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Starting Keepalived v2.2.7", "Stopping", "Stopped Keepalived v2.2.7"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(pid); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// --config-test reports scripts a non-root user could change, as the
// daemon would (issue 6): world-writable script, script in a world-writable
// directory, script owned by another user.
func TestConfigTestReportsInsecureScripts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	bin := buildSelf(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755)
		os.Chmod(p, mode)
		return p
	}
	secure := mk("ok.sh", 0o755)
	worldWritable := mk("ww.sh", 0o777)
	wwDir := filepath.Join(dir, "wwdir")
	os.Mkdir(wwDir, 0o777)
	os.Chmod(wwDir, 0o777)
	inWWDir := filepath.Join(wwDir, "s.sh")
	os.WriteFile(inWWDir, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	other := mk("other.sh", 0o755)
	os.Chown(other, 65534, 65534)
	// keepalived refuses a loopback interface for VRRP: the instance's
	// interface is a veth in a namespace of the test's own.
	ns := fmt.Sprintf("kgsec%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v %s", err, out)
	}
	for _, c := range []struct {
		script string
		bad    bool
	}{{secure, false}, {worldWritable, true}, {inWWDir, true}, {other, true}} {
		conf := filepath.Join(dir, "k.conf")
		os.WriteFile(conf, []byte("global_defs {\n  enable_script_security\n  script_user root\n}\n"+
			"vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_ipaddress {\n    203.0.113.1/32\n  }\n"+
			"  notify_master \""+c.script+"\"\n}\n"), 0o644)
		out, err := exec.Command("ip", "netns", "exec", ns, bin, "-t", "-f", conf).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if c.bad && (code != 6 || !strings.Contains(string(out), "Line 11) Unsafe permissions found for script")) {
			t.Errorf("%s: exit %d, want 6 with a positioned message:\n%s", c.script, code, out)
		}
		if !c.bad && code != 0 {
			t.Errorf("%s: exit %d:\n%s", c.script, code, out)
		}
		t.Logf("%s: exit %d: %s", filepath.Base(c.script), code, strings.TrimSpace(string(out)))
	}
}

// -s NAME runs the daemon inside that network namespace, with the pid it
// was started with; a namespace that does not exist stops it as it stops
// keepalived (which does not create one either).
func TestNamespaceFlag(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	bin := buildSelf(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "k.conf")
	os.WriteFile(conf, []byte("global_defs {\n  router_id NS\n}\n"), 0o644)
	ns := "kgtns" + strconv.Itoa(os.Getpid())
	missing := func(bin string) string {
		out, err := exec.Command(bin, "-n", "-l", "-G", "-s", ns+"x", "-f", conf, "-p", dir+"/p", "-r", dir+"/r", "-c", dir+"/c").CombinedOutput()
		if err != nil {
			t.Errorf("%s with a missing namespace: %v", bin, err)
		}
		var keep []string
		for _, l := range strings.Split(string(out), "\n") {
			for _, w := range []string{"Changing syslog ident", "Failed to open", "Unable to set network namespace", "Stopped Keepalived"} {
				if strings.Contains(l, w) {
					keep = append(keep, l[strings.Index(l, w):])
				}
			}
		}
		return strings.Join(keep, "\n")
	}
	if ours := missing(bin); ours == "" || (keepalivedInstalled() && ours != missing(debianKeepalived)) {
		t.Errorf("missing namespace: ours\n%s\nkeepalived\n%s", ours, missing(debianKeepalived))
	}
	if _, err := os.Stat(netnsDir + ns + "x"); err == nil {
		t.Errorf("the namespace was created")
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	cmd := exec.Command(bin, "-n", "-l", "-G", "-s", ns, "-f", conf, "-p", dir+"/p", "-r", dir+"/r", "-c", dir+"/c")
	var out nettest.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Startup complete", func() bool { return strings.Contains(out.String(), "Startup complete") })
	b, _ := os.ReadFile(dir + "/p")
	pid := strings.TrimSpace(string(b))
	got, _ := os.Readlink("/proc/" + pid + "/ns/net")
	want, _ := os.Stat("/run/netns/" + ns)
	gotSt, _ := os.Stat("/proc/" + pid + "/ns/net")
	if want == nil || gotSt == nil || !os.SameFile(want, gotSt) {
		t.Errorf("daemon (pid %s, %s) is not in namespace %s", pid, got, ns)
	}
	if pid != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pid file %s, started as %d", pid, cmd.Process.Pid)
	}
	if n := strings.Count(out.String(), "Starting Keepalived"); n != 1 {
		t.Errorf("%d start lines:\n%s", n, out.String())
	}
	syscall.Kill(atoi(pid), syscall.SIGTERM)
	cmd.Wait()
}

func keepalivedInstalled() bool {
	_, err := os.Stat(debianKeepalived)
	return err == nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
