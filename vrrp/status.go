package vrrp

import (
	"net/netip"
	"sort"
	"time"
)

// MasterReason is why an instance last became MASTER, as RFC 6527's
// vrrpv3StatisticsNewMasterReason and keepalived's master_reason have it.
type MasterReason uint8

// The reasons, numbered as in RFC 6527.
const (
	MasterReasonNotMaster  MasterReason = iota // never became MASTER
	MasterReasonPriority                       // the master sent priority 0
	MasterReasonPreempted                      // a lower priority master was preempted
	MasterReasonNoResponse                     // the master went silent
)

func (r MasterReason) String() string {
	switch r {
	case MasterReasonPriority:
		return "priority"
	case MasterReasonPreempted:
		return "preempted"
	case MasterReasonNoResponse:
		return "masterNoResponse"
	}
	return "notMaster"
}

// ProtoErrReason is the last protocol error an instance saw, RFC 6527's
// vrrpv3StatisticsProtoErrReason (keepalived's proto_err_reason).
type ProtoErrReason uint8

// The reasons, numbered as in RFC 6527. keepalived never reports vrIdError
// for an instance.
const (
	ProtoErrNone     ProtoErrReason = iota // noError
	ProtoErrTTL                            // ipTtlError
	ProtoErrVersion                        // versionError
	ProtoErrChecksum                       // checksumError
)

// Status is what an instance knows at one instant, for the shell's status
// reports (dumps, metrics, SNMP): all of it the FSM's own state, none of
// it recovered from actions or packets.
type Status struct {
	State, WantState State
	// BasePriority is the configured priority (lowered from 255 when
	// another owner is seen); EffectivePriority the one advertised;
	// Weight the sum of the tracking weights.
	BasePriority, EffectivePriority uint8
	Weight                          int
	// MasterAddr is the last master heard while BACKUP (keepalived's
	// master_saddr, also set by an ignored lower priority advert);
	// MasterPriority and MasterAdvertInt come from the last advert
	// accepted. MasterAdvertInt is the configured interval until then,
	// and again while MASTER.
	MasterAddr      netip.Addr
	MasterPriority  uint8
	MasterAdvertInt time.Duration
	// VIPSet: the instance holds its addresses installed.
	VIPSet bool
	// LastTransition is when the state last changed (the events' clock;
	// 0 before the first), LastReason why.
	LastTransition time.Duration
	LastReason     Reason
	// MasterReason is why it last became MASTER; ProtoErrReason the last
	// protocol error (TTL, version, checksum) an advert had.
	MasterReason   MasterReason
	ProtoErrReason ProtoErrReason
	// Deadline is when the next Tick is due, HasDeadline whether one is.
	Deadline    time.Duration
	HasDeadline bool
	// MasterDownInterval for the current priority.
	MasterDownInterval time.Duration
	// Faults are the names of what holds the instance in FAULT, sorted.
	Faults []string
	Stats  Stats
}

// Status returns the instance's status; the caller owns the copy.
func (in *Instance) Status() Status {
	st := Status{
		State: in.state, WantState: in.wantState,
		BasePriority: in.basePrio, EffectivePriority: in.effPrio, Weight: in.weight,
		MasterAddr: in.masterAddr, MasterPriority: in.masterPrio, MasterAdvertInt: in.masterAdverInt,
		VIPSet:         in.vipSet,
		LastTransition: in.lastTransition, LastReason: in.lastReason, MasterReason: in.masterReason, ProtoErrReason: in.protoErr,
		MasterDownInterval: in.MasterDownInterval(),
		Stats:              in.Stats(),
	}
	st.Deadline, st.HasDeadline = in.NextDeadline()
	for k := range in.faults {
		st.Faults = append(st.Faults, k)
	}
	sort.Strings(st.Faults)
	return st
}
