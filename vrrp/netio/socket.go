// Package netio is the Linux I/O under the VRRP engine: raw protocol 112
// sockets (IPv4 with the IP header in our hands, IPv6 with control
// messages), virtual addresses through netlink, gratuitous ARP and
// unsolicited neighbour advertisements on AF_PACKET sockets, and link
// state changes. Each piece is a small type the engine reaches through an
// interface, so the engine can be tested with fakes.
package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/internal/rawsys"
	"keepalived-go/vrrp/packet"
)

// Packet is one datagram read from a Conn. For IPv4 Data is the whole
// datagram (header included); for IPv6 it is the payload, with Src, Dst
// and HopLimit taken from the control messages.
type Packet struct {
	Iface    string
	IPv6     bool
	Data     []byte
	Src, Dst netip.Addr
	HopLimit int
	// Arrived is the kernel's receive stamp (wall clock); zero when the
	// socket gave none.
	Arrived time.Time
	Err     error // a read error; the Conn keeps reading unless closed
}

// ErrClosed is returned by Send on a closed Conn.
var ErrClosed = errors.New("netio: connection closed")

// Conn is a raw VRRP socket pair bound to one interface and one address
// family. As in keepalived, one socket receives and another sends: the
// receiving one sits on Go's poller, the sending one does not and takes
// in nothing. A single socket on the poller reported each advert's
// departure as an EPOLLOUT edge, which woke the idle daemon a second
// time for some adverts; and a sending socket that received would get a
// copy of every advert on the link.
type Conn struct {
	iface   string
	ifindex int
	v6      bool
	proto   int
	f       *os.File // receives, when Listen reads it; nil after Open
	rfd     int
	rbuf    []byte // Receive's buffers
	roob    []byte
	mu      sync.Mutex
	sendFD  int // guarded by mu: Close may run beside Send
	closed  bool
	ipID    uint16
	wg      sync.WaitGroup
	joined  map[netip.Addr]bool
	done    chan struct{}
}

// Listen opens a raw socket for protocol proto (packet.ProtoVRRP, or
// packet.ProtoAH for IPv4 AH) on iface and starts delivering what it
// reads to rx until Close, from a goroutine of its own. Nothing is joined
// yet: call Join for multicast. An event loop that waits on the socket
// itself uses Open and Receive instead.
func Listen(iface string, v6 bool, proto int, rx chan<- Packet) (*Conn, error) {
	c, err := Open(iface, v6, proto)
	if err != nil {
		return nil, err
	}
	c.f = os.NewFile(uintptr(c.rfd), "vrrp-"+iface)
	c.wg.Add(1)
	go c.read(rx)
	return c, nil
}

// Open is Listen without the reading goroutine: the caller waits for FD
// to be readable (an epoll set) and calls Receive.
func Open(iface string, v6 bool, proto int) (*Conn, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("netio: interface %s: %w", iface, err)
	}
	fam := unix.AF_INET
	if v6 {
		fam = unix.AF_INET6
	}
	c := &Conn{iface: iface, ifindex: ifi.Index, v6: v6, proto: proto, joined: map[netip.Addr]bool{}, done: make(chan struct{})}
	rfd, err := openReceiver(fam, proto, ifi)
	if err != nil {
		return nil, err
	}
	if c.sendFD, err = openSender(fam, proto, ifi); err != nil {
		unix.Close(rfd)
		return nil, err
	}
	// The receiving socket stays off Go's poller: an event loop puts it
	// in its own epoll set, and a descriptor in both would wake the
	// runtime's poller for every advert too. Listen puts it there.
	c.rfd = rfd
	return c, nil
}

// FD is the receiving socket, for an epoll set (read it with Receive).
func (c *Conn) FD() int { return c.rfd }

// Receive reads one datagram without blocking: unix.EAGAIN when none
// waits. p.Data stays valid until the next Receive. Use it only on a Conn
// from Open (Listen's goroutine reads the same socket).
func (c *Conn) Receive() (Packet, error) {
	if c.rbuf == nil {
		c.rbuf, c.roob = make([]byte, 65536), make([]byte, 256)
	}
	for {
		n, oobn, from, err := rawsys.Recvmsg(c.rfd, c.rbuf, c.roob, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Packet{Iface: c.iface, IPv6: c.v6}, err
		}
		p := Packet{Iface: c.iface, IPv6: c.v6, Data: c.rbuf[:n], HopLimit: -1}
		if c.v6 && from.Is6() {
			p.Src = from
		}
		parseCmsgs(c.roob[:oobn], &p)
		return p, nil
	}
}

// rawSocket opens a non-blocking raw socket for proto bound to ifi and
// applies opts, each {level, option, value}.
func rawSocket(fam, proto int, ifi *net.Interface, opts ...[3]int) (int, error) {
	fd, err := unix.Socket(fam, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, fmt.Errorf("netio: raw socket: %w", err)
	}
	err = unix.BindToDevice(fd, ifi.Name)
	for _, o := range opts {
		if err != nil {
			break
		}
		if err = unix.SetsockoptInt(fd, o[0], o[1], o[2]); err != nil {
			err = fmt.Errorf("setsockopt %d/%d: %w", o[0], o[1], err)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("netio: raw socket on %s: %w", ifi.Name, err)
	}
	return fd, nil
}

func openReceiver(fam, proto int, ifi *net.Interface) (int, error) {
	if fam == unix.AF_INET {
		// Only the groups joined on this socket, not every group of
		// the host. The receive stamp (Packet.Arrived) lets the engine
		// run the master-down timer from an advert's arrival rather
		// than from when it got to the packet.
		return rawSocket(fam, proto, ifi, [3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
			[3]int{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1})
	}
	// The checksum is ours to check (packet.Check), so bad checksums
	// are counted, not silently dropped by the kernel.
	return rawSocket(fam, proto, ifi,
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1},
		[3]int{unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1},
		[3]int{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1})
}

func openSender(fam, proto int, ifi *net.Interface) (int, error) {
	var fd int
	var err error
	if fam == unix.AF_INET {
		fd, err = rawSocket(fam, proto, ifi,
			[3]int{unix.IPPROTO_IP, unix.IP_HDRINCL, 1},
			[3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0},
			[3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0},
			[3]int{unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, packet.TTL},
			[3]int{unix.SOL_SOCKET, unix.SO_RCVBUF, 0})
		if err == nil {
			err = unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(ifi.Index)})
		}
	} else {
		// The checksum is ours too (packet.Advert.Marshal).
		fd, err = rawSocket(fam, proto, ifi,
			[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, packet.TTL},
			[3]int{unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, packet.TTL},
			[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0},
			[3]int{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index},
			[3]int{unix.SOL_SOCKET, unix.SO_RCVBUF, 0})
	}
	if err == nil {
		// A raw socket gets a copy of every datagram of its protocol:
		// this one keeps none (a filter that accepts 0 bytes).
		err = unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{
			Len: 1, Filter: &[]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}[0]})
		if err != nil {
			unix.Close(fd)
			err = fmt.Errorf("netio: drop filter on the send socket of %s: %w", ifi.Name, err)
		}
	}
	return fd, err
}

// Interface is the interface the socket is bound to.
func (c *Conn) Interface() string { return c.iface }

// Join joins a multicast group on the interface (idempotent).
func (c *Conn) Join(group netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joined[group] {
		return nil
	}
	var err error
	if c.v6 {
		mr := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(c.ifindex)}
		err = unix.SetsockoptIPv6Mreq(c.rfd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mr)
	} else {
		mr := &unix.IPMreqn{Multiaddr: group.As4(), Ifindex: int32(c.ifindex)}
		err = unix.SetsockoptIPMreqn(c.rfd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mr)
	}
	if err != nil {
		return fmt.Errorf("netio: join %v on %s: %w", group, c.iface, err)
	}
	c.joined[group] = true
	return nil
}

// NextID returns an IPv4 identification for the next datagram.
func (c *Conn) NextID() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ipID++
	return c.ipID
}

// Send writes one datagram to dst. For IPv4 b is the whole datagram (IP
// header included); for IPv6 it is the VRRP message, sent from src.
func (c *Conn) Send(b []byte, src, dst netip.Addr) error {
	// Raw sends (package rawsys): the socket is non-blocking and off the
	// poller. An advert a second should not also wake the runtime's
	// monitor thread, and a full send buffer fails the advert, as in
	// keepalived, rather than stalling the engine.
	var sa rawsys.Sockaddr
	var oob []byte
	if c.v6 {
		zone := uint32(0)
		if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
			zone = uint32(c.ifindex)
		}
		sa = rawsys.SockaddrOf(netip.AddrPortFrom(dst, 0), zone)
		if src.IsValid() {
			oob = pktinfo(src, c.ifindex)
		}
	} else {
		sa = rawsys.SockaddrOf(netip.AddrPortFrom(dst, 0), 0)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	var err error
	for {
		if c.v6 {
			err = rawsys.Sendmsg(c.sendFD, b, oob, &sa, 0)
		} else {
			err = rawsys.Sendto(c.sendFD, b, 0, &sa)
		}
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("netio: send to %v on %s: %w", dst, c.iface, err)
	}
	return nil
}

func pktinfo(src netip.Addr, ifindex int) []byte {
	b := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	h := (*unix.Cmsghdr)(ptr(&b[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := unix.Inet6Pktinfo{Addr: src.As16(), Ifindex: uint32(ifindex)}
	copy(b[unix.CmsgLen(0):], (*[unix.SizeofInet6Pktinfo]byte)(ptr(&pi))[:])
	return b
}

func (c *Conn) read(rx chan<- Packet) {
	defer c.wg.Done()
	rc, err := c.f.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		var n, oobn int
		var from netip.Addr
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, oobn, from, rerr = rawsys.Recvmsg(int(fd), buf, oob, 0)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			if rerr == unix.EINTR {
				continue
			}
			select {
			case rx <- Packet{Iface: c.iface, IPv6: c.v6, Err: rerr}:
			default:
			}
			time.Sleep(10 * time.Millisecond) // do not spin on a persistent error
			continue
		}
		p := Packet{Iface: c.iface, IPv6: c.v6, Data: append([]byte(nil), buf[:n]...), HopLimit: -1}
		if c.v6 && from.Is6() {
			p.Src = from
		}
		parseCmsgs(oob[:oobn], &p)
		select {
		case rx <- p:
		case <-c.done:
			return
		}
	}
}

func parseCmsgs(oob []byte, p *Packet) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			p.Arrived = time.Unix(sec, nsec)
			continue
		}
		if m.Header.Level != unix.IPPROTO_IPV6 {
			continue
		}
		switch m.Header.Type {
		case unix.IPV6_PKTINFO:
			if len(m.Data) >= 16 {
				p.Dst = netip.AddrFrom16([16]byte(m.Data[:16]))
			}
		case unix.IPV6_HOPLIMIT:
			if len(m.Data) >= 4 {
				p.HopLimit = int(binary.NativeEndian.Uint32(m.Data[:4]))
			}
		}
	}
}

// Close stops the reader and closes the socket.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	err := unix.Close(c.sendFD)
	c.sendFD = -1
	c.mu.Unlock()
	if c.f != nil {
		err = errors.Join(c.f.Close(), err)
	} else {
		err = errors.Join(unix.Close(c.rfd), err)
	}
	c.wg.Wait()
	return err
}
