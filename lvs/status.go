package lvs

import "time"

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

// KernelStatus reports what the kernel holds against what is wanted.
func (m *Manager) KernelStatus() KernelStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
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
