package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// sdNotify tells systemd about our state (Type=notify units). Without
// NOTIFY_SOCKET it does nothing.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}

// reloadingState is RELOADING=1 with the monotonic stamp systemd 253+ wants.
func reloadingState() string {
	return fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec())
}

func monotonicUsec() int64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return time.Now().UnixMicro()
	}
	var up float64
	fmt.Sscanf(string(b), "%f", &up)
	return int64(up * 1e6)
}

// pidFiles are keepalived's three: parent, VRRP and checker process. We are
// one process, so all hold our pid: scripts that signal any of them keep working.
type pidFiles []string

func defaultPidFiles(o options) pidFiles {
	dir := "/run"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = "/var/run"
	}
	pick := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		return filepath.Join(dir, name)
	}
	return pidFiles{
		pick(o.pidFile, "keepalived.pid"),
		pick(o.vrrpPidFile, "keepalived_vrrp.pid"),
		pick(o.checkersPidFile, "keepalived_checkers.pid"),
	}
}

// write refuses to start over a live keepalived, as keepalived does.
func (p pidFiles) write() error {
	if b, err := os.ReadFile(p[0]); err == nil {
		if pid, err := strconv.Atoi(string(trimNL(b))); err == nil && pid != os.Getpid() && processAlive(pid) {
			return fmt.Errorf("daemon is already running (pid %d in %s)", pid, p[0])
		}
	}
	for _, f := range p {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("write pid file %s: %w", f, err)
		}
	}
	return nil
}

func (p pidFiles) remove() {
	for _, f := range p {
		os.Remove(f)
	}
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
