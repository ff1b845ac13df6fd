package main

import (
	"fmt"
	"net"
	"os"
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
