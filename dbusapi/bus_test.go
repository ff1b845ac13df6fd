package dbusapi

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"keepalived-go/internal/dbustest"

	"github.com/godbus/dbus/v5"
)

// This file holds what the bus tests share besides internal/dbustest (a
// private system-type dbus-daemon, given Debian's installed keepalived
// policy, and a signal monitor): a snapshot of what the standard clients (busctl, dbus-send) and a raw
// Introspect see of a service.

const installedPolicy = "/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf"

// needBusTools skips unless the bus and its clients are installed.
func needBusTools(t *testing.T) {
	t.Helper()
	dbustest.Skip(t)
	if _, err := os.Stat(installedPolicy); err != nil {
		t.Skipf("needs keepalived's policy file %s (Debian package keepalived)", installedPolicy)
	}
}

// norm ends every section with one newline, so golden files read back equal.
func norm(s string) string {
	return strings.TrimRight(s, "\n") + "\n"
}

// section is one named observation of a snapshot.
type section struct{ Name, Text string }

// introspect calls Introspect on path and returns the raw document.
func introspect(conn *dbus.Conn, service, path string) string {
	var xml string
	if err := conn.Object(service, dbus.ObjectPath(path)).Call(ifaceIntrospection+".Introspect", 0).Store(&xml); err != nil {
		return "error: " + err.Error()
	}
	return xml
}

// walk lists every path below "/" as Introspect's <node> elements give
// them, in document order.
func walk(conn *dbus.Conn, service, path string) []string {
	paths := []string{path}
	re := regexp.MustCompile(`<node name="([^"]+)"/>`)
	for _, m := range re.FindAllStringSubmatch(introspect(conn, service, path), -1) {
		child := strings.TrimSuffix(path, "/") + "/" + m[1]
		paths = append(paths, walk(conn, service, child)...)
	}
	return paths
}

// probe is a dbus-send call: path, interface.member, arguments.
type probe []string

// probes are the calls whose answers must be keepalived's: properties,
// methods, wrong types, unknown names, the standard interfaces.
func probes(inst string) []probe {
	const vrrp = "/org/keepalived/Vrrp1/Vrrp"
	return []probe{
		{inst, "org.freedesktop.DBus.Properties.GetAll", "string:" + InstanceInterface},
		{inst, "org.freedesktop.DBus.Properties.Get", "string:" + InstanceInterface, "string:Name"},
		{inst, "org.freedesktop.DBus.Properties.Get", "string:" + InstanceInterface, "string:State"},
		{inst, "org.freedesktop.DBus.Properties.Get", "string:" + InstanceInterface, "string:Foo"},
		{inst, "org.freedesktop.DBus.Properties.Get", "string:org.foo", "string:Name"},
		{inst, "org.freedesktop.DBus.Properties.Get", "string:" + InstanceInterface},
		{inst, "org.freedesktop.DBus.Properties.Set", "string:" + InstanceInterface, "string:Name", "variant:string:x"},
		{inst, "org.freedesktop.DBus.Properties.Set", "string:" + InstanceInterface, "string:Nope", "variant:string:x"},
		{vrrp, "org.freedesktop.DBus.Properties.GetAll", "string:" + VrrpInterface},
		{vrrp, "org.freedesktop.DBus.Properties.GetAll", "string:" + InstanceInterface},
		{vrrp, "org.freedesktop.DBus.Properties.Get", "string:" + VrrpInterface, "string:Name"},
		{inst, InstanceInterface + ".Foo"},
		{inst, InstanceInterface + ".SendGarp", "string:x"},
		{inst, "org.foo.Bar"},
		{vrrp, InstanceInterface + ".SendGarp"},
		{"/org", InstanceInterface + ".SendGarp"},
		{"/org", "org.freedesktop.DBus.Peer.Ping"},
		{inst, "org.freedesktop.DBus.Peer.Ping"},
		{inst, "org.freedesktop.DBus.Peer.GetMachineId"},
		{inst, "org.freedesktop.DBus.Peer.Foo"},
		{"/org", "org.freedesktop.DBus.Peer.Foo"},
		{inst, "org.freedesktop.DBus.Introspectable.Introspect", "string:x"},
		{"/nowhere", "org.freedesktop.DBus.Introspectable.Introspect"},
		{vrrp, VrrpInterface + ".PrintData"},
		{vrrp, VrrpInterface + ".PrintStats"},
		{vrrp, VrrpInterface + ".PrintStatsClear"},
		{vrrp, VrrpInterface + ".PrintData", "string:x"},
		{vrrp, VrrpInterface + ".Nope"},
		{inst, InstanceInterface + ".SendGarp"},
	}
}

// snapshot is what the clients see of service on the bus at addr: busctl
// tree, every path's raw introspection, busctl introspect and get-property
// of every object, and the probes' answers as dbus-send prints them.
func snapshot(t *testing.T, addr, service, inst string) []section {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out []section
	add := func(name, text string) { out = append(out, section{name, norm(dbustest.Mask(text))}) }
	add("busctl tree", dbustest.Run("busctl", "--address="+addr, "--no-pager", "tree", service))
	for _, p := range walk(conn, service, "/") {
		xml := introspect(conn, service, p)
		add("Introspect "+p, xml)
		if strings.Contains(xml, "<interface name=\"org.keepalived") {
			add("busctl introspect "+p, dbustest.Run("busctl", "--address="+addr, "--no-pager", "introspect", service, p))
		}
		if strings.Contains(xml, "<interface name=\""+InstanceInterface+"\">") {
			add("busctl get-property "+p, dbustest.Run("busctl", "--address="+addr, "get-property", service, p, InstanceInterface, "Name", "State"))
		}
	}
	for _, pr := range probes(inst) {
		argv := append([]string{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + service}, pr...)
		add("dbus-send "+strings.Join(pr, " "), dbustest.Run(argv...))
	}
	return out
}

// policyChecks are calls made as nobody (uid 65534): keepalived's policy
// lets anyone introspect, ping and use Properties, and nothing else.
func policyChecks(t *testing.T, addr, service, inst string) []section {
	t.Helper()
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	var out []section
	for _, c := range [][]string{
		{"busctl", "--address=" + addr, "call", service, "/org/keepalived/Vrrp1/Vrrp", VrrpInterface, "PrintData"},
		{"busctl", "--address=" + addr, "call", service, inst, InstanceInterface, "SendGarp"},
		{"busctl", "--address=" + addr, "get-property", service, inst, InstanceInterface, "State"},
		{"busctl", "--address=" + addr, "call", service, inst, ifacePeer, "Ping"},
		{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + service, "/org/keepalived/Vrrp1/Vrrp", VrrpInterface + ".ReloadConfig"},
		{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + service, inst, InstanceInterface + ".SendGarp"},
		{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + service, inst, ifaceProperties + ".Set", "string:" + InstanceInterface, "string:Name", "variant:string:x"},
	} {
		text := dbustest.Run(append(nobody, c...)...)
		// dbus-send's own command line is cut at 50 bytes in the bus's
		// message and carries the socket path: masked with the creds.
		out = append(out, section{"as nobody: " + strings.Join(c[2:], " "), norm(dbustest.Mask(text))})
	}
	return out
}

// diffSections reports every section that differs, and missing ones.
func diffSections(t *testing.T, what string, got, want []section) {
	t.Helper()
	wm := map[string]string{}
	var names []string
	for _, s := range want {
		wm[s.Name] = s.Text
		names = append(names, s.Name)
	}
	gm := map[string]string{}
	for _, s := range got {
		gm[s.Name] = s.Text
		if _, ok := wm[s.Name]; !ok {
			t.Errorf("%s: %s only in ours:\n%s", what, s.Name, s.Text)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g, ok := gm[n]
		switch {
		case !ok:
			t.Errorf("%s: %s missing in ours; keepalived's:\n%s", what, n, wm[n])
		case g != wm[n]:
			t.Errorf("%s: %s differs\n--- ours\n%s\n--- keepalived\n%s", what, n, g, wm[n])
		}
	}
}

// writeSections and readSections keep a snapshot as a golden file.
func writeSections(t *testing.T, path string, secs []section) {
	t.Helper()
	var b strings.Builder
	for _, s := range secs {
		fmt.Fprintf(&b, "=== %s\n%s", s.Name, s.Text)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readSections(t *testing.T, path string) []section {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []section
	for _, chunk := range strings.Split(string(b), "=== ")[1:] {
		name, text, _ := strings.Cut(chunk, "\n")
		out = append(out, section{name, text})
	}
	return out
}
