package snmp

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
	"keepalived-go/internal/snmptest"
)

var update = flag.Bool("update", false, "rewrite the golden walks and traps in testdata/snmp from Debian's keepalived")

const goldenDir = "../testdata/snmp"

// The scenario: node a runs keepalived with SNMP and every switch, node b
// runs keepalived without SNMP at a higher priority. a settles in BACKUP
// ("backup" walks), then b stops and a takes over ("master" walks), and
// the traps of the whole run are kept.
const scenarioConf = `global_defs {
	router_id %[1]s
	%[2]s
}
static_ipaddress {
	203.0.113.50/24 dev eth0 scope link
}
static_routes {
	203.0.113.128/25 via 198.51.100.1 dev eth0 table 100 metric 5
	203.0.113.192/26 table 101 nexthop via 198.51.100.4 dev eth0 weight 2 nexthop via 198.51.100.5 dev eth0
}
static_rules {
	from 203.0.113.0/24 table 100 priority 100
}
vrrp_script chk_ok {
	script "/bin/true"
	interval 1
}
vrrp_sync_group G1 {
	group {
		VI_1
		VI_6
	}
	notify_master "/bin/echo group master"
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority %[3]d
	advert_int 1
	track_interface {
		eth0
	}
	track_script {
		chk_ok
	}
	notify_master "/bin/echo master"
	virtual_ipaddress {
		198.51.100.10/24
		198.51.100.11/24 dev eth0 label eth0:vip
	}
	virtual_ipaddress_excluded {
		203.0.113.10/24
	}
	virtual_routes {
		203.0.113.0/26 via 198.51.100.1 dev eth0
	}
	virtual_rules {
		to 203.0.113.64/26 table 100 priority 200
	}
}
vrrp_instance VI_6 {
	state BACKUP
	interface eth0
	virtual_router_id 52
	priority %[3]d
	version 3
	advert_int 0.5
	virtual_ipaddress {
		2001:db8::10/64
	}
}
`

// facts are what a run observed that the config does not say.
type facts struct {
	IfIndex    int
	MAC        string // a's eth0
	Peer4      string // b's IPv4 source
	Peer6      string // b's link-local source
	Primary6   string // a's link-local
	BackupWalk []string
}

func skipLive(t *testing.T) {
	t.Helper()
	nettest.Skip(t)
	snmptest.Skip(t)
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("needs Debian's keepalived (apt-get install keepalived)")
	}
}

// setMAC gives a node's eth0 a fixed MAC, and so a fixed link-local
// address, so the recorded walks do not change from run to run.
func setMAC(t *testing.T, n *nettest.Node, mac string) {
	t.Helper()
	for _, args := range [][]string{{"link", "set", "eth0", "down"}, {"link", "set", "eth0", "address", mac}, {"link", "set", "eth0", "up"}} {
		if out, err := exec.Command("ip", append([]string{"-n", n.NS}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
}

func ifIndex(t *testing.T, n *nettest.Node) int {
	t.Helper()
	out := n.MustExec("cat", "/sys/class/net/eth0/ifindex")
	var i int
	fmt.Sscan(out, &i)
	return i
}

func linkLocal(t *testing.T, n *nettest.Node) string {
	t.Helper()
	nettest.WaitFor(t, 5*time.Second, "link-local address", func() bool {
		out, _ := n.Exec("ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
		return strings.Contains(out, "fe80::")
	})
	out := n.MustExec("ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet6" {
			return strings.Split(f[i+1], "/")[0]
		}
	}
	t.Fatalf("no link-local address in %q", out)
	return ""
}

// keepalivedRun is one run of the scenario with Debian's keepalived on a.
type keepalivedRun struct {
	facts  facts
	backup map[string][]string // MIB name -> walk lines
	master map[string][]string
	traps  []snmptest.Trap
	sets   []string // snmpset's output for each of setCommands
	// applied is what our Setter was asked to do (ours only).
	applied []string
}

// setCommands are Sets keepalived accepts or refuses in various ways,
// sent after the takeover.
var setCommands = [][]string{
	{VRRPOID.Append(3, 1, 7, 1).String(), "i", "200"}, // base priority: accepted
	{VRRPOID.Append(3, 1, 7, 1).String(), "i", "0"},   // priority 0: wrongValue
	{VRRPOID.Append(3, 1, 13, 2).String(), "i", "2"},  // preempt off: accepted
	{VRRPOID.Append(3, 1, 13, 2).String(), "i", "3"},  // wrongValue
	{VRRPOID.Append(3, 1, 27, 2).String(), "i", "1"},  // accept of a VRRPv3 instance: refused
	{VRRPOID.Append(3, 1, 27, 1).String(), "i", "1"},  // accept of a VRRPv2 instance
	{VRRPOID.Append(3, 1, 2, 1).String(), "s", "x"},   // a read-only column
	{VRRPOID.Append(3, 1, 7, 1).String(), "s", "200"}, // wrong type
}

func runSets(d *snmptest.SNMPD) []string {
	var out []string
	for _, c := range setCommands {
		out = append(out, strings.Join(c, " ")+" -> "+strings.TrimSpace(d.Set(c...)))
	}
	return out
}

var mibRoots = []struct{ name, oid string }{
	{"keepalived", KeepalivedOID.String()},
	{"vrrp", RFC2787OID.String()},
	{"vrrpv3", RFC6527OID.String()},
}

func walkAll(d *snmptest.SNMPD) map[string][]string {
	out := map[string][]string{}
	for _, m := range mibRoots {
		out[m.name] = d.Walk(m.oid)
	}
	return out
}

func writeConf(t *testing.T, dir, name, routerID, snmp string, prio int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(fmt.Sprintf(scenarioConf, routerID, snmp, prio)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func startKeepalived(t *testing.T, n *nettest.Node, dir, conf string) *nettest.Proc {
	t.Helper()
	tag := strings.TrimSuffix(filepath.Base(conf), ".conf")
	return n.Start(nil, "/usr/sbin/keepalived", "-n", "-l", "-D", "-f", conf,
		"-p", filepath.Join(dir, tag+".pid"), "-r", filepath.Join(dir, tag+"-vrrp.pid"), "-c", filepath.Join(dir, tag+"-check.pid"))
}

// waitStates polls a's instance states (vrrpInstanceState) until both are
// want, and its script result until it is good.
func waitStates(t *testing.T, d *snmptest.SNMPD, want int, what string) {
	t.Helper()
	nettest.WaitFor(t, 30*time.Second, what, func() bool {
		out, err := d.Get(VRRPOID.Append(3, 1, 4, 1).String(), VRRPOID.Append(3, 1, 4, 2).String(), VRRPOID.Append(9, 1, 6, 1).String())
		return err == nil && strings.Count(out, fmt.Sprintf("INTEGER: %d", want)) >= 2 && strings.HasSuffix(strings.TrimSpace(out), "INTEGER: 3")
	})
}

func runKeepalivedScenario(t *testing.T) *keepalivedRun {
	lan := nettest.NewLAN(t)
	a := lan.AddNode("a", "198.51.100.2/24")
	b := lan.AddNode("b", "198.51.100.3/24")
	setMAC(t, a, "02:00:00:00:00:0a")
	setMAC(t, b, "02:00:00:00:00:0b")
	run := &keepalivedRun{facts: facts{IfIndex: ifIndex(t, a), MAC: "02:00:00:00:00:0a", Peer4: "198.51.100.3",
		Peer6: linkLocal(t, b), Primary6: linkLocal(t, a)}}

	td := snmptest.StartTrapd(t, a.NS)
	d := snmptest.StartSNMPD(t, snmptest.Options{NS: a.NS, TrapSink: td.Addr, Writable: true})
	dir := t.TempDir()
	snmpKeys := "enable_snmp_vrrp\n\tenable_snmp_rfcv2\n\tenable_snmp_rfcv3\n\tenable_snmp_checker\n\tenable_traps\n\tsnmp_socket " + d.AgentX
	confB := writeConf(t, dir, "b.conf", "kgsnmp-b", "", 200)
	confA := writeConf(t, dir, "a.conf", "kgsnmp-a", snmpKeys, 150)
	pb := startKeepalived(t, b, dir, confB)
	nettest.WaitFor(t, 30*time.Second, "b to become MASTER", func() bool { return b.HasAddr("198.51.100.10") })
	pa := startKeepalived(t, a, dir, confA)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived a:\n%s\nkeepalived b:\n%s\nsnmpd:\n%s", pa.Output(), pb.Output(), d.Log())
		}
	})
	waitStates(t, d, 1, "a's instances in BACKUP with a good script")
	time.Sleep(3 * time.Second) // a few adverts from b: MasterIP and counters settle
	run.backup = walkAll(d)

	pb.Signal(syscall.SIGTERM)
	waitStates(t, d, 2, "a's instances in MASTER after b stopped")
	nettest.WaitFor(t, 10*time.Second, "a's VIPs", func() bool { return a.HasAddr("198.51.100.10") })
	time.Sleep(2 * time.Second)
	run.master = walkAll(d)
	// 2 instances x (init->BACKUP, BACKUP->MASTER), the group's two, and
	// three RFC new-master notifications.
	run.traps = waitKeepalivedTraps(t, td, 9)
	run.sets = runSets(d)
	return run
}

// mask hides what changes from run to run: counters and times.
var maskRE = regexp.MustCompile(`= (Counter32|Counter64|Timeticks): .*$`)

func mask(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = maskRE.ReplaceAllString(l, "= $1: *")
	}
	return out
}

func maskTraps(trs []snmptest.Trap) []string {
	var out []string
	for _, tr := range trs {
		if !strings.HasPrefix(tr.OID, ".1.3.6.1.4.1.9586") && !strings.HasPrefix(tr.OID, ".1.3.6.1.2.1.68") && !strings.HasPrefix(tr.OID, ".1.3.6.1.2.1.207") {
			continue // snmpd's own coldStart and the like
		}
		out = append(out, "TRAP "+tr.OID)
		for _, v := range mask(tr.Varbinds) {
			out = append(out, "  "+v)
		}
	}
	return out
}

func readGolden(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatalf("%v (record it with go test ./snmp -run TestKeepalivedLive -update as root)", err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func writeGolden(t *testing.T, name string, lines []string) {
	t.Helper()
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKeepalivedLive runs the scenario with Debian's keepalived, then our
// subagent through its own snmpd and snmptrapd with a provider fed the
// same facts, and compares the walks of the three MIBs and the traps,
// counters and times masked. With -update it rewrites the golden files
// from keepalived's run.
func TestKeepalivedLive(t *testing.T) {
	skipLive(t)
	run := runKeepalivedScenario(t)
	ours := runOurs(t, run.facts)
	total := 0
	for _, m := range mibRoots {
		for _, phase := range []string{"backup", "master"} {
			theirs, mine := run.backup[m.name], ours.backup[m.name]
			if phase == "master" {
				theirs, mine = run.master[m.name], ours.master[m.name]
			}
			name := m.name + "-" + phase + ".walk"
			if *update {
				writeGolden(t, name, mask(theirs))
			}
			total += len(theirs)
			if d := diffLines(mask(mine), mask(theirs)); d != "" {
				t.Errorf("%s: ours (-) vs keepalived (+):\n%s", name, d)
			}
		}
	}
	theirTraps, myTraps := maskTraps(run.traps), maskTraps(ours.traps)
	if *update {
		writeGolden(t, "failover.traps", theirTraps)
		writeGolden(t, "facts", []string{fmt.Sprintf("ifindex %d", run.facts.IfIndex), "mac " + run.facts.MAC,
			"peer4 " + run.facts.Peer4, "peer6 " + run.facts.Peer6, "primary6 " + run.facts.Primary6})
	}
	if d := diffLines(myTraps, theirTraps); d != "" {
		t.Errorf("traps: ours (-) vs keepalived (+):\n%s", d)
	}
	if *update {
		writeGolden(t, "sets", run.sets)
	}
	if d := diffLines(ours.sets, run.sets); d != "" {
		t.Errorf("snmpset: ours (-) vs keepalived (+):\n%s", d)
	}
	want := []string{"priority VI_1 200", "preempt VI_6 false"}
	if fmt.Sprint(ours.applied) != fmt.Sprint(want) {
		t.Errorf("sets applied %q, want %q", ours.applied, want)
	}
	t.Logf("compared %d OIDs in 6 walks and %d trap lines", total, len(theirTraps))
}

// runOurs serves the scenario's states with our subagent through a
// private snmpd, walking each phase and sending its traps.
func runOurs(t *testing.T, f facts) *keepalivedRun {
	td := snmptest.StartTrapd(t, "")
	d := snmptest.StartSNMPD(t, snmptest.Options{TrapSink: td.Addr, Writable: true})
	states := map[string]*State{"backup": scenarioState(t, f, "backup"), "master": scenarioState(t, f, "master")}
	var phase atomic.Value
	phase.Store("backup")
	rec := &recordingSetter{}
	srv, err := NewServer(ServerConfig{Socket: d.AgentX, Switches: scenarioSwitches, MaxAge: -1, Setter: rec,
		State: func() *State { return states[phase.Load().(string)] }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-srv.Agent().Connected():
	case <-time.After(10 * time.Second):
		t.Fatalf("no AgentX session:\n%s", d.Log())
	}
	traps := scenarioTraps(t, f)
	out := &keepalivedRun{facts: f}
	srv.Send(traps[:3]...) // both instances and the group enter BACKUP
	out.backup = walkAll(d)
	phase.Store("master")
	srv.Send(traps[3:]...)
	out.master = walkAll(d)
	out.traps = waitKeepalivedTraps(t, td, len(traps))
	out.sets = runSets(d)
	out.applied = rec.applied()
	return out
}

// recordingSetter records the Sets it is asked to apply.
type recordingSetter struct {
	mu  sync.Mutex
	log []string
}

func (r *recordingSetter) add(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
	return nil
}

func (r *recordingSetter) applied() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

func (r *recordingSetter) SetBasePriority(in string, p uint8) error {
	return r.add(fmt.Sprintf("priority %s %d", in, p))
}

func (r *recordingSetter) SetPreempt(in string, on bool) error {
	return r.add(fmt.Sprintf("preempt %s %v", in, on))
}

func (r *recordingSetter) SetRealServerWeight(vs *VirtualServer, rs *RealServer, w uint32) error {
	return r.add(fmt.Sprintf("weight %v:%d %v:%d %d", vs.Addr, vs.Port, rs.Addr, rs.Port, w))
}

// waitKeepalivedTraps waits for n traps of the three MIBs (snmpd's own,
// like coldStart, do not count).
func waitKeepalivedTraps(t *testing.T, td *snmptest.Trapd, n int) []snmptest.Trap {
	t.Helper()
	var trs []snmptest.Trap
	nettest.WaitFor(t, 15*time.Second, fmt.Sprintf("%d traps", n), func() bool {
		trs = td.Traps("")
		return strings.Count(strings.Join(maskTraps(trs), "\n"), "TRAP ") >= n
	})
	return trs
}
