package lvs

import (
	"context"
	"errors"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"keepalived-go/internal/vmtest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/lvs")

// golden compares got with testdata/lvs/<name> at the module root,
// rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("..", "testdata", "lvs", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

// vmOrSkip returns a VM or skips naming what is missing. CI runs as root
// with qemu-system-x86, linux-image-amd64, busybox-static and ipvsadm.
func vmOrSkip(t *testing.T) *vmtest.VM {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping real-kernel IPVS test: needs root to read /boot/vmlinuz-*")
	}
	vm, err := vmtest.New()
	if errors.Is(err, vmtest.ErrUnavailable) {
		t.Skipf("skipping real-kernel IPVS test: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/sbin/ipvsadm"); err != nil {
		t.Skip("skipping real-kernel IPVS test: /usr/sbin/ipvsadm missing (apt-get install ipvsadm)")
	}
	return vm
}

// buildStatic builds a main package as a static binary for the VM.
func buildStatic(t testing.TB, pkg string) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("skipping: no go toolchain to build the VM program")
		}
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestKernelSeedScenario programs the seed's virtual server into a real
// kernel's IPVS through OpenIPVS + Reconciler and checks ipvsadm's view,
// the one-message reload, the sync daemon and release on stop.
func TestKernelSeedScenario(t *testing.T) {
	vm := vmOrSkip(t)
	prog := buildStatic(t, "../e2e/lvsvm/vmprog")
	if err := vm.AddModules("ip_vs", "ip_vs_rr", "ip_vs_wlc", "dummy"); err != nil {
		t.Fatal(err)
	}
	if err := vm.AddBinary("/usr/sbin/ipvsadm", ""); err != nil {
		t.Fatal(err)
	}
	if err := vm.AddBinary(prog, "/bin/vmprog"); err != nil {
		t.Fatal(err)
	}
	// The operator's own service exists before we start and must survive.
	console, err := vm.Run(context.Background(), `
ip link set dummy0 multicast on
ip link set dummy0 up
ipvsadm -A -t 203.0.113.9:443 -s wlc
ipvsadm -a -t 203.0.113.9:443 -r 203.0.113.20:443 -m -w 1
/bin/vmprog
echo '=== BEGIN ipvsadm-final ==='
ipvsadm -Ln
echo '=== END ipvsadm-final ==='
`)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, console)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", console)
		}
	})
	if !strings.Contains(console, "vmprog: OK") {
		t.Fatalf("vm program failed; console:\n%s", console)
	}
	sec := func(name string) string {
		t.Helper()
		s, ok := vmtest.Section(console, name)
		if !ok {
			t.Fatalf("no section %q in console:\n%s", name, console)
		}
		return s
	}

	golden(t, "seed-start.ipvsadm", sec("ipvsadm-start"))
	golden(t, "seed-reload.ipvsadm", sec("ipvsadm-reload"))
	golden(t, "seed-final.ipvsadm", sec("ipvsadm-final"))
	golden(t, "seed-daemon.txt", "master:\n"+sec("daemon-master")+"backup:\n"+sec("daemon-backup")+
		"ours:\n"+sec("daemons")+"stopped:\n"+sec("daemon-stopped"))
	golden(t, "seed-timeouts.txt", "set:\n"+sec("timeouts-set")+"restored:\n"+sec("timeouts-restored"))

	wantSteps := map[string]string{
		"start": "add-service TCP  198.51.100.10:80 rr\n" +
			"add-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80\n" +
			"add-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80\n" +
			"writes 3\n",
		// The kernel's own view of what we programmed diffs to nothing.
		"steady": "writes 0\n",
		// One weight change is exactly one netlink write.
		"reload": "update-dest 198.51.100.12:80 Route weight 50 in TCP 198.51.100.10:80\nwrites 1\n",
		// Stop removes ours in one message and leaves 203.0.113.9:443.
		"release": "del-service TCP  198.51.100.10:80 rr\nwrites 1\n",
	}
	for name, want := range wantSteps {
		if got := sec(name); got != want {
			t.Errorf("step %s:\n%s\nwant\n%s", name, got, want)
		}
	}
	// List decoded the kernel's table into the same canonical form.
	wantList := seedTable(100, 50).Add(Service{ServiceKey: foreignKey, Scheduler: "wlc"},
		Dest(netipMust("203.0.113.20:443"), NAT, 1)).String()
	if got := sec("list"); got != wantList {
		t.Errorf("List:\n%s\nwant\n%s", got, wantList)
	}
}

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestKernelFeatureTable programs one service per feature (every
// scheduler and flag, protocols, fwmark, IPv6, persistence, NAT/DR/TUN
// with tunnel types, thresholds) and checks that the kernel's answer
// diffs to nothing, that List decodes it to the desired table, and that
// ipvsadm shows the golden table.
func TestKernelFeatureTable(t *testing.T) {
	vm := vmOrSkip(t)
	prog := buildStatic(t, "../e2e/lvsvm/vmprog")
	mods := []string{"ip_vs"}
	for _, s := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		mods = append(mods, "ip_vs_"+s)
	}
	if err := vm.AddModules(mods...); err != nil {
		t.Fatal(err)
	}
	if err := vm.AddBinary("/usr/sbin/ipvsadm", ""); err != nil {
		t.Fatal(err)
	}
	if err := vm.AddBinary(prog, "/bin/vmprog"); err != nil {
		t.Fatal(err)
	}
	console, err := vm.Run(context.Background(), "/bin/vmprog features\n")
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, console)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", console)
		}
	})
	if !strings.Contains(console, "vmprog: OK") {
		t.Fatal("vm program failed")
	}
	sec := func(name string) string {
		t.Helper()
		s, ok := vmtest.Section(console, name)
		if !ok {
			t.Fatalf("no section %q", name)
		}
		return s
	}
	if got := sec("features-steady"); got != "writes 0\n" {
		t.Errorf("second reconcile against the kernel was not empty:\n%s", got)
	}
	if got, want := sec("features-list"), sec("features-desired"); got != want {
		t.Errorf("List decoded\n%s\nwant\n%s", got, want)
	}
	golden(t, "features.ipvsadm", sec("features-ipvsadm"))
	golden(t, "features-tun.ipvsadm", sec("features-tun"))
	if got := sec("features-release"); got != "writes 17\n" {
		t.Errorf("release: %s", got)
	}
	if got := sec("features-empty"); strings.Count(got, "\n") != 3 {
		t.Errorf("table not empty after release:\n%s", got)
	}
}
