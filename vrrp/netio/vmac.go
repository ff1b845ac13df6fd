package netio

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VMACAddr is the virtual router MAC address of RFC 5798 §7.3:
// 00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6.
func VMACAddr(vrid uint8, v6 bool) net.HardwareAddr {
	fam := byte(1)
	if v6 {
		fam = 2
	}
	return net.HardwareAddr{0, 0, 0x5e, 0, fam, vrid}
}

// LinkSpec is a use_vmac macvlan or a use_ipvlan ipvlan as keepalived
// makes it (vrrp_vmac.c netlink_link_add_vmac, netlink_link_add_ipvlan).
type LinkSpec struct {
	Name, Base string
	VRID       uint8
	// IPv6 is the family of the instance (or of the address) the link
	// carries.
	IPv6 bool
	// MAC is use_vmac's configured address; nil is RFC 5798's.
	MAC net.HardwareAddr
	// OtherFamily: the instance has eVIPs of the other family, so an IPv4
	// link keeps IPv6 enabled (VRRP_FLAG_EVIP_OTHER_FAMILY).
	OtherFamily bool
	// LinkLocal is the address set_link_local_address puts on an IPv6
	// VMAC that sends the adverts (no vmac_xmit_base); invalid: none.
	LinkLocal netip.Addr
	// IPVLAN makes an L2 ipvlan (use_ipvlan) with IPVLANMode "", "bridge",
	// "private" or "vepa", and IPVLANAddr on it when valid.
	IPVLAN     bool
	IPVLANMode string
	IPVLANAddr netip.Prefix
	// Known are the interfaces the daemon knows of (those its
	// configuration names): clear_rp_filter raises only theirs.
	Known []string
	// Logf receives the lines keepalived logs while it makes VMACs (its
	// rp_filter notices); nil discards them.
	Logf func(format string, a ...any)
}

// VMAC is a link made for a VRRP instance: a macvlan carrying the virtual
// MAC (use_vmac) or an ipvlan (use_ipvlan).
type VMAC struct {
	Name, Base string
	ipv4VMAC   bool // the base's arp settings and rp_filter were taken
}

// linkState is what keepalived keeps across VMACs: the base interfaces'
// arp_ignore/arp_filter to put back when their last IPv4 VMAC goes
// (reset_arp_config), and the rp_filter values clear_rp_filter changed.
var linkState struct {
	sync.Mutex
	bases map[string]*baseConf
	rp    *rpFilter
	ipv4  int // IPv4 VMACs alive
}

type baseConf struct {
	refs                 int
	arpIgnore, arpFilter string
	changed              bool
}

func devconf(fam, dev, key string) string { return "/proc/sys/net/" + fam + "/conf/" + dev + "/" + key }

func readSysctl(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func writeSysctl(path, value string) error { return os.WriteFile(path, []byte(value), 0o644) }

// EnsureVMAC makes the IPv4 VMAC name on base for vrid.
func EnsureVMAC(base, name string, vrid uint8) (*VMAC, error) {
	v, _, err := EnsureLink(LinkSpec{Name: name, Base: base, VRID: vrid})
	return v, err
}

// EnsureLink makes (or adopts) the link of spec and sets it up as
// keepalived does. created says it was made or changed now (keepalived
// logs "Success creating VMAC interface" with -D).
func EnsureLink(spec LinkSpec) (*VMAC, bool, error) {
	parent, err := netlink.LinkByName(spec.Base)
	if err != nil {
		return nil, false, fmt.Errorf("netio: vmac base %s: %w", spec.Base, err)
	}
	if spec.IPVLAN {
		return ensureIPVLAN(spec, parent)
	}
	return ensureMacvlan(spec, parent)
}

// ensureMacvlan is netlink_link_add_vmac.
func ensureMacvlan(spec LinkSpec, parent netlink.Link) (*VMAC, bool, error) {
	mac := spec.MAC
	if mac == nil {
		mac = VMACAddr(spec.VRID, spec.IPv6)
	}
	v := &VMAC{Name: spec.Name, Base: spec.Base}
	create, update := true, false
	link, err := netlink.LinkByName(spec.Name)
	if err == nil {
		mv, ok := link.(*netlink.Macvlan)
		switch {
		case !ok:
			return nil, false, fmt.Errorf("VMAC %s conflicts with existing interface", spec.Name)
		case mv.ParentIndex != parent.Attrs().Index:
			// "Removing old VMAC interface %s due to conflicting interface"
			if err := netlink.LinkDel(link); err != nil {
				return nil, false, fmt.Errorf("netio: remove old vmac %s: %w", spec.Name, err)
			}
		case mv.HardwareAddr.String() != mac.String() || mv.Mode != netlink.MACVLAN_MODE_PRIVATE:
			update = true
		default:
			create = false
		}
	}
	if create {
		la := netlink.NewLinkAttrs()
		la.Name, la.ParentIndex, la.HardwareAddr = spec.Name, parent.Attrs().Index, mac
		mv := &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}
		if update {
			err = netlink.LinkModify(mv)
		} else {
			err = netlink.LinkAdd(mv)
		}
		if err != nil {
			return nil, false, fmt.Errorf("netio: create vmac %s: %w", spec.Name, err)
		}
	}
	if link, err = netlink.LinkByName(spec.Name); err != nil {
		return nil, create, err
	}
	var errs []error
	if !spec.IPv6 && create {
		// set_interface_parameters: the VMAC and its base.
		errs = append(errs, v.takeIPv4Settings(spec))
	}
	// link_set_ipv6: no IPv6 on an IPv4 VMAC without other-family eVIPs.
	errs = append(errs, writeSysctl(devconf("ipv6", spec.Name, "disable_ipv6"), b01(!spec.IPv6 && !spec.OtherFamily)))
	// No address made from the MAC (RFC 5798 §7.4): set before the link
	// is up, or the kernel adds one.
	errs = append(errs, netlink.LinkSetIP6AddrGenMode(link, 1 /* IN6_ADDR_GEN_MODE_NONE */))
	if err := netlink.LinkSetUp(link); err != nil {
		return v, create, fmt.Errorf("netio: vmac %s up: %w", spec.Name, err)
	}
	if spec.LinkLocal.IsValid() {
		if err := addLinkLocal(link, spec.LinkLocal); err != nil {
			errs = append(errs, fmt.Errorf("Adding link-local address to vmac failed: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return v, create, fmt.Errorf("netio: vmac %s: %w", spec.Name, err)
	}
	return v, create, nil
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// addLinkLocal is add_link_local_address: a /64 added as keepalived's
// netlink_ipaddress does for an ip_address_t with nothing else set (no
// DAD, preferred lifetime 0, valid forever).
func addLinkLocal(link netlink.Link, a netip.Addr) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(64, 128)},
		Flags: unix.IFA_F_NODAD, ValidLft: math.MaxUint32, PreferedLft: 0}
	err := netlink.AddrAdd(link, addr)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// LinkLocalOf is make_link_local_address: the EUI-64 link-local address
// of a MAC.
func LinkLocalOf(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	if len(mac) == 6 {
		a[8], a[9], a[10] = mac[0]^0x02, mac[1], mac[2]
		a[11], a[12] = 0xff, 0xfe
		a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	}
	return netip.AddrFrom16(a)
}

// takeIPv4Settings is set_interface_parameters: on the VMAC arp_ignore=1,
// accept_local=1, rp_filter=0, promote_secondaries=1; on its base
// arp_ignore=1 and arp_filter=1 (put back when its last IPv4 VMAC goes);
// and clear_rp_filter.
func (v *VMAC) takeIPv4Settings(spec LinkSpec) error {
	name, base := spec.Name, spec.Base
	logf := spec.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	linkState.Lock()
	defer linkState.Unlock()
	if linkState.bases == nil {
		linkState.bases = map[string]*baseConf{}
	}
	if linkState.ipv4 == 0 && linkState.rp == nil {
		linkState.rp = clearRPFilter(spec.Known, logf)
	}
	linkState.ipv4++
	v.ipv4VMAC = true
	c := func(key string) string { return devconf("ipv4", name, key) }
	errs := []error{
		writeSysctl(c("arp_ignore"), "1"), writeSysctl(c("accept_local"), "1"),
		writeSysctl(c("rp_filter"), "0"), writeSysctl(c("promote_secondaries"), "1"),
	}
	bc := linkState.bases[base]
	if bc == nil {
		bc = &baseConf{arpIgnore: readSysctl(devconf("ipv4", base, "arp_ignore")), arpFilter: readSysctl(devconf("ipv4", base, "arp_filter"))}
		linkState.bases[base] = bc
		if bc.arpIgnore != "1" || bc.arpFilter != "1" {
			errs = append(errs, writeSysctl(devconf("ipv4", base, "arp_ignore"), "1"), writeSysctl(devconf("ipv4", base, "arp_filter"), "1"))
			bc.changed = true
		}
	}
	bc.refs++
	return errors.Join(errs...)
}

// releaseIPv4Settings is reset_interface_parameters (the base's arp
// settings when its last IPv4 VMAC goes) and, with the last IPv4 VMAC,
// restore_rp_filter.
func (v *VMAC) releaseIPv4Settings() error {
	if !v.ipv4VMAC {
		return nil
	}
	v.ipv4VMAC = false
	linkState.Lock()
	defer linkState.Unlock()
	var errs []error
	if bc := linkState.bases[v.Base]; bc != nil {
		if bc.refs--; bc.refs <= 0 {
			delete(linkState.bases, v.Base)
			if bc.changed && bc.arpIgnore != "" {
				errs = append(errs, writeSysctl(devconf("ipv4", v.Base, "arp_ignore"), bc.arpIgnore),
					writeSysctl(devconf("ipv4", v.Base, "arp_filter"), bc.arpFilter))
			}
		}
	}
	if linkState.ipv4--; linkState.ipv4 <= 0 && linkState.rp != nil {
		linkState.rp.restore()
		linkState.rp = nil
	}
	return errors.Join(errs...)
}

// rpFilter is what clear_rp_filter changed.
type rpFilter struct {
	all, def string            // the original values; def "" if not changed
	devs     map[string]string // interfaces raised to all's value: their own
	logf     func(string, ...any)
}

// clearRPFilter is clear_rp_filter: an IPv4 VMAC needs rp_filter 0, and
// the kernel uses the larger of all.rp_filter and the interface's. With
// all.rp_filter > 0, default and the known interfaces below it are
// raised to it first, then all is set to 0, so nothing else changes
// behaviour. keepalived logs the two global changes.
func clearRPFilter(known []string, logf func(string, ...any)) *rpFilter {
	all := readSysctl(devconf("ipv4", "all", "rp_filter"))
	n, err := strconv.Atoi(all)
	if err != nil || n == 0 {
		return nil
	}
	rp := &rpFilter{all: all, devs: map[string]string{}, logf: logf}
	if d, err := strconv.Atoi(readSysctl(devconf("ipv4", "default", "rp_filter"))); err == nil && d < n {
		rp.def = strconv.Itoa(d)
		logf("NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from %d to %d", d, n)
		writeSysctl(devconf("ipv4", "default", "rp_filter"), all)
	}
	for _, name := range known {
		if v, err := strconv.Atoi(readSysctl(devconf("ipv4", name, "rp_filter"))); err == nil && v < n {
			rp.devs[name] = strconv.Itoa(v)
			writeSysctl(devconf("ipv4", name, "rp_filter"), all)
		}
	}
	logf("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from %d to 0", n)
	writeSysctl(devconf("ipv4", "all", "rp_filter"), "0")
	return rp
}

// restore is restore_rp_filter: each value back where it is still the
// one clearRPFilter set.
func (rp *rpFilter) restore() {
	if readSysctl(devconf("ipv4", "all", "rp_filter")) == "0" {
		rp.logf("NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to %s", rp.all)
		writeSysctl(devconf("ipv4", "all", "rp_filter"), rp.all)
	}
	if rp.def != "" && readSysctl(devconf("ipv4", "default", "rp_filter")) == rp.all {
		rp.logf("NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to %s", rp.def)
		writeSysctl(devconf("ipv4", "default", "rp_filter"), rp.def)
	}
	for dev, v := range rp.devs {
		if readSysctl(devconf("ipv4", dev, "rp_filter")) == rp.all {
			writeSysctl(devconf("ipv4", dev, "rp_filter"), v)
		}
	}
}

// ensureIPVLAN is netlink_link_add_ipvlan: an L2 ipvlan with the
// configured flags, up, IPv6 as for a VMAC, and the configured address.
func ensureIPVLAN(spec LinkSpec, parent netlink.Link) (*VMAC, bool, error) {
	v := &VMAC{Name: spec.Name, Base: spec.Base}
	created := false
	link, err := netlink.LinkByName(spec.Name)
	if err != nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.ParentIndex = spec.Name, parent.Attrs().Index
		flag := netlink.IPVLAN_FLAG_BRIDGE
		switch spec.IPVLANMode {
		case "private":
			flag = netlink.IPVLAN_FLAG_PRIVATE
		case "vepa":
			flag = netlink.IPVLAN_FLAG_VEPA
		}
		if err := netlink.LinkAdd(&netlink.IPVlan{LinkAttrs: la, Mode: netlink.IPVLAN_MODE_L2, Flag: flag}); err != nil {
			return nil, false, fmt.Errorf("netio: create ipvlan %s: %w", spec.Name, err)
		}
		if link, err = netlink.LinkByName(spec.Name); err != nil {
			return nil, true, err
		}
		created = true
	} else if _, ok := link.(*netlink.IPVlan); !ok {
		return nil, false, fmt.Errorf("ipvlan %s conflicts with existing interface", spec.Name)
	}
	var errs []error
	if err := netlink.LinkSetUp(link); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, writeSysctl(devconf("ipv6", spec.Name, "disable_ipv6"), b01(!spec.IPv6 && !spec.OtherFamily)))
	if spec.IPVLANAddr.IsValid() {
		p := spec.IPVLANAddr
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("Failed to add interface address to %s: %w", spec.Name, err))
		}
	}
	return v, created, errors.Join(errs...)
}

// FindVMAC is keepalived's search for an existing interface a VMAC can
// be taken over from (vrrp_complete_instance): a private macvlan on base
// with the MAC. "" when there is none.
func FindVMAC(base string, mac net.HardwareAddr) string {
	parent, err := netlink.LinkByName(base)
	if err != nil {
		return ""
	}
	links, err := netlink.LinkList()
	if err != nil {
		return ""
	}
	for _, l := range links {
		mv, ok := l.(*netlink.Macvlan)
		if ok && mv.ParentIndex == parent.Attrs().Index && mv.Mode == netlink.MACVLAN_MODE_PRIVATE &&
			mv.HardwareAddr.String() == mac.String() {
			return mv.Name
		}
	}
	return ""
}

// LinkKind is an existing interface's rtnetlink kind ("" for a plain
// device); ok is false when there is no such interface.
func LinkKind(name string) (kind string, ok bool) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return "", false
	}
	return l.Type(), true
}

// Remove deletes the link and gives back what its making changed.
func (v *VMAC) Remove() error {
	var errs []error
	if link, err := netlink.LinkByName(v.Name); err == nil {
		errs = append(errs, netlink.LinkDel(link))
	}
	errs = append(errs, v.releaseIPv4Settings())
	return errors.Join(errs...)
}
