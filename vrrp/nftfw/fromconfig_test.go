package nftfw

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"keepalived-go/config"
)

func load(t *testing.T, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags := config.Load(p, config.Options{})
	if diags.Fatal() {
		t.Fatalf("load: %v", diags)
	}
	return c
}

func TestFromConfigSettings(t *testing.T) {
	inst := "vrrp_instance I {\n interface eth0\n virtual_router_id 1\n priority 100\n %s\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n"
	for _, tc := range []struct {
		name, global, inst string
		want               Settings
	}{
		{"accept: no table", "", "", Settings{Priority: -1}},
		{"strict", "vrrp_strict", "", Settings{Table: "keepalived", Priority: -1}},
		{"no_accept", "", "no_accept", Settings{Table: "keepalived", Priority: -1}},
		{"use_vmac", "", "use_vmac", Settings{Table: "keepalived", Priority: -1}},
		{"vrrp_iptables", "vrrp_iptables", "", Settings{Table: "keepalived", Priority: -1}},
		{"named", "nftables fw\n nftables_priority -7\n nftables_ifindex\n nftables_counters", "",
			Settings{Table: "fw", Priority: -7, Ifindex: true, Counters: true}},
		{"bare nftables", "nftables", "", Settings{Table: "keepalived", Priority: -1}},
		{"disable_local_igmp", "disable_local_igmp\n nftables", "", Settings{Table: "keepalived", Priority: -1, DisableLocalIGMP: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, "global_defs {\n "+tc.global+"\n}\n"+sprintf(inst, tc.inst))
			if got, _ := FromConfig(c); got != tc.want {
				t.Errorf("settings %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestFromConfigAccept: keepalived's accept mode (vrrp_complete_instance):
// strict mode blocks unless accept is given, except for the address owner
// and for VRRPv2, where accept is reset.
func TestFromConfigAccept(t *testing.T) {
	for _, tc := range []struct {
		name, global, opts string
		block              bool
	}{
		{"default", "", "", false},
		{"no_accept", "", "no_accept", true},
		{"owner no_accept", "", "no_accept\n priority 255", false},
		{"strict", "vrrp_strict", "", true},
		{"strict_mode", "", "strict_mode", true},
		{"strict accept v3", "vrrp_strict", "accept\n version 3", false},
		{"strict accept v2", "vrrp_strict", "accept\n version 2", true},
		{"strict owner", "vrrp_strict", "priority 255\n state MASTER", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, sprintf("global_defs {\n %s\n}\nvrrp_instance I {\n interface eth0\n virtual_router_id 1\n %s\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n", tc.global, tc.opts))
			_, ins := FromConfig(c)
			if len(ins) != 1 || ins[0].Block != tc.block {
				t.Errorf("instances %+v, want Block=%v", ins, tc.block)
			}
		})
	}
}

// TestFromConfigAddresses: where each address is (keepalived's ip_address
// ifp): its dev, else the VMAC for the instance's family, else the
// interface; a VIP of the other family is dropped.
func TestFromConfigAddresses(t *testing.T) {
	c := load(t, `vrrp_instance V {
 interface eth0
 use_vmac
 virtual_router_id 51
 dont_track_primary
 no_accept
 virtual_ipaddress {
  198.51.100.10/24
  198.51.100.11/24 dev eth0
  198.51.100.12/24 dev lo
  2001:db8::1/64
 }
 virtual_ipaddress_excluded {
  2001:db8::20/64
  fe80::99/64
 }
}
`)
	_, ins := FromConfig(c)
	a := func(s, iface string) Addr { return addrs(iface, s)[0] }
	want := Instance{Name: "V", Iface: "vrrp.51", VMAC: "vrrp.51", VMACBase: "eth0", Block: true, DontTrackPrimary: true,
		VIPs:  []Addr{a("198.51.100.10", "vrrp.51"), a("198.51.100.11", "vrrp.51"), a("198.51.100.12", "lo")},
		EVIPs: []Addr{a("2001:db8::20", "eth0"), a("fe80::99", "eth0")}}
	if len(ins) != 1 || !reflect.DeepEqual(ins[0], want) {
		t.Errorf("instance\n%+v\nwant\n%+v", ins, want)
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
