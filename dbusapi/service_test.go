package dbusapi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/dbustest"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func messages(h *test.Hook) []string {
	var out []string
	for _, e := range h.AllEntries() {
		out = append(out, e.Message)
	}
	return out
}

func newBusService(t *testing.T, addr string, insts ...Instance) (*Service, *fakeEngine, *test.Hook) {
	log, hook := test.NewNullLogger()
	f := &fakeEngine{insts: insts}
	s := New(Options{Address: addr, Log: logrus.NewEntry(log), Provider: f, Commands: f})
	t.Cleanup(s.Stop)
	return s, f, hook
}

func waitLog(t *testing.T, h *test.Hook, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range messages(h) {
			if m == msg {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log %q; got %q", msg, messages(h))
}

// TestNoBus: keepalived logs that it lost the name when there is no bus
// (g_bus_own_name's name-lost callback) and goes on; so do we, and
// nothing blocks.
func TestNoBus(t *testing.T) {
	s, _, hook := newBusService(t, "unix:path="+filepath.Join(t.TempDir(), "none"),
		Instance{Name: "VI_1", Interface: "eth0", VRID: 1, Family: FamilyIPv4})
	s.Start()
	waitLog(t, hook, "Lost the name org.keepalived.Vrrp1 on the session bus")
	s.StateChanged(Instance{Name: "VI_1", Interface: "eth0", VRID: 1, Family: FamilyIPv4, State: StateMaster})
	s.Reload(nil)
	s.Stop()
	want := "Lost the name org.keepalived.Vrrp1 on the session bus|Released DBus"
	if got := strings.Join(messages(hook), "|"); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
}

// TestSecondOwner: a second daemon on the bus is queued for the name,
// which GDBus reports as lost: its objects go and it sends no more
// signals, while the first keeps its name.
func TestSecondOwner(t *testing.T) {
	needBusTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: the installed policy lets only root own org.keepalived.Vrrp1")
	}
	addr := dbustest.StartBus(t, dbustest.Dir(t), installedPolicy)
	mon := dbustest.Monitor(t, addr, "/org/keepalived", DefaultServiceName)
	inst := Instance{Name: "VI_1", Interface: "eth0", VRID: 1, Family: FamilyIPv4, State: StateBackup}
	first, _, _ := newBusService(t, addr, inst)
	second, _, hook := newBusService(t, addr, inst)
	first.Start()
	mon.WaitFor(t, "owner true", 10*time.Second)
	second.Start()
	waitLog(t, hook, "Lost the name org.keepalived.Vrrp1 on the session bus")
	second.mu.RLock()
	left := len(second.reg.exported)
	second.mu.RUnlock()
	if left != 0 {
		t.Errorf("the second daemon kept %d objects", left)
	}
	n := len(mon.All())
	inst.State = StateMaster
	second.StateChanged(inst)
	first.StateChanged(inst)
	lines := settle(mon, n+1)
	// The second's acquisition sweep (VrrpStarted, VI_1 Backup) went out
	// before it asked for the name, as keepalived's does; after losing it,
	// nothing: the only new line is the first's.
	if got := lines[n:]; len(got) != 1 || !strings.HasSuffix(got[0], "body=[2]") {
		t.Errorf("after the name was lost: %q", got)
	}
	if got := lines[:n]; len(got) != 5 {
		t.Errorf("start of two daemons: %q", got)
	}
}

// ownHelperEnv makes the test binary a daemon that tries to own the name
// on the bus given in the variable and prints what it logged.
const ownHelperEnv = "KGDBUS_OWN_HELPER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(ownHelperEnv); addr != "" {
		log, hook := test.NewNullLogger()
		f := &fakeEngine{insts: []Instance{{Name: "VI_1", Interface: "eth0", VRID: 1, Family: FamilyIPv4}}}
		s := New(Options{Address: addr, Log: logrus.NewEntry(log), Provider: f, Commands: f})
		s.Start()
		for i := 0; i < 500 && len(hook.AllEntries()) < 2; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		s.Stop()
		fmt.Println(strings.Join(messages(hook), "\n"))
		// Why: the bus's answer to the same request.
		if conn, err := dbus.Connect(addr); err == nil {
			_, err = conn.RequestName(DefaultServiceName, 0)
			fmt.Println(err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestNonRootCannotOwn: run as nobody, our daemon is refused the name by
// the installed policy (only root may own org.keepalived.Vrrp1) and
// reports it as keepalived reports a lost name.
func TestNonRootCannotOwn(t *testing.T) {
	needBusTools(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the daemon as nobody (setpriv)")
	}
	dir := dbustest.Dir(t)
	addr := dbustest.StartBus(t, dir, installedPolicy)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin)
	cmd.Env = append(os.Environ(), ownHelperEnv+"="+addr)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	logged, why, _ := strings.Cut(strings.TrimSuffix(string(out), "\n"), "\nReleased DBus\n")
	want := "Acquired DBus bus org.keepalived.Vrrp1\nLost the name org.keepalived.Vrrp1 on the session bus"
	if logged != want {
		t.Errorf("as nobody our daemon logged:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(why, `is not allowed to own the service "org.keepalived.Vrrp1"`) {
		t.Errorf("the bus did not refuse the name for the policy: %q", why)
	}
	t.Logf("as nobody: %s; bus: %s", strings.ReplaceAll(logged, "\n", "; "), why)
}
