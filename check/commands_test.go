package check

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"keepalived-go/config"
)

// SetWeight (an SNMP Set of realServerWeight) changes the effective weight,
// logs it as update_svr_wgt does and reports it to the LVS side.
func TestSetWeight(t *testing.T) {
	ck := &config.Checker{Kind: config.BFDCheck, Options: &config.BFDOptions{Name: "b1"}}
	h := start(t, oneServer(netip.MustParseAddrPort("127.0.0.1:80"), "TCP", ck))
	vs, rs := "[198.51.100.10]:tcp:80", "[127.0.0.1]:tcp:80"
	if err := h.eng.SetWeight(vs, rs, 7); err != nil {
		t.Fatal(err)
	}
	ev := h.next(2 * time.Second)
	if !ev.Up || ev.Weight != 7 || ev.VSKey != vs || ev.RSKey != rs || ev.Initial {
		t.Fatalf("event %+v", ev)
	}
	if !h.hasLog("Changing weight from 100 to 7 for active service [127.0.0.1]:tcp:80 of VS [198.51.100.10]:tcp:80") {
		t.Errorf("log:\n%s", h.logText())
	}
	if w := h.eng.Status().VirtualServers[0].RealServers[0].Weight; w != 7 {
		t.Errorf("status weight %d", w)
	}
	// The same weight again: nothing to do.
	if err := h.eng.SetWeight(vs, rs, 7); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-h.events:
		t.Fatalf("event for an unchanged weight: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	if err := h.eng.SetWeight(vs, "[127.0.0.2]:tcp:80", 1); !errors.Is(err, ErrNoRealServer) {
		t.Errorf("unknown real server: %v", err)
	}
}
