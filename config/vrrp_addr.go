package config

import (
	"net/netip"
	"strings"

	"keepalived-go/parser"
)

// Addresses, routes and rules of the VRRP process: ports of keepalived
// 2.2.7's vrrp_ipaddress.c (parse_ipaddress, alloc_ipaddress) and the
// rt_scopes lookup of lib/rttables.c.

// parseIPAddress is parse_ipaddress: a "/len" is read with read_unsigned
// (a bad one keeps the full length, with keepalived's message).
func (s *vrrpState) parseIPAddress(str string, allowMask bool) (netip.Prefix, bool) {
	v6 := strings.Contains(str, ":")
	bits := 32
	if v6 {
		bits = 128
	}
	addr := str
	if allowMask {
		if i := strings.IndexByte(str, '/'); i >= 0 {
			if n, ok := s.l.readUnsigned(str[i+1:], 0, uint(bits), true); !ok {
				s.l.report(parser.SevGeneral, "Invalid address prefix len %s for address %s - using %d", str[i+1:], str, bits)
			} else {
				bits = int(n)
			}
			addr = str[:i]
		}
	}
	a, ok := inetPton(v6, addr)
	if !ok {
		s.l.report(parser.SevGeneral, "VRRP parsed invalid IP %s. skipping IP...", str)
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits), true
}

// allocIPAddress is alloc_ipaddress for a VIP/eVIP (owner set) or a
// static address.
func (s *vrrpState) allocIPAddress(w parser.Strvec, static bool, owner *VRRPInstance) (VirtualAddress, bool) {
	pfx, ok := s.parseIPAddress(w.Slot(0), true)
	if !ok {
		return VirtualAddress{}, false
	}
	a := VirtualAddress{Pos: s.l.pos(), Prefix: pfx}
	v6 := pfx.Addr().Is6()
	addrStr := w.Slot(0)
	var brdLen int
	haveBroadcast, havePeer, lftSet, missing := false, false, false, false
	var ifp *ifEntry
	str := ""
	for i := 1; i < w.Len(); i++ {
		str = w.Slot(i)
		avail := w.Len() >= i+2
		switch {
		case str == "dev":
			if !avail {
				missing = true
			} else if ifp != nil {
				s.l.report(parser.SevGeneral, "Cannot specify ipaddress device more than once for %s", addrStr)
				return a, false
			} else {
				i++
				if ifp = s.ifs.get(w.Slot(i), ifCreateIfDynamic); ifp == nil {
					s.l.report(parser.SevGeneral, "WARNING - interface %s for ip address %s doesn't exist", w.Slot(i), addrStr)
					return a, false
				}
				a.Dev = ifp.Name
			}
		case str == "scope":
			if !avail {
				missing = true
				break
			}
			i++
			if id, ok := s.rt.scope(w.Slot(i)); !ok {
				s.l.report(parser.SevGeneral, "Invalid scope '%s' specified for %s - ignoring", w.Slot(i), addrStr)
			} else {
				a.Scope, a.ScopeID = w.Slot(i), id
			}
		case str == "broadcast" || str == "brd":
			if !avail {
				missing = true
				break
			}
			if v6 {
				s.l.report(parser.SevGeneral, "VRRP is trying to assign a broadcast %s to the IPv6 address %s !!?? WTF... skipping VIP...", w.Slot(i), addrStr)
				return a, false
			}
			haveBroadcast = true
			i++
			switch p := w.Slot(i); p {
			case "-":
				brdLen = -2
			case "+":
				brdLen = -1
			default:
				b, ok := inetPton(false, p)
				if !ok {
					s.l.report(parser.SevGeneral, "VRRP is trying to assign invalid broadcast %s. skipping VIP...", p)
					return a, false
				}
				a.Broadcast = b.String()
			}
		case str == "label":
			if !avail {
				missing = true
				break
			}
			i++
			if len(w.Slot(i)) >= ifNameSize {
				s.l.report(parser.SevGeneral, "Address label %s is longer than maximum length %d - removing address", w.Slot(i), ifNameSize-1)
				return a, false
			}
			a.Label = w.Slot(i)
		case str == "peer":
			if !avail {
				missing = true
				break
			}
			i++
			if havePeer {
				s.l.report(parser.SevGeneral, "Peer %s - another peer has already been specified", w.Slot(i))
				continue
			}
			peer, ok := s.parseIPAddress(w.Slot(i), false)
			switch {
			case !ok:
				s.l.report(parser.SevGeneral, "Invalid peer address %s", w.Slot(i))
			case peer.Addr().Is6() != v6:
				s.l.report(parser.SevGeneral, "Peer address %s does not match address family", w.Slot(i))
			default:
				if a.Prefix.Bits() != a.Prefix.Addr().BitLen() {
					s.l.report(parser.SevGeneral, "Cannot specify address prefix when specifying peer address - ignoring")
				}
				havePeer = true
				a.Prefix = netip.PrefixFrom(a.Prefix.Addr(), peer.Bits())
				a.Peer = peer.Addr()
			}
		case str == "home":
			a.HomeAddr = true
		case str == "-nodad":
			a.DAD = true
		case str == "mngtmpaddr":
			a.MngTmpAddr = true
		case str == "noprefixroute":
			a.NoPrefixRoute = true
		case str == "autojoin":
			a.AutoJoin = true
		case str == "no_track":
			a.NoTrack = true
		case str == "preferred_lft":
			if !avail {
				missing = true
				break
			}
			i++
			if w.Slot(i) == "forever" {
				v := uint32(0xffffffff)
				a.PreferredLft, lftSet = &v, true
			} else if n, ok := s.l.readUnsigned(w.Slot(i), 0, 1<<32-1, true); ok {
				v := uint32(n)
				a.PreferredLft, lftSet = &v, true
			} else {
				s.l.report(parser.SevGeneral, "preferred_lft %s is invalid", w.Slot(i))
			}
		case static && str == "track_group":
			if !avail {
				missing = true
				break
			}
			i++
			if a.TrackGroup != "" {
				s.l.report(parser.SevGeneral, "track_group %s is a duplicate", w.Slot(i))
				goto end
			}
			if !s.haveTrackGroup(w.Slot(i)) {
				s.l.report(parser.SevGeneral, "track_group %s not found", w.Slot(i))
			} else {
				a.TrackGroup = w.Slot(i)
			}
		case !static && str == "use_vmac":
			a.UseVMAC = true
		default:
			s.l.report(parser.SevGeneral, "Unknown configuration entry '%s' for ip address - ignoring", str)
		}
		if missing {
			break
		}
	}
end:
	if missing {
		s.l.report(parser.SevGeneral, "No %s parameter specified for %s", str, addrStr)
		return a, false
	}
	if haveBroadcast && havePeer {
		s.l.report(parser.SevGeneral, "Cannot specify broadcast and peer addresses - ignoring broadcast address")
		a.Broadcast = ""
	} else if brdLen < 0 && a.Prefix.Bits() <= 30 {
		base := a.Prefix.Addr()
		if havePeer {
			base = a.Peer
		}
		b4 := base.As4()
		v := uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3])
		mask := uint32(0xffffffff) >> a.Prefix.Bits()
		if brdLen == -1 {
			v |= mask
		} else {
			v &^= mask
		}
		a.Broadcast = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	} else if brdLen < 0 {
		s.l.report(parser.SevGeneral, "Address prefix length %d too long for broadcast", a.Prefix.Bits())
	}
	if static && ifp == nil {
		def := s.defaultIf()
		if def == nil {
			s.l.report(parser.SevFatal, "Static address %s requires either an interface or default interface must exist", addrStr)
			return a, false
		}
		a.Dev = def.Name
		ifp = def
	}
	if v6 {
		if a.ScopeID != 0 {
			s.l.report(parser.SevGeneral, "Cannot specify scope for IPv6 addresses (%s) - ignoring scope", addrStr)
			a.Scope, a.ScopeID = "", 0
		}
		if a.Label != "" {
			s.l.report(parser.SevGeneral, "Cannot specify label for IPv6 addresses (%s) - ignoring label", addrStr)
			a.Label = ""
		}
		if !lftSet {
			v := uint32(0xffffffff)
			if a.Prefix.Bits() == 128 {
				v = 0
			}
			a.PreferredLft = &v
		}
	}
	if a.TrackGroup != "" && ifp == nil {
		s.l.report(parser.SevGeneral, "Static route cannot have track_group if interface not specified")
		a.TrackGroup = ""
	}
	return a, true
}

func (s *vrrpState) haveTrackGroup(name string) bool {
	for _, tg := range s.l.cfg.TrackGroups {
		if tg.Name == name {
			return true
		}
	}
	return false
}

// defaultIf is get_default_if: the default_interface, else eth0.
func (s *vrrpState) defaultIf() *ifEntry {
	name := s.l.cfg.Global.DefaultInterface
	if name == "" {
		name = "eth0"
	}
	return s.ifs.get(name, ifCreateIfDynamic)
}
