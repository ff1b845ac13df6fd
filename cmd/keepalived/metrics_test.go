package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"keepalived-go/internal/nettest"
)

func metricValue(t *testing.T, text, series string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1]
}

// Scraping the BACKUP during a failover shows its state and counters
// change, with the exporter's metric names (issue 7, must-show 5).
func TestMetricsDuringFailover(t *testing.T) {
	lan := nettest.NewLAN(t)
	n1 := lan.AddNode("n1", "198.51.100.11/24")
	n2 := lan.AddNode("n2", "198.51.100.12/24")
	bin := buildSelf(t)
	dir1, dir2 := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir1, "keepalived.conf"), []byte(strings.Replace(reloadConf, "%s", "", 1)), 0o644)
	backup := strings.Replace(strings.Replace(reloadConf, "%s", "", 1), "priority 200", "priority 100", 1)
	backup = strings.Replace(backup, "router_id RELOAD", "router_id RELOAD\n    metrics_listen 127.0.0.1:9650", 1)
	os.WriteFile(filepath.Join(dir2, "keepalived.conf"), []byte(backup), 0o644)
	d1 := startDaemon(n1, bin, dir1)
	w1 := n1.Watch("eth0")
	nettest.WaitFor(t, 10*time.Second, "n1 MASTER", func() bool { return w1.Has("198.51.100.10") })
	startDaemon(n2, bin, dir2)
	var before string
	nettest.WaitFor(t, 10*time.Second, "metrics as BACKUP", func() bool {
		before, _ = n2.HTTPGet("http://127.0.0.1:9650/metrics") // refused until the daemon listens
		return metricValue(t, before, `keepalived_vrrp_state{iname="ETH0",intf="eth0",ip_address="198.51.100.10",vrid="10"}`) == "1"
	})
	if metricValue(t, before, "keepalived_up") != "1" {
		t.Errorf("keepalived_up missing:\n%s", before)
	}
	d1.Signal(syscall.SIGTERM)
	var after string
	nettest.WaitFor(t, 10*time.Second, "metrics as MASTER", func() bool {
		after, _ = n2.HTTPGet("http://127.0.0.1:9650/metrics")
		return metricValue(t, after, `keepalived_vrrp_state{iname="ETH0",intf="eth0",ip_address="198.51.100.10",vrid="10"}`) == "2"
	})
	for _, s := range []string{
		`keepalived_become_master_total{iname="ETH0",intf="eth0",state="MASTER",vrid="10"}`,
		`keepalived_priority_zero_received_total{iname="ETH0",intf="eth0",state="MASTER",vrid="10"}`,
	} {
		if v := metricValue(t, after, s); v != "1" {
			t.Errorf("%s = %q after failover, want 1", s, v)
		}
	}
	if v := metricValue(t, after, `keepalived_advertisements_received_total{iname="ETH0",intf="eth0",state="MASTER",vrid="10"}`); v == "" || v == "0" {
		t.Errorf("advertisements received = %q", v)
	}
}

// Our metric names pass Prometheus' lint, as CoreDNS checks its own.
func TestMetricNamesLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(checkDuration, scriptRuns)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
