package engine

import (
	"net"
	"net/netip"
	"sort"

	"keepalived-go/bfd"
)

// Status is a snapshot of the engine, answered by its owner goroutine.
type Status struct {
	Sessions []SessionStatus // by name
	// Discards counts packets no session took, by packet sentinel
	// (decode and validation errors, ErrNoSession, ErrAdminDown).
	Discards map[error]uint64
}

// SessionStatus is one session: its configuration's identity, the state
// machine's snapshot (states, discriminators, diagnostics, negotiated
// intervals, counters) and the socket's.
type SessionStatus struct {
	bfd.Snapshot
	Neighbor, Source netip.Addr
	// LocalPort is the output socket's source port, 0 while it is closed.
	LocalPort uint16
	// VRRP, Checker: where its events go.
	VRRP, Checker bool
	SendErrors    uint64
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
	for _, s := range e.sessions {
		ss := SessionStatus{Snapshot: s.fsm.Snapshot(), Neighbor: s.cfg.Neighbor, Source: s.cfg.Source,
			VRRP: s.cfg.VRRP, Checker: s.cfg.Checker, SendErrors: s.sendErrors}
		if s.out != nil {
			if a, ok := s.out.LocalAddr().(*net.UDPAddr); ok {
				ss.LocalPort = a.AddrPort().Port()
			}
		}
		st.Sessions = append(st.Sessions, ss)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].Name < st.Sessions[j].Name })
	return st
}
