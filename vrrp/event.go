package vrrp

import (
	"net/netip"
	"time"

	"keepalived-go/vrrp/packet"
)

// Event is an input to Instance.Step. Every event carries Now, a reading of
// a monotonic clock (any epoch, the same for all events of an instance).
type Event interface{ now() time.Duration }

// Start leaves INIT. Send IfaceDown/TrackFault first for anything already
// down. ResidualVIPs says the interface still carries our VIPs (a previous
// run died as MASTER): they are removed first, as keepalived's
// vrrp_restore_interfaces_startup does.
//
// DelayUntil is global_defs vrrp_startup_delay's end (0: none): until
// then a BACKUP's master down timer runs from it, not from now, as
// keepalived's vrrp_init_instance_sands does with vrrp_delayed_start_time.
type Start struct {
	Now          time.Duration
	ResidualVIPs bool
	DelayUntil   time.Duration
}

// Tick tells the instance the time; send one at or after NextDeadline.
type Tick struct{ Now time.Duration }

// AdvertReceived carries one framed packet (packet.Parse4/Parse6) whose
// VRID the shell has matched to this instance.
type AdvertReceived struct {
	Now    time.Duration
	Packet *packet.Received
}

// IfaceDown and IfaceUp report the instance's interface link state.
type IfaceDown struct{ Now time.Duration }
type IfaceUp struct{ Now time.Duration }

// TrackFault reports a tracked object without weight (track_script,
// track_interface, track_file, ... with weight 0) going down or up. Any
// object down puts the instance in FAULT.
//
// A Name starting with InitFault is keepalived's num_script_init: an
// unweighted track_script with no result yet at start. Reported before
// Start, it holds the instance (and its sync group) in FAULT without a
// log line or notification until it clears, when the instance comes up as
// from a fault; a real fault reported meanwhile is logged and notified as
// FAULT. Reported after Start (a reload's new script) it has no effect.
type TrackFault struct {
	Now   time.Duration
	Name  string
	Fault bool
}

// PriorityChanged gives the current sum of tracking weights applied to the
// base priority. The effective priority is base+Weight clamped to 1..254;
// an address owner (255) is never changed (keepalived
// vrrp_set_effective_priority).
type PriorityChanged struct {
	Now    time.Duration
	Weight int
}

// Shutdown stops the instance: STOP, or DELETED when a reload removed it.
type Shutdown struct {
	Now     time.Duration
	Deleted bool
}

// AddressesChanged replaces the instance's virtual_ipaddress and
// virtual_ipaddress_excluded lists, as a reload that changed nothing else
// does. The state is kept: a MASTER adds and removes only the difference
// and announces the new addresses, so existing VIPs never flap.
type AddressesChanged struct {
	Now           time.Duration
	VIPs, Exclude []netip.Prefix
}

// SetBackup is keepalived's set_vrrp_backup: one of a MASTER's VIPs,
// eVIPs, tracked virtual routes or rules was removed under it. It leaves
// MASTER for BACKUP (priority 0 sent, addresses, routes and rules
// removed) with a master down timer of only Skew_Time, so that it soon
// takes over again and puts everything back; the MASTER members of its
// sync group do the same. An instance that is not MASTER ignores it.
type SetBackup struct{ Now time.Duration }

// SetSource gives the instance a new source address for its adverts
// (the interface's primary address changed, or came back after it was
// removed); an invalid one leaves the address as it was.
type SetSource struct {
	Now  time.Duration
	Addr netip.Addr
}

func (e Start) now() time.Duration     { return e.Now }
func (e SetBackup) now() time.Duration { return e.Now }
func (e SetSource) now() time.Duration { return e.Now }

// SetBasePriority changes the base priority at run time, as an SNMP Set of
// vrrpInstanceBasePriority does (keepalived's vrrp_snmp_instance_priority):
// the tracking weights stay and the effective priority follows them; an
// address owner's (255) effective priority does not move. 0 is ignored.
type SetBasePriority struct {
	Now      time.Duration
	Priority uint8
}

// SetPreempt turns preemption on or off at run time (an SNMP Set of
// vrrpInstancePreempt, vrrp_snmp_instance_preempt).
type SetPreempt struct {
	Now     time.Duration
	Preempt bool
}

func (e SetBasePriority) now() time.Duration  { return e.Now }
func (e SetPreempt) now() time.Duration       { return e.Now }
func (e AddressesChanged) now() time.Duration { return e.Now }
func (e Tick) now() time.Duration             { return e.Now }
func (e AdvertReceived) now() time.Duration   { return e.Now }
func (e IfaceDown) now() time.Duration        { return e.Now }
func (e IfaceUp) now() time.Duration          { return e.Now }

// InitFault prefixes TrackFault names that stand for a result not known yet.
const InitFault = "init:"

func (e TrackFault) now() time.Duration      { return e.Now }
func (e PriorityChanged) now() time.Duration { return e.Now }
func (e Shutdown) now() time.Duration        { return e.Now }
