package config

import (
	"net/netip"
	"strings"
	"time"

	"keepalived-go/parser"
)

// A vrrp_instance: its model and its keyword table, side by side, so that
// a keyword used as written is one field of VRRPInstance and one row of a
// table below (a handler such as instFlag's writing the field). Keywords
// whose value needs keepalived's later passes (a global_defs default, a
// strict-mode override) keep it in vrrpExt until vrrp_complete.go decides.
// The tables are keepalived 2.2.7's init_vrrp_keywords (vrrp_parser.c), in
// its install order; the larger handlers live in vrrp_kw.go.

// VRRPInstance is vrrp_instance.
type VRRPInstance struct {
	Pos          Pos
	Name         string
	State        State
	Interface    string
	VRID         int
	Priority     int
	AdvertInt    time.Duration
	Version      int
	NativeIPv6   bool
	Auth         Auth
	VIPs         []VirtualAddress
	ExcludedVIPs []VirtualAddress
	Routes       []Route
	Rules        []Rule
	// RouteInterfaces are the interfaces the instance tracks because its
	// tracked virtual routes (dev) and rules (iif, oif) use them
	// (keepalived's TRACK_ROUTE, TRACK_RULE); StaticInterfaces those it
	// tracks for static addresses, routes (dev) and rules (iif) of a
	// track_group it is in (TRACK_SADDR, TRACK_SROUTE, TRACK_SRULE). Such a
	// tracking is unweighted: keepalived merges it with any weighted
	// track_interface of the same interface, which then puts the instance
	// in FAULT while the interface is down, whatever its weight.
	RouteInterfaces  []string
	StaticInterfaces []string
	UnicastSrcIP     netip.Addr
	UnicastPeers     []UnicastPeer
	UnicastTTL       int
	McastSrcIP       netip.Addr
	McastDstIP       netip.Addr
	Preempt          bool
	PreemptDelay     time.Duration
	Accept           *bool
	SkipCheckAdvAddr bool
	StrictMode       bool
	DontTrackPrimary bool
	TrackInterfaces  []TrackRef
	// SyncGroupTrackSkip are the sync group's tracked interfaces this
	// instance tracks itself: keepalived keeps one entry (the instance's,
	// carrying the group's weight), so the group's does not count again.
	SyncGroupTrackSkip      []string `dump:"-"`
	TrackScripts            []TrackRef
	TrackFiles              []TrackRef
	TrackProcesses          []TrackRef
	UseVMAC                 bool
	VMACName                string
	VMACXmitBase            bool
	GarpMasterDelay         time.Duration
	GarpMasterRepeat        int
	GarpMasterRefresh       time.Duration
	GarpMasterRefreshRepeat int
	GarpLowerPrioDelay      time.Duration
	GarpLowerPrioRepeat     int
	DownTimerAdverts        int
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool
	PromoteSecondaries      bool
	NotifyMaster            *Script
	NotifyBackup            *Script
	NotifyFault             *Script
	NotifyStop              *Script
	NotifyDeleted           *Script
	Notify                  *Script
	NotifyMasterRxLowerPri  *Script
	NotifyPriorityChanges   bool
	SMTPAlert               bool
	LVSSyncDaemonInterface  string
	SyncGroup               string
	Debug                   int
	Other                   []Setting

	// Family is the instance's address family once complete ("inet" or "inet6").
	Family           string
	NotifyDeletedSet bool // notify_deleted given (with or without a script)
	// TrackInterfacesAdded are the track_interface entries as the tracked
	// interfaces list the instance (add_vrrp_to_interface in
	// vrrp_complete_instance): configured weights, before a sync group
	// without sync_group_tracking_weight zeroes them or an address owner
	// drops them from TrackInterfaces.
	TrackInterfacesAdded []TrackRef `dump:"-"`
	Unicast              bool       // unicast peers configured and in use
	// UnicastConfigured is keepalived's VRRP_FLAG_UNICAST_CONFIGURED: a
	// unicast keyword was given (with or without peers).
	UnicastConfigured  bool
	UnicastFaultNoPeer bool
	CheckUnicastSrc    bool
	OldUnicastChecksum string // "" | "config" | "never"
	TrackSrcIP         bool
	TrackBFDs          []TrackRef
	VMACAddr           bool   // use_vmac_addr
	VMACMAC            []byte // MAC given to use_vmac (nil: RFC 5798's)
	VMACMACUseVRID     bool   // the MAC's last byte is the VRID (VRRP_VMAC_MAC_USE_VRID)
	UseIPVLAN          bool
	IPVLANName         string
	IPVLANType         string // "" bridge | private | vepa
	IPVLANAddr         netip.Prefix
	VRF                string
	KernelRxBufSize    int
	GarpExtraIf        *time.Duration
	GarpExtraIfAll     bool
	LinkbeatUsePolling bool
	// ConfigFaults counts configuration problems that keep the instance in
	// FAULT (keepalived's num_config_faults).
	ConfigFaults int
}

// instanceKeywords is the vrrp_instance block's table, its parts
// concatenated in init_vrrp_keywords' install order.
func (s *vrrpState) instanceKeywords() []*parser.Keyword {
	var kws []*parser.Keyword
	for _, part := range [][]*parser.Keyword{
		s.instanceLinkKeywords(),
		s.instanceTrackKeywords(),
		s.instanceAddrKeywords(),
		s.instancePreemptKeywords(),
		s.instanceNotifyKeywords(),
		s.instanceGarpKeywords(),
		s.instanceAdvertKeywords(),
	} {
		kws = append(kws, part...)
	}
	return kws
}

// instFlag makes a table entry for a keyword that only sets fields of the
// current instance.
func (s *vrrpState) instFlag(name string, set func(*VRRPInstance, *vrrpExt)) *parser.Keyword {
	return kw(name, func(parser.Strvec) {
		in, x := s.cur()
		set(in, x)
	})
}

// instTrueFalse is the shape of strict_mode, lower_prio_no_advert and
// higher_prio_send_advert: no argument means true.
func (s *vrrpState) instTrueFalse(v parser.Strvec, name string, dst func(*vrrpExt) *int) {
	in, x := s.cur()
	if v.Len() >= 2 {
		res := checkTrueFalse(v.Slot(1))
		if res >= 0 {
			*dst(x) = res
		} else {
			s.l.report(parser.SevGeneral, "(%s) invalid %s %s specified", in.Name, name, v.Slot(1))
		}
		return
	}
	*dst(x) = 1
}

// instanceLinkKeywords: use_vmac to vrf (VMAC/ipvlan, unicast, family,
// state and interface).
func (s *vrrpState) instanceLinkKeywords() []*parser.Keyword {
	return []*parser.Keyword{
		kw("use_vmac", s.useVMAC),
		s.instFlag("use_vmac_addr", func(in *VRRPInstance, _ *vrrpExt) { in.VMACAddr = true }),
		s.instFlag("vmac_xmit_base", func(_ *VRRPInstance, x *vrrpExt) { x.vmacXmitBase = true }),
		kw("use_ipvlan", s.useIPVLAN),
		kw("unicast_peer", s.unicastPeer),
		s.instFlag("unicast_fault_no_peer", func(in *VRRPInstance, x *vrrpExt) { x.unicastConf = true; in.UnicastFaultNoPeer = true }),
		s.instFlag("check_unicast_src", func(in *VRRPInstance, x *vrrpExt) { x.unicastConf = true; in.CheckUnicastSrc = true }),
		kw("old_unicast_checksum", s.unicastChecksum),
		kw("native_ipv6", s.nativeIPv6),
		kw("state", s.state),
		kw("interface", s.iface),
		kw("vrf", s.vrf),
	}
}

// instanceTrackKeywords: dont_track_primary and the track_* blocks.
func (s *vrrpState) instanceTrackKeywords() []*parser.Keyword {
	track := func(name string, alloc func(in *VRRPInstance, x *vrrpExt, w parser.Strvec)) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			in, x := s.cur()
			s.l.p.ValueBlock(v, func(w parser.Strvec) { alloc(in, x, w) })
		})
	}
	return []*parser.Keyword{
		s.instFlag("dont_track_primary", func(in *VRRPInstance, _ *vrrpExt) { in.DontTrackPrimary = true }),
		track("track_interface", func(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
			x.trackIfs = s.allocTrackIf(in.Name, x.trackIfs, w)
		}),
		track("track_script", func(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
			x.trackScripts = s.allocTrackScript(in.Name, x.trackScripts, w)
		}),
		track("track_file", func(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
			x.trackFiles = s.allocTrackFile(in.Name, x.trackFiles, w)
		}),
		track("track_process", func(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
			x.trackProcs = s.allocTrackProcess(in.Name, x.trackProcs, w)
		}),
		track("track_bfd", func(in *VRRPInstance, x *vrrpExt, w parser.Strvec) {
			x.trackBFDs = s.allocTrackBFD(in.Name, x.trackBFDs, w)
		}),
	}
}

// instanceAddrKeywords: mcast_src_ip to virtual_rules (addresses, VRID,
// priority, advert interval, routes and rules).
func (s *vrrpState) instanceAddrKeywords() []*parser.Keyword {
	return []*parser.Keyword{
		kw("mcast_src_ip", s.srcIP),
		kw("unicast_src_ip", s.unicastSrcIP),
		kw("mcast_dst_ip", s.mcastDst),
		s.instFlag("track_src_ip", func(in *VRRPInstance, _ *vrrpExt) { in.TrackSrcIP = true }),
		kw("virtual_router_id", s.vrid),
		kw("unicast_ttl", s.ttl),
		kw("version", s.version),
		kw("priority", s.priority),
		kw("advert_int", s.advertInt),
		kw("virtual_ipaddress", s.vip),
		kw("virtual_ipaddress_excluded", s.evip),
		s.instFlag("promote_secondaries", func(in *VRRPInstance, _ *vrrpExt) { in.PromoteSecondaries = true }),
		kw("linkbeat_use_polling", s.linkbeat),
		kw("virtual_routes", s.vroutes),
		kw("virtual_rules", s.vrules),
	}
}

// instancePreemptKeywords: accept to debug.
func (s *vrrpState) instancePreemptKeywords() []*parser.Keyword {
	return []*parser.Keyword{
		s.instFlag("accept", func(_ *VRRPInstance, x *vrrpExt) { x.accept = 1 }),
		s.instFlag("no_accept", func(_ *VRRPInstance, x *vrrpExt) { x.accept = 0 }),
		kw("skip_check_adv_addr", s.skipCheckAdvAddr),
		kw("strict_mode", func(v parser.Strvec) {
			s.instTrueFalse(v, "strict_mode", func(x *vrrpExt) *int { return &x.strictMode })
		}),
		s.instFlag("preempt", func(_ *VRRPInstance, x *vrrpExt) { x.noPreempt = false }),
		s.instFlag("nopreempt", func(_ *VRRPInstance, x *vrrpExt) { x.noPreempt = true }),
		kw("preempt_delay", s.preemptDelay),
		kw("debug", s.debug),
	}
}

func (s *vrrpState) instanceNotifyKeywords() []*parser.Keyword {
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	notify := func(name string, dst func(*VRRPInstance) **Script, extra int) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			in, _ := s.cur()
			if *dst(in) != nil {
				s.l.report(parser.SevGeneral, "(%s) %s script already specified - ignoring %s", in.Name, name, v.Slot(1))
				return
			}
			*dst(in) = s.l.notifyScript(extra, "notify")
		})
	}
	return []*parser.Keyword{
		notify("notify_backup", func(in *VRRPInstance) **Script { return &in.NotifyBackup }, 0),
		notify("notify_master", func(in *VRRPInstance) **Script { return &in.NotifyMaster }, 0),
		notify("notify_fault", func(in *VRRPInstance) **Script { return &in.NotifyFault }, 0),
		notify("notify_stop", func(in *VRRPInstance) **Script { return &in.NotifyStop }, 0),
		kw("notify_deleted", func(v parser.Strvec) {
			in, _ := s.cur()
			if in.NotifyDeletedSet {
				s.l.report(parser.SevGeneral, "(%s) notify_deleted already specified - ignoring %s", in.Name, v.At(1))
				return
			}
			if v.Len() > 1 {
				in.NotifyDeleted = s.l.notifyScript(0, "notify")
			}
			in.NotifyDeletedSet = true
		}),
		notify("notify", func(in *VRRPInstance) **Script { return &in.Notify }, 4),
		notify("notify_master_rx_lower_pri", func(in *VRRPInstance) **Script { return &in.NotifyMasterRxLowerPri }, 0),
		kw("smtp_alert", func(v parser.Strvec) {
			_, x := s.cur()
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res == -1 {
					s.l.report(parser.SevGeneral, "Invalid vrrp_instance smtp_alert parameter %s", v.Slot(1))
					return
				}
			}
			x.smtpAlert = res
		}),
		kw("notify_priority_changes", func(v parser.Strvec) {
			in, x := s.cur()
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res < 0 {
					s.l.report(parser.SevGeneral, "(%s) Invalid value '%s' for notify_priority_changes specified", in.Name, v.Slot(1))
					return
				}
			}
			x.notifyPrioChanges = res
		}),
		kw("lvs_sync_daemon_interface", func(v parser.Strvec) {
			in, _ := s.cur()
			g := &s.l.cfg.Global
			s.l.report(parser.SevGeneral, "(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.", in.Name)
			pad := len(in.Name) - 2
			if pad < 0 {
				pad = 0
			}
			s.l.report(parser.SevGeneral, "      %sPlease use global lvs_sync_daemon", strings.Repeat(" ", pad))
			if g.LVSSyncDaemon != nil {
				s.l.report(parser.SevGeneral, "(%s) lvs_sync_daemon_interface has already been specified as %s - ignoring", in.Name, g.LVSSyncDaemon.Interface)
				return
			}
			g.LVSSyncDaemon = &SyncDaemon{Pos: s.l.pos(), Interface: v.Slot(1), Instance: in.Name, SyncID: -1}
			in.LVSSyncDaemonInterface = v.Slot(1)
		}),
	}
}

func (s *vrrpState) instanceGarpKeywords() []*parser.Keyword {
	kw := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h}
	}
	repeat := func(name string, dst func(*VRRPInstance) *int) *parser.Keyword {
		return kw(name, func(v parser.Strvec) {
			in, _ := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): %s '%s' invalid - ignoring", in.Name, name, v.Slot(1))
				return
			}
			if n == 0 {
				s.l.report(parser.SevGeneral, "(%s): %s must be greater than 0, setting to 1", in.Name, name)
				n = 1
			}
			*dst(in) = int(n)
		})
	}
	return []*parser.Keyword{
		kw("garp_master_delay", func(v parser.Strvec) {
			in, _ := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): garp_master_delay '%s' invalid - ignoring", in.Name, v.Slot(1))
				return
			}
			in.GarpMasterDelay = time.Duration(n) * time.Second
		}),
		kw("garp_master_refresh", func(v parser.Strvec) {
			in, _ := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): Invalid garp_master_refresh '%s' - ignoring", in.Name, v.Slot(1))
				n = 0
			}
			in.GarpMasterRefresh = time.Duration(n) * time.Second
		}),
		repeat("garp_master_repeat", func(in *VRRPInstance) *int { return &in.GarpMasterRepeat }),
		repeat("garp_master_refresh_repeat", func(in *VRRPInstance) *int { return &in.GarpMasterRefreshRepeat }),
		kw("garp_lower_prio_delay", func(v parser.Strvec) {
			in, x := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): garp_lower_prio_delay '%s' invalid - ignoring", in.Name, v.Slot(1))
				return
			}
			d := time.Duration(n) * time.Second
			x.garpLowerPrioDelay = &d
		}),
		kw("garp_lower_prio_repeat", func(v parser.Strvec) {
			in, x := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<31-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): Invalid garp_lower_prio_repeat '%s'", in.Name, v.Slot(1))
				return
			}
			x.garpLowerPrioRepeat = int(n)
		}),
		kw("down_timer_adverts", func(v parser.Strvec) {
			in, _ := s.cur()
			n, ok := s.l.readUnsigned(v.Slot(1), 1, 100, true)
			if !ok {
				s.l.report(parser.SevGeneral, "(%s): Invalid down_timer_adverts [1:100] '%s'", in.Name, v.Slot(1))
				return
			}
			in.DownTimerAdverts = int(n)
		}),
		kw("garp_extra_if", s.garpExtraIf),
		kw("vmac_garp_intvl", s.garpExtraIf),
	}
}

// instanceAdvertKeywords: the table's tail after the garp keywords,
// lower_prio_no_advert to the authentication block.
func (s *vrrpState) instanceAdvertKeywords() []*parser.Keyword {
	auth := kw("authentication", nil)
	auth.Sub = []*parser.Keyword{kw("auth_type", s.authType), kw("auth_pass", s.authPass)}
	return []*parser.Keyword{
		kw("lower_prio_no_advert", func(v parser.Strvec) {
			s.instTrueFalse(v, "lower_prio_no_advert", func(x *vrrpExt) *int { return &x.lowerPrioNoAdvert })
		}),
		kw("higher_prio_send_advert", func(v parser.Strvec) {
			s.instTrueFalse(v, "higher_prio_send_advert", func(x *vrrpExt) *int { return &x.higherPrioSendAdvert })
		}),
		kw("kernel_rx_buf_size", s.kernelRxBufSize),
		auth,
	}
}
