package check

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"keepalived-go/config"
)

func bfdChecker(name string, alpha bool) *config.Checker {
	return &config.Checker{Kind: config.BFDCheck, Options: &config.BFDOptions{Name: name}, Alpha: alpha,
		DelayLoop: 100 * time.Millisecond, ConnectTimeout: time.Second}
}

// noEvent asserts that nothing reaches OnEvent for a while.
func (h *harness) noEvent(what string) {
	h.t.Helper()
	select {
	case ev := <-h.events:
		h.t.Fatalf("%s: unexpected event %+v", what, ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// A BFD_CHECK has no probe: the real server follows the session's
// reports (bfd_check_handle_event). The first Down removes a server that
// started up (not alpha); Up adds it back.
func TestBFDCheckFollowsSession(t *testing.T) {
	h := start(t, oneServer(netip.MustParseAddrPort("198.51.100.20:80"), "TCP", bfdChecker("peer", false)))
	time.Sleep(200 * time.Millisecond)
	if n := h.stats.Load(); n != 0 {
		t.Fatalf("a BFD_CHECK was probed %d times", n)
	}
	if h.hasLog("Activating healthchecker for service") {
		t.Error("a BFD_CHECK logged a per-service activation (keepalived has none: no launch)")
	}
	if !h.hasLog("Activating BFD healthchecker") {
		t.Error("no 'Activating BFD healthchecker'")
	}
	h.eng.SetBFD(BFDState{Name: "other", Up: false})
	h.noEvent("a report of another session")
	h.eng.SetBFD(BFDState{Name: "peer", Up: false})
	ev := h.want(false, "BFD Down")
	if ev.Checker != config.BFDCheck || ev.RSKey != "[198.51.100.20]:tcp:80" {
		t.Errorf("event %+v", ev)
	}
	h.eng.SetBFD(BFDState{Name: "peer", Up: false})
	h.noEvent("a repeated Down")
	h.eng.SetBFD(BFDState{Name: "peer", Up: true})
	h.want(true, "BFD Up")
	for _, s := range []string{
		"BFD check of [peer] RS([198.51.100.20]:tcp:80) is DOWN",
		"Removing service [198.51.100.20]:tcp:80 from VS [198.51.100.10]:tcp:80",
		"BFD check of [peer] RS([198.51.100.20]:tcp:80) is UP",
		"Adding service [198.51.100.20]:tcp:80 to VS [198.51.100.10]:tcp:80",
	} {
		if !h.hasLog(s) {
			t.Errorf("not logged: %q\n%s", s, h.logText())
		}
	}
	cs := h.eng.Status().VirtualServers[0].RealServers[0].Checkers
	if len(cs) != 1 || cs[0].Kind != config.BFDCheck || !cs[0].Up || cs[0].LastError != "" || cs[0].Last.IsZero() {
		t.Errorf("checker status %+v", cs)
	}
}

// alpha: the checker starts down; a first Down only confirms it (logged,
// no event), Up brings the server in.
func TestBFDCheckAlpha(t *testing.T) {
	h := start(t, oneServer(netip.MustParseAddrPort("198.51.100.20:80"), "TCP", bfdChecker("peer", true)))
	h.eng.SetBFD(BFDState{Name: "peer", Up: false})
	h.noEvent("Down confirming alpha")
	if !h.hasLog("BFD check of [peer] RS([198.51.100.20]:tcp:80) is DOWN") {
		t.Error(h.logText())
	}
	h.eng.SetBFD(BFDState{Name: "peer", Up: false})
	if n := countLog(h, "BFD check of [peer]"); n != 1 {
		t.Errorf("%d BFD check lines after a repeated Down, want 1", n)
	}
	h.eng.SetBFD(BFDState{Name: "peer", Up: true})
	h.want(true, "BFD Up")
}

func countLog(h *harness, sub string) int {
	n := 0
	for _, e := range h.logs.AllEntries() {
		if len(e.Message) >= len(sub) && e.Message[:len(sub)] == sub {
			n++
		}
	}
	return n
}

// A real server with a BFD_CHECK and a probing checker is up only while
// both are (update_svr_checker_state counts failed checkers).
func TestBFDCheckWithAnotherChecker(t *testing.T) {
	ln := listenTCP(t)
	tcp := fastChecker(config.TCPCheck)
	h := start(t, oneServer(netip.MustParseAddrPort(ln), "TCP", bfdChecker("peer", false), tcp))
	h.eng.SetBFD(BFDState{Name: "peer", Up: true})
	h.noEvent("Up on a server already up")
	h.eng.SetBFD(BFDState{Name: "peer", Up: false})
	h.want(false, "BFD Down")
	h.eng.SetBFD(BFDState{Name: "peer", Up: true})
	h.want(true, "BFD Up, TCP up")
}

// Reports before Run apply as the engine starts.
func TestBFDCheckBeforeRun(t *testing.T) {
	cfg := oneServer(netip.MustParseAddrPort("198.51.100.20:80"), "TCP", bfdChecker("peer", false))
	e, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.SetBFD(BFDState{Name: "peer", Up: false})
	if rs := e.Status().VirtualServers[0].RealServers[0]; rs.Alive {
		t.Error("a Down reported before Run left the server alive")
	}
}

func TestBFDCheckIsPassive(t *testing.T) {
	c, err := NewChecker(bfdChecker("peer", false), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); !errors.Is(err, ErrPassive) {
		t.Errorf("Check: %v", err)
	}
	if _, err := NewChecker(&config.Checker{Kind: config.BFDCheck}, Env{}); err == nil {
		t.Error("a BFD_CHECK without a name was built")
	}
}

// listenTCP accepts and closes connections on 127.0.0.1 until the test ends.
func listenTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}
