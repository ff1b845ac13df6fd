// Package sock opens the TCP connections of health checks with direct
// system calls. A probe lives for one request; net.Dialer's general path
// (address resolution, a cancellation watcher, getsockname, TCP_NODELAY)
// was a fifth of a check's CPU at 10,000 checks/s, and none of it is
// needed to connect to a literal address.
package sock

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/rawsys"
)

// Options are keepalived's per-checker socket settings.
type Options struct {
	Dst netip.AddrPort
	// Bind is bindto/bind_port: bound when the address is valid or the
	// port is not zero.
	Bind netip.AddrPort
	// Interface is bind_if (SO_BINDTODEVICE).
	Interface string
	// Mark is fwmark (SO_MARK).
	Mark uint32
	// Linger, when positive, sets SO_LINGER with that many seconds.
	Linger int
}

// Conn is a connected TCP socket on Go's poller. It is a net.Conn, so TLS
// can run over it.
type Conn struct {
	*os.File
	dst netip.AddrPort
}

// RemoteAddr is the address dialed.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.dst) }

// LocalAddr asks the kernel; probes never do, so it is not cached.
func (c *Conn) LocalAddr() net.Addr {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa unix.Sockaddr
	_ = rc.Control(func(fd uintptr) { sa, _ = unix.Getsockname(int(fd)) })
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

// DialTCP connects to o.Dst. The connect waits until deadline (zero: no
// limit) or until ctx ends. Failures are *os.SyscallError named after the
// call that failed ("socket", "setsockopt SO_MARK", "bind", "connect", ...),
// os.ErrDeadlineExceeded for a timeout, or ctx's error.
func DialTCP(ctx context.Context, o Options, deadline time.Time) (*Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, pending, err := Start(o)
	if err != nil {
		return nil, err
	}
	if pending {
		// A loopback connect is usually done by now: look before waiting,
		// so that a deadline already due does not fail it.
		done, err := Status(fd)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		pending = !done
	}
	dst := netip.AddrPortFrom(o.Dst.Addr().Unmap(), o.Dst.Port())
	// os.NewFile sees a non-blocking descriptor and puts it on the poller.
	c := &Conn{File: os.NewFile(uintptr(fd), "tcp:"+dst.String()), dst: dst}
	if !pending {
		return c, nil
	}
	if err := c.awaitConnect(ctx, deadline); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// awaitConnect waits for the non-blocking connect to finish: connected
// when getpeername works, failed when SO_ERROR says so.
func (c *Conn) awaitConnect(ctx context.Context, deadline time.Time) error {
	if !deadline.IsZero() {
		if err := c.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	if ctx.Done() != nil {
		// A deadline in the past wakes the waiter at once.
		stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	// RawWrite resets the poller's readiness before its first call, so
	// an edge that arrived since registration is lost: the first call
	// must look at the socket itself rather than wait.
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		done, err := Status(int(fd))
		cerr = err
		return done
	})
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return werr
	}
	if cerr != nil {
		return cerr
	}
	if !deadline.IsZero() {
		return c.SetWriteDeadline(time.Time{})
	}
	return nil
}

// Start opens a non-blocking socket with o's options and starts
// connecting it. pending says the connect is in progress: the socket turns
// writable when it is done, and Status tells how it went. Errors are
// *os.SyscallError as for DialTCP; the descriptor is closed on error.
func Start(o Options) (fd int, pending bool, err error) {
	dst := netip.AddrPortFrom(o.Dst.Addr().Unmap(), o.Dst.Port())
	family := unix.AF_INET
	if dst.Addr().Is6() {
		family = unix.AF_INET6
	}
	zone, err := zoneID(dst.Addr())
	if err != nil {
		return -1, false, os.NewSyscallError("connect", err)
	}
	raddr := rawsys.SockaddrOf(dst, zone)
	fd, err = rawsys.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, false, os.NewSyscallError("socket", err)
	}
	if err := setup(fd, family, o); err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	err = rawsys.Connect(fd, &raddr)
	if err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		unix.Close(fd)
		return -1, false, os.NewSyscallError("connect", err)
	}
	return fd, err != nil, nil
}

// Status reports whether a pending connect has finished, and its error.
// It looks at the socket itself, so a spurious wakeup reads as not done.
func Status(fd int) (done bool, err error) {
	if rawsys.Connected(fd) {
		return true, nil
	}
	v, err := rawsys.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return true, os.NewSyscallError("getsockopt", err)
	}
	switch e := unix.Errno(v); e {
	case 0, unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		return false, nil
	default:
		return true, os.NewSyscallError("connect", e)
	}
}

func setup(fd, family int, o Options) error {
	if o.Linger > 0 {
		// A failed SO_LINGER is only logged by keepalived.
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: int32(o.Linger)})
	}
	if o.Mark != 0 {
		if err := rawsys.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(o.Mark)); err != nil {
			return os.NewSyscallError("setsockopt SO_MARK", err)
		}
	}
	if o.Interface != "" {
		if err := unix.BindToDevice(fd, o.Interface); err != nil {
			return os.NewSyscallError("setsockopt SO_BINDTODEVICE", err)
		}
	}
	if !o.Bind.Addr().IsValid() && o.Bind.Port() == 0 {
		return nil
	}
	addr := o.Bind.Addr().Unmap()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
		if family == unix.AF_INET6 {
			addr = netip.IPv6Unspecified()
		}
	}
	sa, err := sockaddr(netip.AddrPortFrom(addr, o.Bind.Port()))
	if err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

func sockaddr(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	zone, err := zoneID(a)
	if err != nil {
		return nil, err
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16(), ZoneId: zone}, nil
}

// zoneID is the scope id of an IPv6 address's zone (a name or a number).
func zoneID(a netip.Addr) (uint32, error) {
	z := a.Zone()
	if z == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(z); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(z)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}
