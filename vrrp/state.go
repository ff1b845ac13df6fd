package vrrp

import "fmt"

// State is a VRRP instance state. STOP and DELETED are keepalived's notify
// states: an instance enters them when the daemon stops or a reload removes it.
type State uint8

// States, in keepalived's order.
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
	StateDeleted
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	case StateStop:
		return "STOP"
	case StateDeleted:
		return "DELETED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Reason says why a transition happened; it travels in Notify.
type Reason uint8

// Transition reasons.
const (
	ReasonInit           Reason = iota // leaving INIT at start
	ReasonMasterDown                   // Master_Down_Timer expired
	ReasonPriorityZero                 // master sent priority 0 (fast takeover)
	ReasonOwner                        // address owner (priority 255) takes over at once
	ReasonHigherPriority               // master saw a higher priority (or equal, higher address)
	ReasonFault                        // interface or tracked object down
	ReasonFaultCleared                 // all faults gone
	ReasonSync                         // moved by its sync group
	ReasonShutdown                     // daemon stopping
	ReasonDeleted                      // removed by a reload
	ReasonRemoved                      // a VIP, route or rule removed under the MASTER (SetBackup)
)

var reasonNames = [...]string{
	ReasonInit:           "init",
	ReasonMasterDown:     "master-down",
	ReasonPriorityZero:   "priority-zero",
	ReasonOwner:          "owner",
	ReasonHigherPriority: "higher-priority",
	ReasonFault:          "fault",
	ReasonFaultCleared:   "fault-cleared",
	ReasonSync:           "sync",
	ReasonShutdown:       "shutdown",
	ReasonDeleted:        "deleted",
	ReasonRemoved:        "removed",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}
