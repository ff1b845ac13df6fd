package soak

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keepalived-go/internal/nettest"
)

// Options are a soak's settings.
type Options struct {
	Duration time.Duration
	Seed     uint64
	Faults   []FaultKind
	Bin      string // the daemon
	Dir      string // for the nodes' files and logs
	Logf     func(format string, args ...any)
}

// Report is what a soak saw.
type Report struct {
	Schedule         []Fault
	Violations       []Violation
	MaxDual, MaxNone time.Duration
	Limits           Limits
	Requests, OK     int
	Served           map[string]int
	LongestOutage    time.Duration
	Lives            []*Life
	Problems         []string // faults that did not do what they should, crashes
	Logs             string
}

// Sampling periods.
const (
	holderEvery   = 50 * time.Millisecond
	requestEvery  = 100 * time.Millisecond
	resourceEvery = 10 * time.Second
)

type soak struct {
	o         Options
	lab       *lab
	t0        time.Time
	partition atomic.Bool
	mu        sync.Mutex
	rep       *Report
}

func (s *soak) since() time.Duration { return time.Since(s.t0) }

func (s *soak) problem(format string, args ...any) {
	msg := fmt.Sprintf("+%.1fs ", s.since().Seconds()) + fmt.Sprintf(format, args...)
	s.o.Logf("PROBLEM %s", msg)
	s.mu.Lock()
	s.rep.Problems = append(s.rep.Problems, msg)
	s.mu.Unlock()
}

// Run builds the lab, starts both daemons, runs the schedule for
// o.Duration under traffic and returns what it saw. Every loop ends with
// the soak's deadline.
func Run(ctx context.Context, o Options) (*Report, error) {
	s := &soak{o: o, rep: &Report{Served: map[string]int{}, Limits: LimitsFor(advert, backupPrio, holderEvery)}}
	s.rep.Schedule = Schedule(o.Seed, o.Duration, o.Faults)
	l, err := newLab(o.Bin, o.Dir)
	s.lab = l
	defer func() {
		for _, n := range l.nodes {
			n.stop()
		}
		for _, n := range l.nodes {
			s.rep.Logs += n.logs()
		}
		l.close()
	}()
	if err != nil {
		return s.rep, err
	}
	for _, n := range l.nodes {
		if err := os.MkdirAll(n.etc, 0o755); err != nil {
			return s.rep, err
		}
		if err := n.writeConf(n.goodConf(false)); err != nil {
			return s.rep, err
		}
		if err := n.start(o.Bin); err != nil {
			return s.rep, err
		}
	}
	if err := waitFor(ctx, 20*time.Second, func() bool { return l.nodes[0].holds() && !l.nodes[1].holds() }); err != nil {
		return s.rep, fmt.Errorf("node a did not become the only VIP holder: %w", err)
	}
	o.Logf("seed %d, duration %v, faults %v; the schedule (replay: make soak SOAK_SEED=%d SOAK_DURATION=%v SOAK_FAULTS=%s):",
		o.Seed, o.Duration, o.Faults, o.Seed, o.Duration, faultList(o.Faults))
	for i, f := range s.rep.Schedule {
		o.Logf("  %2d %v", i+1, f)
	}
	s.t0 = time.Now()
	rctx, cancel := context.WithDeadline(ctx, s.t0.Add(o.Duration))
	defer cancel()
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){s.client, s.holders, s.resources, s.faults} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(rctx) }()
	}
	wg.Wait()
	for _, n := range l.nodes {
		n.mu.Lock()
		s.rep.Lives = append(s.rep.Lives, n.lives...)
		n.mu.Unlock()
	}
	return s.rep, nil
}

func faultList(ks []FaultKind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, ",")
}

// waitFor polls cond every 50 ms for at most d.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// client fetches http://VIP/ every 100 ms from the client namespace, a
// new connection each time, and counts who answered.
func (s *soak) client(ctx context.Context) {
	ns := s.lab.clientNS
	c := &http.Client{Timeout: 800 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = nettest.InNamespace(ns, func() (err error) {
				conn, err = (&net.Dialer{Timeout: 800 * time.Millisecond}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}}}
	var failSince time.Time
	for sleep(ctx, requestEvery) {
		body, err := get(ctx, c, "http://"+vip+"/", 1<<10)
		s.mu.Lock()
		s.rep.Requests++
		if err == nil {
			s.rep.OK++
			s.rep.Served[body]++
			if !failSince.IsZero() {
				s.rep.LongestOutage = max(s.rep.LongestOutage, time.Since(failSince))
				failSince = time.Time{}
			}
		} else if failSince.IsZero() {
			failSince = time.Now()
		}
		s.mu.Unlock()
	}
	if !failSince.IsZero() { // an outage lasting to the end
		s.mu.Lock()
		s.rep.LongestOutage = max(s.rep.LongestOutage, time.Since(failSince))
		s.mu.Unlock()
	}
}

func get(ctx context.Context, c *http.Client, url string, limit int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return string(b), err
}

// holders samples who holds the VIP every 50 ms into the invariants.
func (s *soak) holders(ctx context.Context) {
	iv := NewInvariants(s.rep.Limits)
	told := 0
	for sleep(ctx, holderEvery) {
		smp := Sample{At: s.since(), Partition: s.partition.Load()}
		for _, n := range s.lab.nodes {
			if n.holds() {
				smp.Holders = append(smp.Holders, n.name)
			}
			if !n.running() {
				smp.Partition = true // a paused or dead daemon is cut off
			}
		}
		iv.Add(smp)
		for ; told < len(iv.Violations); told++ {
			s.o.Logf("VIOLATION %v", iv.Violations[told])
		}
	}
	s.mu.Lock()
	s.rep.Violations, s.rep.MaxDual, s.rep.MaxNone = iv.Violations, iv.MaxDual, iv.MaxNone
	s.mu.Unlock()
}

var goroutinesRE = regexp.MustCompile(`(?m)^go_goroutines (\d+)$`)

// resources reads every running daemon's descriptors, memory and
// goroutines every 10 s.
func (s *soak) resources(ctx context.Context) {
	for sleep(ctx, resourceEvery) {
		for _, n := range s.lab.nodes {
			if !n.running() {
				continue
			}
			pid, life := n.current()
			if pid == 0 {
				continue
			}
			u, err := readUsage(ctx, n, pid)
			if err != nil {
				continue // died or paused meanwhile
			}
			u.At = s.since()
			n.mu.Lock()
			life.Samples = append(life.Samples, u)
			n.mu.Unlock()
		}
	}
}

func readUsage(ctx context.Context, n *node, pid int) (Usage, error) {
	var u Usage
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return u, err
	}
	u.FDs = len(fds)
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			u.RSS = kb << 10
		}
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
			err = nettest.InNamespace(n.ns, func() (err error) {
				conn, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		}}}
	body, err := get(ctx, c, "http://127.0.0.1:9650/metrics", 4<<20)
	if err != nil {
		return u, err
	}
	m := goroutinesRE.FindStringSubmatch(body)
	if m == nil {
		return u, fmt.Errorf("no go_goroutines")
	}
	u.Goroutines, _ = strconv.Atoi(m[1])
	return u, nil
}
