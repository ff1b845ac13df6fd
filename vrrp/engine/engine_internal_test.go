package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
)

// fakeNet records what the engine does to the network.
type fakeNet struct {
	addrs map[string]bool // "prefix dev"
	ops   []string
	sent  []sentPkt
	garps []netip.Addr
	conns map[string]*fakeConn
	links map[string]bool
	src   netip.Addr
}

type sentPkt struct {
	b        []byte
	src, dst netip.Addr
}

type fakeConn struct {
	n       *fakeNet
	key     string
	groups  []netip.Addr
	closed  bool
	deliver func(netio.Packet)
}

func newFakeNet() *fakeNet {
	return &fakeNet{addrs: map[string]bool{}, conns: map[string]*fakeConn{}, links: map[string]bool{}, src: netip.MustParseAddr("198.51.100.11")}
}

func (f *fakeNet) Listen(iface string, v6 bool, proto int, deliver func(netio.Packet)) (Conn, error) {
	c := &fakeConn{n: f, key: fmt.Sprintf("%s/%v/%d", iface, v6, proto), deliver: deliver}
	f.conns[c.key] = c
	return c, nil
}
func (f *fakeNet) AddAddr(a netio.Addr) error {
	f.addrs[a.String()] = true
	f.ops = append(f.ops, "add "+a.String())
	return nil
}
func (f *fakeNet) DelAddr(a netio.Addr) error {
	delete(f.addrs, a.String())
	f.ops = append(f.ops, "del "+a.String())
	return nil
}
func (f *fakeNet) HasAddr(a netio.Addr) (bool, error) { return f.addrs[a.String()], nil }
func (f *fakeNet) PrimaryAddr(string, bool) (netip.Addr, error) {
	return f.src, nil
}
func (f *fakeNet) LinkUp(iface string) (bool, error)                       { return !f.links[iface], nil }
func (f *fakeNet) WatchLinks(context.Context, func(netio.LinkEvent)) error { return nil }
func (f *fakeNet) Gratuitous(iface string, a netip.Addr) error {
	f.garps = append(f.garps, a)
	return nil
}

func (f *fakeNet) EnsureVMAC(base, name string, vrid uint8) error {
	f.ops = append(f.ops, "vmac "+name+" on "+base)
	return nil
}
func (f *fakeNet) RemoveVMAC(name string) error {
	f.ops = append(f.ops, "rmvmac "+name)
	return nil
}

func (c *fakeConn) Join(g netip.Addr) error { c.groups = append(c.groups, g); return nil }
func (c *fakeConn) NextID() uint16          { return 1 }
func (c *fakeConn) Send(b []byte, src, dst netip.Addr) error {
	c.n.sent = append(c.n.sent, sentPkt{b, src, dst})
	return nil
}
func (c *fakeConn) Close() error { c.closed = true; return nil }

type harness struct {
	t      *testing.T
	e      *Engine
	net    *fakeNet
	now    time.Duration
	logs   *test.Hook
	posted chan func() // what goroutines hand the owner (script results)
}

func loadConf(t *testing.T, text string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p, config.Options{Hostname: "test"})
	if diags.Fatal() {
		t.Fatalf("config: %v", diags)
	}
	cfg.ResolveScripts(script.NewResolver(nil, "", "", false))
	return cfg
}

func newHarness(t *testing.T, conf string, mod func(*Options)) *harness {
	t.Helper()
	lg, hook := test.NewNullLogger()
	h := &harness{t: t, net: newFakeNet(), logs: hook, posted: make(chan func(), 16)}
	opts := Options{Log: logrus.NewEntry(lg), Net: h.net, Now: func() time.Duration { return h.now },
		OnEvent: func(Event) {}}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(loadConf(t, conf), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.post = func(f func()) { h.posted <- f }
	h.e = e
	e.begin(context.Background())
	return h
}

// inst is an instance's status, asked of the engine as its owner.
func (h *harness) inst(name string) InstanceStatus {
	for _, is := range h.e.status().Instances {
		if is.Name == name {
			return is
		}
	}
	h.t.Fatalf("no instance %s", name)
	return InstanceStatus{}
}

// advance runs the loop's timer path until the clock reaches d.
func (h *harness) advance(d time.Duration) {
	end := h.now + d
	for {
		next := h.e.nextDeadline()
		if next > end {
			h.now = end
			return
		}
		h.now = max(h.now, next)
		h.e.tick()
	}
}

func (h *harness) events() []Event { return h.e.events.Take() }

func (h *harness) logged(s string) bool {
	for _, en := range h.logs.AllEntries() {
		if strings.Contains(en.Message, s) {
			return true
		}
	}
	return false
}

func (h *harness) advert(from string, vrid, prio uint8, ttl uint8) netio.Packet {
	h.t.Helper()
	var pass [8]byte
	copy(pass[:], "p@ssw0rd")
	a := packet.Advert{Version: 2, Type: packet.TypeAdvertisement, VRID: vrid, Priority: prio, AuthType: packet.AuthPass,
		AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.110")}, AuthData: pass}
	b, err := packet.Encode4(packet.IPv4Header{TOS: packet.IPv4TOS, TTL: ttl, Src: netip.MustParseAddr(from),
		Dst: netip.MustParseAddr("224.0.0.18")}, &a, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return netio.Packet{Iface: "eth0", Data: b, HopLimit: -1}
}

const seed = `global_defs {
   router_id HA_LVS
}
vrrp_instance ETH0 {
    state MASTER
    interface eth0
    virtual_router_id 10
    priority 200
    garp_master_delay 2
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass p@ssw0rd
    }
    virtual_ipaddress {
        198.51.100.110/24
    }
}
`

const vipKey = "198.51.100.110/24 dev eth0"

func TestInstanceConfig(t *testing.T) {
	cfg := loadConf(t, seed+`
vrrp_instance U6 {
    interface eth1
    virtual_router_id 7
    version 3
    advert_int 0.05
    nopreempt
    unicast_src_ip 2001:db8::1
    unicast_peer {
        2001:db8::2
        198.51.100.9
    }
    virtual_ipaddress {
        2001:db8::100/64
        198.51.100.100/24
    }
    virtual_ipaddress_excluded {
        2001:db8::200/64
    }
}
`)
	for _, tc := range []struct {
		idx   int
		check func(vrrp.Config) string
	}{
		{0, func(c vrrp.Config) string {
			if c.VRID != 10 || c.Priority != 200 || c.InitialState != vrrp.StateMaster || c.AdvertInt != time.Second ||
				c.AuthType != packet.AuthPass || c.AuthPass != "p@ssw0rd" || c.Model.GarpMasterDelay != 2*time.Second ||
				c.McastGroup != netip.MustParseAddr("224.0.0.18") || c.IPv6 || len(c.VIPs) != 1 || c.NoPreempt {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{1, func(c vrrp.Config) string {
			if !c.IPv6 || c.Version != 3 || c.AdvertInt != 50*time.Millisecond || !c.NoPreempt ||
				c.SrcAddr != netip.MustParseAddr("2001:db8::1") || !slices.Equal(c.UnicastPeers, []netip.Addr{netip.MustParseAddr("2001:db8::2")}) ||
				// keepalived drops the IPv4 VIP of an IPv6 instance
				// (alloc_vrrp_vip: "address family must match").
				len(c.VIPs) != 1 || len(c.ExcludedVIPs) != 1 || c.McastGroup != netip.MustParseAddr("ff02::12") {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
	} {
		c, err := instanceConfig(&cfg.Global, cfg.Instances[tc.idx])
		if err != nil {
			t.Fatal(err)
		}
		if msg := tc.check(c); msg != "" {
			t.Errorf("instance %d: %s", tc.idx, msg)
		}
	}
}

func TestEngineMasterThenYield(t *testing.T) {
	h := newHarness(t, seed, nil)
	if got := h.net.conns["eth0/false/112"]; got == nil || !slices.Contains(got.groups, netip.MustParseAddr("224.0.0.18")) {
		t.Fatalf("socket: %+v", h.net.conns)
	}
	h.advance(3700 * time.Millisecond) // Master_Down_Interval at 200: 3.22 s
	if !h.net.addrs[vipKey] {
		t.Fatalf("VIP not set: %v", h.net.ops)
	}
	if len(h.net.garps) != 5 {
		t.Errorf("%d gratuitous ARPs after becoming master, want garp_master_repeat 5", len(h.net.garps))
	}
	if len(h.net.sent) == 0 {
		t.Fatal("no advert sent")
	}
	r, err := packet.Parse4(h.net.sent[0].b)
	if err != nil {
		t.Fatal(err)
	}
	var a packet.Advert
	if err := a.UnmarshalBinary(r.Msg); err != nil || a.Priority != 200 || r.TTL != 255 || r.Src != h.net.src {
		t.Fatalf("advert %+v %+v %v", a, r, err)
	}
	h.advance(2 * time.Second) // garp_master_delay 2: a second burst
	if len(h.net.garps) != 10 {
		t.Errorf("%d gratuitous ARPs after garp_master_delay, want 10", len(h.net.garps))
	}
	h.e.receive(h.advert("198.51.100.12", 10, 250, 255))
	if h.net.addrs[vipKey] {
		t.Error("VIP kept after a higher priority advert")
	}
	var got []string
	for _, ev := range h.events() {
		if sc, ok := ev.(StateChange); ok {
			got = append(got, sc.From.String()+">"+sc.To.String())
		}
	}
	if want := []string{"INIT>BACKUP", "BACKUP>MASTER", "MASTER>BACKUP"}; !slices.Equal(got, want) {
		t.Errorf("transitions %v, want %v", got, want)
	}
	for _, s := range []string{"(ETH0) Entering BACKUP STATE (init)", "(ETH0) Entering MASTER STATE", "(ETH0) Master received advert from 198.51.100.12 with higher priority 250, ours 200", "(ETH0) Entering BACKUP STATE"} {
		if !h.logged(s) {
			t.Errorf("not logged: %q", s)
		}
	}
	if st := h.inst("ETH0"); st.State != vrrp.StateBackup || st.Counters.AdvertRcvd != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestEngineDiscards(t *testing.T) {
	h := newHarness(t, seed, nil)
	h.e.receive(h.advert("198.51.100.12", 99, 250, 255))
	h.e.receive(h.advert("198.51.100.12", 10, 250, 64))
	h.e.receive(netio.Packet{Iface: "eth0", Data: []byte{0x45, 0}})
	s := h.e.Status()
	if s.Discards[packet.ErrVRID] != 1 || s.Discards[packet.ErrLength] != 1 || h.inst("ETH0").Discards[packet.ErrTTL] != 1 {
		t.Errorf("stats %+v", s)
	}
	if !h.logged("(ETH0) invalid TTL/HL. Received 64 and expect 255") {
		t.Error("TTL discard not logged with keepalived's text")
	}
}

func TestEngineResidualVIPs(t *testing.T) {
	lg, _ := test.NewNullLogger()
	n := newFakeNet()
	n.addrs[vipKey] = true
	var now time.Duration
	e, err := New(loadConf(t, seed), Options{Log: logrus.NewEntry(lg), Net: n, Now: func() time.Duration { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.begin(context.Background())
	if n.addrs[vipKey] || !slices.Contains(n.ops, "del "+vipKey) {
		t.Errorf("residual VIP not removed at start: %v", n.ops)
	}
}

func TestEngineLinkAndShutdownKeepVIPs(t *testing.T) {
	h := newHarness(t, seed, func(o *Options) { o.KeepVIPs = true })
	h.advance(4 * time.Second)
	h.e.linkEvent(netio.LinkEvent{Iface: "eth0", Up: false})
	if h.net.addrs[vipKey] || h.inst("ETH0").State != vrrp.StateFault {
		t.Fatalf("link down: %v %+v", h.net.ops, h.inst("ETH0"))
	}
	h.e.linkEvent(netio.LinkEvent{Iface: "eth0", Up: true})
	if st := h.inst("ETH0").State; st != vrrp.StateBackup {
		t.Fatalf("link up: %v", st)
	}
	h.advance(4 * time.Second)
	if !h.net.addrs[vipKey] {
		t.Fatal("not master again")
	}
	h.net.sent = nil
	h.e.shutdown()
	if !h.net.addrs[vipKey] {
		t.Error("KeepVIPs: VIP removed on shutdown")
	}
	if len(h.net.sent) != 1 {
		t.Fatalf("%d adverts on shutdown, want one priority 0", len(h.net.sent))
	}
	r, _ := packet.Parse4(h.net.sent[0].b)
	if prio := r.Msg[2]; prio != 0 {
		t.Errorf("shutdown advert priority %d", prio)
	}
	for _, c := range h.net.conns {
		if !c.closed {
			t.Error("socket left open")
		}
	}
}

type exitRunner struct{ code chan int }

func (r exitRunner) Run(ctx context.Context, c script.Command) error {
	if code := <-r.code; code != 0 {
		return &script.ExitError{Code: code}
	}
	return nil
}

func TestEngineTrackScriptRiseFall(t *testing.T) {
	conf := `vrrp_script chk {
    script "/bin/true"
    interval 1
    rise 2
    fall 2
    weight -150
}
` + strings.Replace(seed, "    virtual_ipaddress {", "    track_script {\n        chk\n    }\n    virtual_ipaddress {", 1)
	codes := make(chan int, 1)
	h := newHarness(t, conf, func(o *Options) { o.Runner = exitRunner{codes} })
	run := func(code int) {
		codes <- code
		h.now = h.e.scripts["chk"].next
		h.e.tick()
		(<-h.posted)()
	}
	prio := func() uint8 { return h.inst("ETH0").EffectivePriority }
	// keepalived starts a script one success short of up (rise-1): the
	// first failure counts at once.
	run(1)
	if prio() != 50 {
		t.Fatalf("priority %d after the first failure, want 50", prio())
	}
	run(0)
	if prio() != 50 {
		t.Fatalf("priority %d after one success with rise 2", prio())
	}
	run(0)
	if prio() != 200 {
		t.Fatalf("priority %d after two successes", prio())
	}
	run(1)
	if prio() != 200 {
		t.Fatalf("priority %d after one failure with fall 2", prio())
	}
	run(1)
	if prio() != 50 {
		t.Fatalf("priority %d after two failures", prio())
	}
	for _, s := range []string{"VRRP_Script(chk) failed (exited with status 1)", "VRRP_Script(chk) succeeded", "Script `chk` now returning 1", "(ETH0) Changing effective priority from 200 to 50"} {
		if !h.logged(s) {
			t.Errorf("not logged: %q", s)
		}
	}
}

// argvRunner answers for true and false (as resolved: /usr/bin/...)
// without running anything.
type argvRunner struct{}

func (argvRunner) Run(_ context.Context, c script.Command) error {
	if strings.HasSuffix(c.Argv[0], "/false") {
		return &script.ExitError{Code: 1}
	}
	return nil
}

// TestScriptReloadCarriesResult is keepalived's clear_diff_script: on a
// reload every script that had a result keeps it (scaled to new rise and
// fall when its definition changed) and says so, and its first success
// after start is not a change of exit status (last_status starts at 0).
func TestScriptReloadCarriesResult(t *testing.T) {
	conf := func(rise int) string {
		return fmt.Sprintf(`vrrp_script chk {
    script "/bin/true"
    interval 1
    rise %d
    fall 2
    weight -150
}
vrrp_script down {
    script "/bin/false"
    interval 1
}
`, rise) + strings.Replace(seed, "    virtual_ipaddress {", "    track_script {\n        chk\n        down weight -10\n    }\n    virtual_ipaddress {", 1)
	}
	h := newHarness(t, conf(1), func(o *Options) { o.Runner = argvRunner{} })
	// Both scripts are due at start: one tick runs both.
	h.now = max(h.e.scripts["chk"].next, h.e.scripts["down"].next)
	h.e.tick()
	(<-h.posted)()
	(<-h.posted)()
	if h.logged("Script `chk` now returning 0") {
		t.Errorf("a first success logged a change of exit status")
	}
	// chk unchanged-but-for-rise: its success is carried (result at the
	// top, rise+fall-1 with the new rise); down's failure likewise.
	if err := h.e.applyReload(loadConf(t, conf(3))); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"VRRP_Script(chk) considered successful on reload", "VRRP_Script(down) considered unsuccessful on reload"} {
		if !h.logged(l) {
			t.Errorf("not logged: %q", l)
		}
	}
	chk, down := h.e.scripts["chk"], h.e.scripts["down"]
	if chk.init || !chk.up || chk.result != 4 {
		t.Errorf("chk after reload: init %v up %v result %d, want false true 4", chk.init, chk.up, chk.result)
	}
	if down.init || down.up || down.result != 0 || down.lastRC != 1 {
		t.Errorf("down after reload: init %v up %v result %d lastRC %d, want false false 0 1", down.init, down.up, down.result, down.lastRC)
	}
	if p := h.inst("ETH0").EffectivePriority; p != 190 {
		t.Errorf("priority after reload %d, want 190 (200, down -10)", p)
	}
}

func TestEngineReload(t *testing.T) {
	two := seed + `
vrrp_instance OLD {
    interface eth0
    virtual_router_id 11
    priority 100
    virtual_ipaddress {
        198.51.100.111/24
    }
}
`
	h := newHarness(t, two, nil)
	h.advance(4 * time.Second)
	if !h.net.addrs[vipKey] {
		t.Fatal("ETH0 not master")
	}
	h.events()
	h.net.ops = nil
	// A global_defs change that does not reach the FSM leaves ETH0 alone.
	next := strings.Replace(seed, "router_id HA_LVS", "router_id OTHER\n   notification_email {\n     ops@example.org\n   }", 1) + `
vrrp_instance NEW {
    interface eth0
    virtual_router_id 12
    priority 100
    virtual_ipaddress {
        198.51.100.112/24
    }
}
`
	if err := h.e.applyReload(loadConf(t, next)); err != nil {
		t.Fatal(err)
	}
	for _, op := range h.net.ops {
		if strings.Contains(op, "198.51.100.110") {
			t.Errorf("unchanged instance touched its VIP: %s", op)
		}
	}
	var got []string
	for _, ev := range h.events() {
		switch e := ev.(type) {
		case StateChange:
			got = append(got, e.Instance+":"+e.From.String()+">"+e.To.String())
		case Reloaded:
			got = append(got, "reloaded")
		}
	}
	// Reloaded sits between the removals and the new instances' start.
	if want := []string{"OLD:MASTER>DELETED", "reloaded", "NEW:INIT>BACKUP"}; !slices.Equal(got, want) {
		t.Errorf("reload transitions %v", got)
	}
	s := h.e.Status()
	if h.inst("ETH0").State != vrrp.StateMaster || len(s.Instances) != 2 {
		t.Errorf("after reload %+v", s.Instances)
	}
	// A packet for the removed VRID is now unknown.
	h.e.receive(h.advert("198.51.100.12", 11, 100, 255))
	if h.e.Status().Discards[packet.ErrVRID] != 1 {
		t.Error("removed instance still receives")
	}
}

// The FSM reads configured values from the instance's model: a reload
// that only adds an address keeps the instance running on the new model,
// one that changes a keyword the FSM reads from the model restarts it.
func TestEngineReloadModelDiff(t *testing.T) {
	h := newHarness(t, seed, nil)
	h.advance(4 * time.Second)
	if h.inst("ETH0").State != vrrp.StateMaster {
		t.Fatal("ETH0 not master")
	}
	h.events()
	transitions := func() []string {
		var got []string
		for _, ev := range h.events() {
			if e, ok := ev.(StateChange); ok {
				got = append(got, e.From.String()+">"+e.To.String())
			}
		}
		return got
	}
	same := strings.Replace(seed, "router_id HA_LVS", "router_id OTHER", 1)
	if err := h.e.applyReload(loadConf(t, same)); err != nil {
		t.Fatal(err)
	}
	if got := transitions(); len(got) != 0 {
		t.Errorf("unchanged instance: transitions %v", got)
	}
	vip := strings.Replace(same, "198.51.100.110/24\n", "198.51.100.110/24\n        198.51.100.111/24\n", 1)
	if err := h.e.applyReload(loadConf(t, vip)); err != nil {
		t.Fatal(err)
	}
	is := h.inst("ETH0")
	if got := transitions(); len(got) != 0 || is.State != vrrp.StateMaster || len(is.Config.VIPs) != 2 || len(is.VIPs) != 2 {
		t.Errorf("address-only reload: transitions %v, state %v, model VIPs %d, VIPs %v", got, is.State, len(is.Config.VIPs), is.VIPs)
	}
	flag := strings.Replace(vip, "garp_master_delay 2", "garp_master_delay 2\n    lower_prio_no_advert", 1)
	if err := h.e.applyReload(loadConf(t, flag)); err != nil {
		t.Fatal(err)
	}
	if got := transitions(); len(got) < 2 || got[0] != "MASTER>DELETED" {
		t.Errorf("lower_prio_no_advert added: transitions %v, want a restart (MASTER>DELETED, ...)", got)
	}
	if !h.inst("ETH0").Config.LowerPrioNoAdvert {
		t.Error("status model lacks lower_prio_no_advert after reload")
	}
}

func TestSameConfigIgnoresPos(t *testing.T) {
	a := &config.VRRPInstance{Name: "X", Pos: config.Pos{Line: 1}, VIPs: []config.VirtualAddress{{Pos: config.Pos{Line: 2}, Prefix: netip.MustParsePrefix("198.51.100.1/24")}}}
	b := &config.VRRPInstance{Name: "X", Pos: config.Pos{Line: 9}, VIPs: []config.VirtualAddress{{Pos: config.Pos{Line: 8}, Prefix: netip.MustParsePrefix("198.51.100.1/24")}}}
	if !sameConfig(a, b) {
		t.Error("position changes count as config changes")
	}
	b.VIPs[0].Label = "eth0:1"
	if sameConfig(a, b) {
		t.Error("label change not seen")
	}
}

func TestEngineMissingInterfaceFaults(t *testing.T) {
	lg, _ := test.NewNullLogger()
	n := newFakeNet()
	n.links["eth0"] = true // down
	var now time.Duration
	e, err := New(loadConf(t, seed), Options{Log: logrus.NewEntry(lg), Net: n, Now: func() time.Duration { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e.begin(context.Background())
	if st := e.Status().Instances[0].State; st != vrrp.StateFault {
		t.Errorf("state %v with eth0 down at start, want FAULT", st)
	}
}

// TestEngineRunReloadStop drives the real loop: Reload goes through it,
// cancelling stops every instance, and every event reaches OnEvent before
// Run returns.
func TestEngineRunReloadStop(t *testing.T) {
	lg, _ := test.NewNullLogger()
	n := newFakeNet()
	var mu sync.Mutex
	var evs []string
	e, err := New(loadConf(t, seed), Options{Log: logrus.NewEntry(lg), Net: n, OnEvent: func(ev Event) {
		if sc, ok := ev.(StateChange); ok {
			mu.Lock()
			evs = append(evs, sc.Instance+":"+sc.To.String())
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	select {
	case <-e.Ready():
		t.Fatal("ready before Run")
	default:
	}
	go func() { done <- e.Run(ctx) }()
	select {
	case <-e.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("not ready after Run started")
	}
	if st := e.Status(); len(st.Instances) != 1 || st.Instances[0].State != vrrp.StateBackup {
		t.Fatalf("instances not started when ready: %+v", st.Instances)
	}
	if err := e.Reload(loadConf(t, seed+`
vrrp_instance NEW {
    interface eth0
    virtual_router_id 12
    virtual_ipaddress {
        198.51.100.112/24
    }
}
`)); err != nil {
		t.Fatal(err)
	}
	if got := len(e.Status().Instances); got != 2 {
		t.Fatalf("%d instances after reload", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(loadConf(t, seed)); !errors.Is(err, ErrStopped) {
		t.Errorf("Reload after Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"ETH0:BACKUP", "NEW:BACKUP", "ETH0:STOP", "NEW:STOP"}
	if !slices.Equal(evs, want) {
		t.Errorf("events %v, want %v", evs, want)
	}
}

// The master-down timer runs from an advert's arrival (the kernel's
// stamp), never from before the last tick or receive, and the engine's
// clock stands in for a missing or implausible stamp.
func TestRxTimeUsesArrival(t *testing.T) {
	e, err := New(loadConf(t, seed), Options{Net: newFakeNet(), OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	e.start = time.Now().Add(-time.Minute)
	near := func(got, want time.Duration) bool {
		return got >= want-2*time.Millisecond && got <= want+2*time.Millisecond
	}

	now := e.now()
	if got := e.rxTime(netio.Packet{Arrived: time.Now().Add(-50 * time.Millisecond)}); !near(got, now-50*time.Millisecond) {
		t.Fatalf("50 ms old advert: %v, want about %v", got, now-50*time.Millisecond)
	}
	now = e.now()
	if got := e.rxTime(netio.Packet{}); !near(got, now) {
		t.Fatalf("no stamp: %v, want about %v", got, now)
	}
	now = e.now()
	if got := e.rxTime(netio.Packet{Arrived: time.Now().Add(-2 * time.Second)}); !near(got, now) {
		t.Fatalf("stamp 2 s old: %v, want the engine's clock %v", got, now)
	}
	if got := e.rxTime(netio.Packet{Arrived: time.Now().Add(time.Second)}); got < now {
		t.Fatalf("stamp from the future: %v, want the engine's clock", got)
	}
	e.floor = e.now()
	if got := e.rxTime(netio.Packet{Arrived: time.Now().Add(-100 * time.Millisecond)}); got != e.floor {
		t.Fatalf("arrival before the last tick: %v, want the tick's time %v", got, e.floor)
	}
}

type preparingNet struct {
	*fakeNet
	prepared []string
}

func (p *preparingNet) Prepare(iface string) { p.prepared = append(p.prepared, iface) }

// What a takeover needs on an interface is opened when the instance
// starts, so the first failover is as fast as the later ones.
func TestStartPreparesTakeoverInterfaces(t *testing.T) {
	pn := &preparingNet{fakeNet: newFakeNet()}
	e, err := New(loadConf(t, seed), Options{Net: pn, Now: func() time.Duration { return 0 }, OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	e.begin(context.Background())
	if !slices.Contains(pn.prepared, "eth0") {
		t.Fatalf("prepared %v, want eth0", pn.prepared)
	}
}

// OnWake follows every timer expiry and every packet handled.
func TestEngineOnWake(t *testing.T) {
	lg, _ := test.NewNullLogger()
	wakes := make(chan struct{}, 16)
	n := newFakeNet()
	e, err := New(loadConf(t, seed), Options{Log: logrus.NewEntry(lg), Net: n, OnWake: func() {
		select {
		case wakes <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// The seed's BACKUP start: the master-down timer expires within 4 s.
	select {
	case <-wakes:
	case <-time.After(5 * time.Second):
		t.Fatal("no OnWake after a timer expiry")
	}
	for len(wakes) > 0 {
		<-wakes
	}
	// Adverts tick once a second; the packet's wakeup comes at once.
	n.conns["eth0/false/112"].deliver(netio.Packet{Iface: "eth0", Err: errors.New("injected")})
	select {
	case <-wakes:
	case <-time.After(50 * time.Millisecond):
		t.Fatal("no OnWake within 50 ms of a packet")
	}
}

// An instance's check_unicast_src, and unicast_peer min_ttl/max_ttl
// (which set it too), reach the FSM as keepalived's vrrp_check_packet
// reads them: VRRP_FLAG_CHECK_UNICAST_SRC or the global flag, and each
// peer's TTL range.
func TestInstanceConfigUnicastSrcCheck(t *testing.T) {
	cfg := loadConf(t, `vrrp_instance CHK {
    interface eth0
    virtual_router_id 8
    unicast_src_ip 198.51.100.1
    check_unicast_src
    unicast_peer {
        198.51.100.2
    }
    virtual_ipaddress {
        198.51.100.120/24
    }
}
vrrp_instance TTL {
    interface eth0
    virtual_router_id 9
    unicast_src_ip 198.51.100.1
    unicast_peer {
        198.51.100.3 min_ttl 64 max_ttl 128
        198.51.100.4
    }
    virtual_ipaddress {
        198.51.100.121/24
    }
}
vrrp_instance NONE {
    interface eth0
    virtual_router_id 10
    unicast_src_ip 198.51.100.1
    unicast_peer {
        198.51.100.5
    }
    virtual_ipaddress {
        198.51.100.122/24
    }
}
`)
	want := []struct {
		check bool
		ttl   map[netip.Addr]packet.TTLRange
	}{
		{true, nil},
		{true, map[netip.Addr]packet.TTLRange{netip.MustParseAddr("198.51.100.3"): {Min: 64, Max: 128}}},
		{false, nil},
	}
	for i, w := range want {
		c, err := instanceConfig(&cfg.Global, cfg.Instances[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.CheckUnicastSrc != w.check || !maps.Equal(c.UnicastPeerTTL, w.ttl) {
			t.Errorf("%s: check %v ttl %v, want %v %v", c.Name, c.CheckUnicastSrc, c.UnicastPeerTTL, w.check, w.ttl)
		}
	}
}

// An instance with a configuration fault (here unicast_fault_no_peer
// without peers) stays in FAULT, as keepalived's num_config_faults keeps
// num_script_if_fault above zero; it never takes its VIP.
func TestConfigFaultKeepsFault(t *testing.T) {
	h := newHarness(t, `vrrp_instance NOPEER {
    state MASTER
    interface eth0
    virtual_router_id 10
    priority 200
    advert_int 1
    unicast_fault_no_peer
    virtual_ipaddress {
        198.51.100.110/24
    }
}
`, nil)
	h.advance(10 * time.Second)
	is := h.inst("NOPEER")
	if is.State != vrrp.StateFault || !slices.Contains(is.Faults, "config") || h.net.addrs[vipKey] {
		t.Fatalf("state %v faults %v vip %v", is.State, is.Faults, h.net.addrs[vipKey])
	}
}

// global_defs log_unknown_vrids logs each advert for a VRID no instance
// on the interface has (vrrp_read_dispatcher_thread); without it such
// adverts are only counted.
func TestLogUnknownVRIDs(t *testing.T) {
	const line = "Unknown VRID(42) received on interface(eth0). ignoring..."
	for _, logIt := range []bool{false, true} {
		conf := seed
		if logIt {
			conf = strings.Replace(seed, "router_id HA_LVS", "router_id HA_LVS\n   log_unknown_vrids", 1)
		}
		h := newHarness(t, conf, nil)
		h.e.receive(h.advert("198.51.100.12", 42, 100, 255))
		if h.e.Status().Discards[packet.ErrVRID] != 1 {
			t.Fatal("unknown VRID not counted")
		}
		if got := h.logged(line); got != logIt {
			t.Errorf("log_unknown_vrids %v: line logged %v", logIt, got)
		}
	}
}

// global_defs vrrp_startup_delay: the master down timer of an instance
// starting in BACKUP runs from the end of the delay (start_vrrp,
// vrrp_init_instance_sands), so it takes over only after delay plus
// Master_Down_Interval.
func TestVRRPStartupDelay(t *testing.T) {
	h := newHarness(t, strings.Replace(seed, "router_id HA_LVS", "router_id HA_LVS\n   vrrp_startup_delay 5", 1), nil)
	if !h.logged("Delaying startup for 5 seconds") {
		t.Error("delay not logged")
	}
	h.advance(8 * time.Second) // Master_Down_Interval at 200: 3.22 s, from 5 s
	if h.net.addrs[vipKey] || h.inst("ETH0").State != vrrp.StateBackup {
		t.Fatalf("master before the startup delay ended: %v", h.inst("ETH0").State)
	}
	h.advance(300 * time.Millisecond)
	if !h.net.addrs[vipKey] || h.inst("ETH0").State != vrrp.StateMaster {
		t.Fatalf("not master after delay and down interval: %v", h.inst("ETH0").State)
	}
}

// An address owner (priority 255) waits for the delay too: keepalived
// makes it a BACKUP whose 1 µs down timer runs from the delay's end.
func TestVRRPStartupDelayOwner(t *testing.T) {
	conf := strings.Replace(seed, "router_id HA_LVS", "router_id HA_LVS\n   vrrp_startup_delay 2", 1)
	h := newHarness(t, strings.Replace(conf, "priority 200", "priority 255", 1), nil)
	h.advance(1900 * time.Millisecond)
	if h.net.addrs[vipKey] {
		t.Fatal("owner master before the startup delay ended")
	}
	h.advance(200 * time.Millisecond)
	if !h.net.addrs[vipKey] || h.inst("ETH0").State != vrrp.StateMaster {
		t.Fatalf("owner not master after the delay: %v", h.inst("ETH0").State)
	}
}

// VIPsHeld is told before the VIPs are added on becoming MASTER and
// after they are removed on leaving it, on the owner, in order with the
// address changes (the nftables DR gate must switch on before the VIP is
// local and off only once it is gone).
func TestEngineVIPsHeldOrder(t *testing.T) {
	var h *harness
	h = newHarness(t, seed, func(o *Options) {
		o.VIPsHeld = func(instance string, held bool) {
			h.net.ops = append(h.net.ops, fmt.Sprintf("held %s %v", instance, held))
		}
	})
	h.advance(3700 * time.Millisecond)
	h.e.receive(h.advert("198.51.100.12", 10, 250, 255))
	want := []string{"held ETH0 true", "add " + vipKey, "del " + vipKey, "held ETH0 false"}
	if !slices.Equal(h.net.ops, want) {
		t.Fatalf("operations %q, want %q", h.net.ops, want)
	}
}
