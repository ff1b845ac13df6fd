package engine

import (
	"maps"
	"net/netip"
	"sort"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// Status is the VRRP engine at one instant, as its owner sees it: what
// the dumps (SIGUSR1, SIGUSR2, JSON), the metrics, SNMP (KEEPALIVED-MIB,
// VRRP-MIB, VRRPv3-MIB), DBus and the control socket read. Every field is
// a copy, or configuration shared read-only.
type Status struct {
	// Instances in configuration order (keepalived's list order).
	Instances []InstanceStatus
	// Groups are the vrrp_sync_groups, in configuration order.
	Groups []GroupStatus
	// Scripts are the vrrp_scripts, in configuration order.
	Scripts []ScriptStatus
	// Files are the track_files, in configuration order.
	Files []FileStatus
	// Sockets in the order keepalived's sockpool lists them: by
	// interface, family, protocol.
	Sockets []SocketStatus
	// Links is the last known link state of every interface the engine
	// watches (VRRP and tracked interfaces).
	Links map[string]bool
	// Discards counts packets no instance took, per packet sentinel
	// (packet.ErrVRID for an unknown VRID, packet.ErrLength for runts).
	Discards map[error]uint64
	// ActionErrors counts failed sends, address changes and gratuitous
	// packets.
	ActionErrors uint64
	// StaticAddresses, StaticRoutes and StaticRules are static_ipaddress,
	// static_routes and static_rules with their set state.
	StaticAddresses []AddrStatus
	StaticRoutes    []RouteStatus
	StaticRules     []RuleStatus
}

// InstanceStatus is one vrrp_instance.
type InstanceStatus struct {
	Name      string
	SyncGroup string
	// Config is the instance as configured, shared, do not modify: the
	// dumps, SNMP and DBus read configured values from it. The fields
	// below are run-time state, or values derived from the config.
	Config *config.VRRPInstance
	// Interface carries the adverts: the use_vmac interface when there is
	// one, else BaseInterface.
	Interface     string
	BaseInterface string
	VMAC          string
	Version       uint8
	VRID          uint8
	IPv6          bool

	// InitialState is the configured one (MASTER, BACKUP; INIT for an
	// address owner left to decide).
	State, WantState, InitialState vrrp.State
	// BasePriority is the configured priority; EffectivePriority the one
	// advertised (clamped to 1..254 unless the owner); TotalPriority base
	// plus tracking weights, unclamped.
	BasePriority      uint8
	EffectivePriority uint8
	TotalPriority     int

	// MasterAddr is the master last heard while BACKUP (keepalived's
	// master_saddr); MasterPriority and MasterAdvertInt come from the last
	// advert accepted (master_priority, master_adver_int), the latter the
	// configured AdvertInt until one is.
	MasterAddr      netip.Addr
	MasterPriority  uint8
	MasterAdvertInt time.Duration
	AdvertInt       time.Duration

	// LastTransition is the wall time of the last state change (zero
	// before the first), LastReason why it happened, MasterReason why the
	// instance last became MASTER (VRRPv3-MIB's NewMasterReason).
	LastTransition time.Time
	LastReason     vrrp.Reason
	MasterReason   vrrp.MasterReason
	// ProtoErrReason is the last protocol error (TTL, version, checksum)
	// of an advert (VRRPv3-MIB's ProtoErrReason).
	ProtoErrReason vrrp.ProtoErrReason
	// Timer is when the advert timer (MASTER) or master down timer
	// (BACKUP) fires; zero when none runs.
	Timer              time.Time
	MasterDownInterval time.Duration
	// VIPSet is true while the instance holds its addresses installed.
	VIPSet       bool
	VIPs         []netip.Prefix // advertised
	ExcludedVIPs []netip.Prefix
	// Addresses are the VIPs then the eVIPs, each with its interface and
	// set state; Routes and Rules the virtual_routes and virtual_rules.
	Addresses []AddrStatus
	Routes    []RouteStatus
	Rules     []RuleStatus
	// NoAddress: the interface has no address to advertise from, which
	// holds the instance in FAULT.
	NoAddress bool

	SrcAddr           netip.Addr
	SrcAddrFromConfig bool
	McastGroup        netip.Addr
	UnicastPeers      []netip.Addr
	AuthType          packet.AuthType
	AuthPass          string // truncated to 8 bytes as sent
	// Accept is keepalived's vrrp->accept: on unless strict mode, where
	// only an explicit accept turns it on. Strict is vrrp_strict or
	// strict_mode.
	Accept, Strict bool

	// DownTimerAdverts, NoPreempt and PreemptDelay are as the FSM runs
	// them (defaulted, corrected); values used as configured are read
	// from Config.
	DownTimerAdverts int
	NoPreempt        bool
	PreemptDelay     time.Duration

	// Faults lists the tracked objects that hold the instance in FAULT
	// ("interface:NAME", "script:NAME", "file:NAME", "process:NAME", "\x00primary" for
	// its own interface), sorted.
	Faults []string
	// Tracking is every object the instance tracks, its sync group's
	// included, with the weight it applies and its state now.
	Tracking []TrackStatus
	// ScriptsInit counts tracked scripts that have no result yet.
	ScriptsInit int
	// HasSocket is false when the engine could not open the instance's
	// socket.
	HasSocket bool

	// Counters are keepalived's vrrp_stats since CountersSince (start,
	// or the last ClearStats).
	Counters      Counters
	CountersSince time.Time
	// Discards are the FSM's own discard counts per packet sentinel,
	// since start (finer than Counters: the VRRPv3-MIB's protocol error
	// reasons).
	Discards map[error]uint64
}

// TrackKind names what an instance tracks.
type TrackKind string

// Tracked object kinds.
const (
	TrackInterface TrackKind = "interface"
	TrackScript    TrackKind = "script"
	TrackFile      TrackKind = "file"
	TrackProcess   TrackKind = "process"
)

// TrackStatus is one tracked object of an instance.
type TrackStatus struct {
	Kind    TrackKind
	Name    string
	Weight  int
	Reverse bool
	// Known is false while nothing is known yet (a script that has not
	// finished a run); Up is the object's own state (a file: value 0).
	Known, Up bool
	// Value is a track_file's number.
	Value int
}

// GroupStatus is one vrrp_sync_group.
type GroupStatus struct {
	Name    string
	Config  *config.SyncGroup // shared, do not modify
	State   vrrp.State
	Members []string
}

// Counters are keepalived's vrrp_stats, named as in its JSON dump.
type Counters struct {
	AdvertRcvd, AdvertSent        uint64
	BecomeMaster, ReleaseMaster   uint64
	PacketLenErr                  uint64
	AdvertIntervalErr             uint64
	IPTTLErr                      uint64
	InvalidTypeRcvd               uint64
	AddrListErr                   uint64
	InvalidAuthType               uint64
	AuthTypeMismatch, AuthFailure uint64
	PriZeroRcvd, PriZeroSent      uint64
}

// ScriptStatus is one vrrp_script.
type ScriptStatus struct {
	Name       string
	Config     *config.VRRPScript
	Argv       []string
	UID, GID   uint32
	Result     int // keepalived's rise/fall counter
	Rise, Fall int
	Init       bool // no run finished yet
	Running    bool
	Up, Known  bool
	Insecure   bool // may not run (bad command, user or security)
	// Tracking lists the instances tracking the script, with the weight
	// each applies, in configuration order.
	Tracking []TrackingRef
}

// FileStatus is one track_file.
type FileStatus struct {
	Name   string
	Config *config.TrackFile
	// Path is the file as resolved (symlinks followed) and watched.
	Path  string
	Value int
}

// TrackingRef is an instance tracking an object with a weight.
type TrackingRef struct {
	Instance string
	Weight   int
	Reverse  bool
}

// SocketStatus is one raw socket of the pool and the instances on it.
type SocketStatus struct {
	Interface string
	IPv6      bool
	Proto     int
	Unicast   bool
	// Instances on the socket, ordered by VRID.
	Instances []SocketMember
}

// SocketMember is an instance using a socket.
type SocketMember struct {
	Name string
	VRID uint8
}

// Status asks the engine's owner for its state. It may be called from
// any goroutine, before, during and after Run.
func (e *Engine) Status() Status {
	var s Status
	e.own.Do(func() { s = e.status() })
	return s
}

// ClearStats zeroes every instance's counters, as keepalived does after
// writing the stats file on its stats-clear signal. The FSM's own counters
// keep running; Status reports them from this point on.
func (e *Engine) ClearStats() {
	e.own.Do(func() {
		now := time.Now()
		for _, u := range e.units {
			for _, m := range u.members {
				m.statsBase = Counters{}
				m.statsBase, m.statsSince = m.counters(m.fsm.Stats()), now
			}
		}
	})
}

func (e *Engine) status() Status {
	e.drainPolled()
	s := Status{Links: maps.Clone(e.links), Discards: maps.Clone(e.discards), ActionErrors: e.actErrs}
	byName := map[string]*inst{}
	for _, u := range e.units {
		for _, m := range u.members {
			byName[m.cfg.Name] = m
		}
	}
	for _, ci := range e.cfg.Instances {
		if m := byName[ci.Name]; m != nil {
			s.Instances = append(s.Instances, e.instanceStatus(m))
		}
	}
	for _, sg := range e.cfg.SyncGroups {
		for _, u := range e.units {
			if u.name == sg.Name {
				s.Groups = append(s.Groups, groupStatus(sg, u))
			}
		}
	}
	for _, sc := range e.cfg.Scripts {
		if sp := e.scripts[sc.Name]; sp != nil {
			s.Scripts = append(s.Scripts, e.scriptStatus(sp))
		}
	}
	for _, tf := range e.cfg.TrackFiles {
		if f := e.files[tf.Name]; f != nil {
			s.Files = append(s.Files, FileStatus{Name: tf.Name, Config: tf, Path: f.path, Value: int(f.value)})
		}
	}
	s.Sockets = e.socketStatus()
	e.staticStatus(&s)
	return s
}

func groupStatus(sg *config.SyncGroup, u *unit) GroupStatus {
	g := GroupStatus{Name: sg.Name, Config: sg, State: vrrp.StateInit}
	if u.group != nil {
		g.State = u.group.State()
	}
	for _, m := range u.members {
		g.Members = append(g.Members, m.cfg.Name)
	}
	return g
}

func (e *Engine) instanceStatus(m *inst) InstanceStatus {
	vc := m.fsm.Config()
	fs := m.fsm.Status()
	strict := m.cfg.StrictMode || e.cfg.Global.VRRPStrict
	is := InstanceStatus{
		Name: m.cfg.Name, SyncGroup: m.u.name, Config: m.cfg,
		Interface: vc.Interface, BaseInterface: m.base, VMAC: m.vmac,
		Version: vc.Version, VRID: vc.VRID, IPv6: vc.IPv6,
		State: fs.State, WantState: fs.WantState, InitialState: vc.InitialState,
		BasePriority: fs.BasePriority, EffectivePriority: fs.EffectivePriority,
		TotalPriority: int(vc.Priority) + m.snmpPrio + m.weight,
		MasterAddr:    fs.MasterAddr, MasterPriority: fs.MasterPriority, MasterAdvertInt: fs.MasterAdvertInt,
		AdvertInt: vc.AdvertInt, LastReason: fs.LastReason, MasterReason: fs.MasterReason, ProtoErrReason: fs.ProtoErrReason,
		MasterDownInterval: fs.MasterDownInterval, VIPSet: fs.VIPSet,
		VIPs: vc.VIPs, ExcludedVIPs: vc.ExcludedVIPs,
		SrcAddr: vc.SrcAddr, SrcAddrFromConfig: m.built.SrcAddr.IsValid(),
		McastGroup: vc.McastGroup, UnicastPeers: append([]netip.Addr(nil), vc.UnicastPeers...),
		AuthType: vc.AuthType, AuthPass: vc.AuthPass,
		Accept: !strict, Strict: strict,
		DownTimerAdverts: vc.DownTimerAdverts, NoPreempt: vc.NoPreempt, PreemptDelay: vc.PreemptDelay,
		Faults: fs.Faults, Counters: m.counters(fs.Stats), CountersSince: m.statsSince, Discards: fs.Stats.Discards,
	}
	if m.cfg.Accept != nil {
		is.Accept = *m.cfg.Accept
	}
	if fs.LastTransition > 0 || fs.LastReason != vrrp.ReasonInit || fs.State != vrrp.StateInit {
		is.LastTransition = e.start.Add(fs.LastTransition)
	}
	if fs.HasDeadline && (fs.State == vrrp.StateMaster || fs.State == vrrp.StateBackup) {
		is.Timer = e.start.Add(fs.Deadline)
	}
	if len(is.AuthPass) > packet.AuthDataLen {
		is.AuthPass = is.AuthPass[:packet.AuthDataLen]
	}
	is.Tracking = e.trackingStatus(m)
	e.kernelStatus(m, &is)
	for _, r := range m.cfg.TrackScripts {
		if sp := e.scripts[r.Name]; sp != nil && !sp.known && !sp.bad {
			is.ScriptsInit++
		}
	}
	_, is.HasSocket = e.conns[connKey{vc.Interface, vc.IPv6, packet.ProtoVRRP}]
	return is
}

// trackingStatus lists what m tracks, as trackState weighs it.
func (e *Engine) trackingStatus(m *inst) []TrackStatus {
	ifaces, scripts, _ := e.trackRefs(m)
	var out []TrackStatus
	for _, r := range ifaces {
		up, ok := e.links[r.Name]
		out = append(out, TrackStatus{Kind: TrackInterface, Name: r.Name, Weight: r.Weight, Reverse: r.Reverse, Known: ok, Up: up})
	}
	for _, r := range scripts {
		s := e.scripts[r.Name]
		if s == nil || s.bad {
			continue
		}
		w, rev := s.cfg.Weight, s.cfg.WeightReverse
		if r.HasWeight {
			w, rev = r.Weight, r.Reverse
		}
		out = append(out, TrackStatus{Kind: TrackScript, Name: r.Name, Weight: w, Reverse: rev, Known: s.known, Up: s.up})
	}
	out = append(out, e.fileTrackingStatus(m)...)
	out = append(out, e.procTrackingStatus(m)...)
	return append(out, e.bfdTracking(m)...)
}

// counters maps the FSM's counters onto keepalived's, since statsBase.
func (m *inst) counters(s vrrp.Stats) Counters {
	d := s.Discards
	c := Counters{
		AdvertRcvd: s.AdvertsReceived, AdvertSent: s.AdvertsSent,
		BecomeMaster: s.BecameMaster, ReleaseMaster: s.ReleasedMaster,
		PacketLenErr: d[packet.ErrLength], AdvertIntervalErr: d[packet.ErrInterval],
		IPTTLErr: d[packet.ErrTTL], InvalidTypeRcvd: d[packet.ErrType], AddrListErr: d[packet.ErrAddrList],
		InvalidAuthType: d[packet.ErrInvalidAuthType], AuthTypeMismatch: d[packet.ErrAuthType],
		AuthFailure: d[packet.ErrAuth] + d[packet.ErrReplay],
		PriZeroRcvd: s.PriZeroReceived, PriZeroSent: s.PriZeroSent,
	}
	b := m.statsBase
	sub := func(x, y uint64) uint64 {
		if x < y {
			return 0
		}
		return x - y
	}
	return Counters{
		AdvertRcvd: sub(c.AdvertRcvd, b.AdvertRcvd), AdvertSent: sub(c.AdvertSent, b.AdvertSent),
		BecomeMaster: sub(c.BecomeMaster, b.BecomeMaster), ReleaseMaster: sub(c.ReleaseMaster, b.ReleaseMaster),
		PacketLenErr: sub(c.PacketLenErr, b.PacketLenErr), AdvertIntervalErr: sub(c.AdvertIntervalErr, b.AdvertIntervalErr),
		IPTTLErr: sub(c.IPTTLErr, b.IPTTLErr), InvalidTypeRcvd: sub(c.InvalidTypeRcvd, b.InvalidTypeRcvd),
		AddrListErr: sub(c.AddrListErr, b.AddrListErr), InvalidAuthType: sub(c.InvalidAuthType, b.InvalidAuthType),
		AuthTypeMismatch: sub(c.AuthTypeMismatch, b.AuthTypeMismatch), AuthFailure: sub(c.AuthFailure, b.AuthFailure),
		PriZeroRcvd: sub(c.PriZeroRcvd, b.PriZeroRcvd), PriZeroSent: sub(c.PriZeroSent, b.PriZeroSent),
	}
}

func (e *Engine) scriptStatus(sp *trackScript) ScriptStatus {
	ss := ScriptStatus{
		Name: sp.cfg.Name, Config: sp.cfg, Argv: append([]string(nil), sp.cmd.Argv...),
		UID: sp.cmd.UID, GID: sp.cmd.GID, Result: sp.result,
		Rise: max(sp.cfg.Rise, 1), Fall: max(sp.cfg.Fall, 1),
		Init: sp.init, Running: sp.running, Up: sp.up, Known: sp.known, Insecure: sp.bad,
	}
	for _, ci := range e.cfg.Instances {
		for _, r := range ci.TrackScripts {
			if r.Name != sp.cfg.Name {
				continue
			}
			w, rev := sp.cfg.Weight, sp.cfg.WeightReverse
			if r.HasWeight {
				w, rev = r.Weight, r.Reverse
			}
			ss.Tracking = append(ss.Tracking, TrackingRef{Instance: ci.Name, Weight: w, Reverse: rev})
		}
	}
	return ss
}

func (e *Engine) socketStatus() []SocketStatus {
	var out []SocketStatus
	for k := range e.conns {
		sk := SocketStatus{Interface: k.iface, IPv6: k.v6, Proto: k.proto}
		for _, u := range e.units {
			for _, m := range u.members {
				if m.removed || m.vc.Interface != k.iface || m.vc.IPv6 != k.v6 {
					continue
				}
				if k.proto == packet.ProtoAH && m.vc.AuthType != packet.AuthAH {
					continue
				}
				if k.proto == packet.ProtoVRRP && m.vc.AuthType == packet.AuthAH && !m.vc.IPv6 {
					continue
				}
				sk.Unicast = len(m.vc.UnicastPeers) > 0
				sk.Instances = append(sk.Instances, SocketMember{Name: m.cfg.Name, VRID: m.vc.VRID})
			}
		}
		if len(sk.Instances) == 0 {
			// A connection no instance uses for its protocol (the VRRP one
			// opened beside an IPv4 AH instance's) is not in keepalived's
			// sockpool, which has one socket per instances' key.
			continue
		}
		sort.Slice(sk.Instances, func(i, j int) bool { return sk.Instances[i].VRID < sk.Instances[j].VRID })
		out = append(out, sk)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Interface != b.Interface {
			return a.Interface < b.Interface
		}
		if a.IPv6 != b.IPv6 {
			return !a.IPv6
		}
		return a.Proto < b.Proto
	})
	return out
}
