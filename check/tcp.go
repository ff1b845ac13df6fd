package check

import (
	"context"
	"time"

	"keepalived-go/config"
)

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
		return err
	}
	return conn.Close()
}
