package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

// fifo_write_vrrp_states_on_reload writes the groups and the non-MASTER
// instances a reload left in their state; a changed or new one notified
// already, a MASTER one writes nothing (vrrp_init_state).
func TestStateLines(t *testing.T) {
	before := vrrpengine.Status{
		Groups: []vrrpengine.GroupStatus{{Name: "G1", State: vrrp.StateMaster}, {Name: "G2", State: vrrp.StateBackup}},
		Instances: []vrrpengine.InstanceStatus{
			{Name: "A", State: vrrp.StateBackup, EffectivePriority: 90},
			{Name: "B", State: vrrp.StateMaster, EffectivePriority: 200},
			{Name: "C", State: vrrp.StateFault, EffectivePriority: 50},
			{Name: "D", State: vrrp.StateBackup, EffectivePriority: 80},
		},
	}
	after := vrrpengine.Status{
		Groups: []vrrpengine.GroupStatus{{Name: "G1", State: vrrp.StateMaster}, {Name: "G2", State: vrrp.StateFault}},
		Instances: []vrrpengine.InstanceStatus{
			{Name: "A", State: vrrp.StateBackup, EffectivePriority: 95},
			{Name: "B", State: vrrp.StateMaster, EffectivePriority: 200},
			{Name: "C", State: vrrp.StateFault, EffectivePriority: 50},
			{Name: "D", State: vrrp.StateMaster, EffectivePriority: 80},
			{Name: "NEW", State: vrrp.StateBackup, EffectivePriority: 100},
		},
	}
	want := []string{"GROUP \"G1\" MASTER 0\n", "INSTANCE \"A\" BACKUP 95\n", "INSTANCE \"C\" FAULT 50\n"}
	if got := stateLines(before, after); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// global_defs no_email_faults reaches the notifier, which then sends no
// mail for FAULT (vrrp_notify.c send_instance_notifies).
func TestNoEmailFaultsWired(t *testing.T) {
	for _, on := range []bool{false, true} {
		conf := filepath.Join(t.TempDir(), "keepalived.conf")
		g := "global_defs {\n  router_id NEF\n}\n"
		if on {
			g = "global_defs {\n  router_id NEF\n  no_email_faults\n}\n"
		}
		os.WriteFile(conf, []byte(g), 0o644)
		d := newDaemon(options{useFile: conf}, logrus.New(), config.Options{})
		cfg, err := d.load(false)
		if err != nil {
			t.Fatal(err)
		}
		n := newNotifications(d.log)
		n.configure(cfg)
		if n.notifier.NoEmailFaults != on {
			t.Errorf("no_email_faults %v: notifier has %v", on, n.notifier.NoEmailFaults)
		}
	}
}
