package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"keepalived-go/internal/snmptest"
	"keepalived-go/internal/vmtest"
)

// snmpCheckerScript runs snmpd, then each daemon in turn with snmptrapd:
// a walk of KEEPALIVED-MIB with the second real server down, one after it
// came up, Sets of real server weights (one accepted, the sorry server's,
// a wrong type, a missing service, a read-only column) and a walk after
// them, then the daemon stops, and the traps of the whole run. A Set past
// the last real server of a service is left out: keepalived 2.2.7 then
// writes through the list head (check_snmp_realserver_weight's loop ends
// on it) and answers noError; we answer notWritable.
const snmpCheckerScript = `
mkdir -p /tmp/snmp/persist /run /var/run /etc/keepalived /var/lib/snmp
export MIBS= MIBDIRS=/nonexistent SNMP_PERSISTENT_DIR=/tmp/snmp/persist
printf 'master agentx\nagentXSocket unix:/tmp/snmp/agentx.sock\nagentaddress udp:127.0.0.1:161\nrocommunity public 127.0.0.1\nrwcommunity private 127.0.0.1\ntrap2sink 127.0.0.1:162 public\n' > /tmp/snmp/snmpd.conf
printf 'authCommunity log public\n' > /tmp/snmp/snmptrapd.conf
/usr/sbin/snmpd -f -Lf /tmp/snmp/snmpd.log -C -c /tmp/snmp/snmpd.conf -m '' &
sleep 2
walk() { /usr/bin/snmpwalk -v2c -c public -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5; }
waitfor() { i=0; while [ $i -lt 60 ] && ! walk 2>/dev/null | grep -q "$1"; do sleep 1; i=$((i+1)); done; }
scenario() {
	name=$1; bin=$2
	rm -f /tmp/up2 /tmp/snmp/traps.log
	/usr/sbin/snmptrapd -f -C -c /tmp/snmp/snmptrapd.conf -m '' -On -Lf /tmp/snmp/traps.log -F 'TRAP %V\t%v\n' 127.0.0.1:162 &
	tpid=$!
	sleep 1
	$bin -n -l -D -f /cfg/check.conf -p /run/$name.pid -r /run/$name-vrrp.pid -c /run/$name-check.pid > /tmp/$name.log 2>&1 &
	kpid=$!
	waitfor '100.5.3.4.1.6.1.3 = INTEGER: 2'
	sleep 3
	echo "=== BEGIN $name down ==="; walk; echo "=== END $name down ==="
	touch /tmp/up2
	waitfor '100.5.3.4.1.6.1.3 = INTEGER: 1'
	sleep 3
	echo "=== BEGIN $name up ==="; walk; echo "=== END $name up ==="
	echo "=== BEGIN $name set ==="
	/usr/bin/snmpset -v2c -c private -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5.3.4.1.7.1.2 i 7 2>&1
	/usr/bin/snmpset -v2c -c private -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5.3.4.1.7.1.1 i 7 2>&1
	/usr/bin/snmpset -v2c -c private -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5.3.4.1.7.1.2 s 7 2>&1
	/usr/bin/snmpset -v2c -c private -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5.3.4.1.7.9.1 i 7 2>&1
	/usr/bin/snmpset -v2c -c private -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5.3.4.1.6.1.2 i 1 2>&1
	echo "=== END $name set ==="
	sleep 2
	echo "=== BEGIN $name after-set ==="; walk; echo "=== END $name after-set ==="
	kill $kpid; wait $kpid
	sleep 2
	echo "=== BEGIN $name traps ==="; cat /tmp/snmp/traps.log; echo "=== END $name traps ==="
	kill $tpid; wait $tpid
	echo "=== BEGIN $name log ==="; cat /tmp/$name.log; echo "=== END $name log ==="
}
scenario keepalived /usr/sbin/keepalived
scenario ours /bin/kgo
`

// TestSNMPCheckerDaemonVM is the checker MIB part of issue 17's SNMP
// must-show: the checker process needs IPVS, so Debian's keepalived and
// our daemon run one after the other in a VM booting Debian's kernel,
// each with snmpd as master agent. The walks of KEEPALIVED-MIB with a real
// server down, up, and after an SNMP Set of a weight, the Set answers,
// and the traps of the run (quorum at start, the real server's changes,
// the shutdown) must be the same, counters and times masked.
func TestSNMPCheckerDaemonVM(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read /boot/vmlinuz-*")
	}
	snmptest.Skip(t)
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("needs Debian's keepalived (apt-get install keepalived)")
	}
	vm, err := vmtest.New()
	if errors.Is(err, vmtest.ErrUnavailable) {
		t.Skipf("no VM: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.AddModules("ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_sh"); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"/usr/sbin/keepalived", "/usr/sbin/snmpd", "/usr/sbin/snmptrapd", "/usr/bin/snmpwalk", "/usr/bin/snmpset"} {
		if err := vm.AddBinary(b, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := vm.AddBinary(buildStaticSelf(t), "/bin/kgo"); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "check.conf")
	if err := os.WriteFile(conf, []byte(snmptest.CheckerConf), 0o644); err != nil {
		t.Fatal(err)
	}
	vm.Archive.File("cfg/check.conf", conf, 0o644)
	vm.Archive.Bytes("etc/passwd", []byte("root:x:0:0:root:/:/bin/sh\n"), 0o644)
	vm.Archive.Bytes("etc/group", []byte("root:x:0:\n"), 0o644)
	vm.Timeout *= 6
	console, err := vm.Run(context.Background(), snmpCheckerScript)
	if err != nil {
		t.Fatalf("%v\n%s", err, console)
	}
	sec := func(name string) []string {
		s, ok := vmtest.Section(console, name)
		if !ok {
			t.Fatalf("no section %s in:\n%s", name, console)
		}
		var out []string
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			// -l also writes the daemons' logs to the console.
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "TRAP ") || strings.HasPrefix(l, "Error") ||
				strings.HasPrefix(l, "Reason") || strings.HasPrefix(l, "Failed") {
				out = append(out, l)
			}
		}
		return out
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"keepalived log", "ours log"} {
				s, _ := vmtest.Section(console, n)
				t.Logf("%s:\n%s", n, s)
			}
		}
	})
	total := 0
	for _, phase := range []string{"down", "up", "set", "after-set"} {
		theirs, ours := snmpMask(sec("keepalived "+phase)), snmpMask(sec("ours "+phase))
		if len(theirs) == 0 {
			t.Errorf("%s: keepalived's side is empty", phase)
		}
		total += len(theirs)
		if d := diffTexts(ours, theirs); d != "" {
			t.Errorf("%s differs:\n%s", phase, d)
		}
	}
	trapsOf := func(name string) []string {
		var raw []string
		for _, l := range sec(name + " traps") {
			if strings.HasPrefix(l, "TRAP ") {
				raw = append(raw, l)
			}
		}
		return keepalivedTraps(snmptest.ParseTraps(strings.Join(raw, "\n")))
	}
	theirTraps, ourTraps := trapsOf("keepalived"), trapsOf("ours")
	if countTraps(theirTraps) < 8 {
		t.Errorf("keepalived sent %d traps only", countTraps(theirTraps))
	}
	if d := diffTexts(ourTraps, theirTraps); d != "" {
		t.Errorf("traps differ:\n%s", d)
	}
	t.Logf("compared %d walk and Set lines and %d traps (%d lines)", total, countTraps(theirTraps), len(theirTraps))
}

// buildStaticSelf builds the daemon as a static binary for the VM.
func buildStaticSelf(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go toolchain to build the daemon")
		}
	}
	out := filepath.Join(t.TempDir(), "keepalived")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return out
}
