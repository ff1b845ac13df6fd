package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// writeInterfaces is dump_interface_queue over the interfaces of the
// current network namespace, as keepalived learns them from netlink.
func writeInterfaces(c *confWriter, st vrrpengine.Status) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return
	}
	vips := map[netip.Addr]bool{}
	for _, is := range st.Instances {
		for _, v := range append(append([]config.VirtualAddress(nil), is.Config.VIPs...), is.Config.ExcludedVIPs...) {
			vips[v.Prefix.Addr()] = true
		}
	}
	c.f("------< Interfaces >------")
	for _, ifi := range ifs {
		c.f(" Name = %s", ifi.Name)
		c.f("   index = %d", ifi.Index)
		writeInterfaceAddrs(c, ifi, vips)
		writeInterfaceState(c, ifi)
		writeInterfaceTracking(c, ifi, st)
	}
}

// writeInterfaceAddrs is the interface's own addresses (VIPs left out)
// and its MAC.
func writeInterfaceAddrs(c *confWriter, ifi net.Interface, vips map[netip.Addr]bool) {
	var v4, v6 []netip.Addr
	if addrs, err := ifi.Addrs(); err == nil {
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if vips[ip] {
				continue
			}
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	if len(v4) > 0 {
		c.f("   IPv4 address = %s", v4[0])
	} else {
		c.f("   IPv4 address = (none)")
	}
	if len(v4) > 1 {
		c.f("   Additional IPv4 addresses :")
		for _, a := range v4[1:] {
			c.f("     %s", a)
		}
	}
	// keepalived keeps a link-local IPv6 address as the interface's.
	var ll netip.Addr
	for _, a := range v6 {
		if a.IsLinkLocalUnicast() {
			ll = a
			break
		}
	}
	if ll.IsValid() {
		c.f("   IPv6 address = %s", ll)
	} else {
		c.f("   IPv6 address = (none)")
	}
	if len(ifi.HardwareAddr) > 0 {
		c.f("   MAC = %s", ifi.HardwareAddr)
		bc := make([]string, len(ifi.HardwareAddr))
		for i := range bc {
			bc[i] = "ff"
		}
		c.f("   MAC broadcast = %s", strings.Join(bc, ":"))
	}
}

// writeInterfaceState is the interface's flags and type.
func writeInterfaceState(c *confWriter, ifi net.Interface) {
	fl := ifi.Flags
	var extra strings.Builder
	if fl&net.FlagBroadcast == 0 {
		extra.WriteString(", no broadcast")
	}
	if fl&net.FlagLoopback != 0 {
		extra.WriteString(", loopback")
	}
	if fl&net.FlagPointToPoint != 0 {
		extra.WriteString(", point to point")
	}
	if fl&net.FlagMulticast == 0 {
		extra.WriteString(", no multicast")
	}
	c.f("   State = %sUP, %sRUNNING%s", notIf(fl&net.FlagUp == 0), notIf(fl&net.FlagRunning == 0), extra.String())
	c.f("   Seen up = %d", map[bool]int{true: 1}[fl&net.FlagUp != 0])
	c.f("   Delayed state change running = false")
	c.f("   Up debounce timer = 0us")
	c.f("   Down debounce timer = 0us")
	c.f("   MTU = %d", ifi.MTU)
	switch hw := hwType(ifi); hw {
	case 772:
		c.f("   HW Type = LOOPBACK")
	case 1:
		c.f("   HW Type = ETHERNET")
	default:
		c.f("   HW Type = UNKNOWN (%d)", hw)
	}
	c.f("   NIC netlink status update")
	c.f("   Reset ARP config counter 0")
	c.f("   Original arp_ignore 0")
	c.f("   Original arp_filter 0")
	c.f("   Original promote_secondaries 0")
	c.f("   Reset promote_secondaries counter 0")
}

// writeInterfaceTracking lists the instances tracking the interface.
func writeInterfaceTracking(c *confWriter, ifi net.Interface, st vrrpengine.Status) {
	var tracking []string
	for i := range st.Instances {
		is := &st.Instances[i]
		if is.Interface == ifi.Name && !is.Config.DontTrackPrimary {
			tracking = append(tracking, fmt.Sprintf("     %s, weight 0", is.Name))
		}
		for _, r := range trackedIfaces(is) {
			if r.Name == ifi.Name {
				tracking = append(tracking, fmt.Sprintf("     %s, weight %d%s", is.Name, r.Weight, map[bool]string{true: " reverse"}[r.Reverse]))
			}
		}
	}
	if len(tracking) > 0 {
		c.f("   Tracking VRRP instances :")
		for _, t := range tracking {
			c.f("%s", t)
		}
	}
}

func notIf(b bool) string {
	if b {
		return "not "
	}
	return ""
}

// hwType is the interface's ARPHRD type from sysfs, guessed from its
// flags and address when sysfs is not the namespace's own.
func hwType(ifi net.Interface) int {
	if b, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/type"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		return 772
	}
	if len(ifi.HardwareAddr) == 6 {
		return 1
	}
	return 0xffff
}
