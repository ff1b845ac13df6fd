package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"keepalived-go/check/httpget"
	"keepalived-go/config"
	"keepalived-go/lvs"
)

// httpd starts /bin/vmhttpd on addrs and waits until each accepts.
func httpd(addrs ...string) (*exec.Cmd, error) {
	cmd := exec.Command("/bin/vmhttpd", addrs...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		ok := false
		for i := 0; i < 100 && !ok; i++ {
			c, err := net.DialTimeout("tcp", a, 100*time.Millisecond)
			if err == nil {
				c.Close()
				ok = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("vmhttpd on %s did not come up", a)
		}
	}
	return cmd, nil
}

func stopHTTPD(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// probe is one HTTP_GET url of one real server.
type probe struct {
	key    lvs.RSKey
	target httpget.Target
}

// probes builds the HTTP_GET targets of every real server of cfg, the
// way the checker engine resolves them.
func probes(cfg *config.Config) ([]probe, error) {
	var out []probe
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, ck := range rs.Checkers {
				if ck.Kind != config.HTTPGet || ck.HTTPOpts() == nil {
					continue
				}
				addr := netip.AddrPortFrom(rs.Addr, uint16(rs.Port))
				if c := ck.Conn; c != nil && c.ConnectIP.IsValid() {
					addr = netip.AddrPortFrom(c.ConnectIP, addr.Port())
				}
				if c := ck.Conn; c != nil && c.ConnectPort != 0 {
					addr = netip.AddrPortFrom(addr.Addr(), uint16(c.ConnectPort))
				}
				for _, u := range ck.HTTPOpts().URLs {
					t := httpget.Target{
						Addr:        addr,
						Path:        u.Path,
						VirtualHost: httpget.PickVirtualHost(u.VirtualHost, ck.HTTPOpts().VirtualHost, rs.VirtualHost, vs.VirtualHost),
						Timeout:     ck.ConnectTimeout,
					}
					if u.Digest != "" {
						d, err := httpget.ParseDigest(u.Digest)
						if err != nil {
							return nil, err
						}
						t.Digest = &d
					}
					out = append(out, probe{key: lvs.KeyOf(vs, rs), target: t})
				}
			}
		}
	}
	return out, nil
}

// checkRound runs every probe once and reports each real server's verdict
// to the manager: the minimal health loop of the test (one failure is
// down, one success is up; retries are the checker engine's business).
func checkRound(m *lvs.Manager, ps []probe) (string, error) {
	verdict := map[lvs.RSKey]bool{}
	var order []lvs.RSKey
	for _, p := range ps {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := httpget.Check(ctx, p.target)
		cancel()
		if _, seen := verdict[p.key]; !seen {
			order = append(order, p.key)
			verdict[p.key] = true
		}
		verdict[p.key] = verdict[p.key] && err == nil
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "%s up=%v\n", k, verdict[k])
		if err := m.SetHealth(k, verdict[k], -1); err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// healthScenario: real web servers on 198.51.100.11 and .12 (addresses on
// lo), HTTP_GET with the seed's digest; .12's server is stopped and
// started again.
func healthScenario(path string) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	ps, err := probes(cfg)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var events []string
	m, stop, err := startManager(cfg, lvs.Options{OnQuorum: func(e lvs.QuorumEvent) {
		script := ""
		if e.Script != nil {
			script = e.Script.Command
		}
		mu.Lock()
		events = append(events, fmt.Sprintf("%s up=%v init=%v weight=%d threshold=%d script=%q",
			e.VirtualServer, e.Up, e.Init, e.LiveWeight, e.Threshold, script))
		mu.Unlock()
	}})
	if err != nil {
		return err
	}
	h11, err := httpd("198.51.100.11:80")
	if err != nil {
		return err
	}
	defer stopHTTPD(h11)
	h12, err := httpd("198.51.100.12:80")
	if err != nil {
		return err
	}
	for _, step := range []struct {
		name   string
		before func() error
	}{
		{"health-up", nil},
		{"health-down", func() error { stopHTTPD(h12); return nil }},
		{"health-recovered", func() (err error) { h12, err = httpd("198.51.100.12:80"); return err }},
	} {
		if step.before != nil {
			if err := step.before(); err != nil {
				return err
			}
		}
		before := m.Counters()
		v, err := checkRound(m, ps)
		if err != nil {
			return err
		}
		section(step.name+"-checks", v+fmt.Sprintf("writes %d\n", m.Counters().Writes-before.Writes))
		section(step.name, ipvsadmOut("-Ln"))
	}
	stopHTTPD(h12)
	if err := stop(); err != nil {
		return err
	}
	mu.Lock()
	section("quorum-events", strings.Join(events, "\n"))
	mu.Unlock()
	return nil
}

// recorder is the kernel backend with every applied op recorded.
type recorder struct {
	*lvs.IPVS
	mu  sync.Mutex
	ops []lvs.Op
}

func (r *recorder) Apply(ctx context.Context, ops []lvs.Op) error {
	r.mu.Lock()
	r.ops = append(r.ops, ops...)
	r.mu.Unlock()
	return r.IPVS.Apply(ctx, ops)
}

func (r *recorder) take() []lvs.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.ops
	r.ops = nil
	return o
}

// connLines returns the ESTABLISHED entries of ipvsadm -Lnc without the
// expiry column, which ticks (the readiness probes of httpd leave
// closing entries that age on their own).
func connLines() string {
	out := ipvsadmOut("-Lnc")
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 6 && f[2] == "ESTABLISHED" {
			f = append(f[:1], f[2:]...)
			b.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	return b.String()
}

// get sends one keep-alive HTTP request on c and reads the response.
func get(c net.Conn, br *bufio.Reader) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	status, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == "\r\n" {
			break
		}
		fmt.Sscanf(strings.ToLower(l), "content-length: %d", &n)
	}
	if _, err := io.ReadFull(br, make([]byte, n)); err != nil {
		return "", err
	}
	return strings.TrimSpace(status), nil
}

// reloadScenario: programs a, opens a TCP connection through the VIP,
// reloads to b (one weight changed) and shows that one write was sent,
// nothing else changed and the connection lives on.
func reloadScenario(a, b string) error {
	cfgA, err := loadConfig(a)
	if err != nil {
		return err
	}
	cfgB, err := loadConfig(b)
	if err != nil {
		return err
	}
	rec := &recorder{}
	m, stop, err := startManager(cfgA, lvs.Options{Open: func(string) (lvs.Backend, error) {
		ipvs, err := lvs.OpenIPVS()
		rec.IPVS = ipvs
		return rec, err
	}})
	if err != nil {
		return err
	}
	rec.take()
	srv, err := httpd("198.51.100.10:80")
	if err != nil {
		return err
	}
	defer stopHTTPD(srv)
	c, err := net.DialTimeout("tcp", "198.51.100.10:80", 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	st, err := get(c, br)
	if err != nil {
		return fmt.Errorf("request before reload: %w", err)
	}
	section("reload-table-before", ipvsadmOut("-Ln"))
	section("reload-conns-before", connLines())
	before := rec.Counters()
	if err := m.Reload(cfgB); err != nil {
		return err
	}
	after := rec.Counters()
	section("reload-ops", opsText(rec.take())+fmt.Sprintf("writes %d\n", after.Writes-before.Writes))
	section("reload-table-after", ipvsadmOut("-Ln"))
	section("reload-conns-after", connLines())
	st2, err := get(c, br)
	if err != nil {
		return fmt.Errorf("request after reload on the same connection: %w", err)
	}
	section("reload-requests", st+"\n"+st2+"\n")
	// A second reload of the same file changes nothing.
	before = rec.Counters()
	if err := m.Reload(cfgB); err != nil {
		return err
	}
	section("reload-again", opsText(rec.take())+fmt.Sprintf("writes %d\n", rec.Counters().Writes-before.Writes))
	c.Close()
	return stop()
}
