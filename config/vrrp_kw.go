package config

import (
	"net/netip"
	"time"

	"keepalived-go/parser"
)

// The VRRP process's read: a port of keepalived 2.2.7's vrrp/vrrp_parser.c
// (init_vrrp_keywords and its handlers) with the allocation functions of
// vrrp_data.c and vrrp_track.c they call.

// vrrpState is what the VRRP process's handlers keep besides the model.
type vrrpState struct {
	// lpRepeat, lpDelay: the global lower-priority GARP settings, resolved
	lpRepeat int
	lpDelay  time.Duration
	l        *loader
	ifs      *ifTable

	// Per-instance values keepalived keeps "unset" until vrrp_complete_instance.
	ext map[*VRRPInstance]*vrrpExt
	// Per-sync-group state.
	sgExt map[*SyncGroup]*syncExt

	trackBFDs   []*vrrpTrackedBFD // bfd_instance names seen (bfd_vrrp_handler)
	bfdEvents   uint              // specified_event_processes
	scriptUser  bool              // script_user_set of the current vrrp_script
	removeScr   bool              // remove_script of the current vrrp_script
	trackFile   *TrackFile        // cur_track_file
	trackFileIn int               // track_file_init
	scriptFlags map[*VRRPScript]scriptFlags
	curGarp     *GarpGroup
	garpIfaces  map[string]*GarpGroup
	vrrpFiles   []*TrackFile // vrrp_data->vrrp_track_files
	rulePrio4   uint32       // next_rule_priority_ipv4
	rulePrio6   uint32
	rt          rtNames // the iproute2 names this read has looked up
}

// vrrpExt is keepalived's vrrp_t fields that the model holds resolved.
type vrrpExt struct {
	family               string // "" AF_UNSPEC, "inet", "inet6"
	wantState            string // "" VRRP_STATE_INIT, MASTER, BACKUP
	version              int    // 0 unset
	basePriority         int    // 0 unset
	ttl                  int    // -1 unset
	accept               int    // -1 unset
	strictMode           int    // -1 unset
	lowerPrioNoAdvert    int
	higherPrioSendAdvert int
	smtpAlert            int
	notifyPrioChanges    int
	garpLowerPrioDelay   *time.Duration
	garpLowerPrioRepeat  int // -1 unset
	garpExtraIfSet       bool
	ifp                  *ifEntry // vrrp->ifp
	configured           *ifEntry // vrrp->configured_ifp
	vrfIfp               *ifEntry
	saddrConfig          bool // VRRP_FLAG_SADDR_FROM_CONFIG
	saddr                netip.Addr
	mcastDst             netip.Addr
	unicastConf          bool // VRRP_FLAG_UNICAST_CONFIGURED
	vipCnt               int
	authType             string
	authPassSet          bool
	macSpecified         bool
	macUseVRID           bool
	vmacXmitBase         bool
	adverInt             uint64 // microseconds, 0 unset
	preemptDelay         uint64
	noPreempt            bool
	trackIfs             []*trackedIf
	trackScripts         []*trackedScript
	trackFiles           []*trackedFile
	trackProcs           []*trackedProc
	trackBFDs            []*trackedBFD
	sync                 *SyncGroup
	skipCheckAdvAddr     bool
}

type trackedIf struct {
	ifp     *ifEntry
	weight  int
	reverse bool
}

type trackedScript struct {
	scr     *VRRPScript
	weight  int
	reverse bool
}

type trackedFile struct {
	file    *TrackFile
	weight  int
	reverse bool
}

type trackedProc struct {
	proc    *TrackProcess
	weight  int
	reverse bool
}

type trackedBFD struct {
	bfd     *vrrpTrackedBFD
	weight  int
	reverse bool
}

type vrrpTrackedBFD struct {
	name    string
	weight  int
	reverse bool
}

type syncExt struct {
	members      []string
	hasMembers   bool
	trackIfs     []*trackedIf
	trackScripts []*trackedScript
	trackFiles   []*trackedFile
	trackProcs   []*trackedProc
	trackBFDs    []*trackedBFD
	smtpAlert    int
	notifyPrio   int
	instances    []*VRRPInstance
}

func newVRRPState(l *loader) *vrrpState {
	return &vrrpState{l: l, ifs: newIfTable(l), ext: map[*VRRPInstance]*vrrpExt{}, sgExt: map[*SyncGroup]*syncExt{},
		scriptFlags: map[*VRRPScript]scriptFlags{}, garpIfaces: map[string]*GarpGroup{}, rulePrio4: 16384, rulePrio6: 16384}
}

// cur is list_last_entry(&vrrp_data->vrrp). keepalived reads through the
// list head when the list is empty (a nameless first vrrp_instance whose
// keywords follow without braces); a scratch instance stands in for it.
func (s *vrrpState) cur() (*VRRPInstance, *vrrpExt) {
	if len(s.l.cfg.Instances) == 0 {
		in := &VRRPInstance{}
		return in, &vrrpExt{ttl: -1, accept: -1, strictMode: -1, lowerPrioNoAdvert: -1, higherPrioSendAdvert: -1,
			smtpAlert: -1, notifyPrioChanges: -1, garpLowerPrioRepeat: -1}
	}
	in := s.l.cfg.Instances[len(s.l.cfg.Instances)-1]
	return in, s.ext[in]
}

func (s *vrrpState) curSG() (*SyncGroup, *syncExt) {
	if len(s.l.cfg.SyncGroups) == 0 {
		return &SyncGroup{}, &syncExt{smtpAlert: -1, notifyPrio: -1}
	}
	sg := s.l.cfg.SyncGroups[len(s.l.cfg.SyncGroups)-1]
	return sg, s.sgExt[sg]
}

// vrrpKeywords is init_vrrp_keywords.
func (l *loader) vrrpKeywords(active bool) []*parser.Keyword {
	root := func(name string, h func(parser.Strvec), sub []*parser.Keyword) *parser.Keyword {
		k := &parser.Keyword{Name: name, Handler: h, Inactive: !active}
		if active {
			k.Sub = sub
		}
		return k
	}
	if !active {
		var kws []*parser.Keyword
		for _, n := range []string{"track_group", "static_ipaddress", "static_routes", "static_rules", "vrrp_sync_group",
			"garp_group", "linkbeat_interfaces", "vrrp_instance", "vrrp_script", "vrrp_track_process", "interface_up_down_delays"} {
			kws = append(kws, root(n, nil, nil))
		}
		return kws
	}
	s := l.vrrp
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	tg := root("track_group", s.trackGroup, []*parser.Keyword{kw("group", s.trackGroupGroup)})
	garp := root("garp_group", s.garpGroup, []*parser.Keyword{
		kw("garp_interval", func(v parser.Strvec) { s.garpInterval(v, "garp_interval") }),
		kw("gna_interval", func(v parser.Strvec) { s.garpInterval(v, "gna_interval") }),
		kw("interface", s.garpGroupInterface),
		kw("interfaces", s.garpGroupInterfaces),
	})
	garp.Close = s.garpGroupEnd
	inst := root("vrrp_instance", s.vrrpInstance, s.instanceKeywords())
	inst.Close = s.vrrpEnd
	scr := root("vrrp_script", s.vrrpScript, s.scriptKeywords())
	scr.Close = s.scriptEnd
	proc := root("vrrp_track_process", s.trackProcess, s.trackProcessKeywords())
	proc.Close = s.trackProcessEnd
	return []*parser.Keyword{
		tg,
		root("static_ipaddress", func(v parser.Strvec) {
			l.p.ValueBlock(v, func(w parser.Strvec) {
				if a, ok := s.allocIPAddress(w, true, nil); ok {
					l.cfg.StaticAddresses = append(l.cfg.StaticAddresses, a)
				}
			})
		}, nil),
		root("static_routes", func(v parser.Strvec) {
			l.p.ValueBlock(v, func(w parser.Strvec) {
				if r, ok := s.allocRoute(w, true); ok {
					l.cfg.StaticRoutes = append(l.cfg.StaticRoutes, r)
				}
			})
		}, nil),
		root("static_rules", func(v parser.Strvec) {
			l.p.ValueBlock(v, func(w parser.Strvec) {
				if r, ok := s.allocRule(w, true); ok {
					l.cfg.StaticRules = append(l.cfg.StaticRules, r)
				}
			})
		}, nil),
		root("vrrp_sync_group", s.syncGroup, s.syncGroupKeywords()),
		garp,
		root("linkbeat_interfaces", func(v parser.Strvec) { l.p.ValueBlock(v, s.linkbeatInterface) }, nil),
		inst,
		scr,
		proc,
		root("interface_up_down_delays", func(v parser.Strvec) { l.p.ValueBlock(v, s.upDownDelay) }, nil),
	}
}

// trackGroup is static_track_group_handler.
func (s *vrrpState) trackGroup(v parser.Strvec) {
	if v.Nil() {
		return
	}
	if v.Len() != 2 {
		s.l.report(parser.SevGeneral, "track_group must have a name - skipping")
		s.l.p.SkipBlock(true)
		return
	}
	name := v.Slot(1)
	for _, tg := range s.l.cfg.TrackGroups {
		if tg.Name == name {
			s.l.report(parser.SevGeneral, "track_group %s already defined", name)
			s.l.p.SkipBlock(true)
			return
		}
	}
	s.l.cfg.TrackGroups = append(s.l.cfg.TrackGroups, &StaticTrackGroup{Pos: s.l.pos(), Name: name})
}

func (s *vrrpState) trackGroupGroup(v parser.Strvec) {
	if len(s.l.cfg.TrackGroups) == 0 {
		s.l.p.ValueWords(v)
		return
	}
	tg := s.l.cfg.TrackGroups[len(s.l.cfg.TrackGroups)-1]
	if tg.Instances != nil {
		s.l.report(parser.SevGeneral, "Group list already specified for sync group %s", tg.Name)
		s.l.p.SkipBlock(true)
		return
	}
	tg.Instances = s.l.p.ValueWords(v)
	if tg.Instances == nil {
		s.l.report(parser.SevGeneral, "Warning - track group %s has empty group block", tg.Name)
	}
}

// linkbeatInterface is alloc_linkbeat_interface.
func (s *vrrpState) linkbeatInterface(v parser.Strvec) {
	ifp := s.ifs.get(v.At(0), s.dynamicLookup())
	if ifp == nil {
		s.l.report(parser.SevFatal, "unknown interface %s specified for linkbeat interface", v.Slot(0))
		return
	}
	if ifp.macvlan {
		return // keepalived logs "(%s): linkbeat not supported for vmacs since netlink works"
	}
	if v.Len() > 1 {
		t := v.Slot(1)
		if (t != "MII" && t != "ETHTOOL" && t != "IOCTL") || v.Len() > 2 {
			s.l.report(parser.SevGeneral, "extra characters %s in linkbeat interface", t)
		}
	}
	s.l.cfg.LinkbeatIfaces = append(s.l.cfg.LinkbeatIfaces, ifp.Name)
}

// dynamicLookup is if_get_by_ifname's global_data->dynamic_interfaces mode.
func (s *vrrpState) dynamicLookup() ifLookup {
	if s.l.cfg.Global.DynamicInterfaces {
		return ifCreateAlways
	}
	return ifNoCreate
}

// upDownDelay is alloc_if_up_down_delay.
func (s *vrrpState) upDownDelay(v parser.Strvec) {
	ifp := s.ifs.get(v.Slot(0), s.dynamicLookup())
	if ifp == nil {
		s.l.report(parser.SevFatal, "unknown interface %s specified for up/down delay", v.Slot(0))
		return
	}
	if v.Len() < 2 {
		return // keepalived logs "No timeouts specified for %s up/down delays"
	}
	down, ok := s.l.readTimer(v.Slot(1), 0, 255*timerHz, true)
	if !ok {
		return // "Invalid down delay %s for %s"
	}
	var up uint64
	if v.Len() > 2 {
		if up, ok = s.l.readTimer(v.Slot(2), 0, 255*timerHz, true); !ok {
			return
		}
	}
	ifp.upDown = true
	s.l.cfg.UpDownDelays = append(s.l.cfg.UpDownDelays, UpDownDelay{Interface: ifp.Name, Down: us(down), Up: us(up)})
}

// syncGroup is vrrp_sync_group_handler.
func (s *vrrpState) syncGroup(v parser.Strvec) {
	if v.Nil() {
		return
	}
	if v.Len() != 2 {
		s.l.report(parser.SevGeneral, "vrrp_sync_group must have a name - skipping")
		s.l.p.SkipBlock(true)
		return
	}
	name := v.Slot(1)
	for _, sg := range s.l.cfg.SyncGroups {
		if sg.Name == name {
			s.l.report(parser.SevGeneral, "vrrp sync group %s already defined", name)
			s.l.p.SkipBlock(true)
			return
		}
	}
	sg := &SyncGroup{Pos: s.l.pos(), Name: name}
	s.l.cfg.SyncGroups = append(s.l.cfg.SyncGroups, sg)
	s.sgExt[sg] = &syncExt{smtpAlert: -1, notifyPrio: -1}
}

func (s *vrrpState) syncGroupKeywords() []*parser.Keyword {
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	notify := func(name string, dst func(*SyncGroup) **Script, extra int) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			sg, _ := s.curSG()
			if *dst(sg) != nil {
				s.l.report(parser.SevGeneral, "vrrp group %s: %s script already specified - ignoring %s", sg.Name, name, v.Slot(1))
				return
			}
			*dst(sg) = s.l.notifyScript(extra, "notify")
		})
	}
	return []*parser.Keyword{
		kw("group", func(v parser.Strvec) {
			sg, x := s.curSG()
			if x.hasMembers {
				s.l.report(parser.SevGeneral, "Group list already specified for sync group %s", sg.Name)
				s.l.p.SkipBlock(true)
				return
			}
			x.members = s.l.p.ValueWords(v)
			x.hasMembers = x.members != nil
			if x.members == nil {
				s.l.report(parser.SevGeneral, "Warning - sync group %s has empty group block", sg.Name)
			}
		}),
		kw("track_interface", func(v parser.Strvec) {
			sg, x := s.curSG()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { x.trackIfs = s.allocTrackIf(sg.Name, x.trackIfs, w) })
		}),
		kw("track_script", func(v parser.Strvec) {
			sg, x := s.curSG()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { x.trackScripts = s.allocTrackScript(sg.Name, x.trackScripts, w) })
		}),
		kw("track_file", func(v parser.Strvec) {
			sg, x := s.curSG()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { x.trackFiles = s.allocTrackFile(sg.Name, x.trackFiles, w) })
		}),
		kw("track_process", func(v parser.Strvec) {
			sg, x := s.curSG()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { x.trackProcs = s.allocTrackProcess(sg.Name, x.trackProcs, w) })
		}),
		kw("track_bfd", func(v parser.Strvec) {
			sg, x := s.curSG()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { x.trackBFDs = s.allocTrackBFD(sg.Name, x.trackBFDs, w) })
		}),
		notify("notify_backup", func(sg *SyncGroup) **Script { return &sg.NotifyBackup }, 0),
		notify("notify_master", func(sg *SyncGroup) **Script { return &sg.NotifyMaster }, 0),
		notify("notify_fault", func(sg *SyncGroup) **Script { return &sg.NotifyFault }, 0),
		notify("notify_stop", func(sg *SyncGroup) **Script { return &sg.NotifyStop }, 0),
		notify("notify", func(sg *SyncGroup) **Script { return &sg.Notify }, 4),
		kw("smtp_alert", func(v parser.Strvec) {
			_, x := s.curSG()
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res == -1 {
					s.l.report(parser.SevGeneral, "Invalid vrrp_group smtp_alert parameter %s", v.Slot(1))
					return
				}
			}
			x.smtpAlert = res
		}),
		kw("global_tracking", func(parser.Strvec) {
			sg, _ := s.curSG()
			s.l.report(parser.SevGeneral, "(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group", sg.Name)
			sg.GlobalTracking = true
			sg.TrackingWeight = true
		}),
		kw("sync_group_tracking_weight", func(parser.Strvec) {
			sg, _ := s.curSG()
			sg.TrackingWeight = true
		}),
		kw("notify_priority_changes", func(v parser.Strvec) {
			sg, x := s.curSG()
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res < 0 {
					s.l.report(parser.SevGeneral, "(%s) Invalid value '%s' for sync group notify_priority_changes specified", sg.Name, v.Slot(1))
					return
				}
			}
			x.notifyPrio = res
		}),
	}
}

// vrrpInstance is vrrp_handler with alloc_vrrp.
func (s *vrrpState) vrrpInstance(v parser.Strvec) {
	if v.Nil() {
		return
	}
	if v.Len() != 2 {
		s.l.report(parser.SevGeneral, "vrrp_instance must have a name")
		s.l.p.SkipBlock(true)
		return
	}
	name := v.Slot(1)
	for _, in := range s.l.cfg.Instances {
		if in.Name == name {
			s.l.report(parser.SevGeneral, "vrrp instance %s already defined", name)
			s.l.p.SkipBlock(true)
			return
		}
	}
	g := &s.l.cfg.Global
	in := &VRRPInstance{Pos: s.l.pos(), Name: name, Preempt: true,
		GarpMasterRepeat: g.GarpMasterRepeat, GarpMasterRefresh: g.GarpMasterRefresh,
		GarpMasterRefreshRepeat: g.GarpMasterRefreshRep, GarpMasterDelay: g.GarpMasterDelay,
		DownTimerAdverts: g.DownTimerAdverts}
	s.l.cfg.Instances = append(s.l.cfg.Instances, in)
	s.ext[in] = &vrrpExt{ttl: -1, accept: -1, strictMode: -1, lowerPrioNoAdvert: -1, higherPrioSendAdvert: -1,
		smtpAlert: -1, notifyPrioChanges: -1, garpLowerPrioRepeat: -1, skipCheckAdvAddr: g.VRRPSkipCheckAdvAddr}
}

// vrrpEnd is vrrp_end_handler.
func (s *vrrpState) vrrpEnd() {
	in, x := s.cur()
	if x.unicastConf && (in.UseVMAC || in.UseIPVLAN) {
		if x.ifp == nil {
			s.l.report(parser.SevGeneral, "(%s): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac", in.Name)
			in.UseVMAC, in.UseIPVLAN = false, false
			in.VMACName, in.IPVLANName = "", ""
		} else if !x.vmacXmitBase {
			s.l.report(parser.SevGeneral, "(%s) unicast with use_vmac requires vmac_xmit_base - setting", in.Name)
			x.vmacXmitBase = true
		}
	}
	if len(in.UnicastPeers) == 0 && x.ttl != -1 {
		s.l.report(parser.SevGeneral, "(%s): Cannot use unicast_ttl without unicast peers - resetting", in.Name)
		x.ttl = 0
	}
	if x.ifp == nil {
		in.LinkbeatUsePolling = false
	}
}

// unicastPeer is vrrp_unicast_peer_handler.
func (s *vrrpState) unicastPeer(v parser.Strvec) {
	in, x := s.cur()
	x.unicastConf = true
	s.l.p.ValueBlock(v, func(w parser.Strvec) { s.allocUnicastPeer(in, x, w) })
}

// unicastChecksum is vrrp_unicast_chksum_handler.
func (s *vrrpState) unicastChecksum(v parser.Strvec) {
	in, x := s.cur()
	x.unicastConf = true
	if v.Len() >= 2 {
		if v.Slot(1) == "never" {
			in.OldUnicastChecksum = "never"
		} else {
			s.l.report(parser.SevGeneral, "(%s) Unknown old_unicast_chksum mode %s - ignoring", in.Name, v.Slot(1))
		}
	} else {
		in.OldUnicastChecksum = "config"
	}
}

// nativeIPv6 is vrrp_native_ipv6_handler.
func (s *vrrpState) nativeIPv6(parser.Strvec) {
	in, x := s.cur()
	if x.family == "inet" {
		s.l.report(parser.SevGeneral, "(%s) Cannot specify native_ipv6 with IPv4 addresses", in.Name)
		return
	}
	x.family = "inet6"
	x.version = 3
	in.NativeIPv6 = true
}

// unicastSrcIP is vrrp_unicast_srcip_handler.
func (s *vrrpState) unicastSrcIP(v parser.Strvec) {
	_, x := s.cur()
	x.unicastConf = true
	s.srcIP(v)
}

// vrid is vrrp_vrid_handler.
func (s *vrrpState) vrid(v parser.Strvec) {
	in, _ := s.cur()
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 255, false)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s): VRID '%s' not valid - must be between 1 & 255", in.Name, v.Slot(1))
		return
	}
	in.VRID = int(n)
}

// ttl is vrrp_ttl_handler.
func (s *vrrpState) ttl(v parser.Strvec) {
	in, x := s.cur()
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 255, false)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s): TTL '%s' not valid - must be between 0 & 255", in.Name, v.Slot(1))
		return
	}
	x.ttl = int(n)
}

// priority is vrrp_prio_handler.
func (s *vrrpState) priority(v parser.Strvec) {
	in, x := s.cur()
	n, ok := s.l.readUnsigned(v.Slot(1), 1, 255, false)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s) Priority not valid! must be between 1 & %d. Using default %d", in.Name, 255, 100)
		x.basePriority = 100
	} else {
		x.basePriority = int(n)
	}
}

// advertInt is vrrp_adv_handler.
func (s *vrrpState) advertInt(v parser.Strvec) {
	in, x := s.cur()
	n, ok := s.l.readDecimal(v.Slot(1), timerHz/100, 255*timerHz, 6, true)
	if !ok || n == 0 {
		s.l.report(parser.SevGeneral, "(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", in.Name, v.Slot(1))
		return
	}
	x.adverInt = n
}

// vip is vrrp_vip_handler.
func (s *vrrpState) vip(v parser.Strvec) {
	in, x := s.cur()
	s.l.p.ValueBlock(v, func(w parser.Strvec) { s.allocVIP(in, x, w) })
}

// evip is vrrp_evip_handler.
func (s *vrrpState) evip(v parser.Strvec) {
	in, _ := s.cur()
	s.l.p.ValueBlock(v, func(w parser.Strvec) {
		if a, ok := s.allocIPAddress(w, false, in); ok {
			in.ExcludedVIPs = append(in.ExcludedVIPs, a)
		}
	})
}

// linkbeat is vrrp_linkbeat_handler.
func (s *vrrpState) linkbeat(parser.Strvec) {
	in, _ := s.cur()
	in.LinkbeatUsePolling = true
	s.l.report(parser.SevGeneral, "(%s) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block", in.Name)
}

// vroutes is vrrp_vroutes_handler.
func (s *vrrpState) vroutes(v parser.Strvec) {
	in, _ := s.cur()
	s.l.p.ValueBlock(v, func(w parser.Strvec) {
		if r, ok := s.allocRoute(w, false); ok {
			in.Routes = append(in.Routes, r)
		}
	})
}

// vrules is vrrp_vrules_handler.
func (s *vrrpState) vrules(v parser.Strvec) {
	in, _ := s.cur()
	s.l.p.ValueBlock(v, func(w parser.Strvec) {
		if r, ok := s.allocRule(w, false); ok {
			in.Rules = append(in.Rules, r)
		}
	})
}

// skipCheckAdvAddr is vrrp_skip_check_adv_addr_handler.
func (s *vrrpState) skipCheckAdvAddr(v parser.Strvec) {
	in, x := s.cur()
	if v.Len() >= 2 {
		if checkTrueFalse(v.Slot(1)) >= 0 {
			x.skipCheckAdvAddr = true
		} else {
			s.l.report(parser.SevGeneral, "(%s) invalid skip_check_adv_addr %s specified", in.Name, v.Slot(1))
		}
	} else {
		x.skipCheckAdvAddr = true
	}
}

// preemptDelay is vrrp_preempt_delay_handler.
func (s *vrrpState) preemptDelay(v parser.Strvec) {
	in, x := s.cur()
	n, ok := s.l.readDecimal(v.Slot(1), 0, 1000*timerHz, 6, true)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s) Preempt_delay not valid! must be between 0-%d", in.Name, 1000)
		x.preemptDelay = 0
	} else {
		x.preemptDelay = n
	}
}

// debug is vrrp_debug_handler.
func (s *vrrpState) debug(v parser.Strvec) {
	in, _ := s.cur()
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 4, true)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s) Debug value '%s' not valid; must be between 0-4", in.Name, v.Slot(1))
	} else {
		in.Debug = int(n)
	}
}

// kernelRxBufSize is kernel_rx_buf_size_handler.
func (s *vrrpState) kernelRxBufSize(v parser.Strvec) {
	in, _ := s.cur()
	if v.Len() == 2 {
		if n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, false); ok {
			in.KernelRxBufSize = int(n)
			return
		}
	}
	s.l.report(parser.SevGeneral, "(%s) invalid kernel_rx_buf_size specified", in.Name)
}

// garpExtraIf is vrrp_garp_extra_if_handler.
func (s *vrrpState) garpExtraIf(v parser.Strvec) {
	in, x := s.cur()
	cmd := v.Slot(0)
	if cmd == "vmac_garp_intvl" {
		s.l.report(parser.SevDeprecated, "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\"")
	}
	delay := uint(1<<32 - 1)
	for i := 1; i < v.Len(); i++ {
		if v.Slot(i) == "all" {
			in.GarpExtraIfAll = true
			continue
		}
		n, ok := s.l.readUnsigned(v.Slot(i), 0, 86400, true)
		if !ok {
			s.l.report(parser.SevGeneral, "(%s): %s '%s' invalid - ignoring", in.Name, cmd, v.Slot(i))
			return
		}
		delay = n
	}
	if delay == 1<<32-1 {
		s.l.report(parser.SevGeneral, "(%s): %s specified without time - ignoring", in.Name, cmd)
		return
	}
	d := time.Duration(delay) * time.Second
	in.GarpExtraIf = &d
	x.garpExtraIfSet = true
}

// state is vrrp_state_handler.
func (s *vrrpState) state(v parser.Strvec) {
	in, x := s.cur()
	switch str := v.Slot(1); str {
	case "MASTER":
		x.wantState = "MASTER"
	case "BACKUP":
		if x.wantState == "MASTER" {
			s.l.report(parser.SevGeneral, "(%s) state previously set as MASTER - ignoring BACKUP", in.Name)
		} else {
			x.wantState = "BACKUP"
		}
	default:
		s.l.report(parser.SevGeneral, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, str)
		x.wantState = "BACKUP"
	}
}

// iface is vrrp_int_handler.
func (s *vrrpState) iface(v parser.Strvec) {
	in, x := s.cur()
	name := v.Slot(1)
	if len(name) >= ifNameSize {
		s.l.report(parser.SevGeneral, "Interface name '%s' too long - ignoring", name)
		return
	}
	x.ifp = s.ifs.get(name, ifCreateIfDynamic)
	if x.ifp == nil {
		s.l.report(parser.SevGeneral, "WARNING - interface %s for vrrp_instance %s doesn't exist", name, in.Name)
	} else if x.ifp.Loopback {
		s.l.report(parser.SevGeneral, "(%s) cannot use a loopback interface (%s) for vrrp - ignoring", in.Name, x.ifp.Name)
		x.ifp = nil
	}
	x.configured = x.ifp
	in.Interface = ""
	if x.ifp != nil {
		in.Interface = x.ifp.Name
	}
}

// vrf is vrrp_vrf_handler.
func (s *vrrpState) vrf(v parser.Strvec) {
	in, x := s.cur()
	name := v.Slot(1)
	switch {
	case len(name) >= ifNameSize:
		s.l.report(parser.SevGeneral, "(%s) VRF interface name '%s' too long - ignoring", in.Name, name)
	case x.ifp != nil:
		s.l.report(parser.SevGeneral, "(%s) Cannot specify VRF interface and interface - ignoring", in.Name)
	case x.vrfIfp != nil:
		s.l.report(parser.SevGeneral, "(%s) VRF interface already specified as '%s' - ignoring", in.Name, x.vrfIfp.Name)
	default:
		x.vrfIfp = s.ifs.get(name, ifCreateIfDynamic)
		if x.vrfIfp == nil {
			s.l.report(parser.SevGeneral, "(%s) WARNING - VRF interface %s doesn't exist", in.Name, name)
		} else if x.vrfIfp.Loopback {
			s.l.report(parser.SevGeneral, "(%s) cannot use a loopback interface (%s) for VRF - ignoring", in.Name, name)
			x.vrfIfp = nil
		}
		if x.vrfIfp != nil {
			in.VRF = x.vrfIfp.Name
		}
	}
}

// srcIP is vrrp_srcip_handler.
func (s *vrrpState) srcIP(v parser.Strvec) {
	in, x := s.cur()
	a, _, ok := s.l.inetStosockaddr(v.Slot(1), "")
	if !ok {
		s.l.report(parser.SevGeneral, "Configuration error: VRRP instance[%s] malformed src address[%s]. Skipping...", in.Name, v.Slot(1))
		return
	}
	x.saddr, x.saddrConfig = a, true
	fam := familyOf(a)
	if x.family == "" {
		x.family = fam
	} else if fam != x.family {
		s.l.report(parser.SevGeneral, "Configuration error: VRRP instance[%s] and src address[%s] MUST be of the same family !!! Skipping...", in.Name, v.Slot(1))
		x.saddr, x.saddrConfig = netip.Addr{}, false
	}
}

func familyOf(a netip.Addr) string {
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

// mcastDst is vrrp_mcast_dstip_handler.
func (s *vrrpState) mcastDst(v parser.Strvec) {
	in, x := s.cur()
	a, _, ok := s.l.inetStosockaddr(v.Slot(1), "")
	if !ok {
		s.l.report(parser.SevGeneral, "(%s) malformed mcast dest address %s. Skipping...", in.Name, v.Slot(1))
		return
	}
	x.mcastDst = a
	fam := familyOf(a)
	if x.family == "" {
		x.family = fam
	} else if fam != x.family {
		s.l.report(parser.SevGeneral, "(%s) mcast dest address %s MUST match VRRP instance family. Skipping...", in.Name, v.Slot(1))
		x.mcastDst = netip.Addr{}
	}
	if x.mcastDst.IsValid() && ((x.mcastDst.Is4() && !x.mcastDst.IsMulticast()) || (x.mcastDst.Is6() && !x.mcastDst.IsLinkLocalMulticast())) {
		ll := ""
		if x.mcastDst.Is6() {
			ll = " link-local"
		}
		s.l.report(parser.SevGeneral, "(%s) mcast_dst_ip %s not%s multicast. Skipping...", in.Name, v.Slot(1), ll)
		x.mcastDst = netip.Addr{}
	}
}

// version is vrrp_version_handler.
func (s *vrrpState) version(v parser.Strvec) {
	in, x := s.cur()
	n, ok := s.l.readInt(v.Slot(1), 2, 3, true)
	if !ok {
		s.l.report(parser.SevGeneral, "(%s): Version must be either 2 or 3", in.Name)
		return
	}
	if (x.version != 0 && x.version != n) || (n == 2 && x.family == "inet6") {
		s.l.report(parser.SevGeneral, "(%s) vrrp_version %d conflicts with configured or deduced version %d; ignoring.", in.Name, n, x.version)
		return
	}
	x.version = n
}

func (s *vrrpState) authType(v parser.Strvec) {
	in, x := s.cur()
	switch str := v.Slot(1); str {
	case "AH", "PASS":
		x.authType = str
	default:
		s.l.report(parser.SevGeneral, "(%s) unknown authentication type '%s'", in.Name, str)
	}
}

func (s *vrrpState) authPass(v parser.Strvec) {
	in, x := s.cur()
	str := v.Slot(1)
	if len(str) > 8 {
		str = str[:8]
		s.l.report(parser.SevGeneral, "Truncating auth_pass to %d characters", 8)
	}
	in.Auth.Pass = str
	x.authPassSet = str != ""
}

// allocUnicastPeer is alloc_vrrp_unicast_peer.
func (s *vrrpState) allocUnicastPeer(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
	a, _, ok := s.l.inetStosockaddr(w.Slot(0), "")
	if !ok {
		s.l.report(parser.SevGeneral, "Configuration error: VRRP instance[%s] malformed unicast peer address[%s]. Skipping...", in.Name, w.Slot(0))
		return
	}
	fam := familyOf(a)
	if x.family == "" {
		x.family = fam
	} else if fam != x.family {
		s.l.report(parser.SevGeneral, "Configuration error: VRRP instance[%s] and unicast peer address[%s] MUST be of the same family !!! Skipping...", in.Name, w.Slot(0))
		return
	}
	p := UnicastPeer{Pos: s.l.pos(), Addr: a, MinTTL: 0, MaxTTL: 255}
	for i := 1; i < w.Len(); i += 2 {
		if i+1 >= w.Len() {
			s.l.report(parser.SevGeneral, "(%s) %s is missing a value", in.Name, w.Slot(i))
			break
		}
		if n, ok := s.l.readUnsigned(w.Slot(i+1), 0, 255, false); ok {
			switch w.Slot(i) {
			case "min_ttl":
				p.MinTTL = int(n)
			case "max_ttl":
				p.MaxTTL = int(n)
			default:
				s.l.report(parser.SevGeneral, "(%s) unknown unicast_peer option %s", in.Name, w.Slot(i))
				goto done
			}
			in.CheckUnicastSrc = true
		}
	}
done:
	if p.MinTTL > p.MaxTTL {
		s.l.report(parser.SevGeneral, "(%s) min_ttl %d > max_ttl %d - all packets will be discarded", in.Name, p.MinTTL, p.MaxTTL)
	}
	in.UnicastPeers = append(in.UnicastPeers, p)
}

// allocVIP is alloc_vrrp_vip.
func (s *vrrpState) allocVIP(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
	a, ok := s.allocIPAddress(w, false, in)
	if !ok {
		return
	}
	fam := familyOf(a.Prefix.Addr())
	if x.family == "" {
		x.family = fam
	} else if fam != x.family {
		s.l.report(parser.SevGeneral, "(%s): address family must match VRRP instance [%s] - ignoring", in.Name, w.Slot(0))
		return
	}
	in.VIPs = append(in.VIPs, a)
	x.vipCnt++
}
