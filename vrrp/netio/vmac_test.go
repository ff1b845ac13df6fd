package netio

import (
	"net"
	"testing"
)

// make_link_local_address: the EUI-64 address of a MAC.
func TestLinkLocalOf(t *testing.T) {
	mac, _ := net.ParseMAC("22:0c:e9:35:f9:4e")
	if got := LinkLocalOf(mac).String(); got != "fe80::200c:e9ff:fe35:f94e" {
		t.Errorf("LinkLocalOf(%s) = %s", mac, got)
	}
	if got := VMACAddr(60, true).String(); got != "00:00:5e:00:02:3c" {
		t.Errorf("VMACAddr(60, v6) = %s", got)
	}
}
