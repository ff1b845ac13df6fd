package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// procFigures are a process's open descriptors, resident and peak
// resident memory (kB).
type procFigures struct{ fds, rss, hwm int }

func figures(t *testing.T, pid int) procFigures {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := procFigures{fds: len(ents)}
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		fs := strings.Fields(l)
		if len(fs) < 2 {
			continue
		}
		switch fs[0] {
		case "VmRSS:":
			f.rss, _ = strconv.Atoi(fs[1])
		case "VmHWM:":
			f.hwm, _ = strconv.Atoi(fs[1])
		}
	}
	return f
}

// TestMetricsIdleClients: 2,000 clients on the metrics endpoint, half
// after one request kept alive and idle, half connected and silent. The
// daemon holds at most its connection limit of them (it used to hold
// every one: 2,014 descriptors and 68 MB), a scrape still gets through
// within the read-header timeout, and (KG_SCALE=1, make scale) the idle
// ones are all closed after the idle timeout.
func TestMetricsIdleClients(t *testing.T) {
	bin := buildSelf(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	os.WriteFile(filepath.Join(dir, "k.conf"), []byte("global_defs {\n    router_id IDLE\n    metrics_listen "+addr+"\n}\n"), 0o644)
	cmd := exec.Command(bin, "-n", "-l", "-G", "-f", filepath.Join(dir, "k.conf"),
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	var out nettest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	scrape := func() error {
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && !strings.Contains(string(b), "keepalived_up 1") {
			err = fmt.Errorf("no keepalived_up in %q", b)
		}
		return err
	}
	nettest.WaitFor(t, 10*time.Second, "metrics", func() bool { return scrape() == nil })
	base := figures(t, pid)

	const clients = 2000
	conns := make([]net.Conn, 0, clients)
	var mu sync.Mutex
	var wg sync.WaitGroup
	peak := base
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // the daemon's figures while the clients come
		defer close(sampled)
		for {
			f := figures(t, pid)
			mu.Lock()
			peak.fds, peak.rss, peak.hwm = max(peak.fds, f.fds), max(peak.rss, f.rss), max(peak.hwm, f.hwm)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	served := 0
	start := time.Now()
	sem := make(chan struct{}, 100)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if i%2 == 1 {
				return // silent: connected, says nothing
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
			buf := make([]byte, 64<<10)
			if n, _ := c.Read(buf); n > 0 && strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
				mu.Lock()
				served++
				mu.Unlock()
			}
			c.SetDeadline(time.Time{}) // then idle, connection kept
		}()
	}
	wg.Wait()
	flood := time.Since(start)
	t0 := time.Now()
	for scrape() != nil {
		if time.Since(t0) > 15*time.Second {
			t.Fatal("no scrape got through within 15 s of the flood")
		}
		time.Sleep(100 * time.Millisecond)
	}
	scrapeWait := time.Since(t0)
	close(stop)
	<-sampled
	t.Logf("%d clients (half idle after a request, half silent) in %v: %d requests served; daemon before %d fds, RSS %d MB; peak %d fds, RSS %d MB (VmHWM %d MB); a scrape got through after %v",
		clients, flood.Round(time.Millisecond), served, base.fds, base.rss/1024, peak.fds, peak.rss/1024, peak.hwm/1024, scrapeWait.Round(time.Millisecond))
	if peak.fds > base.fds+defaultMetricsLimits.maxConns+8 {
		t.Errorf("peak %d descriptors: more than the %d-connection limit above the %d at rest", peak.fds, defaultMetricsLimits.maxConns, base.fds)
	}
	if peak.hwm > 60*1024 {
		t.Errorf("peak RSS %d MB", peak.hwm/1024)
	}
	if os.Getenv("KG_SCALE") == "" {
		t.Log("settled figures after the idle timeout: KG_SCALE=1 (make scale)")
	} else {
		time.Sleep(defaultMetricsLimits.idle + 5*time.Second)
		settled := figures(t, pid)
		t.Logf("after the %v idle timeout: %d fds, RSS %d MB", defaultMetricsLimits.idle, settled.fds, settled.rss/1024)
		if settled.fds > base.fds+2 {
			t.Errorf("%d descriptors after the idle timeout, %d at rest", settled.fds, base.fds)
		}
	}
	for _, c := range conns {
		c.Close()
	}
}
