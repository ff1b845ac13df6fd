package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/dbustest"
	"keepalived-go/internal/nettest"
)

const (
	kaPolicy    = "/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf" // Debian's keepalived
	ourPolicy   = "../../packaging/dbus/org.keepalived.Vrrp1.conf" // what our .deb installs there
	vrrpPath    = "/org/keepalived/Vrrp1/Vrrp"
	vrrpIface   = "org.keepalived.Vrrp1.Vrrp"
	instIface   = "org.keepalived.Vrrp1.Instance"
	dbusBusName = "org.keepalived.Vrrp1"
	dbusVI1     = "/org/keepalived/Vrrp1/Instance/eth0/51/IPv4"
	dbusMaster  = "body=[2]"
)

type dbusInst struct {
	name, iface string
	vrid, prio  int
	vip         string
}

// dbusConf is a config of isolated instances (each alone on its VRID, so
// each becomes MASTER), their priorities spreading the takeovers apart.
func dbusConf(insts []dbusInst) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id KGDBUS\n    enable_dbus\n}\n")
	for _, in := range insts {
		fmt.Fprintf(&b, "vrrp_instance %s {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n"+
			"    priority %d\n    advert_int 1\n    virtual_ipaddress {\n        %s\n    }\n}\n",
			in.name, in.iface, in.vrid, in.prio, in.vip)
	}
	return b.String()
}

var (
	dbusStart = []dbusInst{
		{"VI_1", "eth0", 51, 250, "198.51.100.10/24"},
		{"VI_2", "eth0", 52, 200, "2001:db8::10/64"},
		{"VI_3", "eth1", 51, 150, "203.0.113.10/24"},
	}
	// The reload removes VI_2 and adds VI_6.
	dbusReload = []dbusInst{dbusStart[0], dbusStart[2], {"VI_6", "eth1", 60, 250, "203.0.113.11/24"}}
)

// dbusRun is what the clients saw of one daemon.
type dbusRun struct {
	start, reload []string // observations, "=== what" then the output
	policy        []string
	signals       []string
	dataWritten   bool
	log           string
}

// observe is what busctl and dbus-send show of the service: the tree,
// every object's introspection and properties, and a few calls.
func observe(t *testing.T, addr string) []string {
	t.Helper()
	var out []string
	add := func(what, text string) {
		out = append(out, "=== "+what, strings.TrimRight(dbustest.Mask(text), "\n"))
	}
	tree := dbustest.Run("busctl", "--address="+addr, "--no-pager", "--list", "tree", dbusBusName)
	add("busctl tree", tree)
	for _, p := range strings.Fields(tree) {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		intro := dbustest.Run("busctl", "--address="+addr, "--no-pager", "introspect", dbusBusName, p)
		add("busctl introspect "+p, intro)
		if strings.Contains(intro, instIface) {
			add("busctl get-property "+p, dbustest.Run("busctl", "--address="+addr, "get-property", dbusBusName, p, instIface, "Name", "State"))
			add("GetAll "+p, dbustest.Run("dbus-send", "--bus="+addr, "--print-reply", "--dest="+dbusBusName, p,
				"org.freedesktop.DBus.Properties.GetAll", "string:"+instIface))
		}
	}
	for _, c := range [][]string{
		{vrrpPath, vrrpIface + ".PrintData"},
		{vrrpPath, vrrpIface + ".PrintStats"},
		{dbusVI1, instIface + ".SendGarp"},
		{"/org/keepalived/Vrrp1/Instance/eth9/9/IPv4", instIface + ".SendGarp"},
		{dbusVI1, "org.freedesktop.DBus.Properties.Get", "string:" + instIface, "string:Nope"},
		{vrrpPath, vrrpIface + ".Nope"},
	} {
		argv := append([]string{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + dbusBusName}, c...)
		add("dbus-send "+strings.Join(c, " "), dbustest.Run(argv...))
	}
	return out
}

// policyChecks are calls as nobody: keepalived's policy lets anyone
// introspect, ping and read properties, and nothing else.
func policyChecks(addr string) []string {
	var out []string
	for _, c := range [][]string{
		{"busctl", "--address=" + addr, "call", dbusBusName, vrrpPath, vrrpIface, "PrintData"},
		{"busctl", "--address=" + addr, "call", dbusBusName, dbusVI1, instIface, "SendGarp"},
		{"busctl", "--address=" + addr, "get-property", dbusBusName, dbusVI1, instIface, "State"},
		{"busctl", "--address=" + addr, "call", dbusBusName, dbusVI1, "org.freedesktop.DBus.Peer", "Ping"},
		{"busctl", "--address=" + addr, "introspect", dbusBusName, vrrpPath},
		{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + dbusBusName, vrrpPath, vrrpIface + ".ReloadConfig"},
		{"dbus-send", "--bus=" + addr, "--print-reply", "--dest=" + dbusBusName, dbusVI1, "org.freedesktop.DBus.Properties.Set",
			"string:" + instIface, "string:Name", "variant:string:x"},
	} {
		out = append(out, "=== as nobody: "+strings.Join(c[2:], " "), strings.TrimRight(dbustest.Mask(dbustest.AsNobody(c...)), "\n"))
	}
	return out
}

// normalizeStart makes the start of a signal log comparable: keepalived
// takes the bus on a GLib thread while its instances leave INIT, so the
// states it publishes when the name is acquired race with their start
// (INIT, then BACKUP after the name, in one run; BACKUP before it in the
// next). Up to the first MASTER signal, INIT signals are dropped and the
// rest sorted; from there on the order is compared as it is.
func normalizeStart(lines []string) []string {
	end := len(lines)
	for i, l := range lines {
		if strings.Contains(l, dbusMaster) {
			end = i
			break
		}
	}
	var head []string
	seen := map[string]bool{}
	for _, l := range lines[:end] {
		if strings.Contains(l, "body=[0]") || seen[l] {
			continue
		}
		seen[l] = true
		head = append(head, l)
	}
	sort.Strings(head)
	return append(head, lines[end:]...)
}

func countLines(lines []string, s string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func waitSignals(t *testing.T, mon *dbustest.SignalLog, s string, n int) {
	t.Helper()
	nettest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d signals %q", n, s), func() bool { return countLines(mon.All(), s) >= n })
}

// runDBusScenario runs argv0 in node with enable_dbus on a private system
// bus holding policy: start, a reload, a stop.
func runDBusScenario(t *testing.T, node *nettest.Node, argv0, policy string) *dbusRun {
	dir := dbustest.Dir(t)
	addr := dbustest.StartBus(t, dir, policy)
	mon := dbustest.Monitor(t, addr, "/org/keepalived", dbusBusName)
	etc, tmp := varTempDir(t), varTempDir(t)
	conf := filepath.Join(etc, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(dbusConf(dbusStart)), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(argv0, "/usr/") {
		// The private /tmp hides the test's build directory.
		b, err := os.ReadFile(argv0)
		if err != nil {
			t.Fatal(err)
		}
		argv0 = filepath.Join(etc, "keepalived")
		if err := os.WriteFile(argv0, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := node.Start(map[string]string{tmp: "/tmp"}, "/usr/bin/env", "-u", "TMPDIR", "DBUS_SYSTEM_BUS_ADDRESS="+addr,
		argv0, "-n", "-l", "-D", "-f", conf, "-p", filepath.Join(etc, "k.pid"), "-r", filepath.Join(etc, "v.pid"),
		"-c", filepath.Join(etc, "c.pid"))
	run := &dbusRun{}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			p.Signal(syscall.SIGTERM)
			p.Wait()
		}
		if t.Failed() {
			t.Logf("%s:\n%s", argv0, p.Output())
		}
	})
	mon.WaitFor(t, "owner true", 15*time.Second)
	waitSignals(t, mon, dbusMaster, 3)
	mon.WaitQuiet(time.Second, 5*time.Second)
	run.start = observe(t, addr)
	run.policy = policyChecks(addr)
	_, err := os.Stat(filepath.Join(tmp, "keepalived.data"))
	run.dataWritten = err == nil

	if err := os.WriteFile(conf, []byte(dbusConf(dbusReload)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGHUP)
	mon.WaitFor(t, "VrrpReloaded", 15*time.Second)
	waitSignals(t, mon, dbusMaster, 4)
	mon.WaitQuiet(time.Second, 5*time.Second)
	run.reload = observe(t, addr)

	p.Signal(syscall.SIGTERM)
	p.Wait()
	stopped = true
	mon.WaitFor(t, "owner false", 10*time.Second)
	run.signals = mon.WaitQuiet(500*time.Millisecond, 5*time.Second)
	run.log = p.Output()
	return run
}

// TestDBusDaemonMatchesKeepalived is issue 17's DBus must-show with the
// daemon: Debian's keepalived and then our daemon run the same config in
// a namespace, each on a private system bus (keepalived's installed
// policy for it, the policy our package installs for ours). busctl tree,
// introspect and get-property of every object and a few calls must give
// the same answers after the start and after a reload, the signals of
// the whole run (start, state changes, reload, stop) must be the same, and
// the policy must refuse a non-root caller the same way.
func TestDBusDaemonMatchesKeepalived(t *testing.T) {
	keepalivedAvailable(t)
	dbustest.Skip(t)
	if _, err := os.Stat(kaPolicy); err != nil {
		t.Skipf("needs keepalived's policy %s (Debian package keepalived)", kaPolicy)
	}
	policy, err := filepath.Abs(ourPolicy)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("d", "198.51.100.2/24", "2001:db8::2/64")
	lan.Attach(node, "eth1", "203.0.113.2/24")
	theirs := runDBusScenario(t, node, "/usr/sbin/keepalived", kaPolicy)
	ours := runDBusScenario(t, node, bin, policy)
	for _, c := range []struct {
		what      string
		mine, kas []string
	}{
		{"after start", ours.start, theirs.start},
		{"after reload", ours.reload, theirs.reload},
		{"policy", ours.policy, theirs.policy},
		{"signals", normalizeStart(ours.signals), normalizeStart(theirs.signals)},
	} {
		if len(c.kas) == 0 {
			t.Errorf("%s: keepalived's side is empty", c.what)
		}
		if d := diffTexts(c.mine, c.kas); d != "" {
			t.Errorf("%s differs:\n%s", c.what, d)
		}
	}
	// Not vacuous: keepalived's side has every object with its values.
	for _, w := range []string{"=== busctl get-property " + dbusVI1, `(s) "VI_1"`, `(us) 2 "Master"`,
		"=== busctl introspect /org/keepalived/Vrrp1/Instance/eth1/51/IPv4", ".SendGarp", "VrrpStatusChange"} {
		if !strings.Contains(strings.Join(theirs.start, "\n"), w) {
			t.Errorf("keepalived's observations lack %q", w)
		}
	}
	if !theirs.dataWritten || !ours.dataWritten {
		t.Errorf("PrintData wrote keepalived.data: keepalived %v, ours %v", theirs.dataWritten, ours.dataWritten)
	}
	denied := countLines(theirs.policy, "AccessDenied") + countLines(theirs.policy, "Access denied")
	if denied < 3 {
		t.Errorf("keepalived's policy denied %d calls only:\n%s", denied, strings.Join(theirs.policy, "\n"))
	}
	for _, s := range []string{"VrrpStarted", "VrrpReloaded", "VrrpStopped", "body=[98]", "body=[3]"} {
		if countLines(theirs.signals, s) == 0 {
			t.Errorf("keepalived sent no %s signal", s)
		}
	}
	t.Logf("compared %d+%d observation lines, %d policy checks (%d denied), %d signals",
		len(theirs.start), len(theirs.reload), len(theirs.policy)/2, denied, len(theirs.signals))
}
