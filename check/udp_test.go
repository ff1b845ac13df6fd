package check

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// UDP_CHECK judges a reply as keepalived's check_udp_reply: the bits of
// the reply mask (a pattern's x nibbles) are not compared, and
// max_reply_length is taken as given, 0 included.
func TestUDPReplyMaskAndMaxLength(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from) // echo
		}
	}()
	dst := netip.MustParseAddrPort(pc.LocalAddr().String())
	check := func(c *UDPCheck) error {
		c.Conn, c.RequireReply = Conn{Dst: dst}, true
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Check(ctx)
	}
	// "require_reply 1x 20": the first byte's low nibble is free.
	pattern, mask := []byte{0x10, 0x20}, []byte{0x0f, 0}
	for _, tc := range []struct {
		payload []byte
		mask    []byte
		max     int
		want    error
	}{
		{[]byte{0x1a, 0x20}, mask, 255, nil},
		{[]byte{0x2a, 0x20}, mask, 255, ErrReply}, // the high nibble is compared
		{[]byte{0x1a, 0x21}, mask, 255, ErrReply}, // the second byte has no wildcard
		{[]byte{0x1a, 0x20}, nil, 255, ErrReply},  // no mask: every bit compared
		{[]byte{0x10, 0x20}, nil, 0, ErrReply},    // max_reply_length 0: any reply is too long
		{[]byte{0x10, 0x20, 0x30}, nil, 2, ErrReply},
		{[]byte{0x10, 0x20, 0x30}, nil, 3, nil},
	} {
		err := check(&UDPCheck{Payload: tc.payload, Pattern: pattern, Mask: tc.mask, MaxLen: tc.max})
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("reply % x, mask % x, max %d: %v, want %v", tc.payload, tc.mask, tc.max, err, tc.want)
		}
	}
}
