package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/trackproc"
)

// fakeProcs is a ProcessTracker whose states the test sets.
type fakeProcs struct {
	snap    trackproc.Snapshot
	reload  trackproc.Snapshot
	events  chan trackproc.Event
	reloads int
}

func newFakeProcs(seq uint64, states ...any) *fakeProcs {
	f := &fakeProcs{events: make(chan trackproc.Event)}
	f.snap = snapOf(seq, states...)
	return f
}

// snapOf builds a snapshot from name, up pairs.
func snapOf(seq uint64, states ...any) trackproc.Snapshot {
	s := trackproc.Snapshot{Seq: seq}
	for i := 0; i+1 < len(states); i += 2 {
		s.Trackers = append(s.Trackers, trackproc.Status{Name: states[i].(string), Up: states[i+1].(bool)})
	}
	return s
}

func (f *fakeProcs) Status() trackproc.Snapshot     { return f.snap }
func (f *fakeProcs) Events() <-chan trackproc.Event { return f.events }
func (f *fakeProcs) Reload(*config.Config) trackproc.Snapshot {
	f.reloads++
	return f.reload
}

const procConf = `
vrrp_track_process tp_f {
    process kgfault
}
vrrp_track_process tp_w {
    process kgweight
    weight 10
}
vrrp_track_process tp_r {
    process kgrev
    weight 20 reverse
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 10
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.110/24
    }
    track_process {
        tp_f
        tp_w
        tp_r
    }
}
`

func TestEngineTrackProcess(t *testing.T) {
	fp := newFakeProcs(4, "tp_f", false, "tp_w", false, "tp_r", false)
	h := newHarness(t, procConf, func(o *Options) { o.Processes = fp })
	if !h.logged("(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)") {
		t.Error("no initial FAULT line")
	}
	is := h.inst("VI_1")
	if is.State != vrrp.StateFault || is.EffectivePriority != 100 {
		t.Fatalf("start: %v priority %d, want FAULT 100", is.State, is.EffectivePriority)
	}
	// Events the snapshot already holds change nothing.
	h.e.procEvent(trackproc.Event{Seq: 4, Tracker: "tp_f", Up: true})
	if h.inst("VI_1").State != vrrp.StateFault {
		t.Fatal("an event older than the snapshot was applied")
	}
	h.e.procEvent(trackproc.Event{Seq: 5, Tracker: "tp_f", Up: true})
	if got := h.inst("VI_1").State; got != vrrp.StateBackup {
		t.Fatalf("tp_f up: %v, want BACKUP", got)
	}
	for _, c := range []struct {
		ev   trackproc.Event
		prio uint8
	}{
		{trackproc.Event{Seq: 6, Tracker: "tp_w", Up: true}, 110},
		{trackproc.Event{Seq: 7, Tracker: "tp_r", Up: true}, 90},
		{trackproc.Event{Seq: 8, Tracker: "tp_w", Up: false}, 80},
		{trackproc.Event{Seq: 9, Tracker: "tp_r", Up: false}, 100},
	} {
		h.e.procEvent(c.ev)
		if got := h.inst("VI_1").EffectivePriority; got != c.prio {
			t.Errorf("%+v: priority %d, want %d", c.ev, got, c.prio)
		}
	}
	if !h.logged("(VI_1) Changing effective priority from 110 to 90") {
		t.Error("no priority line")
	}
	var kinds []string
	for _, ts := range h.inst("VI_1").Tracking {
		if ts.Kind == TrackProcess {
			kinds = append(kinds, ts.Name)
		}
	}
	if strings.Join(kinds, ",") != "tp_f,tp_w,tp_r" {
		t.Errorf("status tracking %v", kinds)
	}
	// A reload takes the monitor's new snapshot, logging the FAULT again.
	h.logs.Reset()
	fp.reload = snapOf(20, "tp_f", false, "tp_w", true, "tp_r", false)
	if err := h.e.applyReload(loadConf(t, procConf)); err != nil {
		t.Fatal(err)
	}
	if fp.reloads != 1 || !h.logged("(VI_1) entering FAULT state (tracked process tp_f quorum not achieved)") {
		t.Errorf("reload: %d monitor reloads, FAULT line %v", fp.reloads, h.logged("entering FAULT"))
	}
	is = h.inst("VI_1")
	if is.State != vrrp.StateFault || is.EffectivePriority != 110 {
		t.Errorf("after reload %v priority %d, want FAULT 110", is.State, is.EffectivePriority)
	}
	h.e.procEvent(trackproc.Event{Seq: 19, Tracker: "tp_f", Up: true})
	if h.inst("VI_1").State != vrrp.StateFault {
		t.Error("an event older than the reload's snapshot was applied")
	}
}

const procGroupConf = `
vrrp_track_process tp_w {
    process kgweight
    weight 10
}
vrrp_track_process tp_z {
    process kgzero
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_process {
        tp_w weight 5
        tp_z
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 10
    priority 100
    virtual_ipaddress {
        198.51.100.110/24
    }
    track_process {
        tp_w weight 30
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 11
    priority 100
    virtual_ipaddress {
        198.51.100.111/24
    }
}
`

// A sync group's trackers apply to every member; one tracked by both
// the instance and its group counts once, with the group's weight
// (add_vrrp_to_track_process).
func TestEngineTrackProcessSyncGroup(t *testing.T) {
	fp := newFakeProcs(1, "tp_w", true, "tp_z", false)
	h := newHarness(t, procGroupConf, func(o *Options) { o.Processes = fp })
	if !h.logged("(VI_1) track_process tp_w is configured on VRRP instance and sync group. Remove vrrp instance config") {
		t.Error("no merge line")
	}
	for _, name := range []string{"VI_1", "VI_2"} {
		if !h.logged("(" + name + ") entering FAULT state (tracked process tp_z quorum not achieved)") {
			t.Errorf("%s: no initial FAULT line", name)
		}
		if is := h.inst(name); is.State != vrrp.StateFault || is.EffectivePriority != 105 {
			t.Errorf("%s: %v priority %d, want FAULT 105", name, is.State, is.EffectivePriority)
		}
	}
	h.e.procEvent(trackproc.Event{Seq: 2, Tracker: "tp_z", Up: true})
	h.e.procEvent(trackproc.Event{Seq: 3, Tracker: "tp_w", Up: false})
	for _, name := range []string{"VI_1", "VI_2"} {
		if is := h.inst(name); is.State != vrrp.StateBackup || is.EffectivePriority != 100 {
			t.Errorf("%s: %v priority %d, want BACKUP 100", name, is.State, is.EffectivePriority)
		}
	}
}

// Without a monitor (the daemon runs none) tracked processes change
// nothing, and the engine logs nothing about them.
func TestEngineTrackProcessNoMonitor(t *testing.T) {
	h := newHarness(t, procConf, nil)
	if h.logged("tracked process") || h.inst("VI_1").State == vrrp.StateFault {
		t.Error("tracked processes acted on without a monitor")
	}
}

// forwardProcs applies one event at a time through the owner, and stops
// with its context or when the owner's loop is closed.
func TestForwardProcs(t *testing.T) {
	fp := newFakeProcs(0, "tp_f", false, "tp_w", false, "tp_r", false)
	h := newHarness(t, procConf, func(o *Options) { o.Processes = fp })
	ctx, cancel := context.WithCancel(context.Background())
	posted := make(chan func())
	h.e.forwardProcs(ctx, func(f func()) error { posted <- f; return nil })
	fp.events <- trackproc.Event{Seq: 1, Tracker: "tp_w", Up: true}
	f := <-posted
	select {
	case fp.events <- trackproc.Event{Seq: 2, Tracker: "tp_w", Up: false}:
		t.Fatal("took a second event before the first was applied")
	case <-time.After(20 * time.Millisecond):
	}
	f()
	fp.events <- trackproc.Event{Seq: 2, Tracker: "tp_w", Up: false}
	(<-posted)()
	if got := h.inst("VI_1").EffectivePriority; got != 100 || h.e.procs.seq != 2 {
		t.Errorf("priority %d seq %d after up and down", got, h.e.procs.seq)
	}
	cancel()
	fp.events = make(chan trackproc.Event) // the cancelled forwarder may still be reading the old one
	closed := errors.New("closed")
	h.e.forwardProcs(context.Background(), func(func()) error { return closed })
	fp.events <- trackproc.Event{Seq: 3, Tracker: "tp_w", Up: true}
	select {
	case fp.events <- trackproc.Event{Seq: 4, Tracker: "tp_w", Up: true}:
		t.Error("forwarding went on after the loop closed")
	case <-time.After(20 * time.Millisecond):
	}
}
