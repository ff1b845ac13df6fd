package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"keepalived-go/parser"
)

// unset markers: garp settings fall back to global_defs after the whole file
// is read, since global_defs may come after the instance.
const unsetInt = -1

func (b *builder) vrrpInstance(st *parser.Stmt) {
	in := &VRRPInstance{
		Pos: toPos(st.Pos), Name: firstArg(st), State: StateBackup, Priority: 100,
		AdvertInt: time.Second, Preempt: true, Version: unsetInt,
		GarpMasterDelay: unsetInt, GarpMasterRepeat: unsetInt, GarpMasterRefresh: unsetInt,
		GarpMasterRefreshRepeat: unsetInt, GarpLowerPrioDelay: unsetInt, GarpLowerPrioRepeat: unsetInt,
		DownTimerAdverts: unsetInt,
	}
	if in.Name == "" {
		b.report(st, parser.SevGeneral, "vrrp_instance must have a name")
		return
	}
	for _, o := range b.cfg.Instances {
		if o.Name == in.Name {
			b.report(st, parser.SevGeneral, "vrrp instance %s already defined", in.Name)
			return
		}
	}
	smtp := (*bool)(nil)
	for _, c := range st.Children() {
		switch c.Name() {
		case "state":
			v, _ := b.arg(c, 0)
			switch v {
			case "MASTER":
				in.State = StateMaster
			case "BACKUP":
				if in.State == StateMaster {
					b.report(c, parser.SevGeneral, "(%s) state previously set as MASTER - ignoring BACKUP", in.Name)
				}
			default:
				b.report(c, parser.SevGeneral, "(%s) unknown state '%s', defaulting to BACKUP", in.Name, v)
			}
		case "interface":
			if v, ok := b.arg(c, 0); ok {
				in.Interface = v
				b.checkInterface(c, v, in.Name)
			}
		case "virtual_router_id":
			v, _ := b.arg(c, 0)
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				b.report(c, parser.SevGeneral, "(%s): VRID '%s' not valid - must be between 1 & 255", in.Name, v)
				continue
			}
			in.VRID = n
		case "priority":
			v, _ := b.arg(c, 0)
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				b.report(c, parser.SevGeneral, "(%s) Priority not valid! must be between 1 & 255. Using default 100", in.Name)
				continue
			}
			in.Priority = n
		case "advert_int":
			v, _ := b.arg(c, 0)
			d, ok := parseTimer(v)
			if !ok || d <= 0 {
				b.report(c, parser.SevGeneral, "(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", in.Name, v)
				continue
			}
			in.AdvertInt = d
		case "version":
			b.setInt(c, 2, 3, &in.Version)
		case "native_ipv6":
			in.NativeIPv6 = true
		case "authentication":
			for _, a := range c.Children() {
				switch a.Name() {
				case "auth_type":
					v, _ := b.arg(a, 0)
					if v != "PASS" && v != "AH" {
						b.report(a, parser.SevGeneral, "(%s) unknown authentication type '%s'", in.Name, v)
						continue
					}
					in.Auth.Type = v
				case "auth_pass":
					v, _ := b.arg(a, 0)
					if len(v) > 8 {
						b.report(a, parser.SevGeneral, "Truncating auth_pass to 8 characters")
						v = v[:8]
					}
					in.Auth.Pass = v
				}
			}
		case "virtual_ipaddress":
			in.VIPs = append(in.VIPs, b.addresses(c, in.Name)...)
		case "virtual_ipaddress_excluded":
			in.ExcludedVIPs = append(in.ExcludedVIPs, b.addresses(c, in.Name)...)
		case "virtual_routes":
			for _, r := range c.Children() {
				b.checkRoute(r, r.Line(), true)
				in.Routes = append(in.Routes, Route{Pos: toPos(r.Pos), Args: r.Line()})
			}
		case "virtual_rules":
			for _, r := range c.Children() {
				b.checkRule(r, r.Line())
				in.Rules = append(in.Rules, Rule{Pos: toPos(r.Pos), Args: r.Line()})
			}
		case "unicast_src_ip":
			if a, ok := b.addrArg(c, 0); ok {
				in.UnicastSrcIP = a
			}
		case "unicast_peer":
			for _, p := range c.Children() {
				a, err := netip.ParseAddr(p.Name())
				if err != nil {
					b.report(p, parser.SevGeneral, "(%s) unicast_peer address %s invalid - ignoring", in.Name, p.Name())
					continue
				}
				in.UnicastPeers = append(in.UnicastPeers, UnicastPeer{Pos: toPos(p.Pos), Addr: a})
			}
		case "unicast_ttl":
			b.setInt(c, 0, 255, &in.UnicastTTL)
		case "mcast_src_ip":
			if a, ok := b.addrArg(c, 0); ok {
				in.McastSrcIP = a
			}
		case "mcast_dst_ip":
			if a, ok := b.addrArg(c, 0); ok {
				in.McastDstIP = a
			}
		case "nopreempt":
			in.Preempt = false
		case "preempt":
			in.Preempt = true
		case "preempt_delay":
			if d, ok := b.timerArg(c, 0); ok {
				if d > time.Hour {
					b.report(c, parser.SevGeneral, "(%s) Preempt_delay not valid! must be between 0-3600", in.Name)
					continue
				}
				in.PreemptDelay = d
			}
		case "accept":
			in.Accept = boolp(true)
		case "no_accept":
			in.Accept = boolp(false)
		case "skip_check_adv_addr":
			in.SkipCheckAdvAddr = b.boolOpt(c)
		case "strict_mode":
			in.StrictMode = b.boolOpt(c)
		case "dont_track_primary":
			in.DontTrackPrimary = true
		case "track_interface":
			in.TrackInterfaces = append(in.TrackInterfaces, b.trackRefs(c, true)...)
		case "track_script":
			in.TrackScripts = append(in.TrackScripts, b.trackRefs(c, false)...)
		case "track_file":
			in.TrackFiles = append(in.TrackFiles, b.trackRefs(c, false)...)
		case "track_process":
			in.TrackProcesses = append(in.TrackProcesses, b.trackRefs(c, false)...)
		case "use_vmac":
			in.UseVMAC = true
			if len(c.Args) > 0 {
				in.VMACName = c.Args[0].Value()
			}
		case "vmac_xmit_base":
			in.VMACXmitBase = true
		case "garp_master_delay":
			b.setSeconds(c, 0, 1<<31-1, &in.GarpMasterDelay)
		case "garp_master_repeat":
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				if n == 0 {
					b.report(c, parser.SevGeneral, "(%s): garp_master_repeat must be greater than 0, setting to 1", in.Name)
					n = 1
				}
				in.GarpMasterRepeat = n
			}
		case "garp_master_refresh":
			b.setSeconds(c, 0, 1<<31-1, &in.GarpMasterRefresh)
		case "garp_master_refresh_repeat":
			b.setInt(c, 1, 1<<31-1, &in.GarpMasterRefreshRepeat)
		case "garp_lower_prio_delay":
			b.setSeconds(c, 0, 1<<31-1, &in.GarpLowerPrioDelay)
		case "garp_lower_prio_repeat":
			b.setInt(c, 0, 1<<31-1, &in.GarpLowerPrioRepeat)
		case "down_timer_adverts":
			b.setInt(c, 1, 100, &in.DownTimerAdverts)
		case "lower_prio_no_advert":
			in.LowerPrioNoAdvert = b.boolOpt(c)
		case "higher_prio_send_advert":
			in.HigherPrioSendAdvert = b.boolOpt(c)
		case "promote_secondaries":
			in.PromoteSecondaries = true
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted", "notify", "notify_master_rx_lower_pri":
			slot := map[string]**Script{"notify_master": &in.NotifyMaster, "notify_backup": &in.NotifyBackup,
				"notify_fault": &in.NotifyFault, "notify_stop": &in.NotifyStop, "notify_deleted": &in.NotifyDeleted,
				"notify": &in.Notify, "notify_master_rx_lower_pri": &in.NotifyMasterRxLowerPri}[c.Name()]
			if *slot != nil {
				b.report(c, parser.SevGeneral, "(%s) %s script already specified - ignoring %s", in.Name, c.Name(), firstArg(c))
				continue
			}
			if c.Name() == "notify_deleted" && len(c.Args) == 0 {
				*slot = &Script{Pos: toPos(c.Pos)}
				continue
			}
			*slot = b.script(c)
		case "notify_priority_changes":
			in.NotifyPriorityChanges = b.boolOpt(c)
		case "smtp_alert":
			smtp = boolp(b.boolOpt(c))
		case "lvs_sync_daemon_interface":
			b.report(c, parser.SevGeneral, "(%s) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.", in.Name)
			pad := len(in.Name) - 2
			if pad < 0 {
				pad = 0
			}
			b.report(c, parser.SevGeneral, "      %sPlease use global lvs_sync_daemon", strings.Repeat(" ", pad))
			if v, ok := b.arg(c, 0); ok {
				in.LVSSyncDaemonInterface = v
				if g := b.cfg.Global.LVSSyncDaemon; g != nil {
					b.report(c, parser.SevGeneral, "(%s) lvs_sync_daemon_interface has already been specified as %s - ignoring", in.Name, g.Interface)
				} else {
					b.cfg.Global.LVSSyncDaemon = &SyncDaemon{Pos: toPos(c.Pos), Interface: v, Instance: in.Name, SyncID: -1}
				}
			}
		case "debug":
			if len(c.Args) > 0 {
				b.setInt(c, 0, 4, &in.Debug)
			}
		default:
			b.keepTree(c, "vrrp_instance", &in.Other)
		}
	}
	if smtp != nil {
		in.SMTPAlert = *smtp
	} else {
		in.SMTPAlert = false
		b.pendingSMTP = append(b.pendingSMTP, in)
	}
	b.cfg.Instances = append(b.cfg.Instances, in)
}

func (b *builder) checkInterface(st *parser.Stmt, name, instance string) {
	if b.opts.InterfaceExists == nil || b.opts.InterfaceExists(name) {
		return
	}
	b.report(st, parser.SevGeneral, "WARNING - interface %s for vrrp_instance %s doesn't exist", name, instance)
	b.missingInterface = true
}

// trackRefs reads a track_* block: one name per line, optional `weight N [reverse]`.
func (b *builder) trackRefs(st *parser.Stmt, iface bool) []TrackRef {
	var out []TrackRef
	for _, c := range st.Children() {
		w := c.Line()
		r := TrackRef{Pos: toPos(c.Pos), Name: w[0]}
		for i := 1; i < len(w); i++ {
			switch w[i] {
			case "weight":
				if i+1 < len(w) {
					n, err := strconv.Atoi(w[i+1])
					if err != nil || n < -254 || n > 254 {
						b.report(c, parser.SevGeneral, "weight %s for %s must be between [-254..254] inclusive. Ignoring...", w[i+1], r.Name)
					} else {
						r.Weight, r.HasWeight = n, true
					}
					i++
				}
			case "reverse":
				r.Reverse = true
			case "noreverse":
				r.Reverse = false
			default:
				b.report(c, parser.SevGeneral, "Unknown track option %s for %s", w[i], r.Name)
			}
		}
		out = append(out, r)
	}
	return out
}

func (b *builder) vrrpScript(st *parser.Stmt) {
	vs := &VRRPScript{Pos: toPos(st.Pos), Name: firstArg(st), Interval: time.Second, Rise: 1, Fall: 1}
	for _, c := range st.Children() {
		switch c.Name() {
		case "script":
			vs.Script = b.script(c)
		case "interval":
			v, _ := b.arg(c, 0)
			d, ok := parseTimer(v)
			if !ok || d < time.Second {
				b.report(c, parser.SevGeneral, "(%s): vrrp script interval '%s' must be between 1 and %d - ignoring", vs.Name, v, uint32(4294967295)/1000000)
				continue
			}
			vs.Interval = d
		case "timeout":
			if d, ok := b.timerArg(c, 0); ok {
				vs.Timeout = d
			}
		case "weight":
			b.setInt(c, -254, 254, &vs.Weight)
			if len(c.Args) > 1 && c.Args[1].Value() == "reverse" {
				vs.WeightReverse = true
			}
		case "rise":
			b.setInt(c, 1, 1<<31-1, &vs.Rise)
		case "fall":
			b.setInt(c, 1, 1<<31-1, &vs.Fall)
		case "user":
			if v, ok := b.arg(c, 0); ok {
				vs.User = v
				if len(c.Args) > 1 {
					vs.Group = c.Args[1].Value()
				}
			}
		case "init_fail":
			vs.InitFail = true
		}
	}
	if vs.Script == nil {
		b.diags.Add(st.Block.EndPos, parser.SevGeneral, "No script set for vrrp_script %s - removing", vs.Name)
		return
	}
	b.cfg.Scripts = append(b.cfg.Scripts, vs)
}

func (b *builder) trackFile(st *parser.Stmt) {
	tf := &TrackFile{Pos: toPos(st.Pos), Name: firstArg(st), Weight: 1}
	if st.Name() == "vrrp_track_file" {
		b.report(st, parser.SevDeprecated, "vrrp_track_file is deprecated - please use 'track_file'")
	}
	for _, c := range st.Children() {
		switch c.Name() {
		case "file":
			if v, ok := b.arg(c, 0); ok {
				tf.File = v
			}
		case "weight":
			b.setInt(c, -254, 254, &tf.Weight)
			if len(c.Args) > 1 && c.Args[1].Value() == "reverse" {
				tf.WeightReverse = true
			}
		case "init_file":
			tf.InitFile = true
			if len(c.Args) > 0 {
				tf.InitValue, _ = strconv.Atoi(c.Args[0].Value())
			}
			if len(c.Args) > 1 && c.Args[1].Value() == "overwrite" {
				tf.Overwrite = true
			}
		}
	}
	if tf.File == "" {
		b.report(st, parser.SevGeneral, "No file set for track_file %s - removing", tf.Name)
		return
	}
	b.cfg.TrackFiles = append(b.cfg.TrackFiles, tf)
}

func (b *builder) syncGroup(st *parser.Stmt) {
	sg := &SyncGroup{Pos: toPos(st.Pos), Name: firstArg(st)}
	if sg.Name == "" {
		b.report(st, parser.SevGeneral, "vrrp_sync_group must have a name - skipping")
		return
	}
	for _, c := range st.Children() {
		switch c.Name() {
		case "group":
			if len(sg.Members) > 0 {
				b.report(c, parser.SevGeneral, "Group list already specified for sync group %s", sg.Name)
				continue
			}
			for _, m := range c.Children() {
				sg.Members = append(sg.Members, m.Line()...)
			}
			if len(c.Children()) == 0 {
				b.report(c, parser.SevGeneral, "Warning - sync group %s has empty group block", sg.Name)
			}
		case "track_interface":
			sg.TrackInterfaces = append(sg.TrackInterfaces, b.trackRefs(c, true)...)
		case "track_script":
			sg.TrackScripts = append(sg.TrackScripts, b.trackRefs(c, false)...)
		case "track_file":
			sg.TrackFiles = append(sg.TrackFiles, b.trackRefs(c, false)...)
		case "notify_master":
			sg.NotifyMaster = b.script(c)
		case "notify_backup":
			sg.NotifyBackup = b.script(c)
		case "notify_fault":
			sg.NotifyFault = b.script(c)
		case "notify_stop":
			sg.NotifyStop = b.script(c)
		case "notify":
			sg.Notify = b.script(c)
		case "smtp_alert":
			sg.SMTPAlert = b.boolOpt(c)
		case "global_tracking":
			b.report(c, parser.SevGeneral, "(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group", sg.Name)
			sg.GlobalTracking = true
		case "sync_group_tracking_weight":
			sg.TrackingWeight = true
		default:
			b.keepTree(c, "vrrp_sync_group", &sg.Other)
		}
	}
	b.cfg.SyncGroups = append(b.cfg.SyncGroups, sg)
}
