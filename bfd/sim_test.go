package bfd

import (
	"testing"
	"time"

	"keepalived-go/bfd/packet"
)

// Two sessions with keepalived's defaults come Up within one idle_tx
// interval of starting: the first packets go out at once and take both to
// Init, the next (75-90% of idle_tx later) to Up. Then they exchange at
// 10 ms less jitter.
func TestSimPairComesUp(t *testing.T) {
	m := newSim(t, conf("a"), conf("b"), seededEnv(1, 0x100), seededEnv(2, 0x200))
	m.start()
	m.run(time.Second)
	for i, s := range m.s {
		snap := s.Snapshot()
		if snap.State != packet.Up || snap.RemoteState != packet.Up {
			t.Fatalf("session %d: %v/%v\n%s", i, snap.State, snap.RemoteState, m.describe())
		}
		if snap.TxInterval != 10*ms || snap.DetectTime != 50*ms || snap.Poll {
			t.Fatalf("session %d: tx %v detect %v poll %v", i, snap.TxInterval, snap.DetectTime, snap.Poll)
		}
	}
	ups := 0
	for _, e := range m.events {
		if e.up {
			ups++
			if e.at < 750*ms || e.at > 901*ms {
				t.Fatalf("Up only at %v", e.at)
			}
		}
	}
	if ups != 2 {
		t.Fatalf("%d Up events\n%s", ups, m.describe())
	}
}

// Cutting the link: each side goes Down within its detection time after
// the last packet it received, and reports Down once; restoring it brings
// both Up again. Over many seeds, cut times and interval settings.
func TestSimCutDetectionBound(t *testing.T) {
	type side struct{ minRx, minTx uint32 }
	settings := []struct {
		a, b side
		mult uint8
	}{
		{side{10000, 10000}, side{10000, 10000}, 5},
		{side{50000, 50000}, side{50000, 50000}, 3},
		{side{20000, 100000}, side{100000, 10000}, 3},
		{side{1000, 1000}, side{300000, 300000}, 1},
	}
	for _, st := range settings {
		for seed := int64(0); seed < 40; seed++ {
			ca, cb := conf("a"), conf("b")
			ca.MinRx, ca.MinTx, ca.Multiplier = st.a.minRx, st.a.minTx, st.mult
			cb.MinRx, cb.MinTx, cb.Multiplier = st.b.minRx, st.b.minTx, st.mult
			m := newSim(t, ca, cb, seededEnv(seed, 0x100), seededEnv(seed+1000, 0x200))
			m.start()
			m.run(2 * time.Second)
			for i, s := range m.s {
				if s.State() != packet.Up {
					t.Fatalf("%+v seed %d: session %d %v", st, seed, i, s.State())
				}
			}
			cut := 2*time.Second + time.Duration(seed)*397*time.Microsecond
			m.run(cut)
			last := [2]time.Duration{m.s[0].lastSeen, m.s[1].lastSeen}
			detect := [2]time.Duration{m.s[0].Snapshot().DetectTime, m.s[1].Snapshot().DetectTime}
			m.cut, m.queue = true, nil
			n := len(m.events)
			m.run(cut + 2*time.Second)
			for i := range m.s {
				var down []simEvent
				for _, e := range m.events[n:] {
					if e.who == i {
						down = append(down, e)
					}
				}
				if len(down) != 1 || down[0].up {
					t.Fatalf("%+v seed %d session %d: events after cut %+v", st, seed, i, down)
				}
				if got, want := down[0].at-last[i], detect[i]; got != want {
					t.Fatalf("%+v seed %d session %d: Down %v after the last packet, detection time %v", st, seed, i, got, want)
				}
			}
			m.cut = false
			m.run(cut + 6*time.Second)
			for i, s := range m.s {
				if s.State() != packet.Up {
					t.Fatalf("%+v seed %d: session %d not Up again (%v)\n%s", st, seed, i, s.State(), m.describe())
				}
			}
		}
	}
}

// One side restarting (a new session, new discriminator) while the other
// is Up: the survivor goes Down on the restarted side's Down packet and
// both come Up again.
func TestSimPeerRestart(t *testing.T) {
	m := newSim(t, conf("a"), conf("b"), seededEnv(3, 0x100), seededEnv(4, 0x200))
	m.start()
	m.run(time.Second)
	m.s[1] = New(conf("b"), seededEnv(5, 0x300))
	m.apply(1, m.s[1].Step(Start{Now: m.now}))
	n := len(m.events)
	m.run(3 * time.Second)
	var a []bool
	for _, e := range m.events[n:] {
		if e.who == 0 {
			a = append(a, e.up)
		}
	}
	if len(a) != 2 || a[0] || !a[1] {
		t.Fatalf("survivor events %v\n%s", a, m.describe())
	}
	if m.s[0].State() != packet.Up || m.s[1].State() != packet.Up {
		t.Fatalf("%v %v", m.s[0].State(), m.s[1].State())
	}
}

// A passive side with an active neighbour comes Up; two passive sides
// never do.
func TestSimPassive(t *testing.T) {
	pa := conf("b")
	pa.Passive = true
	m := newSim(t, conf("a"), pa, seededEnv(6, 0x100), seededEnv(7, 0x200))
	m.start()
	m.run(2 * time.Second)
	if m.s[0].State() != packet.Up || m.s[1].State() != packet.Up {
		t.Fatalf("active/passive: %v %v", m.s[0].State(), m.s[1].State())
	}
	pb := conf("a")
	pb.Passive = true
	m = newSim(t, pb, pa, seededEnv(8, 0x100), seededEnv(9, 0x200))
	m.start()
	m.run(5 * time.Second)
	if m.s[0].State() != packet.Down || len(m.sent[0])+len(m.sent[1]) != 0 {
		t.Fatalf("passive pair: %v, %d packets", m.s[0].State(), len(m.sent[0])+len(m.sent[1]))
	}
}

// Neighbour administratively down: keepalived's session goes Down with
// diag 3 and sends no event, so a tracking VRRP instance stays as it was.
func TestSimNeighbourAdminDown(t *testing.T) {
	m := newSim(t, conf("a"), conf("b"), seededEnv(10, 0x100), seededEnv(11, 0x200))
	m.start()
	m.run(time.Second)
	n := len(m.events)
	m.apply(1, m.s[1].Step(OutputFailed{Now: m.now}))
	// The AdminDown side is silent now: hand its AdminDown packet over.
	p := packet.Control{Version: 1, Diag: packet.DiagAdminDown, State: packet.AdminDown, DetectMult: 5,
		MyDiscr: m.s[1].LocalDiscr(), YourDiscr: m.s[0].LocalDiscr(), DesiredMinTx: 1000000, RequiredMinRx: 10000}
	m.apply(0, m.s[0].Step(Received{Now: m.now, Packet: &p, TTL: 255}))
	if m.s[0].State() != packet.Down || m.s[0].Snapshot().LocalDiag != packet.DiagNeighborDown {
		t.Fatalf("%v %v", m.s[0].State(), m.s[0].Snapshot().LocalDiag)
	}
	for _, e := range m.events[n:] {
		if e.who == 0 {
			t.Fatalf("event sent for neighbour AdminDown: %+v", e)
		}
	}
}
