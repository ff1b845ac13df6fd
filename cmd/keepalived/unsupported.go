package main

import (
	"fmt"
	"sort"

	"keepalived-go/config"
)

// unsupportedSetting is a configuration keyword the loader takes (with
// keepalived's checks and messages) that no engine acts on. The daemon
// names each one a file uses, once, with its place and why.
type unsupportedSetting struct {
	// keywords are the keyword's paths as config.Config.KeywordPos keys
	// (block path, then the keyword).
	keywords []string
	reason   string
	// fields are the model fields (Type.Field) these keywords set that
	// nothing reads: TestModelFieldsReadOrUnsupported holds the table
	// complete against the model.
	fields []string
}

const (
	whyOneProcess = "keepalived-go is one process: per-process scheduling (nice, realtime priority, mlockall, " +
		"CPU affinity, RLIMIT_RTTIME) and process names are not applied"
	whyRcvBufs = "keep the kernel's default receive buffer size"
)

// processKeywords are global_defs' per-process scheduling keywords.
func processKeywords() []string {
	var out []string
	for _, p := range []string{"vrrp", "checker", "bfd"} {
		for _, s := range []string{"_priority", "_no_swap", "_rt_priority", "_cpu_affinity", "_rlimit_rttime", "_rlimit_rtime"} {
			out = append(out, "global_defs "+p+s)
		}
	}
	return out
}

// unsupportedSettings is every keyword parsed and not acted on.
var unsupportedSettings = []unsupportedSetting{
	{keywords: []string{"global_defs process_names", "global_defs process_name", "global_defs vrrp_process_name",
		"global_defs checker_process_name", "global_defs bfd_process_name", "global_defs lvs_process_name"},
		reason: whyOneProcess,
		fields: []string{"Global.ProcessName", "Global.VRRPProcessName", "Global.CheckerProcessName", "Global.BFDProcessName"}},
	{keywords: processKeywords(), reason: whyOneProcess,
		fields: []string{"Global.VRRPProcess", "Global.CheckerProcess", "Global.BFDProcess", "ProcessSettings.Priority",
			"ProcessSettings.NoSwap", "ProcessSettings.RTPriority", "ProcessSettings.CPUAffinity", "ProcessSettings.RLimitRT"}},
	{keywords: []string{"global_defs max_auto_priority", "global_defs min_auto_priority_delay"}, reason: whyOneProcess,
		fields: []string{"Global.MaxAutoPriority", "Global.MinAutoPriorityDelay"}},
	{keywords: []string{"child_wait_time"},
		reason: "keepalived-go has no child processes to wait for; its engines stop in-process (bounded by 10 s)",
		fields: []string{"Global.ChildWaitTime"}},
	{keywords: []string{"global_defs vrrp_rx_bufs_policy", "global_defs vrrp_rx_bufs_multiplier", "vrrp_instance kernel_rx_buf_size"},
		reason: "the VRRP sockets " + whyRcvBufs,
		fields: []string{"Global.VRRPRxBufsPolicy", "Global.VRRPRxBufsMultiples", "RxBufsPolicy.MTU", "RxBufsPolicy.Advert",
			"RxBufsPolicy.HasSize", "RxBufsPolicy.Size", "VRRPInstance.KernelRxBufSize"}},
	{keywords: []string{"global_defs vrrp_netlink_cmd_rcv_bufs", "global_defs vrrp_netlink_cmd_rcv_bufs_force",
		"global_defs vrrp_netlink_monitor_rcv_bufs", "global_defs vrrp_netlink_monitor_rcv_bufs_force",
		"global_defs lvs_netlink_cmd_rcv_bufs", "global_defs lvs_netlink_cmd_rcv_bufs_force",
		"global_defs lvs_netlink_monitor_rcv_bufs", "global_defs lvs_netlink_monitor_rcv_bufs_force"},
		reason: "the netlink sockets " + whyRcvBufs,
		fields: []string{"NetlinkBufs.VRRPCmd", "NetlinkBufs.VRRPCmdForce", "NetlinkBufs.VRRPMonitor", "NetlinkBufs.VRRPMonitorForce",
			"NetlinkBufs.LVSCmd", "NetlinkBufs.LVSCmdForce", "NetlinkBufs.LVSMonitor", "NetlinkBufs.LVSMonitorForce"}},
	{keywords: []string{"linkbeat_use_polling", "linkbeat_interfaces", "vrrp_instance linkbeat_use_polling"},
		reason: "link state comes from netlink link events; MII/ethtool polling is not implemented",
		fields: []string{"Global.LinkbeatUsePolling", "Config.LinkbeatIfaces", "VRRPInstance.LinkbeatUsePolling"}},
	{keywords: []string{"global_defs random_seed"},
		reason: "keepalived seeds its random() with it; keepalived-go's random timer jitter is not seeded from the configuration",
		fields: []string{"Global.RandomSeed"}},
	{keywords: []string{"global_defs reload_time_file", "global_defs reload_repeat", "global_defs reload_file"},
		reason: "a reload scheduled by a time in a file is not implemented; send SIGHUP",
		fields: []string{"Global.ReloadTimeFile", "Global.ReloadRepeat", "Global.ReloadFile"}},
	{keywords: []string{"global_defs config_save_dir", "global_defs tmp_config_directory"},
		reason: "the configuration is read once per load by one process: no copy is made or saved",
		fields: []string{"Global.ConfigSaveDir", "Global.TmpConfigDirectory"}},
	{keywords: []string{"global_defs data_use_instance"},
		reason: "the SIGUSR1/SIGUSR2/JSON dump files keep their plain names, without instance or namespace",
		fields: []string{"Global.DataUseInstance"}},
	{keywords: []string{"net_namespace_ipvs"},
		reason: "IPVS is programmed in the daemon's own network namespace",
		fields: []string{"Global.NetNamespaceIPVS"}},
	{keywords: []string{"global_defs nftables_ipvs", "global_defs nftables_ipvs_priority", "global_defs nftables_ipvs_start_fwmark"},
		reason: "keepalived's nftables fwmark rules for IPVS virtual servers are not made (lvs_backend nftables is keepalived-go's own data plane)",
		fields: []string{"Global.NFTablesIPVS", "Global.NFTablesIPVSPriority", "Global.NFTablesIPVSStartFWMark"}},
	{keywords: []string{"global_defs vrrp_garp_extra_if", "global_defs vrrp_vmac_garp_intvl", "vrrp_instance garp_extra_if"},
		reason: "no periodic gratuitous ARP/NA on the parent interface of a VMAC",
		fields: []string{"Global.GarpExtraIf", "Global.GarpExtraIfAll", "VRRPInstance.GarpExtraIf", "VRRPInstance.GarpExtraIfAll"}},
	{keywords: []string{"vrrp_instance old_unicast_checksum"},
		reason: "unicast VRRPv2 adverts always carry the RFC checksum (the pre-1.3.8 keepalived checksum is not sent or accepted)",
		fields: []string{"VRRPInstance.OldUnicastChecksum"}},
	{keywords: []string{"vrrp_instance unicast_ttl"},
		reason: "unicast adverts are sent with TTL 255",
		fields: []string{"VRRPInstance.UnicastTTL"}},
	{keywords: []string{"vrrp_instance promote_secondaries"},
		reason: "the interface's promote_secondaries sysctl is left as it is",
		fields: []string{"VRRPInstance.PromoteSecondaries"}},
	{keywords: []string{"vrrp_instance vrf"},
		reason: "an interface-less unicast instance is not bound to the VRF device",
		fields: []string{"VRRPInstance.VRF"}},
	{keywords: []string{"vrrp_instance lvs_sync_daemon_interface"},
		reason: "deprecated: taken as global_defs lvs_sync_daemon; the instance's own copy of the interface is unused",
		fields: []string{"VRRPInstance.LVSSyncDaemonInterface"}},
	{keywords: []string{"interface_up_down_delays"},
		reason: "interface link changes take effect at once, without the configured up/down delays",
		fields: []string{"Config.UpDownDelays", "UpDownDelay.Interface", "UpDownDelay.Up", "UpDownDelay.Down"}},
	{keywords: []string{"global_defs dynamic_interfaces"},
		reason: "allow_if_changes: an interface that changes its type or index is not followed",
		fields: []string{"Global.AllowIfChanges"}},
	{keywords: []string{"SSL", "SSL ca", "SSL certificate", "SSL key", "SSL password"},
		reason: "SSL_GET checkers present no client certificate and do not verify against the SSL block's CA",
		fields: []string{"CheckerSettings.SSL", "SSLContext.CAFile", "SSLContext.CertFile", "SSLContext.KeyFile", "SSLContext.Password"}},
}

// Command line options are all acted on but -X/--release-vips, which is
// taken and, as in keepalived 2.2.7, without effect: with it
// vrrp_restore_interface removes the VIPs even when vipset is clear, but
// netlink_iplist removes only addresses marked set, which happens only
// with vipset (clear_diff_vrrp_vip carries it over a reload); the VRRP
// engine removes what it set on every way out of MASTER. keepalived logs
// nothing for it, and neither does keepalived-go.

// reportUnsupported names, once per keyword, what the config asks for that
// this build parses but does not act on, with where and why. Never silent.
func (d *daemon) reportUnsupported(cfg *config.Config) {
	var lines []string
	note := func(key string, p config.Pos, why string) {
		if d.reported[key] {
			return
		}
		d.reported[key] = true
		line := fmt.Sprintf("%s (%s:%d)", key, p.File, p.Line)
		if why != "" {
			line += ": " + why
		}
		lines = append(lines, line)
	}
	for _, u := range unsupportedSettings {
		for _, k := range u.keywords {
			if p, ok := cfg.KeywordPos[k]; ok {
				note(k, p, u.reason)
			}
		}
	}
	other := func(list []config.Setting) {
		for _, s := range list {
			if s.Keyword == "umask" {
				continue // applied by applyConfigUmask
			}
			k := s.Keyword
			if s.Block != "" {
				k = s.Block + " " + k
			}
			note(k, s.Pos, "")
		}
	}
	other(cfg.Other)
	for _, in := range cfg.Instances {
		other(in.Other)
	}
	for _, sg := range cfg.SyncGroups {
		other(sg.Other)
	}
	sort.Strings(lines)
	for _, l := range lines {
		d.log.Warnf("not supported yet, ignored: %s", l)
	}
}
