package soak

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	soakDuration = flag.Duration("soak.duration", 20*time.Minute, "how long the soak runs")
	soakSeed     = flag.Uint64("soak.seed", 0, "the schedule's seed (0: from the clock, printed)")
	soakFaults   = flag.String("soak.faults", "default", "faults to draw from: default, all, or a comma list of "+faultList(AllFaults))
)

// TestSoak is make soak: two nodes of our daemon under continuous HTTP
// traffic through the VIP while the seeded schedule injects faults; it
// fails on any broken invariant, fault that did not act, crash or growth.
func TestSoak(t *testing.T) {
	if os.Getenv("KG_SOAK") != "1" {
		t.Skip("the soak runs under make soak (KG_SOAK=1), not make test")
	}
	if os.Geteuid() != 0 {
		t.Skip("the soak needs root for namespaces")
	}
	for _, tool := range []string{"ip", "ethtool", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the soak needs %s (make deps)", tool)
		}
	}
	faults, err := ParseFaults(*soakFaults)
	if err != nil {
		t.Fatal(err)
	}
	seed := *soakSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano()%1_000_000_000) + 1
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "keepalived")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/keepalived").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration+2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Duration: *soakDuration, Seed: seed, Faults: faults, Bin: bin, Dir: dir, Logf: t.Logf})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Logs)
	}
	summarize(t, rep)
}

// summarize prints the soak's figures and fails on what broke.
func summarize(t *testing.T, rep *Report) {
	t.Helper()
	t.Logf("traffic: %d requests, %d answered (%.2f%%), by node %v, longest outage %v",
		rep.Requests, rep.OK, 100*float64(rep.OK)/float64(max(rep.Requests, 1)), rep.Served, rep.LongestOutage.Round(time.Millisecond))
	t.Logf("VIP holders: longest two outside a partition %v (bound %v), longest none %v (bound %v)",
		rep.MaxDual.Round(time.Millisecond), rep.Limits.Dual, rep.MaxNone.Round(time.Millisecond), rep.Limits.None)
	grew := false
	for _, l := range rep.Lives {
		g := l.Growth()
		span := time.Duration(0)
		if n := len(l.Samples); n > 0 {
			span = l.Samples[n-1].At - l.Samples[0].At
		}
		t.Logf("daemon %s pid %d: %d readings over %v: %v", l.Node, l.PID, len(l.Samples), span.Round(time.Second), g)
		grew = grew || g.Judged && !g.Within
	}
	for _, v := range rep.Violations {
		t.Errorf("invariant broken: %v", v)
	}
	for _, p := range rep.Problems {
		t.Errorf("problem: %s", p)
	}
	for _, crash := range []string{"panic:", "fatal error:", "DATA RACE"} {
		if strings.Contains(rep.Logs, crash) {
			t.Errorf("a daemon's log has %q", crash)
		}
	}
	if grew {
		t.Errorf("a daemon grew")
	}
	if t.Failed() {
		t.Logf("daemon logs:\n%s", rep.Logs)
	}
}
