package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
	"keepalived-go/internal/snmptest"
	"keepalived-go/snmp"
)

// snmpScenarioConf is node a's and b's config: a lone VRRPv2 IPv4
// instance (PASS, a tracked script, notify scripts, a labelled VIP, an
// eVIP) and a sync group of a VRRPv2 instance and a VRRPv3 IPv6 one.
// %[2]s carries a's SNMP keywords.
//
// The tracked script is on the lone instance: keepalived holds an
// instance whose unweighted scripts have not reported yet in INIT, and a
// sync group of such an instance in INIT with it, so its first group
// notification follows its members'; our VRRP engine starts at once
// (its group notification first), which would reorder the start traps
// of a group tracking a script.
const snmpScenarioConf = `global_defs {
	router_id %[1]s
	%[2]s
}
vrrp_script chk_ok {
	script "/bin/true"
	interval 1
}
vrrp_sync_group G1 {
	group {
		VI_2
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
	authentication {
		auth_type PASS
		auth_pass kgsnmp
	}
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
}
vrrp_instance VI_2 {
	state BACKUP
	interface eth0
	virtual_router_id 53
	priority %[3]d
	advert_int 1
	virtual_ipaddress {
		198.51.100.12/24
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

// snmpRun is what one daemon on node a showed through snmpd.
type snmpRun struct {
	backup, master map[string][]string // MIB -> walk lines
	failover       []string            // masked traps of start and failover
	stop           []string            // masked traps of a's shutdown
	sets           []string
	gets           []string // snmpget answers in MASTER
	auth           []string // the distinct traps of adverts with a bad password
	log            string
}

var snmpMIBs = []struct{ name, oid string }{
	{"KEEPALIVED-MIB", snmp.KeepalivedOID.String()},
	{"VRRP-MIB", snmp.RFC2787OID.String()},
	{"VRRPV3-MIB", snmp.RFC6527OID.String()},
}

// snmpSets are Sets keepalived accepts or refuses in various ways.
var snmpSets = [][]string{
	{snmp.VRRPOID.Append(3, 1, 7, 1).String(), "i", "200"}, // base priority: accepted
	{snmp.VRRPOID.Append(3, 1, 7, 1).String(), "i", "0"},   // wrongValue
	{snmp.VRRPOID.Append(3, 1, 13, 3).String(), "i", "2"},  // preempt off: accepted
	{snmp.VRRPOID.Append(3, 1, 13, 3).String(), "i", "3"},  // wrongValue
	{snmp.VRRPOID.Append(3, 1, 27, 3).String(), "i", "1"},  // accept of a VRRPv3 instance
	{snmp.VRRPOID.Append(3, 1, 27, 1).String(), "i", "1"},  // accept of a VRRPv2 instance
	{snmp.VRRPOID.Append(3, 1, 2, 1).String(), "s", "x"},   // read-only
	{snmp.VRRPOID.Append(3, 1, 7, 1).String(), "s", "200"}, // wrongType
}

// snmpGets are single Gets: rows of each MIB, and keepalived's RFC 2787
// tables, which answer no Get.
var snmpGets = []string{
	snmp.VRRPOID.Append(3, 1, 2, 2).String(), snmp.VRRPOID.Append(3, 1, 8, 9).String(),
	snmp.RFC2787OID.Append(1, 3, 1, 3, 2, 51).String(), snmp.RFC2787OID.Append(1, 3, 1, 3, 2, 53).String(),
	snmp.RFC2787OID.Append(2, 4, 1, 1, 2, 51).String(), snmp.RFC2787OID.Append(1, 1, 0).String(),
	snmp.RFC6527OID.Append(1, 1, 1, 1, 6, 2, 52, 2).String(),
}

var snmpMaskRE = regexp.MustCompile(`= (Counter32|Counter64|Timeticks): .*$`)

func snmpMask(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = snmpMaskRE.ReplaceAllString(l, "= $1: *")
	}
	return out
}

// keepalivedTraps are the traps of the three MIBs, masked, one line per
// varbind (snmpd's own coldStart and the like left out).
func keepalivedTraps(trs []snmptest.Trap) []string {
	var out []string
	for _, tr := range trs {
		if !strings.HasPrefix(tr.OID, ".1.3.6.1.4.1.9586.") && !strings.HasPrefix(tr.OID, ".1.3.6.1.2.1.68.") &&
			!strings.HasPrefix(tr.OID, ".1.3.6.1.2.1.207.") {
			continue
		}
		out = append(out, "TRAP "+tr.OID)
		for _, v := range snmpMask(tr.Varbinds) {
			out = append(out, "  "+v)
		}
	}
	return out
}

func countTraps(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "TRAP ") {
			n++
		}
	}
	return n
}

// waitTrapsQuiet waits for at least min traps, then until none came for
// quiet (at most max).
func waitTrapsQuiet(t *testing.T, td *snmptest.Trapd, min int, quiet, max time.Duration) []string {
	t.Helper()
	var lines []string
	nettest.WaitFor(t, max, fmt.Sprintf("%d traps", min), func() bool {
		lines = keepalivedTraps(td.Traps(""))
		return countTraps(lines) >= min
	})
	n, since := len(lines), time.Now()
	for deadline := time.Now().Add(max); time.Now().Before(deadline) && time.Since(since) < quiet; time.Sleep(50 * time.Millisecond) {
		if lines = keepalivedTraps(td.Traps("")); len(lines) != n {
			n, since = len(lines), time.Now()
		}
	}
	return lines
}

func setMACAddr(t *testing.T, n *nettest.Node, mac string) {
	t.Helper()
	for _, args := range [][]string{{"link", "set", "eth0", "down"}, {"link", "set", "eth0", "address", mac}, {"link", "set", "eth0", "up"}} {
		if out, err := exec.Command("ip", append([]string{"-n", n.NS}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
}

// waitInstances polls a's vrrpInstanceState until both instances are in
// state want and the script's result is good.
func waitInstances(t *testing.T, d *snmptest.SNMPD, want int, what string) {
	t.Helper()
	nettest.WaitFor(t, 30*time.Second, what, func() bool {
		out, err := d.Get(snmp.VRRPOID.Append(3, 1, 4, 1).String(), snmp.VRRPOID.Append(3, 1, 4, 2).String(),
			snmp.VRRPOID.Append(3, 1, 4, 3).String(), snmp.VRRPOID.Append(9, 1, 6, 1).String())
		return err == nil && strings.Count(out, fmt.Sprintf("INTEGER: %d", want)) >= 3 && strings.HasSuffix(strings.TrimSpace(out), "INTEGER: 3")
	})
}

func writeSNMPConf(t *testing.T, dir, name, routerID, keys string, prio int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(fmt.Sprintf(snmpScenarioConf, routerID, keys, prio)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func startSNMPNode(n *nettest.Node, argv0, dir, conf string) *nettest.Proc {
	tag := strings.TrimSuffix(filepath.Base(conf), ".conf")
	return n.Start(nil, argv0, "-n", "-l", "-D", "-f", conf, "-p", filepath.Join(dir, tag+".pid"),
		"-r", filepath.Join(dir, tag+"-vrrp.pid"), "-c", filepath.Join(dir, tag+"-check.pid"))
}

// runSNMPScenario runs argv0 on a with every SNMP switch against Debian's
// keepalived on b (priority 200): a settles in BACKUP and is walked, b
// stops, a takes over and is walked, Sets are sent, and a stops.
func runSNMPScenario(t *testing.T, a, b, c *nettest.Node, argv0 string) *snmpRun {
	dir := t.TempDir()
	td := snmptest.StartTrapd(t, a.NS)
	d := snmptest.StartSNMPD(t, snmptest.Options{NS: a.NS, TrapSink: td.Addr, Writable: true})
	keys := "enable_snmp_vrrp\n\tenable_snmp_rfcv2\n\tenable_snmp_rfcv3\n\tenable_snmp_checker\n\tenable_traps\n\tsnmp_socket " + d.AgentX
	pb := startSNMPNode(b, "/usr/sbin/keepalived", dir, writeSNMPConf(t, dir, "b.conf", "kgsnmp-b", "", 200))
	nettest.WaitFor(t, 30*time.Second, "b MASTER", func() bool { return b.HasAddr("198.51.100.10") })
	pa := startSNMPNode(a, argv0, dir, writeSNMPConf(t, dir, "a.conf", "kgsnmp-a", keys, 150))
	run := &snmpRun{}
	defer func() { run.log = pa.Output() }()
	t.Cleanup(func() {
		pb.Signal(syscall.SIGTERM)
		pa.Signal(syscall.SIGTERM)
		pb.Wait()
		pa.Wait()
		if t.Failed() {
			t.Logf("%s on a:\n%s\nsnmpd:\n%s", argv0, pa.Output(), d.Log())
		}
	})
	waitInstances(t, d, 1, "a's instances BACKUP with a good script")
	time.Sleep(3 * time.Second) // adverts from b: master addresses and counters settle
	run.backup = map[string][]string{}
	for _, m := range snmpMIBs {
		run.backup[m.name] = d.Walk(m.oid)
	}
	pb.Signal(syscall.SIGTERM)
	pb.Wait()
	waitInstances(t, d, 2, "a's instances MASTER after b stopped")
	nettest.WaitFor(t, 10*time.Second, "a's VIPs", func() bool { return a.HasAddr("198.51.100.10") })
	time.Sleep(2 * time.Second)
	run.master = map[string][]string{}
	for _, m := range snmpMIBs {
		run.master[m.name] = d.Walk(m.oid)
	}
	for _, o := range snmpGets {
		out, _ := d.Get(o)
		run.gets = append(run.gets, strings.TrimSpace(out))
	}
	// 3 instances x (INIT->BACKUP, BACKUP->MASTER), the group twice and
	// five RFC new-master notifications.
	run.failover = waitTrapsQuiet(t, td, 13, 2*time.Second, 20*time.Second)
	run.auth = authPhase(t, dir, c, td, countTraps(run.failover))
	for _, c := range snmpSets {
		run.sets = append(run.sets, strings.Join(c, " ")+" -> "+strings.TrimSpace(d.Set(c...)))
	}
	n := countTraps(keepalivedTraps(td.Traps("")))
	pa.Signal(syscall.SIGTERM)
	pa.Wait()
	all := waitTrapsQuiet(t, td, n+1, 2*time.Second, 20*time.Second)
	for i, trap := 0, 0; i < len(all); i++ {
		if strings.HasPrefix(all[i], "TRAP ") {
			trap++
		}
		if trap > n {
			run.stop = append(run.stop, all[i])
		}
	}
	return run
}

// authConf is node c's: VI_1 with another password, so that a, MASTER,
// drops c's adverts as authentication failures once c thinks itself
// MASTER too.
const authConf = `global_defs {
	router_id kgsnmp-c
}
vrrp_instance VI_1 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority 50
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass wrong
	}
	virtual_ipaddress {
		198.51.100.10/24
	}
}
`

// authPhase runs Debian's keepalived on c with a wrong password until a
// sent an authentication failure notification, stops it, and returns the
// distinct notifications after the first skip ones (how many adverts
// arrive depends on timing; what each says does not).
func authPhase(t *testing.T, dir string, c *nettest.Node, td *snmptest.Trapd, skip int) []string {
	t.Helper()
	conf := filepath.Join(dir, "c.conf")
	if err := os.WriteFile(conf, []byte(authConf), 0o644); err != nil {
		t.Fatal(err)
	}
	pc := startSNMPNode(c, "/usr/sbin/keepalived", dir, conf)
	nettest.WaitFor(t, 20*time.Second, "an authentication failure notification", func() bool {
		return countLines(keepalivedTraps(td.Traps("")), "TRAP .1.3.6.1.2.1.68.0.2") > 0
	})
	pc.Signal(syscall.SIGTERM)
	pc.Wait()
	all := waitTrapsQuiet(t, td, skip+1, time.Second, 10*time.Second)
	var out []string
	seen := map[string]bool{}
	trap, cur := 0, ""
	flush := func() {
		if trap > skip && cur != "" && !seen[cur] {
			seen[cur] = true
			out = append(out, cur)
		}
	}
	for _, l := range all {
		if strings.HasPrefix(l, "TRAP ") {
			flush()
			trap++
			cur = l
			continue
		}
		cur += "\n" + l
	}
	flush()
	sort.Strings(out)
	return out
}

func diffTexts(a, b []string) string {
	if strings.Join(a, "\n") == strings.Join(b, "\n") {
		return ""
	}
	return "--- ours\n" + strings.Join(a, "\n") + "\n--- keepalived\n" + strings.Join(b, "\n")
}

// TestSNMPDaemonMatchesKeepalived is issue 17's SNMP must-show with the
// daemon: snmpd as AgentX master on node a, Debian's keepalived as the
// peer on b; a runs Debian's keepalived, then our daemon, with the same
// config. The walks of the three MIBs in BACKUP and in MASTER, the traps
// of the start, the failover and the shutdown, and the answers to Sets
// must be the same, counters and times masked.
func TestSNMPDaemonMatchesKeepalived(t *testing.T) {
	keepalivedAvailable(t)
	snmptest.Skip(t)
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	a := lan.AddNode("a", "198.51.100.2/24")
	b := lan.AddNode("b", "198.51.100.3/24")
	setMACAddr(t, a, "02:00:00:00:00:0a")
	setMACAddr(t, b, "02:00:00:00:00:0b")
	// a's link-local address must be usable before VI_6 starts.
	nettest.WaitFor(t, 10*time.Second, "a's link-local address", func() bool {
		out, _ := a.Exec("ip", "-6", "addr", "show", "dev", "eth0", "scope", "link", "-tentative")
		return strings.Contains(out, "fe80::")
	})
	c := lan.AddNode("c", "198.51.100.4/24")
	theirs := runSNMPScenario(t, a, b, c, "/usr/sbin/keepalived")
	ours := runSNMPScenario(t, a, b, c, bin)
	total := 0
	for _, m := range snmpMIBs {
		for phase, pair := range map[string][2][]string{"BACKUP": {ours.backup[m.name], theirs.backup[m.name]},
			"MASTER": {ours.master[m.name], theirs.master[m.name]}} {
			if len(pair[1]) == 0 {
				t.Errorf("%s in %s: keepalived's walk is empty", m.name, phase)
			}
			total += len(pair[1])
			if d := diffTexts(snmpMask(pair[0]), snmpMask(pair[1])); d != "" {
				t.Errorf("snmpwalk %s in %s differs:\n%s", m.name, phase, d)
			}
		}
	}
	if d := diffTexts(ours.failover, theirs.failover); d != "" {
		t.Errorf("start and failover traps differ:\n%s", d)
	}
	if len(theirs.auth) == 0 {
		t.Error("keepalived sent no notification for the bad password")
	}
	if d := diffTexts(ours.auth, theirs.auth); d != "" {
		t.Errorf("authentication failure notifications differ:\n%s", d)
	}
	if d := diffTexts(ours.stop, theirs.stop); d != "" {
		t.Errorf("shutdown traps differ:\n%s", d)
	}
	if d := diffTexts(snmpMask(ours.gets), snmpMask(theirs.gets)); d != "" {
		t.Errorf("snmpget answers differ:\n%s", d)
	}
	if d := diffTexts(ours.sets, theirs.sets); d != "" {
		t.Errorf("snmpset answers differ:\n%s", d)
	}
	for _, l := range []string{"(VI_1) base priority changed from 150 to 200 via SNMP.", "(VI_6) preemption disabled with SNMP"} {
		if !strings.Contains(ours.log, l) {
			t.Errorf("our daemon did not log %q", l)
		}
	}
	t.Logf("compared %d OIDs in 6 walks, %d + %d trap lines, %d Gets, %d Sets; bad password notifications:\n%s", total,
		len(theirs.failover), len(theirs.stop), len(theirs.gets), len(theirs.sets), strings.Join(theirs.auth, "\n"))
}
