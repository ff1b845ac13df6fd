package check

import (
	"context"
	"errors"
	"fmt"
	"time"

	"keepalived-go/config"
)

func init() {
	register(config.UDPCheck, &kind{policy: PolicyUDP, phases: 1, build: newUDP, failure: udpFailure,
		success:   "UDP connection to %[1]s success.",
		down:      "UDP_CHECK on service %[1]s failed.",
		downAfter: "UDP_CHECK on service %[1]s failed after %[3]d retries."})
}

func udpFailure(rs string, err error) string {
	if errors.Is(err, ErrReply) {
		return fmt.Sprintf("UDP check to %s reply data mismatch.", rs)
	}
	return fmt.Sprintf("UDP connection to %s failed.", rs)
}

// UDPCheck is UDP_CHECK: send the payload on a connected socket. Without
// require_reply the server is up unless an ICMP error comes back within
// connect_timeout; with it a reply must arrive, and with a reply pattern
// it must also be min..max bytes long and match the pattern over the
// shorter of the two, bits set in Mask (the pattern's x nibbles) ignored
// (keepalived's check_udp_reply).
type UDPCheck struct {
	Conn         Conn
	Payload      []byte
	RequireReply bool
	Pattern      []byte
	Mask         []byte // nil, or one byte per byte of Pattern
	MinLen       int
	MaxLen       int // as given: max_reply_length 0 fails every reply
}

// udpDefaultPayload is keepalived's 32-byte filler.
var udpDefaultPayload = setBuf(make([]byte, 32))

func newUDP(ck *config.Checker, env Env) (Checker, error) {
	c := &UDPCheck{Conn: connOf(ck, env.RS), Payload: udpDefaultPayload, MaxLen: 255}
	if u := ck.UDPOpts(); u != nil {
		if len(u.Payload) > 0 {
			c.Payload = u.Payload
		}
		c.RequireReply, c.Pattern, c.Mask = u.RequireReply, u.ReplyPattern, u.ReplyMask
		c.MinLen, c.MaxLen = u.MinReplyLength, u.MaxReplyLength
	}
	return c, nil
}

// Check sends one datagram and judges the answer.
func (c *UDPCheck) Check(ctx context.Context) error {
	conn, err := c.Conn.dial(ctx, "udp")
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(c.Payload); err != nil {
		return fmt.Errorf("%w: %w", ErrConnect, err)
	}
	buf := make([]byte, c.MaxLen+1)
	n, err := conn.Read(buf)
	switch {
	case err != nil && isTimeout(err) && !c.RequireReply:
		return nil
	case err != nil && isTimeout(err):
		return fmt.Errorf("%w: no reply", ErrTimeout)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrConnect, err)
	}
	if c.Pattern != nil {
		if n < c.MinLen || n > c.MaxLen {
			return fmt.Errorf("%w: reply length %d not in %d-%d", ErrReply, n, c.MinLen, c.MaxLen)
		}
		for i := 0; i < min(n, len(c.Pattern)); i++ {
			var ignore byte
			if i < len(c.Mask) {
				ignore = c.Mask[i]
			}
			if (buf[i]^c.Pattern[i])&^ignore != 0 {
				return fmt.Errorf("%w: reply data mismatch", ErrReply)
			}
		}
	}
	return nil
}

var _ = errors.Is
