package config

import (
	"net/netip"
	"time"

	"keepalived-go/parser"
)

// The VRRP process's checks after its read: start_vrrp's non-existent
// interface check and vrrp_complete_init with what it calls (vrrp.c:
// check_vrrp_script_security, chk_min_cfg, vrrp_complete_instance,
// check_vrid_conflicts, check_vmac_conflicts, set_vrrp_src_addr,
// sync_group_tracking_init; vrrp_sync.c: vrrp_sync_set_group), in
// keepalived's order and with its early exits. A false return is
// keepalived's stop_vrrp(KEEPALIVED_EXIT_CONFIG): the VRRP configuration
// cannot run.

// complete runs after the VRRP read.
func (s *vrrpState) complete() {
	l := s.l
	if s.ifs.nonExistent {
		l.report(parser.SevBadInterface, "Non-existent interface specified in configuration")
		s.fail()
		return
	}
	if !s.completeInit() {
		s.fail()
		return
	}
	s.resolveModel()
}

// fail records that the VRRP process would stop: no instance runs.
func (s *vrrpState) fail() {
	s.l.cfg.VRRPFailed = true
}

func (s *vrrpState) completeInit() bool {
	l := s.l
	g := &l.cfg.Global
	// The VRRP process's global lower-priority GARP settings default to
	// the master ones; the model keeps them unset, as the parent has them.
	s.lpRepeat, s.lpDelay = g.GarpMasterRepeat, g.GarpMasterDelay
	if g.GarpLowerPrioRepeat != nil {
		s.lpRepeat = *g.GarpLowerPrioRepeat
	}
	if g.GarpLowerPrioDelay != nil {
		s.lpDelay = *g.GarpLowerPrioDelay
	}
	s.checkScriptSecurity()
	for _, in := range l.cfg.Instances {
		if !s.chkMinCfg(in) {
			return false
		}
	}
	var groups []*SyncGroup
	for _, sg := range l.cfg.SyncGroups {
		x := s.sgExt[sg]
		if !x.hasMembers {
			l.report(parser.SevGeneral, "Sync group %s has no virtual router(s). removing", sg.Name)
			continue
		}
		if s.syncSetGroup(sg, x) {
			groups = append(groups, sg)
		}
	}
	l.cfg.SyncGroups = groups
	for _, in := range l.cfg.Instances {
		if !s.completeInstance(in, s.ext[in]) {
			return false
		}
	}
	if s.checkVRIDConflicts() {
		return false
	}
	s.setSrcAddrs()
	s.staticTrackGroupInit()
	s.syncGroupTrackingInit()
	if l.opts.ConfigTest {
		return true
	}
	s.processStaticEntries()
	s.lvsSyncd()
	var kept []*VRRPScript
	for _, sc := range l.cfg.Scripts {
		if !s.scriptUsed(sc) {
			l.report(parser.SevGeneral, "Warning - script %s is not used", sc.Name)
			continue
		}
		kept = append(kept, sc)
	}
	l.cfg.Scripts = kept
	s.syncGroupWantStates()
	return true
}

// syncGroupWantStates is the end of vrrp_complete_init: a sync group can
// start in MASTER only if every member is an address owner wanting
// MASTER; when some member wants MASTER and some member is not (wants
// BACKUP, or is not the owner), every member wanting MASTER is made to
// want BACKUP, so the group waits out its down timers together.
func (s *vrrpState) syncGroupWantStates() {
	for _, sg := range s.l.cfg.SyncGroups {
		members := s.sgExt[sg].instances
		haveMaster, haveBackup := false, false
		for _, in := range members {
			x := s.ext[in]
			if x.wantState == "BACKUP" || x.basePriority != 255 {
				haveBackup = true
			}
			if x.wantState == "MASTER" {
				haveMaster = true
			}
		}
		if !haveMaster || !haveBackup {
			continue
		}
		for _, in := range members {
			if x := s.ext[in]; x.wantState == "MASTER" {
				x.wantState = "BACKUP"
			}
		}
	}
}

// checkScriptSecurity is check_vrrp_script_security.
func (s *vrrpState) checkScriptSecurity() {
	l := s.l
	if len(l.cfg.Instances) == 0 {
		return
	}
	var flags scriptFlags
	insecure := map[*VRRPScript]bool{}
	for _, sc := range l.cfg.Scripts {
		f := l.checkScriptSecure(sc.Script)
		switch {
		case f&scInhibit != 0:
			l.report(parser.SevGeneral, "Disabling track script %s due to insecure", sc.Name)
			insecure[sc] = true
		case f&scNotFound != 0:
			l.report(parser.SevGeneral, "Disabling track script %s since not found/accessible", sc.Name)
			insecure[sc] = true
		case f&(scExecutable|scSystem) == 0:
			insecure[sc] = true
		}
		flags |= f
	}
	notify := func(p **Script) {
		if *p == nil {
			return
		}
		f := l.checkScriptSecure(*p)
		if !f.usable() {
			*p = nil
		}
		flags |= f
	}
	dropInsecure := func(list []*trackedScript) []*trackedScript {
		var out []*trackedScript
		for _, t := range list {
			if !insecure[t.scr] {
				out = append(out, t)
			}
		}
		return out
	}
	for _, in := range l.cfg.Instances {
		for _, p := range []**Script{&in.NotifyBackup, &in.NotifyMaster, &in.NotifyFault, &in.NotifyStop, &in.NotifyDeleted, &in.Notify, &in.NotifyMasterRxLowerPri} {
			notify(p)
		}
		x := s.ext[in]
		x.trackScripts = dropInsecure(x.trackScripts)
	}
	for _, sg := range l.cfg.SyncGroups {
		for _, p := range []**Script{&sg.NotifyBackup, &sg.NotifyMaster, &sg.NotifyFault, &sg.NotifyStop, &sg.Notify} {
			notify(p)
		}
		x := s.sgExt[sg]
		x.trackScripts = dropInsecure(x.trackScripts)
	}
	notify(&l.cfg.Global.NotifyFIFO.Script)
	notify(&l.cfg.Global.VRRPNotifyFIFO.Script)
	if !l.users.security && flags&scIsScript != 0 {
		extra := ""
		if flags&scInsecure != 0 {
			extra = " There are insecure scripts."
		}
		l.report(parser.SevSecurity, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.%s", extra)
	}
	var kept []*VRRPScript
	for _, sc := range l.cfg.Scripts {
		if !insecure[sc] {
			kept = append(kept, sc)
		}
	}
	l.cfg.Scripts = kept
}

// chkMinCfg is chk_min_cfg.
func (s *vrrpState) chkMinCfg(in *VRRPInstance) bool {
	x := s.ext[in]
	if in.VRID == 0 {
		s.l.report(parser.SevGeneral, "(%s) the virtual router id must be set", in.Name)
		return false
	}
	// VRRP_FLAG_UNICAST is only set in vrrp_complete_instance, later.
	if x.ifp == nil {
		s.l.report(parser.SevGeneral, "(%s) Unknown interface!", in.Name)
		return false
	}
	return true
}

// syncSetGroup is vrrp_sync_set_group.
func (s *vrrpState) syncSetGroup(sg *SyncGroup, x *syncExt) bool {
	state := ""
	for _, name := range x.members {
		var in *VRRPInstance
		for _, o := range s.l.cfg.Instances {
			if o.Name == name {
				in = o
				break
			}
		}
		if in == nil {
			s.l.report(parser.SevGeneral, "Virtual router %s specified in sync group %s doesn't exist - ignoring", name, sg.Name)
			continue
		}
		ix := s.ext[in]
		if ix.sync != nil {
			s.l.report(parser.SevGeneral, "Virtual router %s cannot exist in more than one sync group; ignoring %s", name, sg.Name)
			continue
		}
		x.instances = append(x.instances, in)
		ix.sync = sg
		if state == "MASTER" && ix.wantState == "BACKUP" {
			s.l.report(parser.SevGeneral, "Sync group %s has some member(s) as address owner and some not as address owner. This won't work.", sg.Name)
		}
		if state != "BACKUP" {
			if ix.wantState == "MASTER" && ix.basePriority == 255 {
				state = "MASTER"
			} else {
				state = "BACKUP"
			}
		}
	}
	if len(x.instances) == 0 {
		s.l.report(parser.SevGeneral, "Sync group %s, no matching virtual router found in group declaration - removing", sg.Name)
		return false
	}
	if len(x.instances) == 1 {
		s.l.report(parser.SevGeneral, "Sync group %s has only 1 virtual router(s) - this probably isn't what you want", sg.Name)
	}
	return true
}

const defaultMTU = 1500

// completeInstance is vrrp_complete_instance, in keepalived's order of
// checks: each step below is one stretch of it.
func (s *vrrpState) completeInstance(in *VRRPInstance, x *vrrpExt) bool {
	rep := func(format string, args ...any) { s.l.report(parser.SevGeneral, format, args...) }
	strict := s.completeVersion(in, x, rep)
	if len(in.VIPs) == 0 {
		if x.version == 3 || strict {
			rep("(%s) No VIP specified; at least one is required", in.Name)
			return false
		}
		rep("(%s) No VIP specified; at least one is sensible", in.Name)
	}
	owner := s.completeState(in, x, strict, rep)
	s.completeAuth(in, x, strict, owner, rep)
	unicast, ok := s.completeUnicast(in, x, rep)
	if !ok {
		return false
	}
	s.completeInterface(in, x, strict, unicast, rep)
	s.moveExcessVIPs(in, x)
	s.completePreempt(in, x, strict, owner, rep)
	if in.DownTimerAdverts != 3 && strict {
		rep("(%s) down_timer_adverts is incompatible with strict mode - resetting", in.Name)
		in.DownTimerAdverts = 3
	}
	s.completeAccept(in, x, strict, owner, rep)
	s.completeMcastDst(in, x, unicast, rep)
	s.completeGarp(in, x, strict, rep)
	s.completeNotify(x)
	s.completeAdvert(in, x, rep)
	if !x.saddrConfig {
		in.TrackSrcIP = false
	}
	if !s.completeVMAC(in, x, strict, rep) {
		return false
	}
	s.completeTracking(in, x, owner, rep)
	s.completeRoutes(in)
	return true
}

// completeVersion resolves strict mode, the address family, the VRRP
// version and the unicast TTL; it returns whether strict mode is on.
func (s *vrrpState) completeVersion(in *VRRPInstance, x *vrrpExt, rep func(string, ...any)) bool {
	g := &s.l.cfg.Global
	if x.strictMode == -1 {
		x.strictMode = b2i(g.VRRPStrict)
	}
	strict := x.strictMode == 1
	if x.family == "inet6" {
		if x.version == 2 && strict {
			rep("(%s) cannot use IPv6 with VRRP version 2; setting version 3", in.Name)
			x.version = 3
		} else if x.version == 0 {
			x.version = 3
		}
	}
	if x.family == "" {
		x.family = "inet"
	}
	if x.version == 0 {
		if x.family == "inet6" {
			x.version = 3
		} else {
			x.version = g.VRRPVersion
		}
	}
	if x.family == "inet" && x.ttl == -1 {
		x.ttl = 255
	}
	return strict
}

// completeState resolves the priority and the initial state; it returns
// whether the instance is the address owner (priority 255).
func (s *vrrpState) completeState(in *VRRPInstance, x *vrrpExt, strict bool, rep func(string, ...any)) bool {
	if x.basePriority == 0 {
		if x.wantState == "MASTER" {
			x.basePriority = 255
		} else {
			x.basePriority = 100
		}
	}
	owner := x.basePriority == 255
	if x.wantState == "" {
		x.wantState = "BACKUP"
		if owner {
			x.wantState = "MASTER"
		}
	} else if strict && (x.wantState == "MASTER") != owner {
		rep("(%s) State MASTER must match being address owner", in.Name)
		x.wantState = "BACKUP"
		if owner {
			x.wantState = "MASTER"
		}
	}
	return owner
}

// completeAuth drops authentication where it cannot be used (strict mode,
// VRRPv3, no password, AH over IPv6) and AH's initial MASTER state.
func (s *vrrpState) completeAuth(in *VRRPInstance, x *vrrpExt, strict, owner bool, rep func(string, ...any)) {
	switch {
	case strict && x.authType != "":
		rep("(%s) Strict mode does not support authentication. Ignoring.", in.Name)
		x.authType = ""
	case x.version == 3 && x.authType != "":
		rep("(%s) VRRP version 3 does not support authentication. Ignoring.", in.Name)
		x.authType = ""
	case x.authType != "" && !x.authPassSet:
		rep("(%s) Authentication specified but no password given. Ignoring", in.Name)
		x.authType = ""
	case x.family == "inet6" && x.authType == "AH":
		rep("(%s) Cannot use AH authentication with IPv6. ignoring", in.Name)
		x.authType = ""
	case x.authType == "AH" && x.wantState == "MASTER" && !owner:
		rep("(%s) Initial state master is incompatible with AH authentication - clearing", in.Name)
		x.wantState = "BACKUP"
	}
}

// completeUnicast checks an interface-less instance's source address and
// decides unicast (VRRP_FLAG_UNICAST); ok is false when the instance is
// dropped.
func (s *vrrpState) completeUnicast(in *VRRPInstance, x *vrrpExt, rep func(string, ...any)) (unicast, ok bool) {
	// keepalived tests "strict mode with unicast on a multicast interface"
	// here, before VRRP_FLAG_UNICAST is ever set, so the test never fires.
	if x.ifp == nil {
		if !x.saddrConfig {
			rep("(%s): Unicast instances must have unicast_src_ip or interface", in.Name)
			return false, false
		}
		if x.family == "inet6" && x.saddr.IsLinkLocalUnicast() {
			rep("(%s) Non link-local address required if interface omitted", in.Name)
			return false, false
		}
	}
	if x.unicastConf {
		switch {
		case len(in.UnicastPeers) > 0:
			unicast = true
		case in.UnicastFaultNoPeer:
			// keepalived logs "(%s) Cannot use unicast without any peers - going to fault state"
			in.ConfigFaults++
		default:
			s.l.report(parser.SevDeprecated, "(%s) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.", in.Name)
		}
	}
	in.Unicast = unicast
	return unicast, true
}

// completeInterface checks what the interface must support: the VMAC's
// MAC address, Ethernet for VMACs, multicast, a link-local first IPv6 VIP
// and a VRF only for interface-less unicast.
func (s *vrrpState) completeInterface(in *VRRPInstance, x *vrrpExt, strict, unicast bool, rep func(string, ...any)) {
	if strict && x.macSpecified {
		rep("(%s): cannot specify MAC address with strict mode - clearing", in.Name)
		x.macSpecified = false
		in.VMACMAC = nil
	}
	if in.UseVMAC && x.macUseVRID && in.VMACMAC != nil {
		in.VMACMAC[5] = byte(in.VRID)
	}
	if (in.UseVMAC || in.UseIPVLAN) && x.ifp != nil && x.ifp.exists && !x.ifp.ether() {
		in.UseVMAC, in.UseIPVLAN = false, false
		rep("(%s): vmacs are only supported on Ethernet type interfaces", in.Name)
		in.ConfigFaults++
	}
	if x.ifp != nil && x.ifp.exists && !x.ifp.Multicast && !unicast {
		rep("(%s) interface %s does not support multicast, specify unicast peers - disabling", in.Name, x.ifp.Name)
		in.ConfigFaults++
	}
	if x.family == "inet6" && !unicast && len(in.VIPs) > 0 && !in.VIPs[0].Prefix.Addr().IsLinkLocalUnicast() && strict {
		rep("(%s) the first IPv6 VIP address must be link local", in.Name)
	}
	if x.vrfIfp != nil && (x.ifp != nil || !unicast) {
		what := " unicast"
		if x.ifp != nil {
			what = "out interface"
		}
		rep("(%s) vrf can only be specified with%s - clearing", in.Name, what)
		x.vrfIfp = nil
		in.VRF = ""
	}
}

// completePreempt clears nopreempt and preempt_delay where they cannot
// work (address owner, initial MASTER, strict mode, each other).
func (s *vrrpState) completePreempt(in *VRRPInstance, x *vrrpExt, strict, owner bool, rep func(string, ...any)) {
	if owner && x.noPreempt {
		rep("(%s) nopreempt is incompatible with priority %d. resetting nopreempt", in.Name, 255)
		x.noPreempt = false
	}
	if x.wantState == "MASTER" {
		if x.noPreempt {
			rep("(%s) Warning - nopreempt will not work with initial state MASTER - clearing", in.Name)
			x.noPreempt = false
		}
		if x.preemptDelay != 0 {
			rep("(%s) Warning - preempt delay will not work with initial state MASTER - clearing", in.Name)
			x.preemptDelay = 0
		}
	}
	if x.preemptDelay != 0 {
		if strict {
			rep("(%s) preempt_delay is incompatible with strict mode - resetting", in.Name)
			x.preemptDelay = 0
		}
		if x.noPreempt {
			rep("(%s) preempt_delay is incompatible with nopreempt mode - resetting", in.Name)
			x.preemptDelay = 0
		}
	}
}

// completeAccept resolves accept mode; no_accept or a VMAC needs a
// firewall, nftables by default.
func (s *vrrpState) completeAccept(in *VRRPInstance, x *vrrpExt, strict, owner bool, rep func(string, ...any)) {
	g := &s.l.cfg.Global
	if x.accept == -1 {
		x.accept = b2i(owner || !strict)
	}
	if x.accept == 1 && !owner && strict && x.version == 2 {
		rep("(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", in.Name)
		x.accept = 0
	}
	if (x.accept == 0 || in.UseVMAC) && g.NFTables == "" {
		// keepalived logs "use_vmac or no_accept/strict specified, but no
		// firewall configured - using nftables"
		g.NFTables = "keepalived"
		g.NFTablesDefaulted = true
	}
}

// completeMcastDst gives a multicast instance the global group of its
// family and drops a multicast destination given with unicast.
func (s *vrrpState) completeMcastDst(in *VRRPInstance, x *vrrpExt, unicast bool, rep func(string, ...any)) {
	g := &s.l.cfg.Global
	if !unicast && !x.mcastDst.IsValid() {
		if x.family == "inet" {
			x.mcastDst = g.VRRPMcastGroup4
		} else {
			x.mcastDst = g.VRRPMcastGroup6
		}
	} else if unicast && x.mcastDst.IsValid() {
		rep("(%s) multicast destination specified with unicast - ignoring", in.Name)
		x.mcastDst = netip.Addr{}
	}
}

// completeNotify resolves smtp_alert and notify_priority_changes from the
// sync group and global settings.
func (s *vrrpState) completeNotify(x *vrrpExt) {
	g := &s.l.cfg.Global
	if x.smtpAlert == -1 {
		switch {
		case g.SMTPAlertVRRP != nil:
			x.smtpAlert = b2i(*g.SMTPAlertVRRP)
		case g.SMTPAlert != nil:
			x.smtpAlert = b2i(*g.SMTPAlert)
		default:
			x.smtpAlert = 0
		}
	}
	if x.notifyPrioChanges == -1 {
		if x.sync != nil && s.sgExt[x.sync].notifyPrio != -1 {
			x.notifyPrioChanges = s.sgExt[x.sync].notifyPrio
		} else {
			x.notifyPrioChanges = b2i(g.VRRPNotifyPriorityChanges)
		}
	}
}

// completeRoutes is the end of vrrp_complete_instance: the tracked routes
// and rules ask for netlink monitoring of their family, and the instance
// tracks the interfaces they use (add_vrrp_to_interface, TRACK_ROUTE and
// TRACK_RULE).
func (s *vrrpState) completeRoutes(in *VRRPInstance) {
	m := &s.l.cfg.Monitor
	for i := range in.Routes {
		r := &in.Routes[i]
		if r.NoTrack {
			continue
		}
		if r.Family == FamilyInet {
			m.IPv4Routes = true
		} else {
			m.IPv6Routes = true
		}
		if r.Dev != "" {
			in.RouteInterfaces = addName(in.RouteInterfaces, r.Dev)
		}
	}
	for i := range in.Rules {
		r := &in.Rules[i]
		if r.NoTrack {
			continue
		}
		if r.Family == FamilyInet {
			m.IPv4Rules = true
		} else {
			m.IPv6Rules = true
		}
		for _, d := range []string{r.IIf, r.OIf} {
			if d != "" {
				in.RouteInterfaces = addName(in.RouteInterfaces, d)
			}
		}
	}
}

// addName adds name to a set kept as a list in insertion order.
func addName(l []string, name string) []string {
	for _, n := range l {
		if n == name {
			return l
		}
	}
	return append(l, name)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ether reports whether keepalived sees an Ethernet-type interface.
func (e *ifEntry) ether() bool {
	return !e.Loopback && len(e.HWAddr) == 6 || e.HWAddr == nil && !e.Loopback
}

// moveExcessVIPs moves VIPs that do not fit in an advert to the eVIPs.
func (s *vrrpState) moveExcessVIPs(in *VRRPInstance, x *vrrpExt) {
	mtu := defaultMTU
	if x.ifp != nil && x.ifp.MTU > 0 {
		mtu = x.ifp.MTU
	}
	var maxAddr int
	if x.family == "inet" {
		hdr := 14 + 20 + 8
		if x.version == 2 {
			hdr += 8
			if x.authType == "AH" {
				hdr += 24
			}
		}
		maxAddr = (mtu - hdr) / 4
	} else {
		maxAddr = (mtu - (14 + 40 + 8)) / 16
	}
	if maxAddr > 255 {
		maxAddr = 255
	}
	if len(in.VIPs) > 0 && x.vipCnt > maxAddr {
		s.l.report(parser.SevGeneral, "(%s) Number of VIPs (%d) exceeds maximum/space available in packet (max %d addresses) - excess moved to eVIPs", in.Name, x.vipCnt, maxAddr)
		in.ExcludedVIPs = append(in.ExcludedVIPs, in.VIPs[maxAddr:]...)
		in.VIPs = in.VIPs[:maxAddr]
		x.vipCnt = maxAddr
	}
}

func (s *vrrpState) completeGarp(in *VRRPInstance, x *vrrpExt, strict bool, rep func(string, ...any)) {
	g := &s.l.cfg.Global
	if x.garpLowerPrioRepeat == -1 {
		x.garpLowerPrioRepeat = s.lpRepeat
		if strict {
			x.garpLowerPrioRepeat = 0
		}
	} else if strict && x.garpLowerPrioRepeat != 0 {
		rep("(%s) Strict mode requires no repeat garps. resetting", in.Name)
		x.garpLowerPrioRepeat = 0
	}
	if x.garpLowerPrioDelay == nil {
		d := s.lpDelay
		if strict {
			d = 0
		}
		x.garpLowerPrioDelay = &d
	} else if strict && *x.garpLowerPrioDelay != 0 {
		rep("(%s) Strict mode requires no repeat garp delay. resetting", in.Name)
		var d time.Duration
		x.garpLowerPrioDelay = &d
	}
	if x.lowerPrioNoAdvert == -1 {
		x.lowerPrioNoAdvert = b2i(strict || g.LowerPrioNoAdvert)
		if strict {
			x.lowerPrioNoAdvert = 1
		} else {
			x.lowerPrioNoAdvert = b2i(g.LowerPrioNoAdvert)
		}
	} else if strict && x.lowerPrioNoAdvert == 0 {
		rep("(%s) Strict mode requires no lower priority advert. resetting", in.Name)
		x.lowerPrioNoAdvert = 1
	}
	if x.higherPrioSendAdvert == -1 {
		x.higherPrioSendAdvert = b2i(!strict && g.HigherPrioSendAdvert)
	} else if strict && x.higherPrioSendAdvert == 1 {
		rep("(%s) strict mode requires higher_prio_send_advert to be clear. resetting", in.Name)
		x.higherPrioSendAdvert = 0
	}
}

func (s *vrrpState) completeAdvert(in *VRRPInstance, x *vrrpExt, rep func(string, ...any)) {
	if x.adverInt == 0 {
		x.adverInt = timerHz
	}
	const centi = 10000
	if x.version == 2 {
		if x.adverInt >= 256*timerHz {
			rep("(%s) VRRPv2 advertisement interval %.2fs is out of range. Must be less than %ds. Setting to %ds", in.Name, float64(x.adverInt)/timerHz, 256, 255)
			x.adverInt = 255 * timerHz
		} else if x.adverInt%timerHz != 0 {
			rep("(%s) VRRPv2 advertisement interval %fs must be an integer. rounding", in.Name, float64(x.adverInt)/timerHz)
			x.adverInt += timerHz / 2
			x.adverInt -= x.adverInt % timerHz
			if x.adverInt == 0 {
				x.adverInt = timerHz
			}
		}
	} else {
		if x.adverInt >= 4096*centi {
			rep("(%s) VRRPv3 advertisement interval %.2fs is out of range. Must be less than %.2fs. Setting to %.2fs", in.Name, float64(x.adverInt)/timerHz, 4096.0/100, 4095.0/100)
			x.adverInt = 4095 * centi
		} else if x.adverInt%centi != 0 {
			rep("(%s) VRRPv3 advertisement interval %fs must be in units of 10ms - rounding", in.Name, float64(x.adverInt)/timerHz)
			x.adverInt += centi / 2
			x.adverInt -= x.adverInt % centi
			if x.adverInt == 0 {
				x.adverInt = centi
			}
		}
	}
}

// completeVMAC is the VMAC/ipvlan part of vrrp_complete_instance as far as
// -t reports it.
func (s *vrrpState) completeVMAC(in *VRRPInstance, x *vrrpExt, strict bool, rep func(string, ...any)) bool {
	if in.UseVMAC || in.UseIPVLAN {
		if in.UseVMAC && strict && x.vmacXmitBase {
			rep("(%s) xmit_base is incompatible with strict mode - resetting", in.Name)
			x.vmacXmitBase = false
		}
		if in.PromoteSecondaries {
			rep("(%s) promote_secondaries is automatically set for vmacs - ignoring", in.Name)
			in.PromoteSecondaries = false
		}
	}
	if in.UseIPVLAN {
		switch {
		case x.family == "inet" && !in.IPVLANAddr.IsValid():
			rep("(%s) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state", in.Name)
			in.ConfigFaults++
		case in.IPVLANAddr.IsValid() && familyOf(in.IPVLANAddr.Addr()) != x.family:
			rep("(%s) IPv4 ipvlan address family does not match instance. setting instance to fault state", in.Name)
			in.ConfigFaults++
		}
	}
	if x.ifp != nil {
		var keep []*trackedIf
		for _, t := range x.trackIfs {
			if t.ifp == x.ifp {
				rep("(%s) Ignoring track_interface %s since own interface", in.Name, x.ifp.Name)
				continue
			}
			keep = append(keep, t)
		}
		x.trackIfs = keep
		// add_vrrp_to_interface runs now, with the weights as configured:
		// the interfaces keep them when a sync group or address ownership
		// later zeroes or drops the instance's own entries.
		in.TrackInterfacesAdded = trackIfRefs(keep)
	}
	if x.vmacXmitBase && !in.UseVMAC {
		rep("(%s) vmac_xmit_base is only valid with a vmac", in.Name)
		x.vmacXmitBase = false
	}
	in.VMACXmitBase = x.vmacXmitBase
	for _, list := range []*[]VirtualAddress{&in.VIPs, &in.ExcludedVIPs} {
		for i := range *list {
			a := &(*list)[i]
			if a.UseVMAC {
				a.UseVMAC = false
				sameIf := a.Dev == "" || (x.configured != nil && a.Dev == x.configured.Name)
				fam := familyOf(a.Prefix.Addr())
				if sameIf && in.UseVMAC && fam == x.family {
					rep("(%s) use_vmac specified for VIP/eVIP %s and vrrp instance", in.Name, ipaddresstos(a.Prefix))
				} else if (!sameIf || fam != x.family) && in.VMACAddr {
					rep("(%s) use_vmac_addr specified and use_vmac specified for VIP/eVIP %s", in.Name, ipaddresstos(a.Prefix))
				} else {
					a.UseVMAC = true
				}
			}
		}
	}
	var vips, evips []VirtualAddress
	for li, list := range [][]VirtualAddress{in.VIPs, in.ExcludedVIPs} {
		for _, a := range list {
			if a.Dev == "" && x.ifp == nil {
				e := ""
				if li == 1 {
					e = "e"
				}
				rep("(%s): no interface for %svip %s - removing", in.Name, e, ipAddressString(a))
				continue
			}
			if li == 0 {
				vips = append(vips, a)
			} else {
				evips = append(evips, a)
			}
		}
	}
	in.VIPs, in.ExcludedVIPs = vips, evips
	if len(in.VIPs) == 0 {
		if x.version == 3 || x.family == "inet6" || x.strictMode == 1 {
			rep("(%s) No VIP specified; at least one is required", in.Name)
			return false
		}
		s.l.report(parser.SevWarning, "(%s) No VIP specified; at least one is sensible", in.Name)
	}
	return true
}

// ipAddressString is keepalived's ipaddresstos: "addr/len" (IPv6 or a
// prefix shorter than the address), else the address.
func ipAddressString(a VirtualAddress) string {
	return ipaddresstos(a.Prefix)
}

// completeTracking is the weights part of vrrp_complete_instance.
func (s *vrrpState) completeTracking(in *VRRPInstance, x *vrrpExt, owner bool, rep func(string, ...any)) {
	syncNoWeight := x.sync != nil && !x.sync.TrackingWeight
	why := "address owner"
	if syncNoWeight {
		why = "SYNC group"
	}
	if syncNoWeight || owner {
		var ifs []*trackedIf
		for _, t := range x.trackIfs {
			if t.weight != 0 {
				w := ""
				if syncNoWeight {
					w = "weight "
				}
				rep("(%s) ignoring %s tracked interface %sdue to %s", in.Name, t.ifp.Name, w, why)
				if syncNoWeight {
					t.weight = 0
				} else {
					continue
				}
			}
			ifs = append(ifs, t)
		}
		x.trackIfs = ifs
		whyScript := "address_owner"
		if syncNoWeight {
			whyScript = "SYNC group"
		}
		var scs []*trackedScript
		for _, t := range x.trackScripts {
			if t.weight != 0 {
				rep("(%s) ignoring tracked script %s with weights due to %s", in.Name, t.scr.Name, whyScript)
				continue
			}
			scs = append(scs, t)
		}
		x.trackScripts = scs
		var fs []*trackedFile
		for _, t := range x.trackFiles {
			if t.weight == 1 {
				rep("(%s) ignoring weight from tracked file %s due to %s. specify weight 0", in.Name, t.file.Name, whyScript)
				t.weight = 0
			} else if t.weight != 0 {
				rep("(%s) ignoring tracked file %s with weight %d due to %s", in.Name, t.file.Name, t.weight, whyScript)
				continue
			}
			fs = append(fs, t)
		}
		x.trackFiles = fs
		var bs []*trackedBFD
		for _, t := range x.trackBFDs {
			if t.weight != 0 {
				rep("(%s) ignoring tracked bfd %s with weight %d due to %s", in.Name, t.bfd.name, t.weight, whyScript)
				continue
			}
			bs = append(bs, t)
		}
		x.trackBFDs = bs
	}
	var scs []*trackedScript
	for _, t := range x.trackScripts {
		if owner && t.weight != 0 {
			rep("(%s) Cannot have weighted track script '%s' with priority %d", in.Name, t.scr.Name, 255)
			continue
		}
		scs = append(scs, t)
	}
	x.trackScripts = scs
}

// checkVRIDConflicts is check_vrid_conflicts (multicast instances on the
// same interface, and unicast instances with the same source and a peer
// in common).
func (s *vrrpState) checkVRIDConflicts() bool {
	had := false
	ins := s.l.cfg.Instances
	g := &s.l.cfg.Global
	for i, a := range ins {
		xa := s.ext[a]
		for _, b := range ins[i+1:] {
			xb := s.ext[b]
			if xa.family != xb.family || a.VRID != b.VRID || a.Unicast != b.Unicast {
				continue
			}
			if a.Unicast {
				if xa.ifp != nil && xb.ifp != nil && xa.ifp != xb.ifp {
					continue
				}
				sa, sb := s.srcFor(xa), s.srcFor(xb)
				if !sa.IsValid() || !sb.IsValid() || sa != sb {
					continue
				}
				matched := false
				for _, p := range a.UnicastPeers {
					for _, q := range b.UnicastPeers {
						if p.Addr == q.Addr {
							matched = true
						}
					}
				}
				if !matched {
					continue
				}
				s.l.report(parser.SevGeneral, "(%s) duplicate VRID conflict with %s VRID %d", a.Name, b.Name, a.VRID)
				had = true
				continue
			}
			if xa.configured == nil || xb.configured == nil || xa.configured != xb.configured {
				continue
			}
			ma, mb := xa.mcastDst, xb.mcastDst
			if !ma.IsValid() {
				ma = mcastDefault(g, xa.family)
			}
			if !mb.IsValid() {
				mb = mcastDefault(g, xb.family)
			}
			if ma != mb {
				continue
			}
			if xa.configured.exists {
				v := 4
				if xa.family == "inet6" {
					v = 6
				}
				s.l.report(parser.SevGeneral, "%s and %s both use VRID %d with IPv%d on interface %s", a.Name, b.Name, a.VRID, v, xa.configured.Name)
				had = true
			}
		}
	}
	return had
}

func mcastDefault(g *Global, fam string) netip.Addr {
	if fam == "inet" {
		return g.VRRPMcastGroup4
	}
	return g.VRRPMcastGroup6
}

// srcFor is the local address check_vrid_conflicts compares.
func (s *vrrpState) srcFor(x *vrrpExt) netip.Addr {
	if x.saddrConfig {
		return x.saddr
	}
	if x.ifp == nil {
		return netip.Addr{}
	}
	return primaryAddr(x.ifp.Interface, x.family == "inet6")
}

// primaryAddr is the interface's first address of a family (IPv6: link local).
func primaryAddr(it Interface, v6 bool) netip.Addr {
	for _, p := range it.Addrs {
		a := p.Addr()
		if v6 && a.Is6() && a.IsLinkLocalUnicast() {
			return a
		}
		if !v6 && a.Is4() {
			return a
		}
	}
	return netip.Addr{}
}

// setSrcAddrs is set_vrrp_src_addr.
func (s *vrrpState) setSrcAddrs() {
	for _, in := range s.l.cfg.Instances {
		x := s.ext[in]
		if x.saddrConfig || x.ifp == nil || x.configured == nil || !x.configured.exists {
			continue
		}
		a := primaryAddr(x.configured.Interface, x.family == "inet6")
		if !a.IsValid() && !(x.family == "inet6" && in.UseVMAC) {
			if x.saddr.IsValid() && !s.l.cfg.Global.DynamicInterfaces {
				s.l.report(parser.SevGeneral, "(%s) Cannot find an IP address to use for interface %s", in.Name, x.configured.Name)
			}
			x.saddr = netip.Addr{}
			continue
		}
		x.saddr = a
	}
}

// staticTrackGroupInit is static_track_group_init (its messages are logs).
func (s *vrrpState) staticTrackGroupInit() {
	var kept []*StaticTrackGroup
	for _, tg := range s.l.cfg.TrackGroups {
		var members []string
		for _, name := range tg.Instances {
			for _, in := range s.l.cfg.Instances {
				if in.Name == name {
					members = append(members, name)
					break
				}
			}
		}
		if len(members) == 0 {
			continue
		}
		tg.Instances = members
		kept = append(kept, tg)
	}
	s.l.cfg.TrackGroups = kept
	s.staticTrackInterfaces()
}

// staticTrackInterfaces is the end of static_track_group_init: the members
// of a static address's, route's or rule's track_group track its interface
// (TRACK_SADDR, TRACK_SROUTE, TRACK_SRULE). keepalived logs "Static ...
// has both track_group and no_track set - not tracking" for the others.
func (s *vrrpState) staticTrackInterfaces() {
	cfg := s.l.cfg
	add := func(group, dev string) {
		if dev == "" {
			return
		}
		for _, tg := range cfg.TrackGroups {
			if tg.Name != group {
				continue
			}
			for _, name := range tg.Instances {
				for _, in := range cfg.Instances {
					if in.Name == name {
						in.StaticInterfaces = addName(in.StaticInterfaces, dev)
					}
				}
			}
		}
	}
	for _, a := range cfg.StaticAddresses {
		if a.TrackGroup != "" && !a.NoTrack {
			add(a.TrackGroup, a.Dev)
		}
	}
	for _, r := range cfg.StaticRoutes {
		if r.TrackGroup != "" && !r.NoTrack {
			add(r.TrackGroup, r.Dev)
		}
	}
	for _, r := range cfg.StaticRules {
		if r.TrackGroup != "" && !r.NoTrack {
			add(r.TrackGroup, r.IIf)
		}
	}
}

// processStaticEntries is process_static_entries: static routes and rules
// with a track_group are monitored.
func (s *vrrpState) processStaticEntries() {
	m := &s.l.cfg.Monitor
	for _, r := range s.l.cfg.StaticRoutes {
		if r.TrackGroup == "" {
			continue
		}
		if r.Family == FamilyInet {
			m.IPv4Routes = true
		} else {
			m.IPv6Routes = true
		}
	}
	for _, r := range s.l.cfg.StaticRules {
		if r.TrackGroup == "" {
			continue
		}
		if r.Family == FamilyInet {
			m.IPv4Rules = true
		} else {
			m.IPv6Rules = true
		}
	}
}

// syncGroupTrackingInit is sync_group_tracking_init.
func (s *vrrpState) syncGroupTrackingInit() {
	g := &s.l.cfg.Global
	for _, sg := range s.l.cfg.SyncGroups {
		x := s.sgExt[sg]
		if len(x.instances) == 0 {
			continue
		}
		hasOwner := false
		for _, in := range x.instances {
			if s.ext[in].basePriority == 255 {
				hasOwner = true
				break
			}
		}
		for _, t := range x.trackScripts {
			if hasOwner && t.weight != 0 {
				s.l.report(parser.SevGeneral, "(%s) Cannot have weighted track script '%s' with member having priority %d - clearing weight", sg.Name, t.scr.Name, 255)
				t.weight = 0
			}
		}
		for _, t := range x.trackFiles {
			if hasOwner && t.weight != 0 {
				s.l.report(parser.SevGeneral, "(%s) Cannot have weighted track file '%s' with member having priority %d - setting weight 0", sg.Name, t.file.Name, 255)
				t.weight = 0
			}
		}
		for _, t := range x.trackProcs {
			if hasOwner && t.weight != 0 {
				s.l.report(parser.SevGeneral, "(%s) Cannot have weighted track process '%s' with member having priority %d - setting weight 0", sg.Name, t.proc.Name, 255)
				t.weight = 0
			}
		}
		for _, t := range x.trackBFDs {
			if hasOwner && t.weight != 0 {
				s.l.report(parser.SevGeneral, "(%s) Cannot have weighted track bfd '%s' with member having priority %d - setting weight 0", sg.Name, t.bfd.name, 255)
				t.weight = 0
			}
		}
		for _, t := range x.trackIfs {
			if hasOwner && t.weight != 0 {
				s.l.report(parser.SevGeneral, "(%s) Cannot have weighted track interface '%s' with member having priority %d - clearing weight", sg.Name, t.ifp.Name, 255)
				t.weight = 0
			}
			for _, in := range x.instances {
				s.sgTrackInterface(in, t)
			}
		}
		if x.smtpAlert == -1 {
			switch {
			case g.SMTPAlertVRRP != nil:
				x.smtpAlert = b2i(*g.SMTPAlertVRRP)
			case g.SMTPAlert != nil:
				x.smtpAlert = b2i(*g.SMTPAlert)
			default:
				x.smtpAlert = 0
			}
		}
	}
}

// sgTrackInterface is add_vrrp_to_interface(TRACK_SG) for a sync group's
// tracked interface t on member in: an interface the instance already
// tracks itself (its own interface, or a track_interface) is one tracking
// entry in keepalived, which says so, and keeps the group's weight unless
// the instance's is unweighted. The instance then skips the group's entry
// (SyncGroupTrackSkip) and carries the resulting weight in its own.
func (s *vrrpState) sgTrackInterface(in *VRRPInstance, t *trackedIf) {
	x := s.ext[in]
	if x.ifp == t.ifp {
		if in.DontTrackPrimary {
			return // VRRP_NOT_TRACK_IF: a separate entry, no message
		}
		s.l.report(parser.SevGeneral, "(%s) track_interface %s is configured on VRRP instance and sync group. Remove vrrp instance or sync group config", in.Name, t.ifp.Name)
		in.SyncGroupTrackSkip = addName(in.SyncGroupTrackSkip, t.ifp.Name)
		return
	}
	for _, own := range x.trackIfs {
		if own.ifp != t.ifp {
			continue
		}
		s.l.report(parser.SevGeneral, "(%s) track_interface %s is configured on VRRP instance and sync group. Remove vrrp instance or sync group config", in.Name, t.ifp.Name)
		if own.weight != 0 {
			own.weight, own.reverse = t.weight, t.reverse
		}
		in.SyncGroupTrackSkip = addName(in.SyncGroupTrackSkip, t.ifp.Name)
		return
	}
}

// lvsSyncd is vrrp_complete_init's lvs_syncd step (not run under -t).
func (s *vrrpState) lvsSyncd() {
	sd := s.l.cfg.Global.LVSSyncDaemon
	if sd == nil || sd.Instance == "" {
		if sd != nil && sd.SyncID == -1 {
			// Resolved in the VRRP process; the parent keeps it unset.
			sd.SyncID, sd.SyncIDDefaulted = 0, true
		}
		return
	}
	for _, in := range s.l.cfg.Instances {
		if in.Name == sd.Instance {
			if sd.SyncID == -1 {
				sd.SyncID, sd.SyncIDDefaulted = in.VRID, true
			}
			return
		}
	}
	s.l.report(parser.SevGeneral, "Unable to find vrrp instance %s for lvs_syncd - clearing lvs_syncd config", sd.Instance)
	s.l.cfg.Global.LVSSyncDaemon = nil
}

func (s *vrrpState) scriptUsed(sc *VRRPScript) bool {
	for _, in := range s.l.cfg.Instances {
		for _, t := range s.ext[in].trackScripts {
			if t.scr == sc {
				return true
			}
		}
	}
	for _, sg := range s.l.cfg.SyncGroups {
		for _, t := range s.sgExt[sg].trackScripts {
			if t.scr == sc {
				return true
			}
		}
	}
	return false
}

// resolveModel writes what the checks settled into the model the engines read.
func (s *vrrpState) resolveModel() {
	for _, in := range s.l.cfg.Instances {
		x := s.ext[in]
		in.Family = x.family
		in.Version = x.version
		in.Priority = x.basePriority
		in.State = StateBackup
		if x.wantState == "MASTER" {
			in.State = StateMaster
		}
		in.AdvertInt = us(x.adverInt)
		in.Preempt = !x.noPreempt
		in.PreemptDelay = us(x.preemptDelay)
		acc := x.accept == 1
		in.Accept = &acc
		in.StrictMode = x.strictMode == 1
		in.SkipCheckAdvAddr = x.skipCheckAdvAddr
		in.UnicastConfigured = x.unicastConf
		in.VMACMACUseVRID = x.macUseVRID
		in.Auth.Type = x.authType
		if x.authType == "" {
			in.Auth.Pass = ""
		}
		if in.Unicast || len(in.UnicastPeers) > 0 {
			if x.saddrConfig {
				in.UnicastSrcIP = x.saddr
			}
		} else if x.saddrConfig {
			in.McastSrcIP = x.saddr
		}
		if in.Unicast && x.saddrConfig {
			in.UnicastSrcIP = x.saddr
		}
		in.McastDstIP = x.mcastDst
		if x.ttl >= 0 {
			in.UnicastTTL = x.ttl
		}
		in.GarpLowerPrioDelay = *x.garpLowerPrioDelay
		in.GarpLowerPrioRepeat = x.garpLowerPrioRepeat
		in.LowerPrioNoAdvert = x.lowerPrioNoAdvert == 1
		in.HigherPrioSendAdvert = x.higherPrioSendAdvert == 1
		in.SMTPAlert = x.smtpAlert == 1
		in.NotifyPriorityChanges = x.notifyPrioChanges == 1
		if x.sync != nil {
			in.SyncGroup = x.sync.Name
		}
		if !x.garpExtraIfSet && s.l.cfg.Global.GarpExtraIf != 0 {
			d := s.l.cfg.Global.GarpExtraIf
			in.GarpExtraIf = &d
			in.GarpExtraIfAll = s.l.cfg.Global.GarpExtraIfAll
		}
		in.TrackInterfaces = trackIfRefs(x.trackIfs)
		in.TrackScripts = trackScriptRefs(x.trackScripts)
		in.TrackFiles = trackFileRefs(x.trackFiles)
		in.TrackProcesses = trackProcRefs(x.trackProcs)
		in.TrackBFDs = trackBFDRefs(x.trackBFDs)
	}
	for _, sg := range s.l.cfg.SyncGroups {
		x := s.sgExt[sg]
		sg.Members = nil
		for _, in := range x.instances {
			sg.Members = append(sg.Members, in.Name)
		}
		sg.SMTPAlert = x.smtpAlert == 1
		if x.notifyPrio != -1 {
			b := x.notifyPrio == 1
			sg.NotifyPriorityChanges = &b
		}
		sg.TrackInterfaces = trackIfRefs(x.trackIfs)
		sg.TrackScripts = trackScriptRefs(x.trackScripts)
		sg.TrackFiles = trackFileRefs(x.trackFiles)
		sg.TrackProcesses = trackProcRefs(x.trackProcs)
		sg.TrackBFDs = trackBFDRefs(x.trackBFDs)
	}
	s.l.cfg.VRRPTrackBFDs = nil
	for _, b := range s.trackBFDs {
		s.l.cfg.VRRPTrackBFDs = append(s.l.cfg.VRRPTrackBFDs, TrackRef{Name: b.name, Weight: b.weight, HasWeight: true, Reverse: b.reverse})
	}
}

func trackIfRefs(l []*trackedIf) []TrackRef {
	var out []TrackRef
	for _, t := range l {
		out = append(out, TrackRef{Name: t.ifp.Name, Weight: t.weight, HasWeight: t.weight != 0, Reverse: t.reverse})
	}
	return out
}

func trackScriptRefs(l []*trackedScript) []TrackRef {
	var out []TrackRef
	for _, t := range l {
		out = append(out, TrackRef{Name: t.scr.Name, Weight: t.weight, HasWeight: true, Reverse: t.reverse})
	}
	return out
}

func trackFileRefs(l []*trackedFile) []TrackRef {
	var out []TrackRef
	for _, t := range l {
		out = append(out, TrackRef{Name: t.file.Name, Weight: t.weight, HasWeight: true, Reverse: t.reverse})
	}
	return out
}

func trackProcRefs(l []*trackedProc) []TrackRef {
	var out []TrackRef
	for _, t := range l {
		out = append(out, TrackRef{Name: t.proc.Name, Weight: t.weight, HasWeight: true, Reverse: t.reverse})
	}
	return out
}

func trackBFDRefs(l []*trackedBFD) []TrackRef {
	var out []TrackRef
	for _, t := range l {
		out = append(out, TrackRef{Name: t.bfd.name, Weight: t.weight, HasWeight: true, Reverse: t.reverse})
	}
	return out
}

// ipaddresstos is keepalived's: the address, with its prefix length unless
// it is a host one.
func ipaddresstos(p netip.Prefix) string {
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.String()
}
