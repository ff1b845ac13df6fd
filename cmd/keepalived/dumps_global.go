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

func writeGlobal(c *confWriter, env dumpEnv, proc procKind) {
	g := &env.cfg.Global
	c.f("------< Global definitions >------")
	ns := "(default)"
	if env.opts.namespace != "" {
		ns = env.opts.namespace
	}
	c.f(" Network namespace = %s", ns)
	c.f(" Network namespace ipvs = (main namespace)")
	if g.RouterID != "" {
		c.f(" Router ID = %s", g.RouterID)
	}
	writeGlobalMail(c, g)
	writeGlobalLVS(c, g, proc)
	writeGlobalFIFOs(c, env)
	writeGlobalVRRP(c, g, proc)
	writeGlobalProcesses(c, env)
}

// writeGlobalMail is the SMTP part of dump_global_data.
func writeGlobalMail(c *confWriter, g *config.Global) {
	if g.SMTPServer != "" {
		srv := g.SMTPServer
		if g.SMTPServerAddr.IsValid() {
			srv = c.sockaddr(g.SMTPServerAddr)
		}
		c.f(" Smtp server = %s", srv)
		c.f(" Smtp server port = %d", g.SMTPPort)
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
	}
	c.f(" Default smtp_alert = %s", onOff(g.SMTPAlert))
	c.f(" Default smtp_alert_vrrp = %s", onOff(g.SMTPAlertVRRP))
	c.f(" Default smtp_alert_checker = %s", onOff(g.SMTPAlertChecker))
	c.f(" Checkers log all failures = false")
	c.f(" No test config before reload")
}

// writeGlobalLVS is the interface, LVS timeout, sync daemon and flush part.
func writeGlobalLVS(c *confWriter, g *config.Global, proc procKind) {
	c.f(" Dynamic interfaces = %s", tf(g.DynamicInterfaces))
	if g.DynamicInterfaces {
		c.f(" Allow interface changes = false")
	}
	if t := g.LVSTimeouts; true {
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
	}
	if proc == procVRRP {
		di := g.DefaultInterface
		if di == "" {
			di = "eth0"
		}
		c.f(" Default interface = %s", di)
	}
	c.f(" Disable local IGMP = no")
	if sd := g.LVSSyncDaemon; sd != nil && sd.Interface != "" {
		if sd.Instance != "" {
			c.f(" LVS syncd vrrp instance = %s", sd.Instance)
		}
		c.f(" LVS syncd interface = %s", sd.Interface)
		c.f(" LVS syncd syncid = %d", sd.SyncID)
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

// writeGlobalFIFOs lists the notify FIFOs and their scripts.
func writeGlobalFIFOs(c *confWriter, env dumpEnv) {
	g := &env.cfg.Global
	for _, f := range []struct {
		label string
		fifo  config.FIFO
	}{{"Global notify fifo", g.NotifyFIFO}, {"VRRP notify fifo", g.VRRPNotifyFIFO}, {"LVS notify fifo", g.LVSNotifyFIFO}} {
		if f.fifo.Path == "" {
			continue
		}
		uid, gid := scriptIDs(env.cfg, f.fifo.Script)
		c.f(" %s = %s, uid:gid %d:%d", f.label, f.fifo.Path, uid, gid)
		if argv := scriptArgv(f.fifo.Script); argv != nil {
			c.f(" %s script = %s, uid:gid %d:%d", f.label, script.CmdString(argv), uid, gid)
		}
	}
}

// writeGlobalVRRP is the VRRP defaults part.
func writeGlobalVRRP(c *confWriter, g *config.Global, proc procKind) {
	c.f(" FIFO write vrrp states on reload = false")
	c.f(" VRRP notify priority changes = false")
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
	c.f(" Gratuitous ARP for each secondary VMAC = 0s")
	c.f(" Send advert after receive lower priority advert = %s", tf(!g.LowerPrioNoAdvert))
	c.f(" Send advert after receive higher priority advert = %s", tf(g.HigherPrioSendAdvert))
	c.f(" Gratuitous ARP interval = %f", g.GarpInterval.Seconds())
	c.f(" Gratuitous NA interval = %f", g.GnaInterval.Seconds())
	c.f(" VRRP default protocol version = %d", g.VRRPVersion)
	if g.NFTables != "" {
		c.f(" nftables table name = %s", g.NFTables)
		c.f(" nftables base chain priority = -1")
		c.f(" nftables don't force use ifindex for link local IPv6")
	}
	c.f(" nftables without counters")
	c.f(" libnftnl version 1.2.3")
	c.f(" VRRP check unicast_src = %s", tf(g.VRRPCheckUnicastSrc))
	c.f(" VRRP skip check advert addresses = %s", tf(g.VRRPSkipCheckAdvAddr))
	c.f(" VRRP strict mode = %s", tf(g.VRRPStrict))
	if g.MaxAutoPriority == -1 {
		c.f(" Max auto priority = Disabled")
	} else {
		c.f(" Max auto priority = %d", g.MaxAutoPriority)
	}
	c.f(" Min auto priority delay = 1000000 usecs")
}

// writeGlobalProcesses is the process, SNMP, DBus, script and buffer part.
func writeGlobalProcesses(c *confWriter, env dumpEnv) {
	g := &env.cfg.Global
	for _, p := range []string{"VRRP", "Checker", "BFD"} {
		c.f(" %s process priority = 0", p)
		c.f(" %s don't swap = false", p)
		c.f(" %s realtime priority = 0", p)
		c.f(" %s realtime limit = 10000", p)
	}
	c.f(" SNMP vrrp disabled")
	c.f(" SNMP checker disabled")
	c.f(" SNMP RFCv2 disabled")
	c.f(" SNMP RFCv3 disabled")
	c.f(" SNMP traps disabled")
	c.f(" SNMP socket = default (unix:/var/agentx/master)")
	c.f(" DBus disabled")
	c.f(" DBus service name = ")
	c.f(" Script security %s", map[bool]string{true: "enabled", false: "disabled"}[g.EnableScriptSecurity])
	if uid, gid, ok := defaultScriptIDs(env.cfg); ok {
		c.f(" Default script uid:gid %d:%d", uid, gid)
	}
	for _, k := range []string{"vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs",
		"lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"} {
		c.f(" %s = 0", k)
		c.f(" %s_force = 0", k)
	}
	c.f(" rs_init_notifies = 0")
	c.f(" no_checker_emails = 0")
	c.f(" rx_bufs_multiples = 3")
	c.f(" umask = 0%o", uint32(dumpUmask(env.opts.umask)))
}
