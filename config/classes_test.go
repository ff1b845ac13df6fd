package config

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"keepalived-go/parser"
)

// classInterfaces are the interfaces the recordings were made with: a
// network namespace with lo and the veths eth0..eth3.
func classInterfaces() InterfaceSet {
	return Names("lo", "eth0", "eth1", "eth2", "eth3")
}

// classFiles lists the behaviour-class configs: one minimal config per
// behaviour, each beside keepalived's recorded `-t -i node1` output.
func classFiles(t *testing.T) []string {
	files, _ := filepath.Glob("../testdata/classes/*/*.conf")
	if len(files) < 100 {
		t.Fatalf("only %d class configs", len(files))
	}
	return files
}

// ourConfigTest renders what `keepalived -t` prints for file, and its exit code.
func ourConfigTest(file string) string {
	dir, base := filepath.Split(file)
	abs, _ := filepath.Abs(dir)
	enter := func(name string) (InterfaceLister, error) {
		if _, err := os.Stat("/run/netns/" + name); err != nil {
			return nil, err
		}
		return classInterfaces(), nil
	}
	_, diags := Load(base, Options{ConfigTest: true, Interfaces: classInterfaces(), Hostname: "node1",
		EnterNamespace: enter, Parser: parser.Options{ConfigID: "node1", Dir: abs}})
	return fmt.Sprintf("%src=%d\n", diags.String(), diags.ExitCode())
}

// TestBehaviourClasses compares our -t output with keepalived's recording
// for every class config.
func TestBehaviourClasses(t *testing.T) {
	if *record {
		recordClasses(t)
	}
	for _, f := range classFiles(t) {
		want, err := os.ReadFile(f + ".keepalived")
		if err != nil {
			t.Errorf("%s: no recording (go test ./config -run BehaviourClasses -record, as root)", f)
			continue
		}
		if got := ourConfigTest(f); got != string(want) {
			t.Errorf("%s: -t differs from keepalived's\n--- keepalived\n%s--- ours\n%s", f, want, got)
		}
	}
}

// recordClasses runs Debian's keepalived -t on every class config in a
// network namespace with the class interfaces and stores its output.
func recordClasses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("-record needs root")
	}
	ns := fmt.Sprintf("kgclass%d", os.Getpid())
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	run("netns", "add", ns)
	defer exec.Command("ip", "netns", "del", ns).Run()
	run("-n", ns, "link", "set", "lo", "up")
	for i := 0; i < 4; i++ {
		run("-n", ns, "link", "add", fmt.Sprintf("eth%d", i), "type", "veth", "peer", "name", fmt.Sprintf("peer%d", i))
		run("-n", ns, "link", "set", fmt.Sprintf("eth%d", i), "up")
	}
	for _, f := range classFiles(t) {
		dir, base := filepath.Split(f)
		cmd := exec.Command("timeout", "10", "ip", "netns", "exec", ns, "keepalived", "-t", "-i", "node1", "-f", base)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stderr = &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code == 124 {
			t.Errorf("%s: keepalived hangs on it; not a class config", f)
			continue
		}
		var b strings.Builder
		for _, l := range strings.SplitAfter(out.String(), "\n") {
			if l != "" {
				b.WriteString(strings.TrimRight(l, "\n") + "\n")
			}
		}
		fmt.Fprintf(&b, "rc=%d\n", code)
		if err := os.WriteFile(f+".keepalived", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
