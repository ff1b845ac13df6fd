package httpget

import "syscall"

// control applies keepalived's socket options before connect: SO_LINGER
// of 5 s (its choice, so ports are freed after a proper shutdown),
// SO_MARK and SO_BINDTODEVICE.
func control(t Target) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			l := syscall.Linger{Onoff: 1, Linger: 5}
			// A failed SO_LINGER is only logged by keepalived.
			_ = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &l)
			if t.FWMark != 0 {
				if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, int(t.FWMark)); err != nil {
					serr = &sockoptError{err}
					return
				}
			}
			if t.BindInterface != "" {
				if err := syscall.BindToDevice(int(fd), t.BindInterface); err != nil {
					serr = &sockoptError{err}
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}
