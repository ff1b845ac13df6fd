package snmp

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/snmp/agentx"
)

// Provider gives the state the MIBs show; it is called once per request
// PDU, from the agent's goroutine, and must not block for long (the
// daemon answers it from the engines' Status() snapshots).
type Provider func() *State

// ServerConfig sets up a Server.
type ServerConfig struct {
	// Socket is snmp_socket or -A's value; empty is the default.
	Socket   string
	Switches Switches
	State    Provider
	Log      *logrus.Entry
	// Setter applies Sets of the objects keepalived lets a manager write;
	// nil serves everything read-only (notWritable).
	Setter Setter
	// MaxAge is how long one built table answers requests (default 1 s;
	// negative builds one per request). A walk is one request per OID, and
	// building the table of a large config takes tens of milliseconds.
	MaxAge time.Duration
	// Agent tunes the AgentX session (timeouts, backoff); Socket, ID,
	// registrations and View are filled in.
	Agent agentx.Config
}

// Server is keepalived's SNMP subagent: one AgentX session serving the
// enabled MIBs and sending their traps.
type Server struct {
	sw    Switches
	agent *agentx.Agent
	log   *logrus.Entry
	view  func() agentx.View
}

// NewServer prepares the subagent; Run connects it.
func NewServer(cfg ServerConfig) (*Server, error) {
	ac := cfg.Agent
	ac.Socket = cfg.Socket
	ac.ID = KeepalivedOID
	ac.Descr = "Keepalived"
	ac.Registrations = Registrations(cfg.Switches)
	ac.AgentCaps = AgentCaps(cfg.Switches)
	ac.Log = cfg.Log
	sw := cfg.Switches
	state := cfg.State
	maxAge := cfg.MaxAge
	if maxAge == 0 {
		maxAge = time.Second
	}
	var (
		mu    sync.Mutex
		last  *agentx.Table
		built time.Time
	)
	ac.View = func() agentx.View {
		mu.Lock()
		defer mu.Unlock()
		if last != nil && maxAge > 0 && time.Since(built) < maxAge {
			return rfc2787Gets{last}
		}
		var st State
		if p := state(); p != nil {
			st = *p
		}
		if st.Now.IsZero() {
			st.Now = time.Now()
		}
		last, built = Build(&st, sw), time.Now()
		return rfc2787Gets{last}
	}
	if cfg.Setter != nil {
		setter := cfg.Setter
		var checked []setOp
		ac.TestSet = func(vbs []agentx.Varbind) (agentx.ResError, int) {
			st := state()
			if st == nil {
				return agentx.ErrNotWritable, 1
			}
			ops, e, idx := checkSets(st, sw, vbs)
			checked = ops
			return e, idx
		}
		ac.CommitSet = func([]agentx.Varbind) error {
			ops := checked
			checked = nil
			return applySets(setter, ops)
		}
	}
	a, err := agentx.New(ac)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	return &Server{sw: sw, agent: a, log: log, view: ac.View}, nil
}

// Run keeps the session open until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("Starting SNMP subagent")
	return s.agent.Run(ctx)
}

// Agent is the underlying AgentX session.
func (s *Server) Agent() *agentx.Agent { return s.agent }

// Switches are the enable switches the server runs with.
func (s *Server) Switches() Switches { return s.sw }

// Send sends the notifications built by the trap functions (nil ones are
// skipped); while the master is away they are dropped, as keepalived's
// are.
func (s *Server) Send(traps ...[]agentx.Varbind) {
	for _, vbs := range traps {
		if vbs == nil {
			continue
		}
		if err := s.agent.Notify(vbs); err != nil {
			s.log.Debugf("SNMP: trap %v not sent: %v", vbs[0].OID, err)
		}
	}
}

// rfc2787Gets answers a Get under vrrpOperTable or vrrpRouterStatsTable
// with noSuchInstance, whatever the index, as keepalived's
// snmp_rfcv2_header_list_table does (see first2787); GetNext walks them.
type rfc2787Gets struct{ *agentx.Table }

var rfc2787Quirky = []agentx.OID{RFC2787OID.Append(1, 3, 1), RFC2787OID.Append(2, 4, 1)}

func (v rfc2787Gets) Get(name agentx.OID) agentx.Varbind {
	for _, e := range rfc2787Quirky {
		if len(name) > len(e)+1 && name.HasPrefix(e) {
			if vb := v.Table.Get(name); vb.Type != agentx.NoSuchObject {
				return agentx.Varbind{Name: name, Type: agentx.NoSuchInstance}
			}
		}
	}
	return v.Table.Get(name)
}
