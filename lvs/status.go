package lvs

import "slices"

// Status is the LVS engine at one instant, as its owner sees it: what the
// dumps, the metrics, the KEEPALIVED-MIB virtual/real server tables and
// the control socket read. Every field is a copy.
type Status struct {
	// Backend is the data plane asked for: auto, ipvs or nftables.
	Backend string
	// Open: Run opened the backend and programmed the table.
	Open bool
	// VirtualServers in configuration order.
	VirtualServers []VirtualServerStatus
	// Counters are the backend's request counters.
	Counters Counters
	// Sync is the connection-sync daemon running (nil: none).
	Sync *SyncDaemon
	// VRRP is the last state reported of each VRRP instance.
	VRRP map[string]VRRPState
}

// VirtualServerStatus is one virtual_server as the engine holds it.
type VirtualServerStatus struct {
	// Name is keepalived's (config.VirtualServer.Name).
	Name string
	// Services are its kernel services (one, or one per group entry).
	Services []Service
	// QuorumUp is the quorum state; LiveWeight the weight it is measured
	// on, against Quorum and Hysteresis.
	QuorumUp             bool
	LiveWeight           int
	Quorum, Hysteresis   int
	Suspended, HASuspend bool
	// Sorry is the sorry server (nil: none); SorryActive whether it is
	// in the table now (quorum lost).
	Sorry       *SorryServer
	SorryActive bool
	RealServers []RealServerStatus
}

// RealServerStatus is one real server of a virtual server.
type RealServerStatus struct {
	Key RSKey
	// Dest is the destination as the table wants it: Weight is the
	// effective weight (the checkers' dynamic weight when they set one).
	Dest    Destination
	Alive   bool
	Inhibit bool
	// InTable: the destination is in the desired table (alive, or kept
	// at weight 0 by inhibit_on_failure).
	InTable bool
}

// Status asks the engine's owner for its state; any goroutine, any time.
func (m *Manager) Status() Status {
	var s Status
	m.own.Do(func() { s = m.status() })
	return s
}

func (m *Manager) status() Status {
	s := Status{Backend: m.kind, Open: m.b != nil, Counters: m.counters(), VRRP: map[string]VRRPState{}}
	if m.syncOn != nil {
		d := *m.syncOn
		s.Sync = &d
	}
	for k, v := range m.vrrp {
		s.VRRP[k] = v
	}
	for _, v := range m.vss {
		p := m.pool(v)
		want := p.Desired(v.quorum)
		vs := VirtualServerStatus{
			Name: v.spec.Name, Services: slices.Clone(v.spec.Services),
			QuorumUp: v.quorum, LiveWeight: p.LiveWeight(), Quorum: p.Quorum, Hysteresis: p.Hysteresis,
			Suspended: v.suspended, HASuspend: v.spec.HASuspend, Sorry: p.Sorry, SorryActive: p.Sorry != nil && !v.quorum,
		}
		for i, rs := range p.Servers {
			_, in := want.Dests[rs.Dest.DestKey]
			vs.RealServers = append(vs.RealServers, RealServerStatus{Key: v.spec.Keys[i], Dest: rs.Dest,
				Alive: rs.Alive, Inhibit: rs.Inhibit, InTable: in})
		}
		s.VirtualServers = append(s.VirtualServers, vs)
	}
	return s
}
