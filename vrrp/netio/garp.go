package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"keepalived-go/vrrp/packet"
)

// Gratuitous sends gratuitous ARP requests (IPv4) and unsolicited
// neighbour advertisements (IPv6) on one interface, as keepalived builds
// them: an ARP request with sender = target = the address to the Ethernet
// broadcast, and an NA with the Override flag from the address itself to
// ff02::1 carrying the target link-layer address option.
type Gratuitous struct {
	iface string
	ifi   *net.Interface
	fd    int
}

// OpenGratuitous opens an AF_PACKET socket on iface.
func OpenGratuitous(iface string) (*Gratuitous, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("netio: interface %s: %w", iface, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("netio: %s is not Ethernet: %w", iface, ErrUnsupported)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netio: packet socket: %w", err)
	}
	return &Gratuitous{iface: iface, ifi: ifi, fd: fd}, nil
}

// Send sends one gratuitous packet for addr.
func (g *Gratuitous) Send(addr netip.Addr) error {
	var frame []byte
	var proto uint16
	if addr.Is4() {
		frame, proto = ARPFrame(g.ifi.HardwareAddr, addr), unix.ETH_P_ARP
	} else {
		frame, proto = NAFrame(g.ifi.HardwareAddr, addr), unix.ETH_P_IPV6
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: g.ifi.Index, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	if err := unix.Sendto(g.fd, frame, 0, sa); err != nil {
		return fmt.Errorf("netio: gratuitous for %v on %s: %w", addr, g.iface, err)
	}
	return nil
}

// Close closes the socket.
func (g *Gratuitous) Close() error { return unix.Close(g.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ARPFrame is a gratuitous ARP request for ip from mac.
func ARPFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 14+28)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 1) // request
	ip4 := ip.As4()
	copy(a[8:14], mac)
	copy(a[14:18], ip4[:])
	copy(a[18:24], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(a[24:28], ip4[:])
	return b
}

// NAFrame is an unsolicited neighbour advertisement for ip from mac.
func NAFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	const plen = 24 + 8 // NA + target link-layer address option
	b := make([]byte, 14+40+plen)
	copy(b[0:6], []byte{0x33, 0x33, 0, 0, 0, 1})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_IPV6)
	h := b[14:]
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], plen)
	h[6], h[7] = unix.IPPROTO_ICMPV6, packet.TTL
	src := ip.As16()
	dst := netip.MustParseAddr("ff02::1").As16()
	copy(h[8:24], src[:])
	copy(h[24:40], dst[:])
	m := h[40:]
	m[0] = 136            // neighbour advertisement
	m[4] = 0x20           // Override
	copy(m[8:24], src[:]) // target
	m[24], m[25] = 2, 1   // target link-layer address, 8 bytes
	copy(m[26:32], mac)
	var ph [40]byte
	copy(ph[0:16], src[:])
	copy(ph[16:32], dst[:])
	binary.BigEndian.PutUint32(ph[32:], plen)
	ph[39] = unix.IPPROTO_ICMPV6
	sum := packet.Checksum(uint32(foldSum(ph[:])), m)
	binary.BigEndian.PutUint16(m[2:], sum)
	return b
}

// foldSum is the unfolded one's complement partial sum of b, the "init"
// that packet.Checksum continues from.
func foldSum(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	return s
}
