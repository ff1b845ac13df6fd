package iproute

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	"keepalived-go/config"
)

// note is a kernel notification shaped like the request (the kernel sends
// back the route or rule with the same header and attributes).
func note(typ uint16, m Message) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ)}, Data: append([]byte(nil), m.Data...)}
}

func tracker() (*Tracker, *RouteState, *RouteState, *RuleState, *RuleState) {
	vr := &RouteState{Route: v4Route()}
	sr := &RouteState{Route: &config.Route{Family: config.FamilyInet, Dst: netip.MustParsePrefix("203.0.113.128/25"),
		Dev: "eth1", Table: 100, Type: config.RTNUnicast, Protocol: config.RTProtKeepalived, Has: config.RouteProtocol,
		TrackGroup: "TG1"}}
	vrule := &RuleState{Rule: &config.Rule{Family: config.FamilyInet, From: netip.MustParsePrefix("198.51.100.0/24"),
		Table: 100, Action: config.FRActToTable, Priority: 100, SuppressPrefixLen: -1, Protocol: config.RTProtKeepalived,
		Has: config.RuleHasPriority | config.RuleHasProtocol}}
	srule := &RuleState{Rule: &config.Rule{Family: config.FamilyInet, IIf: "eth1", Table: 101, Action: config.FRActToTable,
		Priority: 300, SuppressPrefixLen: -1, Protocol: config.RTProtKeepalived, Has: config.RuleHasPriority | config.RuleHasProtocol}}
	t := &Tracker{
		Instances:    []*InstanceRoutes{{Name: "VI_1", Routes: []*RouteState{vr}, Rules: []*RuleState{vrule}}},
		StaticRoutes: []*RouteState{sr},
		StaticRules:  []*RuleState{srule},
		Index:        idx,
	}
	return t, vr, sr, vrule, srule
}

func TestTrackerRoutes(t *testing.T) {
	tr, vr, sr, _, _ := tracker()
	master := true
	isMaster := func(string) bool { return master }
	add := RouteMessage(vr.Route, Add, idx)

	// The kernel's RTM_NEWROUTE marks the route set and where it went.
	if v := tr.Handle(note(unix.RTM_NEWROUTE, add), isMaster); v != (Verdict{}) || !vr.Set || vr.ConfiguredIfindex != 3 {
		t.Fatalf("new route: %+v set %v ifindex %d", v, vr.Set, vr.ConfiguredIfindex)
	}
	// Deleted under a MASTER: it goes BACKUP (set_vrrp_backup).
	if v := tr.Handle(note(unix.RTM_DELROUTE, add), isMaster); v.Backup != "VI_1" || vr.Set {
		t.Errorf("deleted as master: %+v set %v", v, vr.Set)
	}
	master = false
	if v := tr.Handle(note(unix.RTM_DELROUTE, add), isMaster); v != (Verdict{}) {
		t.Errorf("deleted as backup: %+v", v)
	}
	master = true
	// Another protocol, another metric or another interface: not ours.
	other := note(unix.RTM_DELROUTE, add)
	other.Data[5] = config.RTProtKeepalived + 1
	for name, m := range map[string]netlink.Message{"protocol": other,
		"metric": note(unix.RTM_DELROUTE, RouteMessage(&config.Route{Family: config.FamilyInet, Dst: vr.Route.Dst,
			Via: vr.Route.Via, Dev: "eth0", Table: config.RTTableMain, Type: config.RTNUnicast, Metric: 8,
			Has: config.RouteMetric}, Add, idx)),
		"interface": note(unix.RTM_DELROUTE, RouteMessage(&config.Route{Family: config.FamilyInet, Dst: vr.Route.Dst,
			Dev: "eth1", Table: config.RTTableMain, Type: config.RTNUnicast, Metric: 7, Has: config.RouteMetric}, Add, idx)),
	} {
		if v := tr.Handle(m, isMaster); v != (Verdict{}) {
			t.Errorf("%s: %+v", name, v)
		}
	}
	// An untracked route deleted: nothing.
	vr.Route.NoTrack = true
	if v := tr.Handle(note(unix.RTM_DELROUTE, add), isMaster); v != (Verdict{}) {
		t.Errorf("no_track: %+v", v)
	}
	// A static route deleted is reinstated.
	if v := tr.Handle(note(unix.RTM_DELROUTE, RouteMessage(sr.Route, Add, idx)), isMaster); v.ReinstateRoute != sr {
		t.Errorf("static: %+v", v)
	}
}

func TestTrackerRules(t *testing.T) {
	tr, _, _, vrule, srule := tracker()
	vrule.Set, srule.Set = true, true
	isMaster := func(string) bool { return false }
	add := RuleMessage(vrule.Rule, Add)
	if v := tr.Handle(note(unix.RTM_NEWRULE, add), isMaster); v != (Verdict{}) || !vrule.Set {
		t.Errorf("new rule: %+v", v)
	}
	// keepalived does not look at the state for rules.
	if v := tr.Handle(note(unix.RTM_DELRULE, add), isMaster); v.Backup != "VI_1" || vrule.Set {
		t.Errorf("deleted: %+v set %v", v, vrule.Set)
	}
	if v := tr.Handle(note(unix.RTM_DELRULE, RuleMessage(srule.Rule, Add)), isMaster); v.ReinstateRule != srule || srule.Set {
		t.Errorf("static: %+v", v)
	}
	// Another priority, or protocol: not ours.
	r := *vrule.Rule
	r.Priority = 101
	if v := tr.Handle(note(unix.RTM_DELRULE, RuleMessage(&r, Add)), isMaster); v != (Verdict{}) {
		t.Errorf("other priority: %+v", v)
	}
	r = *vrule.Rule
	r.Protocol = 4
	if v := tr.Handle(note(unix.RTM_DELRULE, RuleMessage(&r, Add)), isMaster); v != (Verdict{}) {
		t.Errorf("other protocol: %+v", v)
	}
	vrule.Rule.NoTrack = true
	if v := tr.Handle(note(unix.RTM_DELRULE, add), isMaster); v != (Verdict{}) {
		t.Errorf("no_track: %+v", v)
	}
}

func TestTrackerInterfaces(t *testing.T) {
	tr, vr, sr, _, _ := tracker()
	vr.Set, vr.ConfiguredIfindex, sr.Set = true, 3, true
	master := func(string) bool { return true }
	if down := tr.InterfaceDown("eth1", 4, master); len(down) != 0 || !vr.Set || sr.Set {
		t.Errorf("eth1 down: %v, virtual set %v, static set %v", down, vr.Set, sr.Set)
	}
	if down := tr.InterfaceDown("eth0", 3, master); len(down) != 1 || down[0] != "VI_1" || vr.Set {
		t.Errorf("eth0 down: %v, virtual set %v", down, vr.Set)
	}
	if up := tr.InterfaceUp("eth1"); len(up) != 1 || up[0] != sr {
		t.Errorf("eth1 up: %v", up)
	}
}

func TestReloadMatching(t *testing.T) {
	old := &RouteState{Route: v4Route(), Set: true}
	same := &RouteState{Route: v4Route()}
	same.Route.MTU, same.Route.Has = 1400, same.Route.Has|config.RouteMTU // not part of the key
	other := &RouteState{Route: v4Route()}
	other.Route.Metric = 9
	if got := routeExist([]*RouteState{other, same}, old); got != same || !same.Set {
		t.Errorf("route_exist: %v", got)
	}
	r := &RuleState{Rule: &config.Rule{Family: config.FamilyInet, Table: 100, Action: config.FRActToTable, Priority: 5,
		SuppressPrefixLen: -1}, Set: true}
	r2 := &RuleState{Rule: &config.Rule{Family: config.FamilyInet, Table: 100, Action: config.FRActToTable, Priority: 5,
		SuppressPrefixLen: -1}}
	if !ruleExist([]*RuleState{r2}, r) || !r2.Set {
		t.Error("rule_exist")
	}
	r2.Rule.Priority = 6
	if ruleExist([]*RuleState{r2}, r) {
		t.Error("rule_exist with another priority")
	}
}

// TestTrackerOwnChanges: keepalived skips the notifications its own
// requests cause, except RTM_NEWROUTE.
func TestTrackerOwnChanges(t *testing.T) {
	tr, vr, _, vrule, _ := tracker()
	tr.OwnPID = 77
	vr.Set, vrule.Set = true, true
	del := note(unix.RTM_DELROUTE, RouteMessage(vr.Route, Add, idx))
	del.Header.PID = 77
	if v := tr.Handle(del, func(string) bool { return true }); v != (Verdict{}) || !vr.Set {
		t.Errorf("own route deletion: %+v set %v", v, vr.Set)
	}
	rdel := note(unix.RTM_DELRULE, RuleMessage(vrule.Rule, Add))
	rdel.Header.PID = 77
	if v := tr.Handle(rdel, func(string) bool { return true }); v != (Verdict{}) || !vrule.Set {
		t.Errorf("own rule deletion: %+v", v)
	}
	vr.Set = false
	add := note(unix.RTM_NEWROUTE, RouteMessage(vr.Route, Add, idx))
	add.Header.PID = 77
	tr.Handle(add, func(string) bool { return true })
	if !vr.Set || vr.ConfiguredIfindex != 3 {
		t.Errorf("own RTM_NEWROUTE not taken: set %v ifindex %d", vr.Set, vr.ConfiguredIfindex)
	}
}
