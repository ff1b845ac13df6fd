package main

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/snmp"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/packet"
)

// snmpInput is what one State is built from: the running config, the
// engines' Status() snapshots (nil for an engine that does not run) and
// what the kernel says of interfaces.
type snmpInput struct {
	cfg       *config.Config
	vrrp      *vrrpengine.Status
	check     *check.Status
	lvs       *lvs.Status
	ifs       ifaceFacts
	vrrpStart time.Time // snmp_vrrp_start_time: VRRP start or last reload
	namespace string    // -s, which overrides net_namespace
	now       time.Time
}

// ifaceFacts are the interface facts the MIBs show that neither the config
// nor the engines hold.
type ifaceFacts interface {
	Index(name string) int
	HWAddr(name string) []byte
	// Primary is the address keepalived takes as the interface's own for
	// a family: the first IPv4 address, or the IPv6 link-local one.
	Primary(name string, v6 bool) netip.Addr
}

// kernelIfaces reads interface facts from the kernel, once per name and
// family per State.
type kernelIfaces struct {
	links map[string]*net.Interface
}

func newKernelIfaces() *kernelIfaces { return &kernelIfaces{links: map[string]*net.Interface{}} }

func (k *kernelIfaces) link(name string) *net.Interface {
	if name == "" {
		return nil
	}
	if l, ok := k.links[name]; ok {
		return l
	}
	l, err := net.InterfaceByName(name)
	if err != nil {
		l = nil
	}
	k.links[name] = l
	return l
}

func (k *kernelIfaces) Index(name string) int {
	if l := k.link(name); l != nil {
		return l.Index
	}
	return 0
}

func (k *kernelIfaces) HWAddr(name string) []byte {
	if l := k.link(name); l != nil {
		return l.HardwareAddr
	}
	return nil
}

func (k *kernelIfaces) Primary(name string, v6 bool) netip.Addr {
	l := k.link(name)
	if l == nil {
		return netip.Addr{}
	}
	addrs, err := l.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if v6 && ip.Is6() && ip.IsLinkLocalUnicast() || !v6 && ip.Is4() {
			return ip
		}
	}
	return netip.Addr{}
}

// snmpSwitches are the switches of a config (-x already folded in by the
// config load).
func snmpSwitches(g *config.Global) snmp.Switches {
	return snmp.Switches{VRRP: g.EnableSNMPVRRP, Checker: g.EnableSNMPChecker, RFCv2: g.EnableSNMPRFCv2,
		RFCv3: g.EnableSNMPRFCv3, Traps: g.EnableTraps}
}

// snmpEnabled: keepalived runs a subagent when any MIB is enabled.
func snmpEnabled(sw snmp.Switches) bool {
	return sw.VRRP || sw.Checker || sw.RFCv2 || sw.RFCv3
}

// buildSNMPState is the provider's work: the State the MIBs show now.
func buildSNMPState(in snmpInput) *snmp.State {
	st := &snmp.State{Global: snmpGlobal(in), Now: in.now}
	if in.vrrp != nil {
		st.VRRP = snmpVRRP(in)
	}
	if in.check != nil {
		st.Checker = snmpChecker(in)
	}
	return st
}

func snmpGlobal(in snmpInput) snmp.Global {
	g := &in.cfg.Global
	out := snmp.Global{
		Version: banner, RouterID: g.RouterID, Emails: g.NotificationEmail, EmailFaults: !g.NoEmailFaults,
		SMTPAlert: g.SMTPAlert, SMTPAlertVRRP: g.SMTPAlertVRRP, SMTPAlertChecker: g.SMTPAlertChecker,
		LinkbeatPolling: g.LinkbeatUsePolling, LVSFlush: g.LVSFlush, LVSFlushOnStop: strings.ToLower(g.LVSFlushOnStop),
		NetNamespace: g.NetNamespace, DBus: g.EnableDBus, DynamicInterfaces: g.DynamicInterfaces,
		LVSTimeouts: snmp.LVSTimeouts{TCP: int32(g.LVSTimeouts.TCP / time.Second),
			TCPFin: int32(g.LVSTimeouts.TCPFin / time.Second), UDP: int32(g.LVSTimeouts.UDP / time.Second)},
	}
	if in.namespace != "" {
		out.NetNamespace = in.namespace
	}
	// keepalived keeps no SMTP settings without an smtp_server.
	if g.SMTPServerAddr.IsValid() {
		out.SMTPServer, out.SMTPPort = g.SMTPServerAddr, uint16(g.SMTPPort)
		out.SMTPTimeout, out.EmailFrom = g.SMTPConnectTimeout, g.NotificationEmailFrom
	}
	if sd := g.LVSSyncDaemon; sd != nil {
		out.LVSSyncDaemon = &snmp.SyncDaemon{Interface: sd.Interface, Instance: sd.Instance, SyncID: uint32(sd.SyncID),
			MaxLen: uint32(sd.MaxLen), Port: uint32(sd.Port), TTL: uint32(sd.TTL), Group: sd.Group}
	}
	return out
}

// snmpVRRPState maps an FSM state onto keepalived's numbering.
func snmpVRRPState(s vrrp.State) snmp.VRRPState {
	switch s {
	case vrrp.StateBackup:
		return snmp.StateBackup
	case vrrp.StateMaster:
		return snmp.StateMaster
	case vrrp.StateFault:
		return snmp.StateFault
	case vrrp.StateStop:
		return snmp.StateStop
	case vrrp.StateDeleted:
		return snmp.StateDeleted
	}
	return snmp.StateInit
}

// argv is a notify script as keepalived keeps it: nil when not configured
// or not allowed to run (keepalived frees those).
func argv(s *config.Script) []string {
	if r := runnable(s); r != nil {
		return r.Argv
	}
	return nil
}

func snmpVRRP(in snmpInput) *snmp.VRRP {
	cfg := in.cfg
	v := &snmp.VRRP{Start: in.vrrpStart}
	if sd := cfg.Global.LVSSyncDaemon; sd != nil && sd.Instance != "" {
		v.LVSSyncInstance, v.LVSSyncInterface = sd.Instance, sd.Interface
	}
	for i := range in.vrrp.Instances {
		v.Instances = append(v.Instances, snmpInstance(in, &in.vrrp.Instances[i]))
	}
	for _, gs := range in.vrrp.Groups {
		v.SyncGroups = append(v.SyncGroups, snmpGroup(gs))
	}
	scripts := map[string]vrrpengine.ScriptStatus{}
	for _, ss := range in.vrrp.Scripts {
		scripts[ss.Name] = ss
	}
	for _, sc := range cfg.Scripts {
		ss, ok := scripts[sc.Name]
		if !ok {
			continue
		}
		v.Scripts = append(v.Scripts, snmp.Script{Name: sc.Name, Command: ss.Argv, Interval: sc.Interval,
			Weight: int32(sc.Weight), Reverse: sc.WeightReverse, Result: scriptResult(sc, ss),
			Rise: int32(ss.Rise), Fall: int32(ss.Fall)})
	}
	values := map[string]int{}
	for _, fs := range in.vrrp.Files {
		values[fs.Name] = fs.Value
	}
	for _, tf := range cfg.TrackFiles {
		v.Files = append(v.Files, snmp.TrackFile{Name: tf.Name, Path: tf.File, Status: int32(values[tf.Name]),
			Weight: int32(tf.Weight), Reverse: tf.WeightReverse})
	}
	for _, a := range cfg.StaticAddresses {
		// Static addresses, routes and rules are not installed by this
		// build (yet): they show as not set.
		v.StaticAddresses = append(v.StaticAddresses, snmpAddress(in.ifs, a, "", false))
	}
	for i := range cfg.StaticRoutes {
		v.StaticRoutes = append(v.StaticRoutes, snmpRoute(in.ifs, &cfg.StaticRoutes[i], false))
	}
	for i := range cfg.StaticRules {
		v.StaticRules = append(v.StaticRules, snmpRule(&cfg.StaticRules[i], false))
	}
	return v
}

// scriptResult is vrrpScriptResult: init (or initfailed with init_fail)
// until a run finished, then good or bad by the rise/fall counter.
func scriptResult(sc *config.VRRPScript, ss vrrpengine.ScriptStatus) snmp.ScriptResult {
	switch {
	case ss.Init && sc.InitFail:
		return snmp.ScriptFailed
	case ss.Init:
		return snmp.ScriptInit
	case ss.Result >= ss.Rise:
		return snmp.ScriptGood
	}
	return snmp.ScriptBad
}

func tracked(refs []config.TrackRef) []snmp.Tracked {
	var out []snmp.Tracked
	for _, r := range refs {
		out = append(out, snmp.Tracked{Name: r.Name, Weight: int32(r.Weight), Reverse: r.Reverse})
	}
	return out
}

func snmpGroup(gs vrrpengine.GroupStatus) snmp.SyncGroup {
	g := snmp.SyncGroup{Name: gs.Name, State: snmpVRRPState(gs.State), Members: gs.Members}
	if c := gs.Config; c != nil {
		g.TrackingWeight, g.SMTPAlert = c.TrackingWeight, c.SMTPAlert
		g.NotifyMaster, g.NotifyBackup, g.NotifyFault = argv(c.NotifyMaster), argv(c.NotifyBackup), argv(c.NotifyFault)
		g.NotifyStop, g.Notify = argv(c.NotifyStop), argv(c.Notify)
		g.NotifyExec = g.NotifyMaster != nil || g.NotifyBackup != nil || g.NotifyFault != nil || g.NotifyStop != nil || g.Notify != nil
		g.TrackInterfaces, g.TrackScripts, g.TrackFiles = tracked(c.TrackInterfaces), tracked(c.TrackScripts), tracked(c.TrackFiles)
	}
	return g
}

// snmpInstance is one vrrpInstanceTable row and its RFC rows.
func snmpInstance(in snmpInput, is *vrrpengine.InstanceStatus) snmp.Instance {
	c := is.Config
	out := snmp.Instance{
		Name: is.Name, VRID: is.VRID, IPv6: is.IPv6, Version: int(is.Version),
		State: snmpVRRPState(is.State), InitialState: snmpVRRPState(is.InitialState), WantedState: snmpVRRPState(is.WantState),
		BasePriority: int32(is.BasePriority), EffectivePriority: int32(is.EffectivePriority), VIPsSet: is.VIPSet,
		Interface: is.Interface, IfIndex: in.ifs.Index(is.BaseInterface), HWAddr: in.ifs.HWAddr(is.Interface),
		SourceIP: is.SrcAddr, MasterIP: is.MasterAddr,
		AdvertInt: is.AdvertInt, Preempt: !is.NoPreempt, PreemptDelay: is.PreemptDelay, AuthType: authType(is.AuthType),
		SyncGroup: is.SyncGroup, GarpDelay: is.Config.GarpMasterDelay, Accept: is.Accept,
		Unicast: len(is.UnicastPeers) > 0, McastGroup: is.McastGroup,
		Stats: snmpStats(is),
	}
	out.PrimaryIP = is.SrcAddr
	if is.SrcAddrFromConfig || !out.PrimaryIP.IsValid() {
		out.PrimaryIP = in.ifs.Primary(is.BaseInterface, is.IPv6)
	}
	if c == nil {
		return out
	}
	out.TrackInterfaces, out.TrackScripts, out.TrackFiles = tracked(c.TrackInterfaces), tracked(c.TrackScripts), tracked(c.TrackFiles)
	out.SMTPAlert, out.PromoteSecondaries, out.LinkbeatPolling = c.SMTPAlert, c.PromoteSecondaries, c.LinkbeatUsePolling
	out.NotifyMaster, out.NotifyBackup, out.NotifyFault = argv(c.NotifyMaster), argv(c.NotifyBackup), argv(c.NotifyFault)
	out.NotifyStop, out.Notify, out.NotifyMasterRxLow = argv(c.NotifyStop), argv(c.Notify), argv(c.NotifyMasterRxLowerPri)
	out.NotifyDeleted, out.NotifyDeletedState = argv(c.NotifyDeleted), c.NotifyDeletedSet
	out.NotifyExec = out.NotifyMaster != nil || out.NotifyBackup != nil || out.NotifyFault != nil ||
		out.NotifyStop != nil || out.Notify != nil || out.NotifyMasterRxLow != nil || out.NotifyDeleted != nil
	for _, a := range c.VIPs {
		out.VIPs = append(out.VIPs, snmpAddress(in.ifs, a, is.Interface, is.VIPSet))
	}
	for _, a := range c.ExcludedVIPs {
		out.EVIPs = append(out.EVIPs, snmpAddress(in.ifs, a, is.Interface, is.VIPSet))
	}
	// Virtual routes and rules are not installed by this build (yet).
	for i := range c.Routes {
		out.Routes = append(out.Routes, snmpRoute(in.ifs, &c.Routes[i], false))
	}
	for i := range c.Rules {
		out.Rules = append(out.Rules, snmpRule(&c.Rules[i], false))
	}
	return out
}

func authType(a packet.AuthType) int {
	switch a {
	case packet.AuthPass:
		return 1
	case packet.AuthAH:
		return 2
	}
	return 0
}

// snmpStats maps the engine's counters (keepalived's vrrp_stats) and the
// FSM's finer discard counts onto the MIBs' statistics.
func snmpStats(is *vrrpengine.InstanceStatus) snmp.Stats {
	c := is.Counters
	s := snmp.Stats{
		BecomeMaster: c.BecomeMaster, AdvertRcvd: c.AdvertRcvd, AdvertIntervalErr: c.AdvertIntervalErr,
		AuthFailure: c.AuthFailure, TTLErr: c.IPTTLErr, PriZeroRcvd: c.PriZeroRcvd, PriZeroSent: c.PriZeroSent,
		InvalidTypeRcvd: c.InvalidTypeRcvd, AddrListErr: c.AddrListErr, InvalidAuthType: c.InvalidAuthType,
		AuthTypeMismatch: c.AuthTypeMismatch, PacketLenErr: c.PacketLenErr,
		ChecksumErr: is.Discards[packet.ErrChecksum], VersionErr: is.Discards[packet.ErrVersion],
		VRIDErr:      is.Discards[packet.ErrVRID],
		MasterReason: uint32(is.MasterReason), ProtoErrReason: uint32(is.ProtoErrReason),
	}
	if is.State == vrrp.StateBackup || is.State == vrrp.StateMaster {
		s.Uptime = is.LastTransition
	}
	return s
}

// snmpAddress is a VIP, eVIP or static address; dev is the instance's
// interface, used when the address names none.
func snmpAddress(ifs ifaceFacts, a config.VirtualAddress, dev string, set bool) snmp.Address {
	if a.Dev != "" {
		dev = a.Dev
	}
	out := snmp.Address{Prefix: a.Prefix, Peer: a.Peer, Scope: int(a.ScopeID), IfIndex: ifs.Index(dev), IfName: dev,
		Label: a.Label, Set: set}
	if b, err := netip.ParseAddr(a.Broadcast); err == nil {
		out.Broadcast = b
	}
	return out
}

func snmpRoute(ifs ifaceFacts, r *config.Route, set bool) snmp.Route {
	out := snmp.Route{Dst: r.Dst, Src: r.Src, Via: r.Via, PrefSrc: r.PrefSrc, Metric: r.Metric, Scope: int(r.Scope),
		Type: int(r.Type), IfName: r.Dev, IfIndex: ifs.Index(r.Dev), Table: r.Table, Set: set}
	opt := func(bit config.RouteOpt, v uint32) *uint32 {
		if r.Has&bit == 0 {
			return nil
		}
		return &v
	}
	out.TOS = opt(config.RouteDSField, uint32(r.TOS))
	out.Protocol = opt(config.RouteProtocol, uint32(r.Protocol))
	out.MTU = opt(config.RouteMTU, r.MTU)
	out.MTULock = r.Lock&(1<<config.RTAXMTU) != 0
	for _, nh := range r.Nexthops {
		h := snmp.NextHop{Addr: nh.Addr, IfName: nh.Dev, IfIndex: ifs.Index(nh.Dev), OnLink: nh.Flags&1 != 0}
		if nh.HasWeight {
			w := int32(nh.Weight) + 1
			h.Weight = &w
		}
		out.NextHops = append(out.NextHops, h)
	}
	return out
}

func snmpRule(r *config.Rule, set bool) snmp.Rule {
	out := snmp.Rule{From: r.From, To: r.To, Action: uint32(r.Action), Table: r.Table, GotoTarget: r.Goto,
		Preference: r.Priority, Set: set, Invert: r.Invert, TOS: uint32(r.TOS), IIF: r.IIf, OIF: r.OIf}
	if r.Has&config.RuleHasFwmark != 0 {
		m := r.Fwmark
		out.FwMark = &m
	}
	if r.Has&config.RuleHasFwmask != 0 {
		m := r.Fwmask
		out.FwMask = &m
	}
	return out
}
