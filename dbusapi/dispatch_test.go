package dbusapi

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// fakeEngine is a Provider and Commands for tests.
type fakeEngine struct {
	mu    sync.Mutex
	insts []Instance
	cmds  []string
}

func (f *fakeEngine) Instances() []Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Instance(nil), f.insts...)
}

func (f *fakeEngine) set(insts ...Instance) {
	f.mu.Lock()
	f.insts = insts
	f.mu.Unlock()
}

func (f *fakeEngine) record(s string) {
	f.mu.Lock()
	f.cmds = append(f.cmds, s)
	f.mu.Unlock()
}

func (f *fakeEngine) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

func (f *fakeEngine) PrintData()            { f.record("PrintData") }
func (f *fakeEngine) PrintStats(clear bool) { f.record(fmt.Sprintf("PrintStats(%v)", clear)) }
func (f *fakeEngine) ReloadConfig()         { f.record("ReloadConfig") }
func (f *fakeEngine) SendGarp(name string)  { f.record("SendGarp(" + name + ")") }

func newTestService(t *testing.T, insts ...Instance) (*Service, *fakeEngine, *test.Hook) {
	log, hook := test.NewNullLogger()
	f := &fakeEngine{insts: insts}
	s := New(Options{Log: logrus.NewEntry(log), Provider: f, Commands: f})
	s.reg.start(insts)
	return s, f, hook
}

const inst4 = "/org/keepalived/Vrrp1/Instance/kg_a/51/IPv4"

func mc(path, iface, member, sig string, body ...any) request {
	return request{Path: path, Interface: iface, HasIface: iface != "", Member: member, Signature: sig, Body: body}
}

func describeResponse(r response) string {
	if r.Err != nil {
		return fmt.Sprintf("Error %s: %v", r.Err.Name, r.Err.Body[0])
	}
	var parts []string
	for _, b := range r.Body {
		parts = append(parts, fmt.Sprintf("%v", b))
	}
	return "return " + strings.Join(parts, " ")
}

// TestDispatchLikeGDBus: the answers keepalived 2.2.7 gave to the same
// calls (recorded with dbus-send against Debian's keepalived on a private
// bus).
func TestDispatchLikeGDBus(t *testing.T) {
	s, f, hook := newTestService(t,
		Instance{Name: "VI_4", Interface: "kg-a", VRID: 51, Family: FamilyIPv4, State: StateMaster},
		Instance{Name: "VI_6", Interface: "kg-a", VRID: 52, Family: FamilyIPv6, State: StateBackup})
	prop := ifaceProperties
	for _, tc := range []struct {
		req  request
		want string
	}{
		{mc(inst4, prop, "Get", "ss", InstanceInterface, "Foo"), "Error org.freedesktop.DBus.Error.InvalidArgs: No such property “Foo”"},
		{mc(inst4, prop, "Get", "ss", "org.foo", "Name"), "Error org.freedesktop.DBus.Error.InvalidArgs: No such interface “org.foo”"},
		{mc(inst4, prop, "Set", "ssv", InstanceInterface, "Name", dbus.MakeVariant("x")), "Error org.freedesktop.DBus.Error.InvalidArgs: Property “Name” is not writable"},
		{mc(inst4, prop, "Get", "s", InstanceInterface), "Error org.freedesktop.DBus.Error.UnknownMethod: No such interface “org.freedesktop.DBus.Properties” on object at path " + inst4},
		{mc(inst4, InstanceInterface, "Foo", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: No such method “Foo”"},
		{mc(inst4, InstanceInterface, "SendGarp", "s", "x"), "Error org.freedesktop.DBus.Error.InvalidArgs: Type of message, “(s)”, does not match expected type “()”"},
		{mc(inst4, "org.foo", "Bar", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: No such interface “org.foo” on object at path " + inst4},
		{mc("/org", InstanceInterface, "SendGarp", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at path “/org”"},
		{mc("/org", ifacePeer, "Ping", ""), "return "},
		{mc(inst4, ifacePeer, "Foo", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: No such interface “org.freedesktop.DBus.Peer” on object at path " + inst4},
		{mc("/org", ifacePeer, "Foo", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at path “/org”"},
		{mc(inst4, ifaceIntrospection, "Introspect", "s", "x"), "Error org.freedesktop.DBus.Error.UnknownMethod: No such interface “org.freedesktop.DBus.Introspectable” on object at path " + inst4},
		{mc(inst4, "", "SendGarp", ""), "Error org.freedesktop.DBus.Error.UnknownMethod: Object does not exist at path “" + inst4 + "”"},
		{mc(inst4, prop, "Get", "ss", InstanceInterface, "Name"), `return ("VI_4",)`},
		{mc(inst4, prop, "Get", "ss", InstanceInterface, "State"), `return @(us) (2, "Master",)`},
		{mc("/org/keepalived/Vrrp1/Instance/kg_a/52/IPv6", prop, "Get", "ss", InstanceInterface, "State"), `return @(us) (1, "Backup",)`},
		{mc(inst4, prop, "GetAll", "s", InstanceInterface), `return [{Name ("VI_4",)} {State @(us) (2, "Master",)}]`},
		{mc("/org/keepalived/Vrrp1/Vrrp", prop, "GetAll", "s", VrrpInterface), "return []"},
		{mc("/org/keepalived/Vrrp1/Vrrp", prop, "Get", "ss", VrrpInterface, "Name"), "Error org.freedesktop.DBus.Error.InvalidArgs: No such property “Name”"},
		{mc("/org/keepalived/Vrrp1/Vrrp", VrrpInterface, "PrintData", ""), "return "},
		{mc("/org/keepalived/Vrrp1/Vrrp", VrrpInterface, "PrintStats", ""), "return "},
		{mc("/org/keepalived/Vrrp1/Vrrp", VrrpInterface, "PrintStatsClear", ""), "return "},
		{mc("/org/keepalived/Vrrp1/Vrrp", VrrpInterface, "ReloadConfig", ""), "return "},
		{mc(inst4, InstanceInterface, "SendGarp", ""), "return "},
	} {
		got := describeResponse(s.dispatch(tc.req))
		if got != tc.want {
			t.Errorf("%s %s.%s(%s):\n got  %s\n want %s", tc.req.Path, tc.req.Interface, tc.req.Member, tc.req.Signature, got, tc.want)
		}
	}
	wantCmds := []string{"PrintData", "PrintStats(false)", "PrintStats(true)", "ReloadConfig", "SendGarp(VI_4)"}
	if got := f.commands(); fmt.Sprint(got) != fmt.Sprint(wantCmds) {
		t.Errorf("commands %q, want %q", got, wantCmds)
	}
	var logged []string
	for _, e := range hook.AllEntries() {
		logged = append(logged, e.Message)
	}
	wantLog := []string{"Printing VRRP data on DBus request", "Printing VRRP stats on DBus request",
		"Printing and clearing VRRP stats on DBus request", "Sending garps on VI_4 on DBus request"}
	if fmt.Sprint(logged) != fmt.Sprint(wantLog) {
		t.Errorf("log %q, want %q", logged, wantLog)
	}
}

// TestInstanceGone: an object whose instance the engine no longer has (a
// reload race) answers as keepalived's handle_get_property does.
func TestInstanceGone(t *testing.T) {
	s, f, _ := newTestService(t, Instance{Name: "VI_4", Interface: "kg-a", VRID: 51, Family: FamilyIPv4})
	f.set()
	for _, tc := range []struct {
		req  request
		want string
	}{
		{mc(inst4, ifaceProperties, "Get", "ss", InstanceInterface, "State"), "Error org.freedesktop.DBus.Error.InvalidArgs: Instance 'kg_a/51/IPv4' not found"},
		{mc(inst4, InstanceInterface, "SendGarp", ""), "Error org.freedesktop.DBus.Error.InvalidArgs: Instance 'kg_a/51/IPv4' not found"},
		{mc(inst4, ifaceProperties, "GetAll", "s", InstanceInterface), "return []"},
	} {
		if got := describeResponse(s.dispatch(tc.req)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.req.Member, got, tc.want)
		}
	}
	if len(f.commands()) != 0 {
		t.Errorf("commands ran for a missing instance: %q", f.commands())
	}
}

// TestLookupFirstMatch: two interfaces that make the same path element;
// keepalived's get_vrrp_instance takes the first in config order, and an
// instance without an interface is never found.
func TestLookupFirstMatch(t *testing.T) {
	s, _, _ := newTestService(t,
		Instance{Name: "UNI", VRID: 51, Family: FamilyIPv4},
		Instance{Name: "DOT", Interface: "kg.a", VRID: 51, Family: FamilyIPv4},
		Instance{Name: "DASH", Interface: "kg-a", VRID: 51, Family: FamilyIPv4})
	if got := describeResponse(s.dispatch(mc(inst4, ifaceProperties, "Get", "ss", InstanceInterface, "Name"))); got != `return ("DOT",)` {
		t.Errorf("got %s", got)
	}
	none := "/org/keepalived/Vrrp1/Instance/none/51/IPv4"
	if got := describeResponse(s.dispatch(mc(none, ifaceProperties, "Get", "ss", InstanceInterface, "Name"))); got != "Error org.freedesktop.DBus.Error.InvalidArgs: Instance 'none/51/IPv4' not found" {
		t.Errorf("got %s", got)
	}
}
