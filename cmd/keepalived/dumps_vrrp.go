package main

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/packet"
)

// stateName is keepalived's get_state_str.
func stateName(s vrrp.State) string {
	switch s {
	case vrrp.StateInit:
		return "INIT"
	case vrrp.StateBackup:
		return "BACKUP"
	case vrrp.StateMaster:
		return "MASTER"
	case vrrp.StateFault:
		return "FAULT"
	}
	return "unknown"
}

// stateNum is keepalived's VRRP_STATE_* value, as in its JSON dump.
func stateNum(s vrrp.State) int {
	switch s {
	case vrrp.StateBackup:
		return 1
	case vrrp.StateMaster:
		return 2
	case vrrp.StateFault:
		return 3
	}
	return 0
}

// formatVIP is keepalived's format_ipaddress (config.VirtualAddress.Format):
// dev is the address's interface (its own dev, else the instance's), links
// the namespace's links (a macvlan or ipvlan shows as name@base), set
// whether the address is installed now.
func formatVIP(v config.VirtualAddress, dev string, links linkTable, set bool) string {
	if v.Dev != "" {
		dev = v.Dev
	}
	return v.Format(dev, links.base(dev), set)
}

// vrrpDataDump is dump_data_vrrp: global_defs as the VRRP process sees
// them, the GARP delay groups, the VRRP data (dump_vrrp_data) and the
// interfaces keepalived knows.
func vrrpDataDump(env dumpEnv, snap vrrpengine.Status, bfdUp map[string]bool) []byte {
	var c confWriter
	writeGlobal(&c, env, procVRRP)
	env.arpReset = map[string]int{}
	for i := range snap.Instances {
		// Only an IPv4 instance's VMAC changes its base's ARP settings
		// (netlink_link_add_vmac: set_interface_parameters for AF_INET).
		if is := &snap.Instances[i]; is.VMAC != "" && !is.IPv6 {
			env.arpReset[is.BaseInterface]++
		}
	}
	var order []string
	for _, ifi := range env.ifaces {
		order = append(order, ifi.Name)
	}
	delays := garpDelays(env.cfg, snap, env.links)
	writeGarpDelays(&c, delays, order)
	writeStatic(&c, env, snap)
	if len(snap.Instances) > 0 {
		c.f("------< VRRP Topology >------")
		for i := range snap.Instances {
			writeInstance(&c, env, &snap.Instances[i])
		}
	}
	writeSockpool(&c, env, snap)
	writeSyncGroups(&c, env.cfg, snap)
	writeScripts(&c, env.cfg, snap)
	writeTrackFiles(&c, env, snap)
	writeTrackProcesses(&c, env)
	writeVRRPTrackBFDs(&c, env.cfg, bfdUp)
	writeInterfaces(&c, env, snap, delays)
	return c.b.Bytes()
}

// writeStatic is the static addresses, routes, rules and track groups of
// dump_vrrp_data.
func writeStatic(c *confWriter, env dumpEnv, snap vrrpengine.Status) {
	cfg := env.cfg
	if len(cfg.StaticAddresses) > 0 {
		c.f("------< Static Addresses >------")
		for i, a := range cfg.StaticAddresses {
			// " set" once the VRRP process installed it.
			set := i < len(snap.StaticAddresses) && snap.StaticAddresses[i].Set
			c.f("     %s", formatVIP(a, "", env.links, set))
		}
	}
	if len(cfg.StaticRoutes) > 0 {
		c.f("------< Static Routes >------")
		for i := range cfg.StaticRoutes {
			set := i < len(snap.StaticRoutes) && snap.StaticRoutes[i].Set
			c.f("     %s%s", cfg.StaticRoutes[i].String(), routeInstalled(cfg, &cfg.StaticRoutes[i], set))
		}
	}
	if len(cfg.StaticRules) > 0 {
		c.f("------< Static Rules >------")
		for i := range cfg.StaticRules {
			c.f("     %s", cfg.StaticRules[i].String())
		}
	}
	if len(cfg.TrackGroups) > 0 {
		c.f("------< Static Track groups >------")
		for _, tg := range cfg.TrackGroups {
			c.f(" Static Track Group = %s", tg.Name)
			if len(tg.Instances) > 0 {
				c.f("   VRRP member instances :")
				for _, m := range tg.Instances {
					c.f("     %s", m)
				}
			}
		}
	}
}

// writeSockpool is dump_sock_pool: the engine's sockets and the
// instances on each.
func writeSockpool(c *confWriter, env dumpEnv, snap vrrpengine.Status) {
	if len(snap.Sockets) == 0 {
		return
	}
	src := map[string]netip.Addr{}
	byName := map[string]*vrrpengine.InstanceStatus{}
	for i := range snap.Instances {
		src[snap.Instances[i].Name] = snap.Instances[i].SrcAddr
		byName[snap.Instances[i].Name] = &snap.Instances[i]
	}
	c.f("------< VRRP Sockpool >------")
	for _, s := range snap.Sockets {
		c.f(" fd_in %d fd_out = %d", -1, -1)
		c.f("   Interface = %s", s.Interface)
		c.f("   Family = %s", map[bool]string{false: "IPv4", true: "IPv6"}[s.IPv6])
		c.f("   Protocol = %s", map[bool]string{false: "VRRP", true: "AH"}[s.Proto == packet.ProtoAH])
		c.f("   Type = %sicast", map[bool]string{false: "Mult", true: "Un"}[s.Unicast])
		if s.Unicast && len(s.Instances) > 0 {
			c.f("   Address = %s", c.sockaddr(src[s.Instances[0].Name]))
		}
		rx := 0
		for _, m := range s.Instances {
			if is := byName[m.Name]; is != nil {
				rx += rxBufSize(env, is)
			}
		}
		c.f("   Rx buf size = %d", rx)
		c.f("   VRRP instances")
		for _, m := range s.Instances {
			c.f("     %s vrid %d", m.Name, m.VRID)
		}
	}
}

// writeSyncGroups is dump_sync_group_list.
func writeSyncGroups(c *confWriter, cfg *config.Config, snap vrrpengine.Status) {
	if len(cfg.SyncGroups) == 0 {
		return
	}
	c.f("------< VRRP Sync groups >------")
	byName := map[string]*vrrpengine.InstanceStatus{}
	for i := range snap.Instances {
		byName[snap.Instances[i].Name] = &snap.Instances[i]
	}
	groupState := map[string]vrrp.State{}
	for _, g := range snap.Groups {
		groupState[g.Name] = g.State
	}
	for _, sg := range cfg.SyncGroups {
		nFault, nInit := 0, 0
		for _, m := range sg.Members {
			if is := byName[m]; is != nil {
				switch is.State {
				case vrrp.StateFault:
					nFault++
				case vrrp.StateInit:
					nInit++
				}
			}
		}
		st, ok := groupState[sg.Name]
		if !ok {
			st = vrrp.StateInit
		}
		c.f(" VRRP Sync Group = %s, %s", sg.Name, stateName(st))
		c.f("   Num member fault %d, num member init %d", nFault, nInit)
		if len(sg.Members) > 0 {
			c.f("   VRRP member instances :")
			for _, m := range sg.Members {
				c.f("     %s", m)
			}
		}
		if sg.TrackingWeight {
			c.f("   sync group tracking weight set")
		}
		c.f("   Using smtp notification = %s", yesNo(sg.SMTPAlert))
		if sg.NotifyPriorityChanges != nil {
			c.f("   Notify priority changes = %s", yesNo(*sg.NotifyPriorityChanges))
		}
		writeTrackList(c, "   Tracked interfaces :", trackIfKind, sg.TrackInterfaces, nil)
		writeTrackList(c, "   Tracked scripts :", trackScriptKind, sg.TrackScripts, scriptWeight(cfg))
		writeTrackList(c, "   Tracked files :", trackFileKind, sg.TrackFiles, fileWeight(cfg))
		writeTrackList(c, "   Tracked process :", trackProcKind, sg.TrackProcesses, nil)
		writeTrackList(c, "   Tracked BFDs :", trackBFDKind, sg.TrackBFDs, nil)
		writeNotify(c, cfg, "Backup", sg.NotifyBackup)
		writeNotify(c, cfg, "Master", sg.NotifyMaster)
		writeNotify(c, cfg, "Fault", sg.NotifyFault)
		writeNotify(c, cfg, "Stop", sg.NotifyStop)
		writeNotify(c, cfg, "Generic", sg.Notify)
	}
}

// writeScripts is dump_vscript_list.
func writeScripts(c *confWriter, cfg *config.Config, snap vrrpengine.Status) {
	if len(snap.Scripts) == 0 {
		return
	}
	c.f("------< VRRP Scripts >------")
	for _, s := range snap.Scripts {
		sc := s.Config
		c.f(" VRRP Script = %s", s.Name)
		c.f("   Command = %s", script.CmdString(s.Argv))
		c.f("   Interval = %d sec", secs(sc.Interval))
		c.f("   Timeout = %d sec", secs(sc.Timeout))
		c.f("   Weight = %d%s", sc.Weight, map[bool]string{true: " reverse"}[sc.WeightReverse])
		c.f("   Rise = %d", s.Rise)
		c.f("   Fall = %d", s.Fall)
		c.f("   Result = %d", s.Result)
		c.f("   Insecure = %s", yesNo(s.Insecure))
		init := "unknown"
		if s.Init {
			init = "INIT"
			if sc.InitFail {
				init = "INIT/FAILED"
			}
		}
		c.f("   Init state = %s", init)
		c.f("   Status = %s", map[bool]string{true: "GOOD", false: "BAD"}[s.Result >= s.Rise])
		uid, gid := s.UID, s.GID
		if len(s.Argv) == 0 {
			uid, gid = scriptIDs(cfg, sc.Script)
		}
		c.f("   Script uid:gid = %d:%d", uid, gid)
		c.f("   VRRP instances :")
		writeTracking(c, scriptTracking(cfg, s.Name))
		c.f("   State = %s", map[bool]string{true: "running", false: "idle"}[s.Running])
	}
}

func writeNotify(c *confWriter, cfg *config.Config, kind string, s *config.Script) {
	argv := scriptArgv(s)
	if argv == nil {
		return
	}
	uid, gid := scriptIDs(cfg, s)
	c.f("   %s state transition script = %s, uid:gid %d:%d", kind, script.CmdString(argv), uid, gid)
}

// trackedIfaces are an instance's track_interface entries keepalived
// keeps: its own interface is dropped ("Ignoring track_interface ...").
func trackedIfaces(is *vrrpengine.InstanceStatus) []config.TrackRef {
	var out []config.TrackRef
	for _, r := range is.Config.TrackInterfaces {
		if r.Name == is.BaseInterface && r.Weight == 0 {
			continue
		}
		out = append(out, r)
	}
	return out
}

func writeInstance(c *confWriter, env dumpEnv, is *vrrpengine.InstanceStatus) {
	writeInstanceState(c, is)
	writeInstanceLink(c, is)
	writeInstanceTimers(c, is)
	writeInstanceAddrs(c, env, is)
	writeInstanceTracking(c, env, is)
}

// writeInstanceState is the state part of dump_vrrp.
func writeInstanceState(c *confWriter, is *vrrpengine.InstanceStatus) {
	c.f(" VRRP Instance = %s", is.Name)
	c.f("   VRRP Version = %d", is.Version)
	if is.SyncGroup != "" {
		c.f("   Sync group = %s", is.SyncGroup)
	}
	if is.IPv6 {
		c.f("   Using Native IPv6")
	}
	c.f("   State = %s", stateName(is.State))
	if is.State == vrrp.StateBackup {
		c.f("   Master router = %s", c.sockaddr(is.MasterAddr))
		c.f("   Master priority = %d", is.MasterPriority)
		if is.Version == 3 {
			c.f("   Master advert int = %.2f sec", is.MasterAdvertInt.Seconds())
		}
	}
	if instanceFlags(is) {
		c.f("   Flags:")
		in := is.Config
		switch {
		case in.Unicast:
			c.f("     Using unicast")
		case in.UnicastConfigured:
			c.f("     Unicast config option specified but using multicast")
		}
		if in.UnicastFaultNoPeer {
			c.f("     If unicast go to fault state if no peers")
		}
	} else {
		c.f("   Flags: none")
	}
	c.f("   Wantstate = %s", stateName(is.WantState))
	c.f("   Number of config faults = %d", is.Config.ConfigFaults)
	c.f("   Number of interface and track script faults = %d", len(is.Faults))
	c.f("   Number of track scripts init = %d", is.ScriptsInit)
	c.f("   Last transition = %s", tvString(is.LastTransition))
	if is.Timer.IsZero() {
		c.f("   Read timeout = DISABLED")
	} else {
		c.f("   Read timeout = %s", tvString(is.Timer))
	}
	c.f("   Master down timer = %d usecs", is.MasterDownInterval.Microseconds())
}

// instanceFlags tells whether any bit of keepalived's vrrp->flags is set:
// the bits its parser and vrrp_complete_instance set from the
// configuration, and the VMAC's up bit.
func instanceFlags(is *vrrpengine.InstanceStatus) bool {
	in := is.Config
	evipOtherFamily := false
	if in.UseVMAC || in.UseIPVLAN {
		for _, v := range in.ExcludedVIPs {
			if v.Prefix.Addr().Is6() != is.IPv6 {
				evipOtherFamily = true
			}
		}
	}
	return in.UnicastConfigured || in.Unicast || in.UnicastFaultNoPeer || in.DontTrackPrimary ||
		in.LinkbeatUsePolling || in.SkipCheckAdvAddr || in.UnicastSrcIP.IsValid() || in.McastSrcIP.IsValid() ||
		in.TrackSrcIP || in.CheckUnicastSrc || in.PromoteSecondaries || evipOtherFamily || !in.Preempt ||
		in.UseVMAC || in.VMACXmitBase || in.VMACAddr || in.UseIPVLAN || in.VMACMAC != nil ||
		in.VMACMACUseVRID || in.GarpExtraIfAll || is.VMAC != ""
}

// writeInstanceLink is the interface and source address part.
func writeInstanceLink(c *confWriter, is *vrrpengine.InstanceStatus) {
	in := is.Config
	if in.UseVMAC && is.VMAC != "" {
		c.f("   Use VMAC, i/f name %s, is_up = true, xmit_base = %s", is.VMAC, tf(in.VMACXmitBase))
		if m := in.VMACMAC; len(m) == 6 {
			c.f("     MAC = %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
		}
	}
	if in.VMACAddr {
		c.f("   Use VMAC for VIPs on other interfaces")
	} else if in.UseIPVLAN && is.VMAC != "" {
		addr, mode := "", in.IPVLANType
		if in.IPVLANAddr.IsValid() {
			addr = ", i/f address = " + in.IPVLANAddr.String()
		}
		if mode == "" {
			mode = "bridge"
		}
		c.f("   Use IPVLAN, i/f %s, is_up = true%s, type %s", is.VMAC, addr, mode)
	}
	if is.VMAC != "" {
		kind, xmit := "vmac", ""
		if in.UseIPVLAN {
			kind = "ipvlan"
		}
		if in.VMACXmitBase {
			xmit = ", xmit base i/f"
		}
		c.f("   Interface = %s, %s on %s%s", is.VMAC, kind, is.BaseInterface, xmit)
	} else {
		c.f("   Interface = %s", is.Interface)
	}
	if in.DontTrackPrimary {
		c.f("   VRRP interface tracking disabled")
	}
	if in.SkipCheckAdvAddr {
		c.f("   Skip checking advert IP addresses")
	}
	if is.Strict {
		c.f("   Enforcing strict VRRP compliance")
	}
	src := "(none)"
	if is.SrcAddr.IsValid() {
		src = c.sockaddr(is.SrcAddr)
	}
	c.f("   Using src_ip = %s%s", src, map[bool]string{true: " (from configuration)"}[is.SrcAddrFromConfig])
	if len(is.UnicastPeers) == 0 {
		if is.IPv6 {
			idx := 0
			if ifi, err := net.InterfaceByName(is.Interface); err == nil {
				idx = ifi.Index
			}
			c.f("   Multicast address %s, ifindex %d", c.sockaddr(is.McastGroup), idx)
		} else {
			c.f("   Multicast address %s", c.sockaddr(is.McastGroup))
		}
	}
}

// writeInstanceTimers is the timer, priority and authentication part.
func writeInstanceTimers(c *confWriter, is *vrrpengine.InstanceStatus) {
	in := is.Config
	c.f("   Gratuitous ARP delay = %d", secs(in.GarpMasterDelay))
	c.f("   Gratuitous ARP repeat = %d", in.GarpMasterRepeat)
	c.f("   Gratuitous ARP refresh = %d", secs(in.GarpMasterRefresh))
	c.f("   Gratuitous ARP refresh repeat = %d", in.GarpMasterRefreshRepeat)
	c.f("   Gratuitous ARP lower priority delay = %d", secs(in.GarpLowerPrioDelay))
	c.f("   Gratuitous ARP lower priority repeat = %d", in.GarpLowerPrioRepeat)
	c.f("   Down timer adverts = %d", is.DownTimerAdverts)
	c.f("   Send advert after receive lower priority advert = %s", tf(!in.LowerPrioNoAdvert))
	c.f("   Send advert after receive higher priority advert = %s", tf(in.HigherPrioSendAdvert))
	c.f("   Virtual Router ID = %d", is.VRID)
	c.f("   Priority = %d", is.BasePriority)
	c.f("   Effective priority = %d", is.EffectivePriority)
	c.f("   Total priority = %d", is.TotalPriority)
	if is.Version == 2 {
		c.f("   Advert interval = %d sec", secs(is.AdvertInt))
	} else {
		c.f("   Advert interval = %d milli-sec", is.AdvertInt.Milliseconds())
		if is.State == vrrp.StateBackup {
			c.f("   Master advert interval = %d milli-sec", is.MasterAdvertInt.Milliseconds())
		}
	}
	c.f("   Accept = %s", map[bool]string{true: "enabled", false: "disabled"}[is.Accept])
	c.f("   Preempt = %s", map[bool]string{true: "disabled", false: "enabled"}[is.NoPreempt])
	if is.PreemptDelay > 0 {
		c.f("   Preempt delay = %s secs", strconv.FormatFloat(is.PreemptDelay.Seconds(), 'g', 6, 64))
	}
	c.f("   Promote_secondaries = %s", map[bool]string{true: "enabled", false: "disabled"}[in.PromoteSecondaries])
	switch {
	case is.AuthType == packet.AuthAH:
		c.f("   Authentication type = IPSEC_AH")
	case is.AuthType == packet.AuthPass:
		c.f("   Authentication type = SIMPLE_PASSWORD")
		c.f("   Password = %s", is.AuthPass)
	case is.Version == 2:
		c.f("   Authentication type = none")
	}
	if in.KernelRxBufSize > 0 {
		c.f("   Kernel rx buffer size = %d", in.KernelRxBufSize)
	}
	if in.Debug > 0 {
		c.f("   Debug level = %d", in.Debug)
	}
}

// writeInstanceAddrs lists the addresses, peers, sockets, routes and rules.
func writeInstanceAddrs(c *confWriter, env dumpEnv, is *vrrpengine.InstanceStatus) {
	in := is.Config
	// An address without dev goes on vrrp->ifp: the VMAC when there is
	// one, even when adverts leave from the base (vmac_xmit_base).
	dev := is.Interface
	if is.VMAC != "" {
		dev = is.VMAC
	}
	if len(in.VIPs) > 0 {
		c.f("   Virtual IP (%d):", len(in.VIPs))
		for _, v := range in.VIPs {
			c.f("     %s", formatVIP(v, dev, env.links, is.VIPSet))
		}
	}
	if len(in.ExcludedVIPs) > 0 {
		c.f("   Virtual IP Excluded :")
		for _, v := range in.ExcludedVIPs {
			c.f("     %s", formatVIP(v, dev, env.links, is.VIPSet))
		}
	}
	if len(is.UnicastPeers) > 0 {
		if in.UnicastTTL > 0 {
			c.f("   Unicast TTL = %d", in.UnicastTTL)
		}
		c.f("   Check unicast src : %s", yesNo(in.CheckUnicastSrc))
		c.f("   Unicast Peer :")
		for _, p := range in.UnicastPeers {
			c.f("     %s min_ttl %d max_ttl %d", c.sockaddr(p.Addr), p.MinTTL, max(p.MaxTTL, 0))
		}
		c.f("   Unicast checksum compatibility = no")
	}
	if is.HasSocket {
		c.f("   fd_in %d, fd_out %d", -1, -1)
	} else {
		c.f("   No sockets allocated")
	}
	if len(in.Routes) > 0 {
		c.f("   Virtual Routes :")
		for i := range in.Routes {
			set := i < len(is.Routes) && is.Routes[i].Set
			c.f("     %s%s", in.Routes[i].String(), routeInstalled(env.cfg, &in.Routes[i], set))
		}
	}
	if len(in.Rules) > 0 {
		c.f("   Virtual Rules :")
		for _, r := range in.Rules {
			c.f("     %s", r.String())
		}
	}
}

// writeInstanceTracking lists what the instance tracks and its scripts.
func writeInstanceTracking(c *confWriter, env dumpEnv, is *vrrpengine.InstanceStatus) {
	cfg, in := env.cfg, is.Config
	writeTrackList(c, "   Tracked interfaces :", trackIfKind, trackedIfaces(is), nil)
	writeTrackList(c, "   Tracked scripts :", trackScriptKind, in.TrackScripts, scriptWeight(cfg))
	writeTrackList(c, "   Tracked files :", trackFileKind, in.TrackFiles, fileWeight(cfg))
	writeTrackList(c, "   Tracked processes :", trackProcKind, in.TrackProcesses, nil)
	writeTrackList(c, "   Tracked BFDs :", trackBFDKind, in.TrackBFDs, nil)
	c.f("   Using smtp notification = %s", yesNo(in.SMTPAlert))
	c.f("   Notify deleted = %s", map[bool]string{true: "Deleted", false: "Fault"}[in.NotifyDeletedSet])
	writeNotify(c, cfg, "Backup", in.NotifyBackup)
	writeNotify(c, cfg, "Master", in.NotifyMaster)
	writeNotify(c, cfg, "Fault", in.NotifyFault)
	writeNotify(c, cfg, "Stop", in.NotifyStop)
	writeNotify(c, cfg, "Deleted", in.NotifyDeleted)
	writeNotify(c, cfg, "Generic", in.Notify)
	writeNotify(c, cfg, "Master rx lower pri", in.NotifyMasterRxLowerPri)
	c.f("   Notify priority changes = %s", tf(in.NotifyPriorityChanges))
}

// jsonData is an instance's "data" object in the JSON dump (vrrp_json.c
// vrrp_json_data_dump): a configured value's line goes here and in the
// writeInstance* functions above.
func jsonData(b *bytes.Buffer, env dumpEnv, is *vrrpengine.InstanceStatus) {
	in := is.Config
	o := jobj{b: b}
	o.str("iname", is.Name)
	o.flag("dont_track_primary", in.DontTrackPrimary)
	o.flag("skip_check_adv_addr", in.SkipCheckAdvAddr)
	o.flag("strict_mode", is.Strict)
	o.str("vmac_ifname", is.VMAC)
	o.str("ifp_ifname", is.Interface)
	o.uint("master_priority", uint64(is.MasterPriority))
	lt := 0.0
	if !is.LastTransition.IsZero() {
		lt = float64(is.LastTransition.Unix()) + float64(is.LastTransition.Nanosecond()/1000)/1e6
	}
	o.raw("last_transition", strconv.FormatFloat(lt, 'f', 6, 64))
	o.raw("garp_delay", cG(in.GarpMasterDelay.Seconds()))
	o.uint("garp_refresh", uint64(secs(in.GarpMasterRefresh)))
	o.uint("garp_rep", uint64(in.GarpMasterRepeat))
	o.uint("garp_refresh_rep", uint64(in.GarpMasterRefreshRepeat))
	o.uint("garp_lower_prio_delay", uint64(secs(in.GarpLowerPrioDelay)))
	o.uint("garp_lower_prio_rep", uint64(in.GarpLowerPrioRepeat))
	o.flag("lower_prio_no_advert", in.LowerPrioNoAdvert)
	o.flag("higher_prio_send_advert", in.HigherPrioSendAdvert)
	o.uint("vrid", uint64(is.VRID))
	o.uint("base_priority", uint64(is.BasePriority))
	o.uint("effective_priority", uint64(is.EffectivePriority))
	o.boolean("vipset", is.VIPSet)
	o.boolean("promote_secondaries", in.PromoteSecondaries)
	o.raw("adver_int", cG(is.AdvertInt.Seconds()))
	o.raw("master_adver_int", cG(is.MasterAdvertInt.Seconds()))
	o.flag("accept", is.Accept)
	o.boolean("nopreempt", is.NoPreempt)
	o.uint("preempt_delay", uint64(secs(is.PreemptDelay)))
	o.uint("state", uint64(stateNum(is.State)))
	o.uint("wantstate", uint64(stateNum(is.WantState)))
	o.uint("version", uint64(is.Version))
	o.boolean("smtp_alert", in.SMTPAlert)
	o.boolean("notify_deleted", in.NotifyDeletedSet)
	for _, sc := range []struct {
		k string
		s *config.Script
	}{{"script_backup", in.NotifyBackup}, {"script_master", in.NotifyMaster}, {"script_fault", in.NotifyFault},
		{"script_stop", in.NotifyStop}, {"script_deleted", in.NotifyDeleted}, {"script", in.Notify},
		{"script_master_rx_lower_pri", in.NotifyMasterRxLowerPri}} {
		if argv := scriptArgv(sc.s); argv != nil {
			o.str(sc.k, script.CmdString(argv))
		}
	}
	var vips, evips, routes, rules, tifs, tscripts []string
	for _, v := range in.VIPs {
		vips = append(vips, formatVIP(v, is.Interface, env.links, is.VIPSet))
	}
	for _, v := range in.ExcludedVIPs {
		evips = append(evips, formatVIP(v, is.Interface, env.links, is.VIPSet))
	}
	for _, r := range in.Routes {
		routes = append(routes, r.String())
	}
	for _, r := range in.Rules {
		rules = append(rules, r.String())
	}
	for _, r := range trackedIfaces(is) {
		tifs = append(tifs, r.Name)
	}
	for _, r := range in.TrackScripts {
		for _, s := range env.cfg.Scripts {
			if s.Name == r.Name {
				tscripts = append(tscripts, script.CmdString(scriptArgv(s.Script)))
			}
		}
	}
	o.strs("vips", vips)
	o.strs("evips", evips)
	o.strs("vroutes", routes)
	o.strs("vrules", rules)
	o.strs("track_ifp", tifs)
	o.strs("track_script", tscripts)
	o.uint("auth_type", uint64(is.AuthType))
	if is.AuthType != packet.AuthNone {
		pw := is.AuthPass
		if is.AuthType == packet.AuthAH {
			pw = ""
		}
		o.str("auth_data", pw)
	}
}

// statsDump is vrrp_print_stats.
func statsDump(snap vrrpengine.Status) []byte {
	var c confWriter
	for _, is := range snap.Instances {
		s := is.Counters
		c.f("VRRP Instance: %s", is.Name)
		c.f("  Advertisements:")
		c.f("    Received: %d", s.AdvertRcvd)
		c.f("    Sent: %d", uint32(s.AdvertSent))
		c.f("  Became master: %d", uint32(s.BecomeMaster))
		c.f("  Released master: %d", uint32(s.ReleaseMaster))
		c.f("  Packet Errors:")
		c.f("    Length: %d", s.PacketLenErr)
		c.f("    TTL: %d", s.IPTTLErr)
		c.f("    Invalid Type: %d", s.InvalidTypeRcvd)
		c.f("    Advertisement Interval: %d", s.AdvertIntervalErr)
		c.f("    Address List: %d", s.AddrListErr)
		c.f("  Authentication Errors:")
		c.f("    Invalid Type: %d", uint32(s.InvalidAuthType))
		c.f("    Type Mismatch: %d", uint32(s.AuthTypeMismatch))
		c.f("    Failure: %d", uint32(s.AuthFailure))
		c.f("  Priority Zero:")
		c.f("    Received: %d", s.PriZeroRcvd)
		c.f("    Sent: %d", s.PriZeroSent)
	}
	return c.b.Bytes()
}

// routeInstalled is the end of format_iproute for a route keepalived has
// set: a tracked route whose RTM_NEWROUTE was not matched shows the
// interface index it recorded, 0. keepalived's VRRP process listens to a
// family's route messages only when an instance has a tracked virtual
// route of that family or a static route of it has a track_group
// (vrrp_complete_instance, process_static_entries); otherwise the
// installed index stays 0 (netlink_route_filter records it). A route
// with no interface is never tracked.
func routeInstalled(cfg *config.Config, r *config.Route, set bool) string {
	if !set || r.NoTrack || r.Dev == "" {
		return ""
	}
	for _, in := range cfg.Instances {
		for _, vr := range in.Routes {
			if vr.Family == r.Family && !vr.NoTrack {
				return ""
			}
		}
	}
	for _, sr := range cfg.StaticRoutes {
		if sr.Family == r.Family && sr.TrackGroup != "" {
			return ""
		}
	}
	return " [installed ifindex 0]"
}

// rxBufSize is one instance's part of its socket's receive buffer
// (vrrp_create_sockpool): its kernel_rx_buf_size, else by
// vrrp_rx_bufs_policy a fixed size, a multiple of its advert's length
// (vrrp_adv_len) or of its interface's MTU; 0 without a policy.
func rxBufSize(env dumpEnv, is *vrrpengine.InstanceStatus) int {
	g, in := &env.cfg.Global, is.Config
	p := g.VRRPRxBufsPolicy
	switch {
	case in.KernelRxBufSize > 0:
		return in.KernelRxBufSize
	case p.HasSize:
		return p.Size
	case p.Advert:
		n := 8 // vrrphdr_t
		if is.IPv6 {
			n += 16 * len(in.VIPs)
		} else {
			if is.Version == 2 {
				n += 8 // VRRP_AUTH_LEN
			}
			n += 4*len(in.VIPs) + 20 // addresses, iphdr
			if in.Auth.Type == "AH" {
				n += 24 // ipsec_ah_t
			}
		}
		return g.VRRPRxBufsMultiples * n
	case p.MTU:
		ifname := is.Interface
		if is.VMAC != "" {
			ifname = is.VMAC
		}
		if l := env.links[ifname]; l != nil {
			return g.VRRPRxBufsMultiples * l.link.Attrs().MTU
		}
	}
	return 0
}
