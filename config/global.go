package config

import (
	"net/netip"
	"os"
	"os/user"
	"runtime"
	"strings"
	"time"

	"keepalived-go/internal/cnum"
	"keepalived-go/internal/errno"
	"keepalived-go/parser"
)

// global_defs and the other parent-process keywords: a port of keepalived
// 2.2.7's core/global_parser.c (init_global_keywords and its handlers) and of
// global_data.c's defaults (alloc_global_data, init_global_data).

// globalState is what the parent's handlers keep besides the model.
type globalState struct {
	l *loader
	// local name (get_local_name): set by initGlobalData.
	localName string
	umaskSet  bool
}

func (g *globalState) init(l *loader) { g.l = l }

// Scheduling limits of SCHED_RR on Linux (sched_get_priority_min/max).
const (
	schedRRMin = 1
	schedRRMax = 99
	// taskCommLen is the kernel's TASK_COMM_LEN.
	taskCommLen = 16
	// lvsMaxTimeout is keepalived's LVS_MAX_TIMEOUT (31 days).
	lvsMaxTimeout = 86400 * 31
	// ipVSIfnameMaxlen is IP_VS_IFNAME_MAXLEN.
	ipVSIfnameMaxlen = 16
	// nftTableMaxNameLen is NFT_TABLE_MAXNAMELEN.
	nftTableMaxNameLen = 256 // NFT_TABLE_MAXNAMELEN of the kernel headers Debian builds with
	// pathMax is PATH_MAX.
	pathMax = 4096
)

func defaultGlobal(opts Options) Global {
	g := Global{
		VRRPMcastGroup4:      netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:      netip.MustParseAddr("ff02::12"),
		VRRPVersion:          2,
		GarpMasterDelay:      5 * time.Second,
		GarpMasterRepeat:     5,
		GarpMasterRefreshRep: 1,
		DownTimerAdverts:     3,
		MinAutoPriorityDelay: time.Second,
		VRRPRxBufsMultiples:  3,
		LVSBackend:           "auto",
		NFTablesPriority:     -1,
		SMTPPort:             25,
	}
	if opts.SNMP {
		g.EnableSNMPVRRP, g.EnableSNMPRFCv2, g.EnableSNMPRFCv3, g.EnableSNMPChecker = true, true, true, true
	}
	g.SNMPSocket = opts.SNMPSocket
	return g
}

// globalKeywords is init_global_keywords.
func (l *loader) globalKeywords(active bool) []*parser.Keyword {
	g := &l.cfg.Global
	root := func(name string, h func(parser.Strvec)) *parser.Keyword {
		return &parser.Keyword{Name: name, Handler: h, Inactive: !active}
	}
	kws := []*parser.Keyword{
		root("linkbeat_use_polling", func(v parser.Strvec) {
			if !v.Nil() {
				g.LinkbeatUsePolling = true
			}
		}),
		root("net_namespace", func(v parser.Strvec) {
			if v.Nil() {
				return
			}
			if v.Len() < 2 {
				l.report(parser.SevGeneral, "net_namespace name missing - ignoring")
				return
			}
			if g.NetNamespace == "" {
				g.NetNamespace = v.Slot(1)
				g.UsePidDir = true
			} else {
				l.report(parser.SevGeneral, "Duplicate net_namespace definition %s - ignoring", v.Slot(1))
			}
		}),
		root("net_namespace_ipvs", func(v parser.Strvec) {
			if v.Nil() {
				return
			}
			if g.NetNamespaceIPVS != nil {
				l.report(parser.SevGeneral, "Duplicate net_namespace_ipvs definition %s - ignoring", v.Slot(1))
				return
			}
			ns := ""
			if v.Len() >= 2 {
				ns = v.Slot(1)
			}
			g.NetNamespaceIPVS = &ns
		}),
		root("namespace_with_ipsets", func(v parser.Strvec) {
			if !v.Nil() {
				g.NamespaceWithIPSets = true
			}
		}),
		root("use_pid_dir", func(v parser.Strvec) {
			if !v.Nil() {
				g.UsePidDir = true
			}
		}),
		root("instance", func(v parser.Strvec) {
			if v.Nil() {
				return
			}
			if v.Len() < 2 {
				l.report(parser.SevGeneral, "instance name missing - ignoring")
				return
			}
			if g.InstanceName == "" {
				g.InstanceName = v.Slot(1)
				g.UsePidDir = true
			} else {
				l.report(parser.SevGeneral, "Duplicate instance definition %s - ignoring", v.Slot(1))
			}
		}),
		root("child_wait_time", func(v parser.Strvec) {
			if v.Nil() {
				return
			}
			n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, false)
			if !ok {
				l.report(parser.SevGeneral, "Invalid child_wait_time %s", v.Slot(1))
				return
			}
			g.ChildWaitTime = time.Duration(n) * time.Second
		}),
	}
	gd := root("global_defs", nil)
	if active {
		gd.Sub = l.globalDefsKeywords()
	}
	return append(kws, gd)
}

// globalDefsKeywords is the global_defs block's table: its own keywords,
// then the VRRP, process and other parts, in init_global_keywords'
// install order.
func (l *loader) globalDefsKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	kws := []*parser.Keyword{
		kw("process_names", l.processNames),
		kw("process_name", func(v parser.Strvec) { l.saveProcessName(&g.ProcessName, v.Slot(1)) }),
		kw("vrrp_process_name", func(v parser.Strvec) { l.saveProcessName(&g.VRRPProcessName, v.Slot(1)) }),
		kw("checker_process_name", func(v parser.Strvec) { l.saveProcessName(&g.CheckerProcessName, v.Slot(1)) }),
		kw("lvs_process_name", l.lvsProcessName),
		kw("bfd_process_name", func(v parser.Strvec) { l.saveProcessName(&g.BFDProcessName, v.Slot(1)) }),
		kw("router_id", l.routerID),
		kw("notification_email_from", l.emailFrom),
		kw("smtp_server", l.smtpServer),
		kw("smtp_helo_name", l.smtpHelo),
		kw("smtp_connect_timeout", l.smtpConnectTimeout),
		kw("notification_email", l.notificationEmail),
		kw("smtp_alert", l.globalTrueFalse(&g.SMTPAlert, "Invalid value '%s' for global smtp_alert specified")),
		kw("startup_script", func(v parser.Strvec) {
			l.startupShutdownScript(v, &g.StartupScript, &g.StartupScriptTimeout, "startup")
		}),
		kw("startup_script_timeout", func(v parser.Strvec) { l.startupShutdownTimeout(v, &g.StartupScriptTimeout, "startup") }),
		kw("shutdown_script", func(v parser.Strvec) {
			l.startupShutdownScript(v, &g.ShutdownScript, &g.ShutdownScriptTimeout, "shutdown")
		}),
		kw("shutdown_script_timeout", func(v parser.Strvec) { l.startupShutdownTimeout(v, &g.ShutdownScriptTimeout, "shutdown") }),
		kw("max_auto_priority", l.maxAutoPriority),
		kw("min_auto_priority_delay", l.minAutoPriorityDelay),
		kw("smtp_alert_vrrp", l.globalTrueFalse(&g.SMTPAlertVRRP, "Invalid value '%s' for global smtp_alert_vrrp specified")),
		kw("smtp_alert_checker", l.globalTrueFalse(&g.SMTPAlertChecker, "Invalid value '%s' for global smtp_alert_checker specified")),
		kw("checker_log_all_failures", l.checkerLogAllFailures),
		kw("dynamic_interfaces", l.dynamicInterfaces),
		boolKw("no_email_faults", &g.NoEmailFaults),
		kw("default_interface", l.defaultInterface),
		kw("disable_local_igmp", l.disableLocalIGMP),
		kw("lvs_timeouts", l.lvsTimeouts),
		boolKw("lvs_flush", &g.LVSFlush),
		kw("lvs_flush_on_stop", l.lvsFlushOnStop),
		kw("lvs_flush_onstop", l.lvsFlushOnStop),
		kw("lvs_sync_daemon", l.lvsSyncDaemon),
	}
	for _, part := range [][]*parser.Keyword{
		l.globalVRRPKeywords(),
		l.globalProcessKeywords(),
		l.globalSNMPKeywords(),
		l.globalNetlinkKeywords(),
		l.globalMiscKeywords(),
	} {
		kws = append(kws, part...)
	}
	return kws
}

// boolKw makes a table entry for a keyword that only sets a flag.
func boolKw(name string, dst *bool) *parser.Keyword {
	return kw(name, func(parser.Strvec) { *dst = true })
}

// processNames is process_names_handler.
func (l *loader) processNames(parser.Strvec) {
	g := &l.cfg.Global
	l.saveProcessName(&g.VRRPProcessName, "keepalived_vrrp")
	l.saveProcessName(&g.CheckerProcessName, "keepalived_lvs")
	l.saveProcessName(&g.BFDProcessName, "keepalived_bfd")
}

// lvsProcessName is lvs_process_name_handler.
func (l *loader) lvsProcessName(v parser.Strvec) {
	// keepalived logs "'lvs_process_name' is deprecated - please use 'checker_process_name'"
	l.saveProcessName(&l.cfg.Global.CheckerProcessName, v.Slot(1))
}

// routerID is routerid_handler.
func (l *loader) routerID(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "routerid name missing - ignoring")
		return
	}
	l.cfg.Global.RouterID = v.Slot(1)
}

// emailFrom is emailfrom_handler.
func (l *loader) emailFrom(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "emailfrom missing - ignoring")
		return
	}
	l.cfg.Global.NotificationEmailFrom = v.Slot(1)
}

// smtpHelo is smtphelo_handler.
func (l *loader) smtpHelo(v parser.Strvec) {
	if v.Len() >= 2 {
		l.cfg.Global.SMTPHeloName = v.Slot(1)
	}
}

// smtpConnectTimeout is smtpto_handler.
func (l *loader) smtpConnectTimeout(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
	if !ok {
		l.report(parser.SevGeneral, "smtp_connect_timeout '%s' must be in [0, %d] - ignoring", v.Slot(1), (1<<32-1)/timerHz)
		return
	}
	if n == 0 {
		l.report(parser.SevGeneral, "smtp_conect_timeout must be greater than 0, setting to 1")
		n = 1
	}
	l.cfg.Global.SMTPConnectTimeout = time.Duration(n) * time.Second
}

// notificationEmail is email_handler.
func (l *loader) notificationEmail(v parser.Strvec) {
	g := &l.cfg.Global
	emails := l.p.ValueWords(v)
	if emails == nil {
		l.report(parser.SevGeneral, "Warning - empty notification_email block")
		return
	}
	g.NotificationEmail = append(g.NotificationEmail, emails...)
}

// maxAutoPriority is max_auto_priority_handler.
func (l *loader) maxAutoPriority(v parser.Strvec) {
	g := &l.cfg.Global
	if v.Len() < 2 {
		g.MaxAutoPriority = schedRRMax
		return
	}
	n, ok := l.readInt(v.Slot(1), -1, schedRRMax, true)
	if !ok {
		l.report(parser.SevGeneral, "max_auto_priority '%s' must be in [0, %d] (or -1 to disable) - ignoring", v.Slot(1), schedRRMax)
		return
	}
	g.MaxAutoPriority = n
}

// minAutoPriorityDelay is min_auto_priority_delay_handler.
func (l *loader) minAutoPriorityDelay(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "min_auto_priority_delay requires delay time")
		return
	}
	n, ok := l.readInt(v.Slot(1), 1, 10000000, true)
	if !ok {
		l.report(parser.SevGeneral, "min_auto_priority_delay '%s' must be in [1, 10000000] - ignoring", v.Slot(1))
		return
	}
	l.cfg.Global.MinAutoPriorityDelay = time.Duration(n) * time.Microsecond
}

// checkerLogAllFailures is checker_log_all_failures_handler.
func (l *loader) checkerLogAllFailures(v parser.Strvec) {
	res := 1
	if v.Len() >= 2 {
		if res = checkTrueFalse(v.Slot(1)); res < 0 {
			l.report(parser.SevGeneral, "Invalid value for checker_log_all_failures specified")
			return
		}
	}
	l.cfg.Global.CheckerLogAllFailures = res == 1
}

// dynamicInterfaces is dynamic_interfaces_handler.
func (l *loader) dynamicInterfaces(v parser.Strvec) {
	g := &l.cfg.Global
	g.DynamicInterfaces = true
	if v.Len() >= 2 {
		if v.Slot(1) == "allow_if_changes" {
			g.AllowIfChanges = true
		} else {
			l.report(parser.SevGeneral, "Unknown dynamic_interfaces option '%s'", v.Slot(1))
		}
	}
}

// defaultInterface is default_interface_handler.
func (l *loader) defaultInterface(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "default_interface requires interface name")
		return
	}
	l.cfg.Global.DefaultInterface = v.Slot(1)
}

// disableLocalIGMP is disable_local_igmp_handler.
func (l *loader) disableLocalIGMP(parser.Strvec) {
	const p = "/proc/sys/net/ipv4/igmp_link_local_mcast_reports"
	if f, err := os.OpenFile(p, os.O_WRONLY, 0); err != nil {
		l.report(parser.SevGeneral, "kernel does not support %s", p)
		return
	} else {
		f.Close()
	}
	l.cfg.Global.DisableLocalIGMP = true
}

func (l *loader) saveProcessName(dst *string, src string) {
	if len(src) >= taskCommLen {
		l.report(parser.SevGeneral, "Process name %s more than %d characters, truncating", src, taskCommLen-1)
		src = src[:taskCommLen-1]
	}
	*dst = src
}

// globalTrueFalse is the handler shape of smtp_alert and its siblings: no
// argument means true, otherwise check_true_false.
func (l *loader) globalTrueFalse(dst **bool, msg string) func(parser.Strvec) {
	return func(v parser.Strvec) {
		res := 1
		if v.Len() >= 2 {
			if res = checkTrueFalse(v.Slot(1)); res < 0 {
				l.report(parser.SevGeneral, msg, v.Slot(1))
				return
			}
		}
		b := res == 1
		*dst = &b
	}
}

// trueFalseFlag is the same shape into a plain bool.
func (l *loader) trueFalseFlag(dst *bool, msg string) func(parser.Strvec) {
	return func(v parser.Strvec) {
		res := 1
		if v.Len() >= 2 {
			if res = checkTrueFalse(v.Slot(1)); res < 0 {
				if strings.Contains(msg, "%s") {
					l.report(parser.SevGeneral, msg, v.Slot(1))
				} else {
					l.report(parser.SevGeneral, "%s", msg)
				}
				return
			}
		}
		*dst = res == 1
	}
}

// smtpServer is smtpserver_handler.
func (l *loader) smtpServer(v parser.Strvec) {
	g := &l.cfg.Global
	port := "25"
	if v.Len() >= 3 {
		port = v.Slot(2)
	}
	host := v.Slot(1)
	failed := true
	var addr netip.Addr
	var p uint16
	if !strings.ContainsAny(host, "-/") {
		var ok bool
		addr, p, ok = l.inetStosockaddr(host, port)
		failed = !ok
	}
	if failed {
		// domain_stosockaddr: resolve the name.
		addr, p = l.resolveSMTP(host, port)
	}
	if !addr.IsValid() {
		l.report(parser.SevGeneral, "Invalid smtp server %s %s", host, port)
		g.SMTPServer, g.SMTPServerAddr = "", netip.Addr{}
		return
	}
	g.SMTPServer, g.SMTPServerAddr, g.SMTPPort = host, addr, int(p)
}

func (l *loader) resolveSMTP(host, port string) (netip.Addr, uint16) {
	var p uint16
	if port != "" {
		n, ok := l.readUnsigned(port, 1, 65535, true)
		if !ok {
			return netip.Addr{}, 0
		}
		p = uint16(n)
	}
	if a, ok := lookupHost(host); ok {
		return a, p
	}
	return netip.Addr{}, 0
}

// lookupHost is getaddrinfo(host) for the first address; hosts files and
// numeric forms only (no DNS queries while a configuration is read).
var lookupHost = func(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	if host == "localhost" || host == "localhost.localdomain" {
		return netip.MustParseAddr("127.0.0.1"), true
	}
	if a, ok := hostsFile(host); ok {
		return a, true
	}
	return netip.Addr{}, false
}

func hostsFile(host string) (netip.Addr, bool) {
	b, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return netip.Addr{}, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		for _, n := range f[min(1, len(f)):] {
			if n == host {
				if a, err := netip.ParseAddr(f[0]); err == nil {
					return a, true
				}
			}
		}
	}
	return netip.Addr{}, false
}

// startupShutdownScript is startup_shutdown_script (parent process only).
func (l *loader) startupShutdownScript(v parser.Strvec, dst **Script, timeout *time.Duration, typ string) {
	if *dst != nil {
		l.report(parser.SevGeneral, "%s script already specified", typ)
		return
	}
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "%s script missing", typ)
		return
	}
	s := l.notifyScript(0, typ)
	if s == nil {
		l.report(parser.SevGeneral, "Invalid %s script", typ)
		return
	}
	*dst = s
	if *timeout == 0 {
		*timeout = 10 * time.Second
	}
}

func (l *loader) startupShutdownTimeout(v parser.Strvec, dst *time.Duration, typ string) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "%s_script_timeout requires value", typ)
		return
	}
	n, ok := l.readUnsigned(v.Slot(1), 1, 1000, true)
	if !ok {
		l.report(parser.SevGeneral, "%s_script_timeout '%s' must be in [1, 1000] - ignoring", typ, v.Slot(1))
		return
	}
	*dst = time.Duration(n) * time.Second
}

// lvsTimeouts is lvs_timeouts.
func (l *loader) lvsTimeouts(v parser.Strvec) {
	g := &l.cfg.Global
	if v.Len() < 3 {
		l.report(parser.SevGeneral, "lvs_timeouts requires at least one option")
		return
	}
	for i := 1; i < v.Len(); i++ {
		var dst *time.Duration
		switch name := v.Slot(i); name {
		case "tcp":
			dst = &g.LVSTimeouts.TCP
		case "tcpfin":
			dst = &g.LVSTimeouts.TCPFin
		case "udp":
			dst = &g.LVSTimeouts.UDP
		default:
			l.report(parser.SevGeneral, "Unknown option %s specified for lvs_timeouts", name)
			continue
		}
		name := v.Slot(i)
		if i == v.Len()-1 {
			l.report(parser.SevGeneral, "No value specified for lvs_timeout %s - ignoring", name)
			continue
		}
		if n, ok := l.readUnsigned(v.Slot(i+1), 0, lvsMaxTimeout, false); !ok {
			l.report(parser.SevGeneral, "Invalid lvs_timeout %s (%s) - ignoring", name, v.Slot(i+1))
		} else {
			*dst = time.Duration(n) * time.Second
		}
		i++
	}
}

func (l *loader) lvsFlushOnStop(v parser.Strvec) {
	g := &l.cfg.Global
	switch {
	case v.Len() == 1:
		g.LVSFlushOnStop = "FULL"
	case v.Slot(1) == "VS":
		g.LVSFlushOnStop = "VS"
	default:
		l.report(parser.SevGeneral, "Unknown lvs_flush_on_stop type %s", v.Slot(1))
	}
}

// lvsSyncDaemon is lvs_syncd_handler.
func (l *loader) lvsSyncDaemon(v parser.Strvec) {
	g := &l.cfg.Global
	if sd := g.LVSSyncDaemon; sd != nil {
		l.report(parser.SevGeneral, "lvs_sync_daemon has already been specified as %s %s - ignoring", sd.Interface, sd.Instance)
		return
	}
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "lvs_sync_daemon requires interface")
		return
	}
	if len(v.Slot(1)) >= ipVSIfnameMaxlen {
		l.report(parser.SevGeneral, "lvs_sync_daemon interface name '%s' too long - ignoring", v.Slot(1))
		return
	}
	sd := &SyncDaemon{Pos: l.pos(), Interface: v.Slot(1), SyncID: -1}
	g.LVSSyncDaemon = sd
	for i := 2; i < v.Len(); i++ {
		opt := v.Slot(i)
		readOpt := func(name string, min, max uint, dst *int, bad string) {
			if i == v.Len()-1 {
				l.report(parser.SevGeneral, "No value specified for lvs_sync_daemon %s%s", name, bad)
				return
			}
			if n, ok := l.readUnsigned(v.Slot(i+1), min, max, false); !ok {
				if name == "id" {
					l.report(parser.SevGeneral, "Invalid syncid (%s) - defaulting to vrid", v.Slot(i+1))
				} else {
					l.report(parser.SevGeneral, "Invalid lvs_sync_daemon %s (%s) - ignoring", name, v.Slot(i+1))
				}
			} else {
				*dst = int(n)
			}
			i++
		}
		switch {
		case opt == "inst":
			if sd.Instance != "" {
				l.report(parser.SevGeneral, "lvs_sync_daemon vrrp instance has already been specified as %s - ignoring", sd.Instance)
			} else {
				sd.Instance = v.Slot(i + 1)
			}
			i++
		case opt == "id":
			readOpt("id", 0, 255, &sd.SyncID, ", defaulting to vrid")
		case opt == "maxlen":
			readOpt("maxlen", 1, 65535-20-8, &sd.MaxLen, " - ignoring")
		case opt == "port":
			readOpt("port", 1, 65535, &sd.Port, " - ignoring")
		case opt == "ttl":
			readOpt("ttl", 1, 255, &sd.TTL, " - ignoring")
		case opt == "group":
			if i == v.Len()-1 {
				l.report(parser.SevGeneral, "No value specified for lvs_sync_daemon group - ignoring")
				continue
			}
			a, _, ok := l.inetStosockaddr(v.Slot(i+1), "")
			if !ok {
				l.report(parser.SevGeneral, "Invalid lvs_sync_daemon group (%s) - ignoring", v.Slot(i+1))
			}
			if ok && !a.IsMulticast() {
				l.report(parser.SevGeneral, "lvs_sync_daemon group address %s is not multicast - ignoring", v.Slot(i+1))
				a = netip.Addr{}
			}
			sd.Group = a
			i++
		case i == 2:
			sd.Instance = opt
		case i == 3:
			if n, ok := l.readUnsigned(v.Slot(3), 0, 255, false); !ok {
				l.report(parser.SevGeneral, "Invalid syncid (%s) - defaulting to vrid", v.Slot(3))
			} else {
				l.report(parser.SevGeneral, "Please use keyword \"id\" before lvs_sync_daemon SYNCID")
				sd.SyncID = int(n)
			}
		default:
			l.report(parser.SevGeneral, "Unknown option %s specified for lvs_sync_daemon", opt)
		}
	}
}

// globalVRRPKeywords are global_defs' VRRP settings: the GARP and advert
// ones, the firewall, then the VRRP checks and process.
func (l *loader) globalVRRPKeywords() []*parser.Keyword {
	kws := append(l.globalGarpKeywords(), l.globalNFTKeywords()...)
	return append(kws, l.globalVRRPProcessKeywords()...)
}

// globalGarpKeywords: vrrp_mcast_group4 to vrrp_version.
func (l *loader) globalGarpKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	return []*parser.Keyword{
		kw("vrrp_mcast_group4", func(v parser.Strvec) { l.mcastGroup(v, false) }),
		kw("vrrp_mcast_group6", func(v parser.Strvec) { l.mcastGroup(v, true) }),
		kw("vrrp_garp_master_delay", l.vrrpGarpDelay),
		kw("vrrp_garp_master_repeat", l.vrrpGarpRep("vrrp_garp_master_repeat", &g.GarpMasterRepeat)),
		kw("vrrp_garp_master_refresh", l.vrrpGarpRefresh),
		kw("vrrp_garp_master_refresh_repeat", l.vrrpGarpRep("vrrp_garp_master_refresh_repeat", &g.GarpMasterRefreshRep)),
		kw("vrrp_garp_lower_prio_delay", l.vrrpGarpLowerPrioDelay),
		kw("vrrp_garp_lower_prio_repeat", l.vrrpGarpLowerPrioRep),
		kw("vrrp_down_timer_adverts", l.vrrpDownTimerAdverts),
		kw("vrrp_garp_interval", l.vrrpGarpInterval),
		kw("vrrp_gna_interval", l.vrrpGnaInterval),
		kw("vrrp_min_garp", l.vrrpMinGarp),
		kw("vrrp_garp_extra_if", l.garpExtraIf),
		kw("vrrp_vmac_garp_intvl", l.garpExtraIf),
		kw("vrrp_lower_prio_no_advert", l.trueFalseFlag(&g.LowerPrioNoAdvert, "Invalid value for vrrp_lower_prio_no_advert specified")),
		kw("vrrp_higher_prio_send_advert", l.trueFalseFlag(&g.HigherPrioSendAdvert, "Invalid value for vrrp_higher_prio_send_advert specified")),
		kw("vrrp_version", l.vrrpVersion),
	}
}

// globalNFTKeywords: vrrp_iptables to nftables_counters.
func (l *loader) globalNFTKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	return []*parser.Keyword{
		kw("vrrp_iptables", l.vrrpIptables),
		kw("nftables", l.vrrpNftables),
		kw("nftables_priority", l.vrrpNftablesPriority),
		boolKw("nftables_ifindex", &g.NFTablesIfindex),
		kw("nftables_ipvs", l.ipvsNftables),
		kw("nftables_ipvs_priority", l.ipvsNftablesPriority),
		kw("nftables_ipvs_start_fwmark", l.ipvsNftablesStartFwmark),
		boolKw("nftables_counters", &g.NFTablesCounters),
	}
}

// globalVRRPProcessKeywords: vrrp_check_unicast_src to vrrp_rlimit_rtime.
func (l *loader) globalVRRPProcessKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	kws := []*parser.Keyword{
		boolKw("vrrp_check_unicast_src", &g.VRRPCheckUnicastSrc),
		boolKw("vrrp_skip_check_adv_addr", &g.VRRPSkipCheckAdvAddr),
		boolKw("vrrp_strict", &g.VRRPStrict),
	}
	return append(kws, l.processKeywords("vrrp", &g.VRRPProcess)...)
}

// vrrpGarpDelay is vrrp_garp_delay_handler.
func (l *loader) vrrpGarpDelay(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
	if !ok {
		l.report(parser.SevGeneral, "vrrp_garp_master_delay '%s' invalid - ignoring", v.Slot(1))
		return
	}
	l.cfg.Global.GarpMasterDelay = time.Duration(n) * time.Second
}

// vrrpGarpRep is the shape of vrrp_garp_rep_handler and
// vrrp_garp_refresh_rep_handler.
func (l *loader) vrrpGarpRep(name string, dst *int) func(parser.Strvec) {
	return func(v parser.Strvec) {
		n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
		if !ok {
			l.report(parser.SevGeneral, "%s '%s' invalid - ignoring", name, v.Slot(1))
			return
		}
		if n == 0 {
			l.report(parser.SevGeneral, "%s must be greater than 0, setting to 1", name)
			n = 1
		}
		*dst = int(n)
	}
}

// vrrpGarpRefresh is vrrp_garp_refresh_handler.
func (l *loader) vrrpGarpRefresh(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
	if !ok {
		l.report(parser.SevGeneral, "Invalid vrrp_garp_master_refresh '%s' - ignoring", v.Slot(1))
		n = 0
	}
	l.cfg.Global.GarpMasterRefresh = time.Duration(n) * time.Second
}

// vrrpGarpLowerPrioDelay is vrrp_garp_lower_prio_delay_handler.
func (l *loader) vrrpGarpLowerPrioDelay(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, (1<<32-1)/timerHz, true)
	if !ok {
		l.report(parser.SevGeneral, "vrrp_garp_lower_prio_delay '%s' invalid - ignoring", v.Slot(1))
		return
	}
	d := time.Duration(n) * time.Second
	l.cfg.Global.GarpLowerPrioDelay = &d
}

// vrrpGarpLowerPrioRep is vrrp_garp_lower_prio_rep_handler.
func (l *loader) vrrpGarpLowerPrioRep(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, 1<<31-1, true)
	if !ok {
		l.report(parser.SevGeneral, "Invalid vrrp_garp_lower_prio_repeat '%s'", v.Slot(1))
		return
	}
	r := int(n)
	l.cfg.Global.GarpLowerPrioRepeat = &r
}

// vrrpDownTimerAdverts is vrrp_down_timer_adverts_handler.
func (l *loader) vrrpDownTimerAdverts(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 1, 100, true)
	if !ok {
		l.report(parser.SevGeneral, "Invalid vrrp_down_timer_adverts [1:100] '%s'", v.Slot(1))
		return
	}
	l.cfg.Global.DownTimerAdverts = int(n)
}

// vrrpGarpInterval is vrrp_garp_interval_handler.
func (l *loader) vrrpGarpInterval(v parser.Strvec) {
	if n, ok := l.readDecimal(v.Slot(1), 1, 1<<32-1, 6, true); !ok {
		l.report(parser.SevGeneral, "vrrp_garp_interval '%s' is invalid", v.Slot(1))
	} else {
		l.cfg.Global.GarpInterval = us(n)
	}
}

// vrrpGnaInterval is vrrp_gna_interval_handler.
func (l *loader) vrrpGnaInterval(v parser.Strvec) {
	if n, ok := l.readDecimal(v.Slot(1), 1, 1<<32-1, 6, true); !ok {
		l.report(parser.SevGeneral, "vrrp_gna_interval '%s' is invalid", v.Slot(1))
	} else {
		l.cfg.Global.GnaInterval = us(n)
	}
}

// vrrpMinGarp is vrrp_min_garp_handler: the GARP settings still at their
// defaults drop to one GARP, no refresh repeat and no delay.
func (l *loader) vrrpMinGarp(v parser.Strvec) {
	g := &l.cfg.Global
	if v.Len() >= 2 {
		res := checkTrueFalse(v.Slot(1))
		if res < 0 {
			l.report(parser.SevGeneral, "Invalid value for vrrp_min_garp specified")
			return
		}
		if res == 0 {
			return
		}
	}
	if g.GarpMasterRepeat == 5 {
		g.GarpMasterRepeat = 1
	}
	if g.GarpMasterRefreshRep == 1 {
		g.GarpMasterRefreshRep = 0
	}
	if g.GarpMasterDelay == 5*time.Second {
		g.GarpMasterDelay = 0
	}
}

// vrrpVersion is vrrp_version_handler (global_parser.c).
func (l *loader) vrrpVersion(v parser.Strvec) {
	n, ok := l.readInt(v.Slot(1), 2, 3, true)
	if !ok {
		l.report(parser.SevGeneral, "VRRP Error: Version must be either 2 or 3")
		return
	}
	l.cfg.Global.VRRPVersion = n
}

// vrrpIptables is vrrp_iptables_handler in a build with nftables only.
func (l *loader) vrrpIptables(parser.Strvec) {
	g := &l.cfg.Global
	// Debian's build has nftables, not iptables.
	l.report(parser.SevGeneral, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")
	g.NFTables = "keepalived"
	g.NFTablesPriority = -1
}

// vrrpNftables is vrrp_nftables_handler.
func (l *loader) vrrpNftables(v parser.Strvec) {
	g := &l.cfg.Global
	if g.NFTables != "" {
		l.report(parser.SevGeneral, "nftables already specified - ignoring")
		return
	}
	name := "keepalived"
	if v.Len() >= 2 {
		if len(v.Slot(1)) >= nftTableMaxNameLen {
			l.report(parser.SevGeneral, "nftables table name too long - ignoring")
			return
		}
		name = v.Slot(1)
	}
	g.NFTables = name
	g.NFTablesPriority = -1
}

// vrrpNftablesPriority is vrrp_nftables_priority_handler.
func (l *loader) vrrpNftablesPriority(v parser.Strvec) {
	if n, ok := l.readInt(v.Slot(1), -1<<31, 1<<31-1, false); ok {
		l.cfg.Global.NFTablesPriority = n
	} else {
		l.report(parser.SevInvalidNumber, "invalid nftables chain priority '%s'", v.Slot(1))
	}
}

// ipvsNftables is ipvs_nftables_handler.
func (l *loader) ipvsNftables(v parser.Strvec) {
	g := &l.cfg.Global
	if g.NFTablesIPVS != "" {
		l.report(parser.SevGeneral, "ipvs nftables already specified - ignoring")
		return
	}
	name := "keepalived_ipvs"
	if v.Len() >= 2 {
		if len(v.Slot(1)) >= nftTableMaxNameLen {
			l.report(parser.SevGeneral, "ipvs nftables table name too long - ignoring")
			return
		}
		name = v.Slot(1)
	}
	g.NFTablesIPVS = name
	g.NFTablesIPVSPriority = -1
	g.NFTablesIPVSStartFWMark = 1000
}

// ipvsNftablesPriority is ipvs_nftables_priority_handler.
func (l *loader) ipvsNftablesPriority(v parser.Strvec) {
	if n, ok := l.readInt(v.Slot(1), -1<<31, 1<<31-1, false); ok {
		l.cfg.Global.NFTablesIPVSPriority = n
	} else {
		l.report(parser.SevInvalidNumber, "invalid ipvs nftables chain priority '%s'", v.Slot(1))
	}
}

// ipvsNftablesStartFwmark is ipvs_nftables_start_fwmark_handler.
func (l *loader) ipvsNftablesStartFwmark(v parser.Strvec) {
	if n, ok := l.readUnsigned(v.Slot(1), 1, 1<<32-1, false); ok {
		l.cfg.Global.NFTablesIPVSStartFWMark = uint32(n)
	} else {
		l.report(parser.SevInvalidNumber, "invalid ipvs nftables start_fwmark priority '%s'", v.Slot(1))
	}
}

func (l *loader) mcastGroup(v parser.Strvec, v6 bool) {
	g := &l.cfg.Global
	name, fam := "vrrp_mcast_group4", "IPv4"
	if v6 {
		name, fam = "vrrp_mcast_group6", "IPv6"
	}
	a, _, ok := l.inetStosockaddr(v.Slot(1), "")
	if !ok {
		l.report(parser.SevGeneral, "Can't parse %s [%s]. Skipping", name, v.Slot(1))
		return
	}
	if a.Is6() != v6 {
		l.report(parser.SevGeneral, "%s [%s] is not %s. Skipping", name, v.Slot(1), fam)
		return
	}
	if !a.IsMulticast() {
		l.report(parser.SevGeneral, "%s [%s] is not multicast. Skipping", name, v.Slot(1))
		return
	}
	if v6 {
		if !a.IsLinkLocalMulticast() {
			l.report(parser.SevWarning, "%s [%s] should be link-local multicast.", name, v.Slot(1))
		}
		g.VRRPMcastGroup6 = a
	} else {
		g.VRRPMcastGroup4 = a
	}
}

// garpExtraIf is vrrp_vmac_garp_extra_if_handler.
func (l *loader) garpExtraIf(v parser.Strvec) {
	g := &l.cfg.Global
	cmd := v.Slot(0)
	if cmd == "vrrp_vmac_garp_intvl" {
		l.report(parser.SevDeprecated, "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"")
	}
	var delay uint
	for i := 1; i < v.Len(); i++ {
		if v.Slot(i) == "all" {
			g.GarpExtraIfAll = true
			continue
		}
		n, ok := l.readUnsigned(v.Slot(i), 1, 86400, true)
		if !ok {
			l.report(parser.SevGeneral, "%s '%s' invalid - ignoring", cmd, v.Slot(i))
			return
		}
		delay = n
	}
	if delay == 0 {
		l.report(parser.SevGeneral, "%s specified without time - ignoring", cmd)
		return
	}
	g.GarpExtraIf = time.Duration(delay) * time.Second
}

// processPriority is get_priority.
func (l *loader) processPriority(v parser.Strvec, process string) int {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No %s process priority specified", process)
		return 0
	}
	n, ok := l.readInt(v.Slot(1), -20, 19, true)
	if !ok {
		l.report(parser.SevGeneral, "Invalid %s process priority specified", process)
		return 0
	}
	return n
}

// realtimePriority is get_realtime_priority.
func (l *loader) realtimePriority(v parser.Strvec, process string, dst *int) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No %s process real-time priority specified", process)
		return
	}
	n, ok := l.readInt(v.Slot(1), -1<<31, 1<<31-1, true)
	if !ok {
		l.report(parser.SevGeneral, "%s process real-time priority '%s' invalid", process, v.Slot(1))
		return
	}
	if n < schedRRMin {
		l.report(parser.SevGeneral, "%s process real-time priority %d less than minimum %d - setting to minimum", process, n, schedRRMin)
		n = schedRRMin
	} else if n > schedRRMax {
		l.report(parser.SevGeneral, "%s process real-time priority %d greater than maximum %d - setting to maximum", process, n, schedRRMax)
		n = schedRRMax
	}
	*dst = n
}

// cpuAffinity is get_cpu_affinity.
func (l *loader) cpuAffinity(v parser.Strvec, process string) []int {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No %s cpu_id set specified", process)
		return nil
	}
	ncpu := runtime.NumCPU()
	var set []int
	for i := 1; i < v.Len(); i++ {
		n, ok := l.readInt(v.Slot(i), 0, ncpu-1, true)
		if !ok {
			l.report(parser.SevGeneral, "Invalid cpu_id:%d specified for %s process", n, process)
			return nil
		}
		set = append(set, n)
	}
	return set
}

// rtRlimit is get_rt_rlimit.
func (l *loader) rtRlimit(v parser.Strvec, process string) uint64 {
	n, ok := l.readUnsigned(v.Slot(1), 1, 1<<32-1, true)
	if !ok {
		l.report(parser.SevGeneral, "Invalid %s real-time limit - %s", process, v.Slot(1))
		return 0
	}
	if n == 1 {
		n = 2
	}
	return uint64(n)
}

// globalProcessKeywords are the notify FIFOs and the checker/BFD process settings.
func (l *loader) globalProcessKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	kws := []*parser.Keyword{
		kw("notify_fifo", func(v parser.Strvec) { l.notifyFIFO(v, "", &g.NotifyFIFO) }),
		kw("notify_fifo_script", func(v parser.Strvec) { l.notifyFIFOScript(v, "", &g.NotifyFIFO) }),
		kw("vrrp_notify_fifo", func(v parser.Strvec) { l.notifyFIFO(v, "vrrp_", &g.VRRPNotifyFIFO) }),
		kw("vrrp_notify_fifo_script", func(v parser.Strvec) { l.notifyFIFOScript(v, "vrrp_", &g.VRRPNotifyFIFO) }),
		kw("vrrp_notify_priority_changes", l.trueFalseFlag(&g.VRRPNotifyPriorityChanges, "Invalid value '%s' for global vrrp_notify_priority_changes specified")),
		boolKw("fifo_write_vrrp_states_on_reload", &g.FIFOWriteVRRPStatesOnReload),
		kw("lvs_notify_fifo", func(v parser.Strvec) { l.notifyFIFO(v, "lvs_", &g.LVSNotifyFIFO) }),
		kw("lvs_notify_fifo_script", func(v parser.Strvec) { l.notifyFIFOScript(v, "lvs_", &g.LVSNotifyFIFO) }),
	}
	kws = append(kws, l.processKeywords("checker", &g.CheckerProcess)...)
	kws = append(kws, l.processKeywords("bfd", &g.BFDProcess)...)
	return kws
}

// processKeywords are a process's priority, no_swap, rt_priority,
// cpu_affinity and rlimit_rttime keywords (vrrp_, checker_ and bfd_).
func (l *loader) processKeywords(prefix string, p *ProcessSettings) []*parser.Keyword {
	return []*parser.Keyword{
		kw(prefix+"_priority", func(v parser.Strvec) { p.Priority = l.processPriority(v, prefix) }),
		boolKw(prefix+"_no_swap", &p.NoSwap),
		kw(prefix+"_rt_priority", func(v parser.Strvec) { l.realtimePriority(v, prefix, &p.RTPriority) }),
		kw(prefix+"_cpu_affinity", func(v parser.Strvec) { p.CPUAffinity = l.cpuAffinity(v, prefix) }),
		kw(prefix+"_rlimit_rttime", func(v parser.Strvec) { p.RLimitRT = l.rtRlimit(v, prefix) }),
		kw(prefix+"_rlimit_rtime", func(v parser.Strvec) { p.RLimitRT = l.rtRlimit(v, prefix) }),
	}
}

// notifyFIFO is notify_fifo.
func (l *loader) notifyFIFO(v parser.Strvec, typ string, f *FIFO) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No %snotify_fifo name specified", typ)
		return
	}
	if f.Path != "" {
		l.report(parser.SevGeneral, "%snotify_fifo already specified - ignoring %s", typ, v.Slot(1))
		return
	}
	if v.Len() > 2 {
		uid, gid, ok := l.scriptUIDGID(v.W, 2)
		if !ok {
			// keepalived logs "Invalid user/group for %s fifo %s - ignoring"
			return
		}
		f.UID, f.GID = uid, gid
	} else {
		uid, gid, ok := l.defaultScriptUser()
		if !ok {
			return
		}
		f.UID, f.GID = uid, gid
	}
	f.Path = v.Slot(1)
}

// notifyFIFOScript is notify_fifo_script.
func (l *loader) notifyFIFOScript(v parser.Strvec, typ string, f *FIFO) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No %snotify_fifo_script specified", typ)
		return
	}
	if f.Script != nil {
		l.report(parser.SevGeneral, "%snotify_fifo_script already specified - ignoring %s", typ, v.Slot(1))
		return
	}
	f.Script = l.notifyScript(1, typ+"notify_fifo")
}

// globalSNMPKeywords: snmp_socket to enable_script_security (SNMP, DBus
// and the script user).
func (l *loader) globalSNMPKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	return []*parser.Keyword{
		kw("snmp_socket", l.snmpSocket),
		boolKw("enable_traps", &g.EnableTraps),
		boolKw("enable_snmp_vrrp", &g.EnableSNMPVRRP),
		boolKw("enable_snmp_keepalived", &g.EnableSNMPVRRP),
		kw("enable_snmp_rfc", func(parser.Strvec) { g.EnableSNMPRFCv2, g.EnableSNMPRFCv3 = true, true }),
		boolKw("enable_snmp_rfcv2", &g.EnableSNMPRFCv2),
		boolKw("enable_snmp_rfcv3", &g.EnableSNMPRFCv3),
		boolKw("enable_snmp_checker", &g.EnableSNMPChecker),
		boolKw("enable_dbus", &g.EnableDBus),
		kw("dbus_service_name", l.dbusServiceName),
		kw("script_user", l.scriptUser),
		kw("enable_script_security", l.scriptSecurity),
	}
}

// globalNetlinkKeywords: the netlink receive buffers to vmac_addr_prefix.
func (l *loader) globalNetlinkKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	nb := &g.NetlinkBufs
	return []*parser.Keyword{
		l.rcvBufs("vrrp_netlink_cmd", &nb.VRRPCmd),
		l.rcvBufsForce("vrrp_netlink_cmd", &nb.VRRPCmdForce),
		l.rcvBufs("vrrp_netlink_monitor", &nb.VRRPMonitor),
		l.rcvBufsForce("vrrp_netlink_monitor", &nb.VRRPMonitorForce),
		l.rcvBufs("process_monitor", &nb.ProcessMonitor),
		l.rcvBufsForce("process_monitor", &nb.ProcessMonitorForce),
		l.rcvBufs("lvs_netlink_cmd", &nb.LVSCmd),
		l.rcvBufsForce("lvs_netlink_cmd", &nb.LVSCmdForce),
		l.rcvBufs("lvs_netlink_monitor", &nb.LVSMonitor),
		l.rcvBufsForce("lvs_netlink_monitor", &nb.LVSMonitorForce),
		kw("rs_init_notifies", l.trueFalseFlag(&g.RSInitNotifies, "Invalid value '%s' for global rs_init_notifies specified")),
		kw("no_checker_emails", l.trueFalseFlag(&g.NoCheckerEmails, "Invalid value '%s' for global no_checker_emails specified")),
		kw("vrrp_rx_bufs_policy", l.rxBufsPolicy),
		kw("vrrp_rx_bufs_multiplier", l.rxBufsMultiplier),
		kw("vrrp_startup_delay", l.vrrpStartupDelay),
		boolKw("log_unknown_vrids", &g.LogUnknownVRIDs),
		kw("vmac_prefix", l.vmacPrefix),
		kw("vmac_addr_prefix", l.vmacAddrPrefix),
	}
}

// globalMiscKeywords: umask to data_use_instance, then our own keywords.
func (l *loader) globalMiscKeywords() []*parser.Keyword {
	g := &l.cfg.Global
	return []*parser.Keyword{
		kw("umask", l.umask),
		kw("random_seed", l.randomSeed),
		kw("reload_check_config", l.reloadCheckConfig),
		kw("reload_time_file", l.reloadTimeFile),
		boolKw("reload_repeat", &g.ReloadRepeat),
		kw("reload_file", l.reloadFile),
		kw("include_check", func(v parser.Strvec) { l.p.R.SetIncludeCheck(v.W) }),
		kw("config_save_dir", l.configSaveDir),
		kw("tmp_config_directory", l.configCopyDirectory),
		kw("data_use_instance", l.trueFalseFlag(&g.DataUseInstance, "Invalid value '%s' for global date_use_instance specified")),
		// Ours: keepalived reports them as unknown keywords.
		kw("lvs_backend", l.lvsBackend),
		kw("metrics_listen", func(v parser.Strvec) { g.MetricsListen = v.At(1) }),
		boolKw("strict_keywords", &g.StrictKeywords),
	}
}

// snmpSocket is snmp_socket_handler.
func (l *loader) snmpSocket(v parser.Strvec) {
	g := &l.cfg.Global
	switch {
	case v.Len() > 2:
		l.report(parser.SevGeneral, "Too many parameters specified for snmp_socket - ignoring")
	case v.Len() < 2:
		l.report(parser.SevGeneral, "SNMP error : snmp socket name missing")
	case len(v.Slot(1)) > pathMax-1:
		l.report(parser.SevGeneral, "SNMP error : snmp socket name too long - ignored")
	case g.SNMPSocket != "":
		l.report(parser.SevGeneral, "SNMP socket already set to %s - ignoring", g.SNMPSocket)
	default:
		g.SNMPSocket = v.Slot(1)
	}
}

// dbusServiceName is dbus_service_name_handler.
func (l *loader) dbusServiceName(v parser.Strvec) {
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "dbus_service_name missing - ignoring")
		return
	}
	l.cfg.Global.DBusServiceName = v.Slot(1)
}

// scriptUser is script_user_handler.
func (l *loader) scriptUser(v parser.Strvec) {
	g := &l.cfg.Global
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "No script username specified")
		return
	}
	g.ScriptUser = v.Slot(1)
	if v.Len() > 2 {
		g.ScriptGroup = v.Slot(2)
	}
	if l.setDefaultScriptUser(v.Slot(1), v.At(2), v.Len() > 2) {
		l.report(parser.SevGeneral, "Error setting global script uid/gid")
	}
}

// scriptSecurity is script_security_handler.
func (l *loader) scriptSecurity(parser.Strvec) {
	l.cfg.Global.EnableScriptSecurity = true
	l.users.security = true
}

// rcvBufs is the shape of the *_rcv_bufs handlers.
func (l *loader) rcvBufs(name string, dst *uint) *parser.Keyword {
	return kw(name+"_rcv_bufs", func(v parser.Strvec) {
		if v.Len() < 2 {
			l.report(parser.SevGeneral, "%s_rcv_bufs size missing", name)
			return
		}
		n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, false)
		if !ok {
			l.report(parser.SevGeneral, "%s_rcv_bufs size (%s) invalid", name, v.Slot(1))
			return
		}
		if n != 0 {
			*dst = n
		}
	})
}

// rcvBufsForce is the shape of the *_rcv_bufs_force handlers.
func (l *loader) rcvBufsForce(name string, dst *bool) *parser.Keyword {
	return kw(name+"_rcv_bufs_force", l.trueFalseFlag(dst, "Invalid value '%s' for global "+name+"_rcv_bufs_force specified"))
}

// rxBufsMultiplier is vrrp_rx_bufs_multiplier_handler.
func (l *loader) rxBufsMultiplier(v parser.Strvec) {
	if v.Len() != 2 {
		l.report(parser.SevGeneral, "Invalid vrrp_rx_bufs_multiplier")
		return
	}
	if n, ok := l.readUnsigned(v.Slot(1), 1, 1<<32-1, false); !ok {
		l.report(parser.SevGeneral, "Invalid vrrp_rx_bufs_multiplier %s", v.Slot(1))
	} else {
		l.cfg.Global.VRRPRxBufsMultiples = int(n)
	}
}

// vrrpStartupDelay is vrrp_startup_delay_handler.
func (l *loader) vrrpStartupDelay(v parser.Strvec) {
	if n, ok := l.readDecimal(v.Slot(1), timerHz/1000, 1<<32-1, 6, true); !ok {
		l.report(parser.SevGeneral, "vrrp_startup_delay '%s' is invalid", v.Slot(1))
	} else {
		l.cfg.Global.VRRPStartupDelay = us(n)
	}
}

// vmacPrefix is vrrp_vmac_prefix_handler.
func (l *loader) vmacPrefix(v parser.Strvec) {
	g := &l.cfg.Global
	if g.VMACPrefix != "" {
		l.report(parser.SevGeneral, "vmac prefix has already been specified - ignoring %s", v.Slot(1))
		return
	}
	g.VMACPrefix = v.Slot(1)
}

// vmacAddrPrefix is vrrp_vmac_addr_prefix_handler.
func (l *loader) vmacAddrPrefix(v parser.Strvec) {
	g := &l.cfg.Global
	if g.VMACAddrPrefix != "" {
		l.report(parser.SevGeneral, "vmac_addr prefix has already been specified - ignoring %s", v.Slot(1))
		return
	}
	g.VMACAddrPrefix = v.Slot(1)
}

// randomSeed is random_seed_handler.
func (l *loader) randomSeed(v parser.Strvec) {
	n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, false)
	if !ok {
		l.report(parser.SevGeneral, "random_seed %s invalid", v.Slot(1))
		return
	}
	l.cfg.Global.RandomSeed = &n
}

// reloadCheckConfig is reload_check_config_handler.
func (l *loader) reloadCheckConfig(v parser.Strvec) {
	if v.Len() >= 2 {
		l.cfg.Global.ReloadCheckConfig = v.Slot(1)
	} else {
		l.cfg.Global.ReloadCheckConfig = "/dev/null"
	}
}

// reloadTimeFile is reload_time_file_handler.
func (l *loader) reloadTimeFile(v parser.Strvec) {
	if v.Len() != 2 {
		l.report(parser.SevGeneral, "reload_time_file invalid")
		return
	}
	l.cfg.Global.ReloadTimeFile = v.Slot(1)
}

// reloadFile is reload_file_handler.
func (l *loader) reloadFile(v parser.Strvec) {
	g := &l.cfg.Global
	g.ReloadFile = "DEFAULT"
	if v.Len() >= 2 {
		g.ReloadFile = v.Slot(1)
	}
}

// configCopyDirectory is config_copy_directory_handler (tmp_config_directory).
func (l *loader) configCopyDirectory(v parser.Strvec) {
	g := &l.cfg.Global
	if g.TmpConfigDirectory != "" {
		l.report(parser.SevGeneral, "%s already specified - ignoring", v.Slot(0))
		return
	}
	if v.Len() >= 2 {
		g.TmpConfigDirectory = v.Slot(1)
	} else {
		l.report(parser.SevGeneral, "%s missing directory name", v.Slot(0))
	}
}

// lvsBackend is ours: the LVS data plane (keepalived has no such keyword).
func (l *loader) lvsBackend(v parser.Strvec) {
	switch b := v.At(1); b {
	case "ipvs", "nftables", "auto":
		l.cfg.Global.LVSBackend = b
	default:
		l.report(parser.SevGeneral, "lvs_backend '%s' invalid (ipvs, nftables or auto) - ignoring", b)
	}
}

func (l *loader) rxBufsPolicy(v parser.Strvec) {
	g := &l.cfg.Global
	if v.Len() < 2 {
		l.report(parser.SevGeneral, "vrrp_rx_bufs_policy missing")
		return
	}
	p := &g.VRRPRxBufsPolicy
	for i := 1; i < v.Len(); i++ {
		switch strings.ToUpper(v.Slot(i)) {
		case "MTU":
			p.MTU = true
		case "ADVERT":
			p.Advert = true
		default:
			// keepalived reads word 1 here whatever i is.
			if n, ok := l.readUnsigned(v.Slot(1), 0, 1<<32-1, false); !ok {
				l.report(parser.SevGeneral, "Invalid vrrp_rx_bufs_policy %s", v.Slot(i))
			} else {
				p.Size, p.HasSize = int(n), true
			}
		}
	}
	if p.HasSize && (p.MTU || p.Advert) {
		l.report(parser.SevGeneral, "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy")
		p.MTU, p.Advert = false, false
	} else if p.MTU && p.Advert {
		l.report(parser.SevGeneral, "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT")
		p.Advert = false
	}
}

// umask is umask_handler.
func (l *loader) umask(v parser.Strvec) {
	g := &l.cfg.Global
	mask := v.Slot(1)
	var bits uint32
	if mask[0] >= '0' && mask[0] <= '9' {
		if v.Len() != 2 {
			which := "Extra"
			if v.Len() == 1 {
				which = "Missing"
			}
			l.report(parser.SevGeneral, "%s parameter(s) to umask option", which)
			return
		}
		n, rest, _ := cnum.Strtol(mask, 0)
		if rest != "" || n < 0 || n&^0o777 != 0 {
			l.report(parser.SevGeneral, "invalid umask value %s", mask)
			return
		}
		bits = uint32(n)
	} else {
		names := map[string]uint32{"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o40, "IWGRP": 0o20,
			"IXGRP": 0o10, "IROTH": 0o4, "IWOTH": 0o2, "IXOTH": 0o1}
		needOr := false
		for i := 1; i < v.Len(); i++ {
			w := v.Slot(i)
			for p := 0; p < len(w); {
				if needOr {
					if w[p] == '|' {
						needOr = false
						p++
						continue
					}
					l.report(parser.SevGeneral, "Invalid umask syntax %s", w)
					return
				}
				b, ok := uint32(0), false
				if p+5 <= len(w) {
					b, ok = names[w[p:p+5]]
				}
				if !ok {
					l.report(parser.SevGeneral, "Unknown umask bit %s", w[p:])
					return
				}
				bits |= b
				p += 5
				needOr = true
			}
		}
		if !needOr {
			l.report(parser.SevGeneral, "umask missing bit value")
			return
		}
	}
	g.Umask = &bits
}

// configSaveDir is config_save_dir_handler (we are the parent process).
func (l *loader) configSaveDir(v parser.Strvec) {
	dir := v.Slot(1)
	st, err := os.Stat(dir)
	if err == nil && st.IsDir() {
		l.cfg.Global.ConfigSaveDir = strings.TrimSuffix(dir, "/")
		return
	}
	switch {
	case os.IsNotExist(err):
		if l.opts.ConfigTest {
			// keepalived creates it even under -t; we do not write under -t.
			l.cfg.Global.ConfigSaveDir = strings.TrimSuffix(dir, "/")
			return
		}
		if mkerr := os.Mkdir(dir, 0o700); mkerr == nil {
			l.cfg.Global.ConfigSaveDir = strings.TrimSuffix(dir, "/")
		} else {
			l.report(parser.SevGeneral, "Unable to create config_save_dir %s (error %d - %s)", dir, errno.Of(mkerr), errno.Text(mkerr))
		}
	case err != nil:
		l.report(parser.SevGeneral, "config_save_dir %s error %d - %s", dir, errno.Of(err), errno.Text(err))
	default:
		l.report(parser.SevGeneral, "config_save_dir %s exists and is not a directory", dir)
	}
}

// initGlobalData is keepalived's init_global_data after the parent's read.
func (l *loader) initGlobalData() {
	g := &l.cfg.Global
	smtp := g.SMTPServerAddr.IsValid()
	if g.RouterID == "" || (smtp && (g.SMTPHeloName == "" || g.NotificationEmailFrom == "")) {
		l.g.localName = l.opts.Hostname
		if l.g.localName == "" {
			l.g.localName = "[unknown]"
		}
	}
	if g.RouterID == "" && l.g.localName != "" {
		g.RouterID = l.g.localName
	}
	if smtp {
		if g.SMTPConnectTimeout == 0 {
			g.SMTPConnectTimeout = 30 * time.Second
		}
		if l.g.localName != "" && l.g.localName != "[unknown]" {
			if g.NotificationEmailFrom == "" {
				name := "root"
				if u, err := user.LookupId(itoa(os.Getuid())); err == nil {
					name = u.Username
				}
				g.NotificationEmailFrom = name + "@" + l.g.localName
			}
			if g.SMTPHeloName == "" {
				g.SMTPHeloName = l.g.localName
			}
		}
	}
}

// startStopScripts is main.c's security check of the startup and shutdown
// scripts, run by the parent before validate_config.
func (l *loader) startStopScripts() {
	g := &l.cfg.Global
	if g.StartupScript == nil && g.ShutdownScript == nil {
		return
	}
	var flags scriptFlags
	for _, s := range []**Script{&g.StartupScript, &g.ShutdownScript} {
		if *s == nil {
			continue
		}
		f := l.checkScriptSecure(*s)
		if f&(scInhibit|scNotFound) != 0 || f&(scExecutable|scSystem) == 0 {
			*s = nil
		}
		flags |= f
	}
	if !l.users.security && flags&scIsScript != 0 {
		extra := ""
		if flags&scInsecure != 0 {
			extra = " There are insecure scripts."
		}
		l.report(parser.SevSecurity, "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.%s", extra)
	}
}
