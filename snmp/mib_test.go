package snmp

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keepalived-go/snmp/agentx"
)

func roots(tb *agentx.Table) []string {
	seen := map[string]bool{}
	var out []string
	for _, vb := range tb.Varbinds() {
		for _, r := range []struct {
			name string
			oid  agentx.OID
		}{{"global", GlobalOID}, {"vrrp", VRRPOID}, {"check", CheckOID}, {"rfc2787", RFC2787OID}, {"rfc6527", RFC6527OID}} {
			if vb.Name.HasPrefix(r.oid) && !seen[r.name] {
				seen[r.name] = true
				out = append(out, r.name)
			}
		}
	}
	return out
}

// Which subtrees are served follows keepalived's processes: the VRRP one
// with its switches, the checker one with enable_snmp_checker, and the
// global scalars from whichever of them runs SNMP (vrrp_handles_global_oid).
func TestEnableSwitches(t *testing.T) {
	one := []Instance{{Name: "VI_1", VRID: 1, Version: 2, VIPs: []Address{{Prefix: netip.MustParsePrefix("198.51.100.10/24")}}}}
	vrrpOnly := &State{Global: Global{Version: "v"}, VRRP: &VRRP{Instances: one}}
	both := &State{Global: Global{Version: "v"}, VRRP: &VRRP{Instances: one}, Checker: &Checker{}}
	checkOnly := &State{Global: Global{Version: "v"}, Checker: &Checker{}}
	for _, tc := range []struct {
		name string
		st   *State
		sw   Switches
		want string
	}{
		{"nothing enabled", both, Switches{}, ""},
		{"vrrp", vrrpOnly, Switches{VRRP: true}, "global vrrp"},
		{"rfc only: no global", vrrpOnly, Switches{RFCv2: true, RFCv3: true}, "rfc2787 rfc6527"},
		{"no instances: no rows, the RFC scalars", &State{VRRP: &VRRP{}}, Switches{VRRP: true, RFCv2: true}, "rfc2787 global"},
		{"checker switch without a checker process", vrrpOnly, Switches{Checker: true}, ""},
		{"checker", checkOnly, Switches{Checker: true}, "global check"},
		{"vrrp switch without instances", checkOnly, Switches{VRRP: true}, ""},
		{"all", both, Switches{VRRP: true, Checker: true, RFCv2: true, RFCv3: true}, "rfc2787 rfc6527 global vrrp check"},
	} {
		got := strings.Join(roots(Build(tc.st, tc.sw)), " ")
		if got != tc.want {
			t.Errorf("%s: serves %q, want %q", tc.name, got, tc.want)
		}
	}
	regs := Registrations(Switches{VRRP: true, RFCv3: true})
	if len(regs) != 3 || regs[0].Subtree.Compare(GlobalOID) != 0 || regs[2].Subtree.Compare(RFC6527OID) != 0 {
		t.Errorf("registrations %v", regs)
	}
}

// The RFC MIBs pick instances as keepalived's suitable_for_rfc2787/6527:
// VRRP-MIB only IPv4 VRRPv2 with a VIP, VRRPV3-MIB any with a VIP.
func TestRFCSuitability(t *testing.T) {
	vip := []Address{{Prefix: netip.MustParsePrefix("198.51.100.10/24")}}
	st := &State{VRRP: &VRRP{Instances: []Instance{
		{Name: "v2", VRID: 1, Version: 2, VIPs: vip, IfIndex: 2},
		{Name: "v3", VRID: 2, Version: 3, VIPs: vip, IfIndex: 2},
		{Name: "v2-6", VRID: 3, Version: 2, IPv6: true, VIPs: []Address{{Prefix: netip.MustParsePrefix("2001:db8::1/64")}}, IfIndex: 2},
		{Name: "novip", VRID: 4, Version: 2, IfIndex: 2},
	}}}
	tb := Build(st, Switches{RFCv2: true, RFCv3: true})
	rows := map[string][]uint32{}
	for _, vb := range tb.Varbinds() {
		if vb.Name.HasPrefix(RFC2787OID.Append(1, 3, 1, 3)) {
			rows["2787"] = append(rows["2787"], vb.Name[len(vb.Name)-1])
		}
		if vb.Name.HasPrefix(RFC6527OID.Append(1, 1, 1, 1, 6)) {
			rows["6527"] = append(rows["6527"], vb.Name[len(vb.Name)-2])
		}
	}
	if fmt.Sprint(rows["2787"]) != "[1]" || fmt.Sprint(rows["6527"]) != "[1 2 3]" {
		t.Fatalf("rows by vrid %v", rows)
	}
}

// Traps are sent only with enable_traps and their MIB's switch, and the
// RFC ones only for suitable instances, as keepalived's trap functions
// check.
func TestTrapGating(t *testing.T) {
	in := &Instance{Name: "VI_1", VRID: 51, Version: 2, State: StateMaster, IfIndex: 2,
		SourceIP: netip.MustParseAddr("198.51.100.2"), VIPs: []Address{{Prefix: netip.MustParsePrefix("198.51.100.10/24")}}}
	count := func(sw Switches) int { return len(StateChangeTraps(sw, "r", in)) }
	if n := count(Switches{VRRP: true, RFCv2: true, RFCv3: true}); n != 0 {
		t.Errorf("without enable_traps: %d traps", n)
	}
	if n := count(Switches{Traps: true, VRRP: true, RFCv2: true, RFCv3: true}); n != 3 {
		t.Errorf("all: %d traps, want 3", n)
	}
	if n := count(Switches{Traps: true, RFCv3: true}); n != 1 {
		t.Errorf("rfcv3 only: %d traps, want 1", n)
	}
	in.State = StateBackup
	if n := count(Switches{Traps: true, VRRP: true, RFCv2: true, RFCv3: true}); n != 1 {
		t.Errorf("backup: %d traps, want the instance trap only", n)
	}
	in.State = StateStop
	if v := InstanceStateTrap(Switches{Traps: true, VRRP: true}, "r", in)[2]; v.Int != 5 {
		t.Errorf("stop state in trap: %v", v)
	}
	vs := &VirtualServer{Addr: netip.MustParseAddr("198.51.100.10"), Port: 80, Protocol: "TCP"}
	if QuorumTrap(Switches{Traps: true}, "r", vs, false) != nil {
		t.Error("quorum trap without enable_snmp_checker")
	}
	q := QuorumTrap(Switches{Traps: true, Checker: true}, "r", vs, true)
	if q[0].OID.Compare(CheckOID.Append(5, 0, 2)) != 0 || q[6].Int != 3 {
		t.Errorf("quorum trap while stopping: %v", q)
	}
}

func TestCmdString(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/bin/echo", "group", "master"}, "'/usr/bin/echo' 'group' 'master'"},
		{[]string{">/tmp/x"}, ">/tmp/x"},
		{[]string{"<", "f"}, "< 'f'"},
	} {
		if got := CmdString(tc.argv); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.argv, got, tc.want)
		}
	}
}

// bigState is 100 instances with 4 VIPs each and 50 services with 20
// real servers each.
func bigState() *State {
	st := &State{Now: time.Unix(2000, 0), Global: Global{Version: "v", RouterID: "r"}, VRRP: &VRRP{}, Checker: &Checker{}}
	for i := 0; i < 100; i++ {
		in := Instance{Name: fmt.Sprintf("VI_%d", i), VRID: uint8(i + 1), Version: 2, IfIndex: 2, Interface: "eth0",
			State: StateMaster, AdvertInt: time.Second}
		for k := 0; k < 4; k++ {
			in.VIPs = append(in.VIPs, Address{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(k)}), 24), IfName: "eth0"})
		}
		st.VRRP.Instances = append(st.VRRP.Instances, in)
	}
	for v := 0; v < 50; v++ {
		vs := VirtualServer{Addr: netip.AddrFrom4([4]byte{203, 0, 113, byte(v)}), Port: 80, Protocol: "TCP", Scheduler: "rr", Forwarding: "DR"}
		for r := 0; r < 20; r++ {
			vs.RealServers = append(vs.RealServers, RealServer{Addr: netip.AddrFrom4([4]byte{198, 51, 100, byte(r)}), Port: 80, Alive: true})
		}
		st.Checker.VirtualServers = append(st.Checker.VirtualServers, vs)
	}
	return st
}

// BenchmarkBuild is the cost of one request's view for a large config.
func BenchmarkBuild(b *testing.B) {
	st := bigState()
	sw := Switches{VRRP: true, Checker: true, RFCv2: true, RFCv3: true}
	b.ReportAllocs()
	var n int
	for i := 0; i < b.N; i++ {
		n = len(Build(st, sw).Varbinds())
	}
	b.ReportMetric(float64(n), "oids")
}

// A Get of a missing row of a column that has rows is noSuchInstance; of
// an unknown column, noSuchObject (keepalived registers each column).
func TestGetMissing(t *testing.T) {
	tb := Build(bigState(), Switches{VRRP: true})
	if v := tb.Get(VRRPOID.Append(3, 1, 2, 999)); v.Type != agentx.NoSuchInstance {
		t.Errorf("missing instance row: %v", v)
	}
	if v := tb.Get(VRRPOID.Append(3, 1, 99, 1)); v.Type != agentx.NoSuchObject {
		t.Errorf("unknown column: %v", v)
	}
	if v := tb.Get(VRRPOID.Append(3, 1, 2, 1)); v.Type != agentx.OctetString || string(v.Bytes) != "VI_0" {
		t.Errorf("instance 1's name: %v", v)
	}
}

// The server answers from one table for MaxAge, then builds a new one.
func TestServerViewCache(t *testing.T) {
	calls := 0
	srv, err := NewServer(ServerConfig{Socket: "unix:/nonexistent", Switches: Switches{VRRP: true}, MaxAge: time.Hour,
		State: func() *State { calls++; return &State{Global: Global{Version: "v"}, VRRP: &VRRP{}} }})
	if err != nil {
		t.Fatal(err)
	}
	view := srv.view
	a, b := view(), view()
	if a != b || calls != 1 {
		t.Fatalf("calls %d, same table %v", calls, a == b)
	}
}

// TestSetsMatchKeepalivedGolden checks each Set of the recorded run
// (testdata/snmp/sets: snmpset against keepalived) gets the same verdict
// from checkSets.
func TestSetsMatchKeepalivedGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "sets"))
	if err != nil {
		t.Fatal(err)
	}
	st := scenarioState(t, readFacts(t), "master")
	verdicts := strings.Split(string(b), " -> ")[1:]
	if len(verdicts) != len(setCommands) {
		t.Fatalf("%d recorded verdicts for %d commands", len(verdicts), len(setCommands))
	}
	for i, c := range setCommands {
		name := agentx.MustOID(c[0])
		vb := agentx.Varbind{Name: name, Type: agentx.Integer}
		if c[1] == "s" {
			vb = agentx.Str(name, c[2])
		} else {
			n, _ := strconv.Atoi(c[2])
			vb.Int = int32(n)
		}
		_, e, _ := checkSets(st, scenarioSwitches, []agentx.Varbind{vb})
		want := "noError"
		if strings.HasPrefix(verdicts[i], "Error in packet.\nReason: ") {
			want = strings.Fields(strings.TrimPrefix(verdicts[i], "Error in packet.\nReason: "))[0]
		}
		if got := strings.TrimPrefix(e.Error(), "agentx: "); got != want {
			t.Errorf("%v: %s, keepalived %s", c, got, want)
		}
	}
}

// realServerWeight sets address servers by (service, server) index, the
// sorry server first; keepalived refuses the sorry server's (notWritable,
// recorded by cmd/keepalived's TestSNMPCheckerDaemonVM) and reads the low
// byte of the value. Past the last server keepalived 2.2.7 writes through
// its list head and answers noError; we refuse with notWritable.
func TestRealServerWeightSet(t *testing.T) {
	st := checkerState(true)
	w := func(v, r uint32, val int32) ([]setOp, agentx.ResError) {
		ops, e, _ := checkSets(st, checkerSwitches, []agentx.Varbind{agentx.Int(CheckOID.Append(4, 1, 7, v, r), val)})
		return ops, e
	}
	if _, e := w(1, 1, 5); e != agentx.ErrNotWritable {
		t.Errorf("sorry server: %v", e)
	}
	if _, e := w(1, 4, 5); e != agentx.ErrNotWritable {
		t.Errorf("past the last server: %v", e)
	}
	ops, e := w(1, 2, 256+7)
	if e != agentx.NoError || len(ops) != 1 {
		t.Fatalf("first real server: %v", e)
	}
	rec := &recordingSetter{}
	if err := applySets(rec, ops); err != nil {
		t.Fatal(err)
	}
	if got := rec.applied(); len(got) != 1 || got[0] != "weight 198.51.100.10:80 198.51.100.21:80 7" {
		t.Errorf("applied %q", got)
	}
	if _, e := w(2, 1, 3); e != agentx.NoError {
		t.Errorf("fwmark service's server: %v", e)
	}
}
