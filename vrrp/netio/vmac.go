package netio

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
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

// VMAC is a macvlan carrying the virtual MAC (use_vmac).
type VMAC struct {
	Name, Base string
	restore    map[string]string // sysctl path -> original value
}

func sysctl(path, value string, saved map[string]string) error {
	if saved != nil {
		if old, err := os.ReadFile(path); err == nil {
			if _, ok := saved[path]; !ok {
				saved[path] = strings.TrimSpace(string(old))
			}
		}
	}
	return os.WriteFile(path, []byte(value), 0o644)
}

// EnsureVMAC creates (or adopts) the macvlan name on base in private mode
// with the virtual MAC, and sets what keepalived sets: on the vmac
// accept_local=1, arp_ignore=1, rp_filter=0, no IPv6 (an IPv4 instance
// must not send anything from the shared MAC while BACKUP); on the base
// arp_ignore=1 and arp_filter=1. IPv6 instances are not supported.
func EnsureVMAC(base, name string, vrid uint8) (*VMAC, error) {
	parent, err := netlink.LinkByName(base)
	if err != nil {
		return nil, fmt.Errorf("netio: vmac base %s: %w", base, err)
	}
	mac := VMACAddr(vrid, false)
	v := &VMAC{Name: name, Base: base, restore: map[string]string{}}
	link, err := netlink.LinkByName(name)
	if err == nil {
		mv, ok := link.(*netlink.Macvlan)
		if !ok || mv.ParentIndex != parent.Attrs().Index || mv.HardwareAddr.String() != mac.String() {
			return nil, fmt.Errorf("netio: %s exists and is not the vmac of %s", name, base)
		}
	} else {
		la := netlink.NewLinkAttrs()
		la.Name, la.ParentIndex, la.HardwareAddr = name, parent.Attrs().Index, mac
		if err := netlink.LinkAdd(&netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}); err != nil {
			return nil, fmt.Errorf("netio: create vmac %s: %w", name, err)
		}
		if link, err = netlink.LinkByName(name); err != nil {
			return nil, err
		}
	}
	conf := func(dev, key string) string { return "/proc/sys/net/ipv4/conf/" + dev + "/" + key }
	err = errors.Join(
		sysctl("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", "1", nil),
		sysctl(conf(name, "accept_local"), "1", nil),
		sysctl(conf(name, "arp_ignore"), "1", nil),
		sysctl(conf(name, "rp_filter"), "0", nil),
		sysctl(conf(base, "arp_ignore"), "1", v.restore),
		sysctl(conf(base, "arp_filter"), "1", v.restore),
	)
	if err != nil {
		return v, fmt.Errorf("netio: vmac %s sysctls: %w", name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return v, fmt.Errorf("netio: vmac %s up: %w", name, err)
	}
	return v, nil
}

// Remove deletes the vmac and restores the base interface's settings.
func (v *VMAC) Remove() error {
	var errs []error
	if link, err := netlink.LinkByName(v.Name); err == nil {
		errs = append(errs, netlink.LinkDel(link))
	}
	for p, val := range v.restore {
		errs = append(errs, os.WriteFile(p, []byte(val), 0o644))
	}
	return errors.Join(errs...)
}
