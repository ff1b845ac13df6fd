package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/snmp"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

func loadTestConf(t *testing.T, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p, config.Options{Hostname: "test"})
	if diags.Fatal() {
		t.Fatal(diags.String())
	}
	return cfg
}

// fakeIfaces answers interface facts from a table.
type fakeIfaces map[string]int

func (f fakeIfaces) Index(name string) int { return f[name] }
func (f fakeIfaces) HWAddr(string) []byte  { return []byte{2, 0, 0, 0, 0, 1} }
func (f fakeIfaces) Primary(string, bool) netip.Addr {
	return netip.MustParseAddr("198.51.100.2")
}

const stateConf = `global_defs {
	router_id R1
	smtp_server 198.51.100.25
	notification_email_from kg@example.org
	lvs_timeouts tcp 900
}
vrrp_script chk {
	script "/bin/true"
	init_fail
}
vrrp_instance VI_1 {
	state MASTER
	interface eth0
	virtual_router_id 7
	priority 120
	nopreempt
	track_script {
		chk
	}
	virtual_ipaddress {
		198.51.100.10/24 dev eth1 label eth1:x
	}
}
virtual_server_group G {
	198.51.100.30-32 80
	fwmark 9
}
virtual_server 198.51.100.20 80 {
	protocol TCP
	persistence_granularity 255.255.255.0
	lb_kind DR
	sorry_server 198.51.100.99 80
	real_server 198.51.100.21 80 {
		weight 3
	}
}
`

// buildSNMPState maps the config and the engines' snapshots onto the
// MIBs' State.
func TestBuildSNMPState(t *testing.T) {
	cfg := loadTestConf(t, stateConf)
	ci := cfg.Instances[0]
	vs := &vrrpengine.Status{
		Instances: []vrrpengine.InstanceStatus{{Name: "VI_1", Config: ci, Interface: "eth0", BaseInterface: "eth0",
			Version: 2, VRID: 7, State: vrrp.StateMaster, WantState: vrrp.StateMaster, InitialState: vrrp.StateMaster,
			BasePriority: 130, EffectivePriority: 130, VIPSet: true, NoPreempt: true, AdvertInt: time.Second,
			SrcAddr: netip.MustParseAddr("198.51.100.2"), MasterReason: vrrp.MasterReasonPreempted,
			ProtoErrReason: vrrp.ProtoErrVersion}},
		Scripts: []vrrpengine.ScriptStatus{{Name: "chk", Argv: []string{"/usr/bin/true"}, Init: true, Rise: 1, Fall: 1}},
	}
	cs := &check.Status{VirtualServers: []check.VirtualServerStatus{{Name: cfg.VirtualServers[0].Name(),
		RealServers: []check.RealServerStatus{{Name: cfg.VirtualServers[0].RealServerName(cfg.VirtualServers[0].RealServers[0]),
			Config: cfg.VirtualServers[0].RealServers[0], Alive: false, Weight: 5,
			Checkers: []check.CheckerStatus{{Up: false}, {Up: true}}}}}}}
	ls := &lvs.Status{Open: true, VirtualServers: []lvs.VirtualServerStatus{{Name: cfg.VirtualServers[0].Name(), QuorumUp: true}}}
	st := buildSNMPState(snmpInput{cfg: cfg, vrrp: vs, check: cs, lvs: ls, ifs: fakeIfaces{"eth0": 2, "eth1": 3}, now: time.Now()})

	g := st.Global
	if g.RouterID != "R1" || g.SMTPServer != netip.MustParseAddr("198.51.100.25") || g.SMTPPort != 25 ||
		g.EmailFrom != "kg@example.org" || g.LVSTimeouts.TCP != 900 {
		t.Errorf("global %+v", g)
	}
	in := st.VRRP.Instances[0]
	if in.State != snmp.StateMaster || in.BasePriority != 130 || in.Preempt || in.IfIndex != 2 ||
		in.Stats.MasterReason != 2 || in.Stats.ProtoErrReason != 2 || len(in.TrackScripts) != 1 {
		t.Errorf("instance %+v", in)
	}
	if a := in.VIPs[0]; a.IfName != "eth1" || a.IfIndex != 3 || a.Label != "eth1:x" || !a.Set {
		t.Errorf("VIP %+v", a)
	}
	if sc := st.VRRP.Scripts[0]; sc.Result != snmp.ScriptFailed || snmp.CmdString(sc.Command) != "'/usr/bin/true'" {
		t.Errorf("script %+v (init_fail before its first run is initfailed)", sc)
	}
	c := st.Checker
	if len(c.Groups) != 1 || !c.Groups[0].Members[0].IsMark || c.Groups[0].Members[1].AddrEnd != netip.MustParseAddr("198.51.100.32") {
		t.Errorf("group members (fwmarks first) %+v", c.Groups)
	}
	v := c.VirtualServers[0]
	if !v.Alive || !v.QuorumUp || v.PersistenceGranularity != 0xffffff00 || v.Scheduler != "wlc" || v.Sorry == nil ||
		v.Sorry.Forwarding != "DR" || v.AddrFamily != 4 {
		t.Errorf("virtual server %+v", v)
	}
	if rs := v.RealServers[0]; rs.Alive || rs.Weight != 5 || rs.FailedChecks != 1 || rs.Forwarding != "DR" {
		t.Errorf("real server %+v", rs)
	}
	// Without an smtp_server keepalived keeps no SMTP settings.
	cfg.Global.SMTPServerAddr = netip.Addr{}
	if g := snmpGlobal(snmpInput{cfg: cfg}); g.SMTPPort != 0 || g.EmailFrom != "" || g.SMTPTimeout != 0 {
		t.Errorf("global without smtp_server %+v", g)
	}
}

// The sync group filter: an instance already in its group's state sends
// nothing more (send_instance_notifies), lone instances always do.
func TestSyncFilter(t *testing.T) {
	f := newSyncFilter()
	var got []string
	for _, ev := range []vrrpengine.Event{
		vrrpengine.StateChange{Instance: "A", Group: "G", To: vrrp.StateBackup},
		vrrpengine.GroupStateChange{Group: "G", State: vrrp.StateMaster},
		vrrpengine.StateChange{Instance: "A", Group: "G", To: vrrp.StateMaster},
		vrrpengine.StateChange{Instance: "B", Group: "G", To: vrrp.StateMaster},
		vrrpengine.StateChange{Instance: "B", Group: "G", To: vrrp.StateMaster},
		vrrpengine.StateChange{Instance: "L", To: vrrp.StateMaster},
		vrrpengine.StateChange{Instance: "L", To: vrrp.StateMaster},
	} {
		if sc, ok := ev.(vrrpengine.StateChange); ok && f.pass(ev) {
			got = append(got, sc.Instance)
		} else if !ok {
			f.pass(ev)
		}
	}
	// A's MASTER follows its group's: suppressed. B notifies once (its
	// first), then is suppressed.
	if fmt.Sprint(got) != "[A B L L]" {
		t.Errorf("passed %v", got)
	}
}

// removedInstances is keepalived's vrrp_exist: an instance keeps its
// object when another with its VRID, family and interface follows it,
// whatever its name.
func TestRemovedInstances(t *testing.T) {
	inst := func(name, iface string, vrid int, fam string) *config.VRRPInstance {
		return &config.VRRPInstance{Name: name, Interface: iface, VRID: vrid, Family: fam}
	}
	old := &config.Config{Instances: []*config.VRRPInstance{inst("A", "eth0", 1, "inet"), inst("B", "eth0", 2, "inet"),
		inst("C", "eth1", 1, "inet6")}}
	cur := &config.Config{Instances: []*config.VRRPInstance{inst("A2", "eth0", 1, "inet"), inst("C", "eth1", 1, "inet")}}
	if got := fmt.Sprint(removedInstances(old, cur)); got != "[B C]" {
		t.Errorf("removed %s, want [B C]", got)
	}
}

// A reload restarts the AgentX session only when the switches or the
// socket changed, and stops it when SNMP is turned off.
func TestSNMPAgentReloadKeepsSession(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	d := &daemon{log: log}
	sock := "unix:" + filepath.Join(t.TempDir(), "none")
	conf := func(extra string) *config.Config {
		return loadTestConf(t, "global_defs {\n\tenable_snmp_vrrp\n\tsnmp_socket "+sock+"\n"+extra+"}\n")
	}
	a := newSNMPAgent(d, conf(""), make(chan struct{}))
	s1 := a.apply(nil)
	if s1 == nil {
		t.Fatal("no session with enable_snmp_vrrp")
	}
	a.Reload(conf("\trouter_id other\n"))
	if s2 := a.apply(s1); s2 != s1 {
		t.Error("a reload that kept the switches restarted the session")
	}
	a.Reload(conf("\tenable_traps\n"))
	s3 := a.apply(s1)
	if s3 == s1 || s3 == nil || !s3.sw.Traps {
		t.Errorf("enable_traps did not restart the session: %+v", s3)
	}
	a.Reload(loadTestConf(t, "global_defs {\n}\n"))
	if s4 := a.apply(s3); s4 != nil {
		t.Error("session kept with SNMP off")
	}
	if srv, _ := a.current(); srv != nil {
		t.Error("server still current with SNMP off")
	}
}
