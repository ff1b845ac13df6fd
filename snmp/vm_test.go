package snmp

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/snmptest"
	"keepalived-go/internal/vmtest"
	"keepalived-go/snmp/agentx"
)

// checkerScript runs snmpd, snmptrapd and keepalived's checker in the VM:
// a walk with the second real server down, then one after it came up, and
// the traps of the whole run.
const checkerScript = `
mkdir -p /tmp/snmp/persist /run /var/run /etc/keepalived /var/lib/snmp
export MIBS= MIBDIRS=/nonexistent SNMP_PERSISTENT_DIR=/tmp/snmp/persist
printf 'master agentx\nagentXSocket unix:/tmp/snmp/agentx.sock\nagentaddress udp:127.0.0.1:161\nrocommunity public 127.0.0.1\ntrap2sink 127.0.0.1:162 public\n' > /tmp/snmp/snmpd.conf
printf 'authCommunity log public\n' > /tmp/snmp/snmptrapd.conf
/usr/sbin/snmptrapd -f -C -c /tmp/snmp/snmptrapd.conf -m '' -On -Lf /tmp/snmp/traps.log -F 'TRAP %V\t%v\n' 127.0.0.1:162 &
/usr/sbin/snmpd -f -Lf /tmp/snmp/snmpd.log -C -c /tmp/snmp/snmpd.conf -m '' &
sleep 2
/usr/sbin/keepalived -n -l -D -f /cfg/check.conf > /tmp/keepalived.log 2>&1 &
walk() { /usr/bin/snmpwalk -v2c -c public -On -m '' 127.0.0.1 .1.3.6.1.4.1.9586.100.5; }
i=0; while [ $i -lt 60 ] && ! walk 2>/dev/null | grep -q '100.5.3.4.1.6.1.3 = INTEGER: 2'; do sleep 1; i=$((i+1)); done
sleep 3
echo '=== BEGIN checker-down ==='; walk; echo '=== END checker-down ==='
touch /tmp/up2
i=0; while [ $i -lt 60 ] && ! walk 2>/dev/null | grep -q '100.5.3.4.1.6.1.3 = INTEGER: 1'; do sleep 1; i=$((i+1)); done
sleep 3
echo '=== BEGIN checker-up ==='; walk; echo '=== END checker-up ==='
sleep 2
echo '=== BEGIN traps ==='; cat /tmp/snmp/traps.log; echo '=== END traps ==='
echo '=== BEGIN keepalived ==='; cat /tmp/keepalived.log; echo '=== END keepalived ==='
`

// TestKeepalivedCheckerVM records Debian's keepalived's checker MIB and
// traps in a VM booting Debian's kernel (IPVS), since the checker process
// cannot start without IPVS; it compares them with ours built from the
// same facts and, with -update, rewrites testdata/snmp/checker-*.
func TestKeepalivedCheckerVM(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to read /boot/vmlinuz-*")
	}
	snmptest.Skip(t)
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
	for _, b := range []string{"/usr/sbin/keepalived", "/usr/sbin/snmpd", "/usr/sbin/snmptrapd", "/usr/bin/snmpwalk"} {
		if err := vm.AddBinary(b, ""); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(t.TempDir(), "check.conf")
	if err := os.WriteFile(conf, []byte(snmptest.CheckerConf), 0o644); err != nil {
		t.Fatal(err)
	}
	vm.Archive.File("cfg/check.conf", conf, 0o644)
	vm.Archive.Bytes("etc/passwd", []byte("root:x:0:0:root:/:/bin/sh\n"), 0o644)
	vm.Archive.Bytes("etc/group", []byte("root:x:0:\n"), 0o644)
	vm.Timeout *= 4
	console, err := vm.Run(context.Background(), checkerScript)
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
			// keepalived -l also writes its log to the console.
			if name == "keepalived" || strings.HasPrefix(l, ".") || strings.HasPrefix(l, "TRAP ") {
				out = append(out, l)
			}
		}
		return out
	}
	t.Logf("keepalived:\n%s", strings.Join(sec("keepalived"), "\n"))
	traps := parseTrapLog(sec("traps"))
	theirs := map[string][]string{"checker-down.walk": mask(sec("checker-down")), "checker-up.walk": mask(sec("checker-up")),
		"checker.traps": maskTraps(traps)}
	for name, lines := range theirs {
		if *update {
			writeGolden(t, name, lines)
		}
		if d := diffLines(checkerOurs(t)[name], lines); d != "" {
			t.Errorf("%s: ours (-) vs keepalived (+):\n%s", name, d)
		}
	}
}

var trapLine = regexp.MustCompile(`^TRAP `)

// parseTrapLog reads snmptrapd's log lines as snmptest.Trapd does.
func parseTrapLog(lines []string) []snmptest.Trap {
	var raw []string
	for _, l := range lines {
		if trapLine.MatchString(l) {
			raw = append(raw, l)
		}
	}
	return snmptest.ParseTraps(strings.Join(raw, "\n"))
}

// checkerState is the checker scenario's state, as the daemon will fill
// it from the config and the checker engine; up says whether the second
// real server of the first service is up.
func checkerState(up bool) *State {
	sec := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }
	addr := netip.MustParseAddr
	rs := func(a string, port uint16, w int64, delay int, fwd string) RealServer {
		return RealServer{Addr: addr(a), Port: port, Alive: true, Weight: w, Forwarding: fwd, SMTPAlert: true,
			DelayLoop: sec(delay), ConnTimeout: 5 * time.Second}
	}
	rs2 := rs("198.51.100.22", 80, 1, 1, "DR")
	rs2.NotifyUp, rs2.NotifyDown = []string{"/bin/true", "rs-up"}, []string{"/bin/true", "rs-down"}
	rs2.Alive = up
	if !up {
		rs2.FailedChecks = 1
	}
	vs := func(v VirtualServer) VirtualServer {
		v.Alive, v.QuorumUp, v.Quorum, v.Weight, v.ConnTimeout = true, true, 1, 1, 5*time.Second
		v.PersistenceGranularity = 0xffffffff
		return v
	}
	vs1 := vs(VirtualServer{Addr: addr("198.51.100.10"), Port: 80, AddrFamily: 4, Protocol: "TCP", Scheduler: "wrr",
		Forwarding: "DR", PersistenceTimeout: 300, DelayLoop: time.Second,
		QuorumUpScript: []string{"/bin/true", "up"}, QuorumDownScript: []string{"/bin/true", "down"},
		Sorry:       &RealServer{Addr: addr("198.51.100.99"), Port: 80, Forwarding: "DR"},
		RealServers: []RealServer{rs("198.51.100.21", 80, 3, 1, "DR"), rs2}})
	vs1.Quorum, vs1.QuorumUp = 4, up
	vs2 := vs(VirtualServer{FWMark: 5, Scheduler: "rr", Forwarding: "NAT", DelayLoop: 2 * time.Second,
		RealServers: []RealServer{rs("198.51.100.31", 0, 1, 2, "NAT")}})
	vs3 := vs(VirtualServer{Group: "VSG1", Protocol: "UDP", Scheduler: "sh", Forwarding: "TUN", DelayLoop: 3 * time.Second,
		RealServers: []RealServer{rs("198.51.100.41", 80, 1, 3, "TUN")}})
	vs4 := vs(VirtualServer{Addr: addr("2001:db8::10"), Port: 443, IPv6: true, AddrFamily: 6, Protocol: "TCP",
		Scheduler: "lc", Forwarding: "NAT", DelayLoop: 60 * time.Second,
		RealServers: []RealServer{rs("2001:db8::21", 443, 2, 60, "NAT")}})
	return &State{
		Global: Global{Version: "Keepalived v2.2.7 (01/16,2022)", RouterID: "kgsnmp-vm", EmailFaults: true,
			LVSTimeouts: LVSTimeouts{TCP: 900, TCPFin: 120, UDP: 300}},
		Checker: &Checker{
			Groups: []VSGroup{{Name: "VSG1", Members: []VSGroupMember{
				{Addr: addr("198.51.100.20"), AddrEnd: addr("198.51.100.20"), Port: 80},
				{Addr: addr("198.51.100.30"), AddrEnd: addr("198.51.100.32"), Port: 8080}}}},
			VirtualServers: []VirtualServer{vs1, vs2, vs3, vs4},
		},
	}
}

var checkerSwitches = Switches{Checker: true, Traps: true}

// checkerOurs is our side of the checker scenario: the two walks and the
// traps keepalived sent (each service's quorum at start, then the second
// real server going down and coming back with the quorum).
func checkerOurs(t *testing.T) map[string][]string {
	down, up := checkerState(false), checkerState(true)
	start := checkerState(true)
	start.Checker.VirtualServers[0].RealServers[1].Alive = true
	var traps [][]agentx.Varbind
	for i := range start.Checker.VirtualServers {
		traps = append(traps, QuorumTrap(checkerSwitches, "kgsnmp-vm", &start.Checker.VirtualServers[i], false))
	}
	for _, st := range []*State{down, up} {
		vs := &st.Checker.VirtualServers[0]
		traps = append(traps, RealServerTrap(checkerSwitches, "kgsnmp-vm", vs, &vs.RealServers[1]),
			QuorumTrap(checkerSwitches, "kgsnmp-vm", vs, false))
	}
	return map[string][]string{
		"checker-down.walk": mask(buildLines(down, checkerSwitches, KeepalivedOID.String())),
		"checker-up.walk":   mask(buildLines(up, checkerSwitches, KeepalivedOID.String())),
		"checker.traps":     trapLines(traps),
	}
}

// TestCheckerMatchesKeepalivedGolden compares our checker tables and
// traps with keepalived's recorded in the VM (testdata/snmp/checker-*).
func TestCheckerMatchesKeepalivedGolden(t *testing.T) {
	ours := checkerOurs(t)
	n := 0
	for _, name := range []string{"checker-down.walk", "checker-up.walk", "checker.traps"} {
		want := readGolden(t, name)
		n += len(want)
		if d := diffLines(ours[name], want); d != "" {
			t.Errorf("%s: ours (-) vs keepalived (+):\n%s", name, d)
		}
	}
	t.Logf("%d lines compared", n)
}
