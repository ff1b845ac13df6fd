package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// scaleConf writes a config of n real servers in services of perService
// (NAT, wrr) and one TCP_CHECK, on 198.51.100.2:8080, that the test
// turns on and off by listening there.
func scaleConf(n, perService int, metrics string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id SCALE\n    metrics_listen %s\n}\n", metrics)
	for s := 0; s*perService < n; s++ {
		fmt.Fprintf(&b, "virtual_server 203.0.113.%d %d {\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n", 1+s%250, 1000+s/250)
		if s == 0 {
			b.WriteString("    real_server 198.51.100.2 8080 {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n            delay_before_retry 1\n        }\n    }\n")
		}
		for i := 0; i < perService && s*perService+i < n; i++ {
			if s == 0 && i == 0 {
				continue // the checked one
			}
			fmt.Fprintf(&b, "    real_server 198.51.100.%d %d {\n        weight %d\n    }\n", 1+i%250, 8000+i/250, 1+i%3)
		}
		b.WriteString("    delay_loop 1\n}\n")
	}
	return b.String()
}

// metricOf reads one unlabelled series from a scrape.
func metricOf(text, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestNFTScale10k: the daemon programs 10,000 real servers in one
// nftables transaction; one real server's health change is one small
// transaction; a failure the kernel keeps returning is retried with
// backoff and logged a few times, not once per change, and the metrics
// say the table is not programmed until it recovers. About 20 s, so with
// KG_SCALE=1 (make scale); lvs/nft's TestKernelScale10k is the quick one.
func TestNFTScale10k(t *testing.T) {
	if os.Getenv("KG_SCALE") == "" {
		t.Skip("daemon with 10,000 real servers and a forced failure: set KG_SCALE=1 (make scale)")
	}
	nftScale(t, 10000, 20, 10*time.Second)
}

// TestNFTScale50k is the same with 50,000 real servers and a 75 s failure
// (KG_SCALE=1, make scale).
func TestNFTScale50k(t *testing.T) {
	if os.Getenv("KG_SCALE") == "" {
		t.Skip("50,000 real servers: set KG_SCALE=1 (make scale)")
	}
	nftScale(t, 50000, 100, 75*time.Second)
}

func nftScale(t *testing.T, n, perService int, failFor time.Duration) {
	lan := nettest.NewLAN(t)
	node := lan.AddNode("scale", "198.51.100.2/24")
	if out, err := node.Exec("nft", "list", "tables"); err != nil {
		t.Skipf("nft: %v %s", err, out)
	}
	bin := buildSelf(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(scaleConf(n, perService, "127.0.0.1:9652")), 0o644)
	var ln net.Listener
	listen := func(on bool) {
		if on && ln == nil {
			l, err := node.Listen("tcp", "198.51.100.2:8080")
			if err != nil {
				t.Fatal(err)
			}
			ln = l
		} else if !on && ln != nil {
			ln.Close()
			ln = nil
		}
	}
	listen(true)
	defer listen(false)
	start := time.Now()
	p := node.Start(nil, bin, "-n", "-l", "-G", "--lvs-backend", "nftables", "-f", filepath.Join(dir, "keepalived.conf"),
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	nettest.WaitFor(t, 2*time.Minute, "the table", func() bool {
		out, _ := node.Exec("nft", "list", "tables")
		return strings.Contains(out, "keepalived_lb")
	})
	took := time.Since(start)
	scrape := func() string {
		var text string
		nettest.WaitFor(t, 30*time.Second, "a scrape", func() bool {
			var err error
			text, err = node.HTTPGet("http://127.0.0.1:9652/metrics")
			return err == nil
		})
		return text
	}
	m := scrape()
	f := figures(t, p.Cmd.Process.Pid)
	t.Logf("%d real servers in %d services: programmed %v after start (config read, checkers and one transaction of %v messages, %v bytes); kernel holds %v; daemon peak RSS %d MB, now %d MB",
		n, (n+perService-1)/perService, took.Round(time.Millisecond), metricOf(m, "keepalived_lvs_last_transaction_messages"),
		metricOf(m, "keepalived_lvs_last_transaction_bytes"), metricOf(m, "keepalived_lvs_kernel_destinations"), f.hwm/1024, f.rss/1024)
	if metricOf(m, "keepalived_lvs_programmed") != 1 || metricOf(m, "keepalived_lvs_kernel_destinations") != float64(n) {
		t.Fatalf("not programmed:\n%s", grepLines(m, "keepalived_lvs"))
	}

	// One real server fails its check: one small transaction.
	listen(false)
	nettest.WaitFor(t, 20*time.Second, "the checked server out", func() bool {
		out, _ := node.Exec("nft", "list", "set", "inet", "keepalived_lb", "vs_tcp_203.0.113.1_1000_rs")
		return strings.Contains(out, `198.51.100.2 . 8080 comment "Masq 0"`) || !strings.Contains(out, "198.51.100.2 . 8080 ")
	})
	m = scrape()
	msgs, bytes := metricOf(m, "keepalived_lvs_last_transaction_messages"), metricOf(m, "keepalived_lvs_last_transaction_bytes")
	t.Logf("one real server down: one transaction of %v messages, %v bytes", msgs, bytes)
	if msgs > 12 || bytes > 8<<10 {
		t.Errorf("one real server's change: %v messages, %v bytes", msgs, bytes)
	}

	// Another tool holds a reference to one of our maps: every attempt
	// to rewrite our table fails. The checked server flaps meanwhile.
	node.MustExec("nft", "add", "chain", "inet", "keepalived_lb", "other")
	node.MustExec("nft", "add", "rule", "inet", "keepalived_lb", "other", "ip", "daddr", ".", "meta", "l4proto", ".", "th", "dport", "vmap", "@svc4")
	logBefore := strings.Count(p.Output(), "programming the kernel's table")
	failStart := time.Now()
	up := false
	for time.Since(failStart) < failFor {
		up = !up
		listen(up)
		time.Sleep(2 * time.Second)
	}
	listen(true) // ends up: the kernel (which has it down) does not hold that
	time.Sleep(3 * time.Second)
	m = scrape()
	lines := strings.Count(p.Output(), "programming the kernel's table") - logBefore
	perMin := float64(lines) / time.Since(failStart).Minutes()
	t.Logf("forced failure for %v with the server flapping every 2 s: %d log lines (%.1f per minute); programmed %v, consecutive failures %v",
		time.Since(failStart).Round(time.Second), lines, perMin, metricOf(m, "keepalived_lvs_programmed"), metricOf(m, "keepalived_lvs_write_failures"))
	if metricOf(m, "keepalived_lvs_programmed") != 0 || metricOf(m, "keepalived_lvs_write_failures") < 1 {
		t.Errorf("metrics during the failure:\n%s", grepLines(m, "keepalived_lvs"))
	}
	if lines < 1 || lines > 2+2*int(failFor/time.Minute) {
		t.Errorf("%d log lines in %v of failure:\n%s", lines, failFor, grepLines(p.Output(), "programming the kernel"))
	}
	if f := figures(t, p.Cmd.Process.Pid); true {
		t.Logf("daemon during the failure: RSS %d MB, peak %d MB", f.rss/1024, f.hwm/1024)
	}

	// The other tool lets go: the next attempt (at most the 30 s backoff
	// bound later) programs the table again.
	node.MustExec("nft", "delete", "chain", "inet", "keepalived_lb", "other")
	recovered := time.Now()
	nettest.WaitFor(t, 45*time.Second, "recovery", func() bool {
		text, err := node.HTTPGet("http://127.0.0.1:9652/metrics")
		return err == nil && metricOf(text, "keepalived_lvs_programmed") == 1 && metricOf(text, "keepalived_lvs_kernel_destinations") == float64(n)
	})
	t.Logf("programmed again %v after the other tool let go", time.Since(recovered).Round(time.Millisecond))
	if !strings.Contains(p.Output(), "succeeded after") {
		t.Errorf("recovery not logged")
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
