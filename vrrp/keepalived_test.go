package vrrp_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
	"keepalived-go/vrrp/vrrptest"
)

// The seed scenario: node 1 "state MASTER" priority 200, node 2 BACKUP 100,
// PASS authentication, garp_master_delay 2. Node 1 starts first, then node
// 2; then node 1 stops and node 2 takes over within Skew_Time.
func TestSeedScenario(t *testing.T) {
	c1, c2 := baseCfg(), baseCfg()
	c1.InitialState, c1.Priority, c1.SrcAddr = vrrp.StateMaster, 200, netip.MustParseAddr("198.51.100.111")
	c2.InitialState, c2.Priority, c2.SrcAddr = vrrp.StateBackup, 100, netip.MustParseAddr("198.51.100.112")
	n, err := vrrptest.New(1, c1, c2)
	if err != nil {
		t.Fatal(err)
	}
	n.Record, n.TickJitter = true, 0
	n.Start(0)
	n.Run(time.Second)
	n.Start(1)
	n.Run(20 * time.Second)
	if m := n.Masters(); !reflect.DeepEqual(m, []int{0}) {
		t.Fatalf("masters %v", m)
	}
	master := n.Routers[0]
	want := []string{
		"log (ETH0) Entering BACKUP STATE (init)",
		"notify INIT->BACKUP (init) prio=200",
		"log-detail (ETH0) Receive advertisement timeout",
		"send-advert prio=200 to=[224.0.0.18]",
		"log (ETH0) Entering MASTER STATE",
		"add-vips [203.0.113.110/24]",
		"garp [203.0.113.110] x5",
		"notify BACKUP->MASTER (master-down) prio=200",
		"send-advert prio=200 to=[224.0.0.18]", // 1 s later
		"garp [203.0.113.110] x5",              // garp_master_delay 2
		"send-advert prio=200 to=[224.0.0.18]",
	}
	got := describe(master.Actions[:len(want)])
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("master actions\n got %q\nwant %q", got, want)
	}
	backup := n.Routers[1]
	if got := describe(backup.Actions); !reflect.DeepEqual(got, []string{
		"log (ETH0) Entering BACKUP STATE (init)", "notify INIT->BACKUP (init) prio=100",
	}) {
		t.Fatalf("backup actions %q", got)
	}

	// Failover: priority 0 from the stopping master, takeover within
	// Skew_Time (0.609375 s for priority 100) plus the wire delay.
	stopAt := n.Now
	n.Stop(0)
	skew := backup.Inst.SkewTime()
	n.Run(stopAt + skew + n.MaxDelay + n.TickJitter)
	if m := n.Masters(); !reflect.DeepEqual(m, []int{1}) {
		t.Fatalf("masters %v %v after stop", m, n.Describe())
	}
	last := backup.Notifies[len(backup.Notifies)-1]
	if last.To != vrrp.StateMaster || last.Reason != vrrp.ReasonPriorityZero {
		t.Fatalf("notify %+v", last)
	}
	if got := master.Notifies[len(master.Notifies)-1]; got.From != vrrp.StateMaster || got.To != vrrp.StateStop {
		t.Fatalf("stop notify %+v", got)
	}
}

// nopreempt: a running master is not displaced by a higher priority router
// that comes up later, whatever the seed.
func TestNoPreemptHolds(t *testing.T) {
	for seed := range uint64(50) {
		lo, hi := baseCfg(), baseCfg()
		lo.Priority, lo.SrcAddr = 100, peerLow
		hi.Priority, hi.SrcAddr, hi.NoPreempt = 200, peerHigh, true
		n, _ := vrrptest.New(seed, lo, hi)
		n.Start(0)
		n.Run(5 * time.Second)
		n.Start(1)
		n.Check = func(n *vrrptest.Network) error {
			if m := n.Masters(); !reflect.DeepEqual(m, []int{0}) {
				t.Fatalf("seed %d: masters %v at %v", seed, m, n.Now)
			}
			return nil
		}
		n.Run(2 * time.Minute)
	}
}

// With preempt (the default) the higher priority router that comes up
// later takes over after one Master_Down_Interval at most.
func TestPreemptTakesOver(t *testing.T) {
	lo, hi := baseCfg(), baseCfg()
	lo.Priority, lo.SrcAddr = 100, peerLow
	hi.Priority, hi.SrcAddr = 200, peerHigh
	n, _ := vrrptest.New(3, lo, hi)
	n.Start(0)
	n.Run(5 * time.Second)
	n.Start(1)
	n.Run(5*time.Second + n.Routers[1].Inst.MasterDownInterval() + 10*time.Millisecond)
	if m := n.Masters(); !reflect.DeepEqual(m, []int{1}) {
		t.Fatalf("masters %v", m)
	}
}

// A priority 0 advert hands over within Skew_Time of the best backup, for
// any number of routers and priorities.
func TestPriorityZeroHandoverWithinSkew(t *testing.T) {
	for seed := range uint64(200) {
		var cfgs []vrrp.Config
		k := 2 + int(seed%4)
		for i := range k {
			c := baseCfg()
			c.Priority = uint8(10 + 40*i + int(seed%7))
			c.SrcAddr = netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
			if seed%2 == 1 {
				v3(&c)
				c.AdvertInt = time.Duration(10+seed%90) * 10 * time.Millisecond
			}
			cfgs = append(cfgs, c)
		}
		n, _ := vrrptest.New(seed, cfgs...)
		for i := range k {
			n.Start(i)
		}
		n.Run(20 * time.Second)
		top := k - 1
		if m := n.Masters(); !reflect.DeepEqual(m, []int{top}) {
			t.Fatalf("seed %d: masters %v", seed, m)
		}
		next := n.Routers[top-1]
		stop := n.Now
		n.Stop(top)
		limit := stop + next.Inst.SkewTime() + n.MaxDelay + n.TickJitter
		n.Run(limit)
		if m := n.Masters(); !reflect.DeepEqual(m, []int{top - 1}) {
			t.Fatalf("seed %d: masters %v at Skew_Time %v after stop", seed, m, next.Inst.SkewTime())
		}
	}
}

// Tracking: effective priority = base + weights, clamped to 1..254; an
// owner's priority never changes (vrrp_set_effective_priority).
func TestTrackingWeights(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	for _, tc := range []struct {
		w    int
		want uint8
		log  string
	}{
		{-30, 70, "(ETH0) Changing effective priority from 100 to 70"},
		{-500, 1, "(ETH0) Changing effective priority from 70 to 1"},
		{500, 254, "(ETH0) Changing effective priority from 1 to 254"},
		{154, 254, ""},
		{0, 100, "(ETH0) Changing effective priority from 254 to 100"},
	} {
		acts := h.step(vrrp.PriorityChanged{Now: h.now, Weight: tc.w})
		if h.in.Priority() != tc.want {
			t.Fatalf("weight %d: priority %d, want %d", tc.w, h.in.Priority(), tc.want)
		}
		var wantLogs []string
		if tc.log != "" {
			wantLogs = []string{tc.log}
		}
		if got := logs(acts); !reflect.DeepEqual(got, wantLogs) {
			t.Fatalf("weight %d: %q", tc.w, got)
		}
	}
	// The BACKUP's running down timer follows the new skew.
	d0 := h.deadline()
	h.step(vrrp.PriorityChanged{Now: h.now, Weight: 100}) // 200: skew 0.21875 instead of 0.609375
	if d := h.deadline(); d != d0-390625*time.Microsecond {
		t.Fatalf("down timer %v, want %v", d, d0-390625*time.Microsecond)
	}

	o := newHarness(t, func(c *vrrp.Config) { c.Priority = 255 })
	o.start()
	if acts := o.step(vrrp.PriorityChanged{Weight: -100}); len(acts) != 0 || o.in.Priority() != 255 {
		t.Fatalf("owner changed: %d %q", o.in.Priority(), describe(acts))
	}
}

// Interface down: a MASTER sends priority 0, drops the VIPs and enters
// FAULT; adverts are ignored in FAULT; interface up goes to BACKUP.
func TestFaultAndRecovery(t *testing.T) {
	h := masterHarness(t, nil)
	acts := h.step(vrrp.IfaceDown{Now: h.now + time.Millisecond})
	want := []string{
		"log (ETH0) Entering FAULT STATE",
		"send-advert prio=0 to=[224.0.0.18]",
		"log-detail (ETH0) sent 0 priority",
		"del-vips [203.0.113.110/24]",
		"notify MASTER->FAULT (fault) prio=100",
	}
	if got := describe(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	if _, ok := h.in.NextDeadline(); ok {
		t.Fatal("timer running in FAULT")
	}
	if acts := h.recv(h.advert(peerHigh, 200)); len(acts) != 0 {
		t.Fatalf("FAULT reacted to an advert: %q", describe(acts))
	}
	// A second fault source, then the interface: still FAULT until both clear.
	h.step(vrrp.TrackFault{Now: h.now, Name: "chk_http", Fault: true})
	h.step(vrrp.IfaceUp{Now: h.now})
	h.wantState(vrrp.StateFault)
	acts = h.step(vrrp.TrackFault{Now: h.now, Name: "chk_http", Fault: false})
	h.wantState(vrrp.StateBackup)
	if got := describe(acts); !reflect.DeepEqual(got, []string{"log (ETH0) Entering BACKUP STATE", "notify FAULT->BACKUP (fault-cleared) prio=100"}) {
		t.Fatalf("%q", got)
	}
	if d := h.deadline(); d != h.now+3*time.Second+609375*time.Microsecond {
		t.Fatalf("down timer %v", d)
	}

	// Interface down before start: FAULT, logged as keepalived 2.2.7's
	// vrrp_complete_init does ("(VI) entering FAULT state").
	f := newHarness(t, nil)
	f.step(vrrp.IfaceDown{})
	acts = f.start()
	if got := describe(acts); !reflect.DeepEqual(got, []string{"log (ETH0) entering FAULT state", "notify INIT->FAULT (fault) prio=100"}) {
		t.Fatalf("%q", got)
	}
}

// garp_master_refresh: a burst of garp_master_refresh_repeat every refresh
// interval while MASTER, checked when an advert is sent.
func TestGarpRefresh(t *testing.T) {
	h := masterHarness(t, func(c *vrrp.Config) {
		c.Model.GarpMasterDelay, c.Model.GarpMasterRefresh, c.Model.GarpMasterRefreshRepeat = 0, 10*time.Second, 2
	})
	start := h.now
	var at []time.Duration
	for h.now < start+35*time.Second {
		for _, g := range only[vrrp.SendGratuitous](h.fire()) {
			if g.Repeat != 2 {
				t.Fatalf("repeat %d", g.Repeat)
			}
			at = append(at, h.now-start)
		}
	}
	// keepalived compares with '>' so the burst goes with the advert after
	// the refresh time, 11 s after the previous one at 1 s intervals.
	if !reflect.DeepEqual(at, []time.Duration{11 * time.Second, 22 * time.Second, 33 * time.Second}) {
		t.Fatalf("refresh at %v", at)
	}
}

// VRRPv3 over IPv6 runs end to end through the codec.
func TestIPv6V3(t *testing.T) {
	var cfgs []vrrp.Config
	for i, a := range []string{"fe80::1", "fe80::2", "fe80::3"} {
		c := vrrp.DefaultConfig()
		c.Name, c.VRID, c.Version, c.IPv6 = "V6", 7, 3, true
		c.AdvertInt = 200 * time.Millisecond
		c.Priority = uint8(100 + i)
		c.SrcAddr = netip.MustParseAddr(a)
		c.VIPs = []netip.Prefix{netip.MustParsePrefix("2001:db8::7/64")}
		cfgs = append(cfgs, c)
	}
	n, err := vrrptest.New(9, cfgs...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfgs {
		n.Start(i)
	}
	n.Run(5 * time.Second)
	if m := n.Masters(); !reflect.DeepEqual(m, []int{2}) {
		t.Fatalf("masters %v", m)
	}
	for _, r := range n.Routers {
		if d := r.Inst.Stats().Discards; len(d) != 0 {
			t.Fatalf("r%d discarded %v", r.ID, d)
		}
	}
	if adverts := n.Routers[2].Inst.Stats().AdvertsSent; adverts < 20 {
		t.Fatalf("master sent %d adverts", adverts)
	}
}

// Sync group: when one member goes FAULT the others follow; when it comes
// back they all return to BACKUP and then become MASTER together.
func TestSyncGroup(t *testing.T) {
	mk := func(name string, vrid uint8) *vrrp.Instance {
		c := baseCfg()
		c.Name, c.VRID, c.AuthType = name, vrid, packet.AuthNone
		in, err := vrrp.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b := mk("VI_A", 1), mk("VI_B", 2)
	g, err := vrrp.NewSyncGroup("G1", a, b)
	if err != nil {
		t.Fatal(err)
	}
	g.Step(0, vrrp.Start{})
	g.Step(1, vrrp.Start{})
	d, _ := g.NextDeadline()
	g.Step(0, vrrp.Tick{Now: d})
	g.Step(1, vrrp.Tick{Now: d})
	if a.State() != vrrp.StateMaster || b.State() != vrrp.StateMaster || g.State() != vrrp.StateMaster {
		t.Fatalf("%v %v %v", a.State(), b.State(), g.State())
	}
	acts := g.Step(1, vrrp.IfaceDown{Now: d + time.Second})
	if a.State() != vrrp.StateFault || b.State() != vrrp.StateFault || g.State() != vrrp.StateFault {
		t.Fatalf("after fault: %v %v %v", a.State(), b.State(), g.State())
	}
	var texts []string
	for _, ga := range acts {
		if l, ok := ga.Action.(vrrp.Log); ok && !l.Detail {
			texts = append(texts, l.Text)
		}
	}
	want := []string{"(VI_B) Entering FAULT STATE", "VRRP_Group(G1) Syncing instances to FAULT state", "(VI_A) Entering FAULT STATE"}
	if !reflect.DeepEqual(texts, want) {
		t.Fatalf("\n got %q\nwant %q", texts, want)
	}
	g.Step(1, vrrp.IfaceUp{Now: d + 2*time.Second})
	if a.State() != vrrp.StateBackup || b.State() != vrrp.StateBackup {
		t.Fatalf("after recovery: %v %v", a.State(), b.State())
	}
	// Only when both want MASTER does the group go MASTER: A's timeout
	// alone leaves it BACKUP (vrrp_sync_can_goto_master), B's then moves both.
	da, _ := a.NextDeadline()
	g.Step(0, vrrp.Tick{Now: da})
	if a.State() != vrrp.StateBackup {
		t.Fatalf("A alone went %v", a.State())
	}
	db, _ := b.NextDeadline()
	acts = g.Step(1, vrrp.Tick{Now: db})
	if a.State() != vrrp.StateMaster || b.State() != vrrp.StateMaster {
		t.Fatalf("after timeout: %v %v", a.State(), b.State())
	}
}

// keepalived removes VIPs left on the interface by a previous run before
// starting (vrrp_restore_interfaces_startup).
func TestResidualVIPsRemovedAtStart(t *testing.T) {
	h := newHarness(t, nil)
	acts := h.step(vrrp.Start{ResidualVIPs: true})
	want := []string{"del-vips [203.0.113.110/24]", "log (ETH0) Entering BACKUP STATE (init)", "notify INIT->BACKUP (init) prio=100"}
	if got := describe(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

// notify_priority_changes: a FIFO event per effective priority change.
func TestNotifyPriorityChanges(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Model.NotifyPriorityChanges = true })
	h.start()
	acts := h.step(vrrp.PriorityChanged{Weight: 20})
	if n := only[vrrp.NotifyPriority](acts); len(n) != 1 || n[0] != (vrrp.NotifyPriority{State: vrrp.StateBackup, Priority: 120}) {
		t.Fatalf("%q", describe(acts))
	}
}

// Sync group: a member that hears a higher priority master goes BACKUP and
// takes the rest of the group with it (vrrp_sync_backup).
func TestSyncGroupFollowsBackup(t *testing.T) {
	mk := func(name string, vrid uint8) *vrrp.Instance {
		c := baseCfg()
		c.Name, c.VRID, c.AuthType, c.Priority = name, vrid, packet.AuthNone, 255
		c.Model.GarpMasterDelay = 0
		in, err := vrrp.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b := mk("VI_A", 1), mk("VI_B", 2)
	g, _ := vrrp.NewSyncGroup("G1", a, b)
	g.Step(0, vrrp.Start{})
	g.Step(1, vrrp.Start{})
	if a.State() != vrrp.StateMaster || b.State() != vrrp.StateMaster {
		t.Fatalf("owners: %v %v", a.State(), b.State())
	}
	// Another owner on VRID 1 forces A down to 254 and then BACKUP.
	h := newHarness(t, func(c *vrrp.Config) { c.VRID, c.AuthType = 1, packet.AuthNone })
	acts := g.Step(0, vrrp.AdvertReceived{Now: time.Second, Packet: h.advert(peerHigh, 255)})
	if a.State() != vrrp.StateBackup || b.State() != vrrp.StateBackup || g.State() != vrrp.StateBackup {
		t.Fatalf("%v %v %v", a.State(), b.State(), g.State())
	}
	var seen []string
	for _, ga := range acts {
		switch x := ga.Action.(type) {
		case vrrp.GroupNotify:
			seen = append(seen, "group "+x.State.String())
		case vrrp.Notify:
			seen = append(seen, fmt.Sprintf("m%d %v->%v", ga.Member, x.From, x.To))
		}
	}
	want := []string{"m0 MASTER->BACKUP", "m1 MASTER->BACKUP", "group BACKUP"}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("\n got %q\nwant %q", seen, want)
	}
}

// An unweighted track_script with no result yet at start (keepalived's
// num_script_init) holds the instance in FAULT without a log line or a
// notification; its first good result brings it up as from a fault, a
// first failure notifies FAULT without logging it (vrrp_init_state,
// process_script_update_priority, down_instance). Reported after Start
// (a reload's new script) it changes nothing.
func TestScriptInitHold(t *testing.T) {
	h := newHarness(t, nil)
	h.step(vrrp.TrackFault{Name: vrrp.InitFault + "script:chk", Fault: true})
	if acts := h.start(); len(acts) != 0 {
		t.Fatalf("held start said %q", describe(acts))
	}
	h.wantState(vrrp.StateFault)
	if acts := h.recv(h.advert(peerHigh, 200)); len(acts) != 0 {
		t.Fatalf("held instance reacted to an advert: %q", describe(acts))
	}
	acts := h.step(vrrp.TrackFault{Now: h.now, Name: vrrp.InitFault + "script:chk", Fault: false})
	h.wantState(vrrp.StateBackup)
	if got := describe(acts); !reflect.DeepEqual(got, []string{"log (ETH0) Entering BACKUP STATE", "notify FAULT->BACKUP (fault-cleared) prio=100"}) {
		t.Fatalf("%q", got)
	}

	f := newHarness(t, nil)
	f.step(vrrp.TrackFault{Name: vrrp.InitFault + "script:chk", Fault: true})
	f.start()
	acts = f.step(vrrp.TrackFault{Now: f.now, Name: "script:chk", Fault: true})
	acts = append(acts, f.step(vrrp.TrackFault{Now: f.now, Name: vrrp.InitFault + "script:chk", Fault: false})...)
	f.wantState(vrrp.StateFault)
	if got := describe(acts); !reflect.DeepEqual(got, []string{"notify INIT->FAULT (fault) prio=100"}) {
		t.Fatalf("first failure: %q", got)
	}

	r := newHarness(t, nil)
	r.start()
	r.wantState(vrrp.StateBackup)
	if acts := r.step(vrrp.TrackFault{Now: r.now, Name: vrrp.InitFault + "script:new", Fault: true}); len(acts) != 0 {
		t.Fatalf("an init fault after start acted: %q", describe(acts))
	}
	r.step(vrrp.TrackFault{Now: r.now, Name: vrrp.InitFault + "script:new", Fault: false})
	r.wantState(vrrp.StateBackup)
}
