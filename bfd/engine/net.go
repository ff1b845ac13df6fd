package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"keepalived-go/bfd/packet"
)

// Net opens the engine's UDP sockets; tests wrap it to open them inside a
// network namespace.
type Net interface {
	// ListenUDP opens a UDP socket of network ("udp", "udp4", "udp6")
	// bound to laddr, with control run on it before bind.
	ListenUDP(network string, laddr netip.AddrPort, control func(fd uintptr) error) (*net.UDPConn, error)
	// LocalPortRange is /proc/sys/net/ipv4/ip_local_port_range of the
	// namespace the sockets live in.
	LocalPortRange() (lo, hi int, ok bool)
}

// Linux is Net in the process's current network namespace.
type Linux struct{}

func (Linux) ListenUDP(network string, laddr netip.AddrPort, control func(fd uintptr) error) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = control(fd) }); cerr != nil {
			return cerr
		}
		return err
	}}
	addr := ""
	if laddr.IsValid() {
		addr = laddr.String()
	} else {
		addr = ":" + strconv.Itoa(int(laddr.Port()))
	}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func (Linux) LocalPortRange() (int, int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	return parsePortRange(string(b))
}

// parsePortRange reads "32768\t60999\n" as keepalived's
// read_local_port_range does.
func parsePortRange(s string) (int, int, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || !strings.HasSuffix(s, "\n") {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo <= 0 || hi <= 0 {
		return 0, 0, false
	}
	return lo, hi, true
}

// sourcePorts is the range keepalived picks a source port from: the local
// port range clipped to RFC 5881's 49152-65535, or all of that when fewer
// than 1024 ports would remain.
func sourcePorts(n Net) (int, int) {
	lo, hi, ok := n.LocalPortRange()
	if !ok {
		lo, hi = 49152, 60999
	}
	lo, hi = max(lo, packet.MinSourcePort), min(hi, packet.MaxSourcePort)
	if lo+1023 > hi {
		lo, hi = packet.MinSourcePort, packet.MaxSourcePort
	}
	return lo, hi
}

// openInput is bfd_open_fd_in: one socket on port for both families (IPv4
// arrives mapped), falling back to IPv4 where IPv6 is off, asking for the
// TTL/hop limit and the destination address of every packet.
func openInput(n Net, laddr netip.AddrPort) (*net.UDPConn, error) {
	network := "udp"
	switch {
	case laddr.Addr().Is4():
		network = "udp4"
	case laddr.Addr().Is6():
		network = "udp6"
	}
	v6 := network != "udp4"
	ctl := func(fd uintptr) error {
		f := int(fd)
		if err := unix.SetsockoptInt(f, unix.IPPROTO_IP, unix.IP_RECVTTL, 1); err != nil {
			return fmt.Errorf("setsockopt(IP_RECVTTL): %w", err)
		}
		if !v6 {
			return unix.SetsockoptInt(f, unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		}
		if err := unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1); err != nil {
			return fmt.Errorf("setsockopt(IPV6_RECVHOPLIMIT): %w", err)
		}
		return unix.SetsockoptInt(f, unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
	}
	c, err := n.ListenUDP(network, laddr, ctl)
	if err != nil && network == "udp" && errors.Is(err, unix.EAFNOSUPPORT) {
		// IPv6 is disabled on the system: IPv4 only, as keepalived.
		v6 = false
		c, err = n.ListenUDP("udp4", laddr, ctl)
	}
	return c, err
}

// openOutput is bfd_open_fd_out: a socket per session, bound to the source
// address on a random port of the range (the next free one after it), with
// the session's TTL or hop limit. Without a source address the kernel picks
// the port, which may be outside the range, as with keepalived.
func openOutput(n Net, nbr, src netip.Addr, ttl int) (*net.UDPConn, error) {
	network, level, opt := "udp4", unix.IPPROTO_IP, unix.IP_TTL
	if nbr.Is6() {
		network, level, opt = "udp6", unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS
	}
	ctl := func(fd uintptr) error {
		if err := unix.SetsockoptInt(int(fd), level, opt, ttl); err != nil {
			return fmt.Errorf("setsockopt(): %w", err)
		}
		return nil
	}
	if !src.IsValid() {
		return n.ListenUDP(network, netip.AddrPortFrom(netip.Addr{}, 0), ctl)
	}
	lo, hi := sourcePorts(n)
	first := lo + rand.IntN(hi-lo+1)
	port := first
	for {
		c, err := n.ListenUDP(network, netip.AddrPortFrom(src, uint16(port)), ctl)
		if err == nil || !errors.Is(err, unix.EADDRINUSE) {
			return c, err
		}
		if port++; port > hi {
			port = lo
		}
		if port == first {
			return nil, err
		}
	}
}

// rxMeta is what recvmsg's control messages say about a packet.
type rxMeta struct {
	ttl int
	dst netip.Addr
}

// parseControl reads IP_TTL / IPV6_HOPLIMIT and IP_PKTINFO /
// IPV6_PKTINFO (bfd_receive_packet); IPv4-mapped addresses are unmapped.
func parseControl(oob []byte) rxMeta {
	var m rxMeta
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return m
	}
	for _, c := range msgs {
		switch {
		case c.Header.Level == unix.IPPROTO_IP && c.Header.Type == unix.IP_TTL && len(c.Data) > 0,
			c.Header.Level == unix.IPPROTO_IPV6 && c.Header.Type == unix.IPV6_HOPLIMIT && len(c.Data) > 0:
			// An int in host order; its low byte is the value.
			m.ttl = int(c.Data[0])
		case c.Header.Level == unix.IPPROTO_IPV6 && c.Header.Type == unix.IPV6_PKTINFO && len(c.Data) >= 16:
			m.dst = netip.AddrFrom16([16]byte(c.Data[:16])).Unmap()
		case c.Header.Level == unix.IPPROTO_IP && c.Header.Type == unix.IP_PKTINFO && len(c.Data) >= 12:
			m.dst = netip.AddrFrom4([4]byte(c.Data[8:12]))
		}
	}
	return m
}
