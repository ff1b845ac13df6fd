package bfd

import (
	"net/netip"
	"time"

	"keepalived-go/bfd/packet"
)

// Event is an input to Session.Step. Every event carries Now, a reading of
// a monotonic clock (any epoch, the same for all events of a session).
type Event interface{ now() time.Duration }

// Start begins the session (keepalived's bfd_register_workers): an active
// session schedules its transmissions, every session reports its state to
// VRRP and the checkers. At daemon start (Reload false) an active session
// also sends a packet at once.
type Start struct {
	Now    time.Duration
	Reload bool
}

// Tick tells the session the time; send one at or after Deadline.
type Tick struct{ Now time.Duration }

// Received carries a packet the shell decoded, validated
// (packet.Control.Validate) and matched to this session: by Your
// Discriminator, or by source and destination address when that is zero.
// TTL is the received TTL or hop limit, 0 if unknown. For a session in
// AdminDown the shell first reopens its output socket and sends
// OutputRestored only through this packet's path: a packet received while
// the socket cannot be opened is the shell's to drop (packet.ErrAdminDown).
type Received struct {
	Now    time.Duration
	Packet *packet.Control
	TTL    int
	From   netip.AddrPort
}

// OutputFailed puts the session in AdminDown: its output socket could not
// be opened (keepalived's "Unable to open output socket, disabling
// instance").
type OutputFailed struct{ Now time.Duration }

// OutputRestored reports the output socket open again after OutputFailed,
// by the shell's periodic retry (keepalived's bfd_open_fd_out_thread): the
// session is Down and an active one transmits again.
type OutputRestored struct{ Now time.Duration }

// Reconfigure applies a reloaded bfd_instance of the same name to a
// running session (keepalived's bfd_complete_init with bfd_copy_state):
// the state carries over, a change of min_rx or min_tx starts a poll
// sequence, and the session's state is reported again.
type Reconfigure struct {
	Now    time.Duration
	Config Config
}

func (e Start) now() time.Duration          { return e.Now }
func (e Tick) now() time.Duration           { return e.Now }
func (e Received) now() time.Duration       { return e.Now }
func (e OutputFailed) now() time.Duration   { return e.Now }
func (e OutputRestored) now() time.Duration { return e.Now }
func (e Reconfigure) now() time.Duration    { return e.Now }

// Action is an output of Session.Step, to be performed in order.
type Action interface{ isAction() }

// Send asks for one Control packet to the neighbour.
type Send struct{ Packet packet.Control }

// Notify is keepalived's BFD event to the VRRP and checker processes: the
// session is Up, or it is not.
type Notify struct{ Up bool }

// StateChange reports a transition of the local state, for status and
// metrics (the log lines come as Log actions).
type StateChange struct {
	From, To packet.State
	Diag     packet.Diag
}

// Level is a log priority.
type Level uint8

const (
	Info Level = iota
	Warning
	Error
)

// Detail says which keepalived debug option makes a line appear.
type Detail uint8

const (
	// Always: logged whatever the options.
	Always Detail = iota
	// LogDetail: only with --log-detail (-D).
	LogDetail
	// ExtraDetail: only with keepalived's extra detail debug option.
	ExtraDetail
)

// Log is one line keepalived 2.2.7's BFD process would log, text identical.
type Log struct {
	Level  Level
	Detail Detail
	Text   string
}

func (Send) isAction()        {}
func (Notify) isAction()      {}
func (StateChange) isAction() {}
func (Log) isAction()         {}
