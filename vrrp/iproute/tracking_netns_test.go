package iproute

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/nettest"
	"keepalived-go/parser"
)

// trackConf has one tracked route and rule of each kind.
var trackConf = kernelConf(struct{ vroutes, vrules, sroutes, srules string }{
	vroutes: "\n        203.0.113.128/25 via 198.51.100.1 dev eth0",
	vrules:  "\n        from 198.51.100.0/24 table 100 priority 100",
	sroutes: "\n    203.0.113.64/26 dev eth1 table 150 track_group TG1",
	srules:  "\n    iif eth1 table 151 priority 301 track_group TG1",
})

// deletions are what an operator removes by hand, in order, and what
// keepalived does about each (its log line).
var deletions = []struct {
	args []string
	ka   string // keepalived's log line
	want string // our Verdict: "backup" or "reinstate"
}{
	{[]string{"route", "del", "203.0.113.128/25"}, "(VI_1) Entering BACKUP STATE", "backup"},
	{[]string{"route", "del", "203.0.113.64/26", "table", "150"}, "Restoring deleted static route", "reinstate"},
	{[]string{"rule", "del", "priority", "301"}, "Restoring deleted static rule", "reinstate"},
	{[]string{"rule", "del", "priority", "100"}, "(VI_1) Entering BACKUP STATE", "backup"},
}

// TestTrackingMatchesKeepalived deletes tracked routes and rules under
// Debian's keepalived and under ours (Monitor + Tracker) and checks both
// react alike: a virtual one sends the MASTER to BACKUP, a static one is
// put back.
func TestTrackingMatchesKeepalived(t *testing.T) {
	nettest.Skip(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("needs Debian's keepalived (apt-get install keepalived)")
	}
	dir := t.TempDir()
	t.Run("keepalived", func(t *testing.T) { trackKeepalived(t, dir) })
	t.Run("ours", func(t *testing.T) { trackOurs(t, dir) })
}

func trackKeepalived(t *testing.T, dir string) {
	n := newKNS(t, "ka")
	cf := filepath.Join(dir, "track.conf")
	os.WriteFile(cf, []byte(trackConf), 0o644)
	logf := filepath.Join(dir, "track.log")
	lf, _ := os.Create(logf)
	defer lf.Close()
	cmd := exec.Command("ip", "netns", "exec", n.name, "keepalived", "-n", "-l", "-D", "-P", "-f", cf,
		"-p", filepath.Join(dir, "t.pid"), "-r", filepath.Join(dir, "t.vrrp.pid"), "-c", filepath.Join(dir, "t.chk.pid"))
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			nettest.KillAll(n.name)
			<-done
		}
	}()
	log := func() string { b, _ := os.ReadFile(logf); return string(b) }
	full := func(s string) bool {
		return strings.Contains(s, "203.0.113.128/25 via") && strings.Contains(s, "203.0.113.64/26 dev eth1 table 150") &&
			strings.Contains(s, "301:") && strings.Contains(s, "100:\tfrom 198.51.100.0/24")
	}
	n.stable(func(s string) bool { return strings.Contains(log(), "Entering MASTER STATE") && full(s) })
	for _, d := range deletions {
		before := strings.Count(log(), d.ka)
		n.ip(append([]string{"-n", n.name}, d.args...)...)
		// Back to MASTER (virtual) or restored (static): everything is in
		// place again.
		n.stable(func(s string) bool { return strings.Count(log(), d.ka) == before+1 && full(s) })
		t.Logf("keepalived: %s -> %q, all back", strings.Join(d.args, " "), d.ka)
	}
}

func trackOurs(t *testing.T, dir string) {
	n := newKNS(t, "go")
	cf := filepath.Join(dir, "ours-track.conf")
	os.WriteFile(cf, []byte(trackConf), 0o644)
	var ifs config.InterfaceSet
	nettest.InNamespace(n.name, func() error { ifs = config.SystemInterfaces(); return nil })
	cfg, diags := config.Load(cf, config.Options{Interfaces: ifs, Hostname: "node1", Parser: parser.Options{Dir: dir}})
	if diags.Fatal() || len(cfg.Instances) != 1 {
		t.Fatalf("config refused:\n%s", diags)
	}
	want := config.RouteMonitor{IPv4Routes: true, IPv4Rules: true}
	if cfg.Monitor != want {
		t.Fatalf("monitor %+v, want %+v", cfg.Monitor, want)
	}
	ns := "/run/netns/" + n.name
	h, err := Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	mon, err := OpenMonitor(ns, cfg.Monitor)
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	in := cfg.Instances[0]
	tr := &Tracker{Instances: []*InstanceRoutes{{Name: in.Name, Routes: NewRouteStates(in.Routes), Rules: NewRuleStates(in.Rules)}},
		StaticRoutes: NewRouteStates(cfg.StaticRoutes), StaticRules: NewRuleStates(cfg.StaticRules), Index: h.Index,
		OwnPID: h.PID()}
	if tr.OwnPID == 0 {
		t.Fatal("no port id for the handle")
	}
	h.RouteList(tr.StaticRoutes, Add, false)
	h.RuleList(tr.StaticRules, Add, false)
	n.ip("-n", n.name, "addr", "add", "198.51.100.10/32", "dev", "eth0")
	h.RouteList(tr.Instances[0].Routes, Add, false)
	h.RuleList(tr.Instances[0].Rules, Add, false)
	master := true
	isMaster := func(string) bool { return master }
	for _, d := range deletions {
		n.ip(append([]string{"-n", n.name}, d.args...)...)
		v := awaitVerdict(t, mon, tr, isMaster)
		switch {
		case d.want == "backup" && v.Backup == "VI_1":
			// The engine leaves MASTER (removing what is left) and comes
			// back: that is RouteList/RuleList Del then Add. Notifications
			// of these changes are ours and do nothing.
			master = false
			h.RuleList(tr.Instances[0].Rules, Del, false)
			h.RouteList(tr.Instances[0].Routes, Del, false)
			master = true
			h.RouteList(tr.Instances[0].Routes, Add, false)
			h.RuleList(tr.Instances[0].Rules, Add, false)
		case d.want == "reinstate" && v.ReinstateRoute != nil:
			if err := h.Route(v.ReinstateRoute.Route, Add); err != nil {
				t.Fatal(err)
			}
		case d.want == "reinstate" && v.ReinstateRule != nil:
			if err := h.Rule(v.ReinstateRule.Rule, Add); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%v: verdict %+v, keepalived does %q", d.args, v, d.ka)
		}
		for _, st := range append(tr.Instances[0].Routes, tr.StaticRoutes...) {
			if ok, err := h.RoutePresent(st); !ok || err != nil {
				t.Errorf("after %v: route %s not back (%v)", d.args, st.Route, err)
			}
		}
		for _, st := range append(tr.Instances[0].Rules, tr.StaticRules...) {
			if ok, err := h.RulePresent(st.Rule); !ok || err != nil {
				t.Errorf("after %v: rule %s not back (%v)", d.args, st.Rule, err)
			}
		}
		t.Logf("ours: %s -> %+v, all back", strings.Join(d.args, " "), v)
	}
}

// awaitVerdict reads notifications until one calls for action.
func awaitVerdict(t *testing.T, mon *Monitor, tr *Tracker, master func(string) bool) Verdict {
	t.Helper()
	mon.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		msgs, err := mon.Receive()
		if err != nil {
			t.Fatalf("no notification that calls for action: %v", err)
		}
		for _, m := range msgs {
			if v := tr.Handle(m, master); v != (Verdict{}) {
				return v
			}
		}
	}
}
