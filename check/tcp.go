package check

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"keepalived-go/config"
)

func init() {
	register(config.TCPCheck, &kind{policy: PolicyTCP, build: newTCP, failure: tcpFailure,
		success:   "TCP connection to %[1]s success.",
		down:      "TCP_CHECK on service %[1]s failed.",
		downAfter: "TCP_CHECK on service %[1]s failed after %[3]d retries."})
}

func tcpFailure(rs string, err error) string {
	if errors.Is(err, ErrTimeout) {
		return fmt.Sprintf("TCP connection to %s timeout.", rs)
	}
	return fmt.Sprintf("TCP connection to %s failed.", rs)
}

// TCPCheck is TCP_CHECK: the real server is up when a TCP connection
// completes within connect_timeout (Timeout).
type TCPCheck struct {
	Conn    Conn
	Timeout time.Duration
}

func newTCP(ck *config.Checker, env Env) (Checker, error) {
	return &TCPCheck{Conn: connOf(ck, env.RS), Timeout: ck.ConnectTimeout}, nil
}

// Check connects and closes.
func (c *TCPCheck) Check(ctx context.Context) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	conn, err := c.Conn.dial(ctx, "tcp")
	if err != nil {
		if connectedThenReset(err) {
			return nil
		}
		return err
	}
	return conn.Close()
}

// connectedThenReset reports a connect whose socket says ECONNRESET: the
// handshake completed (a reset in SYN_SENT is ECONNREFUSED) and the
// server reset the connection after accepting it. TCP_CHECK asks whether
// a connection completes, and keepalived, reading SO_ERROR as soon as
// the socket turns writable, finds it connected in all but a lost race;
// counting the reset as the success it nearly always is keeps a server
// that accepts and resets from flapping (issue 19 finding 8).
func connectedThenReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
