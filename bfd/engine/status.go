package engine

import (
	"net"
	"net/netip"
	"sort"

	"keepalived-go/bfd"
	"keepalived-go/config"
)

// Status is a snapshot of the engine, answered by its owner goroutine.
type Status struct {
	Sessions []SessionStatus // in configuration order
	// Discards counts packets no session took, by packet sentinel
	// (decode and validation errors, ErrNoSession, ErrAdminDown).
	Discards map[error]uint64
	// InFD is the input socket's descriptor (keepalived's fd_in).
	InFD int
}

// SessionStatus is one session: its configuration's identity, the state
// machine's snapshot (states, discriminators, diagnostics, negotiated
// intervals, counters) and the socket's.
type SessionStatus struct {
	bfd.Snapshot
	Neighbor, Source netip.Addr
	// LocalPort is the output socket's source port, 0 while it is closed.
	LocalPort uint16
	// OutFD is the output socket's descriptor, -1 while it is closed;
	// Retrying: a reopen is scheduled (keepalived's thread_open_fd_out).
	OutFD    int
	Retrying bool
	// VRRP, Checker: where its events go.
	VRRP, Checker bool
	// SendError: the last send failed (keepalived's send_error).
	SendError  bool
	SendErrors uint64
	// Config is the session's bfd_instance; shared, do not modify.
	Config *config.BFDInstance
}

type statusReq struct{ reply chan Status }

// Status asks the running engine for its state; before Run or after it
// returned it reports ErrStopped.
func (e *Engine) Status() (Status, error) {
	if !e.live.Load() {
		return Status{}, ErrStopped
	}
	r := statusReq{reply: make(chan Status, 1)}
	select {
	case e.inbox <- r:
	case <-e.done:
		return Status{}, ErrStopped
	}
	select {
	case st := <-r.reply:
		return st, nil
	case <-e.done:
		return Status{}, ErrStopped
	}
}

func (e *Engine) status() Status {
	st := Status{Discards: map[error]uint64{}}
	for k, v := range e.discards {
		st.Discards[k] = v
	}
	st.InFD = fdOf(e.in)
	order := map[string]int{}
	for i, bi := range e.cfg {
		order[bi.Name] = i
	}
	for _, s := range e.sessions {
		ss := SessionStatus{Snapshot: s.fsm.Snapshot(), Neighbor: s.cfg.Neighbor, Source: s.cfg.Source,
			VRRP: s.cfg.VRRP, Checker: s.cfg.Checker, SendError: s.sendError, SendErrors: s.sendErrors,
			OutFD: -1, Retrying: s.retryAt != 0, Config: s.cfg}
		if s.out != nil {
			if a, ok := s.out.LocalAddr().(*net.UDPAddr); ok {
				ss.LocalPort = a.AddrPort().Port()
			}
			ss.OutFD = fdOf(s.out)
		}
		st.Sessions = append(st.Sessions, ss)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return order[st.Sessions[i].Name] < order[st.Sessions[j].Name] })
	return st
}

// fdOf is a socket's descriptor, -1 for none.
func fdOf(c *net.UDPConn) int {
	fd := -1
	if c == nil {
		return fd
	}
	if rc, err := c.SyscallConn(); err == nil {
		rc.Control(func(f uintptr) { fd = int(f) })
	}
	return fd
}
