// Package snmptest runs private net-snmp daemons for tests: an snmpd that
// is an AgentX master on a socket in a temporary directory and answers
// SNMP on 127.0.0.1 (or inside a network namespace), and an snmptrapd that
// logs the traps it receives. Neither reads the system's configuration,
// MIBs or persistent state.
package snmptest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Skip skips the test when net-snmp's tools are not installed.
func Skip(t testing.TB) {
	t.Helper()
	for _, p := range []string{"snmpd", "snmpwalk", "snmptrapd", "snmpget"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("needs %s (apt-get install snmpd snmp snmptrapd; scripts/deps.sh)", p)
		}
	}
}

// Options place the daemons.
type Options struct {
	// NS runs the daemon inside this network namespace (ip netns exec).
	NS string
	// AgentX is snmpd's agentXSocket; empty means a Unix socket in the
	// daemon's directory.
	AgentX string
	// TrapSink is where snmpd sends traps (host:port); empty sends none.
	TrapSink string
	// Writable lets community "private" set objects (Set).
	Writable bool
}

// SNMPD is a running private snmpd.
type SNMPD struct {
	t      testing.TB
	Dir    string
	AgentX string // the agentXSocket value, as a subagent is given it
	Addr   string // 127.0.0.1:port where it answers SNMP
	ns     string
	cmd    *exec.Cmd
	log    string
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func command(ns string, env []string, argv ...string) *exec.Cmd {
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "MIBS=", "MIBDIRS=/nonexistent")
	// A daemon must not outlive the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// StartSNMPD starts snmpd as AgentX master and waits until it answers.
func StartSNMPD(t testing.TB, o Options) *SNMPD {
	t.Helper()
	Skip(t)
	dir := t.TempDir()
	s := &SNMPD{t: t, Dir: dir, ns: o.NS, log: filepath.Join(dir, "snmpd.log")}
	s.AgentX = o.AgentX
	if s.AgentX == "" {
		s.AgentX = "unix:" + filepath.Join(dir, "agentx.sock")
	}
	port := FreeUDPPort(t)
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("master agentx\nagentXSocket %s\nagentXTimeout 1\nagentXRetries 1\nagentaddress udp:%s\nrocommunity public 127.0.0.1\n", s.AgentX, s.Addr)
	if o.Writable {
		conf += "rwcommunity private 127.0.0.1\n"
	}
	if o.TrapSink != "" {
		conf += "trap2sink " + o.TrapSink + " public\n"
	}
	cf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = command(o.NS, []string{"SNMP_PERSISTENT_DIR=" + filepath.Join(dir, "persist")},
		"snmpd", "-f", "-Lf", s.log, "-C", "-c", cf, "-p", filepath.Join(dir, "snmpd.pid"), "-m", "")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("snmpd: %v", err)
	}
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Get("1.3.6.1.2.1.1.3.0"); err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd did not answer on %s:\n%s", s.Addr, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills snmpd (it is also stopped at test end).
func (s *SNMPD) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Log is snmpd's log so far.
func (s *SNMPD) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

func (s *SNMPD) tool(name string, args ...string) (string, error) {
	argv := append([]string{name, "-v2c", "-c", "public", "-On", "-m", "", "-t", "2", "-r", "1", s.Addr}, args...)
	out, err := command(s.ns, nil, argv...).CombinedOutput()
	return string(out), err
}

// Set runs snmpset with community private (Options.Writable) on
// "OID TYPE VALUE" triples and returns its output, errors included.
func (s *SNMPD) Set(args ...string) string {
	argv := append([]string{"snmpset", "-v2c", "-c", "private", "-On", "-m", "", "-t", "2", "-r", "1", s.Addr}, args...)
	out, _ := command(s.ns, nil, argv...).CombinedOutput()
	return string(out)
}

// Get runs snmpget and returns its output.
func (s *SNMPD) Get(oids ...string) (string, error) { return s.tool("snmpget", oids...) }

// Walk runs snmpwalk under oid and returns its lines; a subtree with
// nothing in it gives no lines.
func (s *SNMPD) Walk(oid string) []string {
	s.t.Helper()
	out, err := s.tool("snmpwalk", oid)
	if err != nil {
		s.t.Fatalf("snmpwalk %s: %v\n%s", oid, err, out)
	}
	return walkLines(out)
}

// BulkWalk runs snmpbulkwalk (GetBulk requests) under oid.
func (s *SNMPD) BulkWalk(oid string) []string {
	s.t.Helper()
	out, err := s.tool("snmpbulkwalk", oid)
	if err != nil {
		s.t.Fatalf("snmpbulkwalk %s: %v\n%s", oid, err, out)
	}
	return walkLines(out)
}

func walkLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if l == "" || strings.Contains(l, "No Such Object available") || strings.Contains(l, "No more variables left") {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// Trapd is a running private snmptrapd.
type Trapd struct {
	t    testing.TB
	Addr string // 127.0.0.1:port it listens on
	cmd  *exec.Cmd
	log  string
}

// StartTrapd starts snmptrapd logging every trap with community public.
func StartTrapd(t testing.TB, ns string) *Trapd {
	t.Helper()
	Skip(t)
	dir := t.TempDir()
	td := &Trapd{t: t, Addr: fmt.Sprintf("127.0.0.1:%d", FreeUDPPort(t)), log: filepath.Join(dir, "traps.log")}
	cf := filepath.Join(dir, "snmptrapd.conf")
	if err := os.WriteFile(cf, []byte("authCommunity log public\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// One trap per line: %V separates varbinds with a tab.
	td.cmd = command(ns, []string{"SNMP_PERSISTENT_DIR=" + filepath.Join(dir, "persist")},
		"snmptrapd", "-f", "-C", "-c", cf, "-m", "", "-On", "-Lf", td.log, "-F", "TRAP %V\\t%v\\n", td.Addr)
	if err := td.cmd.Start(); err != nil {
		t.Fatalf("snmptrapd: %v", err)
	}
	t.Cleanup(func() { td.cmd.Process.Kill(); td.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(td.raw(), "NET-SNMP version") {
		if time.Now().After(deadline) {
			t.Fatalf("snmptrapd did not start:\n%s", td.raw())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return td
}

func (td *Trapd) raw() string {
	b, _ := os.ReadFile(td.log)
	return string(b)
}

// Trap is one received notification: its varbinds as snmptrapd printed
// them, sysUpTime.0 left out.
type Trap struct {
	OID      string   // snmpTrapOID.0's value
	Varbinds []string // "OID = TYPE: value", in the order received
}

func (tr Trap) String() string {
	return tr.OID + "\n\t" + strings.Join(tr.Varbinds, "\n\t")
}

var vbSplit = regexp.MustCompile(`\t+`)

// Traps returns the traps received so far, coldStart and the like left
// out (only those under prefix when it is set).
func (td *Trapd) Traps(prefix string) []Trap {
	var out []Trap
	for _, tr := range ParseTraps(td.raw()) {
		if prefix == "" || strings.HasPrefix(tr.OID, prefix) {
			out = append(out, tr)
		}
	}
	return out
}

// ParseTraps reads the traps of a log written with Trapd's format.
func ParseTraps(log string) []Trap {
	var out []Trap
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "TRAP ")
		if !ok {
			continue
		}
		var tr Trap
		for _, vb := range vbSplit.Split(strings.TrimSpace(line), -1) {
			switch {
			case strings.HasPrefix(vb, ".1.3.6.1.2.1.1.3.0 = "):
			case strings.HasPrefix(vb, ".1.3.6.1.6.3.1.1.4.1.0 = OID: "):
				tr.OID = strings.TrimPrefix(vb, ".1.3.6.1.6.3.1.1.4.1.0 = OID: ")
			default:
				tr.Varbinds = append(tr.Varbinds, vb)
			}
		}
		out = append(out, tr)
	}
	return out
}

// WaitTraps waits until n traps under prefix arrived and returns them.
func (td *Trapd) WaitTraps(prefix string, n int, timeout time.Duration) []Trap {
	td.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		trs := td.Traps(prefix)
		if len(trs) >= n {
			return trs
		}
		if time.Now().After(deadline) {
			td.t.Fatalf("want %d traps under %s, have %d:\n%s", n, prefix, len(trs), td.raw())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SortedOIDs returns the OIDs of walk lines, sorted, for set comparisons.
func SortedOIDs(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		o, _, _ := strings.Cut(l, " = ")
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
