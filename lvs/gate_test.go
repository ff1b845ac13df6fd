package lvs

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// gateBackend is a MemBackend that gates forwarding on VRRP, as the
// nftables data plane does, recording the calls.
type gateBackend struct {
	*MemBackend
	mu    sync.Mutex
	calls []string
}

func (g *gateBackend) SetActive(vip netip.Addr, active bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, fmt.Sprintf("%s %v", vip, active))
	return nil
}

func (g *gateBackend) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = nil
	return c
}

var _ ActiveSetter = (*gateBackend)(nil)

// A backend with ActiveSetter forwards to an instance's VIPs while it is
// MASTER; a state reported before the backend opened is applied when it
// opens. Status reports the VRRP states and the virtual servers.
func TestManagerGatesForwardingOnVRRP(t *testing.T) {
	b := &gateBackend{MemBackend: NewMemBackend(nil)}
	m, err := NewManager(loadConf(t, managerConf), Options{Open: func(string) (Backend, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetVRRPState("VI", VRRPMaster); err != nil {
		t.Fatal(err)
	}
	if got := b.take(); len(got) != 0 {
		t.Fatalf("gated before the backend opened: %q", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-m.Ready()
	if got := b.take(); !slices.Equal(got, []string{"198.51.100.40 true"}) {
		t.Fatalf("at open: %q", got)
	}
	if err := m.SetVRRPState("VI", VRRPFault); err != nil {
		t.Fatal(err)
	}
	if got := b.take(); !slices.Equal(got, []string{"198.51.100.40 false"}) {
		t.Fatalf("after FAULT: %q", got)
	}
	st := m.Status()
	if !st.Open || st.VRRP["VI"] != VRRPFault || len(st.VirtualServers) != 4 {
		t.Fatalf("status %+v", st)
	}
	vs := st.VirtualServers[0]
	if vs.Name != "[198.51.100.10]:tcp:80" || !vs.QuorumUp || len(vs.RealServers) != 2 ||
		!vs.RealServers[0].Alive || !vs.RealServers[0].InTable || vs.RealServers[0].Key.RS != "[198.51.100.11]:tcp:80" {
		t.Errorf("virtual server status %+v", vs)
	}
	if last := st.VirtualServers[3]; !last.HASuspend || !last.Suspended {
		t.Errorf("ha_suspend virtual server with its instance in FAULT: %+v", last)
	}
}

// HoldVIPs switches the gate when VRRP adds or removes the VIPs, and a
// StateChange delivered after it (late, from the event goroutine) does
// not undo it: the gate then follows the addresses alone.
func TestManagerHoldVIPsBeforeState(t *testing.T) {
	b := &gateBackend{MemBackend: NewMemBackend(nil)}
	m, err := NewManager(loadConf(t, managerConf), Options{Open: func(string) (Backend, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-m.Ready()
	b.take()
	m.HoldVIPs("VI", true, time.Minute)
	if got := b.take(); !slices.Equal(got, []string{"198.51.100.40 true"}) {
		t.Fatalf("before the VIPs are added: %q", got)
	}
	// The BACKUP state of before, delivered late.
	if err := m.SetVRRPState("VI", VRRPBackup); err != nil {
		t.Fatal(err)
	}
	if got := b.take(); slices.Contains(got, "198.51.100.40 false") {
		t.Fatalf("a late state changed the gate: %q", got)
	}
	m.HoldVIPs("VI", false, 0)
	m.HoldVIPs("VI", true, 0)
	m.HoldVIPs("VI", false, time.Minute)
	if got := b.take(); !slices.Equal(got, []string{"198.51.100.40 false", "198.51.100.40 true", "198.51.100.40 false"}) {
		t.Fatalf("in order: %q", got)
	}
}
