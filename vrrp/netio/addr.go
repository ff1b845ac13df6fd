package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Addr is one virtual address with keepalived's virtual_ipaddress options.
type Addr struct {
	Prefix        netip.Prefix
	Dev           string
	Label         string
	Scope         string // host, link, site, global, nowhere or a number
	Broadcast     string // an address, "+" (derive) or "-" (none)
	NoPrefixRoute bool
	NoDAD         bool
	HomeAddr      bool
}

func (a Addr) String() string { return a.Prefix.String() + " dev " + a.Dev }

// ErrUnsupported marks configuration the I/O layer does not implement.
var ErrUnsupported = errors.New("netio: not supported")

var scopes = map[string]netlink.Scope{
	"global": netlink.SCOPE_UNIVERSE, "site": netlink.SCOPE_SITE, "link": netlink.SCOPE_LINK,
	"host": netlink.SCOPE_HOST, "nowhere": netlink.SCOPE_NOWHERE,
}

func (a Addr) nl(h *netlink.Handle) (netlink.Link, *netlink.Addr, error) {
	link, err := h.LinkByName(a.Dev)
	if err != nil {
		return nil, nil, fmt.Errorf("netio: %s: %w", a.Dev, err)
	}
	ip := a.Prefix.Addr()
	na := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), ip.BitLen())}}
	if a.Label != "" && ip.Is4() {
		na.Label = a.Label
	}
	if a.Scope != "" {
		if s, ok := scopes[a.Scope]; ok {
			na.Scope = int(s)
		} else {
			var n int
			if _, err := fmt.Sscanf(a.Scope, "%d", &n); err != nil {
				return nil, nil, fmt.Errorf("netio: scope %q: %w", a.Scope, ErrUnsupported)
			}
			na.Scope = n
		}
	}
	if a.NoPrefixRoute {
		na.Flags |= unix.IFA_F_NOPREFIXROUTE
	}
	if a.NoDAD && ip.Is6() {
		na.Flags |= unix.IFA_F_NODAD
	}
	if a.HomeAddr && ip.Is6() {
		na.Flags |= unix.IFA_F_HOMEADDRESS
	}
	if ip.Is4() {
		switch b := strings.TrimSpace(a.Broadcast); b {
		case "", "-":
		case "+":
			m := net.CIDRMask(a.Prefix.Bits(), 32)
			bc := make(net.IP, 4)
			for i, v := range ip.As4() {
				bc[i] = v | ^m[i]
			}
			na.Broadcast = bc
		default:
			bc, err := netip.ParseAddr(b)
			if err != nil || !bc.Is4() {
				return nil, nil, fmt.Errorf("netio: broadcast %q: %w", b, ErrUnsupported)
			}
			na.Broadcast = bc.AsSlice()
		}
	}
	return link, na, nil
}

// AddAddr installs a; an address already present is not an error (a
// reload or a restart after a crash finds it there).
func AddAddr(a Addr) error { return AddAddrVia(nil, a) }

// AddAddrVia is AddAddr over h, a handle the caller keeps open, so a
// takeover does not open two netlink sockets per address; nil means a
// socket per request.
func AddAddrVia(h *netlink.Handle, a Addr) error {
	h = handleOr(h)
	link, na, err := a.nl(h)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, na); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("netio: add %v: %w", a, err)
	}
	return nil
}

// DelAddr removes a; an address already gone is not an error.
func DelAddr(a Addr) error { return DelAddrVia(nil, a) }

// DelAddrVia is DelAddr over h (see AddAddrVia).
func DelAddrVia(h *netlink.Handle, a Addr) error {
	h = handleOr(h)
	link, na, err := a.nl(h)
	if err != nil {
		return err
	}
	if err := h.AddrDel(link, na); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netio: del %v: %w", a, err)
	}
	return nil
}

// handleOr returns h, or netlink's zero handle (a socket per request).
func handleOr(h *netlink.Handle) *netlink.Handle {
	if h == nil {
		return &netlink.Handle{}
	}
	return h
}

// HasAddr reports whether a.Prefix's address is configured on a.Dev.
func HasAddr(a Addr) (bool, error) {
	link, err := netlink.LinkByName(a.Dev)
	if err != nil {
		return false, err
	}
	fam := netlink.FAMILY_V4
	if a.Prefix.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(link, fam)
	if err != nil {
		return false, err
	}
	for _, x := range addrs {
		if ip, ok := netip.AddrFromSlice(x.IP); ok && ip.Unmap() == a.Prefix.Addr() {
			return true, nil
		}
	}
	return false, nil
}

// PrimaryAddr is the address adverts leave from when no mcast_src_ip or
// unicast_src_ip is set: the first IPv4 address of the interface, or its
// IPv6 link-local address, as keepalived picks them.
func PrimaryAddr(iface string, v6 bool) (netip.Addr, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return netip.Addr{}, err
	}
	fam := netlink.FAMILY_V4
	if v6 {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(link, fam)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, x := range addrs {
		ip, ok := netip.AddrFromSlice(x.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if v6 && !ip.IsLinkLocalUnicast() {
			continue
		}
		if !v6 && x.Flags&unix.IFA_F_SECONDARY != 0 {
			continue
		}
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("netio: %s has no usable %s address", iface, map[bool]string{false: "IPv4", true: "IPv6 link-local"}[v6])
}
