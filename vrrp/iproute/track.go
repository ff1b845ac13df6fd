package iproute

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	"keepalived-go/config"
)

// Tracking: ports of keepalived 2.2.7's netlink_route_filter, route_is_ours,
// netlink_rule_filter, rule_is_ours and compare_rule
// (core/keepalived_netlink.c), interface_down / interface_up
// (vrrp/vrrp_if.c, static_track_group_reinstate_config), and the reload
// comparisons route_exist and rule_is_equal. Pure: a Tracker is fed
// messages and says what keepalived would do.

// attrs splits a message body after a fixed header of hdr bytes.
func attrs(data []byte, hdr int) map[uint16][]byte {
	out := map[uint16][]byte{}
	if len(data) < hdr {
		return out
	}
	for _, a := range nestedAttrs(data[hdr:]) {
		if _, dup := out[a.typ]; !dup {
			out[a.typ] = a.val
		}
	}
	return out
}

type nlAttr struct {
	typ uint16
	val []byte
}

func nestedAttrs(b []byte) []nlAttr {
	var out []nlAttr
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, nlAttr{typ: binary.NativeEndian.Uint16(b[2:]) & 0x3fff, val: b[4:l]})
		if align4(l) >= len(b) {
			break
		}
		b = b[align4(l):]
	}
	return out
}

func u32At(b []byte) (uint32, bool) {
	if len(b) < 4 {
		return 0, false
	}
	return binary.NativeEndian.Uint32(b), true
}

// InstanceRoutes are one VRRP instance's virtual routes and rules.
type InstanceRoutes struct {
	Name   string
	Routes []*RouteState
	Rules  []*RuleState
}

// Tracker is what keepalived's VRRP process knows of its routes and rules.
type Tracker struct {
	Instances    []*InstanceRoutes
	StaticRoutes []*RouteState
	StaticRules  []*RuleState
	// Index gives an interface's current index (route->oif->ifindex).
	Index Ifindex
	// OwnPID is the port id of the Handle that adds and deletes them:
	// keepalived skips the notifications of its own changes, except
	// RTM_NEWROUTE (which tells where a route went).
	OwnPID uint32
}

// Verdict is what keepalived does about one notification.
type Verdict struct {
	// Backup is the instance keepalived sends from MASTER to BACKUP
	// (set_vrrp_backup: leave master, and a short master-down timer so it
	// soon takes over again, re-adding its routes and rules).
	Backup string
	// ReinstateRoute and ReinstateRule are static ones keepalived adds
	// again (reinstate_static_route / reinstate_static_rule: Add, then Set
	// is whether that worked; it logs "Restoring deleted static ...").
	ReinstateRoute *RouteState
	ReinstateRule  *RuleState
}

// Handle is netlink_route_filter and netlink_rule_filter for one message
// of the route and rule groups. master tells whether an instance is in
// MASTER state now.
func (t *Tracker) Handle(m netlink.Message, master func(instance string) bool) Verdict {
	if t.OwnPID != 0 && m.Header.PID == t.OwnPID && m.Header.Type != unix.RTM_NEWROUTE {
		return Verdict{}
	}
	switch m.Header.Type {
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return t.route(m, master)
	case unix.RTM_NEWRULE, unix.RTM_DELRULE:
		return t.rule(m)
	}
	return Verdict{}
}

func (t *Tracker) route(m netlink.Message, master func(string) bool) Verdict {
	if len(m.Data) < unix.SizeofRtMsg {
		return Verdict{}
	}
	rt := m.Data
	if rt[5] != config.RTProtKeepalived {
		return Verdict{}
	}
	if rt[0] != unix.AF_INET && rt[0] != unix.AF_INET6 {
		return Verdict{}
	}
	tb := attrs(m.Data, unix.SizeofRtMsg)
	inst, st := t.routeIsOurs(rt, tb)
	if st == nil {
		return Verdict{}
	}
	st.Set = m.Header.Type == unix.RTM_NEWROUTE
	if st.Set {
		// keepalived logs "New route doesn't have i/f index" without one.
		if oif, ok := u32At(tb[unix.RTA_OIF]); ok {
			st.ConfiguredIfindex = oif
		}
		return Verdict{}
	}
	if st.Route.NoTrack {
		return Verdict{}
	}
	if inst != "" {
		if !master(inst) {
			return Verdict{}
		}
		return Verdict{Backup: inst}
	}
	return Verdict{ReinstateRoute: st}
}

// routeIsOurs is route_is_ours.
func (t *Tracker) routeIsOurs(rt []byte, tb map[uint16][]byte) (string, *RouteState) {
	family, dstLen, tos := config.AddrFamily(rt[0]), int(rt[1]), rt[3]
	table := uint32(rt[4])
	if v, ok := u32At(tb[unix.RTA_TABLE]); ok {
		table = v
	}
	prio, _ := u32At(tb[unix.RTA_PRIORITY])
	oif, hasOIF := u32At(tb[unix.RTA_OIF])
	dst := tb[unix.RTA_DST]
	for _, in := range t.Instances {
		for _, st := range in.Routes {
			r := st.Route
			if table != r.Table || family != r.Family || dstLen != r.Dst.Bits() || prio != r.Metric || tos != r.TOS {
				continue
			}
			if r.Dev != "" {
				if !hasOIF || t.Index(r.Dev) != oif {
					continue
				}
			} else if st.Set && st.ConfiguredIfindex != 0 && (!hasOIF || st.ConfiguredIfindex != oif) {
				continue
			}
			if !sameAddr(family, dst, r.Dst.Addr()) {
				continue
			}
			return in.Name, st
		}
	}
	for _, st := range t.StaticRoutes {
		r := st.Route
		if table != r.Table || family != r.Family || dstLen != r.Dst.Bits() || tos != r.TOS {
			continue
		}
		// keepalived reads RTA_DST unchecked here (a default route's
		// deletion crashes it); a missing one is taken as all zeros.
		if !sameAddr(family, dst, r.Dst.Addr()) {
			continue
		}
		return "", st
	}
	return "", nil
}

// sameAddr is compare_addr's equality: the family's bytes of RTA_DST (a
// missing one is all zeros) against the configured address.
func sameAddr(family config.AddrFamily, b []byte, a netip.Addr) bool {
	n := 4
	if family == config.FamilyInet6 {
		n = 16
	}
	if b == nil {
		b = make([]byte, n)
	}
	if len(b) < n {
		return false
	}
	return bytes.Equal(b[:n], a.AsSlice())
}

func (t *Tracker) rule(m netlink.Message) Verdict {
	if len(m.Data) < 12 {
		return Verdict{}
	}
	frh := m.Data
	if frh[0] != unix.AF_INET && frh[0] != unix.AF_INET6 {
		return Verdict{}
	}
	tb := attrs(m.Data, 12)
	if p, ok := tb[unix.FRA_PROTOCOL]; ok && len(p) > 0 && p[0] != config.RTProtKeepalived {
		return Verdict{}
	}
	if m.Header.Type != unix.RTM_DELRULE {
		return Verdict{}
	}
	inst, st := t.ruleIsOurs(frh, tb)
	if st == nil {
		return Verdict{}
	}
	st.Set = false
	if inst != "" {
		// keepalived does not check the instance's state here.
		return Verdict{Backup: inst}
	}
	return Verdict{ReinstateRule: st}
}

func (t *Tracker) ruleIsOurs(frh []byte, tb map[uint16][]byte) (string, *RuleState) {
	for _, in := range t.Instances {
		for _, st := range in.Rules {
			if CompareRule(frh, tb, st.Rule) {
				return in.Name, st
			}
		}
	}
	for _, st := range t.StaticRules {
		if CompareRule(frh, tb, st.Rule) {
			return "", st
		}
	}
	return "", nil
}

// CompareRule is compare_rule: whether a kernel rule (its fib_rule_hdr and
// attributes) is r. Untracked rules never match.
func CompareRule(frh []byte, tb map[uint16][]byte, r *config.Rule) bool {
	if r.NoTrack || config.AddrFamily(frh[0]) != r.Family {
		return false
	}
	if p, ok := u32At(tb[unix.FRA_PRIORITY]); !ok || p != r.Priority {
		return false
	}
	if frh[7] != r.Action {
		return false
	}
	if frh[7] == config.FRActGoto {
		if g, ok := u32At(tb[unix.FRA_GOTO]); !ok || g != r.Goto {
			return false
		}
	}
	if tbl, ok := u32At(tb[unix.FRA_TABLE]); ok {
		if tbl != r.Table {
			return false
		}
	} else if r.Table != uint32(frh[4]) {
		return false
	}
	flags := binary.NativeEndian.Uint32(frh[8:])
	if r.Invert != (flags&unix.FIB_RULE_INVERT != 0) {
		return false
	}
	if !samePrefix(r.From, tb[unix.FRA_SRC], frh[2], r.Family) || !samePrefix(r.To, tb[unix.FRA_DST], frh[1], r.Family) {
		return false
	}
	if r.TOS != frh[3] {
		return false
	}
	return compareRuleSelectors(tb, r)
}

func samePrefix(p netip.Prefix, attr []byte, length uint8, f config.AddrFamily) bool {
	if p.IsValid() != (attr != nil) {
		return false
	}
	if !p.IsValid() {
		return true
	}
	return int(length) == p.Bits() && sameAddr(f, attr, p.Addr())
}

// compareRuleSelectors is the second half of compare_rule.
func compareRuleSelectors(tb map[uint16][]byte, r *config.Rule) bool {
	optU32 := func(typ uint16, has bool, want uint32) bool {
		v, ok := u32At(tb[typ])
		if ok != has {
			return false
		}
		return !has || v == want
	}
	if !optU32(unix.FRA_FWMARK, r.Has&config.RuleHasFwmark != 0, r.Fwmark) {
		return false
	}
	mask, hasMask := u32At(tb[unix.FRA_FWMASK])
	switch {
	case r.Has&config.RuleHasFwmask != 0 && (!hasMask || mask != r.Fwmask):
		return false
	case r.Has&config.RuleHasFwmask == 0 && hasMask && mask != 0xffffffff:
		return false
	}
	if !optU32(unix.FRA_FLOW, r.Realms != 0, r.Realms) {
		return false
	}
	if spl, ok := u32At(tb[unix.FRA_SUPPRESS_PREFIXLEN]); ok {
		if int32(spl) != r.SuppressPrefixLen {
			return false
		}
	} else if r.SuppressPrefixLen != -1 {
		return false
	}
	if !optU32(unix.FRA_SUPPRESS_IFGROUP, r.Has&config.RuleHasSupGroup != 0, r.SuppressGroup) {
		return false
	}
	if !sameName(tb[unix.FRA_IIFNAME], r.IIf) || !sameName(tb[unix.FRA_OIFNAME], r.OIf) {
		return false
	}
	if id, ok := tb[unix.FRA_TUN_ID]; (ok && len(id) >= 8) != (r.TunnelID != 0) ||
		(r.TunnelID != 0 && binary.BigEndian.Uint64(id) != r.TunnelID) {
		return false
	}
	if !sameBytes(tb[unix.FRA_UID_RANGE], r.Has&config.RuleHasUIDRange != 0, append(ne32(r.UIDStart), ne32(r.UIDEnd)...)) {
		return false
	}
	if l3, ok := tb[unix.FRA_L3MDEV]; (!ok && r.L3MDev) || (ok && len(l3) > 0 && (l3[0] != 0) != r.L3MDev) {
		return false
	}
	if !sameBytes(tb[unix.FRA_IP_PROTO], r.Has&config.RuleHasIPProto != 0, []byte{r.IPProto}) {
		return false
	}
	if !sameBytes(tb[unix.FRA_SPORT_RANGE], r.Has&config.RuleHasSPortRange != 0, append(ne16(r.SPortStart), ne16(r.SPortEnd)...)) {
		return false
	}
	return sameBytes(tb[unix.FRA_DPORT_RANGE], r.Has&config.RuleHasDPortRange != 0, append(ne16(r.DPortStart), ne16(r.DPortEnd)...))
}

func sameName(attr []byte, name string) bool {
	if (attr != nil) != (name != "") {
		return false
	}
	return attr == nil || string(bytes.TrimRight(attr, "\x00")) == name
}

func sameBytes(attr []byte, has bool, want []byte) bool {
	if (attr != nil) != has {
		return false
	}
	return !has || (len(attr) >= len(want) && bytes.Equal(attr[:len(want)], want))
}

// InterfaceDown is keepalived's interface_down: the routes of MASTER
// instances installed on the interface (and static routes on it) are
// marked unset, as the kernel removed them without telling; it returns the
// instances keepalived puts down (down_instance: FAULT) because one of
// those routes was tracked.
func (t *Tracker) InterfaceDown(name string, ifindex uint32, master func(string) bool) []string {
	var down []string
	for _, in := range t.Instances {
		if !master(in.Name) {
			continue
		}
		found := false
		for _, st := range in.Routes {
			if !st.Set || st.Route.Dev == "" || st.ConfiguredIfindex != ifindex {
				continue
			}
			st.Set = false
			if !st.Route.NoTrack {
				found = true
			}
		}
		if found {
			down = append(down, in.Name)
		}
	}
	for _, st := range t.StaticRoutes {
		if st.Set && st.Route.Dev == name {
			st.Set = false
		}
	}
	return down
}

// InterfaceUp is static_track_group_reinstate_config's route part: the
// tracked static routes on the interface keepalived adds again
// (reinstate_static_route).
func (t *Tracker) InterfaceUp(name string) []*RouteState {
	var out []*RouteState
	for _, st := range t.StaticRoutes {
		if !st.Route.NoTrack && st.Route.Dev == name {
			out = append(out, st)
		}
	}
	return out
}

// routeExist is route_exist: the route of l that is o (the kernel's key
// and what keepalived adds to it); it takes o's Set.
func routeExist(l []*RouteState, o *RouteState) *RouteState {
	a := o.Route
	for _, st := range l {
		b := st.Route
		if a.Dst != b.Dst || a.TOS != b.TOS || (a.Has^b.Has)&config.RouteMetric != 0 ||
			(a.Has&config.RouteMetric != 0 && a.Metric != b.Metric) || a.Table != b.Table || a.Scope != b.Scope ||
			a.Type != b.Type || a.Via != b.Via || a.Dev != b.Dev || !sameNexthops(a.Nexthops, b.Nexthops) {
			continue
		}
		st.Set = o.Set
		return st
	}
	return nil
}

// sameNexthops is compare_nexthops.
func sameNexthops(a, b []config.Nexthop) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.HasWeight != y.HasWeight || x.Addr != y.Addr || x.Dev != y.Dev || x.Weight != y.Weight ||
			x.Flags != y.Flags || x.Realms != y.Realms || !sameEncap(&x.Encap, &y.Encap) {
			return false
		}
	}
	return true
}

func sameEncap(x, y *config.Encap) bool {
	if x.Type != y.Type || x.Has != y.Has {
		return false
	}
	switch x.Type {
	case config.EncapIP, config.EncapIP6:
		return x.ID == y.ID && x.Dst == y.Dst && x.Src == y.Src && x.TOS == y.TOS && x.Flags == y.Flags && x.TTL == y.TTL
	case config.EncapILA:
		return x.Locator == y.Locator
	case config.EncapMPLS:
		return fmt.Sprint(x.Labels) == fmt.Sprint(y.Labels)
	}
	return true
}

// ruleExist is rule_exist with rule_is_equal; it takes o's Set.
func ruleExist(l []*RuleState, o *RuleState) bool {
	x := o.Rule
	for _, st := range l {
		y := st.Rule
		if x.Has == y.Has && x.Invert == y.Invert && x.From == y.From && x.To == y.To && x.Priority == y.Priority &&
			x.TOS == y.TOS && x.Fwmark == y.Fwmark && x.Fwmask == y.Fwmask && x.Realms == y.Realms &&
			x.SuppressPrefixLen == y.SuppressPrefixLen && x.SuppressGroup == y.SuppressGroup && x.TunnelID == y.TunnelID &&
			x.UIDStart == y.UIDStart && x.UIDEnd == y.UIDEnd && x.L3MDev == y.L3MDev && x.IIf == y.IIf && x.OIf == y.OIf &&
			x.Protocol == y.Protocol && x.IPProto == y.IPProto && x.SPortStart == y.SPortStart && x.SPortEnd == y.SPortEnd &&
			x.DPortStart == y.DPortStart && x.DPortEnd == y.DPortEnd && x.Goto == y.Goto && x.Table == y.Table &&
			x.Action == y.Action {
			st.Set = o.Set
			return true
		}
	}
	return false
}

// Monitor receives the route and rule notifications keepalived subscribes
// to (set_extra_netlink_monitoring).
type Monitor struct {
	conn *netlink.Conn
}

// OpenMonitor joins the groups m asks for in the namespace at nsPath.
func OpenMonitor(nsPath string, m config.RouteMonitor) (*Monitor, error) {
	cfg := &netlink.Config{}
	if nsPath != "" {
		f, err := os.Open(nsPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	for _, g := range []struct {
		on    bool
		group uint32
	}{
		{m.IPv4Routes, unix.RTNLGRP_IPV4_ROUTE}, {m.IPv6Routes, unix.RTNLGRP_IPV6_ROUTE},
		{m.IPv4Rules, unix.RTNLGRP_IPV4_RULE}, {m.IPv6Rules, unix.RTNLGRP_IPV6_RULE},
	} {
		if g.on {
			cfg.Groups |= 1 << (g.group - 1)
		}
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, fmt.Errorf("iproute: monitor: %w", err)
	}
	return &Monitor{conn: c}, nil
}

// Receive blocks for the next notifications.
func (m *Monitor) Receive() ([]netlink.Message, error) { return m.conn.Receive() }

// SetReadDeadline bounds Receive.
func (m *Monitor) SetReadDeadline(t time.Time) error { return m.conn.SetReadDeadline(t) }

// Close ends the subscription (a blocked Receive returns).
func (m *Monitor) Close() error { return m.conn.Close() }
