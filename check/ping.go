package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"keepalived-go/config"
)

func init() {
	register(config.PingCheck, &kind{policy: PolicyUDP, phases: 1, build: newPing,
		success:   "ICMP connection to %[1]s success.",
		down:      "ICMP CHECK on service %[1]s failed.",
		downAfter: "ICMP CHECK on service %[1]s of %[2]s failed after %[3]d retries."})
}

// PingCheck is PING_CHECK: one ICMP (or ICMPv6) echo request with
// keepalived's 128-byte filler; an echo reply within connect_timeout is a
// success. It uses an unprivileged ping socket when the kernel allows it
// (net.ipv4.ping_group_range), else a raw socket.
type PingCheck struct {
	Conn Conn
	seq  atomic.Uint32
}

var pingPayload = setBuf(make([]byte, 128))

func newPing(ck *config.Checker, env Env) (Checker, error) {
	return &PingCheck{Conn: connOf(ck, env.RS)}, nil
}

// Check sends one echo request and waits for its reply.
func (c *PingCheck) Check(ctx context.Context) error {
	dst := c.Conn.Dst.Addr().Unmap()
	v6 := dst.Is6()
	bind := ""
	if c.Conn.Bind.Addr().IsValid() {
		bind = c.Conn.Bind.Addr().String()
	}
	dgram := true
	network, raw, proto := "udp4", "ip4:icmp", 1
	var echo, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if v6 {
		network, raw, proto = "udp6", "ip6:ipv6-icmp", 58
		echo, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	pc, err := icmp.ListenPacket(network, bind)
	if err != nil {
		dgram = false
		if pc, err = icmp.ListenPacket(raw, bind); err != nil {
			return fmt.Errorf("%w: %w", ErrSocket, err)
		}
	}
	defer pc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	id := int(rand.Uint32() & 0xffff)
	seq := int(c.seq.Add(1) & 0xffff)
	msg := icmp.Message{Type: echo, Body: &icmp.Echo{ID: id, Seq: seq, Data: pingPayload}}
	wb, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	var to net.Addr = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if dgram {
		to = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := pc.WriteTo(wb, to); err != nil {
		return fmt.Errorf("%w: send ICMP packet fail: %w", ErrConnect, err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if isTimeout(err) || ctx.Err() != nil {
				return fmt.Errorf("%w: no ICMP echo reply", ErrTimeout)
			}
			return fmt.Errorf("%w: recv ICMP packet error: %w", ErrConnect, err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.Seq != seq {
			continue
		}
		// A ping socket's id is its port and the kernel filters for us;
		// a raw socket sees every reply on the host.
		if !dgram && (e.ID != id || !sameIP(from, dst.AsSlice())) {
			continue
		}
		return nil
	}
}

func sameIP(a net.Addr, ip net.IP) bool {
	switch a := a.(type) {
	case *net.IPAddr:
		return a.IP.Equal(ip)
	case *net.UDPAddr:
		return a.IP.Equal(ip)
	}
	return false
}
