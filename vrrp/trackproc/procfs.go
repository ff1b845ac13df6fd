package trackproc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcFS reads processes from a proc file system as keepalived does.
type ProcFS struct {
	Root string // "" is /proc
}

func (p ProcFS) root() string {
	if p.Root == "" {
		return "/proc"
	}
	return p.Root
}

// readUpTo is one read(2) of at most n bytes, as keepalived reads.
func readUpTo(path string, n int) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := f.Read(b)
	if err != nil && err != io.EOF {
		return nil, false
	}
	return b[:m], true
}

// statComm is read_procs' reading of /proc/PID/stat: the comm is what
// follows the first '(' after the pid up to the first ')', and a zombie
// ('Z' two bytes after it) is skipped.
func statComm(stat []byte) (comm string, ok bool) {
	if len(stat) > 0 && stat[len(stat)-1] == '\n' {
		stat = stat[:len(stat)-1]
	}
	if len(stat) < 2 {
		return "", false
	}
	open := bytes.IndexByte(stat[2:], '(')
	if open < 0 {
		return "", false
	}
	rest := stat[2+open+1:]
	end := bytes.IndexByte(rest, ')')
	if end < 0 {
		return "", false
	}
	if end+2 < len(rest) && rest[end+2] == 'Z' {
		return "", false
	}
	return string(rest[:end]), true
}

// Scan implements Host: read_procs' walk of the numbered directories.
func (p ProcFS) Scan(r Read) []ProcInfo {
	ents, err := os.ReadDir(p.root())
	if err != nil {
		return nil
	}
	var out []ProcInfo
	for _, ent := range ents {
		name := ent.Name()
		if !ent.IsDir() || name[0] <= '0' || name[0] > '9' {
			continue
		}
		dir := filepath.Join(p.root(), name)
		var info ProcInfo
		if r.Cmdline {
			b, ok := readUpTo(filepath.Join(dir, "cmdline"), r.Limit)
			if !ok {
				continue
			}
			info.Cmdline = b
		}
		if r.Comm {
			stat, ok := readUpTo(filepath.Join(dir, "stat"), 127)
			if !ok {
				continue
			}
			if info.Comm, ok = statComm(stat); !ok {
				continue
			}
		}
		pid, _ := strconv.Atoi(name) // keepalived's atoi
		info.PID = int32(pid)
		out = append(out, info)
	}
	return out
}

// Lookup implements Host: check_process' read of cmdline and comm.
func (p ProcFS) Lookup(pid int32, r Read) (ProcInfo, bool) {
	dir := filepath.Join(p.root(), strconv.Itoa(int(pid)))
	info := ProcInfo{PID: pid}
	if r.Cmdline {
		b, ok := readUpTo(filepath.Join(dir, "cmdline"), r.Limit)
		if !ok {
			return info, false
		}
		info.Cmdline = b
	}
	if r.Comm {
		b, ok := readUpTo(filepath.Join(dir, "comm"), 16)
		if !ok {
			return info, false
		}
		info.Comm = strings.TrimSuffix(string(b), "\n")
	}
	return info, true
}
