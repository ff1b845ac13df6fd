package agentx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// View answers the varbinds of one request from one consistent snapshot.
type View interface {
	// Get returns the object at name exactly; when there is none it
	// returns a NoSuchObject or NoSuchInstance varbind for name.
	Get(name OID) Varbind
	// Next returns the first object after start (at start too when
	// include is set), or ok=false past the end of the view.
	Next(start OID, include bool) (Varbind, bool)
}

// Registration is one subtree the agent registers with the master.
type Registration struct {
	Subtree  OID
	Priority uint8 // 0 means AgentX's default, 127
}

// AgentCap is an entry the agent adds to the master's sysORTable.
type AgentCap struct {
	ID    OID
	Descr string
}

// Config sets up an Agent.
type Config struct {
	// Socket is the master's address in net-snmp's form (ParseAddress);
	// empty is unix:/var/agentx/master.
	Socket string
	ID     OID
	Descr  string
	// Registrations and AgentCaps are sent after each Open.
	Registrations []Registration
	AgentCaps     []AgentCap
	// View is called once per request PDU.
	View func() View
	// TestSet checks a Set's varbinds (RFC 2741 7.2.4.1) and returns the
	// error and the 1-based index of the varbind at fault; nil refuses
	// every Set with notWritable. CommitSet applies varbinds that passed
	// TestSet; its error is reported as commitFailed.
	TestSet   func(vbs []Varbind) (ResError, int)
	CommitSet func(vbs []Varbind) error
	Log       *logrus.Entry
	// RequestTimeout bounds the wait for the master's answer to Open,
	// Register and Ping (default 1 s; net-snmp gives keepalived's session
	// a third of a second).
	RequestTimeout time.Duration
	// PingInterval is how often a connected agent checks the master
	// (default 120 s, keepalived's agentxPingInterval).
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between connection attempts
	// (default 1 s doubling up to 15 s).
	MinBackoff, MaxBackoff time.Duration
}

// ErrNotConnected is returned by Notify while no session is open; the
// notification is dropped, as net-snmp drops keepalived's traps then.
var ErrNotConnected = errors.New("agentx: no session with the master agent")

// Stats counts what the agent did, for logs and tests.
type Stats struct {
	Sessions      uint64 // sessions opened
	Requests      uint64 // Get/GetNext/GetBulk answered
	Notifies      uint64 // Notify PDUs written
	NotifyDropped uint64 // Notify calls while not connected
	BadPDUs       uint64 // PDUs that failed to decode
}

// Agent is an AgentX subagent: it keeps one session with the master open,
// reopening it with backoff, and serves the View.
type Agent struct {
	cfg   Config
	addr  Address
	start time.Time

	mu      sync.Mutex // guards conn, session, pending; serializes writes
	conn    net.Conn
	session uint32
	nextID  uint32
	pending map[uint32]chan *PDU
	up      chan struct{} // closed while a session is open

	setTx  uint32    // transaction of the Set in progress (readLoop only)
	setVBs []Varbind // its varbinds, once TestSet passed

	sessions, requests, notifies, dropped, bad atomic.Uint64
}

// New checks cfg and parses its socket address.
func New(cfg Config) (*Agent, error) {
	addr, err := ParseAddress(cfg.Socket)
	if err != nil {
		return nil, err
	}
	if cfg.View == nil {
		return nil, errors.New("agentx: Config.View is nil")
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(l)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 120 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = 15 * time.Second
	}
	return &Agent{cfg: cfg, addr: addr, start: time.Now(), pending: map[uint32]chan *PDU{}, up: make(chan struct{})}, nil
}

// Address is the master's parsed address.
func (a *Agent) Address() Address { return a.addr }

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	return Stats{Sessions: a.sessions.Load(), Requests: a.requests.Load(), Notifies: a.notifies.Load(),
		NotifyDropped: a.dropped.Load(), BadPDUs: a.bad.Load()}
}

// Connected returns a channel that is closed while a session is open (the
// channel of the current session; after a reconnect ask again).
func (a *Agent) Connected() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.up
}

// Run connects, serves, and reconnects with backoff until ctx ends; it
// returns ctx's error. On the way out it closes the session.
func (a *Agent) Run(ctx context.Context) error {
	backoff := a.cfg.MinBackoff
	for {
		err := a.session1(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			a.cfg.Log.Warnf("SNMP: AgentX session with %v: %v; retrying in %v", a.addr, err, backoff)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		if err == errServedOK {
			backoff = a.cfg.MinBackoff
		} else if backoff *= 2; backoff > a.cfg.MaxBackoff {
			backoff = a.cfg.MaxBackoff
		}
	}
}

// errServedOK marks a session that opened and later ended, so the next
// attempt starts from the smallest backoff.
var errServedOK = errors.New("agentx: session ended")

// session1 runs one connection: open, register, serve until it breaks.
func (a *Agent) session1(ctx context.Context) error {
	d := net.Dialer{Timeout: a.cfg.RequestTimeout}
	conn, err := d.DialContext(ctx, a.addr.Network, a.addr.Addr)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.conn, a.session = conn, 0
	a.mu.Unlock()

	readErr := make(chan error, 1)
	go func() { readErr <- a.readLoop(conn) }()
	// drop closes the connection, which ends readLoop.
	defer a.drop(conn)

	if err := a.open(); err != nil {
		return err
	}
	a.cfg.Log.Infof("SNMP: AgentX subagent connected to %v", a.addr)
	ping := time.NewTicker(a.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case err := <-readErr:
			if ctx.Err() == nil {
				a.cfg.Log.Warnf("SNMP: AgentX master %v: %v", a.addr, err)
			}
			return errServedOK
		case <-ctx.Done():
			// Say goodbye as net-snmp's snmp_shutdown does.
			a.request(&PDU{Header: Header{Type: TypeClose}, Reason: ReasonShutdown}, false)
			return ctx.Err()
		case <-ping.C:
			if _, err := a.request(&PDU{Header: Header{Type: TypePing}}, true); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		}
	}
}

// open sends Open, then the registrations and agent capabilities.
func (a *Agent) open() error {
	resp, err := a.request(&PDU{Header: Header{Type: TypeOpen}, Timeout: 0, ID: a.cfg.ID, Descr: a.cfg.Descr}, true)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if resp.Error != NoError {
		return fmt.Errorf("open: %w", resp.Error)
	}
	a.mu.Lock()
	a.session = resp.SessionID
	a.mu.Unlock()
	for _, r := range a.cfg.Registrations {
		prio := r.Priority
		if prio == 0 {
			prio = 127
		}
		resp, err := a.request(&PDU{Header: Header{Type: TypeRegister}, Priority: prio, ID: r.Subtree}, true)
		if err != nil {
			return fmt.Errorf("register %v: %w", r.Subtree, err)
		}
		if resp.Error != NoError {
			// keepalived logs "Unable to register ... MIB" and carries on.
			a.cfg.Log.Warnf("SNMP: unable to register %v: %v", r.Subtree, resp.Error)
		}
	}
	for _, c := range a.cfg.AgentCaps {
		if _, err := a.request(&PDU{Header: Header{Type: TypeAddAgentCaps}, ID: c.ID, Descr: c.Descr}, true); err != nil {
			return fmt.Errorf("add agent caps %v: %w", c.ID, err)
		}
	}
	a.sessions.Add(1)
	a.mu.Lock()
	close(a.up)
	a.mu.Unlock()
	return nil
}

// drop forgets a connection that ended.
func (a *Agent) drop(conn net.Conn) {
	conn.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == conn {
		a.conn, a.session = nil, 0
		select {
		case <-a.up:
			a.up = make(chan struct{})
		default:
		}
	}
	for id, ch := range a.pending {
		close(ch)
		delete(a.pending, id)
	}
}

// request writes p with a fresh packet ID and, when wait is set, waits for
// the master's Response.
func (a *Agent) request(p *PDU, wait bool) (*PDU, error) {
	a.mu.Lock()
	if a.conn == nil {
		a.mu.Unlock()
		return nil, ErrNotConnected
	}
	a.nextID++
	p.Version, p.Flags, p.SessionID, p.PacketID = Version, p.Flags|FlagNetworkByteOrder, a.session, a.nextID
	var ch chan *PDU
	if wait {
		ch = make(chan *PDU, 1)
		a.pending[p.PacketID] = ch
	}
	err := a.writeLocked(p)
	a.mu.Unlock()
	if err != nil || !wait {
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, io.ErrClosedPipe
		}
		return resp, nil
	case <-time.After(a.cfg.RequestTimeout):
		a.mu.Lock()
		delete(a.pending, p.PacketID)
		a.mu.Unlock()
		return nil, fmt.Errorf("%v: no response in %v", p.Type, a.cfg.RequestTimeout)
	}
}

func (a *Agent) writeLocked(p *PDU) error {
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	a.conn.SetWriteDeadline(time.Now().Add(a.cfg.RequestTimeout))
	_, err = a.conn.Write(b)
	return err
}

// Notify sends a Notify-PDU with vbs (snmpTrapOID.0 first, as SNMPv2
// traps have it; the master adds sysUpTime.0). It does not wait for the
// master's Response.
func (a *Agent) Notify(vbs []Varbind) error {
	_, err := a.request(&PDU{Header: Header{Type: TypeNotify}, Varbinds: vbs}, false)
	if err != nil {
		a.dropped.Add(1)
		return err
	}
	a.notifies.Add(1)
	return nil
}

// readLoop reads PDUs until the connection fails, answering requests and
// handing Responses to their waiters.
func (a *Agent) readLoop(conn net.Conn) error {
	var buf []byte
	if a.addr.Datagram() {
		buf = make([]byte, 65536)
	}
	for {
		p, err := a.read(conn, buf)
		if err != nil {
			return err
		}
		if p != nil {
			a.handle(conn, p)
		}
	}
}

// read returns the next PDU. A PDU whose header framed it but whose
// payload did not decode is answered with parseError (RFC 2741 7.2.2) and
// yields (nil, nil); a header that cannot be trusted ends the session.
func (a *Agent) read(conn net.Conn, buf []byte) (*PDU, error) {
	var raw []byte
	if buf != nil {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		raw = buf[:n]
	} else {
		var hb [HeaderLen]byte
		if _, err := io.ReadFull(conn, hb[:]); err != nil {
			return nil, err
		}
		_, n, err := ParseHeader(hb[:])
		if err != nil {
			a.bad.Add(1)
			return nil, err
		}
		raw = make([]byte, HeaderLen+n)
		copy(raw, hb[:])
		if _, err := io.ReadFull(conn, raw[HeaderLen:]); err != nil {
			return nil, err
		}
	}
	p, err := Unmarshal(raw)
	if err == nil {
		return p, nil
	}
	a.bad.Add(1)
	h, _, herr := ParseHeader(raw)
	if herr != nil {
		if buf != nil {
			return nil, nil // a bad datagram is dropped
		}
		return nil, herr
	}
	if h.Type != TypeResponse {
		a.respond(h, nil, ParseError, 0)
	}
	return nil, nil
}
