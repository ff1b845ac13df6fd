package agentx_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/snmptest"
	"keepalived-go/snmp/agentx"
)

var testRoot = agentx.MustOID("1.3.6.1.4.1.9586.100.5.99")

// testView serves one of every value type under testRoot, and n rows.
func testView(n int) func() agentx.View {
	return func() agentx.View {
		var vbs []agentx.Varbind
		col := func(c uint32) agentx.OID { return testRoot.Append(1, c) }
		for i := 1; i <= n; i++ {
			idx := uint32(i)
			vbs = append(vbs,
				agentx.Str(col(2).Append(idx), fmt.Sprintf("row%d", i)),
				agentx.Int(col(3).Append(idx), int32(-i)),
				agentx.Gauge(col(4).Append(idx), uint32(i)*7),
				agentx.Counter(col(5).Append(idx), 1<<31),
				agentx.Counter64Of(col(6).Append(idx), 1<<40),
				agentx.Ticks(col(7).Append(idx), 4200),
				agentx.IP(col(8).Append(idx), netip.MustParseAddr("198.51.100.7")),
				agentx.Octets(col(9).Append(idx), []byte{0xc6, 0x33, 0x64, 0x0a}),
			)
		}
		var cols []agentx.OID
		for c := uint32(2); c <= 9; c++ {
			cols = append(cols, col(c))
		}
		return agentx.NewTable(vbs, cols)
	}
}

func startAgent(t *testing.T, socket string, view func() agentx.View) (*agentx.Agent, context.CancelFunc) {
	t.Helper()
	a, err := agentx.New(agentx.Config{Socket: socket, ID: testRoot, Descr: "agentx test",
		Registrations: []agentx.Registration{{Subtree: testRoot}},
		AgentCaps:     []agentx.AgentCap{{ID: testRoot, Descr: "The MIB module for tests"}},
		View:          view, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUp(t, a)
	return a, cancel
}

func waitUp(t *testing.T, a *agentx.Agent) {
	t.Helper()
	select {
	case <-a.Connected():
	case <-time.After(10 * time.Second):
		t.Fatalf("no AgentX session after 10 s: %+v", a.Stats())
	}
}

// TestSnmpdWalk serves a table through a real net-snmp snmpd and walks
// it with snmpwalk (GetNext) and snmpbulkwalk (GetBulk): both must print
// every row of every type, in order.
func TestSnmpdWalk(t *testing.T) {
	for _, sock := range []string{"unix", "tcp", "udp"} {
		t.Run(sock, func(t *testing.T) {
			o := snmptest.Options{}
			switch sock {
			case "tcp":
				o.AgentX = fmt.Sprintf("tcp:127.0.0.1:%d", freeTCPPort(t))
			case "udp":
				o.AgentX = fmt.Sprintf("udp:127.0.0.1:%d", snmptest.FreeUDPPort(t))
			}
			d := snmptest.StartSNMPD(t, o)
			a, _ := startAgent(t, d.AgentX, testView(3))
			want := []string{}
			for _, vb := range testView(3)().(*agentx.Table).Varbinds() {
				want = append(want, vb.String())
			}
			if sock == "udp" {
				// net-snmp 5.9.3 opens and registers a UDP subagent but
				// cannot send it requests ("unknown addr type of size -1"
				// in its log), as keepalived's vrrp_snmp.c notes: the
				// session opening is all there is to check.
				if s := a.Stats(); s.Sessions != 1 {
					t.Fatalf("stats %+v", s)
				}
				return
			}
			got := d.Walk(testRoot.String())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("snmpwalk:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if bulk := d.BulkWalk(testRoot.String()); !reflect.DeepEqual(bulk, want) {
				t.Fatalf("snmpbulkwalk:\n%s\nwant:\n%s", strings.Join(bulk, "\n"), strings.Join(want, "\n"))
			}
			out, err := d.Get(testRoot.Append(1, 2, 2).String(), testRoot.Append(1, 2, 9).String(), testRoot.Append(7).String())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{`= STRING: "row2"`, "No Such Instance", "No Such Object"} {
				if !strings.Contains(out, w) {
					t.Errorf("snmpget lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestSnmpdNotify sends a Notify through snmpd to snmptrapd.
func TestSnmpdNotify(t *testing.T) {
	td := snmptest.StartTrapd(t, "")
	d := snmptest.StartSNMPD(t, snmptest.Options{TrapSink: td.Addr})
	a, _ := startAgent(t, d.AgentX, testView(1))
	trapOID := agentx.MustOID("1.3.6.1.4.1.9586.100.5.99.0.1")
	err := a.Notify([]agentx.Varbind{
		agentx.ObjectID(agentx.MustOID("1.3.6.1.6.3.1.1.4.1.0"), trapOID),
		agentx.Str(testRoot.Append(1, 2), "VI_1"),
		agentx.Int(testRoot.Append(1, 3), 2),
	})
	if err != nil {
		t.Fatal(err)
	}
	trs := td.WaitTraps(trapOID.String(), 1, 10*time.Second)
	want := []string{testRoot.Append(1, 2).String() + ` = STRING: "VI_1"`, testRoot.Append(1, 3).String() + " = INTEGER: 2"}
	if !reflect.DeepEqual(trs[0].Varbinds, want) {
		t.Fatalf("trap %v, want varbinds %q", trs[0], want)
	}
}

// TestSnmpdRestart kills snmpd and starts another on the same socket: the
// agent must open a new session by itself and serve again.
func TestSnmpdRestart(t *testing.T) {
	o := snmptest.Options{AgentX: fmt.Sprintf("tcp:127.0.0.1:%d", freeTCPPort(t))}
	d := snmptest.StartSNMPD(t, o)
	a, _ := startAgent(t, d.AgentX, testView(1))
	if got := d.Walk(testRoot.String()); len(got) != 8 {
		t.Fatalf("walk before restart: %q", got)
	}
	d.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-a.Connected():
			if time.Now().After(deadline) {
				t.Fatal("agent still thinks it is connected 10 s after snmpd died")
			}
			time.Sleep(20 * time.Millisecond)
			continue
		default:
		}
		break
	}
	if err := a.Notify(nil); err != agentx.ErrNotConnected {
		t.Fatalf("Notify while down: %v", err)
	}
	d2 := snmptest.StartSNMPD(t, o)
	waitUp(t, a)
	if got := d2.Walk(testRoot.String()); len(got) != 8 {
		t.Fatalf("walk after restart: %q", got)
	}
	if s := a.Stats(); s.Sessions < 2 || s.NotifyDropped != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
