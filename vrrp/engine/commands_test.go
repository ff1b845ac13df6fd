package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// The SNMP Sets move the base priority (keeping the tracking weights in
// the total) and preemption, with keepalived's log lines.
func TestCommandsPriorityPreempt(t *testing.T) {
	h := newHarness(t, seed, nil)
	h.advance(3700 * time.Millisecond)
	if err := h.e.SetBasePriority("ETH0", 150); err != nil {
		t.Fatal(err)
	}
	is := h.inst("ETH0")
	if is.BasePriority != 150 || is.EffectivePriority != 150 || is.TotalPriority != 150 {
		t.Fatalf("priorities %d %d %d, want 150", is.BasePriority, is.EffectivePriority, is.TotalPriority)
	}
	if !h.logged("(ETH0) base priority changed from 200 to 150 via SNMP.") {
		t.Error("base priority change not logged as keepalived does")
	}
	// The adverts carry the new priority.
	h.net.sent = nil
	h.advance(1100 * time.Millisecond)
	var a packet.Advert
	r, err := packet.Parse4(h.net.sent[len(h.net.sent)-1].b)
	if err != nil || a.UnmarshalBinary(r.Msg) != nil || a.Priority != 150 {
		t.Fatalf("advert priority %d (%v), want 150", a.Priority, err)
	}
	if err := h.e.SetPreempt("ETH0", false); err != nil {
		t.Fatal(err)
	}
	if !h.inst("ETH0").NoPreempt || !h.logged("(ETH0) preemption disabled with SNMP") {
		t.Error("preemption not turned off")
	}
	if err := h.e.SetPreempt("ETH0", true); err != nil || h.inst("ETH0").NoPreempt {
		t.Errorf("preemption not turned on again: %v", err)
	}
	for _, err := range []error{h.e.SetBasePriority("NOPE", 10), h.e.SetPreempt("NOPE", true), h.e.SendGarp("NOPE")} {
		if !errors.Is(err, ErrNoInstance) {
			t.Errorf("unknown instance: %v", err)
		}
	}
	if err := h.e.SetBasePriority("ETH0", 0); err == nil {
		t.Error("priority 0 accepted")
	}
}

// SendGarp sends one round for the VIPs only while they are set.
func TestCommandSendGarp(t *testing.T) {
	h := newHarness(t, seed, nil)
	if err := h.e.SendGarp("ETH0"); err != nil {
		t.Fatal(err)
	}
	if len(h.net.garps) != 0 {
		t.Fatalf("%d gratuitous ARPs from a BACKUP", len(h.net.garps))
	}
	h.advance(3700 * time.Millisecond)
	n := len(h.net.garps)
	if err := h.e.SendGarp("ETH0"); err != nil {
		t.Fatal(err)
	}
	if len(h.net.garps) != n+1 {
		t.Fatalf("%d gratuitous ARPs after SendGarp, want %d", len(h.net.garps), n+1)
	}
}

// OnDiscard hears each dropped advert with its reason and sender; the
// TTL error sets the RFC 6527 reason in the status.
func TestOnDiscard(t *testing.T) {
	var got []Discard
	h := newHarness(t, seed, func(o *Options) { o.OnDiscard = func(d Discard) { got = append(got, d) } })
	h.advance(3700 * time.Millisecond)
	h.e.receive(h.advert("198.51.100.12", 10, 250, 64))
	if len(got) != 1 || !errors.Is(got[0].Reason, packet.ErrTTL) || got[0].Instance != "ETH0" ||
		got[0].Interface != "eth0" || got[0].Src != netip.MustParseAddr("198.51.100.12") {
		t.Fatalf("discards %+v", got)
	}
	if r := h.inst("ETH0").ProtoErrReason; r != vrrp.ProtoErrTTL {
		t.Errorf("proto error reason %v", r)
	}
}

// On stop every instance reports STOP in configuration order, then every
// sync group does, as keepalived's notify_shutdown sends them.
func TestShutdownGroupStop(t *testing.T) {
	h := newHarness(t, seed+`
vrrp_instance ETH1 {
    interface eth0
    virtual_router_id 11
    priority 100
    virtual_ipaddress {
        198.51.100.111/24
    }
}
vrrp_instance ETH2 {
    interface eth0
    virtual_router_id 12
    priority 100
    virtual_ipaddress {
        198.51.100.112/24
    }
}
vrrp_sync_group G1 {
    group {
        ETH0
        ETH2
    }
}
`, nil)
	h.advance(5 * time.Second)
	h.events()
	h.e.shutdown()
	var got []string
	for _, ev := range h.events() {
		switch e := ev.(type) {
		case StateChange:
			got = append(got, e.Instance+" "+e.To.String())
		case GroupStateChange:
			got = append(got, e.Group+" "+e.State.String())
		}
	}
	// The group's unit runs first; the STOPs still come in config order.
	if want := []string{"ETH0 STOP", "ETH1 STOP", "ETH2 STOP", "G1 STOP"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("shutdown events %q, want %q", got, want)
	}
}
