package vrrp

import (
	"errors"
	"fmt"
	"time"

	"keepalived-go/vrrp/packet"
)

// SyncGroup is a vrrp_sync_group: its members change state together
// (keepalived's vrrp_sync.c and the transition matrix in vrrp_scheduler.c).
// Once an instance is in a group, feed all its events through the group.
type SyncGroup struct {
	name     string
	members  []*Instance
	state    State
	numFault int  // members with faults of their own
	syncing  bool // inside a sync pass: members do not trigger another
	started  bool
	out      []GroupAction
}

// GroupAction is an action of one member (Member indexes the slice given to
// NewSyncGroup) or of the group itself (Member -1, only GroupNotify).
type GroupAction struct {
	Member int
	Action Action
}

// GroupNotify reports a sync group state change (notify scripts of the group).
type GroupNotify struct {
	Group string
	State State
}

func (GroupNotify) isAction() {}

// ErrSyncGroup is returned for an unusable group.
var ErrSyncGroup = errors.New("vrrp: invalid sync group")

// NewSyncGroup ties members (not yet started) together.
func NewSyncGroup(name string, members ...*Instance) (*SyncGroup, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: %s has no members", ErrSyncGroup, name)
	}
	g := &SyncGroup{name: name, members: members, state: StateMaster}
	for i, m := range members {
		if m.sync != nil || m.started {
			return nil, fmt.Errorf("%w: %s: instance %s is already in a group or started", ErrSyncGroup, name, m.cfg.Name)
		}
		m.sync = g
		idx := i
		m.emit = func(a Action) { g.out = append(g.out, GroupAction{Member: idx, Action: a}) }
		// The group starts MASTER only if every member is an owner that
		// wants MASTER (vrrp_sync_set_group).
		if !(m.wantState == StateMaster && m.basePrio == packet.PriorityOwner) {
			g.state = StateBackup
		}
		if len(m.faults) > 0 {
			g.numFault++
		}
	}
	if g.numFault > 0 {
		g.state = StateFault
	}
	return g, nil
}

// State is the group state.
func (g *SyncGroup) State() State { return g.state }

// Members returns the instances in group order.
func (g *SyncGroup) Members() []*Instance { return g.members }

// Step feeds ev to member i and returns every action that follows, across
// the group, in order.
func (g *SyncGroup) Step(i int, ev Event) []GroupAction {
	g.out = nil
	if _, ok := ev.(Start); ok && !g.started {
		// vrrp_init_state notifies groups starting in FAULT or BACKUP.
		g.started = true
		if g.state == StateFault || g.state == StateBackup {
			g.out = append(g.out, GroupAction{-1, GroupNotify{g.name, g.state}})
		}
	}
	g.members[i].step(ev)
	out := g.out
	g.out = nil
	return out
}

// NextDeadline is the earliest deadline of any member.
func (g *SyncGroup) NextDeadline() (time.Duration, bool) {
	at := never
	for _, m := range g.members {
		if d, ok := m.NextDeadline(); ok {
			at = min(at, d)
		}
	}
	return at, at != never
}

func (g *SyncGroup) log(format string, a ...any) {
	g.out = append(g.out, GroupAction{-1, Log{Text: fmt.Sprintf("VRRP_Group(%s) "+format, append([]any{g.name}, a...)...)}})
}

func (g *SyncGroup) setState(s State) {
	g.state = s
	g.out = append(g.out, GroupAction{-1, GroupNotify{g.name, s}})
}

func (in *Instance) canGotoMaster(now time.Duration) bool {
	return in.sync == nil || in.sync.canGotoMaster(now, in)
}

// canGotoMaster is vrrp_sync_can_goto_master: only when every other member
// wants MASTER too, which prefers BACKUP to avoid thrashing.
func (g *SyncGroup) canGotoMaster(now time.Duration, in *Instance) bool {
	if g.state == StateMaster {
		return true
	}
	for _, m := range g.members {
		if m != in && m.wantState != StateMaster {
			in.sands = now + in.MasterDownInterval()
			return false
		}
	}
	return true
}

// memberMaster is vrrp_sync_master, after in became MASTER.
func (g *SyncGroup) memberMaster(now time.Duration, in *Instance) {
	if g.syncing || g.state == StateMaster || !g.canGotoMaster(now, in) {
		return
	}
	g.log("Syncing instances to MASTER state")
	g.syncing = true
	for _, m := range g.members {
		if m != in && m.state != StateMaster {
			m.wantState = StateMaster
			from := m.state
			m.gotoMaster(now, from, ReasonSync)
		}
	}
	g.syncing = false
	g.setState(StateMaster)
}

// memberBackup is vrrp_sync_backup, after in left MASTER for BACKUP.
func (g *SyncGroup) memberBackup(now time.Duration, in *Instance) {
	if g.syncing || g.state == StateBackup {
		return
	}
	g.log("Syncing instances to BACKUP state")
	g.syncing = true
	for _, m := range g.members {
		if m == in || m.state == StateBackup {
			continue
		}
		m.wantState = StateBackup
		if m.state == StateFault || m.state == StateInit {
			m.leaveFault(now, ReasonSync)
		} else {
			m.leaveMaster(now, false, ReasonSync)
		}
	}
	g.syncing = false
	g.setState(StateBackup)
}

// memberFault is down_instance's group part and vrrp_sync_fault.
func (g *SyncGroup) memberFault(now time.Duration, in *Instance) {
	g.numFault++
	if g.numFault > 1 || g.state == StateFault {
		return
	}
	g.log("Syncing instances to FAULT state")
	g.syncing = true
	for _, m := range g.members {
		if m == in || m.state == StateFault {
			continue
		}
		m.wantState = StateFault
		if m.state == StateMaster {
			m.leaveMaster(now, false, ReasonSync)
		} else {
			// keepalived sets FAULT before vrrp_state_leave_fault, so no
			// "Entering FAULT STATE" line, only the notification.
			from := m.state
			m.state = StateFault
			m.masterAdverInt = m.cfg.AdvertInt
			m.resetSands(now)
			m.notify(now, from, ReasonSync)
		}
	}
	g.syncing = false
	g.setState(StateFault)
}

// memberUp is try_up_instance's group part: a member leaves FAULT only when
// no member has a fault of its own any more; then the whole group follows.
func (g *SyncGroup) memberUp(now time.Duration, in *Instance) bool {
	g.numFault--
	if g.numFault > 0 {
		return false
	}
	in.leaveFault(now, ReasonFaultCleared)
	g.state = StateInit // force the sync pass below
	if in.state == StateMaster {
		g.memberMaster(now, in)
	} else {
		g.memberBackup(now, in)
	}
	return false
}

// memberReleased syncs the group after a member held at start came up
// (try_up_instance's group part, without a fault to count down).
func (g *SyncGroup) memberReleased(now time.Duration, in *Instance) {
	g.state = StateInit // force the sync pass below
	if in.state == StateMaster {
		g.memberMaster(now, in)
	} else {
		g.memberBackup(now, in)
	}
}

// lowerPrioGarp: a master that heard a lower priority advert also sends
// the lower-priority GARPs of its group peers.
func (g *SyncGroup) lowerPrioGarp(now time.Duration, in *Instance) {
	for _, m := range g.members {
		if m == in || m.cfg.Model.GarpLowerPrioRepeat <= 0 {
			continue
		}
		m.sendGratuitous(m.cfg.Model.GarpLowerPrioRepeat)
		if m.cfg.Model.GarpLowerPrioDelay > 0 {
			m.garpLowerPrioAt = now + m.cfg.Model.GarpLowerPrioDelay
		}
	}
}
