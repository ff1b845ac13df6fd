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
// static address: the address, its options, then keepalived's checks in
// its order.
func (s *vrrpState) allocIPAddress(w parser.Strvec, static bool, owner *VRRPInstance) (VirtualAddress, bool) {
	pfx, ok := s.parseIPAddress(w.Slot(0), true)
	if !ok {
		return VirtualAddress{}, false
	}
	o := &ipAddrOpts{s: s, w: w, static: static, addrStr: w.Slot(0), v6: pfx.Addr().Is6(),
		a: VirtualAddress{Pos: s.l.pos(), Prefix: pfx}}
	switch str, res := o.readOptions(); res {
	case optDrop:
		return o.a, false
	case optMissing:
		s.l.report(parser.SevGeneral, "No %s parameter specified for %s", str, o.addrStr)
		return o.a, false
	}
	o.setBroadcast()
	if !o.staticDefaultDev() {
		return o.a, false
	}
	o.ipv6Fixups()
	if o.a.TrackGroup != "" && o.ifp == nil {
		s.l.report(parser.SevGeneral, "Static route cannot have track_group if interface not specified")
		o.a.TrackGroup = ""
	}
	return o.a, true
}

// ipAddrOpts is what alloc_ipaddress keeps while it reads the options
// after the address.
type ipAddrOpts struct {
	s       *vrrpState
	w       parser.Strvec
	static  bool
	addrStr string // strvec_slot(strvec, addr_idx)
	v6      bool
	a       VirtualAddress
	ifp     *ifEntry
	// brdLen is brd_len: -1 for "broadcast +", -2 for "broadcast -".
	brdLen        int
	haveBroadcast bool
	havePeer      bool
	lftSet        bool // preferred_lft_set
}

// optResult is how one option of alloc_ipaddress's loop ends.
type optResult int

const (
	optNext    optResult = iota // read the next option
	optMissing                  // the option lacks its parameter: the address is dropped
	optStop                     // stop reading options, keep the address
	optDrop                     // drop the address (already reported)
)

// readOptions is alloc_ipaddress's option loop. It returns the last option
// read (for the "No %s parameter" message) and how the loop ended.
func (o *ipAddrOpts) readOptions() (string, optResult) {
	str := ""
	for i := 1; i < o.w.Len(); i++ {
		str = o.w.Slot(i)
		if !o.takesParam(str) {
			o.flag(str)
			continue
		}
		if o.w.Len() < i+2 {
			return str, optMissing
		}
		i++
		if res := o.param(str, o.w.Slot(i)); res != optNext {
			return str, res
		}
	}
	return str, optNext
}

// takesParam reports whether option str is followed by a value.
func (o *ipAddrOpts) takesParam(str string) bool {
	switch str {
	case "dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft":
		return true
	case "track_group":
		return o.static
	}
	return false
}

// param handles an option with its value p.
func (o *ipAddrOpts) param(str, p string) optResult {
	switch str {
	case "dev":
		return o.dev(p)
	case "scope":
		o.scope(p)
	case "broadcast", "brd":
		return o.broadcast(str, p)
	case "label":
		return o.label(p)
	case "peer":
		o.peer(p)
	case "preferred_lft":
		o.preferredLft(p)
	case "track_group":
		return o.trackGroup(p)
	}
	return optNext
}

// flag handles an option without a value.
func (o *ipAddrOpts) flag(str string) {
	switch {
	case str == "home":
		o.a.HomeAddr = true
	case str == "-nodad":
		o.a.DAD = true
	case str == "mngtmpaddr":
		o.a.MngTmpAddr = true
	case str == "noprefixroute":
		o.a.NoPrefixRoute = true
	case str == "autojoin":
		o.a.AutoJoin = true
	case str == "no_track":
		o.a.NoTrack = true
	case !o.static && str == "use_vmac":
		o.a.UseVMAC = true
	default:
		o.s.l.report(parser.SevGeneral, "Unknown configuration entry '%s' for ip address - ignoring", str)
	}
}

func (o *ipAddrOpts) dev(p string) optResult {
	if o.ifp != nil {
		o.s.l.report(parser.SevGeneral, "Cannot specify ipaddress device more than once for %s", o.addrStr)
		return optDrop
	}
	if o.ifp = o.s.ifs.get(p, ifCreateIfDynamic); o.ifp == nil {
		o.s.l.report(parser.SevGeneral, "WARNING - interface %s for ip address %s doesn't exist", p, o.addrStr)
		return optDrop
	}
	o.a.Dev = o.ifp.Name
	return optNext
}

func (o *ipAddrOpts) scope(p string) {
	if id, ok := o.s.rt.scope(p); !ok {
		o.s.l.report(parser.SevGeneral, "Invalid scope '%s' specified for %s - ignoring", p, o.addrStr)
	} else {
		o.a.Scope, o.a.ScopeID = p, id
	}
}

// broadcast reads "broadcast|brd ADDR|+|-"; its IPv6 message names the
// keyword, as keepalived's does.
func (o *ipAddrOpts) broadcast(str, p string) optResult {
	if o.v6 {
		o.s.l.report(parser.SevGeneral, "VRRP is trying to assign a broadcast %s to the IPv6 address %s !!?? WTF... skipping VIP...", str, o.addrStr)
		return optDrop
	}
	o.haveBroadcast = true
	switch p {
	case "-":
		o.brdLen = -2
	case "+":
		o.brdLen = -1
	default:
		b, ok := inetPton(false, p)
		if !ok {
			o.s.l.report(parser.SevGeneral, "VRRP is trying to assign invalid broadcast %s. skipping VIP...", p)
			return optDrop
		}
		o.a.Broadcast = b.String()
	}
	return optNext
}

func (o *ipAddrOpts) label(p string) optResult {
	if len(p) >= ifNameSize {
		o.s.l.report(parser.SevGeneral, "Address label %s is longer than maximum length %d - removing address", p, ifNameSize-1)
		return optDrop
	}
	o.a.Label = p
	return optNext
}

func (o *ipAddrOpts) peer(p string) {
	if o.havePeer {
		o.s.l.report(parser.SevGeneral, "Peer %s - another peer has already been specified", p)
		return
	}
	peer, ok := o.s.parseIPAddress(p, false)
	switch {
	case !ok:
		o.s.l.report(parser.SevGeneral, "Invalid peer address %s", p)
	case peer.Addr().Is6() != o.v6:
		o.s.l.report(parser.SevGeneral, "Peer address %s does not match address family", p)
	default:
		if o.a.Prefix.Bits() != o.a.Prefix.Addr().BitLen() {
			o.s.l.report(parser.SevGeneral, "Cannot specify address prefix when specifying peer address - ignoring")
		}
		o.havePeer = true
		o.a.Prefix = netip.PrefixFrom(o.a.Prefix.Addr(), peer.Bits())
		o.a.Peer = peer.Addr()
	}
}

func (o *ipAddrOpts) preferredLft(p string) {
	if p == "forever" {
		v := uint32(0xffffffff)
		o.a.PreferredLft, o.lftSet = &v, true
	} else if n, ok := o.s.l.readUnsigned(p, 0, 1<<32-1, true); ok {
		v := uint32(n)
		o.a.PreferredLft, o.lftSet = &v, true
	} else {
		o.s.l.report(parser.SevGeneral, "preferred_lft %s is invalid", p)
	}
}

// trackGroup is the static-address track_group option: a duplicate ends
// the option loop (keepalived's break) but keeps the address.
func (o *ipAddrOpts) trackGroup(p string) optResult {
	if o.a.TrackGroup != "" {
		o.s.l.report(parser.SevGeneral, "track_group %s is a duplicate", p)
		return optStop
	}
	if !o.s.haveTrackGroup(p) {
		o.s.l.report(parser.SevGeneral, "track_group %s not found", p)
	} else {
		o.a.TrackGroup = p
	}
	return optNext
}

// setBroadcast is "Set the broadcast address if necessary": a peer
// cancels a broadcast; "+" and "-" derive it from the prefix.
func (o *ipAddrOpts) setBroadcast() {
	a := &o.a
	if o.haveBroadcast && o.havePeer {
		o.s.l.report(parser.SevGeneral, "Cannot specify broadcast and peer addresses - ignoring broadcast address")
		a.Broadcast = ""
	} else if o.brdLen < 0 && a.Prefix.Bits() <= 30 {
		base := a.Prefix.Addr()
		if o.havePeer {
			base = a.Peer
		}
		b4 := base.As4()
		v := uint32(b4[0])<<24 | uint32(b4[1])<<16 | uint32(b4[2])<<8 | uint32(b4[3])
		mask := uint32(0xffffffff) >> a.Prefix.Bits()
		if o.brdLen == -1 {
			v |= mask
		} else {
			v &^= mask
		}
		a.Broadcast = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	} else if o.brdLen < 0 {
		o.s.l.report(parser.SevGeneral, "Address prefix length %d too long for broadcast", a.Prefix.Bits())
	}
}

// staticDefaultDev gives a static address without dev the default
// interface; false (reported, fatal) when there is none.
func (o *ipAddrOpts) staticDefaultDev() bool {
	if !o.static || o.ifp != nil {
		return true
	}
	def := o.s.defaultIf()
	if def == nil {
		o.s.l.report(parser.SevFatal, "Static address %s requires either an interface or default interface must exist", o.addrStr)
		return false
	}
	o.a.Dev = def.Name
	o.ifp = def
	return true
}

// ipv6Fixups drops what an IPv6 address cannot have (scope, label) and
// sets keepalived's old preferred_lft default when none was given.
func (o *ipAddrOpts) ipv6Fixups() {
	if !o.v6 {
		return
	}
	a := &o.a
	if a.ScopeID != 0 {
		o.s.l.report(parser.SevGeneral, "Cannot specify scope for IPv6 addresses (%s) - ignoring scope", o.addrStr)
		a.Scope, a.ScopeID = "", 0
	}
	if a.Label != "" {
		o.s.l.report(parser.SevGeneral, "Cannot specify label for IPv6 addresses (%s) - ignoring label", o.addrStr)
		a.Label = ""
	}
	if !o.lftSet {
		v := uint32(0xffffffff)
		if a.Prefix.Bits() == 128 {
			v = 0
		}
		a.PreferredLft = &v
	}
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
	ifp := s.ifs.get(name, ifCreateIfDynamic)
	if ifp != nil {
		s.l.cfg.Global.DefaultInterfaceResolved = true
	}
	return ifp
}
