package trackproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

// Conn is the process-events connector socket as the Monitor uses it.
type Conn interface {
	// Listen sends PROC_CN_MCAST_LISTEN (or IGNORE). Outside the initial
	// network namespace the kernel has no connector socket and the send
	// fails with ECONNREFUSED.
	Listen(enable bool) error
	// Receive reads one datagram; from is the sender's port id (0 for
	// the kernel).
	Receive(ctx context.Context, b []byte) (n int, from uint32, err error)
	RcvBuf() (int, error)
	SetRcvBuf(bytes int, force bool) error
	Close() error
}

// DialError says which step of keepalived's nl_connect failed.
type DialError struct {
	Op  string // "socket" or "bind"
	Err error
}

func (e *DialError) Error() string { return fmt.Sprintf("process connector %s: %v", e.Op, e.Err) }
func (e *DialError) Unwrap() error { return e.Err }

// Dial opens a NETLINK_CONNECTOR datagram socket bound to the
// CN_IDX_PROC group, as keepalived's nl_connect does, in the network
// namespace netns (an open /proc/.../ns/net or /run/netns file; 0: the
// calling thread's). The kernel picks the port id: keepalived binds to
// its pid, which two monitors in one process could not share.
func Dial(netns int) (Conn, error) {
	c, err := socket.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM, unix.NETLINK_CONNECTOR, "proc-connector", &socket.Config{NetNS: netns})
	if err != nil {
		return nil, &DialError{Op: "socket", Err: err}
	}
	if err := c.Bind(&unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: CnIdxProc}); err != nil {
		c.Close()
		return nil, &DialError{Op: "bind", Err: err}
	}
	return &sockConn{c: c}, nil
}

type sockConn struct {
	c      *socket.Conn
	closed atomic.Bool
}

func (s *sockConn) Listen(enable bool) error {
	_, err := s.c.Sendmsg(context.Background(), listenRequest(enable, 0), nil, nil, 0)
	return err
}

func (s *sockConn) Receive(ctx context.Context, b []byte) (int, uint32, error) {
	n, _, _, from, err := s.c.Recvmsg(ctx, b, nil, 0)
	if err != nil {
		if s.closed.Load() {
			// Closing wakes the read with EBADF or the poller's
			// "use of closed file".
			err = os.ErrClosed
		}
		return 0, 0, err
	}
	sa, ok := from.(*unix.SockaddrNetlink)
	if !ok {
		return n, ^uint32(0), nil
	}
	return n, sa.Pid, nil
}

func (s *sockConn) RcvBuf() (int, error) {
	return s.c.GetsockoptInt(unix.SOL_SOCKET, unix.SO_RCVBUF)
}

func (s *sockConn) SetRcvBuf(bytes int, force bool) error {
	opt := unix.SO_RCVBUF
	if force {
		opt = unix.SO_RCVBUFFORCE
	}
	return s.c.SetsockoptInt(unix.SOL_SOCKET, opt, bytes)
}

func (s *sockConn) Close() error {
	s.closed.Store(true)
	return s.c.Close()
}

// errClosed reports a receive on a closed socket.
func errClosed(err error) bool {
	return errors.Is(err, os.ErrClosed) || errors.Is(err, context.Canceled)
}
