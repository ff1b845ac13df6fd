package agentx

import (
	"context"
	"net"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "unix:/var/agentx/master"},
		{"/run/agentx", "unix:/run/agentx"},
		{"unix:/tmp/x", "unix:/tmp/x"},
		{"tcp:localhost:705", "tcp:localhost:705"},
		{"tcp:127.0.0.1:7050", "tcp:127.0.0.1:7050"},
		{"tcp:7050", "tcp:localhost:7050"},
		{"tcp:somehost", "tcp:somehost:705"},
		{"udp:localhost:705", "udp:localhost:705"},
		{"tcp6:[::1]:705", "tcp6:[::1]:705"},
		{"udp6:[::1]:706", "udp6:[::1]:706"},
		{"localhost:705", "tcp:localhost:705"},
	} {
		a, err := ParseAddress(tc.in)
		if err != nil || a.String() != tc.want {
			t.Errorf("%q: %v %v, want %s", tc.in, a, err, tc.want)
		}
	}
	for _, bad := range []string{"unix:", "tcp:host:port"} {
		if a, err := ParseAddress(bad); err == nil {
			t.Errorf("%q parsed as %v", bad, a)
		}
	}
}

// fakeMaster accepts one subagent on a Unix socket and speaks the master
// side of the protocol with the codec, for what snmpd cannot be made to do
// (malformed PDUs, Close, silence).
type fakeMaster struct {
	t    *testing.T
	ln   net.Listener
	conn net.Conn
	path string
}

func newFakeMaster(t *testing.T) *fakeMaster {
	path := filepath.Join(t.TempDir(), "master")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeMaster{t: t, ln: ln, path: path}
}

// accept takes the next connection and answers Open and Registers with
// session 42, as a master does.
func (m *fakeMaster) accept(registrations int) {
	m.t.Helper()
	c, err := m.ln.Accept()
	if err != nil {
		m.t.Fatal(err)
	}
	m.conn = c
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < 1+registrations; i++ {
		p := m.read()
		want := TypeRegister
		if i == 0 {
			want = TypeOpen
		}
		if p.Type != want {
			m.t.Fatalf("PDU %d is %v, want %v", i, p.Type, want)
		}
		m.send(&PDU{Header: Header{Type: TypeResponse, SessionID: 42, PacketID: p.PacketID}})
	}
}

func (m *fakeMaster) read() *PDU {
	m.t.Helper()
	p, err := ReadPDU(m.conn)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

func (m *fakeMaster) send(p *PDU) {
	m.t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.conn.Write(b); err != nil {
		m.t.Fatal(err)
	}
}

func startTestAgent(t *testing.T, m *fakeMaster, mod func(*Config)) *Agent {
	cfg := Config{Socket: "unix:" + m.path, View: func() View { return testTable() },
		Registrations: []Registration{{Subtree: MustOID("1.3.6.1.4.1.9586.100.5")}},
		MinBackoff:    10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, RequestTimeout: 500 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

func testTable() *Table {
	r := MustOID("1.3.6.1.4.1.9586.100.5.1")
	return NewTable([]Varbind{Str(r.Append(2, 0), "b"), Str(r.Append(1, 0), "a"), Int(r.Append(4, 0), 4)},
		[]OID{r.Append(1), r.Append(2), r.Append(4)})
}

func TestAgentAnswersAndSurvivesBadPDU(t *testing.T) {
	m := newFakeMaster(t)
	a := startTestAgent(t, m, nil)
	m.accept(1)
	<-a.Connected()
	r := MustOID("1.3.6.1.4.1.9586.100.5.1")

	// A Get whose payload is garbage: parseError, and the session lives.
	bad := []byte{1, byte(TypeGet), FlagNetworkByteOrder, 0, 0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 4, 0x81, 0, 0, 0}
	m.conn.Write(bad)
	if p := m.read(); p.Type != TypeResponse || p.Error != ParseError || p.PacketID != 7 {
		t.Fatalf("answer to a bad Get: %+v", p)
	}

	// GetBulk: one non-repeater, two repeaters, three rounds.
	m.send(&PDU{Header: Header{Type: TypeGetBulk, SessionID: 42, PacketID: 8}, NonRepeaters: 1, MaxRepetitions: 3,
		Ranges: []SearchRange{{Start: r}, {Start: r.Append(1, 0)}, {Start: r, End: r.Append(2)}}})
	p := m.read()
	var got []string
	for _, v := range p.Varbinds {
		got = append(got, v.String())
	}
	want := []string{
		`.1.3.6.1.4.1.9586.100.5.1.1.0 = STRING: "a"`,
		`.1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: "b"`, `.1.3.6.1.4.1.9586.100.5.1.1.0 = STRING: "a"`,
		`.1.3.6.1.4.1.9586.100.5.1.4.0 = INTEGER: 4`, `.1.3.6.1.4.1.9586.100.5.1.1.0 = endOfMibView`,
		`.1.3.6.1.4.1.9586.100.5.1.4.0 = endOfMibView`, `.1.3.6.1.4.1.9586.100.5.1.1.0 = endOfMibView`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("GetBulk:\n%q\nwant\n%q", got, want)
	}

	// A Set is refused: notWritable on the first varbind.
	m.send(&PDU{Header: Header{Type: TypeTestSet, SessionID: 42, PacketID: 9}, Varbinds: []Varbind{Int(r.Append(4, 0), 5)}})
	if p := m.read(); p.Error != ErrNotWritable || p.Index != 1 {
		t.Fatalf("TestSet answer: %+v", p)
	}

	// A non-default context is not ours.
	m.send(&PDU{Header: Header{Type: TypeGet, Flags: FlagNonDefaultContext, SessionID: 42, PacketID: 10}, Context: "c",
		Ranges: []SearchRange{{Start: r.Append(1, 0)}}})
	if p := m.read(); p.Error != UnsupportedContext {
		t.Fatalf("context answer: %+v", p)
	}
	if s := a.Stats(); s.BadPDUs != 1 || s.Requests != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAgentReconnectsAfterCloseAndSilentMaster(t *testing.T) {
	m := newFakeMaster(t)
	a := startTestAgent(t, m, func(c *Config) { c.PingInterval = 100 * time.Millisecond })
	m.accept(1)
	<-a.Connected()
	// The master closes the session: the agent opens a new one.
	m.send(&PDU{Header: Header{Type: TypeClose, SessionID: 42}, Reason: ReasonShutdown})
	m.accept(1)
	<-a.Connected()
	// The master stops answering: the ping times out and the agent
	// reconnects.
	if p := m.read(); p.Type != TypePing {
		t.Fatalf("want a Ping, got %v", p.Type)
	}
	m.accept(1)
	<-a.Connected()
	if s := a.Stats(); s.Sessions != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// A Notify goes out as a Notify-PDU in the open session.
func TestAgentNotify(t *testing.T) {
	m := newFakeMaster(t)
	a := startTestAgent(t, m, nil)
	m.accept(1)
	<-a.Connected()
	vbs := []Varbind{ObjectID(MustOID("1.3.6.1.6.3.1.1.4.1.0"), MustOID("1.3.6.1.4.1.9586.100.5.2.10.0.2"))}
	if err := a.Notify(vbs); err != nil {
		t.Fatal(err)
	}
	p := m.read()
	if p.Type != TypeNotify || p.SessionID != 42 || len(p.Varbinds) != 1 || p.Varbinds[0].OID.Compare(vbs[0].OID) != 0 {
		t.Fatalf("notify %+v", p)
	}
}

// Cancelling Run sends a Close(shutdown) in the open session, as net-snmp
// does for keepalived on exit.
func TestAgentClosesOnCancel(t *testing.T) {
	m := newFakeMaster(t)
	a, err := New(Config{Socket: "unix:" + m.path, View: func() View { return testTable() },
		Registrations: []Registration{{Subtree: MustOID("1.3.6.1.4.1.9586.100.5")}}, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	c, err := m.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	m.conn = c
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if p := m.read(); p.Type != TypeOpen {
		t.Fatalf("first PDU %v", p.Type)
	}
	m.send(&PDU{Header: Header{Type: TypeResponse, SessionID: 42, PacketID: 1}})
	if p := m.read(); p.Type != TypeRegister || p.Priority != 127 {
		t.Fatalf("register %+v", p)
	}
	m.send(&PDU{Header: Header{Type: TypeResponse, SessionID: 42, PacketID: 2}})
	<-a.Connected()
	cancel()
	if p := m.read(); p.Type != TypeClose || p.Reason != ReasonShutdown || p.SessionID != 42 {
		t.Fatalf("want Close(shutdown), got %+v", p)
	}
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}

// A Set runs TestSet, then CommitSet with the same varbinds in the same
// transaction; a failed TestSet commits nothing.
func TestAgentSetFlow(t *testing.T) {
	m := newFakeMaster(t)
	var committed [][]Varbind
	a := startTestAgent(t, m, func(c *Config) {
		c.TestSet = func(vbs []Varbind) (ResError, int) {
			if vbs[0].Int == 0 {
				return ErrWrongValue, 1
			}
			return NoError, 0
		}
		c.CommitSet = func(vbs []Varbind) error { committed = append(committed, vbs); return nil }
	})
	m.accept(1)
	<-a.Connected()
	n := MustOID("1.3.6.1.4.1.9586.100.5.2.3.1.7.1")
	for tx, val := range []int32{0, 200} {
		h := Header{SessionID: 42, TransactionID: uint32(tx + 1), PacketID: uint32(10 + tx)}
		h.Type = TypeTestSet
		m.send(&PDU{Header: h, Varbinds: []Varbind{Int(n, val)}})
		p := m.read()
		if val == 0 && (p.Error != ErrWrongValue || p.Index != 1) || val != 0 && p.Error != NoError {
			t.Fatalf("TestSet %d: %+v", val, p)
		}
		if val == 0 {
			h.Type = TypeCleanupSet
			m.send(&PDU{Header: h})
			continue
		}
		h.Type = TypeCommitSet
		m.send(&PDU{Header: h})
		if p := m.read(); p.Type != TypeResponse || p.Error != NoError {
			t.Fatalf("CommitSet: %+v", p)
		}
	}
	if len(committed) != 1 || committed[0][0].Int != 200 {
		t.Fatalf("committed %v", committed)
	}
}
