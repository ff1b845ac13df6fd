package main

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// writeInterfaces is dump_interface_queue over the interfaces of the
// current network namespace, as keepalived learns them from netlink.
func writeInterfaces(c *confWriter, env dumpEnv, st vrrpengine.Status, delays garpDelayList) {
	ifs := env.ifaces
	if len(ifs) == 0 {
		return
	}
	vips := map[netip.Addr]bool{}
	ours := map[string]bool{}
	for _, is := range st.Instances {
		for _, v := range append(append([]config.VirtualAddress(nil), is.Config.VIPs...), is.Config.ExcludedVIPs...) {
			vips[v.Prefix.Addr()] = true
		}
		if is.VMAC != "" {
			ours[is.VMAC] = true
		}
	}
	// The VRRP process skips address messages its own command socket
	// caused (netlink_parse_info): the static addresses it added never
	// join an interface's list.
	for _, a := range st.StaticAddresses {
		if a.Set {
			vips[a.Config.Prefix.Addr()] = true
		}
	}
	trackers := ifTrackers(env.cfg, st)
	c.f("------< Interfaces >------")
	for _, ifi := range ifs {
		c.f(" Name = %s", ifi.Name)
		c.f("   index = %d", ifi.Index)
		writeInterfaceAddrs(c, ifi, vips)
		writeInterfaceState(c, env, ifi, ours[ifi.Name])
		writeIfaceGarp(c, delays.iface[ifi.Name])
		writeInterfaceConf(c, env, ifi)
		if t := trackers[ifi.Name]; len(t) > 0 {
			c.f("   Tracking VRRP instances :")
			for _, e := range t {
				c.f("     %s, weight %d%s", e.instance, e.weight, map[bool]string{true: " reverse"}[e.reverse])
			}
		}
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

// rawFlags are the interface's IFF_* flags as netlink reports them.
func rawFlags(env dumpEnv, ifi net.Interface) uint32 {
	if li := env.links[ifi.Name]; li != nil {
		return li.link.Attrs().RawFlags
	}
	return uint32(ifi.Flags)
}

// writeInterfaceState is the interface's flags, its macvlan or ipvlan
// base, and its type.
func writeInterfaceState(c *confWriter, env dumpEnv, ifi net.Interface, ours bool) {
	fl := rawFlags(env, ifi)
	base := env.links.base(ifi.Name)
	var extra strings.Builder
	for _, f := range []struct {
		on   bool
		text string
	}{{fl&syscall.IFF_BROADCAST == 0, ", no broadcast"}, {fl&syscall.IFF_LOOPBACK != 0, ", loopback"},
		{fl&syscall.IFF_POINTOPOINT != 0, ", point to point"}, {fl&syscall.IFF_NOARP != 0, ", no arp"},
		{fl&syscall.IFF_MULTICAST == 0, ", no multicast"}} {
		if f.on {
			extra.WriteString(f.text)
		}
	}
	var baseFl uint32
	if li := env.links[base]; li != nil {
		baseFl = li.link.Attrs().RawFlags
		if baseFl&syscall.IFF_UP == 0 {
			extra.WriteString(", master down")
		}
	}
	c.f("   State = %sUP, %sRUNNING%s", notIf(fl&syscall.IFF_UP == 0), notIf(fl&syscall.IFF_RUNNING == 0), extra.String())
	c.f("   Seen up = %d", map[bool]int{true: 1}[fl&syscall.IFF_UP != 0])
	c.f("   Delayed state change running = false")
	var up, down time.Duration
	for _, d := range env.cfg.UpDownDelays {
		if d.Interface == ifi.Name {
			up, down = d.Up, d.Down
		}
	}
	c.f("   Up debounce timer = %dus", up.Microseconds())
	c.f("   Down debounce timer = %dus", down.Microseconds())
	if li := env.links[ifi.Name]; li != nil && base != "" {
		kind, mode := "VMAC", "bridge"
		switch l := li.link.(type) {
		case *netlink.Macvlan:
			mode = macvlanMode(l.Mode)
		case *netlink.IPVlan:
			kind = "IPVLAN"
			mode = "L2 bridge"
			switch {
			case l.Mode == netlink.IPVLAN_MODE_L3:
				mode = "L3 bridge"
			case l.Mode == netlink.IPVLAN_MODE_L3S:
				mode = "L3S bridge"
			}
			if l.Flag == netlink.IPVLAN_FLAG_PRIVATE {
				mode = strings.TrimSuffix(mode, "bridge") + "private"
			} else if l.Flag == netlink.IPVLAN_FLAG_VEPA {
				mode = strings.TrimSuffix(mode, "bridge") + "vepa"
			}
		}
		c.f("   %s type %s, underlying interface = %s, state = %sUP, %sRUNNING", kind, mode, base,
			notIf(baseFl&syscall.IFF_UP == 0), notIf(baseFl&syscall.IFF_RUNNING == 0))
	}
	if ours {
		c.f("   I/f created by keepalived")
	}
	c.f("   MTU = %d", ifi.MTU)
	switch hw := hwType(ifi); hw {
	case 772:
		c.f("   HW Type = LOOPBACK")
	case 1:
		c.f("   HW Type = ETHERNET")
	case 32:
		// keepalived logs INFINIBAND instead of writing it to the dump.
	default:
		c.f("   HW Type = UNKNOWN (%d)", hw)
	}
	c.f("   NIC netlink status update")
}

func macvlanMode(m netlink.MacvlanMode) string {
	switch m {
	case netlink.MACVLAN_MODE_PRIVATE:
		return "private"
	case netlink.MACVLAN_MODE_VEPA:
		return "vepa"
	case netlink.MACVLAN_MODE_BRIDGE:
		return "bridge"
	case netlink.MACVLAN_MODE_PASSTHRU:
		return "passthru"
	case netlink.MACVLAN_MODE_SOURCE:
		return "source"
	}
	return "unknown"
}

// writeInterfaceConf is the IPv4 devconf part of dump_if: the values the
// kernel holds now for the interface, and how many of keepalived's VMACs
// made it change the interface's ARP settings.
func writeInterfaceConf(c *confWriter, env dumpEnv, ifi net.Interface) {
	conf := func(key string) int { return readConf(ifi.Name, key) }
	c.f("   Reset ARP config counter %d", env.arpReset[ifi.Name])
	c.f("   Original arp_ignore %d", conf("arp_ignore"))
	c.f("   Original arp_filter %d", conf("arp_filter"))
	if rp, ok := env.rpFilter[ifi.Name]; ok {
		c.f("   rp_filter %d", rp)
	}
	c.f("   Original promote_secondaries %d", conf("promote_secondaries"))
	c.f("   Reset promote_secondaries counter 0")
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
