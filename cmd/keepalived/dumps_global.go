package main

import (
	"strconv"
	"strings"

	"keepalived-go/config"
	"keepalived-go/internal/script"
)

// globalDump is dump_global_data for a Debian (2.2.7) build: VRRP, LVS,
// BFD, nftables, SNMP, DBus, track_process and VMAC compiled in.
func globalDump(env dumpEnv, proc procKind) []byte {
	var c confWriter
	writeGlobal(&c, env, proc)
	return c.b.Bytes()
}

// writeGlobal is dump_global_data as the parent (proc procParent), VRRP or
// checker process holds global_data: the VRRP process has resolved a few
// settings the parent keeps unset.
func writeGlobal(c *confWriter, env dumpEnv, proc procKind) {
	g := &env.cfg.Global
	c.f("------< Global definitions >------")
	if g.ConfigSaveDir != "" {
		c.f(" Config save dir = %s", g.ConfigSaveDir)
	}
	ns := "(default)"
	switch {
	case g.NetNamespace != "":
		ns = g.NetNamespace
	case env.opts.namespace != "":
		ns = env.opts.namespace
	}
	c.f(" Network namespace = %s", ns)
	nsIPVS := "(main namespace)"
	if p := g.NetNamespaceIPVS; p != nil {
		nsIPVS = *p
		if nsIPVS == "" {
			nsIPVS = "(default)"
		}
	}
	c.f(" Network namespace ipvs = %s", nsIPVS)
	for _, l := range []struct{ label, v string }{{"Instance name", g.InstanceName}, {"Parent process name", g.ProcessName},
		{"VRRP process name", g.VRRPProcessName}, {"LVS process name", g.CheckerProcessName},
		{"BFD process name", g.BFDProcessName}, {"Router ID", g.RouterID}} {
		if l.v != "" {
			c.f(" %s = %s", l.label, l.v)
		}
	}
	writeGlobalMail(c, g)
	writeGlobalReload(c, env, proc)
	writeGlobalLVS(c, g, proc)
	writeGlobalFIFOs(c, env, proc)
	writeGlobalVRRP(c, g, proc)
	writeGlobalProcesses(c, env)
}

// writeGlobalMail is the SMTP part of dump_global_data.
func writeGlobalMail(c *confWriter, g *config.Global) {
	if g.SMTPServerAddr.IsValid() {
		c.f(" Smtp server = %s", c.sockaddr(g.SMTPServerAddr))
		c.f(" Smtp server port = %d", g.SMTPPort)
	}
	if g.SMTPHeloName != "" {
		c.f(" Smtp HELO name = %s", g.SMTPHeloName)
	}
	if g.SMTPConnectTimeout > 0 {
		c.f(" Smtp server connection timeout = %d", secs(g.SMTPConnectTimeout))
	}
	if g.NotificationEmailFrom != "" {
		c.f(" Email notification from = %s", g.NotificationEmailFrom)
		c.f(" Email notification to:")
		for _, e := range g.NotificationEmail {
			c.f("   %s", e)
		}
	}
	c.f(" Default smtp_alert = %s", onOff(g.SMTPAlert))
	c.f(" Default smtp_alert_vrrp = %s", onOff(g.SMTPAlertVRRP))
	c.f(" Default smtp_alert_checker = %s", onOff(g.SMTPAlertChecker))
	c.f(" Checkers log all failures = %s", tf(g.CheckerLogAllFailures))
}

// writeGlobalReload is the reload, save directory and startup/shutdown
// script part. The daemon schedules no timed reload.
func writeGlobalReload(c *confWriter, env dumpEnv, proc procKind) {
	g := &env.cfg.Global
	if g.ReloadCheckConfig != "" {
		c.f(" Test config before reload, log to %s", g.ReloadCheckConfig)
	} else {
		c.f(" No test config before reload")
	}
	if g.ReloadTimeFile != "" {
		c.f(" Reload time file = %s%s", g.ReloadTimeFile, map[bool]string{true: " (repeat)"}[g.ReloadRepeat])
		c.f(" No reload scheduled")
	}
	if g.ReloadFile != "" {
		c.f(" Reload_file = %s", reloadFileName(g))
	}
	if g.TmpConfigDirectory != "" {
		c.f(" config save directory = %s", g.TmpConfigDirectory)
	}
	if g.DataUseInstance {
		c.f(" Use instance name in data dumps")
	}
	if proc != procParent {
		// The children free them at start (free_parent_mallocs_startup).
		return
	}
	if argv := scriptArgv(g.StartupScript); argv != nil {
		uid, gid := scriptIDs(env.cfg, g.StartupScript)
		c.f(" Startup script = %s, uid:gid %d:%d, timeout %d", script.CmdString(argv), uid, gid, secs(g.StartupScriptTimeout))
	}
	if argv := scriptArgv(g.ShutdownScript); argv != nil {
		uid, gid := scriptIDs(env.cfg, g.ShutdownScript)
		c.f(" Shutdown script = %s, uid:gid %d:%d timeout %d", script.CmdString(argv), uid, gid, secs(g.ShutdownScriptTimeout))
	}
}

// reloadFileName is reload_file as init_global_data resolves a
// reload_file given without a name (DEFAULT_RELOAD_FILE).
func reloadFileName(g *config.Global) string {
	switch {
	case g.ReloadFile != "DEFAULT":
		return g.ReloadFile
	case g.InstanceName != "":
		return "/run/keepalived/keepalived_" + g.InstanceName + ".reload"
	case g.UsePidDir:
		return "/run/keepalived/keepalived.reload"
	}
	return "/run/keepalived.reload"
}

// writeGlobalLVS is the interface, LVS timeout, sync daemon and flush part.
func writeGlobalLVS(c *confWriter, g *config.Global, proc procKind) {
	c.f(" Dynamic interfaces = %s", tf(g.DynamicInterfaces))
	if g.DynamicInterfaces {
		c.f(" Allow interface changes = %s", tf(g.AllowIfChanges))
	}
	if g.NoEmailFaults {
		c.f(" Send emails for fault transitions = off")
	}
	t := g.LVSTimeouts
	if t.TCP > 0 {
		c.f(" LVS TCP timeout = %d", secs(t.TCP))
	}
	if t.TCPFin > 0 {
		c.f(" LVS TCP FIN timeout = %d", secs(t.TCPFin))
	}
	if t.UDP > 0 {
		// keepalived 2.2.7 labels the UDP timeout "TCP" here.
		c.f(" LVS TCP timeout = %d", secs(t.UDP))
	}
	if proc == procVRRP {
		// default_ifp is looked up only for a static address without
		// dev (get_default_if); unset, the dump shows DFLT_INT.
		di := "eth0"
		if g.DefaultInterfaceResolved && g.DefaultInterface != "" {
			di = g.DefaultInterface
		}
		c.f(" Default interface = %s", di)
	}
	c.f(" Disable local IGMP = %s", yesNo(g.DisableLocalIGMP))
	if sd := g.LVSSyncDaemon; sd != nil && sd.Interface != "" {
		writeSyncDaemon(c, sd, proc)
	}
	c.f(" LVS flush = %s", tf(g.LVSFlush))
	flushStop := "disabled"
	switch strings.ToLower(g.LVSFlushOnStop) {
	case "all", "full":
		flushStop = "full"
	case "vs":
		flushStop = "VS"
	}
	c.f(" LVS flush on stop = %s", flushStop)
}

// writeSyncDaemon is lvs_sync_daemon: the VRRP process has found its
// instance and, without an id, taken the instance's VRID; the parent
// holds the name and PARAMETER_UNSET.
func writeSyncDaemon(c *confWriter, sd *config.SyncDaemon, proc procKind) {
	if sd.Instance != "" {
		if proc == procVRRP {
			c.f(" LVS syncd vrrp instance = %s", sd.Instance)
		} else {
			c.f(" LVS syncd vrrp name = %s", sd.Instance)
		}
	}
	c.f(" LVS syncd interface = %s", sd.Interface)
	id := strconv.Itoa(sd.SyncID)
	if sd.SyncIDDefaulted && proc != procVRRP {
		id = "4294967295"
	}
	c.f(" LVS syncd syncid = %s", id)
	if sd.MaxLen > 0 {
		c.f(" LVS syncd maxlen = %d", sd.MaxLen)
	}
	if sd.Group.IsValid() {
		c.f(" LVS mcast group %s", c.sockaddr(sd.Group))
	}
	if sd.Port > 0 {
		c.f(" LVS syncd mcast port = %d", sd.Port)
	}
	if sd.TTL > 0 {
		c.f(" LVS syncd mcast ttl = %d", sd.TTL)
	}
}

// writeGlobalFIFOs lists the notify FIFOs and their scripts. A process
// that runs a FIFO's script has checked it (check_notify_script_secure:
// the path resolved) and added the FIFO's name as its last parameter
// (add_script_param in vrrp_complete_init and check_data's
// check_check_script_security); the others print it as configured. The
// VRRP process drops the global FIFO's script when the checker process
// runs it (vrrp_complete_init).
func writeGlobalFIFOs(c *confWriter, env dumpEnv, proc procKind) {
	g := &env.cfg.Global
	checker := runningChecker(env)
	for _, f := range []struct {
		label string
		fifo  config.FIFO
		runs  bool
	}{{"Global notify fifo", g.NotifyFIFO, proc == procChecker || (proc == procVRRP && !checker)},
		{"VRRP notify fifo", g.VRRPNotifyFIFO, proc == procVRRP},
		{"LVS notify fifo", g.LVSNotifyFIFO, proc == procChecker}} {
		if f.fifo.Path == "" {
			continue
		}
		c.f(" %s = %s, uid:gid %d:%d", f.label, f.fifo.Path, f.fifo.UID, f.fifo.GID)
		if f.fifo.Script == nil || (proc == procVRRP && f.label == "Global notify fifo" && checker) {
			continue
		}
		argv := scriptArgvAsWritten(f.fifo.Script)
		if f.runs {
			argv = append(append([]string(nil), scriptArgv(f.fifo.Script)...), f.fifo.Path)
		}
		uid, gid := scriptIDs(env.cfg, f.fifo.Script)
		c.f(" %s script = %s, uid:gid %d:%d", f.label, script.CmdString(argv), uid, gid)
	}
}

// runningChecker is keepalived's running_checker: the checker process
// runs unless -P, when the config has virtual servers or with --all.
func runningChecker(env dumpEnv) bool {
	o := env.opts
	if o.vrrpOnly && !o.checkOnly {
		return false
	}
	return len(env.cfg.VirtualServers) > 0 || o.all
}

// writeGlobalVRRP is the VRRP defaults part.
func writeGlobalVRRP(c *confWriter, g *config.Global, proc procKind) {
	c.f(" FIFO write vrrp states on reload = %s", tf(g.FIFOWriteVRRPStatesOnReload))
	c.f(" VRRP notify priority changes = %s", tf(g.VRRPNotifyPriorityChanges))
	if g.VRRPMcastGroup4.IsValid() {
		c.f(" VRRP IPv4 mcast group = %s", c.sockaddr(g.VRRPMcastGroup4))
	}
	if g.VRRPMcastGroup6.IsValid() {
		c.f(" VRRP IPv6 mcast group = %s", c.sockaddr(g.VRRPMcastGroup6))
	}
	c.f(" Gratuitous ARP delay = %d", secs(g.GarpMasterDelay))
	c.f(" Gratuitous ARP repeat = %d", g.GarpMasterRepeat)
	c.f(" Gratuitous ARP refresh timer = %d", secs(g.GarpMasterRefresh))
	c.f(" Gratuitous ARP refresh repeat = %d", g.GarpMasterRefreshRep)
	// Unset lower-priority GARP settings are PARAMETER_UNSET in the parent
	// and checker; the VRRP process has resolved them to the master ones.
	lpDelay, lpRep := "4294967295", "4294967295"
	if g.GarpLowerPrioDelay != nil {
		lpDelay = strconv.FormatInt(secs(*g.GarpLowerPrioDelay), 10)
	} else if proc == procVRRP {
		lpDelay = strconv.FormatInt(secs(g.GarpMasterDelay), 10)
	}
	if g.GarpLowerPrioRepeat != nil {
		lpRep = strconv.Itoa(*g.GarpLowerPrioRepeat)
	} else if proc == procVRRP {
		lpRep = strconv.Itoa(g.GarpMasterRepeat)
	}
	c.f(" Gratuitous ARP lower priority delay = %s", lpDelay)
	c.f(" Gratuitous ARP lower priority repeat = %s", lpRep)
	c.f(" Num adverts before down = %d", g.DownTimerAdverts)
	// vrrp_vmac_garp_intvl starts at 0, never PARAMETER_UNSET: always shown.
	c.f(" Gratuitous ARP for each secondary %s = %ds", map[bool]string{true: "i/f", false: "VMAC"}[g.GarpExtraIfAll], secs(g.GarpExtraIf))
	c.f(" Send advert after receive lower priority advert = %s", tf(!g.LowerPrioNoAdvert))
	c.f(" Send advert after receive higher priority advert = %s", tf(g.HigherPrioSendAdvert))
	c.f(" Gratuitous ARP interval = %f", g.GarpInterval.Seconds())
	c.f(" Gratuitous NA interval = %f", g.GnaInterval.Seconds())
	c.f(" VRRP default protocol version = %d", g.VRRPVersion)
	writeGlobalNFT(c, g, proc)
	c.f(" VRRP check unicast_src = %s", tf(g.VRRPCheckUnicastSrc))
	c.f(" VRRP skip check advert addresses = %s", tf(g.VRRPSkipCheckAdvAddr))
	c.f(" VRRP strict mode = %s", tf(g.VRRPStrict))
	if g.MaxAutoPriority == -1 {
		c.f(" Max auto priority = Disabled")
	} else {
		c.f(" Max auto priority = %d", g.MaxAutoPriority)
	}
	c.f(" Min auto priority delay = %d usecs", g.MinAutoPriorityDelay.Microseconds())
}

// writeGlobalNFT is the nftables part. A table name the VRRP process took
// by default (use_vmac, no_accept or strict mode without one configured)
// is not the parent's.
func writeGlobalNFT(c *confWriter, g *config.Global, proc procKind) {
	if g.NFTables != "" && (proc == procVRRP || !g.NFTablesDefaulted) {
		c.f(" nftables table name = %s", g.NFTables)
		c.f(" nftables base chain priority = %d", g.NFTablesPriority)
		c.f(" nftables %sforce use ifindex for link local IPv6", map[bool]string{false: "don't "}[g.NFTablesIfindex])
	}
	if g.NFTablesIPVS != "" {
		c.f(" ipvs nftables table name = %s", g.NFTablesIPVS)
		c.f(" ipvs nftables base chain priority = %d", g.NFTablesIPVSPriority)
		c.f(" ipvs nftables start fwmark = %d", g.NFTablesIPVSStartFWMark)
	}
	c.f(" nftables with%s counters", map[bool]string{false: "out"}[g.NFTablesCounters])
	c.f(" libnftnl version 1.2.3")
}

// writeGlobalProcesses is the process, SNMP, DBus, script and buffer part.
func writeGlobalProcesses(c *confWriter, env dumpEnv) {
	g := &env.cfg.Global
	for _, p := range []struct {
		name string
		s    config.ProcessSettings
	}{{"VRRP", g.VRRPProcess}, {"Checker", g.CheckerProcess}, {"BFD", g.BFDProcess}} {
		c.f(" %s process priority = %d", p.name, p.s.Priority)
		c.f(" %s don't swap = %s", p.name, tf(p.s.NoSwap))
		c.f(" %s realtime priority = %d", p.name, p.s.RTPriority)
		if len(p.s.CPUAffinity) > 0 {
			var cpus []string
			for _, n := range p.s.CPUAffinity {
				cpus = append(cpus, strconv.Itoa(n))
			}
			c.f(" %s CPU Affinity = %s", p.name, strings.Join(cpus, " "))
		}
		rl := p.s.RLimitRT
		if rl == 0 {
			rl = 10000
		}
		c.f(" %s realtime limit = %d", p.name, rl)
	}
	writeGlobalSNMP(c, g)
	c.f(" Script security %s", map[bool]string{true: "enabled", false: "disabled"}[g.EnableScriptSecurity])
	if uid, gid, ok := defaultScriptIDs(env.cfg); ok {
		c.f(" Default script uid:gid %d:%d", uid, gid)
	}
	writeGlobalBufs(c, env)
}

// writeGlobalSNMP is the SNMP and DBus part.
func writeGlobalSNMP(c *confWriter, g *config.Global) {
	en := map[bool]string{true: "enabled", false: "disabled"}
	c.f(" SNMP vrrp %s", en[g.EnableSNMPVRRP])
	c.f(" SNMP checker %s", en[g.EnableSNMPChecker])
	c.f(" SNMP RFCv2 %s", en[g.EnableSNMPRFCv2])
	c.f(" SNMP RFCv3 %s", en[g.EnableSNMPRFCv3])
	c.f(" SNMP traps %s", en[g.EnableTraps])
	sock := g.SNMPSocket
	if sock == "" {
		sock = "default (unix:/var/agentx/master)"
	}
	c.f(" SNMP socket = %s", sock)
	c.f(" DBus %s", en[g.EnableDBus])
	c.f(" DBus service name = %s", g.DBusServiceName)
}

// writeGlobalBufs is the netlink buffer, rx buffer, umask and VRRP
// miscellany at the end of dump_global_data.
func writeGlobalBufs(c *confWriter, env dumpEnv) {
	g := &env.cfg.Global
	nb := g.NetlinkBufs
	for _, b := range []struct {
		name  string
		size  uint
		force bool
	}{{"vrrp_netlink_cmd_rcv_bufs", nb.VRRPCmd, nb.VRRPCmdForce}, {"vrrp_netlink_monitor_rcv_bufs", nb.VRRPMonitor, nb.VRRPMonitorForce},
		{"process_monitor_rcv_bufs", nb.ProcessMonitor, nb.ProcessMonitorForce}, {"lvs_netlink_cmd_rcv_bufs", nb.LVSCmd, nb.LVSCmdForce},
		{"lvs_netlink_monitor_rcv_bufs", nb.LVSMonitor, nb.LVSMonitorForce}} {
		c.f(" %s = %d", b.name, b.size)
		c.f(" %s_force = %d", b.name, map[bool]int{true: 1}[b.force])
	}
	c.f(" rs_init_notifies = %d", map[bool]int{true: 1}[g.RSInitNotifies])
	c.f(" no_checker_emails = %d", map[bool]int{true: 1}[g.NoCheckerEmails])
	switch rb := g.VRRPRxBufsPolicy; {
	case rb.MTU:
		c.f(" rx_bufs_policy = MTU")
	case rb.Advert:
		c.f(" rx_bufs_policy = ADVERT")
	case rb.HasSize:
		c.f(" rx_bufs_size = %d", rb.Size)
	}
	mult := g.VRRPRxBufsMultiples
	if mult == 0 {
		mult = 3
	}
	c.f(" rx_bufs_multiples = %d", mult)
	c.f(" umask = 0%o", uint32(effectiveUmask(env.opts)))
	if g.VRRPStartupDelay > 0 {
		c.f(" vrrp_startup_delay = %s", strconv.FormatFloat(g.VRRPStartupDelay.Seconds(), 'g', 6, 64))
	}
	if g.LogUnknownVRIDs {
		c.f(" log_unknown_vrids")
	}
	if g.VMACPrefix != "" {
		c.f(" VMAC prefix = %s", g.VMACPrefix)
	}
	if g.VMACAddrPrefix != "" {
		c.f(" VMAC address prefix = %s", g.VMACAddrPrefix)
	}
}
