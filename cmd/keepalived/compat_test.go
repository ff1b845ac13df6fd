package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestConfigTestMatchesKeepalived runs Debian's keepalived -t and ours on
// every config in testdata and every sample keepalived ships, inside one
// network namespace that has eth0..eth3, and compares exit codes (must agree
// on all) and the set of diagnostic lines (must agree on > 90%).
func TestConfigTestMatchesKeepalived(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("Debian's keepalived is not installed (make deps)")
	}
	ours := filepath.Join(t.TempDir(), "keepalived")
	if out, err := exec.Command("go", "build", "-o", ours, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ns := fmt.Sprintf("kgcompat%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for i := 0; i < 4; i++ {
		for _, args := range [][]string{
			{"link", "add", fmt.Sprintf("eth%d", i), "type", "veth", "peer", "name", fmt.Sprintf("peer%d", i)},
			{"link", "set", fmt.Sprintf("eth%d", i), "up"},
		} {
			if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v %s", args, err, out)
			}
		}
	}

	type target struct{ dir, file string }
	var targets []target
	for _, g := range []string{"../../testdata/configs/*.conf", "../../testdata/seed/*.conf", "/usr/share/doc/keepalived/samples/keepalived.conf.*"} {
		m, _ := filepath.Glob(g)
		for _, f := range m {
			abs, _ := filepath.Abs(f)
			targets = append(targets, target{filepath.Dir(abs), filepath.Base(abs)})
		}
	}
	if len(targets) < 60 {
		t.Fatalf("only %d configs found", len(targets))
	}
	run := func(bin string, tg target) (int, []string) {
		args := []string{"netns", "exec", ns, bin, "-t", "-f", tg.file}
		if b, err := os.ReadFile(filepath.Join(tg.dir, tg.file)); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if a, ok := strings.CutPrefix(l, "# keepalived-args: "); ok {
					args = append(args, strings.Fields(a)...)
				}
			}
		}
		cmd := exec.Command("ip", args...)
		cmd.Dir = tg.dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %s: %v", bin, tg.file, err)
		}
		var lines []string
		for _, l := range strings.Split(stderr.String(), "\n") {
			if l = strings.TrimRight(l, " "); l != "" {
				lines = append(lines, l)
			}
		}
		sort.Strings(lines)
		return code, lines
	}
	// Agreement is counted per config (its whole diagnostic set equal) and,
	// for information, per diagnostic line. The flattened seed files differ
	// by design: keepalived misreads them, we read them and say so once.
	same, total, agreeing := 0, 0, 0
	for _, tg := range targets {
		kc, kl := run(ka, tg)
		oc, ol := run(ours, tg)
		if kc != oc {
			t.Errorf("%s: exit code keepalived %d, ours %d\nkeepalived: %q\nours: %q", tg.file, kc, oc, kl, ol)
		}
		if strings.Join(kl, "\n") == strings.Join(ol, "\n") {
			agreeing++
		}
		ks := map[string]bool{}
		for _, l := range kl {
			ks[l] = true
		}
		os := map[string]bool{}
		for _, l := range ol {
			os[l] = true
		}
		union := map[string]bool{}
		for l := range ks {
			union[l] = true
		}
		for l := range os {
			union[l] = true
		}
		if len(union) == 0 {
			same++
			total++
			continue
		}
		for l := range union {
			total++
			if ks[l] && os[l] {
				same++
			} else if !strings.Contains(tg.file, ".flat.") {
				t.Logf("%s: only in %s: %s", tg.file, map[bool]string{true: "keepalived", false: "ours"}[ks[l]], l)
			}
		}
	}
	pct := 100 * float64(agreeing) / float64(len(targets))
	linePct := 100 * float64(same) / float64(total)
	fmt.Printf("config-test compatibility: %d configs; identical diagnostics on %d (%.1f%%); diagnostic lines shared %d/%d (%.1f%%, the 4 flattened seed files account for most of the rest)\n",
		len(targets), agreeing, pct, same, total, linePct)
	if pct <= 90 {
		t.Errorf("diagnostic agreement %.1f%% is not above 90%%", pct)
	}
}
