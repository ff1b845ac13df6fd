// Package vrrp is the pure VRRP state machine of one vrrp_instance, in the
// style of etcd raft: no sockets, clocks, goroutines or randomness. Inputs
// are Events (each carrying the time), outputs are Actions, and
// NextDeadline tells the shell when to send the next Tick.
//
// Behaviour follows keepalived 2.2.7 (vrrp.c, vrrp_scheduler.c,
// vrrp_sync.c) where it differs from RFC 3768 / RFC 5798; each such place
// says so in a comment.
//
// What a shell does, in one select loop per socket or per daemon:
//
//   - New(cfg) per vrrp_instance (NewSyncGroup for vrrp_sync_group members,
//     then feed their events through the group). Report interfaces or
//     tracked objects already down (IfaceDown, TrackFault) and tracking
//     weights (PriorityChanged), then Step(Start{...}).
//   - Read packets, frame them with packet.Parse4 (IPv4 raw socket, IP
//     header included) or packet.Parse6 (payload, source, IPV6_PKTINFO
//     destination, IPV6_HOPLIMIT), pick the instance by Received.VRID and
//     Step(AdvertReceived{...}). Unknown VRIDs are the shell's to log.
//   - After every Step, arm a timer for NextDeadline and send Tick when it
//     fires (late is fine; never early).
//   - Perform actions in order: SendAdvert (Encode per destination; IPv4 on
//     an IP_HDRINCL socket, IPv6 with hop limit 255 and IPV6_CHECKSUM),
//     AddVIPs/DelVIPs (logging "(NAME) setting VIPs." / "removing VIPs."
//     with -D), SendGratuitous (spaced per interface), Notify and
//     NotifyMasterRxLowerPri (notify scripts, SMTP, FIFO), Log.
//   - After Shutdown the instance is finished; a restart is a new Instance.
package vrrp

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"keepalived-go/vrrp/packet"
)

const never = time.Duration(math.MaxInt64)

// Stats counts what an instance saw. Discards are counted per sentinel
// error of package packet.
type Stats struct {
	AdvertsReceived, AdvertsSent uint64
	BecameMaster, ReleasedMaster uint64
	PriZeroReceived, PriZeroSent uint64
	Discards                     map[error]uint64
}

// Instance is one VRRP virtual router. It is not safe for concurrent use.
type Instance struct {
	cfg    Config
	expect packet.Expect
	vips   []netip.Addr // the addresses listed in adverts
	garp   []netip.Addr // VIPs and excluded VIPs, for gratuitous ARP/NA

	state, wantState State
	started          bool

	basePrio, effPrio uint8
	weight            int

	masterAdverInt time.Duration // learned from the master (VRRPv3)
	masterAddr     netip.Addr
	masterPrio     uint8

	sands           time.Duration // advert timer (MASTER) or master down timer (BACKUP)
	delayUntil      time.Duration // vrrp_startup_delay's end (Start.DelayUntil)
	preemptAt       time.Duration
	preemptSet      bool
	garpDelayAt     time.Duration
	garpLowerPrioAt time.Duration
	garpRefreshAt   time.Duration
	vipSet          bool
	faults          map[string]bool
	initFaults      map[string]bool // InitFault names reported and not cleared
	initHeld        bool            // in FAULT since start only for initFaults
	ahSeq           uint32
	ahCycle         bool

	becameMaster bool
	prioZero     bool // the down timer was cut to Skew_Time by a priority 0 advert

	lastTransition   time.Duration // when the state last changed (0: never)
	lastReason       Reason
	masterReason     MasterReason // why it last became MASTER
	nextMasterReason MasterReason // why it would, from the adverts heard as BACKUP
	protoErr         ProtoErrReason

	sync *SyncGroup
	emit func(Action) // set by a SyncGroup; nil appends to acts

	stats Stats
	acts  []Action
}

// New checks cfg and returns an instance in INIT. keepalived's silent
// corrections are applied (a priority-255 owner never has nopreempt, VRRPv3
// has no authentication, ...).
func New(cfg Config) (*Instance, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	in := &Instance{
		cfg:         cfg,
		state:       StateInit,
		wantState:   cfg.InitialState,
		basePrio:    cfg.Priority,
		effPrio:     cfg.Priority,
		sands:       never,
		garpDelayAt: never, garpLowerPrioAt: never, garpRefreshAt: never,
		faults: map[string]bool{}, initFaults: map[string]bool{},
		stats: Stats{Discards: map[error]uint64{}},

		nextMasterReason: MasterReasonNoResponse,
	}
	// AH needs a sequence number from a running master before taking over.
	if cfg.AuthType == packet.AuthAH && cfg.InitialState == StateMaster && cfg.Priority != packet.PriorityOwner {
		in.wantState = StateBackup
	}
	for _, p := range cfg.VIPs {
		in.vips = append(in.vips, p.Addr())
	}
	in.garp = append(in.garp, in.vips...)
	for _, p := range cfg.ExcludedVIPs {
		in.garp = append(in.garp, p.Addr())
	}
	var key [packet.AuthDataLen]byte
	copy(key[:], cfg.AuthPass)
	in.expect = packet.Expect{
		Name: cfg.Name, Interface: cfg.Interface, Version: cfg.Version, VRID: cfg.VRID, IPv6: cfg.IPv6,
		AuthType: cfg.AuthType, AuthData: key, AdvertInt: uint16(cfg.AdvertInt / time.Second),
		VIPs: in.vips, Unicast: len(cfg.UnicastPeers) > 0, Peers: cfg.UnicastPeers, CheckPeer: cfg.CheckUnicastSrc,
		PeerTTL: cfg.UnicastPeerTTL,
	}
	in.masterAdverInt = cfg.AdvertInt
	return in, nil
}

// State is the current state.
func (in *Instance) State() State { return in.state }

// Priority is the effective priority.
func (in *Instance) Priority() uint8 { return in.effPrio }

// Config returns the normalized configuration.
func (in *Instance) Config() Config { return in.cfg }

// Stats returns a copy of the counters.
func (in *Instance) Stats() Stats {
	s := in.stats
	s.Discards = make(map[error]uint64, len(in.stats.Discards))
	for k, v := range in.stats.Discards {
		s.Discards[k] = v
	}
	return s
}

// MasterDownInterval is Down_Timer_Adverts * Master_Adver_Interval +
// Skew_Time for the current priority (RFC 5798 §6.1, keepalived's
// VRRP_MS_DOWN_TIMER).
func (in *Instance) MasterDownInterval() time.Duration {
	return time.Duration(in.cfg.DownTimerAdverts)*in.masterAdverInt + in.skew(256-int(in.effPrio))
}

// SkewTime is Skew_Time for the current priority.
func (in *Instance) SkewTime() time.Duration { return in.skew(256 - int(in.effPrio)) }

// skew follows keepalived's VRRP_TIMER_SKEW_CALC, integer arithmetic in µs
// included. VRRPv2 uses (256-prio)/256 s whatever advert_int is
// (RFC 3768 §6.1); VRRPv3 scales by the master's advert interval
// (RFC 5798 §6.1).
func (in *Instance) skew(n int) time.Duration {
	if in.cfg.Version == 3 {
		cs := int64(in.masterAdverInt / (10 * time.Millisecond))
		return time.Duration(int64(n)*cs*625/16) * time.Microsecond
	}
	return time.Duration(int64(n)*1000000/256) * time.Microsecond
}

// NextDeadline is when the shell must send the next Tick; ok is false when
// no timer runs (INIT, FAULT, STOP, DELETED).
func (in *Instance) NextDeadline() (at time.Duration, ok bool) {
	at = min(in.sands, in.garpDelayAt, in.garpLowerPrioAt)
	return at, at != never
}

// Step feeds one event and returns the actions to perform, in order.
func (in *Instance) Step(ev Event) []Action {
	in.acts = nil
	in.step(ev)
	acts := in.acts
	in.acts = nil
	return acts
}

func (in *Instance) step(ev Event) {
	if in.state == StateStop || in.state == StateDeleted {
		return
	}
	now := ev.now()
	switch ev := ev.(type) {
	case Start:
		if !in.started {
			in.delayUntil = ev.DelayUntil
			if ev.ResidualVIPs {
				in.vipSet = true
				in.restoreInterface(false)
			}
			in.start(now)
		}
	case Tick:
		if in.started {
			in.tick(now)
		}
	case AdvertReceived:
		in.receive(now, ev.Packet)
	case IfaceDown:
		in.setFault(now, "\x00interface", true)
	case IfaceUp:
		in.setFault(now, "\x00interface", false)
	case TrackFault:
		in.setFault(now, ev.Name, ev.Fault)
	case PriorityChanged:
		in.setWeight(now, ev.Weight)
	case Shutdown:
		in.shutdown(now, ev.Deleted)
	case AddressesChanged:
		in.setAddresses(ev.VIPs, ev.Exclude)
	case SetBackup:
		in.setBackup(now)
	case SetSource:
		if ev.Addr.IsValid() && ev.Addr.Is6() == in.cfg.IPv6 {
			in.cfg.SrcAddr = ev.Addr
		}
	case SetBasePriority:
		if ev.Priority != 0 {
			in.basePrio = ev.Priority
			in.setWeight(now, in.weight)
		}
	case SetPreempt:
		in.cfg.NoPreempt = !ev.Preempt
	}
}

// setBackup is set_vrrp_backup (see SetBackup).
func (in *Instance) setBackup(now time.Duration) {
	if in.state != StateMaster {
		return
	}
	in.wantState = StateBackup
	in.leaveMaster(now, true, ReasonRemoved)
	if in.sync != nil {
		for _, m := range in.sync.members {
			if m != in && m.state == StateMaster {
				m.wantState = StateBackup
				m.leaveMaster(now, true, ReasonSync)
				m.sands = now + m.SkewTime()
			}
		}
		// keepalived sets the group's state without notifying it.
		in.sync.state = StateBackup
	}
	in.sands = now + in.SkewTime()
}

// setAddresses swaps the address lists in place (see AddressesChanged).
func (in *Instance) setAddresses(vips, excluded []netip.Prefix) {
	diff := func(a, b []netip.Prefix) []netip.Prefix {
		seen := map[netip.Prefix]bool{}
		for _, p := range b {
			seen[p] = true
		}
		var out []netip.Prefix
		for _, p := range a {
			if !seen[p] {
				out = append(out, p)
			}
		}
		return out
	}
	addV, delV := diff(vips, in.cfg.VIPs), diff(in.cfg.VIPs, vips)
	addX, delX := diff(excluded, in.cfg.ExcludedVIPs), diff(in.cfg.ExcludedVIPs, excluded)
	in.cfg.VIPs = append([]netip.Prefix(nil), vips...)
	in.cfg.ExcludedVIPs = append([]netip.Prefix(nil), excluded...)
	in.vips = nil
	for _, p := range in.cfg.VIPs {
		in.vips = append(in.vips, p.Addr())
	}
	in.garp = append([]netip.Addr(nil), in.vips...)
	for _, p := range in.cfg.ExcludedVIPs {
		in.garp = append(in.garp, p.Addr())
	}
	in.expect.VIPs = in.vips
	if !in.vipSet {
		return
	}
	if len(delV)+len(delX) > 0 {
		in.add(DelVIPs{VIPs: delV, Excluded: delX})
	}
	if len(addV)+len(addX) > 0 {
		in.add(AddVIPs{VIPs: addV, Excluded: addX})
		var fresh []netip.Addr
		for _, p := range append(addV, addX...) {
			fresh = append(fresh, p.Addr())
		}
		in.add(SendGratuitous{Addrs: fresh, Repeat: in.cfg.Model.GarpMasterRepeat})
	}
}

func (in *Instance) add(a Action) {
	if in.emit != nil {
		in.emit(a)
		return
	}
	in.acts = append(in.acts, a)
}

func (in *Instance) log(format string, a ...any) {
	in.add(Log{Text: fmt.Sprintf("(%s) "+format, append([]any{in.cfg.Name}, a...)...)})
}

func (in *Instance) logDetail(format string, a ...any) {
	in.add(Log{Text: fmt.Sprintf("(%s) "+format, append([]any{in.cfg.Name}, a...)...), Detail: true})
}

func (in *Instance) notify(now time.Duration, from State, r Reason) {
	in.lastTransition, in.lastReason = now, r
	in.add(Notify{From: from, To: in.state, Reason: r, Priority: in.effPrio})
}

// start is keepalived's vrrp_init_state for one instance (RFC 5798 §6.4.1).
func (in *Instance) start(now time.Duration) {
	in.started = true
	in.masterAdverInt = in.cfg.AdvertInt
	newState := in.wantState
	if in.sync != nil {
		newState = in.sync.state
	}
	if len(in.faults) == 0 && newState != StateFault && in.initPending() {
		// vrrp_init_state with num_script_init (or the group's
		// num_member_init): FAULT, without a log line or notification.
		in.state, in.initHeld = StateFault, true
		return
	}
	if len(in.faults) > 0 || newState == StateFault {
		if len(in.faults) > 0 {
			// vrrp_init_state: an instance already FAULT wants FAULT
			// ("the state we would be in disregarding any sync group").
			in.wantState = StateFault
		}
		in.state = StateFault
		// keepalived 2.2.7 puts a faulty instance in FAULT while it
		// completes the configuration (vrrp_complete_init), and logs it
		// there; vrrp_init_state then finds it FAULT already.
		in.log("entering FAULT state")
		in.notify(now, StateInit, ReasonFault)
		return
	}
	if newState == StateMaster && in.wantState == StateMaster && in.basePrio == packet.PriorityOwner && now < in.delayUntil {
		// keepalived makes the owner a BACKUP (silently) whose down
		// timer of 1 µs runs from the end of vrrp_startup_delay.
		in.state = StateBackup
		in.sands = in.delayUntil + time.Microsecond
		return
	}
	if newState == StateMaster && in.wantState == StateMaster && in.basePrio == packet.PriorityOwner {
		// keepalived makes the owner a BACKUP whose down timer expires
		// after 1 µs; going straight to MASTER gives the same actions
		// without a round trip through the shell (RFC 5798 §6.4.1).
		in.state = StateBackup
		in.gotoMaster(now, StateInit, ReasonOwner)
		return
	}
	// A non-owner configured "state MASTER" starts as BACKUP like any
	// other: keepalived 2.2.7 only uses wantstate for sync groups here.
	if newState == StateBackup && in.wantState == StateMaster {
		// Allow one advert interval to see if there is another master.
		in.sands = in.backupFrom(now) + in.masterAdverInt + in.skew(1)
	} else {
		in.sands = in.backupFrom(now) + in.MasterDownInterval()
	}
	in.state = StateBackup
	in.log("Entering BACKUP STATE (init)")
	in.notify(now, StateInit, ReasonInit)
}

func (in *Instance) tick(now time.Duration) {
	if now >= in.garpDelayAt {
		in.garpDelayAt = never
		in.sendGratuitous(in.cfg.Model.GarpMasterRepeat)
	}
	if now >= in.garpLowerPrioAt {
		in.garpLowerPrioAt = never
		in.sendGratuitous(in.cfg.Model.GarpLowerPrioRepeat)
	}
	if now < in.sands {
		return
	}
	switch in.state {
	case StateBackup:
		in.logDetail("Receive advertisement timeout")
		r := ReasonMasterDown
		if in.prioZero {
			r = ReasonPriorityZero
		}
		in.gotoMaster(now, StateBackup, r)
	case StateMaster:
		in.masterTx(now)
		in.sands = now + in.cfg.AdvertInt
	}
}

// sendGratuitous is vrrp_send_link_update: nothing unless the VIPs are set.
func (in *Instance) sendGratuitous(rep int) {
	if !in.vipSet || rep <= 0 || len(in.garp) == 0 {
		return
	}
	in.add(SendGratuitous{Addrs: in.garp, Repeat: rep})
}

func (in *Instance) sendAdvert(prio uint8) {
	a := SendAdvert{
		Advert: packet.Advert{
			Version: in.cfg.Version, Type: packet.TypeAdvertisement, VRID: in.cfg.VRID, Priority: prio,
			IPv6: in.cfg.IPv6, Addrs: in.vips,
		},
		Src:  in.cfg.SrcAddr,
		Dsts: []netip.Addr{in.cfg.McastGroup},
	}
	if len(in.cfg.UnicastPeers) > 0 {
		a.Dsts = in.cfg.UnicastPeers
	}
	if in.cfg.Version == 2 {
		a.Advert.AuthType = in.cfg.AuthType
		a.Advert.AdvertInt = uint16(in.cfg.AdvertInt / time.Second)
		if in.cfg.AuthType == packet.AuthPass {
			a.Advert.AuthData = in.expect.AuthData
		}
		if in.cfg.AuthType == packet.AuthAH {
			// keepalived stops counting just below 2^32 and marks the
			// counter as cycled, which resets it on the next takeover.
			if in.ahSeq > 0xfffffffd {
				in.ahCycle = true
			} else {
				in.ahSeq++
			}
			a.AH = &packet.AHConfig{Key: in.expect.AuthData, Seq: in.ahSeq, Unicast: len(in.cfg.UnicastPeers) > 0}
		}
	} else {
		a.Advert.AdvertInt = uint16(in.cfg.AdvertInt / (10 * time.Millisecond))
	}
	in.stats.AdvertsSent++
	if prio == packet.PriorityStop {
		in.stats.PriZeroSent++
	}
	in.add(a)
}

// gotoMaster is vrrp_state_goto_master (RFC 5798 §6.4.2 "If the
// Master_Down_Timer fires").
func (in *Instance) gotoMaster(now time.Duration, from State, r Reason) {
	if !in.canGotoMaster(now) {
		in.wantState = StateMaster
		return
	}
	if in.ahCycle {
		in.ahCycle = false
		in.ahSeq = 0
	}
	in.wantState = StateMaster
	in.state = StateMaster
	in.sands = now + in.cfg.AdvertInt
	in.masterTx(now)
	in.afterBecomeMaster(now, from, r)
}

// masterTx is vrrp_state_master_tx: the advert goes first so that the old
// master drops the VIPs before our gratuitous ARPs (keepalived's order).
func (in *Instance) masterTx(now time.Duration) {
	in.sendAdvert(in.effPrio)
	if in.vipSet {
		if in.cfg.Model.GarpMasterRefresh > 0 && now > in.garpRefreshAt {
			in.sendGratuitous(in.cfg.Model.GarpMasterRefreshRepeat)
			in.garpRefreshAt = now + in.cfg.Model.GarpMasterRefresh
		}
		return
	}
	in.log("Entering MASTER STATE")
	in.stats.BecameMaster++
	in.masterReason = in.nextMasterReason
	// keepalived resets Master_Adver_Interval only when logging in detail
	// (vrrp_state_become_master); we always do, as a master uses its own.
	if in.cfg.Version == 3 && in.masterAdverInt != in.cfg.AdvertInt {
		in.logDetail("changing advert interval from %dms to locally configured %dms",
			in.masterAdverInt/time.Millisecond, in.cfg.AdvertInt/time.Millisecond)
	}
	in.masterAdverInt = in.cfg.AdvertInt
	in.add(AddVIPs{VIPs: in.cfg.VIPs, Excluded: in.cfg.ExcludedVIPs, Routes: in.cfg.Routes, Rules: in.cfg.Rules, All: true})
	in.vipSet = true
	in.sendGratuitous(in.cfg.Model.GarpMasterRepeat)
	if in.cfg.Model.GarpMasterRefresh > 0 {
		in.garpRefreshAt = now + in.cfg.Model.GarpMasterRefresh
	}
	if in.cfg.Model.GarpMasterDelay > 0 {
		in.garpDelayAt = now + in.cfg.Model.GarpMasterDelay
	}
	in.becameMaster = true
}

func (in *Instance) afterBecomeMaster(now time.Duration, from State, r Reason) {
	if in.becameMaster {
		in.becameMaster = false
		in.notify(now, from, r)
		if in.sync != nil {
			in.sync.memberMaster(now, in)
		}
	}
}

// restoreInterface is vrrp_restore_interface.
func (in *Instance) restoreInterface(sendStop bool) {
	if sendStop {
		in.sendAdvert(packet.PriorityStop)
		in.logDetail("sent 0 priority")
	}
	in.garpDelayAt, in.garpLowerPrioAt, in.garpRefreshAt = never, never, never
	if in.vipSet {
		in.add(DelVIPs{VIPs: in.cfg.VIPs, Excluded: in.cfg.ExcludedVIPs, Routes: in.cfg.Routes, Rules: in.cfg.Rules, All: true})
		in.vipSet = false
	}
}

// leaveMaster is vrrp_state_leave_master, to BACKUP or FAULT (wantState).
func (in *Instance) leaveMaster(now time.Duration, sendStop bool, r Reason) {
	switch in.wantState {
	case StateBackup:
		in.log("Entering BACKUP STATE")
		in.preemptSet = false
	case StateFault:
		in.log("Entering FAULT STATE")
		// keepalived sends priority 0 here and again in
		// vrrp_restore_interface; one is enough to trigger the takeover.
		if !sendStop {
			in.sendAdvert(packet.PriorityStop)
		}
	}
	in.restoreInterface(sendStop)
	in.state = in.wantState
	in.notify(now, StateMaster, r)
	in.stats.ReleasedMaster++
	in.resetSands(now)
}

// resetSands is vrrp_init_instance_sands after a transition.
func (in *Instance) resetSands(now time.Duration) {
	switch in.state {
	case StateMaster:
		in.sands = now + in.cfg.AdvertInt
	case StateBackup:
		in.sands = in.backupFrom(now) + in.MasterDownInterval()
	default:
		in.sands = never
	}
}

// backupFrom is when a BACKUP's master down timer starts: now, or the
// end of vrrp_startup_delay while it lasts.
func (in *Instance) backupFrom(now time.Duration) time.Duration {
	return max(now, in.delayUntil)
}

func (in *Instance) discard(err error, src netip.Addr) {
	var de *packet.DiscardError
	reason := err
	if errors.As(err, &de) {
		reason = de.Reason
		in.add(Log{Text: de.Text})
	}
	in.stats.Discards[reason]++
	// RFC 6527 vrrpStatisticsProtoErrReason, set where keepalived's
	// vrrp_check_packet sets proto_err_reason.
	switch {
	case errors.Is(reason, packet.ErrTTL):
		in.protoErr = ProtoErrTTL
	case errors.Is(reason, packet.ErrVersion):
		in.protoErr = ProtoErrVersion
	case errors.Is(reason, packet.ErrChecksum):
		in.protoErr = ProtoErrChecksum
	}
	if in.cfg.ReportDiscards {
		in.add(Discarded{Reason: reason, Src: src})
	}
}

// receive is vrrp_dispatcher_read for one packet.
func (in *Instance) receive(now time.Duration, p *packet.Received) {
	// Adverts are ignored in FAULT and INIT (vrrp_dispatcher_read).
	if p == nil || (in.state != StateBackup && in.state != StateMaster) {
		return
	}
	switch in.state {
	case StateBackup:
		in.backupRx(now, p)
	case StateMaster:
		in.masterRx(now, p)
	}
}

// check runs packet.Check and the AH anti-replay window.
func (in *Instance) check(p *packet.Received, checkVIPs bool) (packet.Advert, bool) {
	e := in.expect
	e.CheckVIPs = checkVIPs
	a, err := packet.Check(p, &e)
	if err == nil && in.cfg.AuthType == packet.AuthAH {
		if p.AH.Seq > in.ahSeq {
			in.ahSeq = p.AH.Seq
		} else {
			err = &packet.DiscardError{Reason: packet.ErrReplay, Text: fmt.Sprintf(
				"(%s) IPSEC-AH : sequence number %d already processed. Packet dropped. Local(%d)", in.cfg.Name, p.AH.Seq, in.ahSeq)}
		}
	}
	if err != nil {
		in.discard(err, p.Src)
		return a, false
	}
	in.stats.AdvertsReceived++
	if a.Priority == packet.PriorityStop {
		in.stats.PriZeroReceived++
	}
	return a, true
}

func (in *Instance) learnAdverInt(a *packet.Advert) {
	if in.cfg.Version != 3 {
		return
	}
	// RFC 5798 §6.4.2: Master_Adver_Interval := the advert's Max Adver Int.
	mai := time.Duration(a.AdvertInt) * 10 * time.Millisecond
	if mai != in.masterAdverInt {
		in.logDetail("advertisement interval updated from %dms to %dms by master",
			in.masterAdverInt/time.Millisecond, mai/time.Millisecond)
		in.masterAdverInt = mai
	}
}

// backupRx is vrrp_state_backup (RFC 5798 §6.4.2, RFC 3768 §6.4.2).
func (in *Instance) backupRx(now time.Duration, p *packet.Received) {
	checkVIPs := !in.cfg.SkipCheckAdvAddr || p.Src != in.masterAddr
	a, ok := in.check(p, checkVIPs)
	if !ok {
		return // ignored: the down timer keeps running
	}
	if in.cfg.AuthType == packet.AuthAH && p.AH.Seq >= in.ahSeq {
		in.ahCycle = false
	}
	in.prioZero = false
	switch {
	case a.Priority == packet.PriorityStop:
		in.logDetail("Backup received priority 0 advertisement")
		in.sands = now + in.SkewTime()
		in.prioZero = true
		in.nextMasterReason = MasterReasonPriority
		return
	case in.cfg.NoPreempt || a.Priority >= in.effPrio ||
		(in.cfg.PreemptDelay > 0 && (!in.preemptSet || in.preemptAt > now)):
		in.learnAdverInt(&a)
		in.sands = now + in.MasterDownInterval()
		in.masterAddr = p.Src
		in.masterPrio = a.Priority
		in.nextMasterReason = MasterReasonNoResponse
		if in.cfg.PreemptDelay > 0 {
			if a.Priority >= in.effPrio {
				if in.preemptSet {
					in.logDetail("stop preempt delay")
					in.preemptSet = false
				}
			} else if !in.preemptSet {
				in.logDetail("start preempt delay (%d.%06d)", in.cfg.PreemptDelay/time.Second,
					(in.cfg.PreemptDelay%time.Second)/time.Microsecond)
				in.preemptAt, in.preemptSet = now+in.cfg.PreemptDelay, true
			}
		}
		in.wantState = StateBackup
	default:
		// Preempt: a lower priority master is ignored, so our down timer
		// runs out and we take over (RFC 5798 §6.4.2 "Otherwise" branch).
		in.log("received lower priority (%d) advert from %s - discarding", a.Priority, p.Src)
		in.masterAddr = p.Src
		in.nextMasterReason = MasterReasonPreempted
	}
}

// addrCmp compares the sender's address with ours, like vrrp_saddr_cmp.
func (in *Instance) addrCmp(src netip.Addr) int {
	if !in.cfg.SrcAddr.IsValid() || src.Is4() != in.cfg.SrcAddr.Is4() {
		return 0
	}
	return src.Compare(in.cfg.SrcAddr)
}

// masterRx is vrrp_state_master_rx (RFC 5798 §6.4.3).
func (in *Instance) masterRx(now time.Duration, p *packet.Received) {
	a, ok := in.check(p, true)
	if !ok {
		// keepalived resets the advert timer after any packet; we only do
		// when an advert went out, so junk cannot silence a master.
		return
	}
	cmp := in.addrCmp(p.Src)
	sent := false
	if a.Priority == packet.PriorityStop ||
		(in.cfg.Model.HigherPrioSendAdvert && (a.Priority > in.effPrio || a.Priority == in.effPrio && cmp > 0)) {
		in.sendAdvert(in.effPrio)
		sent = true
		if a.Priority == packet.PriorityStop {
			// RFC 5798 §6.4.3: answer at once so the sender's backups see a master.
			in.logDetail("Master received priority 0 message")
			in.sands = now + in.cfg.AdvertInt
			return
		}
	}
	if a.Priority == in.effPrio {
		if cmp == 0 {
			in.log("WARNING - equal priority advert received from remote host with our IP address.")
		} else if in.effPrio == packet.PriorityOwner {
			in.log("CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority")
			in.effPrio, in.basePrio = packet.PriorityOwner-1, packet.PriorityOwner-1
		}
	}
	switch {
	case a.Priority < in.effPrio || a.Priority == in.effPrio && cmp < 0:
		suffix := ""
		if !in.cfg.Model.LowerPrioNoAdvert {
			suffix = ", forcing new election"
		}
		in.log("Received advert from %s with lower priority %d, ours %d%s", p.Src, a.Priority, in.effPrio, suffix)
		if in.cfg.AuthType == packet.AuthAH {
			in.log("IPSEC-AH : Syncing seq_num - Increment seq")
			in.ahSeq = p.AH.Seq + 1
			in.ahCycle = false
		}
		if !in.cfg.Model.LowerPrioNoAdvert {
			in.sendAdvert(in.effPrio)
			sent = true
		}
		if in.cfg.Model.GarpLowerPrioRepeat > 0 {
			in.sendGratuitous(in.cfg.Model.GarpLowerPrioRepeat)
			if in.cfg.Model.GarpLowerPrioDelay > 0 {
				in.garpLowerPrioAt = now + in.cfg.Model.GarpLowerPrioDelay
			}
		}
		if in.sync != nil {
			in.sync.lowerPrioGarp(now, in)
		}
		in.add(NotifyMasterRxLowerPri{From: p.Src})
	case a.Priority > in.effPrio || a.Priority == in.effPrio && cmp > 0:
		if a.Priority > in.effPrio {
			in.log("Master received advert from %s with higher priority %d, ours %d", p.Src, a.Priority, in.effPrio)
		} else {
			in.log("Master received advert from %s with same priority %d but higher IP address than ours", p.Src, a.Priority)
		}
		if in.cfg.AuthType == packet.AuthAH {
			in.ahCycle = false
		}
		in.learnAdverInt(&a)
		in.masterPrio = a.Priority
		in.masterAddr = p.Src
		in.wantState = StateBackup
		in.leaveMaster(now, false, ReasonHigherPriority)
		if in.sync != nil {
			in.sync.memberBackup(now, in)
		}
		return
	}
	if sent {
		in.sands = now + in.cfg.AdvertInt
	}
}

// initPending says whether the instance or a member of its sync group
// still waits for a first script result (num_script_init, num_member_init).
func (in *Instance) initPending() bool {
	if in.sync == nil {
		return len(in.initFaults) > 0
	}
	for _, m := range in.sync.members {
		if len(m.initFaults) > 0 {
			return true
		}
	}
	return false
}

// setInitFault records an InitFault; its clearing may release the
// instances held at start (process_script_update_priority's
// instance_left_init and try_up_instance).
func (in *Instance) setInitFault(now time.Duration, name string, fault bool) {
	if fault {
		in.initFaults[name] = true
		return
	}
	if !in.initFaults[name] {
		return
	}
	delete(in.initFaults, name)
	if in.initPending() {
		return
	}
	held := []*Instance{in}
	if in.sync != nil {
		if in.sync.numFault > 0 {
			return
		}
		held = in.sync.members
	}
	for _, m := range held {
		if m.initHeld && len(m.faults) == 0 {
			m.releaseInit(now)
		}
	}
}

// releaseInit is try_up_instance(vrrp, leaving_init): the wanted state is
// kept for an address owner that wants MASTER, else BACKUP.
func (in *Instance) releaseInit(now time.Duration) {
	in.initHeld = false
	if in.wantState != StateMaster || in.basePrio != packet.PriorityOwner {
		in.wantState = StateBackup
	}
	in.masterAdverInt = in.cfg.AdvertInt
	in.leaveFault(now, ReasonFaultCleared)
	if in.sync != nil {
		in.sync.memberReleased(now, in)
	}
}

// setFault is down_instance / try_up_instance.
func (in *Instance) setFault(now time.Duration, name string, fault bool) {
	if strings.HasPrefix(name, InitFault) {
		in.setInitFault(now, name, fault)
		return
	}
	if in.faults[name] == fault {
		return
	}
	wasFaulty := len(in.faults) > 0
	if fault && !wasFaulty && in.initHeld {
		// down_instance on an instance held at start: it was FAULT
		// already, silently; now its FAULT is notified (not logged).
		in.initHeld = false
		in.wantState = StateFault
		in.notify(now, StateInit, ReasonFault)
	}
	if fault {
		in.faults[name] = true
	} else {
		delete(in.faults, name)
	}
	if !in.started {
		if in.sync != nil && wasFaulty != (len(in.faults) > 0) {
			if fault {
				in.sync.numFault++
				in.sync.state = StateFault
			} else if in.sync.numFault--; in.sync.numFault == 0 {
				in.sync.state = StateBackup
			}
		}
		return
	}
	switch {
	case fault && !wasFaulty:
		in.goFault(now, ReasonFault)
		if in.sync != nil {
			in.sync.memberFault(now, in)
		}
	case !fault && len(in.faults) == 0:
		in.tryUp(now)
	}
}

func (in *Instance) goFault(now time.Duration, r Reason) {
	in.wantState = StateFault
	if in.state == StateMaster {
		in.leaveMaster(now, true, r)
		return
	}
	in.leaveFault(now, r)
}

// tryUp is try_up_instance: after a fault keepalived goes to BACKUP even
// for the address owner (wantstate was set to FAULT), so the owner waits for
// the down timer unless nobody else is master.
func (in *Instance) tryUp(now time.Duration) {
	in.wantState = StateBackup
	in.masterAdverInt = in.cfg.AdvertInt
	if in.sync != nil && !in.sync.memberUp(now, in) {
		return
	}
	in.leaveFault(now, ReasonFaultCleared)
	if in.state == StateBackup && len(in.cfg.UnicastPeers) > 0 && in.cfg.SrcAddr.IsValid() {
		// Refresh the master's neighbour cache so its unicast adverts reach us.
		in.add(SendGratuitous{Addrs: []netip.Addr{in.cfg.SrcAddr}, Repeat: 1})
	}
}

// leaveFault is vrrp_state_leave_fault: from FAULT/INIT/BACKUP to wantState.
func (in *Instance) leaveFault(now time.Duration, r Reason) {
	from := in.state
	if in.wantState == StateMaster {
		in.gotoMaster(now, from, r)
		return
	}
	if in.state != in.wantState {
		if in.wantState == StateBackup {
			in.log("Entering BACKUP STATE")
		} else {
			in.log("Entering FAULT STATE")
		}
	}
	if in.wantState == StateFault && in.state == StateMaster {
		in.sendAdvert(packet.PriorityStop)
		in.restoreInterface(false)
	}
	in.state = in.wantState
	if from != in.state {
		in.notify(now, from, r)
	}
	if in.state == StateBackup {
		in.preemptSet = false
	}
	in.masterAdverInt = in.cfg.AdvertInt
	in.resetSands(now)
}

// setWeight is vrrp_set_effective_priority.
func (in *Instance) setWeight(now time.Duration, w int) {
	in.weight = w
	if in.basePrio == packet.PriorityOwner {
		return
	}
	total := int(in.basePrio) + w
	np := uint8(max(1, min(total, packet.PriorityOwner-1)))
	if np == in.effPrio {
		return
	}
	in.log("Changing effective priority from %d to %d", in.effPrio, np)
	old := in.MasterDownInterval()
	in.effPrio = np
	if in.state == StateBackup && in.sands != never {
		// keepalived shifts the running timer by the change in its
		// down interval rather than restarting it.
		in.sands += in.MasterDownInterval() - old
	}
	if in.cfg.Model.NotifyPriorityChanges {
		in.add(NotifyPriority{State: in.state, Priority: np})
	}
}

// shutdown is the SIGTERM path (restore_vrrp_interfaces + notify_shutdown)
// or removal by reload (clear_diff_vrrp).
func (in *Instance) shutdown(now time.Duration, deleted bool) {
	from := in.state
	if in.state == StateMaster {
		// RFC 5798 §6.4.3 "If a Shutdown event is received": priority 0.
		in.restoreInterface(true)
		in.stats.ReleasedMaster++
	}
	in.state = StateStop
	r := ReasonShutdown
	if deleted {
		in.state, r = StateDeleted, ReasonDeleted
	}
	in.notify(now, from, r)
	in.sands, in.garpDelayAt, in.garpLowerPrioAt = never, never, never
}
