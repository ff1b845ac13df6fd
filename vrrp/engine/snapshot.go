package engine

import (
	"net/netip"
	"sort"
	"strings"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// Snapshot is what keepalived's SIGUSR1/SIGUSR2/JSON dumps show of the
// VRRP process, read under the engine's lock at one instant.
type Snapshot struct {
	// Instances in configuration order (keepalived's list order).
	Instances []InstanceSnapshot
	// Scripts in configuration order.
	Scripts []ScriptSnapshot
	// Sockets in the order keepalived's sockpool lists them: by
	// interface, family, protocol.
	Sockets []SocketSnapshot
	// Links is the last known link state of every interface the engine
	// watches (VRRP and tracked interfaces).
	Links map[string]bool
}

// InstanceSnapshot is one vrrp_instance.
type InstanceSnapshot struct {
	Name      string
	SyncGroup string
	// Config is the instance as configured; shared, do not modify.
	Config *config.VRRPInstance
	// Interface carries the adverts: the use_vmac interface when there is
	// one, else BaseInterface.
	Interface     string
	BaseInterface string
	VMAC          string
	Version       uint8
	VRID          uint8
	IPv6          bool

	State     vrrp.State
	WantState vrrp.State
	// BasePriority is the configured priority; EffectivePriority the one
	// advertised (clamped to 1..254 unless the owner); TotalPriority base
	// plus tracking weights, unclamped.
	BasePriority      uint8
	EffectivePriority uint8
	TotalPriority     int

	// MasterAddr, MasterPriority and MasterAdvertInt come from the last
	// advert accepted while BACKUP (keepalived's master_saddr,
	// master_priority, master_adver_int); MasterAdvertInt starts as
	// AdvertInt.
	MasterAddr      netip.Addr
	MasterPriority  uint8
	MasterAdvertInt time.Duration
	AdvertInt       time.Duration

	// LastTransition is the wall time of the last state change (zero
	// before the first).
	LastTransition time.Time
	// Timer is when the advert timer (MASTER) or master down timer
	// (BACKUP) fires; zero when none runs.
	Timer              time.Time
	MasterDownInterval time.Duration
	// VIPSet is true while the engine holds the VIPs installed.
	VIPSet bool

	SrcAddr           netip.Addr
	SrcAddrFromConfig bool
	McastGroup        netip.Addr
	UnicastPeers      []netip.Addr
	AuthType          packet.AuthType
	AuthPass          string // truncated to 8 bytes as sent

	GarpMasterDelay         time.Duration
	GarpMasterRepeat        int
	GarpMasterRefresh       time.Duration
	GarpMasterRefreshRepeat int
	GarpLowerPrioDelay      time.Duration
	GarpLowerPrioRepeat     int
	DownTimerAdverts        int
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool
	NoPreempt               bool
	PreemptDelay            time.Duration

	// Faults lists the tracked objects that hold the instance in FAULT
	// ("interface:NAME", "script:NAME", "file:NAME", "\x00primary" for
	// its own interface), sorted.
	Faults []string
	// ScriptsInit counts tracked scripts that have no result yet.
	ScriptsInit int
	// HasSocket is false when the engine could not open the instance's
	// socket.
	HasSocket bool

	Counters Counters
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

// ScriptSnapshot is one vrrp_script.
type ScriptSnapshot struct {
	Name       string
	Config     *config.VRRPScript
	Argv       []string
	UID, GID   uint32
	Result     int // keepalived's rise/fall counter
	Rise, Fall int
	Init       bool // no run finished yet
	Running    bool
	Insecure   bool // cannot be run (bad command or user)
	// Tracking lists the instances tracking the script, with the weight
	// each applies, in configuration order.
	Tracking []TrackingRef
}

// TrackingRef is an instance tracking an object with a weight.
type TrackingRef struct {
	Instance string
	Weight   int
	Reverse  bool
}

// SocketSnapshot is one raw socket of the pool and the instances on it.
type SocketSnapshot struct {
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

// observed is what the engine learns about an instance from its actions
// and packets, beyond what the FSM exposes.
type observed struct {
	lastTransition  time.Time
	vipSet          bool
	masterAddr      netip.Addr
	masterPrio      uint8
	masterAdverInt  time.Duration
	invalidAuthType uint64
	// base is subtracted from the FSM's counters: ClearStats moves it.
	base Counters
}

// observe notes what an action says about its instance (engine.run).
func (e *Engine) observe(m *inst, a vrrp.Action) {
	switch a := a.(type) {
	case vrrp.Notify:
		m.obs.lastTransition = e.start.Add(e.now())
	case vrrp.AddVIPs:
		m.obs.vipSet = true
	case vrrp.DelVIPs:
		m.obs.vipSet = false
	case vrrp.Log:
		// packet.ErrAuthType covers keepalived's two counters; the
		// discard text tells an unknown type from a mismatch.
		if strings.Contains(a.Text, ") Invalid auth type: ") {
			m.obs.invalidAuthType++
		}
	}
}

// rxBefore and rxAfter bracket one received packet: an advert the FSM
// accepted while (or by becoming) BACKUP names the master.
func rxBefore(m *inst) uint64 { return m.fsm.Stats().AdvertsReceived }

func rxAfter(m *inst, r *packet.Received, before uint64) {
	if m.fsm.Stats().AdvertsReceived == before || m.fsm.State() != vrrp.StateBackup || len(r.Msg) < 8 {
		return
	}
	m.obs.masterAddr = r.Src
	m.obs.masterPrio = r.Msg[2]
	if r.Version == 3 {
		m.obs.masterAdverInt = time.Duration(uint16(r.Msg[4]&0x0f)<<8|uint16(r.Msg[5])) * 10 * time.Millisecond
	} else {
		m.obs.masterAdverInt = time.Duration(r.Msg[5]) * time.Second
	}
}

// counters maps the FSM's counters onto keepalived's.
func (m *inst) counters() Counters {
	s := m.fsm.Stats()
	d := s.Discards
	auth := d[packet.ErrAuthType]
	inv := min(m.obs.invalidAuthType, auth)
	c := Counters{
		AdvertRcvd: s.AdvertsReceived, AdvertSent: s.AdvertsSent,
		BecomeMaster: s.BecameMaster, ReleaseMaster: s.ReleasedMaster,
		PacketLenErr: d[packet.ErrLength], AdvertIntervalErr: d[packet.ErrInterval],
		IPTTLErr: d[packet.ErrTTL], InvalidTypeRcvd: d[packet.ErrType], AddrListErr: d[packet.ErrAddrList],
		InvalidAuthType: inv, AuthTypeMismatch: auth - inv,
		AuthFailure: d[packet.ErrAuth] + d[packet.ErrReplay],
		PriZeroRcvd: s.PriZeroReceived, PriZeroSent: s.PriZeroSent,
	}
	b := m.obs.base
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

// ClearStats zeroes every instance's counters, as keepalived does after
// writing the stats file on its stats-clear signal. The FSM's own counters
// keep running; snapshots report them from this point on.
func (e *Engine) ClearStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range e.units {
		for _, m := range u.members {
			m.obs.base = Counters{}
			m.obs.base = m.counters()
		}
	}
}

// Snapshot returns the engine's state for the dumps.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	byName := map[string]*inst{}
	for _, u := range e.units {
		for _, m := range u.members {
			byName[m.cfg.Name] = m
		}
	}
	var s Snapshot
	for _, ci := range e.cfg.Instances {
		m := byName[ci.Name]
		if m == nil {
			continue
		}
		s.Instances = append(s.Instances, e.instanceSnapshot(m))
	}
	for _, sc := range e.cfg.Scripts {
		if sp := e.scripts[sc.Name]; sp != nil {
			s.Scripts = append(s.Scripts, e.scriptSnapshot(sp))
		}
	}
	s.Links = make(map[string]bool, len(e.links))
	for k, v := range e.links {
		s.Links[k] = v
	}
	s.Sockets = e.socketSnapshot()
	return s
}

func (e *Engine) instanceSnapshot(m *inst) InstanceSnapshot {
	vc := m.fsm.Config()
	st := m.fsm.State()
	is := InstanceSnapshot{
		Name: m.cfg.Name, SyncGroup: m.u.name, Config: m.cfg,
		Interface: vc.Interface, BaseInterface: m.base, VMAC: m.vmac,
		Version: vc.Version, VRID: vc.VRID, IPv6: vc.IPv6,
		State: st, WantState: st,
		BasePriority: vc.Priority, EffectivePriority: m.fsm.Priority(),
		TotalPriority:  int(vc.Priority) + m.weight,
		MasterAddr:     m.obs.masterAddr,
		MasterPriority: m.obs.masterPrio, MasterAdvertInt: m.obs.masterAdverInt, AdvertInt: vc.AdvertInt,
		LastTransition: m.obs.lastTransition, MasterDownInterval: m.fsm.MasterDownInterval(),
		VIPSet:  m.obs.vipSet,
		SrcAddr: vc.SrcAddr, SrcAddrFromConfig: m.built.SrcAddr.IsValid(),
		McastGroup: vc.McastGroup, UnicastPeers: append([]netip.Addr(nil), vc.UnicastPeers...),
		AuthType: vc.AuthType, AuthPass: vc.AuthPass,
		GarpMasterDelay: vc.GarpMasterDelay, GarpMasterRepeat: vc.GarpMasterRepeat,
		GarpMasterRefresh: vc.GarpMasterRefresh, GarpMasterRefreshRepeat: vc.GarpMasterRefreshRepeat,
		GarpLowerPrioDelay: vc.GarpLowerPrioDelay, GarpLowerPrioRepeat: vc.GarpLowerPrioRepeat,
		DownTimerAdverts: vc.DownTimerAdverts, LowerPrioNoAdvert: vc.LowerPrioNoAdvert,
		HigherPrioSendAdvert: vc.HigherPrioSendAdvert, NoPreempt: vc.NoPreempt, PreemptDelay: vc.PreemptDelay,
		Counters: m.counters(),
	}
	if is.MasterAdvertInt == 0 {
		is.MasterAdvertInt = vc.AdvertInt
	}
	if at, ok := m.fsm.NextDeadline(); ok && (st == vrrp.StateMaster || st == vrrp.StateBackup) {
		is.Timer = e.start.Add(at)
	}
	if len(is.AuthPass) > packet.AuthDataLen {
		is.AuthPass = is.AuthPass[:packet.AuthDataLen]
	}
	for k := range m.faults {
		is.Faults = append(is.Faults, k)
	}
	sort.Strings(is.Faults)
	for _, r := range m.cfg.TrackScripts {
		if sp := e.scripts[r.Name]; sp != nil && !sp.known && !sp.bad {
			is.ScriptsInit++
		}
	}
	_, is.HasSocket = e.conns[connKey{vc.Interface, vc.IPv6, packet.ProtoVRRP}]
	return is
}

func (e *Engine) scriptSnapshot(sp *trackScript) ScriptSnapshot {
	ss := ScriptSnapshot{
		Name: sp.cfg.Name, Config: sp.cfg, Argv: append([]string(nil), sp.cmd.Argv...),
		UID: sp.cmd.UID, GID: sp.cmd.GID, Result: sp.result,
		Rise: max(sp.cfg.Rise, 1), Fall: max(sp.cfg.Fall, 1),
		Init: sp.init, Running: sp.running, Insecure: sp.bad,
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

func (e *Engine) socketSnapshot() []SocketSnapshot {
	var out []SocketSnapshot
	for k := range e.conns {
		sk := SocketSnapshot{Interface: k.iface, IPv6: k.v6, Proto: k.proto}
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
