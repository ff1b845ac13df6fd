package vrrp

import (
	"net/netip"
	"reflect"
	"testing"
)

// A reload that only changes the address lists keeps a MASTER master: it
// adds and announces the new address, removes the dropped one, and never
// touches the addresses that stay.
func TestAddressesChangedKeepsMaster(t *testing.T) {
	a, b, c := netip.MustParsePrefix("198.51.100.10/24"), netip.MustParsePrefix("198.51.100.20/24"), netip.MustParsePrefix("198.51.100.30/24")
	cfg := DefaultConfig()
	cfg.Name, cfg.Interface, cfg.VRID, cfg.Priority = "VI", "eth0", 7, 255
	cfg.InitialState = StateMaster
	cfg.SrcAddr = netip.MustParseAddr("198.51.100.11")
	cfg.VIPs = []netip.Prefix{a, c}
	in, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.Step(Start{Now: 0})
	if in.State() != StateMaster {
		t.Fatalf("owner not MASTER: %v", in.State())
	}
	acts := in.Step(AddressesChanged{Now: 1, VIPs: []netip.Prefix{a, b}})
	var added, removed []netip.Prefix
	var announced []netip.Addr
	for _, x := range acts {
		switch x := x.(type) {
		case AddVIPs:
			added = append(added, x.VIPs...)
		case DelVIPs:
			removed = append(removed, x.VIPs...)
		case SendGratuitous:
			announced = append(announced, x.Addrs...)
		case Notify:
			t.Errorf("state change on an address reload: %v", x)
		}
	}
	if !reflect.DeepEqual(added, []netip.Prefix{b}) || !reflect.DeepEqual(removed, []netip.Prefix{c}) || !reflect.DeepEqual(announced, []netip.Addr{b.Addr()}) {
		t.Errorf("added %v removed %v announced %v", added, removed, announced)
	}
	if in.State() != StateMaster || !reflect.DeepEqual(in.Config().VIPs, []netip.Prefix{a, b}) {
		t.Errorf("after reload: %v %v", in.State(), in.Config().VIPs)
	}
	// A BACKUP only learns the new list (for the adverts it checks).
	cfg.Priority, cfg.InitialState = 100, StateBackup
	bk, _ := New(cfg)
	bk.Step(Start{Now: 0})
	for _, x := range bk.Step(AddressesChanged{Now: 1, VIPs: []netip.Prefix{a, b}}) {
		switch x.(type) {
		case AddVIPs, DelVIPs, SendGratuitous:
			t.Errorf("BACKUP acted on an address reload: %#v", x)
		}
	}
}
