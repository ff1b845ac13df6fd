package snmp

import (
	"time"

	"keepalived-go/snmp/agentx"
)

// snmpState is vrrp_snmp_state: INIT..FAULT as they are, anything else 4.
func snmpState(s VRRPState) int32 {
	if s >= StateInit && s <= StateFault {
		return int32(s)
	}
	return 4
}

func col(sub ...uint32) agentx.OID { return VRRPOID.Append(sub...) }

// vrrp is KEEPALIVED-MIB's VRRP subtree (vrrp/vrrp_snmp.c vrrp_vars).
func (t *tree) vrrp(v *VRRP) {
	for i, g := range v.SyncGroups {
		t.syncGroup(uint32(i+1), g)
	}
	for i := range v.Instances {
		t.instance(v, uint32(i+1), &v.Instances[i])
	}
	for i, s := range v.Scripts {
		r := t.row(col(9, 1), uint32(i+1))
		r.str(2, s.Name)
		r.str(3, CmdString(s.Command))
		r.int(4, int32(s.Interval/time.Second))
		r.int(5, s.Weight)
		r.int(6, int32(s.Result))
		r.gauge(7, uint32(s.Rise))
		r.gauge(8, uint32(s.Fall))
		r.truth(9, s.Reverse)
	}
	for i, f := range v.Files {
		r := t.row(col(13, 1), uint32(i+1))
		r.str(2, f.Name)
		r.str(3, f.Path)
		r.int(4, f.Status)
		r.int(5, f.Weight)
		r.truth(6, f.Reverse)
	}
	for i, b := range v.BFDs {
		r := t.row(col(18, 1), uint32(i+1))
		r.str(2, b.Name)
		r.int(3, map[bool]int32{true: 1, false: 0}[b.Up])
		r.int(4, b.Weight)
		r.truth(5, b.Reverse)
	}
	// Addresses, routes and rules: group 0 is the static ones, then one
	// group per instance (VIPs, then eVIPs, numbered on).
	for k, a := range v.StaticAddresses {
		t.address(0, uint32(k+1), a, false)
	}
	t.routes(0, v.StaticRoutes)
	t.rules(0, v.StaticRules)
	for i, in := range v.Instances {
		g := uint32(i + 1)
		k := uint32(0)
		for _, a := range in.VIPs {
			k++
			// keepalived's vrrp_header_ar_table marks VIPs advertised
			// only in the first instance: it never sets the flag again
			// after the first eVIP list.
			t.address(g, k, a, i == 0)
		}
		for _, a := range in.EVIPs {
			k++
			t.address(g, k, a, false)
		}
		t.routes(g, in.Routes)
		t.rules(g, in.Rules)
	}
}

func (t *tree) syncGroup(gi uint32, g SyncGroup) {
	r := t.row(col(1, 1), gi)
	r.str(2, g.Name)
	r.int(3, snmpState(g.State))
	r.truth(4, g.SMTPAlert)
	r.truth(5, g.NotifyExec)
	r.script(6, g.NotifyMaster)
	r.script(7, g.NotifyBackup)
	r.script(8, g.NotifyFault)
	r.script(9, g.Notify)
	r.truth(10, g.TrackingWeight)
	r.script(11, g.NotifyStop)
	for k, m := range g.Members {
		t.row(col(2, 1), gi, uint32(k+1)).str(2, m)
	}
	t.tracked(col(14, 1), gi, g.TrackInterfaces, 1)
	t.tracked(col(15, 1), gi, g.TrackScripts, 2)
	t.tracked(col(16, 1), gi, g.TrackFiles, 2)
	t.tracked(col(19, 1), gi, g.TrackBFDs, 2)
}

// tracked emits a (owner, n) tracking table whose name column is first.
func (t *tree) tracked(entry agentx.OID, owner uint32, l []Tracked, first uint32) {
	for k, tr := range l {
		r := t.row(entry, owner, uint32(k+1))
		r.str(first, tr.Name)
		r.int(first+1, tr.Weight)
		r.truth(first+2, tr.Reverse)
	}
}

func (t *tree) instance(v *VRRP, ii uint32, in *Instance) {
	r := t.row(col(3, 1), ii)
	r.str(2, in.Name)
	r.gauge(3, uint32(in.VRID))
	r.int(4, snmpState(in.State))
	r.int(5, snmpState(in.InitialState))
	r.int(6, snmpState(in.WantedState))
	r.int(7, in.BasePriority)
	r.int(8, in.EffectivePriority)
	r.truth(9, in.VIPsSet)
	r.optStr(10, in.Interface)
	r.truth(11, len(in.TrackInterfaces) > 0)
	if in.Version == 3 {
		r.gauge(12, uint32(in.AdvertInt/(10*time.Millisecond)))
		r.int(15, 0)
		r.int(27, int32(truth(in.Accept)))
	} else {
		r.gauge(12, secs(in.AdvertInt))
		r.int(15, int32(in.AuthType))
		r.int(27, 0)
	}
	r.truth(13, in.Preempt)
	r.gauge(14, secs(in.PreemptDelay))
	syncd := v.LVSSyncInstance != "" && v.LVSSyncInstance == in.Name
	r.truth(16, syncd)
	if syncd {
		r.str(17, v.LVSSyncInterface)
	}
	r.optStr(18, in.SyncGroup)
	r.gauge(19, secs(in.GarpDelay))
	r.truth(20, in.SMTPAlert)
	r.truth(21, in.NotifyExec)
	r.script(22, in.NotifyMaster)
	r.script(23, in.NotifyBackup)
	r.script(24, in.NotifyFault)
	r.script(25, in.NotifyStop)
	r.script(26, in.Notify)
	r.truth(28, in.PromoteSecondaries)
	r.truth(29, in.LinkbeatPolling)
	r.int(30, int32(in.Version))
	r.script(31, in.NotifyMasterRxLow)
	r.script(32, in.NotifyDeleted)
	r.truth(33, in.NotifyDeletedState)
	if !in.Unicast {
		r.int(34, addrType(in.McastGroup))
		r.addr(35, in.McastGroup)
	}
	t.tracked(col(4, 1), ii, in.TrackInterfaces, 1)
	t.tracked(col(5, 1), ii, in.TrackScripts, 2)
	t.tracked(col(12, 1), ii, in.TrackFiles, 2)
	t.tracked(col(17, 1), ii, in.TrackBFDs, 2)
}

func (t *tree) address(g, k uint32, a Address, advertised bool) {
	r := t.row(col(6, 1), g, k)
	ip := a.Prefix.Addr()
	r.int(2, addrType(ip))
	r.addr(3, ip)
	if !ip.Is6() {
		r.addr(4, a.Broadcast)
	}
	r.gauge(5, uint32(a.Prefix.Bits()))
	r.int(6, scope(a.Scope))
	r.int(7, int32(a.IfIndex))
	r.str(8, a.IfName)
	r.optStr(9, a.Label)
	r.truth(10, a.Set)
	r.truth(11, advertised)
	if a.Peer.IsValid() {
		r.addr(12, a.Peer)
	}
}

// routes is vrrpRouteTable and vrrpRouteNextHopTable for group g.
func (t *tree) routes(g uint32, routes []Route) {
	for k, rt := range routes {
		r := t.row(col(7, 1), g, uint32(k+1))
		fam := rt.Dst.Addr()
		if !fam.IsValid() {
			fam = rt.Src.Addr()
		}
		if !fam.IsValid() {
			fam = rt.PrefSrc
		}
		if fam.Is6() && !fam.Is4In6() {
			r.int(2, 2)
		} else {
			r.int(2, 1)
		}
		if rt.Dst.IsValid() {
			r.addr(3, rt.Dst.Addr())
			r.gauge(4, uint32(rt.Dst.Bits()))
		}
		if rt.Via.IsValid() {
			r.addr(5, rt.Via)
		}
		if len(rt.NextHops) == 1 && rt.NextHops[0].Addr.IsValid() {
			r.addr(6, rt.NextHops[0].Addr)
		}
		if rt.PrefSrc.IsValid() {
			r.addr(7, rt.PrefSrc)
		}
		r.gauge(8, rt.Metric)
		r.int(9, scope(rt.Scope))
		r.int(10, routeType(rt))
		if rt.IfName != "" {
			r.int(11, int32(rt.IfIndex))
			r.str(12, rt.IfName)
		}
		r.gauge(13, rt.Table)
		r.truth(14, rt.Set)
		if rt.Src.IsValid() {
			r.addr(15, rt.Src.Addr())
			r.gauge(16, uint32(rt.Src.Bits()))
		}
		if rt.TOS != nil {
			r.gauge(17, *rt.TOS)
		}
		if rt.Protocol != nil {
			r.int(18, int32(*rt.Protocol)+1)
		}
		r.truth(19, false) // ECN
		r.truth(20, false) // quickack
		if rt.MTU != nil {
			r.gauge(22, *rt.MTU)
			r.truth(23, rt.MTULock)
		}
		for n, nh := range rt.NextHops {
			h := t.row(col(11, 1), g, uint32(k+1), uint32(n+1))
			if nh.Addr.IsValid() {
				h.int(2, addrType(nh.Addr))
				h.addr(3, nh.Addr)
			}
			if nh.IfName != "" {
				h.int(4, int32(nh.IfIndex))
				h.str(5, nh.IfName)
			}
			if nh.Weight != nil {
				h.gauge(6, uint32(*nh.Weight))
			}
			h.truth(7, nh.OnLink)
		}
	}
}

// routeType is vrrpRouteType: multipath first, then the RTN_ type.
func routeType(rt Route) int32 {
	if len(rt.NextHops) > 0 {
		return 2
	}
	// RTN_BLACKHOLE 6 .. RTN_XRESOLVE 11, with ANYCAST 4 and MULTICAST 5.
	switch rt.Type {
	case 6:
		return 3
	case 4:
		return 4
	case 5:
		return 5
	case 3:
		return 6
	case 7:
		return 7
	case 8:
		return 8
	case 9:
		return 9
	case 10:
		return 10
	case 11:
		return 11
	}
	return 1
}

func (t *tree) rules(g uint32, rules []Rule) {
	for k, ru := range rules {
		r := t.row(col(8, 1), g, uint32(k+1))
		switch {
		case ru.To.IsValid() && ru.From.IsValid():
			r.str(2, "both")
		case ru.To.IsValid():
			r.str(2, "to")
		case ru.From.IsValid():
			r.str(2, "from")
		default:
			r.str(2, "")
		}
		first := ru.To
		if !first.IsValid() {
			first = ru.From
		}
		if first.IsValid() {
			r.int(3, addrType(first.Addr()))
			r.addr(4, first.Addr())
			r.gauge(5, uint32(first.Bits()))
		}
		if ru.Action == 1 {
			r.gauge(6, ru.Table)
			r.gauge(24, ru.Table)
		}
		r.truth(7, ru.Set)
		r.truth(8, ru.Invert)
		if ru.To.IsValid() {
			r.int(9, addrType(ru.To.Addr()))
			r.addr(10, ru.To.Addr())
			r.gauge(11, uint32(ru.To.Bits()))
		}
		if ru.From.IsValid() {
			r.int(12, addrType(ru.From.Addr()))
			r.addr(13, ru.From.Addr())
			r.gauge(14, uint32(ru.From.Bits()))
		}
		r.gauge(15, ru.TOS)
		if ru.FwMark != nil {
			r.gauge(16, *ru.FwMark)
		}
		if ru.FwMask != nil {
			r.gauge(17, *ru.FwMask)
		}
		r.optStr(20, ru.IIF)
		r.optStr(21, ru.OIF)
		if ru.Action == 2 {
			r.gauge(22, ru.GotoTarget)
		}
		r.int(23, int32(ru.Action))
		if ru.Preference != 0 {
			r.gauge(25, ru.Preference)
		}
	}
}
