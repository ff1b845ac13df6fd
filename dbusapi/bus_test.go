package dbusapi

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// This file holds what the bus tests share: a private system-type
// dbus-daemon that includes Debian's installed keepalived policy, a
// snapshot of what the standard clients (busctl, dbus-send) and a raw
// Introspect see of a service, and a monitor that records its signals.

const installedPolicy = "/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf"

// busConfig is a system bus as Debian's system.conf sets it up (the default
// policy: method calls denied unless a service's policy file allows them),
// listening in dir, with keepalived's policy file included.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=%s</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>%s</include>
</busconfig>
`

// needBusTools skips unless the bus and its clients are installed.
func needBusTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"dbus-daemon", "dbus-send", "busctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian packages dbus-daemon, dbus-bin, systemd)", tool)
		}
	}
	if _, err := os.Stat(installedPolicy); err != nil {
		t.Skipf("needs keepalived's policy file %s (Debian package keepalived)", installedPolicy)
	}
}

// busDir is a directory for a bus that an unprivileged caller can reach
// (t.TempDir's parent is private). Not under /tmp when private is set:
// keepalived is given its own /tmp and must still see the socket.
func busDir(t *testing.T, private bool) string {
	t.Helper()
	parent := ""
	if private {
		parent = "/run"
	}
	dir, err := os.MkdirTemp(parent, "kgdbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBus runs a private system bus with its socket in dir and returns
// its address. The daemon is killed at test end.
func startBus(t *testing.T, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, sock, installedPolicy)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nosyslog", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "bus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("dbus-daemon's log (%s):\n%s", dir, b)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	if !strings.HasPrefix(line, "unix:path="+sock) {
		t.Fatalf("dbus-daemon address %q", line)
	}
	return "unix:path=" + sock
}

func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out)
}

var (
	maskReply   = regexp.MustCompile(`(?m)^method return time=\S+ sender=\S+ -> destination=\S+ serial=\d+ reply_serial=\d+$`)
	maskCreds   = regexp.MustCompile(`\(uid=(\d+) pid=\d+ comm="[^"]*"\)`)
	maskSender  = regexp.MustCompile(`sender=":1\.\d+"`)
	machineIDRe = regexp.MustCompile(`"[0-9a-f]{32}"`)
)

// mask removes what differs between two runs of the same service: serials,
// unique names, PIDs, command lines, the machine ID.
func mask(s string) string {
	s = maskReply.ReplaceAllString(s, "method return")
	s = maskCreds.ReplaceAllString(s, "(uid=$1 pid=N comm=C)")
	s = maskSender.ReplaceAllString(s, `sender=":1.N"`)
	return machineIDRe.ReplaceAllString(s, `"<machine-id>"`)
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
	add := func(name, text string) { out = append(out, section{name, norm(mask(text))}) }
	add("busctl tree", run(t, "busctl", "--address="+addr, "--no-pager", "tree", service))
	for _, p := range walk(conn, service, "/") {
		xml := introspect(conn, service, p)
		add("Introspect "+p, xml)
		if strings.Contains(xml, "<interface name=\"org.keepalived") {
			add("busctl introspect "+p, run(t, "busctl", "--address="+addr, "--no-pager", "introspect", service, p))
		}
		if strings.Contains(xml, "<interface name=\""+InstanceInterface+"\">") {
			add("busctl get-property "+p, run(t, "busctl", "--address="+addr, "get-property", service, p, InstanceInterface, "Name", "State"))
		}
	}
	for _, pr := range probes(inst) {
		argv := append([]string{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + service}, pr...)
		add("dbus-send "+strings.Join(pr, " "), run(t, argv...))
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
		text := run(t, append(nobody, c...)...)
		// dbus-send's own command line is cut at 50 bytes in the bus's
		// message and carries the socket path: masked with the creds.
		out = append(out, section{"as nobody: " + strings.Join(c[2:], " "), norm(mask(text))})
	}
	return out
}

// signalLog records the signals of the keepalived interfaces on a bus, with
// the flags and headers a monitor sees.
type signalLog struct {
	mu    sync.Mutex
	lines []string
	conn  *dbus.Conn
}

// monitor subscribes to the signals below /org/keepalived and to the
// service name's ownership changes, then takes every message raw (flags
// included).
func monitor(t *testing.T, addr, service string) *signalLog {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	l := &signalLog{conn: conn}
	for _, rule := range []string{"type='signal',path_namespace='/org/keepalived'",
		"type='signal',member='NameOwnerChanged',arg0='" + service + "'"} {
		if err := conn.BusObject().Call("org.freedesktop.DBus.AddMatch", 0, rule).Err; err != nil {
			t.Fatalf("AddMatch: %v", err)
		}
	}
	ch := make(chan *dbus.Message, 1024)
	conn.Eavesdrop(ch)
	go func() {
		for m := range ch {
			l.add(m)
		}
	}()
	// godbus's Close closes the eavesdrop channel while its reader may
	// still send on it: detach the channel first.
	t.Cleanup(func() { conn.Eavesdrop(nil); conn.Close() })
	return l
}

func (l *signalLog) add(m *dbus.Message) {
	if m.Type != dbus.TypeSignal {
		return
	}
	h := func(f dbus.HeaderField) string {
		if v, ok := m.Headers[f]; ok {
			return fmt.Sprint(v.Value())
		}
		return ""
	}
	var line string
	if h(dbus.FieldMember) == "NameOwnerChanged" {
		old, _ := m.Body[1].(string)
		line = fmt.Sprintf("name %s owner %v", m.Body[0], old == "")
	} else {
		line = fmt.Sprintf("signal flags=%d %s %s.%s sig=%q body=%v",
			m.Flags, h(dbus.FieldPath), h(dbus.FieldInterface), h(dbus.FieldMember), h(dbus.FieldSignature), m.Body)
		if h(dbus.FieldDestination) != "" {
			line += " dest=" + h(dbus.FieldDestination)
		}
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *signalLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitQuiet waits until no signal has come for quiet, at most max.
func (l *signalLog) waitQuiet(quiet, max time.Duration) []string {
	deadline := time.Now().Add(max)
	n, since := -1, time.Now()
	for time.Now().Before(deadline) {
		if c := len(l.all()); c != n {
			n, since = c, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l.all()
}

// waitFor waits until the log has a line containing s.
func (l *signalLog) waitFor(t *testing.T, s string, max time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	for {
		for _, line := range l.all() {
			if strings.Contains(line, s) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no signal %q in %v; got:\n%s", s, max, strings.Join(l.all(), "\n"))
		case <-time.After(20 * time.Millisecond):
		}
	}
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
