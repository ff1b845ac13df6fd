package check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/internal/trackfile"
)

// Short timings so that every failure mode goes down and back up fast:
// delay_loop 100 ms, one retry after 50 ms, connect_timeout 300 ms.
func fastChecker(kind config.CheckerKind) *config.Checker {
	return &config.Checker{Kind: kind, DelayLoop: 100 * time.Millisecond, DelayBeforeRetry: 50 * time.Millisecond,
		Retry: 1, ConnectTimeout: 300 * time.Millisecond}
}

func oneServer(ap netip.AddrPort, proto string, cks ...*config.Checker) *config.Config {
	vs := &config.VirtualServer{Addr: netip.MustParseAddr("198.51.100.10"), Port: 80, Protocol: proto, DelayLoop: time.Second}
	vs.RealServers = []*config.RealServer{{Addr: ap.Addr(), Port: int(ap.Port()), Weight: 100, Checkers: cks}}
	return &config.Config{VirtualServers: []*config.VirtualServer{vs}}
}

type harness struct {
	t      *testing.T
	events chan RealServerEvent
	logs   *test.Hook
	eng    *Engine
	stats  atomic.Int64
}

func start(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	l, hook := test.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	h := &harness{t: t, events: make(chan RealServerEvent, 1000), logs: hook}
	zero := time.Duration(0)
	cfg.ResolveScripts(script.NewResolver(nil, "", "", false))
	eng, err := New(cfg, Options{Log: logrus.NewEntry(l), Bootstrap: &zero,
		OnEvent: func(ev RealServerEvent) { h.events <- ev },
		OnCheck: func(CheckStat) { h.stats.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ev := h.next(2 * time.Second)
	if !ev.Initial {
		t.Fatalf("first event not initial: %+v", ev)
	}
	return h
}

func (h *harness) next(d time.Duration) RealServerEvent {
	h.t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(d):
		h.t.Fatalf("no event within %s; log:\n%s", d, h.logText())
	}
	return RealServerEvent{}
}

// want waits for the next event and checks its state.
func (h *harness) want(up bool, what string) RealServerEvent {
	h.t.Helper()
	ev := h.next(5 * time.Second)
	if ev.Up != up {
		h.t.Fatalf("%s: got event up=%v (%s), want up=%v; log:\n%s", what, ev.Up, ev.Reason, up, h.logText())
	}
	return ev
}

// checked waits until the engine has finished at least one attempt, so a
// fault the test injects next is seen by a checker that has already run
// (a fresh checker's retry counter starts exhausted: a first failure goes
// down with no "after N retries").
func (h *harness) checked() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.stats.Load() == 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("no check finished within 5s; log:\n%s", h.logText())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) logText() string {
	var b strings.Builder
	for _, e := range h.logs.AllEntries() {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

func (h *harness) hasLog(sub string) bool {
	return strings.Contains(h.logText(), sub)
}

// modalListener serves conns to an inner server in mode "ok" and
// misbehaves in the others; "refused" closes the socket and re-binds it on
// the same address when the mode changes back.
type modalListener struct {
	mu    sync.Mutex
	addr  string
	ln    net.Listener
	mode  string
	conns chan net.Conn
	done  chan struct{}
	held  []net.Conn
}

func newModal(t *testing.T) *modalListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &modalListener{addr: ln.Addr().String(), ln: ln, mode: "ok", conns: make(chan net.Conn), done: make(chan struct{})}
	go m.loop(ln)
	t.Cleanup(m.shutdown)
	return m
}

// closeEach serves the "ok" mode by closing every connection at once (a
// TCP_CHECK needs no more), until the test ends.
func (m *modalListener) closeEach() {
	go func() {
		for {
			c, err := m.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (m *modalListener) loop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		mode := m.mode
		m.mu.Unlock()
		switch mode {
		case "garbage":
			_, _ = c.Write([]byte("554 garbage, not TLS nor HTTP\r\n\r\n"))
			c.Close()
		case "silent":
			m.mu.Lock()
			m.held = append(m.held, c)
			m.mu.Unlock()
		default:
			select {
			case m.conns <- c:
			case <-m.done:
				c.Close()
				return
			}
		}
	}
}

func (m *modalListener) set(mode string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.mode
	m.mode = mode
	if mode == "refused" && old != "refused" {
		m.ln.Close()
	}
	if mode != "refused" && old == "refused" {
		ln, err := net.Listen("tcp", m.addr)
		if err != nil {
			panic(err)
		}
		m.ln = ln
		go m.loop(ln)
	}
	if mode != "silent" {
		for _, c := range m.held {
			c.Close()
		}
		m.held = nil
	}
}

func (m *modalListener) shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	m.ln.Close()
	for _, c := range m.held {
		c.Close()
	}
}

func (m *modalListener) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.done:
		return nil, net.ErrClosed
	}
}
func (m *modalListener) Close() error   { m.shutdown(); return nil }
func (m *modalListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (m *modalListener) addrPort() netip.AddrPort { return netip.MustParseAddrPort(m.addr) }

const page = "<html><body><h1>It works!</h1></body></html>"

// webMode decides what the HTTP handler does.
type webMode struct{ v atomic.Value }

func (w *webMode) set(s string) { w.v.Store(s) }
func (w *webMode) get() string  { s, _ := w.v.Load().(string); return s }

func webHandler(mode *webMode) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch mode.get() {
		case "status":
			rw.WriteHeader(http.StatusInternalServerError)
			io.WriteString(rw, page)
		case "digest":
			io.WriteString(rw, "<html><body><h1>Maintenance</h1></body></html>")
		case "slowbody":
			rw.Header().Set("Content-Length", fmt.Sprint(len(page)))
			rw.WriteHeader(200)
			io.WriteString(rw, page[:10])
			rw.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		case "vhost":
			if r.Host != "keepalive.example.org" {
				rw.WriteHeader(404)
				return
			}
			io.WriteString(rw, page)
		default:
			io.WriteString(rw, page)
		}
	})
}

func pageDigest() string {
	sum := md5.Sum([]byte(page))
	return hex.EncodeToString(sum[:])
}

func TestPageDigestIsSeed(t *testing.T) {
	if pageDigest() != "c7b4690c8c46625ef0f328cd7a24a0a3" {
		t.Fatal(pageDigest())
	}
}

func httpChecker(kind config.CheckerKind) *config.Checker {
	ck := fastChecker(kind)
	ck.Options = &config.HTTPOptions{Protocol: "1.0", URLs: []config.URL{
		{Path: "/apache2-default/", Digest: pageDigest(), StatusCodes: []config.StatusRange{{Min: 200, Max: 299}}},
		{Path: "/second", StatusCodes: []config.StatusRange{{Min: 200, Max: 200}}},
	}}
	return ck
}

func serveWeb(t *testing.T, tlsOn bool) (*modalListener, *webMode) {
	m := newModal(t)
	mode := &webMode{}
	srv := &http.Server{Handler: webHandler(mode), ErrorLog: log.New(io.Discard, "", 0)}
	if tlsOn {
		cert, key := selfSigned(t)
		srv.TLSConfig = tlsConfig(t, cert, key)
		go srv.ServeTLS(m, "", "")
	} else {
		go srv.Serve(m)
	}
	t.Cleanup(func() { srv.Close() })
	return m, mode
}

func TestHTTPGetFailureModes(t *testing.T) {
	m, mode := serveWeb(t, false)
	h := start(t, oneServer(m.addrPort(), "TCP", httpChecker(config.HTTPGet)))
	rs := m.addrPort().String()
	for _, fail := range []string{"refused", "timeout", "status", "digest", "slowbody"} {
		t.Run(fail, func(t *testing.T) {
			switch fail {
			case "refused":
				m.set("refused")
			case "timeout":
				m.set("silent")
			default:
				mode.set(fail)
			}
			ev := h.want(false, fail)
			if ev.RSKey != "["+strings.Replace(rs, ":", "]:tcp:", 1) || ev.VSKey != "[198.51.100.10]:tcp:80" || ev.Checker != config.HTTPGet {
				t.Errorf("event %+v", ev)
			}
			m.set("ok")
			mode.set("ok")
			h.want(true, fail+" recovered")
		})
	}
	for _, line := range []string{
		"Activating healthchecker for service [127.0.0.1]:tcp:",
		"HTTP_CHECK on service [127.0.0.1]:tcp:",
		"failed after 1 retries.",
		"Removing service [127.0.0.1]:tcp:",
		"from VS [198.51.100.10]:tcp:80",
		"Remote Web server [127.0.0.1]:tcp:",
		"Adding service [127.0.0.1]:tcp:",
		"MD5 digest success to [127.0.0.1]:tcp:",
	} {
		if !h.hasLog(line) {
			t.Errorf("log lacks %q:\n%s", line, h.logText())
		}
	}
	if h.stats.Load() == 0 {
		t.Error("no CheckStat")
	}
}

func TestHTTPGetVirtualHost(t *testing.T) {
	m, mode := serveWeb(t, false)
	mode.set("vhost")
	ck := httpChecker(config.HTTPGet)
	cfg := oneServer(m.addrPort(), "TCP", ck)
	h := start(t, cfg) // no virtualhost anywhere: Host is ip:port -> 404
	h.want(false, "no vhost")
	// The seed's virtualhost at VS level makes the Host header right.
	cfg2 := oneServer(m.addrPort(), "TCP", httpChecker(config.HTTPGet))
	cfg2.VirtualServers[0].VirtualHost = "keepalive.example.org"
	if err := h.eng.Reload(cfg2); err != nil {
		t.Fatal(err)
	}
	h.want(true, "vs virtualhost")
	// A url-level virtualhost wins over the VS one (and the server only
	// knows keepalive.example.org).
	ck3 := httpChecker(config.HTTPGet)
	for i := range ck3.HTTPOpts().URLs {
		ck3.HTTPOpts().URLs[i].VirtualHost = "other.example.org"
	}
	if err := h.eng.Reload(oneServer(m.addrPort(), "TCP", ck3)); err != nil {
		t.Fatal(err)
	}
	h.want(false, "url virtualhost")
	select {
	case ev := <-h.events:
		t.Fatalf("flapping: %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestSSLGetFailureModes(t *testing.T) {
	m, mode := serveWeb(t, true)
	ck := httpChecker(config.SSLGet)
	ck.HTTPOpts().EnableSNI = true
	ck.HTTPOpts().VirtualHost = "keepalive.example.org"
	h := start(t, oneServer(m.addrPort(), "TCP", ck))
	for _, fail := range []string{"tls", "refused", "timeout", "status", "digest"} {
		t.Run(fail, func(t *testing.T) {
			switch fail {
			case "tls":
				m.set("garbage")
			case "refused":
				m.set("refused")
			case "timeout":
				m.set("silent")
			default:
				mode.set(fail)
			}
			h.want(false, fail)
			m.set("ok")
			mode.set("ok")
			h.want(true, fail+" recovered")
		})
	}
}

func TestTCPCheck(t *testing.T) {
	m := newModal(t)
	m.closeEach()
	h := start(t, oneServer(m.addrPort(), "TCP", fastChecker(config.TCPCheck)))
	m.set("refused")
	h.want(false, "refused")
	m.set("ok")
	h.want(true, "back")
	if !h.hasLog("TCP_CHECK on service [127.0.0.1]:tcp:") || !h.hasLog("TCP connection to [127.0.0.1]:tcp:") {
		t.Error(h.logText())
	}
}

func TestSMTPCheck(t *testing.T) {
	m := newModal(t)
	var rejectHelo atomic.Bool
	var helos sync.Map
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		helos.Store(c.Hostname(), true)
		if rejectHelo.Load() {
			return nil, &smtp.SMTPError{Code: 554, Message: "go away"}
		}
		return nopSession{}, nil
	}))
	srv.Domain = "mx.example.org"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(m)
	t.Cleanup(func() { srv.Close() })
	ck := fastChecker(config.SMTPCheck)
	ck.Options = &config.SMTPOptions{HeloName: "lb1.example.org"}
	h := start(t, oneServer(m.addrPort(), "TCP", ck))
	for _, fail := range []string{"refused", "timeout", "banner", "helo"} {
		t.Run(fail, func(t *testing.T) {
			switch fail {
			case "refused":
				m.set("refused")
			case "timeout":
				m.set("silent")
			case "banner":
				m.set("garbage")
			case "helo":
				rejectHelo.Store(true)
			}
			h.want(false, fail)
			m.set("ok")
			rejectHelo.Store(false)
			h.want(true, fail+" back")
		})
	}
	if _, ok := helos.Load("lb1.example.org"); !ok {
		t.Error("helo_name not sent")
	}
	for _, l := range []string{"SMTP_CHECK Bad greeting banner from server [127.0.0.1]:", "SMTP_CHECK Bad HELO response from server", "Remote SMTP server [127.0.0.1]:tcp:"} {
		if !h.hasLog(l) {
			t.Errorf("log lacks %q:\n%s", l, h.logText())
		}
	}
}

type nopSession struct{}

func (nopSession) Mail(string, *smtp.MailOptions) error { return nil }
func (nopSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (nopSession) Data(io.Reader) error                 { return nil }
func (nopSession) Reset()                               {}
func (nopSession) Logout() error                        { return nil }

func TestDNSCheck(t *testing.T) {
	var mode webMode
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var qname atomic.Value
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		qname.Store(fmt.Sprintf("%s %d", r.Question[0].Name, r.Question[0].Qtype))
		m := new(dns.Msg)
		m.SetReply(r)
		switch mode.get() {
		case "timeout":
			return
		case "servfail":
			m.Rcode = dns.RcodeServerFailure
		case "nxdomain":
			m.Rcode = dns.RcodeNameError
		case "wrongid":
			m.Id++
		default:
			rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 198.51.100.53")
			m.Answer = append(m.Answer, rr)
		}
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	ck := fastChecker(config.DNSCheck)
	ck.Options = &config.DNSOptions{Type: "A", Name: "www.example.org"}
	h := start(t, oneServer(netip.MustParseAddrPort(pc.LocalAddr().String()), "UDP", ck))
	for _, fail := range []string{"servfail", "nxdomain", "timeout", "wrongid"} {
		t.Run(fail, func(t *testing.T) {
			mode.set(fail)
			h.want(false, fail)
			mode.set("ok")
			h.want(true, fail+" back")
		})
	}
	if q, _ := qname.Load().(string); q != "www.example.org. 1" {
		t.Errorf("query %q", q)
	}
	if !h.hasLog("DNS_CHECK ([127.0.0.1]:udp:") || !h.hasLog("read error occurred. (rcode = 3) after 1 retries") {
		t.Error(h.logText())
	}
}

func TestUDPCheck(t *testing.T) {
	var mode webMode
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	var pcMu sync.Mutex
	serve := func(pc net.PacketConn) {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			switch mode.get() {
			case "drop":
			case "wrong":
				pc.WriteTo([]byte("NOPE"), from)
			case "long":
				pc.WriteTo(make([]byte, 300), from)
			default:
				pc.WriteTo(buf[:n], from)
			}
		}
	}
	go serve(pc)
	t.Cleanup(func() { pcMu.Lock(); pc.Close(); pcMu.Unlock() })
	ck := fastChecker(config.UDPCheck)
	ck.Options = &config.UDPOptions{Payload: []byte("PING"), RequireReply: true, ReplyPattern: []byte("PI"), MinReplyLength: 2, MaxReplyLength: 255}
	h := start(t, oneServer(netip.MustParseAddrPort(addr), "UDP", ck))
	for _, fail := range []string{"drop", "wrong", "long", "refused"} {
		t.Run(fail, func(t *testing.T) {
			if fail == "refused" {
				pcMu.Lock()
				pc.Close()
				pcMu.Unlock()
			} else {
				mode.set(fail)
			}
			h.want(false, fail)
			if fail == "refused" {
				npc, err := net.ListenPacket("udp", addr)
				if err != nil {
					t.Fatal(err)
				}
				pcMu.Lock()
				pc = npc
				pcMu.Unlock()
				go serve(npc)
			}
			mode.set("ok")
			h.want(true, fail+" back")
		})
	}
	if !h.hasLog("UDP_CHECK on service [127.0.0.1]:udp:") || !h.hasLog("UDP connection to [127.0.0.1]:udp:") {
		t.Error(h.logText())
	}
}

func TestUDPCheckNoReplyRequired(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(pc.LocalAddr().String())
	// A silent listener is up (no ICMP error), a closed port is down.
	c := &UDPCheck{Conn: Conn{Dst: addr}, Payload: udpDefaultPayload, MaxLen: 255}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := c.Check(ctx); err != nil {
		t.Fatalf("silent listener: %v", err)
	}
	pc.Close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := c.Check(ctx2); err == nil {
		t.Fatal("closed port: up")
	}
}

func TestPingCheckLoopback(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "::1"} {
		c := &PingCheck{Conn: Conn{Dst: netip.AddrPortFrom(netip.MustParseAddr(ip), 0)}}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Check(ctx)
		cancel()
		if err != nil {
			if os.Geteuid() != 0 {
				t.Skipf("ping sockets not allowed for this user and not root: %v", err)
			}
			t.Fatalf("%s: %v", ip, err)
		}
	}
	ck := fastChecker(config.PingCheck)
	h := start(t, oneServer(netip.MustParseAddrPort("127.0.0.1:0"), "TCP", ck))
	select {
	case ev := <-h.events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(400 * time.Millisecond):
	}
	if !h.hasLog("Activating healthchecker for service [127.0.0.1]:tcp:0") {
		t.Error(h.logText())
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func TestMiscCheck(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "exit")
	writeFile(t, state, "0")
	ck := fastChecker(config.MiscCheck)
	ck.Options = &config.MiscOptions{Path: &config.Script{Command: "/bin/sh -c 'exit $(cat " + state + ")'"}, Dynamic: true, Timeout: 300 * time.Millisecond}
	ck2 := fastChecker(config.MiscCheck)
	ck2.Options = &config.MiscOptions{Path: &config.Script{Command: "/bin/sh -c 'test ! -e " + state + ".hang || sleep 5'"}, Timeout: 200 * time.Millisecond}
	h := start(t, oneServer(netip.MustParseAddrPort("127.0.0.1:80"), "TCP", ck, ck2))
	writeFile(t, state, "1")
	ev := h.want(false, "exit 1")
	writeFile(t, state, "0")
	ev = h.want(true, "exit 0")
	if ev.Weight != 100 {
		t.Errorf("weight %d", ev.Weight)
	}
	writeFile(t, state, "7") // misc_dynamic: weight 7-2
	ev = h.next(5 * time.Second)
	if !ev.Up || ev.Weight != 5 {
		t.Errorf("dynamic: %+v", ev)
	}
	writeFile(t, state+".hang", "")
	ev = h.want(false, "timeout")
	os.Remove(state + ".hang")
	h.want(true, "no more timeout")
	// The script as keepalived names it after its security check: /bin/sh
	// through the real path of the directory (/usr/bin/sh on Debian).
	sh := ck.MiscOpts().Path.Resolved().Cmd.Argv[0]
	for _, l := range []string{
		"Misc check for [[127.0.0.1]:tcp:80 VS [198.51.100.10]:tcp:80] by [" + sh + "] failed after 1 retry (exited with status 1).",
		"Misc check for [[127.0.0.1]:tcp:80 VS [198.51.100.10]:tcp:80] by [" + sh + "] succeeded.",
		"Misc check for [[127.0.0.1]:tcp:80 VS [198.51.100.10]:tcp:80] by [" + sh + "] timed out after 1 retry.",
		"Changing weight from 100 to 5 for active service [127.0.0.1]:tcp:80 of VS [198.51.100.10]:tcp:80",
	} {
		if !h.hasLog(l) {
			t.Errorf("log lacks %q:\n%s", l, h.logText())
		}
	}
}

func TestFileWeight(t *testing.T) {
	tests := []struct {
		v       int64
		w       int
		rev     bool
		want    int
		wantErr bool
	}{
		{0, 1, false, 0, false}, {5, 2, false, 10, false}, {5, 2, true, -10, false},
		{0, 0, false, 0, false}, {1, 0, false, 0, true}, {0, 0, true, 0, true}, {3, 0, true, 0, false},
		{-2147483648, 1, false, 0, true}, {-2147483647, 1, false, -2147483647, false},
	}
	for _, tc := range tests {
		got, err := FileWeight(tc.v, tc.w, tc.rev)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("FileWeight(%d,%d,%v) = %d, %v", tc.v, tc.w, tc.rev, got, err)
		}
	}
	for in, want := range map[string]int64{"12\n": 12, "0x10": 16, "010": 8, "-3 junk": -3, "junk": 0, " 7": 7} {
		if got, ok := trackfile.Parse(in); !ok || got != want {
			t.Errorf("Parse(%q) = %d %v", in, got, ok)
		}
	}
}

func TestFileCheckEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("polls every second")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "weight")
	writeFile(t, path, "0")
	ck := &config.Checker{Kind: config.FileCheck, DelayLoop: time.Second, Options: &config.FileOptions{TrackFile: "tf", Weight: 0}}
	ck2 := &config.Checker{Kind: config.FileCheck, DelayLoop: time.Second, Options: &config.FileOptions{TrackFile: "tw", Weight: -10}}
	cfg := oneServer(netip.MustParseAddrPort("127.0.0.1:80"), "TCP", ck, ck2)
	cfg.TrackFiles = []*config.TrackFile{{Name: "tf", File: path}, {Name: "tw", File: path + "w"}}
	h := start(t, cfg)
	writeFile(t, path+"w", "3")
	ev := h.next(5 * time.Second)
	if !ev.Up || ev.Weight != 70 {
		t.Fatalf("weight: %+v", ev)
	}
	writeFile(t, path, "1")
	h.want(false, "fault")
	writeFile(t, path, "0")
	h.want(true, "fault cleared")
}

func TestReloadKeepsState(t *testing.T) {
	m := newModal(t)
	m.closeEach()
	ck := fastChecker(config.TCPCheck)
	cfg := oneServer(m.addrPort(), "TCP", ck)
	h := start(t, cfg)
	m.set("refused")
	h.want(false, "refused")
	// Same checker in a freshly loaded config (new pointers, new
	// positions): its down state is kept, no event.
	ck2 := fastChecker(config.TCPCheck)
	ck2.Pos = config.Pos{File: "other.conf", Line: 9}
	cfg2 := oneServer(m.addrPort(), "TCP", ck2)
	if err := h.eng.Reload(cfg2); err != nil {
		t.Fatal(err)
	}
	if rs := h.eng.Status().VirtualServers[0].RealServers[0]; rs.Alive || rs.Config != cfg2.VirtualServers[0].RealServers[0] {
		t.Fatalf("state lost on reload: %+v", rs)
	}
	// Removing the failing checker brings the server back.
	cfg3 := oneServer(m.addrPort(), "TCP")
	if err := h.eng.Reload(cfg3); err != nil {
		t.Fatal(err)
	}
	h.want(true, "checker removed")
}

// Awake starts a check that is due within its slack at once, and the
// check after it keeps the configured rhythm.
func TestAwakePullsDueCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepts := make(chan time.Time, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts <- time.Now()
			c.Close()
		}
	}()
	ck := &config.Checker{Kind: config.TCPCheck, DelayLoop: time.Second, ConnectTimeout: time.Second}
	h := start(t, oneServer(netip.MustParseAddrPort(ln.Addr().String()), "TCP", ck))
	wait := func(d time.Duration) (time.Time, bool) {
		select {
		case at := <-accepts:
			return at, true
		case <-time.After(d):
			return time.Time{}, false
		}
	}
	first, ok := wait(5 * time.Second)
	if !ok {
		t.Fatal("no first check")
	}
	// Due 1 s after the first, with 0.5 s of slack.
	time.Sleep(time.Until(first.Add(300 * time.Millisecond)))
	h.eng.Awake()
	if at, ok := wait(100 * time.Millisecond); ok {
		t.Fatalf("Awake 0.7 s before the due time started a check (%v after the first)", at.Sub(first))
	}
	time.Sleep(time.Until(first.Add(650 * time.Millisecond)))
	h.eng.Awake()
	pulled, ok := wait(time.Second)
	if !ok || pulled.Sub(first) > 850*time.Millisecond {
		t.Fatalf("Awake 0.35 s before the due time: check at %v after the first, want at once", pulled.Sub(first))
	}
	next, ok := wait(3 * time.Second)
	if !ok {
		t.Fatal("no check after the pulled one")
	}
	if d := next.Sub(first); d < 1900*time.Millisecond {
		t.Errorf("the check after a pulled one came %v after the first, want about 2 s", d)
	}
}
