package netio

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Monitor receives the kernel's address notifications, and the route and
// rule ones asked for, on one rtnetlink socket (keepalived's nl_kernel
// reflector with set_extra_netlink_monitoring's groups), so they arrive in
// the order the kernel made the changes.
type Monitor struct {
	conn *netlink.Conn
}

// MonitorGroups says which route and rule groups to join besides the
// address ones.
type MonitorGroups struct {
	IPv4Routes, IPv6Routes, IPv4Rules, IPv6Rules bool
}

// OpenMonitor joins the IPv4 and IPv6 address groups and those g asks
// for, in the current network namespace.
func OpenMonitor(g MonitorGroups) (*Monitor, error) {
	cfg := &netlink.Config{}
	for _, x := range []struct {
		on    bool
		group uint32
	}{
		{true, unix.RTNLGRP_IPV4_IFADDR}, {true, unix.RTNLGRP_IPV6_IFADDR},
		{g.IPv4Routes, unix.RTNLGRP_IPV4_ROUTE}, {g.IPv6Routes, unix.RTNLGRP_IPV6_ROUTE},
		{g.IPv4Rules, unix.RTNLGRP_IPV4_RULE}, {g.IPv6Rules, unix.RTNLGRP_IPV6_RULE},
	} {
		if x.on {
			cfg.Groups |= 1 << (x.group - 1)
		}
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, fmt.Errorf("netio: monitor: %w", err)
	}
	// A burst (an interface with many addresses going away) must not
	// overflow the socket: ENOBUFS would lose notifications.
	_ = c.SetReadBuffer(1 << 20)
	return &Monitor{conn: c}, nil
}

// Receive blocks for the next notifications.
func (m *Monitor) Receive() ([]netlink.Message, error) { return m.conn.Receive() }

// Close ends the subscription; a blocked Receive returns.
func (m *Monitor) Close() error { return m.conn.Close() }

// AddrEvent is one RTM_NEWADDR or RTM_DELADDR notification.
type AddrEvent struct {
	Deleted bool
	Index   int
	// Iface is the interface's name when the event was read ("" if it
	// is already gone).
	Iface string
	// Addr is IFA_LOCAL (IFA_ADDRESS without one), with the prefix
	// length.
	Prefix netip.Prefix
	Scope  uint8
	Flags  uint32
	// PID is the port id of the socket whose request made the change (0
	// for the kernel's own changes).
	PID uint32
}

// ParseAddr decodes an address notification; ok is false for any other
// message or one that is malformed.
func ParseAddr(m netlink.Message) (AddrEvent, bool) {
	if (m.Header.Type != unix.RTM_NEWADDR && m.Header.Type != unix.RTM_DELADDR) || len(m.Data) < unix.SizeofIfAddrmsg {
		return AddrEvent{}, false
	}
	d := m.Data
	fam, plen, flags, scope := d[0], int(d[1]), uint32(d[2]), d[3]
	if fam != unix.AF_INET && fam != unix.AF_INET6 {
		return AddrEvent{}, false
	}
	ev := AddrEvent{Deleted: m.Header.Type == unix.RTM_DELADDR, Index: int(binary.NativeEndian.Uint32(d[4:8])),
		Scope: scope, Flags: flags, PID: m.Header.PID}
	var local, address []byte
	for b := d[unix.SizeofIfAddrmsg:]; len(b) >= 4; {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		typ, val := binary.NativeEndian.Uint16(b[2:])&0x3fff, b[4:l]
		switch typ {
		case unix.IFA_LOCAL:
			local = val
		case unix.IFA_ADDRESS:
			address = val
		case unix.IFA_FLAGS:
			if len(val) >= 4 {
				ev.Flags = binary.NativeEndian.Uint32(val)
			}
		}
		if n := (l + 3) &^ 3; n < len(b) {
			b = b[n:]
		} else {
			break
		}
	}
	if local == nil {
		local = address
	}
	ip, ok := netip.AddrFromSlice(local)
	if !ok || (fam == unix.AF_INET) != ip.Is4() {
		return AddrEvent{}, false
	}
	ev.Prefix = netip.PrefixFrom(ip, plen)
	if ifi, err := net.InterfaceByIndex(ev.Index); err == nil {
		ev.Iface = ifi.Name
	}
	return ev, true
}
