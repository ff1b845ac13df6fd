package trackproc

import (
	"sort"
	"sync"
)

// ProcInfo is what keepalived reads of one process: its comm and the
// start of its command line (NUL-separated arguments).
type ProcInfo struct {
	PID     int32
	Comm    string
	Cmdline []byte
}

// Read says which files of a process to read, as keepalived's
// vrrp_use_process_comm and vrrp_use_process_cmdline do, and how many
// bytes of the command line.
type Read struct {
	Comm    bool
	Cmdline bool
	Limit   int
}

// Host is the core's access to the processes and to the connector
// socket's buffer: the real one reads /proc, MemHost is for tests (the
// way raft's core reads its Storage).
type Host interface {
	// Scan is keepalived's read_procs walk of /proc: every process, in
	// any order, skipping those whose files cannot be read and, when
	// the comm is read (from /proc/PID/stat), zombies.
	Scan(r Read) []ProcInfo
	// Lookup is check_process's read of /proc/PID/cmdline and
	// /proc/PID/comm; false when either cannot be read.
	Lookup(pid int32, r Read) (ProcInfo, bool)
	// GrowRcvBuf doubles the socket's receive buffer, as
	// reinitialise_track_processes does, and returns the new size.
	// getErr stops the reinitialisation; setErr is only logged.
	GrowRcvBuf(force bool) (size uint32, getErr, setErr error)
}

// MemHost is a Host over a table of processes.
type MemHost struct {
	mu      sync.Mutex
	procs   map[int32]ProcInfo
	zombies map[int32]bool
	RcvBuf  uint32
	GetErr  error
	SetErr  error
	Grown   int
}

// NewMemHost returns an empty MemHost with a 212992-byte buffer (the
// kernel's default rmem).
func NewMemHost() *MemHost {
	return &MemHost{procs: map[int32]ProcInfo{}, zombies: map[int32]bool{}, RcvBuf: 212992}
}

// Set adds or replaces a process.
func (h *MemHost) Set(p ProcInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.procs[p.PID] = p
	delete(h.zombies, p.PID)
}

// Zombie marks a process as a zombie: its command line reads empty and
// the scan skips it when it reads the comm.
func (h *MemHost) Zombie(pid int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.procs[pid]; ok {
		p.Cmdline = nil
		h.procs[pid] = p
		h.zombies[pid] = true
	}
}

// Remove forgets a process.
func (h *MemHost) Remove(pid int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.procs, pid)
	delete(h.zombies, pid)
}

func cut(p ProcInfo, r Read) ProcInfo {
	if !r.Cmdline {
		p.Cmdline = nil
	} else if len(p.Cmdline) > r.Limit {
		p.Cmdline = p.Cmdline[:r.Limit]
	}
	if !r.Comm {
		p.Comm = ""
	} else if len(p.Comm) > 15 {
		p.Comm = p.Comm[:15]
	}
	return p
}

// Scan implements Host.
func (h *MemHost) Scan(r Read) []ProcInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []ProcInfo
	for pid, p := range h.procs {
		if r.Comm && h.zombies[pid] {
			continue
		}
		out = append(out, cut(p, r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// Lookup implements Host.
func (h *MemHost) Lookup(pid int32, r Read) (ProcInfo, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.procs[pid]
	if !ok {
		return ProcInfo{}, false
	}
	return cut(p, r), true
}

// GrowRcvBuf implements Host.
func (h *MemHost) GrowRcvBuf(bool) (uint32, error, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.GetErr != nil {
		return 0, h.GetErr, nil
	}
	h.RcvBuf *= 2
	h.Grown++
	return h.RcvBuf, nil, h.SetErr
}
