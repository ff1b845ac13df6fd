package lvs

import (
	"slices"
	"time"
)

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
	// Kernel says whether the kernel holds the wanted table and how the
	// attempts to program it go (KernelStatus).
	Kernel KernelStatus
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
	s := Status{Backend: m.kind, Open: m.b != nil, Counters: m.counters(), VRRP: map[string]VRRPState{},
		Kernel: m.kernelStatus()}
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

// BackendStatus is what a backend reports of the kernel table it holds.
type BackendStatus struct {
	// Kind names the data plane ("ipvs", "nftables").
	Kind string
	// Services and Dests count what the kernel holds for us, as last
	// programmed or read back.
	Services, Dests int
	// Commits and Failures count kernel transactions.
	Commits, Failures uint64
	LastError         string
	LastErrorAt       time.Time
	// Sizes of the last and the largest transaction (nftables).
	LastBatchMessages, LastBatchBytes, LargestBatchBytes int
}

// StatusBackend is an optional Backend capability: reporting what it
// holds and how its transactions went.
type StatusBackend interface {
	BackendStatus() BackendStatus
}

// KernelStatus says whether the kernel holds the table the engine wants,
// and how the attempts to program it go.
type KernelStatus struct {
	// Programmed: the last kernel write succeeded and every change since
	// is in the kernel.
	Programmed bool
	// Backend is the data plane's own report (zero when it has none).
	Backend BackendStatus
	// Failures counts consecutive failed attempts since FailingSince;
	// NextRetry is when the next one is due.
	Failures     int
	FailingSince time.Time
	NextRetry    time.Time
	LastError    string
	// Services and Dests count the table the engine wants; Pending names
	// the virtual servers whose wanted state the kernel does not hold.
	Services, Dests int
	Pending         []string
}

// KernelStatus reports what the kernel holds against what is wanted: the
// Kernel field of Status, without the rest.
func (m *Manager) KernelStatus() KernelStatus {
	var st KernelStatus
	m.own.Do(func() { st = m.kernelStatus() })
	return st
}

func (m *Manager) kernelStatus() KernelStatus {
	st := KernelStatus{Programmed: m.b != nil && !m.stale, Failures: m.retry.failures}
	if sb, ok := m.b.(StatusBackend); ok {
		st.Backend = sb.BackendStatus()
	}
	if m.retry.failures > 0 {
		st.FailingSince, st.NextRetry = m.retry.since, m.retry.next
		st.LastError = m.retry.lastErr.Error()
	}
	for _, v := range m.vss {
		want := Table{}
		m.desiredVS(v, want)
		st.Services += len(want)
		for _, vs := range want {
			st.Dests += len(vs.Dests)
		}
		if st.Programmed {
			continue
		}
		held := Table{}
		for k := range want {
			if vs, ok := m.known[k]; ok {
				held[k] = vs
			}
		}
		if len(Diff(want, held)) > 0 {
			st.Pending = append(st.Pending, v.spec.Name)
		}
	}
	return st
}
