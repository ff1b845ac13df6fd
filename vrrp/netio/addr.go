package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Addr is one virtual or static address with keepalived's
// virtual_ipaddress options, resolved by the configuration.
type Addr struct {
	Prefix netip.Prefix
	Dev    string
	Label  string
	// Scope is the address's rt scope (0 global, 253 link, 254 host ...).
	Scope uint8
	// Broadcast is the IPv4 broadcast address to set: an address, "+"
	// (all host bits set) or "-" (none set); "" sets none.
	Broadcast string
	// Peer is the peer address ("peer ADDR/LEN"); the prefix length is
	// then the peer's.
	Peer          netip.Addr
	NoPrefixRoute bool
	// NoDAD is IFA_F_NODAD, which keepalived sets on every IPv6 address
	// unless "-nodad" is given.
	NoDAD      bool
	HomeAddr   bool
	MngTmpAddr bool
	AutoJoin   bool
	// PreferredLft is an IPv6 address's preferred lifetime in seconds (0
	// deprecated); nil or 0xffffffff is forever.
	PreferredLft *uint32
}

func (a Addr) String() string { return a.Prefix.String() + " dev " + a.Dev }

// ErrUnsupported marks configuration the I/O layer does not implement.
var ErrUnsupported = errors.New("netio: not supported")

// infinity is INFINITY_LIFE_TIME.
const infinity = 0xffffffff

// flags are the IFA_F_* flags keepalived adds the address with.
func (a Addr) flags() uint32 {
	var f uint32
	if a.HomeAddr {
		f |= unix.IFA_F_HOMEADDRESS
	}
	if a.MngTmpAddr {
		f |= unix.IFA_F_MANAGETEMPADDR
	}
	if a.NoPrefixRoute {
		f |= unix.IFA_F_NOPREFIXROUTE
	}
	if a.AutoJoin {
		f |= unix.IFA_F_MCAUTOJOIN
	}
	if a.Prefix.Addr().Is6() && a.NoDAD {
		f |= unix.IFA_F_NODAD
	}
	return f
}

// broadcast resolves a.Broadcast.
func (a Addr) broadcast() (netip.Addr, error) {
	b := strings.TrimSpace(a.Broadcast)
	if b == "" || !a.Prefix.Addr().Is4() {
		return netip.Addr{}, nil
	}
	if b == "+" || b == "-" {
		if a.Prefix.Bits() > 30 {
			return netip.Addr{}, nil
		}
		base := a.Prefix.Addr()
		if a.Peer.IsValid() {
			base = a.Peer
		}
		v := binary.BigEndian.Uint32(base.AsSlice())
		mask := uint32(0xffffffff) >> a.Prefix.Bits()
		if b == "+" {
			v |= mask
		} else {
			v &^= mask
		}
		return netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, v))), nil
	}
	bc, err := netip.ParseAddr(b)
	if err != nil || !bc.Is4() {
		return netip.Addr{}, fmt.Errorf("netio: broadcast %q: %w", b, ErrUnsupported)
	}
	return bc, nil
}

// AddrMessage is keepalived 2.2.7's netlink_ipaddress request for a on
// the interface with index ifindex: its message type and the body after
// the netlink header. The kernel gets exactly what keepalived sends: the
// scope, IFA_LOCAL, a broadcast address only when one is configured, the
// IFA_F_* flags (IFA_F_NODAD on IPv6 unless -nodad), the label, the peer,
// and for IPv6 a preferred lifetime other than forever (0, "deprecated",
// for a /128 unless preferred_lft says otherwise).
func AddrMessage(a Addr, add bool, ifindex uint32) (uint16, []byte, error) {
	ip := a.Prefix.Addr()
	fam := uint8(unix.AF_INET)
	if ip.Is6() {
		fam = unix.AF_INET6
	}
	// struct ifaddrmsg: family, prefixlen, flags, scope, index.
	b := []byte{fam, uint8(a.Prefix.Bits()), 0, a.Scope, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(b[4:], ifindex)
	typ := uint16(unix.RTM_DELADDR)
	if add {
		typ = unix.RTM_NEWADDR
	}
	if ip.Is6() {
		if add && a.PreferredLft != nil && *a.PreferredLft != infinity {
			// struct ifa_cacheinfo: prefered, valid, cstamp, tstamp.
			ci := make([]byte, 16)
			binary.NativeEndian.PutUint32(ci[0:], *a.PreferredLft)
			binary.NativeEndian.PutUint32(ci[4:], infinity)
			b = attr(b, unix.IFA_CACHEINFO, ci)
		}
		b = attr(b, unix.IFA_LOCAL, ip.AsSlice())
	} else {
		b = attr(b, unix.IFA_LOCAL, ip.AsSlice())
		if add {
			bc, err := a.broadcast()
			if err != nil {
				return 0, nil, err
			}
			if bc.IsValid() && !a.Peer.IsValid() {
				b = attr(b, unix.IFA_BROADCAST, bc.AsSlice())
			}
		} else {
			b = attr(b, unix.IFA_ADDRESS, ip.AsSlice())
		}
	}
	if add {
		if f := a.flags(); f != 0 {
			b = attr(b, unix.IFA_FLAGS, binary.NativeEndian.AppendUint32(nil, f))
		}
		if a.Label != "" && ip.Is4() {
			b = attr(b, unix.IFA_LABEL, append([]byte(a.Label), 0))
		}
		if a.Peer.IsValid() && a.Peer.Is6() == ip.Is6() {
			b = attr(b, unix.IFA_ADDRESS, a.Peer.AsSlice())
		}
	}
	return typ, b, nil
}

// attr appends one rtattr, padded to 4 bytes.
func attr(b []byte, typ uint16, data []byte) []byte {
	n := 4 + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(n))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for ; n%4 != 0; n++ {
		b = append(b, 0)
	}
	return b
}

// AddrConn sends address requests over one rtnetlink socket (keepalived's
// nl_cmd), kept open so that a takeover sets its addresses without
// opening sockets first.
type AddrConn struct {
	mu sync.Mutex
	c  *netlink.Conn
}

// OpenAddrConn dials rtnetlink in the current network namespace.
func OpenAddrConn() (*AddrConn, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return nil, fmt.Errorf("netio: dial rtnetlink: %w", err)
	}
	return &AddrConn{c: c}, nil
}

// Close closes the socket.
func (c *AddrConn) Close() error { return c.c.Close() }

// PID is the socket's netlink port id: the kernel's notifications of the
// changes it makes carry it.
func (c *AddrConn) PID() uint32 { return PortID(c.c) }

// PortID is a netlink socket's port id (0 when it cannot be read): the
// kernel's notifications of the changes made over it carry it.
func PortID(c *netlink.Conn) uint32 {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var pid uint32
	rc.Control(func(fd uintptr) {
		if sa, err := unix.Getsockname(int(fd)); err == nil {
			if nl, ok := sa.(*unix.SockaddrNetlink); ok {
				pid = nl.Pid
			}
		}
	})
	return pid
}

// Index is the interface's index now, 0 when it does not exist.
func (c *AddrConn) Index(name string) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.index(name)
}

func (c *AddrConn) index(name string) uint32 {
	body := attr(make([]byte, unix.SizeofIfInfomsg), unix.IFLA_IFNAME, append([]byte(name), 0))
	msgs, err := c.c.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   body,
	})
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK && len(m.Data) >= unix.SizeofIfInfomsg {
			return binary.NativeEndian.Uint32(m.Data[4:8])
		}
	}
	return 0
}

// Add adds a as keepalived does; an address already there is not an
// error (a reload or a restart after a crash finds it there).
func (c *AddrConn) Add(a Addr) error {
	err := c.talk(a, true)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("netio: add %v: %w", a, err)
	}
	return nil
}

// Del removes a; an address or interface already gone is not an error.
func (c *AddrConn) Del(a Addr) error {
	err := c.talk(a, false)
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("netio: del %v: %w", a, err)
	}
	return nil
}

func (c *AddrConn) talk(a Addr, add bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx := c.index(a.Dev)
	if idx == 0 {
		if !add {
			return nil // the interface is gone, and its addresses with it
		}
		return fmt.Errorf("interface %s: %w", a.Dev, unix.ENODEV)
	}
	typ, body, err := AddrMessage(a, add, idx)
	if err != nil {
		return err
	}
	_, err = c.c.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Acknowledge},
		Data:   body,
	})
	return err
}

// AddAddr adds a over a socket of its own.
func AddAddr(a Addr) error {
	c, err := OpenAddrConn()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Add(a)
}

// DelAddr removes a over a socket of its own.
func DelAddr(a Addr) error {
	c, err := OpenAddrConn()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Del(a)
}

// IfAddr is one address the kernel holds on an interface.
type IfAddr struct {
	Prefix netip.Prefix
	Scope  uint8
	Flags  uint32 // IFA_F_*
}

// IfAddrs lists the addresses of iface, in the kernel's order.
func IfAddrs(iface string) ([]IfAddr, error) {
	link, err := vnl.LinkByName(iface)
	if err != nil {
		return nil, err
	}
	addrs, err := vnl.AddrList(link, vnl.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	out := make([]IfAddr, 0, len(addrs))
	for _, x := range addrs {
		ip, ok := netip.AddrFromSlice(x.IP)
		if !ok {
			continue
		}
		bits, _ := x.Mask.Size()
		out = append(out, IfAddr{Prefix: netip.PrefixFrom(ip.Unmap(), bits), Scope: uint8(x.Scope), Flags: uint32(x.Flags)})
	}
	return out, nil
}

// HasAddr reports whether a.Prefix's address is configured on a.Dev.
func HasAddr(a Addr) (bool, error) {
	addrs, err := IfAddrs(a.Dev)
	if err != nil {
		return false, err
	}
	for _, x := range addrs {
		if x.Prefix.Addr() == a.Prefix.Addr() {
			return true, nil
		}
	}
	return false, nil
}

// PrimaryAddr is the address adverts leave from when no mcast_src_ip or
// unicast_src_ip is set: the first IPv4 address of the interface, or its
// IPv6 link-local address, as keepalived picks them; skip says which
// addresses may not be picked (the instances' VIPs).
func PrimaryAddr(iface string, v6 bool, skip func(netip.Addr) bool) (netip.Addr, error) {
	addrs, err := IfAddrs(iface)
	if err != nil {
		return netip.Addr{}, err
	}
	if a, ok := PickPrimary(addrs, v6, skip); ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("netio: %s has no usable %s address", iface, map[bool]string{false: "IPv4", true: "IPv6 link-local"}[v6])
}

// PickPrimary is PrimaryAddr's choice among addrs.
func PickPrimary(addrs []IfAddr, v6 bool, skip func(netip.Addr) bool) (netip.Addr, bool) {
	for _, x := range addrs {
		ip := x.Prefix.Addr()
		if ip.Is6() != v6 || (skip != nil && skip(ip)) {
			continue
		}
		if v6 && !ip.IsLinkLocalUnicast() {
			continue
		}
		if !v6 && x.Flags&unix.IFA_F_SECONDARY != 0 {
			continue
		}
		return ip, true
	}
	return netip.Addr{}, false
}
