package dbusapi

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestPaths(t *testing.T) {
	for _, tc := range []struct {
		n     Naming
		ifn   string
		vrid  uint8
		fam   Family
		vrrp  string
		inst  string
		ifOut string
	}{
		{Naming{}, "eth0", 51, FamilyIPv4, "/org/keepalived/Vrrp1/Vrrp", "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4", "eth0"},
		{Naming{}, "kg-a.12", 255, FamilyIPv6, "/org/keepalived/Vrrp1/Vrrp", "/org/keepalived/Vrrp1/Instance/kg_a_12/255/IPv6", "kg_a_12"},
		{Naming{}, "", 1, FamilyIPv4, "/org/keepalived/Vrrp1/Vrrp", "/org/keepalived/Vrrp1/Instance/none/1/IPv4", "none"},
		{Naming{}, "eth0", 9, FamilyNone, "/org/keepalived/Vrrp1/Vrrp", "/org/keepalived/Vrrp1/Instance/eth0/9/None", "eth0"},
		{Naming{NetNamespace: "blue"}, "eth0", 1, FamilyIPv4, "/org/keepalived/Vrrp1/blue/Vrrp", "/org/keepalived/Vrrp1/blue/Instance/eth0/1/IPv4", "eth0"},
		{Naming{NetNamespace: "ns", InstanceName: "lb1"}, "br0", 2, FamilyIPv6, "/org/keepalived/Vrrp1/ns/lb1/Vrrp", "/org/keepalived/Vrrp1/ns/lb1/Instance/br0/2/IPv6", "br0"},
		{Naming{InstanceName: "lb1"}, "é", 3, FamilyIPv4, "/org/keepalived/Vrrp1/lb1/Vrrp", "/org/keepalived/Vrrp1/lb1/Instance/__/3/IPv4", "__"},
	} {
		if got := string(tc.n.VrrpPath()); got != tc.vrrp {
			t.Errorf("%+v VrrpPath = %s, want %s", tc.n, got, tc.vrrp)
		}
		p := tc.n.InstancePath(tc.ifn, tc.vrid, tc.fam)
		if string(p) != tc.inst {
			t.Errorf("%+v InstancePath(%q) = %s, want %s", tc.n, tc.ifn, p, tc.inst)
		}
		ifn, vrid, fam := tc.n.instanceIDs(p)
		if ifn != tc.ifOut || vrid != tc.vrid || fam != tc.fam {
			t.Errorf("instanceIDs(%s) = %s %d %s", p, ifn, vrid, fam)
		}
		if tc.ifn != "" && !pathNameMatches(tc.ifn, ifn) {
			t.Errorf("%q does not match its own path element %q", tc.ifn, ifn)
		}
	}
}

func TestPathNameMatches(t *testing.T) {
	for _, tc := range []struct {
		name, elem string
		want       bool
	}{
		{"kg-a", "kg_a", true},
		{"kg_a", "kg_a", true},
		{"kg.a", "kg_a", true},
		{"kg-a", "kg-a", false},
		{"kga", "kg_a", false},
		{"kg-a", "kg_b", false},
		{"eth0", "eth01", false},
		{"eth01", "eth0", false},
	} {
		if got := pathNameMatches(tc.name, tc.elem); got != tc.want {
			t.Errorf("pathNameMatches(%q, %q) = %v", tc.name, tc.elem, got)
		}
	}
}

// TestInstanceIDsLikeStrtoul: the VRID field is read as strtoul does and
// cut to 8 bits, as keepalived stores it in a uint8_t.
func TestInstanceIDsLikeStrtoul(t *testing.T) {
	for path, want := range map[string]uint8{
		"/org/keepalived/Vrrp1/Instance/eth0/300/IPv4": 44,
		"/org/keepalived/Vrrp1/Instance/eth0/12x/IPv4": 12,
		"/org/keepalived/Vrrp1/Instance/eth0/x/IPv4":   0,
	} {
		if _, vrid, _ := (Naming{}).instanceIDs(dbusPath(path)); vrid != want {
			t.Errorf("%s: vrid %d, want %d", path, vrid, want)
		}
	}
}

func TestStrings(t *testing.T) {
	for s, want := range map[State]string{StateInit: "Init", StateBackup: "Backup", StateMaster: "Master",
		StateFault: "Fault", StateDeleted: "Deleted", StateStop: "Stop", 4: "Unknown"} {
		if s.String() != want {
			t.Errorf("State(%d) = %s, want %s", uint32(s), s, want)
		}
	}
	for f, want := range map[Family]string{FamilyIPv4: "IPv4", FamilyIPv6: "IPv6", FamilyNone: "None"} {
		if f.String() != want {
			t.Errorf("Family(%d) = %s", f, f)
		}
	}
}

func dbusPath(s string) dbus.ObjectPath { return dbus.ObjectPath(s) }

// TestMalformedNaming: keepalived 2.2.7 with "instance lb-1" exports
// nothing (GLib's register_object refuses the path; seen with busctl tree:
// "Only root object discovered"), and nothing is logged in its log.
func TestMalformedNaming(t *testing.T) {
	var logged []string
	r := newRegistry(Naming{InstanceName: "lb-1"}, func(f string, a ...any) { logged = append(logged, f) })
	r.start([]Instance{{Name: "VI_1", Interface: "kg-a", VRID: 5, Family: FamilyIPv4}})
	if len(r.exported) != 0 || len(r.objects) != 0 || len(logged) != 0 {
		t.Errorf("exported %v, objects %v, logged %q", r.exported, r.objects, logged)
	}
	r = newRegistry(Naming{InstanceName: "lb1"}, t.Logf)
	r.start([]Instance{{Name: "VI_1", Interface: "kg-a", VRID: 5, Family: FamilyIPv4}})
	if got := r.children("/org/keepalived/Vrrp1/lb1"); len(got) != 2 {
		t.Errorf("children of lb1: %q", got)
	}
}
