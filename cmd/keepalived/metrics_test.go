package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
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
	"keepalived-go/lvs"
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
	for _, m := range []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes"} {
		if metricValue(t, before, m) == "" {
			t.Errorf("%s missing (the soak reads growth from it):\n%s", m, before)
		}
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

// kernelCollector emits the LVS kernel status metrics, for the lint.
type kernelCollector struct{}

func (kernelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLVSProgrammed, descLVSFailing, descLVSPending, descLVSHeld, descLVSTxMsgs, descLVSTxBytes} {
		ch <- d
	}
}

func (kernelCollector) Collect(ch chan<- prometheus.Metric) {
	collectKernel(ch, lvs.KernelStatus{Failures: 3, Pending: []string{"vs"}, Backend: lvs.BackendStatus{Kind: "nftables", Dests: 7}})
}

func TestKernelMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(kernelCollector{})
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	got, err := testutil.GatherAndCount(reg)
	if err != nil || got != 6 {
		t.Errorf("%d series, %v", got, err)
	}
}

// TestConnLimiter: at the limit a new connection replaces the one quiet
// (silent or idle) the longest; with all busy it is closed at once.
func TestConnLimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := newConnLimiter(ln, 2)
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		io.WriteString(w, "ok")
	}),
		ConnState: cl.connState, ReadHeaderTimeout: time.Minute}
	go srv.Serve(cl)
	defer srv.Close()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// request sends one keep-alive request and reads the answer; false
	// when the server closed the connection instead.
	request := func(c net.Conn) bool {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return true
	}
	a, b := dial(), dial()
	if !request(a) || !request(b) {
		t.Fatal("first two connections not served")
	}
	// Both are idle now: a third takes a's place (idle the longest).
	c := dial()
	if !request(c) {
		t.Fatal("third connection not served though two were idle")
	}
	if request(a) {
		t.Error("the longest idle connection was not closed")
	}
	if !request(b) {
		t.Error("b was closed, not the longest idle")
	}
	// b and c are busy (their handlers run): a fourth is closed at once.
	defer close(release)
	io.WriteString(b, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "two active connections", func() bool {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		return len(cl.quiet) == 0
	})
	if request(dial()) {
		t.Error("a connection beyond the limit was served")
	}
	cl.mu.Lock()
	shed, evicted := cl.shed, cl.evicted
	cl.mu.Unlock()
	if shed != 1 || evicted != 1 {
		t.Errorf("shed %d evicted %d, want 1 and 1", shed, evicted)
	}
}
