package engine

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
)

const bfdPeer = `bfd_instance peer {
    neighbor_ip 198.51.100.2
}
`

// withTrackBFD is the seed with a track_bfd block.
func withTrackBFD(block string) string {
	return bfdPeer + strings.Replace(seed, "    virtual_ipaddress {", "    track_bfd {\n        "+block+"\n    }\n    virtual_ipaddress {", 1)
}

// Unweighted track_bfd: Down is FAULT. keepalived's bfd_up starts false,
// so the instance starts in FAULT until the session is reported Up.
func TestBFDUnweightedFault(t *testing.T) {
	h := newHarness(t, withTrackBFD("peer"), nil)
	if st := h.inst("ETH0").State; st != vrrp.StateFault {
		t.Fatalf("state %v before any BFD report, want FAULT", st)
	}
	h.e.SetBFD(BFDState{Name: "peer", Up: true})
	h.advance(5 * time.Second)
	if st := h.inst("ETH0").State; st != vrrp.StateMaster {
		t.Fatalf("state %v after BFD Up, want MASTER", st)
	}
	h.e.SetBFD(BFDState{Name: "peer", Up: false})
	is := h.inst("ETH0")
	if is.State != vrrp.StateFault {
		t.Fatalf("state %v after BFD Down, want FAULT", is.State)
	}
	if len(is.Faults) != 1 || is.Faults[0] != "bfd:peer" {
		t.Errorf("faults %q", is.Faults)
	}
	if h.net.addrs[vipKey] {
		t.Error("VIP still set in FAULT")
	}
	for _, s := range []string{"VRRP_Instance(ETH0) Tracked BFD instance peer is UP", "VRRP_Instance(ETH0) Tracked BFD instance peer is DOWN"} {
		if !h.logged(s) {
			t.Errorf("not logged: %q", s)
		}
	}
	// The same state again changes nothing and logs nothing.
	n := len(h.logs.AllEntries())
	h.e.SetBFD(BFDState{Name: "peer", Up: false})
	if len(h.logs.AllEntries()) != n {
		t.Errorf("a repeated Down logged %q", h.logs.LastEntry().Message)
	}
	var tr []TrackStatus
	for _, x := range is.Tracking {
		if x.Kind == TrackBFD {
			tr = append(tr, x)
		}
	}
	if len(tr) != 1 || tr[0].Name != "peer" || tr[0].Up || !tr[0].Known || tr[0].Weight != 0 {
		t.Errorf("tracking %+v", tr)
	}
}

// Reverse, unweighted: Up is FAULT.
func TestBFDReverseFault(t *testing.T) {
	h := newHarness(t, withTrackBFD("peer weight 0 reverse"), nil)
	h.advance(5 * time.Second)
	if st := h.inst("ETH0").State; st != vrrp.StateMaster {
		t.Fatalf("state %v with the session Down and reverse, want MASTER", st)
	}
	h.e.SetBFD(BFDState{Name: "peer", Up: true})
	if st := h.inst("ETH0").State; st != vrrp.StateFault {
		t.Fatalf("state %v with the session Up and reverse, want FAULT", st)
	}
}

// Weighted: the priority moves by the weight, as keepalived's arithmetic
// has it for each sign and reverse.
func TestBFDWeights(t *testing.T) {
	for _, c := range []struct {
		block    string
		down, up uint8
	}{
		{"peer weight -50", 150, 200},
		{"peer weight 30", 200, 230},
		{"peer weight 30 reverse", 200, 170},
		{"peer weight -30 reverse", 230, 200},
	} {
		h := newHarness(t, withTrackBFD(c.block), nil)
		prio := func() uint8 { return h.inst("ETH0").EffectivePriority }
		if p := prio(); p != c.down {
			t.Errorf("%s: priority %d at start (Down), want %d", c.block, p, c.down)
		}
		h.e.SetBFD(BFDState{Name: "peer", Up: true})
		if p := prio(); p != c.up {
			t.Errorf("%s: priority %d when Up, want %d", c.block, p, c.up)
		}
		h.e.SetBFD(BFDState{Name: "peer", Up: false})
		if p := prio(); p != c.down {
			t.Errorf("%s: priority %d Down again, want %d", c.block, p, c.down)
		}
		if st := h.inst("ETH0").State; st == vrrp.StateFault {
			t.Errorf("%s: a weighted track_bfd put the instance in FAULT", c.block)
		}
	}
}

// keepalivedTotal replays keepalived's own bookkeeping: the start value
// of initialise_track_bfd_state, then the +-|weight| x multiplier of
// vrrp_handle_bfd_event on every change.
func keepalivedTotal(w int, reverse bool, states []bool) int {
	m := 1
	if reverse {
		m = -1
	}
	abs := max(w, -w)
	total := 0
	if w > 0 && states[0] || w < 0 && !states[0] {
		total += w * m
	}
	for i := 1; i < len(states); i++ {
		if states[i] == states[i-1] {
			continue
		}
		if states[i] {
			total += abs * m
		} else {
			total -= abs * m
		}
	}
	return total
}

// bfdWeight is a function of the state alone; it must agree with
// keepalived's running sum over any sequence of reports.
func TestBFDWeightMatchesKeepalivedArithmetic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		w := r.IntN(507) - 253
		if w == 0 {
			continue
		}
		rev := r.IntN(2) == 0
		n := 1 + r.IntN(10)
		states := make([]bool, n)
		for j := range states {
			states[j] = r.IntN(2) == 0
		}
		want := keepalivedTotal(w, rev, states)
		got := bfdWeight(config.TrackRef{Name: "x", Weight: w, Reverse: rev}, states[n-1])
		if got != want {
			t.Fatalf("weight %d reverse %v states %v: ours %d, keepalived %d", w, rev, states, got, want)
		}
	}
}

const bfdGroup = bfdPeer + `bfd_instance other {
    neighbor_ip 198.51.100.3
}
vrrp_sync_group G {
    group {
        A
        B
    }
    track_bfd {
        peer
        other weight -20
    }
}
vrrp_instance A {
    state BACKUP
    interface eth0
    virtual_router_id 1
    priority 100
    advert_int 1
    track_bfd {
        other
    }
    virtual_ipaddress {
        198.51.100.201/24
    }
}
vrrp_instance B {
    state BACKUP
    interface eth0
    virtual_router_id 2
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.202/24
    }
}
`

// A sync group's track_bfd applies to every member. An instance that
// tracks the same session unweighted keeps its own entry (weight 0: FAULT)
// where the group's is weighted (add_vrrp_to_track_bfd), and keepalived
// says so.
func TestBFDSyncGroup(t *testing.T) {
	h := newHarness(t, bfdGroup, nil)
	for _, n := range []string{"A", "B"} {
		if st := h.inst(n).State; st != vrrp.StateFault {
			t.Fatalf("%s: state %v before the group's session is Up", n, st)
		}
	}
	if p := h.inst("B").EffectivePriority; p != 80 {
		t.Errorf("B: priority %d with other Down, want 80 (the group's -20)", p)
	}
	if !h.logged("(A) track_bfd other is configured on VRRP instance and sync group. Remove vrrp instance config") {
		t.Error("the instance-and-group message was not logged")
	}
	h.e.SetBFD(BFDState{Name: "peer", Up: true})
	h.advance(5 * time.Second)
	// A is still held by its own unweighted other; the group follows it.
	if is := h.inst("A"); is.State != vrrp.StateFault || len(is.Faults) != 1 || is.Faults[0] != "bfd:other" {
		t.Errorf("A: %v faults %q with other Down", is.State, is.Faults)
	}
	h.e.SetBFD(BFDState{Name: "other", Up: true})
	h.advance(5 * time.Second)
	for _, n := range []string{"A", "B"} {
		is := h.inst(n)
		if is.State != vrrp.StateMaster || is.EffectivePriority != 100 {
			t.Errorf("%s: %v priority %d with both sessions Up", n, is.State, is.EffectivePriority)
		}
	}
	h.e.SetBFD(BFDState{Name: "peer", Up: false})
	for _, n := range []string{"A", "B"} {
		if st := h.inst(n).State; st != vrrp.StateFault {
			t.Errorf("%s: state %v after the group's session went Down", n, st)
		}
	}
}

// Sessions reported before the instances start, and across a reload,
// keep their state (clear_diff_bfd).
func TestBFDStateBeforeStartAndReload(t *testing.T) {
	cfg := loadConf(t, withTrackBFD("peer"))
	h := &harness{t: t, net: newFakeNet()}
	e, err := New(cfg, Options{Net: h.net, Now: func() time.Duration { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	e.SetBFD(BFDState{Name: "peer", Up: true})
	e.begin(context.Background())
	if st := h.inst("ETH0").State; st == vrrp.StateFault {
		t.Fatal("an Up reported before start was lost")
	}
	if err := e.applyReload(loadConf(t, withTrackBFD("peer weight -10"))); err != nil {
		t.Fatal(err)
	}
	if p := h.inst("ETH0").EffectivePriority; p != 200 {
		t.Errorf("priority %d after reload with the session Up, want 200", p)
	}
}
