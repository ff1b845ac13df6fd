package engine

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"keepalived-go/bfd/packet"
	"keepalived-go/config"
)

// freePort finds a UDP port free on 127.0.0.1 and 127.0.0.2.
func freePort(t *testing.T) uint16 {
	t.Helper()
	for i := 0; i < 50; i++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: p})
		c.Close()
		if err == nil {
			c2.Close()
			return uint16(p)
		}
	}
	t.Fatal("no free port")
	return 0
}

func inst(name, nbr, src string, mods ...func(*config.BFDInstance)) *config.BFDInstance {
	bi := &config.BFDInstance{Name: name, VRRP: true, Checker: true,
		Neighbor: netip.MustParseAddr(nbr), MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
		IdleTx: time.Second, Multiplier: 3, TTL: 255}
	if src != "" {
		bi.Source = netip.MustParseAddr(src)
	}
	for _, m := range mods {
		m(bi)
	}
	return bi
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Levels() []logrus.Level { return logrus.AllLevels }
func (l *logSink) Fire(e *logrus.Entry) error {
	l.mu.Lock()
	l.lines = append(l.lines, e.Message)
	l.mu.Unlock()
	return nil
}

func (l *logSink) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

type running struct {
	e       *Engine
	cancel  context.CancelFunc
	done    chan error
	log     *logSink
	events  chan seenEvent
	pending []seenEvent // read, not yet waited for
	once    sync.Once
	err     error
}

func start(t *testing.T, listen string, port uint16, insts ...*config.BFDInstance) *running {
	t.Helper()
	return startEngine(t, Options{Listen: netip.AddrPortFrom(netip.MustParseAddr(listen), port), PeerPort: port}, insts...)
}

// startEngine runs an engine with opts (its Log replaced by a collector)
// until the test ends; its events are copied to r.events.
func startEngine(t *testing.T, opts Options, insts ...*config.BFDInstance) *running {
	t.Helper()
	sink := &logSink{}
	l := logrus.New()
	l.SetLevel(logrus.DebugLevel)
	l.SetOutput(nopWriter{})
	l.AddHook(sink)
	opts.Log = logrus.NewEntry(l)
	e := New(&config.Config{BFDInstances: insts}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{e: e, cancel: cancel, done: make(chan error, 1), log: sink, events: make(chan seenEvent, 1000)}
	go func() { r.done <- e.Run(ctx) }()
	// Status and Reload work once Run has begun.
	for deadline := time.Now().Add(5 * time.Second); !e.live.Load() && time.Now().Before(deadline); {
		select {
		case <-e.done:
			t.Fatalf("Run ended: %v", <-r.done)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	go func() {
		for ev := range e.Events() {
			r.events <- seenEvent{ev, time.Now()}
		}
		close(r.events)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// seenEvent is an event and when the test read it.
type seenEvent struct {
	Event
	Seen time.Time
}

// waitEvent waits for the next event of name with state up; events of
// other sessions read meanwhile stay for later waits.
func (r *running) waitEvent(t *testing.T, name string, up bool, within time.Duration) seenEvent {
	t.Helper()
	for i := 0; i < len(r.pending); i++ {
		if ev := r.pending[i]; ev.Name == name {
			r.pending = append(r.pending[:i:i], r.pending[i+1:]...)
			i--
			if ev.Up == up {
				return ev
			}
		}
	}
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-r.events:
			if !ok {
				t.Fatalf("events closed waiting for %s up=%v", name, up)
			}
			if ev.Name != name {
				r.pending = append(r.pending, ev)
				continue
			}
			if ev.Up == up {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event %s up=%v within %v", name, up, within)
		}
	}
}

// drain forgets every event read or ready so far.
func (r *running) drain() {
	r.pending = nil
	for {
		select {
		case <-r.events:
		default:
			return
		}
	}
}

func (r *running) session(t *testing.T, name string) SessionStatus {
	t.Helper()
	st, err := r.e.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sessions {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no session %s", name)
	return SessionStatus{}
}

// Two engines on loopback: both report Down at start, come Up, and when
// one stops the other reports Down within the detection time.
func TestLoopbackPair(t *testing.T) {
	port := freePort(t)
	a := start(t, "127.0.0.1", port, inst("ab", "127.0.0.2", "127.0.0.1"))
	b := start(t, "127.0.0.2", port, inst("ba", "127.0.0.1", "127.0.0.2"))
	if ev := a.waitEvent(t, "ab", false, time.Second); !ev.VRRP || !ev.Checker {
		t.Fatalf("start event %+v", ev)
	}
	a.waitEvent(t, "ab", true, 3*time.Second)
	b.waitEvent(t, "ba", true, 3*time.Second)
	time.Sleep(100 * time.Millisecond) // let the poll sequence finish
	sa, sb := a.session(t, "ab"), b.session(t, "ba")
	if sa.State != packet.Up || sa.RemoteDiscr != sb.LocalDiscr || sb.RemoteDiscr != sa.LocalDiscr {
		t.Fatalf("a %+v\nb %+v", sa, sb)
	}
	if sa.TxInterval != 10*time.Millisecond || sa.DetectTime != 30*time.Millisecond || sa.Poll {
		t.Fatalf("negotiated tx %v detect %v poll %v", sa.TxInterval, sa.DetectTime, sa.Poll)
	}
	if sa.LocalPort < packet.MinSourcePort {
		t.Fatalf("source port %d", sa.LocalPort)
	}
	if !a.log.has("(ab) Entering Up state") {
		t.Fatal("no Up log line")
	}
	b.stop()
	stopped := time.Now()
	a.waitEvent(t, "ab", false, time.Second)
	// Loose wall-clock bound (shared machine): the precise bound is the
	// netns tests' and the simulation's.
	if d := time.Since(stopped); d > 30*time.Millisecond+200*time.Millisecond {
		t.Fatalf("Down after %v", d)
	}
	if !a.log.has("(ab) Entering Down state (Local diagnostic - Control Detection Time Expired") {
		t.Fatal("no Down log line")
	}
}

// Bad packets are counted by reason and dropped; a TTL below 255 is
// refused by the session (GTSM).
func TestDiscards(t *testing.T) {
	port := freePort(t)
	a := start(t, "127.0.0.1", port, inst("ab", "127.0.0.2", "127.0.0.1"))
	a.waitEvent(t, "ab", false, time.Second)
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	good := packet.Control{Version: 1, State: packet.Down, DetectMult: 3, MyDiscr: 9, DesiredMinTx: 1000000, RequiredMinRx: 10000}
	enc := func(p packet.Control) []byte { b, _ := p.MarshalBinary(); return b }
	bad := good
	bad.Version = 2
	stranger := good
	stranger.YourDiscr = 12345
	c.Write([]byte{1, 2, 3})
	c.Write(enc(bad))
	c.Write(enc(stranger))
	rc, _ := c.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 254) })
	c.Write(enc(good))
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, err := a.e.Status()
		if err != nil {
			t.Fatal(err)
		}
		d := st.Discards
		sd := st.Sessions[0].Stats.Discards
		if d[packet.ErrTooShort] == 1 && d[packet.ErrVersion] == 1 && d[packet.ErrNoSession] == 1 && sd[packet.ErrTTL] == 1 {
			if st.Sessions[0].State != packet.Down {
				t.Fatalf("a TTL 254 packet moved the session to %v", st.Sessions[0].State)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("discards %v, session %v", d, sd)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// TTL 255 again: accepted, Down -> Init.
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, 255) })
	c.Write(enc(good))
	waitState(t, a, "ab", packet.Init)
}

func waitState(t *testing.T, r *running, name string, want packet.State) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for r.session(t, name).State != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v, want %v", name, r.session(t, name).State, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Reload: an unchanged session keeps its discriminator and state and
// reports again; a timer change polls; a new neighbour is a new session;
// a removed session is gone.
func TestReload(t *testing.T) {
	port := freePort(t)
	a := start(t, "127.0.0.1", port, inst("ab", "127.0.0.2", "127.0.0.1"), inst("gone", "127.0.0.3", "127.0.0.1"))
	b := start(t, "127.0.0.2", port, inst("ba", "127.0.0.1", "127.0.0.2"))
	a.waitEvent(t, "ab", true, 3*time.Second)
	b.waitEvent(t, "ba", true, 3*time.Second)
	// Both sides' polls from idle_tx to min_tx over first, and their
	// Finals delivered: a Final still in flight when a's reload starts its
	// poll would end that poll before b saw it (keepalived's bfd_set_poll
	// does the same), and b would keep its interval.
	for deadline := time.Now().Add(3 * time.Second); a.session(t, "ab").Poll || b.session(t, "ba").Poll; {
		if time.Now().After(deadline) {
			t.Fatal("initial poll sequences did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	before := a.session(t, "ab")
	cfg := &config.Config{BFDInstances: []*config.BFDInstance{
		inst("ab", "127.0.0.2", "127.0.0.1", func(bi *config.BFDInstance) { bi.MinRx = 20 * time.Millisecond }),
		inst("new", "127.0.0.4", "127.0.0.1"),
	}}
	if err := a.e.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	a.waitEvent(t, "ab", true, time.Second)
	after := a.session(t, "ab")
	if after.LocalDiscr != before.LocalDiscr || after.State != packet.Up || after.LocalPort != before.LocalPort {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	st, _ := a.e.Status()
	if len(st.Sessions) != 2 || st.Sessions[0].Name != "ab" || st.Sessions[1].Name != "new" {
		t.Fatalf("sessions %+v", st.Sessions)
	}
	// The poll for min_rx 20 ms ends with b's Final: b now sends every 20 ms.
	deadline := time.Now().Add(time.Second)
	for b.session(t, "ba").TxInterval != 20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("b's tx interval %v after a's poll", b.session(t, "ba").TxInterval)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := a.session(t, "ab"); s.Poll || s.DetectTime != 60*time.Millisecond {
		t.Fatalf("after poll: %+v", s)
	}
}

func TestStatusBeforeRun(t *testing.T) {
	e := New(&config.Config{}, Options{})
	if _, err := e.Status(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Status before Run: %v", err)
	}
	if err := e.Reload(&config.Config{}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Reload before Run: %v", err)
	}
}

func TestCoalesce(t *testing.T) {
	q := []Event{{Name: "a", Up: true}, {Name: "b", Up: true}, {Name: "a", Up: false}, {Name: "c"}, {Name: "b", Up: false}}
	got := coalesce(q)
	want := []Event{{Name: "a", Up: false}, {Name: "c"}, {Name: "b", Up: false}}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%+v", got)
		}
	}
}

func TestPortRange(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
	}{
		{"32768\t60999\n", 49152, 60999},
		{"50000 65535\n", 50000, 65535},
		{"60000\t60500\n", 49152, 65535},
		{"garbage", 49152, 60999},
	} {
		lo, hi := sourcePorts(fixedRange(c.in))
		if lo != c.lo || hi != c.hi {
			t.Errorf("%q: %d-%d, want %d-%d", c.in, lo, hi, c.lo, c.hi)
		}
	}
}

type fixedRange string

func (f fixedRange) ListenUDP(string, netip.AddrPort, func(uintptr) error) (*net.UDPConn, error) {
	return nil, errors.New("no sockets here")
}
func (f fixedRange) LocalPortRange() (int, int, bool) { return parsePortRange(string(f)) }
