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
