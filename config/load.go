package config

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"keepalived-go/parser"
)

// Options adjust loading to the machine it runs on.
type Options struct {
	Parser parser.Options
	// Hostname is used for keepalived's hostname-derived defaults (router_id,
	// notification_email_from, smtp_helo_name); empty means os.Hostname.
	Hostname string
	// InterfaceExists, when set, makes missing interfaces a diagnostic as
	// keepalived reports them; nil skips the check (tests, foreign hosts).
	InterfaceExists func(name string) bool
}

// Load reads and validates the configuration at path. The returned Config is
// usable whenever diags is not Fatal; a reload must keep the running config
// when it is.
func Load(path string, opts Options) (*Config, *parser.Diagnostics) {
	diags := &parser.Diagnostics{}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	b := &builder{opts: opts, diags: diags, cfg: &Config{Files: []string{path}}, nextRulePrio4: 16384, nextRulePrio6: 16384}
	b.cfg.Global = defaultGlobal(opts.Hostname)
	parser.Walk(path, opts.Parser, diags, b.top)
	b.finish()
	return b.cfg, diags
}

func defaultGlobal(host string) Global {
	return Global{
		RouterID:              host,
		NotificationEmailFrom: "keepalived@" + host,
		SMTPPort:              25,
		SMTPHeloName:          host,
		SMTPConnectTimeout:    30 * time.Second,
		VRRPMcastGroup4:       netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:       netip.MustParseAddr("ff02::12"),
		VRRPVersion:           2,
		GarpMasterDelay:       5 * time.Second,
		GarpMasterRepeat:      5,
		GarpMasterRefreshRep:  1,
		DownTimerAdverts:      3,
		LVSBackend:            "auto",
	}
}

func (b *builder) top(st *parser.Stmt) {
	switch st.Name() {
	case "global_defs":
		// keepalived's parent process reads global_defs and reports without
		// the file name; keep that so log matching stays the same.
		start := len(b.diags.List)
		for _, c := range st.Children() {
			b.global(c)
		}
		for i := start; i < len(b.diags.List); i++ {
			b.diags.List[i].NoFile = true
		}
	case "vrrp_instance":
		b.vrrpInstance(st)
	case "vrrp_script":
		b.vrrpScript(st)
	case "track_file", "vrrp_track_file":
		b.trackFile(st)
	case "vrrp_sync_group":
		b.syncGroup(st)
	case "virtual_server_group":
		b.serverGroup(st)
	case "virtual_server":
		b.virtualServer(st)
	case "static_ipaddress":
		b.cfg.StaticAddresses = append(b.cfg.StaticAddresses, b.addresses(st, "")...)
	case "static_routes":
		for _, c := range st.Children() {
			b.checkRoute(c, c.Line(), false)
			b.cfg.StaticRoutes = append(b.cfg.StaticRoutes, Route{Pos: toPos(c.Pos), Args: c.Line()})
		}
	case "static_rules":
		for _, c := range st.Children() {
			b.checkRule(c, c.Line())
			b.cfg.StaticRules = append(b.cfg.StaticRules, Rule{Pos: toPos(c.Pos), Args: c.Line()})
		}
	case "vrrp_track_process":
		tp := &TrackProcess{Pos: toPos(st.Pos), Name: firstArg(st)}
		for _, c := range st.Children() {
			tp.Settings = append(tp.Settings, b.keep(c, "vrrp_track_process"))
		}
		b.cfg.TrackProcesses = append(b.cfg.TrackProcesses, tp)
	case "bfd_instance":
		b.bfdInstance(st)
	default:
		b.keepTree(st, "", &b.cfg.Other)
	}
}

// keepTree keeps a statement and its block's statements verbatim.
func (b *builder) keepTree(st *parser.Stmt, block string, into *[]Setting) {
	*into = append(*into, b.keep(st, block))
	for _, c := range st.Children() {
		b.keepTree(c, st.Name(), into)
	}
}

func firstArg(st *parser.Stmt) string {
	if len(st.Args) > 0 {
		return st.Args[0].Value()
	}
	return ""
}

func (b *builder) global(st *parser.Stmt) {
	g := &b.cfg.Global
	switch st.Name() {
	case "router_id":
		if v, ok := b.arg(st, 0); ok {
			g.RouterID = v
		}
	case "notification_email":
		for _, c := range st.Children() {
			g.NotificationEmail = append(g.NotificationEmail, c.Line()...)
		}
	case "notification_email_from":
		if v, ok := b.arg(st, 0); ok {
			g.NotificationEmailFrom = v
		}
	case "smtp_server":
		if v, ok := b.arg(st, 0); ok {
			g.SMTPServer = v
			if len(st.Args) > 1 {
				if p, ok := b.portArg(st, 1); ok {
					g.SMTPPort = p
				}
			} else if h, p, ok := splitHostPort(v); ok {
				g.SMTPServer, g.SMTPPort = h, p
			}
		}
	case "smtp_helo_name":
		if v, ok := b.arg(st, 0); ok {
			g.SMTPHeloName = v
		}
	case "smtp_connect_timeout":
		b.setSeconds(st, 1, 1<<31-1, &g.SMTPConnectTimeout)
	case "smtp_alert":
		g.SMTPAlert = boolp(b.boolOpt(st))
	case "smtp_alert_vrrp":
		g.SMTPAlertVRRP = boolp(b.boolOpt(st))
	case "smtp_alert_checker":
		g.SMTPAlertChecker = boolp(b.boolOpt(st))
	case "script_user":
		if v, ok := b.arg(st, 0); ok {
			g.ScriptUser = v
			if len(st.Args) > 1 {
				g.ScriptGroup = st.Args[1].Value()
			}
		}
	case "enable_script_security":
		g.EnableScriptSecurity = true
	case "default_interface":
		if v, ok := b.arg(st, 0); ok {
			g.DefaultInterface = v
		}
	case "dynamic_interfaces":
		g.DynamicInterfaces = true
	case "max_auto_priority":
		if len(st.Args) == 0 {
			g.MaxAutoPriority = 99
		} else {
			b.setInt(st, -1, 99, &g.MaxAutoPriority)
		}
	case "vrrp_mcast_group4", "vrrp_mcast_group6":
		if a, ok := b.addrArg(st, 0); ok {
			if st.Name() == "vrrp_mcast_group4" {
				g.VRRPMcastGroup4 = a
			} else {
				g.VRRPMcastGroup6 = a
			}
		}
	case "vrrp_version":
		b.setInt(st, 2, 3, &g.VRRPVersion)
	case "vrrp_strict":
		g.VRRPStrict = true
	case "vrrp_iptables":
		// Debian's build has nftables only.
		b.report(st, parser.SevGeneral, "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option")
		g.VRRPIPTables = st.Values()
		if len(g.VRRPIPTables) == 0 {
			g.VRRPIPTables = []string{"INPUT"}
		}
	case "nftables":
		g.NFTables = "keepalived"
		if len(st.Args) > 0 {
			g.NFTables = st.Args[0].Value()
		}
	case "vrrp_check_unicast_src":
		g.VRRPCheckUnicastSrc = true
	case "vrrp_skip_check_adv_addr":
		g.VRRPSkipCheckAdvAddr = true
	case "vrrp_garp_master_delay":
		b.setSeconds(st, 0, 1<<31-1, &g.GarpMasterDelay)
	case "vrrp_garp_master_repeat":
		b.setInt(st, 1, 1<<31-1, &g.GarpMasterRepeat)
	case "vrrp_garp_master_refresh":
		b.setSeconds(st, 0, 1<<31-1, &g.GarpMasterRefresh)
	case "vrrp_garp_master_refresh_repeat":
		b.setInt(st, 1, 1<<31-1, &g.GarpMasterRefreshRep)
	case "vrrp_garp_lower_prio_delay":
		if n, ok := b.intArg(st, 0, 0, 1<<31-1); ok {
			d := time.Duration(n) * time.Second
			g.GarpLowerPrioDelay = &d
		}
	case "vrrp_garp_lower_prio_repeat":
		if n, ok := b.intArg(st, 0, 0, 1<<31-1); ok {
			g.GarpLowerPrioRepeat = &n
		}
	case "vrrp_garp_interval":
		if d, ok := b.timerArg(st, 0); ok {
			g.GarpInterval = d
		}
	case "vrrp_gna_interval":
		if d, ok := b.timerArg(st, 0); ok {
			g.GnaInterval = d
		}
	case "vrrp_down_timer_adverts":
		b.setInt(st, 1, 100, &g.DownTimerAdverts)
	case "vrrp_lower_prio_no_advert":
		g.LowerPrioNoAdvert = b.boolOpt(st)
	case "vrrp_higher_prio_send_advert":
		g.HigherPrioSendAdvert = b.boolOpt(st)
	case "lvs_sync_daemon":
		b.syncDaemon(st)
	case "lvs_flush":
		g.LVSFlush = true
	case "lvs_flush_on_stop", "lvs_flush_onstop":
		g.LVSFlushOnStop = "all"
		if len(st.Args) > 0 {
			g.LVSFlushOnStop = st.Args[0].Value()
		}
	case "lvs_timeouts":
		b.lvsTimeouts(st)
	case "notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo":
		f := map[string]*FIFO{"notify_fifo": &g.NotifyFIFO, "vrrp_notify_fifo": &g.VRRPNotifyFIFO, "lvs_notify_fifo": &g.LVSNotifyFIFO}[st.Name()]
		if v, ok := b.arg(st, 0); ok {
			f.Path = v
		}
	case "notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script":
		f := map[string]*FIFO{"notify_fifo_script": &g.NotifyFIFO, "vrrp_notify_fifo_script": &g.VRRPNotifyFIFO, "lvs_notify_fifo_script": &g.LVSNotifyFIFO}[st.Name()]
		f.Script = b.script(st)
	case "startup_script":
		g.StartupScript = b.script(st)
	case "shutdown_script":
		g.ShutdownScript = b.script(st)
	case "lvs_backend":
		if v, ok := b.arg(st, 0); ok {
			switch v {
			case "auto", "ipvs", "nftables":
				g.LVSBackend = v
			default:
				b.report(st, parser.SevGeneral, "lvs_backend '%s' unknown - must be auto, ipvs or nftables; using auto", v)
			}
		}
	case "metrics_listen":
		if v, ok := b.arg(st, 0); ok {
			g.MetricsListen = v
		}
	case "strict_keywords":
		g.StrictKeywords = true
	default:
		b.keepTree(st, "global_defs", &g.Other)
	}
}

func splitHostPort(v string) (string, int, bool) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 || strings.Count(v, ":") > 1 && !strings.HasPrefix(v, "[") {
		return "", 0, false
	}
	p, err := strconv.Atoi(v[i+1:])
	if err != nil || p <= 0 || p > 65535 {
		return "", 0, false
	}
	return strings.Trim(v[:i], "[]"), p, true
}

func (b *builder) syncDaemon(st *parser.Stmt) {
	sd := &SyncDaemon{Pos: toPos(st.Pos), SyncID: -1}
	v := st.Values()
	if len(v) < 2 {
		b.report(st, parser.SevGeneral, "lvs_sync_daemon requires interface, VRRP instance")
		return
	}
	sd.Interface, sd.Instance = v[0], v[1]
	for i := 2; i < len(v); i++ {
		if i+1 >= len(v) {
			b.report(st, parser.SevGeneral, "lvs_sync_daemon: option %s requires a value", v[i])
			break
		}
		n, err := strconv.Atoi(v[i+1])
		switch v[i] {
		case "id":
			if err != nil || n < 0 || n > 255 {
				b.report(st, parser.SevGeneral, "Invalid syncid (%s) - defaulting to vrid", v[i+1])
			} else {
				sd.SyncID = n
			}
		case "maxlen":
			sd.MaxLen = n
		case "port":
			sd.Port = n
		case "ttl":
			sd.TTL = n
		case "group":
			if a, err := netip.ParseAddr(v[i+1]); err == nil {
				sd.Group = a
			}
		default:
			b.report(st, parser.SevGeneral, "Unknown option %s specified for lvs_sync_daemon", v[i])
			i--
		}
		i++
	}
	b.cfg.Global.LVSSyncDaemon = sd
}

func (b *builder) lvsTimeouts(st *parser.Stmt) {
	v := st.Values()
	t := &b.cfg.Global.LVSTimeouts
	for i := 0; i+1 < len(v); i += 2 {
		n, err := strconv.Atoi(v[i+1])
		if err != nil || n < 0 {
			b.report(st, parser.SevGeneral, "Invalid lvs_timeout %s (%s)", v[i], v[i+1])
			continue
		}
		d := time.Duration(n) * time.Second
		switch v[i] {
		case "tcp":
			t.TCP = d
		case "tcpfin":
			t.TCPFin = d
		case "udp":
			t.UDP = d
		default:
			b.report(st, parser.SevGeneral, "Unknown option %s specified for lvs_timeouts", v[i])
		}
	}
	if len(v)%2 == 1 {
		b.report(st, parser.SevGeneral, "No value specified for lvs_timeout %s - ignoring", v[len(v)-1])
	}
}

// addresses reads virtual_ipaddress-style blocks. A flattened block holding
// several addresses on one line is read as one address per entry.
func (b *builder) addresses(st *parser.Stmt, owner string) []VirtualAddress {
	var out []VirtualAddress
	for _, c := range st.Children() {
		words := c.Line()
		for len(words) > 0 {
			va, used := b.address(c, words, owner)
			if used == 0 {
				break
			}
			if va.Prefix.IsValid() {
				out = append(out, va)
			}
			words = words[used:]
		}
	}
	return out
}

var addrOptArgs = map[string]int{
	"brd": 1, "broadcast": 1, "dev": 1, "scope": 1, "label": 1, "peer": 1, "preferred_lft": 1, "valid_lft": 1,
	"no_track": 0, "track": 0, "home": 0, "-nodad": 0, "nodad": 0, "noprefixroute": 0, "autojoin": 0, "mngtmpaddr": 0,
}

// address reads one address entry from words, returning how many it used.
func (b *builder) address(st *parser.Stmt, words []string, owner string) (VirtualAddress, int) {
	va := VirtualAddress{Pos: toPos(st.Pos), Track: false}
	p, err := parsePrefix(words[0])
	if err != nil {
		if owner != "" {
			b.report(st, parser.SevGeneral, "VRRP parsed invalid IP %s. skipping IP...", words[0])
		} else {
			b.report(st, parser.SevGeneral, "Invalid address %s - skipping", words[0])
		}
		return va, len(words)
	}
	va.Prefix = p
	i := 1
	for i < len(words) {
		n, known := addrOptArgs[words[i]]
		if !known {
			if _, err := parsePrefix(words[i]); err == nil {
				break // next address of a flattened block
			}
			va.Options = append(va.Options, words[i])
			i++
			continue
		}
		if i+n >= len(words)+0 && n > 0 && i+1 >= len(words) {
			b.report(st, parser.SevGeneral, "%s requires a value", words[i])
			return va, len(words)
		}
		val := ""
		if n > 0 {
			val = words[i+1]
		}
		switch words[i] {
		case "brd", "broadcast":
			va.Broadcast = val
		case "dev":
			va.Dev = val
		case "scope":
			va.Scope = val
		case "label":
			va.Label = val
		case "peer":
			va.Peer = val
		case "track":
			va.Track = true
		case "home":
			va.HomeAddr = true
		case "-nodad", "nodad":
			va.NoDAD = true
		case "noprefixroute":
			va.NoPrefixRoute = true
		case "autojoin":
			va.AutoJoin = true
		default:
			va.Options = append(va.Options, words[i:i+1+n]...)
		}
		i += 1 + n
	}
	return va, i
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
