package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"keepalived-go/check/internal/sock"
)

// Conn is a checker's connection options: connect_ip/connect_port (or the
// real server), bindto/bind_port, bind_if and fwmark.
type Conn struct {
	Dst    netip.AddrPort
	Bind   netip.AddrPort // zero: none; port 0 with an address: any port
	BindIf string
	FWMark uint32
}

// control sets SO_MARK and SO_BINDTODEVICE before bind/connect; a failure
// is ErrSocket, which keepalived answers by rescheduling without counting.
func (c Conn) control(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if c.FWMark != 0 {
			if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, int(c.FWMark)); err != nil {
				serr = fmt.Errorf("%w: SO_MARK %d: %w", ErrSocket, c.FWMark, err)
				return
			}
		}
		if c.BindIf != "" {
			if err := syscall.BindToDevice(int(fd), c.BindIf); err != nil {
				serr = fmt.Errorf("%w: SO_BINDTODEVICE %s: %w", ErrSocket, c.BindIf, err)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func (c Conn) dialer(network string) *net.Dialer {
	d := &net.Dialer{Control: c.control, KeepAlive: -1} // one-shot probes: no keepalive probes to set up
	if c.Bind.Addr().IsValid() || c.Bind.Port() != 0 {
		ip := net.IP(nil)
		if c.Bind.Addr().IsValid() {
			ip = c.Bind.Addr().AsSlice()
		}
		switch network {
		case "udp":
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: int(c.Bind.Port())}
		default:
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: int(c.Bind.Port())}
		}
	}
	return d
}

// dial connects to c.Dst; ctx bounds the connect (connect_timeout).
func (c Conn) dial(ctx context.Context, network string) (net.Conn, error) {
	conn, err := c.dialer(network).DialContext(ctx, network, c.Dst.String())
	if err != nil {
		return nil, classifyDial(ctx, err)
	}
	return conn, nil
}

// dialTCP connects to c.Dst with the checker's own socket calls (package
// sock), as keepalived does: a connect that is done by the first look at
// the socket (loopback) succeeds even with a deadline already due, which
// a step with a 0 timeout needs (SMTPCheck.Timeout).
func (c Conn) dialTCP(ctx context.Context, deadline time.Time) (net.Conn, error) {
	conn, err := sock.DialTCP(ctx, sock.Options{Dst: c.Dst, Bind: c.Bind, Interface: c.BindIf, Mark: c.FWMark}, deadline)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return nil, classifyDial(ctx, err)
	}
	return conn, nil
}

func classifyDial(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(tcpConnectError(err), ErrSocket) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return tcpConnectError(err)
}

// tcpConnectError classifies a failed socket setup or connect: problems
// with our own socket reschedule, the rest count against the server.
func tcpConnectError(err error) error {
	var sys *os.SyscallError
	switch {
	case errors.Is(err, ErrSocket):
		return err
	case errors.As(err, &sys) && (sys.Syscall == "socket" || sys.Syscall == "bind" || strings.HasPrefix(sys.Syscall, "setsockopt")),
		errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%w: %w", ErrSocket, err)
	case isTimeout(err):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrConnect, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
