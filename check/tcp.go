package check

import (
	"context"

	"keepalived-go/config"
)

// TCPCheck is TCP_CHECK: the real server is up when a TCP connection
// completes within connect_timeout.
type TCPCheck struct{ Conn Conn }

func newTCP(ck *config.Checker, env Env) (Checker, error) {
	return &TCPCheck{Conn: connOf(ck, env.RS, 0)}, nil
}

// Check connects and closes.
func (c *TCPCheck) Check(ctx context.Context) error {
	conn, err := c.Conn.dial(ctx, "tcp")
	if err != nil {
		return err
	}
	return conn.Close()
}
