package lvs

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func rsrv(ap string, w int, alive, inhibit bool) RealServer {
	return RealServer{Dest: Dest(netip.MustParseAddrPort(ap), DR, w), Alive: alive, Inhibit: inhibit}
}

// dests prints a pool's destinations as "addr:weight" in canonical order.
func dests(vs VirtualService) string {
	var parts []string
	for _, d := range vs.SortedDests() {
		parts = append(parts, d.DestKey.String()+"="+strconv.Itoa(d.Weight))
	}
	return strings.Join(parts, " ")
}

func TestPoolDesired(t *testing.T) {
	sorry := &SorryServer{Dest: Dest(netip.MustParseAddrPort("198.51.100.99:80"), NAT, 1)}
	sorryInhibit := &SorryServer{Dest: sorry.Dest, Inhibit: true}
	tests := []struct {
		name     string
		servers  []RealServer
		sorry    *SorryServer
		quorumUp bool
		want     string
	}{
		{"all alive", []RealServer{rsrv("198.51.100.11:80", 100, true, false), rsrv("198.51.100.12:80", 100, true, false)}, nil, true,
			"198.51.100.11:80=100 198.51.100.12:80=100"},
		{"dead removed", []RealServer{rsrv("198.51.100.11:80", 100, true, false), rsrv("198.51.100.12:80", 100, false, false)}, nil, true,
			"198.51.100.11:80=100"},
		{"dead inhibited stays at weight 0", []RealServer{rsrv("198.51.100.11:80", 100, true, false), rsrv("198.51.100.12:80", 100, false, true)}, nil, true,
			"198.51.100.11:80=100 198.51.100.12:80=0"},
		{"no quorum without sorry server keeps the live ones", []RealServer{rsrv("198.51.100.11:80", 1, true, false)}, nil, false,
			"198.51.100.11:80=1"},
		{"no quorum: sorry server replaces the pool", []RealServer{rsrv("198.51.100.11:80", 1, true, false), rsrv("198.51.100.12:80", 1, false, false)}, sorry, false,
			"198.51.100.99:80=1"},
		{"no quorum: inhibited real servers stay at 0", []RealServer{rsrv("198.51.100.11:80", 1, true, true), rsrv("198.51.100.12:80", 1, false, true)}, sorry, false,
			"198.51.100.11:80=0 198.51.100.12:80=0 198.51.100.99:80=1"},
		{"quorum: sorry server absent", []RealServer{rsrv("198.51.100.11:80", 1, true, false)}, sorry, true,
			"198.51.100.11:80=1"},
		{"quorum: inhibited sorry server at 0", []RealServer{rsrv("198.51.100.11:80", 1, true, false)}, sorryInhibit, true,
			"198.51.100.11:80=1 198.51.100.99:80=0"},
		{"sorry server that is a real server keeps the real one with quorum",
			[]RealServer{rsrv("198.51.100.99:80", 5, true, false)}, sorryInhibit, true, "198.51.100.99:80=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Pool{Service: Service{ServiceKey: seedKey, Scheduler: "rr"}, Servers: tt.servers, Sorry: tt.sorry, Quorum: 1}
			if got := dests(p.Desired(tt.quorumUp)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestQuorumHysteresis walks live weight up and down through a quorum of
// 10 with hysteresis 2: gain at 12, lose below 8.
func TestQuorumHysteresis(t *testing.T) {
	steps := []struct {
		weight int
		up     bool
		event  string
	}{
		{11, false, ""},
		{12, true, "up 12 >= 12"},
		{9, true, ""},
		{8, true, ""},
		{7, false, "down 7 < 8"},
		{11, false, ""},
		{20, true, "up 20 >= 12"},
		{0, false, "down 0 < 8"},
	}
	p := Pool{Service: Service{ServiceKey: seedKey, Scheduler: "rr"}, Quorum: 10, Hysteresis: 2,
		Sorry: &SorryServer{Dest: Dest(netip.MustParseAddrPort("198.51.100.99:80"), DR, 1)}}
	p.Servers = []RealServer{rsrv("198.51.100.11:80", 11, true, false)}
	up := p.InitialQuorum()
	if up {
		t.Fatal("11 < 12 must start without quorum")
	}
	for i, s := range steps {
		p.Servers = []RealServer{rsrv("198.51.100.11:80", s.weight, true, false)}
		vs, next, ev := p.Step(up)
		if next != s.up {
			t.Fatalf("step %d (weight %d): quorum %v, want %v", i, s.weight, next, s.up)
		}
		got := ""
		if ev != nil {
			dir, rel := "down", "<"
			if ev.Up {
				dir, rel = "up", ">="
			}
			got = dir + " " + strconv.Itoa(ev.LiveWeight) + " " + rel + " " + strconv.Itoa(ev.Threshold)
		}
		if got != s.event {
			t.Fatalf("step %d: event %q, want %q", i, got, s.event)
		}
		_, sorryIn := vs.Dests[p.Sorry.Dest.DestKey]
		if sorryIn == next {
			t.Fatalf("step %d: sorry server present=%v with quorum=%v", i, sorryIn, next)
		}
		up = next
	}
}

// TestHealthThroughReconciler checks the whole path: a failing server
// with inhibit_on_failure is one weight update, and recovery is another.
func TestHealthThroughReconciler(t *testing.T) {
	ctx := t.Context()
	b := NewMemBackend(nil)
	r := NewReconciler(b)
	p := Pool{Service: Service{ServiceKey: seedKey, Scheduler: "rr"}, Quorum: 1,
		Servers: []RealServer{rsrv("198.51.100.11:80", 100, true, false), rsrv("198.51.100.12:80", 100, true, true)}}
	apply := func(want string) {
		t.Helper()
		ops, err := r.Reconcile(ctx, Table{seedKey: p.Desired(p.InitialQuorum())})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(opStrings(ops), "; "); got != want {
			t.Fatalf("got %q\nwant %q", got, want)
		}
	}
	apply("add-service TCP  198.51.100.10:80 rr; add-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80; add-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80")
	p.Servers[1].Alive = false
	apply("update-dest 198.51.100.12:80 Route weight 0 in TCP 198.51.100.10:80")
	p.Servers[0].Alive = false
	apply("del-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80")
	p.Servers[0].Alive, p.Servers[1].Alive = true, true
	apply("update-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80; add-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.10:80")
}

func TestAlphaOmega(t *testing.T) {
	if !(Pool{}).InitialAlive() || (Pool{Alpha: true}).InitialAlive() {
		t.Error("alpha must start servers dead, its absence alive")
	}
	if (Pool{}).StopNotifies() || !(Pool{Omega: true}).StopNotifies() {
		t.Error("only omega notifies on stop")
	}
	// Alpha with inhibit: the dead-at-start server is programmed at 0.
	p := Pool{Service: Service{ServiceKey: seedKey, Scheduler: "rr"}, Quorum: 1, Alpha: true}
	p.Servers = []RealServer{rsrv("198.51.100.11:80", 100, p.InitialAlive(), true), rsrv("198.51.100.12:80", 100, p.InitialAlive(), false)}
	if got := dests(p.Desired(p.InitialQuorum())); got != "198.51.100.11:80=0" {
		t.Errorf("alpha start: %q", got)
	}
}
