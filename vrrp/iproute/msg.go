// Package iproute installs keepalived's virtual and static routes and rules
// over rtnetlink, byte for byte as keepalived 2.2.7's netlink_route and
// netlink_rule (vrrp/vrrp_iproute.c, vrrp/vrrp_iprule.c) build them, and
// recognises the kernel's route and rule notifications the way its
// netlink_route_filter and netlink_rule_filter (core/keepalived_netlink.c)
// do, so that a tracked route or rule deleted under keepalived is noticed.
//
// The messages are built by hand: vishvananda/netlink cannot express
// keepalived's "prepend" (NLM_F_CREATE alone), metric locks, or the
// encapsulations and size limits keepalived has.
package iproute

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
	"keepalived-go/config"
)

// Cmd is keepalived's IPROUTE_DEL / IPROUTE_ADD / IPROUTE_REPLACE (and
// IPRULE_DEL / IPRULE_ADD).
type Cmd int

const (
	Del Cmd = iota
	Add
	Replace
)

func (c Cmd) String() string {
	return [...]string{"delete", "add", "replace"}[c]
}

// Message is one rtnetlink request: header type and flags (NLM_F_ACK is
// added when it is sent, as netlink_talk does) and the body after the
// netlink header.
type Message struct {
	Type  uint16
	Flags uint16
	Data  []byte
}

// Ifindex gives an interface's index (keepalived's ifp->ifindex; 0 when the
// interface does not exist now).
type Ifindex func(name string) uint32

// lwtunnel attribute ids (linux/lwtunnel.h, linux/ila.h).
const (
	lwtIPID    = 1
	lwtIPDst   = 2
	lwtIPSrc   = 3
	lwtIPTTL   = 4 // LWTUNNEL_IP_TTL, LWTUNNEL_IP6_HOPLIMIT
	lwtIPTOS   = 5 // LWTUNNEL_IP_TOS, LWTUNNEL_IP6_TC
	lwtIPFlags = 6
	ilaLocator = 1
)

// Buffer sizes of keepalived's that limit what it sends: the
// encapsulation and multipath attributes are dropped, silently, when the
// message would pass 128 bytes with them (ENCAP_RTA_SIZE used as the
// message's maximum), and a nexthop's own encapsulation never fits.
const (
	encapRTASize = 128
	nlmsgHdrLen  = 16
)

// rtaBuf is an rtattr container being filled (keepalived's rta_addattr_l
// on a buffer of max bytes): attributes that do not fit are not added.
type rtaBuf struct {
	b   []byte // the container, its 4-byte header included
	max int
}

func newRTA(typ uint16, max int) *rtaBuf {
	r := &rtaBuf{b: make([]byte, 4, 64), max: max}
	binary.NativeEndian.PutUint16(r.b[2:], typ)
	r.setLen()
	return r
}

func (r *rtaBuf) setLen() { binary.NativeEndian.PutUint16(r.b, uint16(len(r.b))) }

func align4(n int) int { return (n + 3) &^ 3 }

// add is rta_addattr_l: the bytes added (0 when it did not fit).
func (r *rtaBuf) add(typ uint16, data ...[]byte) int {
	n := 4
	for _, d := range data {
		n += len(d)
	}
	if len(r.b)+align4(n) > r.max {
		return 0
	}
	r.b = appendAttr(r.b, typ, data...)
	r.setLen()
	return align4(n)
}

func (r *rtaBuf) u8(typ uint16, v uint8) int   { return r.add(typ, []byte{v}) }
func (r *rtaBuf) u16(typ uint16, v uint16) int { return r.add(typ, ne16(v)) }
func (r *rtaBuf) u32(typ uint16, v uint32) int { return r.add(typ, ne32(v)) }
func (r *rtaBuf) u64(typ uint16, v []byte) int { return r.add(typ, v) }

func (r *rtaBuf) payload() []byte { return r.b[4:] }

// appendAttr appends one attribute, padded to 4 bytes.
func appendAttr(b []byte, typ uint16, data ...[]byte) []byte {
	n := 4
	for _, d := range data {
		n += len(d)
	}
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(n))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	for _, d := range data {
		b = append(b, d...)
	}
	for i := n; i < align4(n); i++ {
		b = append(b, 0)
	}
	return b
}

func ne16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// addrBytes is an address as add_addr2req puts it: 4 or 16 bytes.
func addrBytes(a netip.Addr) []byte { return a.AsSlice() }

// msgBuf is a request being built (keepalived's addattr_l on req.n with
// its size limit).
type msgBuf struct {
	b []byte // the body after the netlink header
}

func (m *msgBuf) total() int { return nlmsgHdrLen + len(m.b) }

// add is addattr_l with maxlen (the whole message's limit).
func (m *msgBuf) add(max int, typ uint16, data ...[]byte) {
	n := 4
	for _, d := range data {
		n += len(d)
	}
	if m.total()+align4(n) > max {
		return
	}
	m.b = appendAttr(m.b, typ, data...)
}

// raw is addraw_l.
func (m *msgBuf) raw(max int, data []byte) {
	if m.total()+align4(len(data)) > max {
		return
	}
	m.b = append(m.b, data...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

// reqSize is the size of keepalived's request buffers (struct nlmsghdr +
// header + char buf[1024]): nothing we send comes near it.
const reqSize = 16 + 12 + 1024

// addEncap is add_encap on a container: the RTA_ENCAP nest, then
// RTA_ENCAP_TYPE.
func addEncap(rta *rtaBuf, e *config.Encap) {
	start := len(rta.b)
	if rta.add(unix.RTA_ENCAP) == 0 {
		// keepalived still ends the (absent) nest and tries the type: with
		// no room for the nest there is none for the rest.
		return
	}
	switch e.Type {
	case config.EncapMPLS:
		var lab []byte
		for i, l := range e.Labels {
			entry := l << 12
			if i == len(e.Labels)-1 {
				entry |= 1 << 8
			}
			lab = binary.BigEndian.AppendUint32(lab, entry)
		}
		rta.add(unix.MPLS_IPTUNNEL_DST, lab)
	case config.EncapIP, config.EncapIP6:
		if e.Has&config.EncapHasID != 0 {
			rta.u64(lwtIPID, be64(e.ID))
		}
		if e.Dst.IsValid() {
			rta.add(lwtIPDst, addrBytes(e.Dst))
		}
		if e.Src.IsValid() {
			rta.add(lwtIPSrc, addrBytes(e.Src))
		}
		if e.Has&config.EncapHasDSField != 0 {
			rta.u8(lwtIPTOS, e.TOS)
		}
		if e.Has&config.EncapHasHoplimit != 0 {
			rta.u8(lwtIPTTL, e.TTL)
		}
		if e.Has&config.EncapHasFlags != 0 {
			rta.u16(lwtIPFlags, e.Flags)
		}
	case config.EncapILA:
		rta.u64(ilaLocator, be64(e.Locator))
	}
	// rta_nest_end
	binary.NativeEndian.PutUint16(rta.b[start:], uint16(len(rta.b)-start))
	rta.u16(unix.RTA_ENCAP_TYPE, uint16(e.Type))
}

// RouteMessage is netlink_route's request for r.
func RouteMessage(r *config.Route, cmd Cmd, ifindex Ifindex) Message {
	msg := Message{Type: unix.RTM_NEWROUTE, Flags: unix.NLM_F_REQUEST | unix.NLM_F_CREATE}
	switch {
	case cmd == Del:
		msg.Type, msg.Flags = unix.RTM_DELROUTE, unix.NLM_F_REQUEST
	case cmd == Replace:
		msg.Flags |= unix.NLM_F_REPLACE
	case r.Has&config.RouteAdd != 0:
		msg.Flags |= unix.NLM_F_EXCL
	case r.Has&config.RouteAppend != 0:
		msg.Flags |= unix.NLM_F_APPEND
	}
	hdr := make([]byte, unix.SizeofRtMsg)
	m := &msgBuf{b: hdr}
	hdr[0] = uint8(r.Family)
	if r.Table < 256 {
		hdr[4] = uint8(r.Table)
	} else {
		hdr[4] = unix.RT_TABLE_UNSPEC
		m.add(reqSize, unix.RTA_TABLE, ne32(r.Table))
	}
	scope, typ := uint8(unix.RT_SCOPE_UNIVERSE), r.Type
	if cmd == Del {
		scope = unix.RT_SCOPE_NOWHERE
		if r.Has&config.RouteType == 0 {
			typ = unix.RTN_UNSPEC
		}
	}
	proto := config.RTProtKeepalived
	if r.Has&config.RouteProtocol != 0 {
		proto = r.Protocol
	}
	if r.Has&config.RouteScope != 0 {
		scope = r.Scope
	}
	m.b[1] = uint8(r.Dst.Bits())
	m.add(reqSize, unix.RTA_DST, addrBytes(r.Dst.Addr()))
	if r.Src.IsValid() {
		m.b[2] = uint8(r.Src.Bits())
		m.add(reqSize, unix.RTA_SRC, addrBytes(r.Src.Addr()))
	}
	if r.PrefSrc.IsValid() {
		m.add(reqSize, unix.RTA_PREFSRC, addrBytes(r.PrefSrc))
	}
	if r.Via.IsValid() {
		if familyOf(r.Via) == r.Family {
			m.add(reqSize, unix.RTA_GATEWAY, addrBytes(r.Via))
		} else {
			m.add(reqSize, unix.RTA_VIA, ne16(uint16(familyOf(r.Via))), addrBytes(r.Via))
		}
	}
	if r.Encap.Type != config.EncapNone {
		rta := newRTA(unix.RTA_ENCAP, encapRTASize)
		addEncap(rta, &r.Encap)
		m.raw(encapRTASize, rta.payload())
	}
	if r.Has&config.RouteDSField != 0 {
		m.b[3] = r.TOS
	}
	if r.Dev != "" {
		m.add(reqSize, unix.RTA_OIF, ne32(ifindex(r.Dev)))
	}
	if r.Has&config.RouteMetric != 0 {
		m.add(reqSize, unix.RTA_PRIORITY, ne32(r.Metric))
	}
	binary.NativeEndian.PutUint32(m.b[8:], r.Flags)
	if r.Realms != 0 {
		m.add(reqSize, unix.RTA_FLOW, ne32(r.Realms))
	}
	if r.Has&config.RouteExpires != 0 {
		m.add(reqSize, unix.RTA_EXPIRES, ne32(r.Expires))
	}
	m.b[5], m.b[6], m.b[7] = proto, scope, typ
	addMetrics(m, r)
	if len(r.Nexthops) > 0 {
		addNexthops(m, r, ifindex)
	}
	msg.Data = m.b
	return msg
}

// addMetrics adds RTA_PREF, RTA_TTL_PROPAGATE and RTA_METRICS in
// netlink_route's order.
func addMetrics(m *msgBuf, r *config.Route) {
	rta := newRTA(unix.RTA_METRICS, 1024)
	if r.CongCtl != "" {
		rta.add(unix.RTAX_CC_ALGO, []byte(r.CongCtl))
	}
	type metric struct {
		has  config.RouteOpt
		rtax uint16
		v    uint32
	}
	for _, x := range []metric{
		{config.RouteRTT, unix.RTAX_RTT, r.RTT}, {config.RouteRTTVar, unix.RTAX_RTTVAR, r.RTTVar},
		{config.RouteRTOMin, unix.RTAX_RTO_MIN, r.RTOMin},
	} {
		if r.Has&x.has != 0 {
			rta.u32(x.rtax, x.v)
		}
	}
	if r.Features != 0 {
		rta.u32(unix.RTAX_FEATURES, r.Features)
	}
	for _, x := range []metric{
		{config.RouteMTU, unix.RTAX_MTU, r.MTU}, {config.RouteWindow, unix.RTAX_WINDOW, r.Window},
		{config.RouteSSThresh, unix.RTAX_SSTHRESH, r.SSThresh}, {config.RouteCwnd, unix.RTAX_CWND, r.Cwnd},
		{config.RouteAdvMSS, unix.RTAX_ADVMSS, r.AdvMSS}, {config.RouteReordering, unix.RTAX_REORDERING, r.Reordering},
		{config.RouteHoplimit, unix.RTAX_HOPLIMIT, uint32(r.Hoplimit)},
		{config.RouteInitCwnd, unix.RTAX_INITCWND, r.InitCwnd}, {config.RouteInitRwnd, unix.RTAX_INITRWND, r.InitRwnd},
		{config.RouteQuickAck, unix.RTAX_QUICKACK, b2u(r.QuickAck)},
	} {
		if r.Has&x.has != 0 {
			rta.u32(x.rtax, x.v)
		}
	}
	if r.Has&config.RoutePref != 0 {
		m.add(reqSize, unix.RTA_PREF, []byte{r.Pref})
	}
	if r.Has&config.RouteFastOpenNoCookie != 0 {
		rta.u32(unix.RTAX_FASTOPEN_NO_COOKIE, b2u(r.FastOpenNoCookie))
	}
	if r.Has&config.RouteTTLPropagate != 0 {
		m.add(reqSize, unix.RTA_TTL_PROPAGATE, []byte{uint8(b2u(r.TTLPropagate))})
	}
	if len(rta.b) > 4 {
		if r.Lock != 0 {
			rta.u32(unix.RTAX_LOCK, r.Lock)
		}
		m.add(reqSize, unix.RTA_METRICS, rta.payload())
	}
}

// addNexthops is add_nexthops: RTA_MULTIPATH, built in a 128-byte buffer
// and dropped when the message would pass 128 bytes with it.
func addNexthops(m *msgBuf, r *config.Route, ifindex Ifindex) {
	rta := newRTA(unix.RTA_MULTIPATH, encapRTASize)
	for i := range r.Nexthops {
		nh := &r.Nexthops[i]
		at := len(rta.b)
		rta.b = append(rta.b, make([]byte, unix.SizeofRtNexthop)...)
		rtnhLen := unix.SizeofRtNexthop
		if nh.Addr.IsValid() {
			if familyOf(nh.Addr) == r.Family {
				rtnhLen += rta.add(unix.RTA_GATEWAY, addrBytes(nh.Addr))
			} else {
				rtnhLen += rta.add(unix.RTA_VIA, ne16(uint16(familyOf(nh.Addr))), addrBytes(nh.Addr))
			}
		}
		var idx uint32
		if nh.Dev != "" {
			idx = ifindex(nh.Dev)
		}
		if nh.HasWeight {
			rta.b[at+3] = nh.Weight
		}
		rta.b[at+2] = nh.Flags
		if nh.Realms != 0 {
			rtnhLen += rta.u32(unix.RTA_FLOW, nh.Realms)
		}
		// A nexthop's encapsulation is given keepalived's current length as
		// its buffer size: none of it is ever added.
		binary.NativeEndian.PutUint16(rta.b[at:], uint16(rtnhLen))
		binary.NativeEndian.PutUint32(rta.b[at+4:], idx)
		rta.setLen()
	}
	if len(rta.b) > 4 {
		m.add(encapRTASize, unix.RTA_MULTIPATH, rta.payload())
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func familyOf(a netip.Addr) config.AddrFamily {
	if a.Is6() {
		return config.FamilyInet6
	}
	return config.FamilyInet
}

// RuleMessage is netlink_rule's request for r.
func RuleMessage(r *config.Rule, cmd Cmd) Message {
	msg := Message{Type: unix.RTM_NEWRULE, Flags: unix.NLM_F_REQUEST | unix.NLM_F_CREATE | unix.NLM_F_EXCL}
	if cmd == Del {
		msg.Type, msg.Flags = unix.RTM_DELRULE, unix.NLM_F_REQUEST
	}
	m := &msgBuf{b: make([]byte, 12)} // struct fib_rule_hdr
	m.b[0] = uint8(r.Family)
	m.b[3] = r.TOS
	if r.Action == config.FRActToTable && !r.L3MDev {
		if r.Table < 256 {
			if r.Table != 0 {
				m.b[4] = uint8(r.Table)
			} else {
				m.b[4] = unix.RT_TABLE_MAIN
			}
		} else {
			m.add(reqSize, unix.FRA_TABLE, ne32(r.Table))
		}
	}
	var flags uint32
	if r.Invert {
		flags |= unix.FIB_RULE_INVERT
	}
	binary.NativeEndian.PutUint32(m.b[8:], flags)
	if r.From.IsValid() {
		m.add(reqSize, unix.FRA_SRC, addrBytes(r.From.Addr()))
		m.b[2] = uint8(r.From.Bits())
	}
	if r.To.IsValid() {
		m.add(reqSize, unix.FRA_DST, addrBytes(r.To.Addr()))
		m.b[1] = uint8(r.To.Bits())
	}
	if r.Has&config.RuleHasPriority != 0 {
		m.add(reqSize, unix.FRA_PRIORITY, ne32(r.Priority))
	}
	if r.Has&config.RuleHasFwmark != 0 {
		m.add(reqSize, unix.FRA_FWMARK, ne32(r.Fwmark))
	}
	if r.Has&config.RuleHasFwmask != 0 {
		m.add(reqSize, unix.FRA_FWMASK, ne32(r.Fwmask))
	}
	if r.Realms != 0 {
		m.add(reqSize, unix.FRA_FLOW, ne32(r.Realms))
	}
	if r.SuppressPrefixLen != -1 {
		m.add(reqSize, unix.FRA_SUPPRESS_PREFIXLEN, ne32(uint32(r.SuppressPrefixLen)))
	}
	if r.Has&config.RuleHasSupGroup != 0 {
		m.add(reqSize, unix.FRA_SUPPRESS_IFGROUP, ne32(r.SuppressGroup))
	}
	if r.IIf != "" {
		m.add(reqSize, unix.FRA_IIFNAME, append([]byte(r.IIf), 0))
	}
	if r.OIf != "" {
		m.add(reqSize, unix.FRA_OIFNAME, append([]byte(r.OIf), 0))
	}
	if r.TunnelID != 0 {
		m.add(reqSize, unix.FRA_TUN_ID, be64(r.TunnelID))
	}
	if r.Has&config.RuleHasUIDRange != 0 {
		m.add(reqSize, unix.FRA_UID_RANGE, ne32(r.UIDStart), ne32(r.UIDEnd))
	}
	if r.L3MDev {
		m.add(reqSize, unix.FRA_L3MDEV, []byte{1})
	}
	if r.Has&config.RuleHasProtocol != 0 {
		m.add(reqSize, unix.FRA_PROTOCOL, []byte{r.Protocol})
	}
	if r.Has&config.RuleHasIPProto != 0 {
		m.add(reqSize, unix.FRA_IP_PROTO, []byte{r.IPProto})
	}
	if r.Has&config.RuleHasSPortRange != 0 {
		m.add(reqSize, unix.FRA_SPORT_RANGE, ne16(r.SPortStart), ne16(r.SPortEnd))
	}
	if r.Has&config.RuleHasDPortRange != 0 {
		m.add(reqSize, unix.FRA_DPORT_RANGE, ne16(r.DPortStart), ne16(r.DPortEnd))
	}
	if r.Action == config.FRActGoto {
		m.add(reqSize, unix.FRA_GOTO, ne32(r.Goto))
	}
	m.b[7] = r.Action
	msg.Data = m.b
	return msg
}
