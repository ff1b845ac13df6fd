package dbusapi

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/internal/dbustest"
	"keepalived-go/internal/nettest"
)

var update = flag.Bool("update", false, "rewrite testdata/keepalived from Debian's keepalived (TestLiveAgainstKeepalived)")

const goldenDir = "testdata/keepalived"

// kaNetns makes a namespace with the scenario's interfaces, each a veth
// whose peer stays in the namespace (so no two instances hear each other),
// kgdown left down.
func kaNetns(t *testing.T) string {
	t.Helper()
	ns := fmt.Sprintf("kgdbus%d", os.Getpid())
	must := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run()
	must("ip", "netns", "add", ns)
	t.Cleanup(func() {
		nettest.KillAll(ns)
		exec.Command("ip", "netns", "del", ns).Run()
	})
	must("ip", "-n", ns, "link", "set", "lo", "up")
	must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	for i, spec := range []struct {
		name  string
		addrs []string
	}{
		{"kg-a", []string{"198.51.100.1/24", "2001:db8::1/64"}},
		{"kg-b", []string{"198.51.100.2/24"}},
		{"kg.c", []string{"203.0.113.1/24"}},
		{"kgd", []string{"2001:db8:1::1/64"}},
		{"kgdown", []string{"198.51.100.9/24"}},
	} {
		peer := fmt.Sprintf("kgp%d", i)
		must("ip", "-n", ns, "link", "add", spec.name, "type", "veth", "peer", "name", peer)
		for _, a := range spec.addrs {
			args := []string{"ip", "-n", ns, "addr", "add", a, "dev", spec.name}
			if strings.Contains(a, ":") {
				args = append(args, "nodad")
			}
			must(args...)
		}
		if spec.name != "kgdown" {
			must("ip", "-n", ns, "link", "set", peer, "up")
			must("ip", "-n", ns, "link", "set", spec.name, "up")
		}
	}
	return ns
}

// startKeepalived runs Debian's keepalived (VRRP only) in ns on the bus at
// addr, with a private /tmp (kaTmp) for its data and stats files. It
// returns the parent's PID.
func startKeepalived(t *testing.T, ns, dir, kaTmp, addr string) int {
	t.Helper()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(keepalivedConf(scenStart)), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "keepalived.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
		`mount --bind "$0" /tmp && exec env DBUS_SYSTEM_BUS_ADDRESS="$1" "$2" -n -l -D -P -f "$3" -p "$4" -r "$5" -c "$6"`,
		kaTmp, addr, "/usr/sbin/keepalived", conf, filepath.Join(dir, "ka.pid"), filepath.Join(dir, "ka.vrrp.pid"), filepath.Join(dir, "ka.check.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "keepalived.log"))
			t.Logf("keepalived's log:\n%s", b)
		}
	})
	return cmd.Process.Pid
}

// TestLiveAgainstKeepalived runs Debian's keepalived 2.2.7 and our Service
// on two private system buses with the same policy, ours fed with the facts
// keepalived's signals report, and wants the same bus on both sides:
// busctl tree, every Introspect document, busctl introspect and
// get-property of every object, the probes' answers, what nobody may do,
// and the signals (start, state changes, reload, stop). -update records
// keepalived's side as the golden files TestGoldenKeepalived uses.
func TestLiveAgainstKeepalived(t *testing.T) {
	needBusTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespace, keepalived, setpriv)")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("needs keepalived (Debian package keepalived)")
	}
	dir := dbustest.Dir(t)
	for _, d := range []string{"ka", "ours", "katmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	kaAddr := dbustest.StartBus(t, filepath.Join(dir, "ka"), installedPolicy)
	ourAddr := dbustest.StartBus(t, filepath.Join(dir, "ours"), installedPolicy)
	kaMon := dbustest.Monitor(t, kaAddr, "/org/keepalived", DefaultServiceName)
	ourMon := dbustest.Monitor(t, ourAddr, "/org/keepalived", DefaultServiceName)
	ns := kaNetns(t)

	startKeepalived(t, ns, dir, filepath.Join(dir, "katmp"), kaAddr)
	// Five instances reach MASTER; VI_DOWN stays FAULT.
	kaMon.WaitFor(t, "owner true", 10*time.Second)
	waitCount(t, kaMon, "body=[2]", 5, 15*time.Second)
	kaLines := kaMon.WaitQuiet(1500*time.Millisecond, 5*time.Second)

	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	m := newMirror(t, ourAddr, ourMon, logrus.NewEntry(logger))
	m.apply(kaLines)
	ourLines := settle(ourMon, len(kaLines))
	signalsEquivalent(t, "start", ourLines, kaLines)
	t.Logf("start: %d signals equal, e.g. %q", len(kaLines), kaLines[len(kaLines)-1])

	kaStart := snapshot(t, kaAddr, DefaultServiceName, scenProbed)
	checkSnapshot(t, kaStart, scenStart)
	ourStart := snapshot(t, ourAddr, DefaultServiceName, scenProbed)
	diffSections(t, "start", ourStart, kaStart)
	t.Logf("start: %d observations compared", len(kaStart))
	nStart := len(kaLines)
	kaPolicy := policyChecks(t, kaAddr, DefaultServiceName, scenProbed)
	diffSections(t, "policy", policyChecks(t, ourAddr, DefaultServiceName, scenProbed), kaPolicy)
	checkDenied(t, kaPolicy)
	if _, err := os.Stat(filepath.Join(dir, "katmp", "keepalived.data")); err != nil {
		t.Errorf("keepalived's PrintData wrote nothing: %v", err)
	}

	// Reload: VI_2 goes, VI_3 becomes VI_3B, VI_6 comes.
	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(keepalivedConf(scenReload)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := len(kaMon.All())
	syscall.Kill(readPid(t, filepath.Join(dir, "ka.pid")), syscall.SIGHUP)
	kaMon.WaitFor(t, "VrrpReloaded", 10*time.Second)
	waitCount(t, kaMon, "body=[2]", 6, 15*time.Second)
	kaLines = kaMon.WaitQuiet(1500*time.Millisecond, 5*time.Second)
	t.Logf("reload: keepalived sent %d signals", len(kaLines)-n)
	m.apply(kaLines)
	signalsEquivalent(t, "reload", settle(ourMon, len(kaLines)), kaLines)
	nReload := len(kaLines)
	kaReload := snapshot(t, kaAddr, DefaultServiceName, scenProbed)
	checkSnapshot(t, kaReload, scenReload)
	diffSections(t, "reload", snapshot(t, ourAddr, DefaultServiceName, scenProbed), kaReload)

	// Stop.
	syscall.Kill(readPid(t, filepath.Join(dir, "ka.pid")), syscall.SIGTERM)
	kaMon.WaitFor(t, "owner false", 10*time.Second)
	kaLines = kaMon.WaitQuiet(500*time.Millisecond, 5*time.Second)
	m.apply(kaLines)
	signalsEquivalent(t, "stop", settle(ourMon, len(kaLines)), kaLines)
	t.Logf("whole run: %d signals equal", len(kaLines))

	if *update && !t.Failed() {
		writeSections(t, filepath.Join(goldenDir, "start.txt"), kaStart)
		writeSections(t, filepath.Join(goldenDir, "reload.txt"), kaReload)
		writeSections(t, filepath.Join(goldenDir, "policy.txt"), kaPolicy)
		phases := strings.Join(kaLines[:nStart], "\n") + "\n" + phaseMark + "\n" +
			strings.Join(kaLines[nStart:nReload], "\n") + "\n" + phaseMark + "\n" +
			strings.Join(kaLines[nReload:], "\n") + "\n"
		if err := os.WriteFile(filepath.Join(goldenDir, "signals.txt"), []byte(phases), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkSnapshot makes sure keepalived's side is not empty: every instance
// has an object whose Name is its name.
func checkSnapshot(t *testing.T, secs []section, insts []scenInst) {
	t.Helper()
	for _, in := range insts {
		name := "busctl get-property " + string(Naming{}.InstancePath(in.Interface, in.VRID, in.Family))
		found := false
		for _, s := range secs {
			if s.Name == name && strings.HasPrefix(s.Text, fmt.Sprintf("(s) %q\n(us) ", in.Name)) {
				found = true
			}
		}
		if !found {
			t.Errorf("keepalived's bus has no %s answering %s", name, in.Name)
		}
	}
}

// checkDenied makes sure the policy comparison is not vacuous: nobody is
// refused PrintData and SendGarp by the bus and may read State.
func checkDenied(t *testing.T, secs []section) {
	t.Helper()
	for _, s := range secs {
		denied := strings.Contains(s.Text, "Access denied") || strings.Contains(s.Text, "org.freedesktop.DBus.Error.AccessDenied")
		allowed := strings.Contains(s.Name, "get-property") || strings.Contains(s.Name, "Ping") || strings.Contains(s.Name, ".Set")
		if denied == allowed {
			t.Errorf("%s: denied=%v:\n%s", s.Name, denied, s.Text)
		}
	}
}

func waitCount(t *testing.T, l *dbustest.SignalLog, s string, n int, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		c := 0
		for _, line := range l.All() {
			if strings.Contains(line, s) {
				c++
			}
		}
		if c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d signals with %q after %v, want %d:\n%s", c, s, max, n, strings.Join(l.All(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
