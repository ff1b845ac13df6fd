package config

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// The model of virtual_routes / static_routes and virtual_rules /
// static_rules entries: keepalived 2.2.7's ip_route_t, nexthop_t, encap_t
// and ip_rule_t (vrrp_iproute.h, vrrp_iprule.h), field for field, with its
// "which options were given" masks. The vrrp I/O shell (vrrp/iproute) turns
// them into the netlink messages keepalived's netlink_route and
// netlink_rule build.

// AddrFamily is an address family as keepalived keeps it.
type AddrFamily uint8

const (
	FamilyUnspec AddrFamily = 0
	FamilyInet   AddrFamily = 2  // AF_INET
	FamilyInet6  AddrFamily = 10 // AF_INET6
)

func (f AddrFamily) String() string {
	switch f {
	case FamilyInet:
		return "inet"
	case FamilyInet6:
		return "inet6"
	}
	return "unspec"
}

func familyOfAddr(a netip.Addr) AddrFamily {
	if a.Is6() {
		return FamilyInet6
	}
	return FamilyInet
}

// RouteOpt is keepalived's IPROUTE_BIT_* mask: which options a route gave.
type RouteOpt uint32

const (
	RouteDSField RouteOpt = 1 << iota
	RouteType
	RouteProtocol
	RouteScope
	RouteMetric
	RouteWeight // nexthops only
	RouteExpires
	RouteMTU
	RouteHoplimit
	RouteAdvMSS
	RouteRTT
	RouteRTTVar
	RouteReordering
	RouteWindow
	RouteCwnd
	RouteSSThresh
	RouteRTOMin
	RouteInitCwnd
	RouteInitRwnd
	RouteQuickAck
	RoutePref
	RouteFastOpenNoCookie
	RouteTTLPropagate
	RouteAdd    // "add": NLM_F_EXCL
	RouteAppend // "append": NLM_F_APPEND (neither: keepalived's "prepend")
)

// RTAX_* metric ids: a route's Lock holds 1<<RTAX_x for each locked metric.
const (
	RTAXLock             = 1
	RTAXMTU              = 2
	RTAXWindow           = 3
	RTAXRTT              = 4
	RTAXRTTVar           = 5
	RTAXSSThresh         = 6
	RTAXCwnd             = 7
	RTAXAdvMSS           = 8
	RTAXReordering       = 9
	RTAXHoplimit         = 10
	RTAXInitCwnd         = 11
	RTAXFeatures         = 12
	RTAXRTOMin           = 13
	RTAXInitRwnd         = 14
	RTAXQuickAck         = 15
	RTAXCCAlgo           = 16
	RTAXFastOpenNoCookie = 17
)

// RTAXFeatureECN is the "features ecn" bit.
const RTAXFeatureECN = 1

// RTNHFOnlink is RTNH_F_ONLINK ("onlink").
const RTNHFOnlink = 4

// ICMPv6 router preferences ("pref low|medium|high").
const (
	PrefMedium uint8 = 0
	PrefHigh   uint8 = 1
	PrefLow    uint8 = 3
)

// EncapType is a lightweight tunnel type (LWTUNNEL_ENCAP_*).
type EncapType uint16

const (
	EncapNone EncapType = 0
	EncapMPLS EncapType = 1
	EncapIP   EncapType = 2
	EncapILA  EncapType = 3
	EncapIP6  EncapType = 4
)

// EncapOpt is keepalived's IPROUTE_BIT_ENCAP_* mask.
type EncapOpt uint32

const (
	EncapHasID       EncapOpt = 1 << 0
	EncapHasDSField  EncapOpt = 1 << 1 // ip tos / ip6 tc
	EncapHasHoplimit EncapOpt = 1 << 2 // ip ttl / ip6 hoplimit
	EncapHasFlags    EncapOpt = 1 << 3
)

// Encap is a route's or nexthop's "encap" (encap_t).
type Encap struct {
	Type EncapType
	Has  EncapOpt
	// Labels is the MPLS label stack (at most 2); empty when the labels
	// were invalid (keepalived then still sends the encapsulation).
	Labels []uint32
	ID     uint64
	Dst    netip.Addr
	Src    netip.Addr
	TOS    uint8 // ip tos, ip6 tc
	TTL    uint8 // ip ttl, ip6 hoplimit
	Flags  uint16
	// Locator is the ILA locator, its four 16-bit groups high to low.
	Locator uint64
}

// Nexthop is one "nexthop" of a multipath route (nexthop_t).
type Nexthop struct {
	Addr netip.Addr // via ("" none)
	Dev  string
	// Weight is what the kernel gets (rtnh_hops): the weight written less
	// one; valid when HasWeight.
	Weight    uint8
	HasWeight bool
	Flags     uint8 // RTNH_F_ONLINK
	Realms    uint32
	Encap     Encap
}

// Route is one virtual_routes / static_routes entry (ip_route_t).
type Route struct {
	Pos Pos
	// Words is the line as written, for messages.
	Words  []string `dump:"-"`
	Has    RouteOpt
	Family AddrFamily
	// Dst is the destination; "default" is the zero address with length 0.
	Dst netip.Prefix
	// Src is "from" (IPv6 source routing); invalid when not given.
	Src netip.Prefix
	// PrefSrc is "src" (the preferred source address).
	PrefSrc netip.Addr
	// Via is the gateway; of another family than the route it is sent as
	// RTA_VIA.
	Via      netip.Addr
	Dev      string // oif
	Table    uint32
	Protocol uint8
	Scope    uint8
	Type     uint8
	TOS      uint8
	Metric   uint32
	Flags    uint32 // RTNH_F_ONLINK
	Features uint32
	// Lock has 1<<RTAX_x set for each "lock"ed metric.
	Lock             uint32
	MTU              uint32
	Hoplimit         uint8
	AdvMSS           uint32
	RTT              uint32 // 1/8 ms
	RTTVar           uint32 // 1/4 ms
	Reordering       uint32
	Window           uint32
	Cwnd             uint32
	SSThresh         uint32
	RTOMin           uint32 // ms
	InitCwnd         uint32
	InitRwnd         uint32
	QuickAck         bool
	CongCtl          string
	Pref             uint8
	FastOpenNoCookie bool
	TTLPropagate     bool
	Expires          uint32
	Realms           uint32
	Encap            Encap
	Nexthops         []Nexthop
	// NoTrack is keepalived's dont_track: no_track given, or a route with no
	// interface, which keepalived cannot track.
	NoTrack    bool
	TrackGroup string // static routes only
	VRF        string // the VRF whose table was taken ("vrf NAME")
}

// RuleOpt is keepalived's IPRULE_BIT_* mask.
type RuleOpt uint32

const (
	RuleHasPriority   RuleOpt = 0x01
	RuleHasFwmark     RuleOpt = 0x02
	RuleHasFwmask     RuleOpt = 0x04
	RuleHasSupGroup   RuleOpt = 0x08
	RuleHasUIDRange   RuleOpt = 0x10
	RuleHasProtocol   RuleOpt = 0x20
	RuleHasIPProto    RuleOpt = 0x40
	RuleHasSPortRange RuleOpt = 0x80
	RuleHasDPortRange RuleOpt = 0x100
)

// Rule is one virtual_rules / static_rules entry (ip_rule_t).
type Rule struct {
	Pos    Pos
	Words  []string `dump:"-"`
	Has    RuleOpt
	Invert bool
	Family AddrFamily
	// From and To are invalid when not given; "all" is the zero address
	// with length 0 (keepalived still sends it).
	From, To          netip.Prefix
	Priority          uint32
	TOS               uint8
	Fwmark, Fwmask    uint32
	Realms            uint32
	SuppressPrefixLen int32 // -1: none
	SuppressGroup     uint32
	IIf, OIf          string
	Goto              uint32
	Table             uint32
	Action            uint8 // FR_ACT_*
	TunnelID          uint64
	UIDStart, UIDEnd  uint32
	L3MDev            bool
	Protocol          uint8
	IPProto           uint8
	SPortStart        uint16
	SPortEnd          uint16
	DPortStart        uint16
	DPortEnd          uint16
	NoTrack           bool
	TrackGroup        string
}

// addrString is keepalived's ipaddresstos: the address, with "/len" when
// the length is not the full one.
func addrString(p netip.Prefix) string {
	if p.Bits() != p.Addr().BitLen() {
		return fmt.Sprintf("%s/%d", p.Addr(), p.Bits())
	}
	return p.Addr().String()
}

func hostString(a netip.Addr) string { return a.String() }

// String is keepalived's format_iproute (what its data dump prints), up to
// the installed-interface note only the running daemon knows.
func (r *Route) String() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	switch {
	case r.Has&RouteAdd != 0:
		w("add ")
	case r.Has&RouteAppend != 0:
		w("append ")
	default:
		w("prepend ")
	}
	if r.Type != RTNUnicast {
		w("%s ", RTNTypeName(r.Type))
	}
	w("%s", addrString(r.Dst))
	if r.Src.IsValid() {
		w(" from %s", addrString(r.Src))
	}
	if r.PrefSrc.IsValid() {
		w(" src %s", hostString(r.PrefSrc))
	}
	if r.Has&RouteDSField != 0 {
		w(" tos %d", r.TOS)
	}
	if r.Encap.Type != EncapNone {
		b.WriteString(r.Encap.String())
	}
	if r.Via.IsValid() {
		w(" via %s %s", familyOfAddr(r.Via), hostString(r.Via))
	}
	if r.Dev != "" {
		w(" dev %s", r.Dev)
	}
	if r.Table != RTTableMain {
		w(" table %d", r.Table)
	}
	if r.Has&RouteProtocol != 0 {
		w(" proto %d", r.Protocol)
	}
	if r.Has&RouteScope != 0 {
		w(" scope %d", r.Scope)
	}
	if r.Has&RouteMetric != 0 {
		w(" metric %d", r.Metric)
	}
	if r.Family == FamilyInet && r.Flags&RTNHFOnlink != 0 {
		w(" onlink")
	}
	if r.Realms != 0 {
		writeRealms(&b, r.Realms, r.Realms)
	}
	r.formatMetrics(&b)
	for _, nh := range r.Nexthops {
		w(" nexthop")
		if nh.Addr.IsValid() {
			v6 := ""
			if nh.Addr.Is6() {
				v6 = "6"
			}
			w(" via inet%s %s", v6, hostString(nh.Addr))
		}
		if nh.Dev != "" {
			w(" dev %s", nh.Dev)
		}
		if nh.HasWeight {
			w(" weight %d", int(nh.Weight)+1)
		}
		if nh.Flags&RTNHFOnlink != 0 {
			w(" onlink")
		}
		if nh.Realms != 0 {
			// keepalived tests the route's realms for the "realms" form.
			writeRealms(&b, r.Realms, nh.Realms)
		}
		if nh.Encap.Type != EncapNone {
			b.WriteString(nh.Encap.String())
		}
	}
	if r.NoTrack {
		w(" no_track")
	}
	if r.TrackGroup != "" {
		w(" track_group %s", r.TrackGroup)
	}
	return b.String()
}

func writeRealms(b *strings.Builder, test, realms uint32) {
	if test&0xFFFF0000 != 0 {
		fmt.Fprintf(b, " realms %d/", realms>>16)
	} else {
		b.WriteString(" realm ")
	}
	fmt.Fprintf(b, "%d", realms&0xFFFF)
}

// gFloat is C's %g (six significant digits).
func gFloat(v float64) string { return fmt.Sprintf("%.6g", v) }

func (r *Route) formatMetrics(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	lock := func(rtax int, s string) string {
		if r.Lock&(1<<rtax) != 0 {
			return s
		}
		return ""
	}
	if r.Has&RouteExpires != 0 {
		w(" expires %dsec", r.Expires)
	}
	if r.CongCtl != "" {
		w(" congctl %s%s", r.CongCtl, lock(RTAXCCAlgo, "lock "))
	}
	if r.Has&RouteRTT != 0 {
		w(" rtt%s ", lock(RTAXRTT, " lock"))
		if r.RTT >= 8000 {
			w("%ss", gFloat(float64(r.RTT)/8000))
		} else {
			w("%sms", gFloat(float64(r.RTT)/8))
		}
	}
	if r.Has&RouteRTTVar != 0 {
		w(" rttvar%s ", lock(RTAXRTTVar, " lock"))
		if r.RTTVar >= 4000 {
			w("%ss", gFloat(float64(r.RTTVar)/4000))
		} else {
			w("%sms", gFloat(float64(r.RTTVar)/4))
		}
	}
	if r.Has&RouteRTOMin != 0 {
		w(" rto_min%s ", lock(RTAXRTOMin, " lock"))
		if r.RTOMin >= 1000 {
			w("%ss", gFloat(float64(r.RTOMin)/1000))
		} else {
			w("%dms", r.RTOMin)
		}
	}
	if r.Features&RTAXFeatureECN != 0 {
		w(" features ecn")
	}
	if r.Has&RouteMTU != 0 {
		w(" mtu %s%d", lock(RTAXMTU, "lock "), r.MTU)
	}
	if r.Has&RouteWindow != 0 {
		w(" window %d", r.Window)
	}
	for _, m := range []struct {
		has  RouteOpt
		name string
		rtax int
		v    uint32
	}{
		{RouteSSThresh, "ssthresh", RTAXSSThresh, r.SSThresh}, {RouteCwnd, "cwnd", RTAXCwnd, r.Cwnd},
		{RouteAdvMSS, "advmss", RTAXAdvMSS, r.AdvMSS}, {RouteReordering, "reordering", RTAXReordering, r.Reordering},
	} {
		if r.Has&m.has != 0 {
			w(" %s %s%d", m.name, lock(m.rtax, "lock "), m.v)
		}
	}
	if r.Has&RouteHoplimit != 0 {
		w(" hoplimit %d", r.Hoplimit)
	}
	if r.Has&RouteInitCwnd != 0 {
		w(" initcwnd %d", r.InitCwnd)
	}
	if r.Has&RouteInitRwnd != 0 {
		w(" initrwnd %d", r.InitRwnd)
	}
	if r.Has&RouteQuickAck != 0 {
		w(" quickack %d", b2i(r.QuickAck))
	}
	if r.Has&RoutePref != 0 {
		p := map[uint8]string{PrefLow: "low", PrefMedium: "medium", PrefHigh: "high"}[r.Pref]
		if p == "" {
			p = "unknown"
		}
		w(" pref %s", p)
	}
	if r.Has&RouteFastOpenNoCookie != 0 {
		w(" fastopen_no_cookie %d", b2i(r.FastOpenNoCookie))
	}
	if r.Has&RouteTTLPropagate != 0 {
		if r.TTLPropagate {
			w(" ttl-propagate enabled")
		} else {
			w(" ttl-propagate disabled")
		}
	}
}

// String is keepalived's print_encap.
func (e Encap) String() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	switch e.Type {
	case EncapMPLS:
		w(" encap mpls")
		for i, l := range e.Labels {
			sep := " "
			if i > 0 {
				sep = "/"
			}
			entry := l << 12
			if i == len(e.Labels)-1 {
				entry |= 1 << 8
			}
			w("%s%x", sep, entry)
		}
	case EncapIP, EncapIP6:
		tos, ttl := "tos", "ttl"
		if e.Type == EncapIP6 {
			tos, ttl = "tc", "hoplimit"
			w(" encap ip6")
		} else {
			w(" encap ip")
		}
		if e.Has&EncapHasID != 0 {
			w(" id %d", e.ID)
		}
		if e.Dst.IsValid() {
			w(" dst %s", e.Dst)
		}
		if e.Src.IsValid() {
			w(" src %s", e.Src)
		}
		if e.Has&EncapHasDSField != 0 {
			w(" %s %d", tos, e.TOS)
		}
		if e.Has&EncapHasHoplimit != 0 {
			w(" %s %d", ttl, e.TTL)
		}
		if e.Has&EncapHasFlags != 0 {
			w(" flags 0x%x", e.Flags)
		}
	case EncapILA:
		// keepalived prints the locator as the host-order integer over its
		// network-order bytes.
		w(" encap ila %d", bits.ReverseBytes64(e.Locator))
	default:
		w("unknown encap type %d", e.Type)
	}
	return b.String()
}

// String is keepalived's format_iprule.
func (r *Rule) String() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if !r.To.IsValid() && !r.From.IsValid() && r.Family == FamilyInet6 {
		w("inet6 ")
	}
	if r.Invert {
		w("not ")
	}
	if r.From.IsValid() {
		w("from %s", addrString(r.From))
	} else {
		w("from all")
	}
	if r.To.IsValid() {
		w(" to %s", addrString(r.To))
	}
	if r.Has&RuleHasPriority != 0 {
		w(" priority %d", r.Priority)
	}
	w(" tos 0x%x", r.TOS)
	if r.Has&(RuleHasFwmark|RuleHasFwmask) != 0 {
		w(" fwmark 0x%x", r.Fwmark)
		if r.Has&RuleHasFwmask != 0 && r.Fwmask != 0xffffffff {
			w("/0x%x", r.Fwmask)
		}
	}
	if r.IIf != "" {
		w(" iif %s", r.IIf)
	}
	if r.OIf != "" {
		w(" oif %s", r.OIf)
	}
	if r.SuppressPrefixLen != -1 {
		w(" suppress_prefixlen %d", r.SuppressPrefixLen)
	}
	if r.Has&RuleHasSupGroup != 0 {
		w(" suppress_ifgroup %d", r.SuppressGroup)
	}
	if r.TunnelID != 0 {
		w(" tunnel-id %d", r.TunnelID)
	}
	if r.Has&RuleHasUIDRange != 0 {
		w(" uidrange %d-%d", r.UIDStart, r.UIDEnd)
	}
	if r.L3MDev {
		w(" l3mdev")
	}
	if r.Has&RuleHasProtocol != 0 {
		w(" protocol %d", r.Protocol)
	}
	if r.Has&RuleHasIPProto != 0 {
		w(" ipproto %d", r.IPProto)
	}
	if r.Has&RuleHasSPortRange != 0 {
		w(" sport %d-%d", r.SPortStart, r.SPortEnd)
	}
	if r.Has&RuleHasDPortRange != 0 {
		w(" dport %d-%d", r.DPortStart, r.DPortEnd)
	}
	if r.Realms != 0 {
		w(" realms %d/%d", r.Realms>>16, r.Realms&0xffff)
	}
	switch r.Action {
	case FRActToTable:
		w(" lookup %d", r.Table)
	case FRActGoto:
		w(" goto %d", r.Goto)
	case FRActNop:
		w(" nop")
	default:
		w(" type %s", RTNTypeName(r.Action))
	}
	if r.NoTrack {
		w(" no_track")
	}
	if r.TrackGroup != "" {
		w(" track_group %s", r.TrackGroup)
	}
	return b.String()
}
