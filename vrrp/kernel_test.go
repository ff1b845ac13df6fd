package vrrp_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"keepalived-go/vrrp"
)

// A VIP removed under a MASTER (keepalived's netlink_if_address_filter ->
// set_vrrp_backup): BACKUP with priority 0 sent and the addresses
// removed, then MASTER again after Skew_Time, adding them back.
func TestSetBackupReturnsAfterSkew(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Priority = 150 })
	h.start()
	h.fire()
	h.wantState(vrrp.StateMaster)
	h.now = 5 * time.Second
	got := describe(h.step(vrrp.SetBackup{Now: h.now}))
	want := []string{
		"log (ETH0) Entering BACKUP STATE",
		"send-advert prio=0 to=[224.0.0.18]",
		"log-detail (ETH0) sent 0 priority",
		"del-vips [203.0.113.110/24]",
		"notify MASTER->BACKUP (removed) prio=150",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("actions\n got %q\nwant %q", got, want)
	}
	h.wantState(vrrp.StateBackup)
	// Skew_Time for priority 150: (256-150)/256 s.
	if d := h.deadline() - h.now; d != 414062*time.Microsecond {
		t.Fatalf("back to MASTER in %v, want Skew_Time 414.062ms", d)
	}
	acts := h.fire()
	h.wantState(vrrp.StateMaster)
	if len(only[vrrp.AddVIPs](acts)) != 1 {
		t.Fatalf("VIPs not added back: %q", describe(acts))
	}
}

// SetBackup does nothing to an instance that is not MASTER.
func TestSetBackupIgnoredUnlessMaster(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.wantState(vrrp.StateBackup)
	d := h.deadline()
	if acts := h.step(vrrp.SetBackup{Now: h.now}); len(acts) != 0 {
		t.Fatalf("BACKUP acted: %q", describe(acts))
	}
	if h.deadline() != d {
		t.Fatal("the down timer moved")
	}
}

// The MASTER members of the instance's sync group leave MASTER with it,
// each with a Skew_Time timer.
func TestSetBackupSyncGroup(t *testing.T) {
	mk := func(name string, vrid uint8) *vrrp.Instance {
		c := baseCfg()
		c.Name, c.VRID, c.Priority = name, vrid, 150
		in, err := vrrp.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a, b := mk("A", 1), mk("B", 2)
	g, err := vrrp.NewSyncGroup("G", a, b)
	if err != nil {
		t.Fatal(err)
	}
	g.Step(0, vrrp.Start{})
	g.Step(1, vrrp.Start{})
	now := 4 * time.Second
	g.Step(0, vrrp.Tick{Now: now})
	g.Step(1, vrrp.Tick{Now: now})
	if a.State() != vrrp.StateMaster || b.State() != vrrp.StateMaster || g.State() != vrrp.StateMaster {
		t.Fatalf("not MASTER: %v %v %v", a.State(), b.State(), g.State())
	}
	now = 6 * time.Second
	var dels []string
	for _, ga := range g.Step(1, vrrp.SetBackup{Now: now}) {
		if d, ok := ga.Action.(vrrp.DelVIPs); ok {
			dels = append(dels, []string{"A", "B"}[ga.Member]+" "+vrrp.Describe(d))
		}
	}
	if a.State() != vrrp.StateBackup || b.State() != vrrp.StateBackup || g.State() != vrrp.StateBackup {
		t.Fatalf("not BACKUP: %v %v %v", a.State(), b.State(), g.State())
	}
	if len(dels) != 2 {
		t.Fatalf("removals %q", dels)
	}
	for _, in := range []*vrrp.Instance{a, b} {
		if d, _ := in.NextDeadline(); d != now+in.SkewTime() {
			t.Errorf("%s returns at %v, want %v", in.Config().Name, d, now+in.SkewTime())
		}
	}
}

// SetSource changes the address adverts leave from; one of the other
// family is ignored.
func TestSetSource(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.step(vrrp.SetSource{Now: h.now, Addr: netip.MustParseAddr("198.51.100.5")})
	h.step(vrrp.SetSource{Now: h.now, Addr: netip.MustParseAddr("2001:db8::5")})
	acts := h.fire()
	ads := only[vrrp.SendAdvert](acts)
	if len(ads) == 0 || ads[0].Src != netip.MustParseAddr("198.51.100.5") {
		t.Fatalf("adverts %+v", ads)
	}
}
