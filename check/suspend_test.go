package check

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"keepalived-go/config"
)

// acceptCounter counts the TCP connections a loopback listener takes.
func acceptCounter(t *testing.T) (netip.AddrPort, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan struct{}, 1000)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- struct{}{}
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), accepted
}

func countFor(ch <-chan struct{}, d time.Duration) int {
	n := 0
	end := time.After(d)
	for {
		select {
		case <-ch:
			n++
		case <-end:
			return n
		}
	}
}

// ha_suspend: the checkers of the virtual server start paused (keepalived's
// register_checkers_thread), run once Suspend(false) says its address is
// here, and pause again with Suspend(true); the real server keeps its
// health meanwhile, and keepalived's per-checker lines are logged.
func TestHASuspendPausesCheckers(t *testing.T) {
	ap, accepted := acceptCounter(t)
	cfg := oneServer(ap, "TCP", fastChecker(config.TCPCheck))
	cfg.VirtualServers[0].HASuspend = true
	h := start(t, cfg)
	vs := cfg.VirtualServers[0].Name()
	if n := countFor(accepted, 500*time.Millisecond); n != 0 {
		t.Fatalf("%d checks while suspended at start", n)
	}
	if st := h.eng.Status(); !st.VirtualServers[0].Suspended {
		t.Fatalf("status not suspended at start: %+v", st.VirtualServers[0])
	}
	h.eng.Suspend(vs, false)
	if n := countFor(accepted, 500*time.Millisecond); n < 2 {
		t.Fatalf("%d checks in 500 ms after resuming, delay_loop 100 ms", n)
	}
	h.eng.Suspend(vs, true)
	countFor(accepted, 150*time.Millisecond) // an attempt in flight may land
	if n := countFor(accepted, 500*time.Millisecond); n != 0 {
		t.Fatalf("%d checks after suspending again", n)
	}
	for _, l := range []string{
		"Deactivating healthchecker for service [127.0.0.1]:tcp:",
		"Activating healthchecker for service [127.0.0.1]:tcp:",
		"Suspending healthchecker for service [127.0.0.1]:tcp:",
	} {
		if !h.hasLog(l) {
			t.Errorf("log lacks %q:\n%s", l, h.logText())
		}
	}
}
