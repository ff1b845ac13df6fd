package lvs

import "keepalived-go/config"

// This file turns health into destinations, the keepalived way, as pure
// functions over our own types: inhibit_on_failure, quorum with hysteresis
// and sorry_server, alpha and omega. The caller keeps the only state
// (each server's Alive and the pool's quorum bit) and feeds it back in.

// RealServer is one configured real server and its current health.
type RealServer struct {
	Dest    Destination // configured settings; Weight is the effective weight
	Alive   bool
	Inhibit bool // inhibit_on_failure: keep at weight 0 instead of removing
}

// SorryServer is the fallback destination of a pool (sorry_server).
// Its Forward is the pool's lb_kind unless sorry_server_lvs_method says
// otherwise, and its weight is 1 in keepalived.
type SorryServer struct {
	Dest    Destination
	Inhibit bool // sorry_server_inhibit: keep at weight 0 while not needed
}

// Pool is one virtual server with its real servers: the input from which
// the desired kernel service is computed.
type Pool struct {
	Service    Service
	Servers    []RealServer
	Sorry      *SorryServer // nil when not configured
	Quorum     int          // minimum live weight; keepalived's default is 1
	Hysteresis int
	Alpha      bool // servers start dead until a first successful check
	Omega      bool // run down notifications on stop
}

// InitialAlive is the health a real server starts with: keepalived assumes
// up, unless alpha asks to wait for the first successful check.
func (p Pool) InitialAlive() bool { return !p.Alpha }

// LiveWeight is the sum of the weights of the live real servers, the
// figure quorum is measured against.
func (p Pool) LiveWeight() int {
	sum := 0
	for _, rs := range p.Servers {
		if rs.Alive {
			sum += rs.Dest.Weight
		}
	}
	return sum
}

// InitialQuorum is the quorum state at start (and on reload): up when the
// live weight reaches quorum plus hysteresis.
func (p Pool) InitialQuorum() bool {
	return p.LiveWeight() >= p.Quorum+p.Hysteresis
}

// NextQuorum returns the quorum state after a health change. Hysteresis
// makes the band sticky: it takes quorum+hysteresis to gain quorum and
// less than quorum-hysteresis (or no live weight at all) to lose it.
func (p Pool) NextQuorum(up bool) bool {
	sum := p.LiveWeight()
	if up {
		return sum != 0 && sum >= p.Quorum-p.Hysteresis
	}
	return sum >= p.Quorum+p.Hysteresis
}

// Desired returns the kernel service for the pool given its quorum state.
//
// With quorum (or without a sorry server) every live server is present at
// its weight; a dead one is absent, or at weight 0 with inhibit_on_failure.
// Without quorum and with a sorry server, the real servers leave the pool
// (inhibited ones stay at weight 0) and the sorry server takes it; with
// quorum the sorry server is absent, or at weight 0 with
// sorry_server_inhibit.
func (p Pool) Desired(quorumUp bool) VirtualService {
	vs := VirtualService{Service: p.Service, Dests: map[DestKey]Destination{}}
	sorryActive := p.Sorry != nil && !quorumUp
	for _, rs := range p.Servers {
		d := rs.Dest
		switch {
		case rs.Alive && !sorryActive:
		case rs.Inhibit:
			d.Weight = 0
		default:
			continue
		}
		vs.Dests[d.DestKey] = d
	}
	if p.Sorry != nil {
		d := p.Sorry.Dest
		switch {
		case sorryActive:
		case p.Sorry.Inhibit:
			d.Weight = 0
		default:
			return vs
		}
		// A sorry server that is also a real server is that real
		// server; keepalived does not program it twice.
		if _, dup := vs.Dests[d.DestKey]; !dup || sorryActive {
			vs.Dests[d.DestKey] = d
		}
	}
	return vs
}

// QuorumEvent is a change of a pool's quorum state, for notify_up /
// notify_down, the notify FIFO and SMTP alerts.
type QuorumEvent struct {
	Up         bool
	LiveWeight int
	Threshold  int // quorum ± hysteresis that was crossed

	// Set by Manager: the virtual server (keepalived's name for it), the
	// quorum_up or quorum_down script to run (nil when not configured),
	// and whether this is the state found at start or reload rather than
	// a change.
	VirtualServer string
	Script        *config.Script
	Init          bool
}

// Step applies a health change: it computes the new quorum state from the
// previous one and returns the desired service, the new state and, when
// the state changed, the event to notify.
func (p Pool) Step(quorumUp bool) (VirtualService, bool, *QuorumEvent) {
	next := p.NextQuorum(quorumUp)
	var ev *QuorumEvent
	if next != quorumUp {
		th := p.Quorum + p.Hysteresis
		if quorumUp {
			th = p.Quorum - p.Hysteresis
		}
		ev = &QuorumEvent{Up: next, LiveWeight: p.LiveWeight(), Threshold: th}
	}
	return p.Desired(next), next, ev
}

// StopNotifies reports whether stopping should send the pool's down
// notifications (real servers and quorum): keepalived only does so with
// omega.
func (p Pool) StopNotifies() bool { return p.Omega }
