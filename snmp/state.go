// Package snmp serves keepalived's MIBs over AgentX: KEEPALIVED-MIB (the
// global scalars, the VRRP subtree and the checker subtree), VRRP-MIB
// (RFC 2787) and VRRPV3-MIB (RFC 6527), with the OIDs, index schemes,
// value encodings and traps of keepalived 2.2.7 (core/snmp.c,
// vrrp/vrrp_snmp.c, check/check_snmp.c).
//
// The package knows no engine: the daemon fills a State (plain data) from
// the config and the engines' Status() snapshots, and Tables turns it into
// the sorted OID tables the agent serves.
package snmp

import (
	"net/netip"
	"strings"
	"time"
)

// Switches are keepalived's enable_snmp_* keywords (and -x, which sets
// the four MIB switches) and enable_traps.
type Switches struct {
	VRRP, Checker, RFCv2, RFCv3 bool
	Traps                       bool
}

// State is everything the MIBs show at one moment.
type State struct {
	Global Global
	// VRRP is nil when keepalived would run no VRRP process (no
	// vrrp_instance); Checker is nil when it would run no checker process
	// (no virtual_server).
	VRRP    *VRRP
	Checker *Checker
	// Now is the time values like vrrpOperVirtualRouterUpTime count to.
	Now time.Time
}

// Global holds KEEPALIVED-MIB's scalars (keepalived's global_data).
type Global struct {
	Version           string // "Keepalived v2.2.7 (01/16,2022)"
	RouterID          string
	SMTPServer        netip.Addr // invalid when no smtp_server
	SMTPPort          uint16     // 0 when no smtp_server
	SMTPTimeout       time.Duration
	EmailFrom         string // "" leaves emailFrom out
	Emails            []string
	EmailFaults       bool  // !no_email_faults
	SMTPAlert         *bool // nil: not configured (3)
	SMTPAlertVRRP     *bool
	SMTPAlertChecker  *bool
	LinkbeatPolling   bool
	LVSFlush          bool
	LVSFlushOnStop    string // "", "all" (or "full"), "vs"
	NetNamespace      string
	DBus              bool
	DynamicInterfaces bool
	LVSSyncDaemon     *SyncDaemon
	LVSTimeouts       LVSTimeouts
}

// SyncDaemon is lvs_sync_daemon.
type SyncDaemon struct {
	Interface string
	Instance  string
	SyncID    uint32
	MaxLen    uint32
	Port      uint32
	TTL       uint32
	Group     netip.Addr
}

// LVSTimeouts is lvs_timeouts in seconds; zero leaves one out.
type LVSTimeouts struct{ TCP, TCPFin, UDP int32 }

// VRRPState is an instance or sync group state, keepalived's numbering.
type VRRPState int

// keepalived's VRRP_STATE_* values.
const (
	StateInit    VRRPState = 0
	StateBackup  VRRPState = 1
	StateMaster  VRRPState = 2
	StateFault   VRRPState = 3
	StateDeleted VRRPState = 97
	StateStop    VRRPState = 98
)

// VRRP is what the VRRP process knows.
type VRRP struct {
	Instances       []Instance
	SyncGroups      []SyncGroup
	Scripts         []Script
	Files           []TrackFile
	BFDs            []TrackBFD
	StaticAddresses []Address
	StaticRoutes    []Route
	StaticRules     []Rule
	// Start is when the VRRP side started SNMP (snmp_vrrp_start_time).
	Start time.Time
	// LVSSyncInstance names the instance lvs_sync_daemon follows, and
	// LVSSyncInterface its interface.
	LVSSyncInstance  string
	LVSSyncInterface string
}

// Tracked is one entry of a track_* list: the tracked object's name and
// the weight it carries for the tracker.
type Tracked struct {
	Name    string
	Weight  int32
	Reverse bool
}

// Instance is one vrrp_instance.
type Instance struct {
	Name              string
	VRID              uint8
	IPv6              bool
	Version           int // 2 or 3
	State             VRRPState
	InitialState      VRRPState // the configured state
	WantedState       VRRPState
	BasePriority      int32
	EffectivePriority int32
	VIPsSet           bool
	Interface         string // "" when the instance has no interface
	// IfIndex is the base interface's index (a VMAC's parent's), the
	// RFC MIBs' first index.
	IfIndex int
	// HWAddr is the interface's hardware address (the VMAC's when there
	// is one), vrrpOperVirtualMacAddr.
	HWAddr []byte
	// PrimaryIP is the base interface's address of the instance's family.
	PrimaryIP netip.Addr
	// SourceIP is the source address of the instance's adverts.
	SourceIP netip.Addr
	// MasterIP is the source of the last advert received (unspecified
	// until one is).
	MasterIP           netip.Addr
	TrackInterfaces    []Tracked
	TrackScripts       []Tracked
	TrackFiles         []Tracked
	TrackBFDs          []Tracked
	AdvertInt          time.Duration
	Preempt            bool
	PreemptDelay       time.Duration
	AuthType           int // 0 none, 1 PASS, 2 AH
	SyncGroup          string
	GarpDelay          time.Duration
	SMTPAlert          bool
	NotifyExec         bool
	NotifyMaster       []string // argv; nil when not configured
	NotifyBackup       []string
	NotifyFault        []string
	NotifyStop         []string
	Notify             []string
	NotifyMasterRxLow  []string
	NotifyDeleted      []string
	NotifyDeletedState bool // notify_deleted
	Accept             bool
	PromoteSecondaries bool
	LinkbeatPolling    bool
	Unicast            bool
	McastGroup         netip.Addr
	VIPs               []Address
	EVIPs              []Address
	Routes             []Route
	Rules              []Rule
	Stats              Stats
}

// Stats are an instance's counters (keepalived's vrrp_stats).
type Stats struct {
	BecomeMaster, AdvertRcvd, AdvertIntervalErr, AuthFailure, TTLErr uint64
	PriZeroRcvd, PriZeroSent, InvalidTypeRcvd, AddrListErr           uint64
	InvalidAuthType, AuthTypeMismatch, PacketLenErr                  uint64
	ChecksumErr, VersionErr, VRIDErr                                 uint64
	MasterReason                                                     uint32 // RFC 6527 vrrpStatsNewMasterReason
	ProtoErrReason                                                   uint32 // RFC 6527 vrrpStatsProtoErrReason
	// Uptime is when the instance last left INIT or FAULT (stats->uptime).
	Uptime time.Time
}

// Address is a VIP, eVIP or static address.
type Address struct {
	Prefix    netip.Prefix
	Broadcast netip.Addr
	Peer      netip.Addr
	Scope     int // Linux scope: 0 global, 200 site, 253 link, 254 host, 255 nowhere
	IfIndex   int
	IfName    string
	Label     string
	Set       bool
}

// Route is a virtual or static route (the fields the route table shows).
type Route struct {
	Dst      netip.Prefix
	Src      netip.Prefix // "from"
	Via      netip.Addr
	PrefSrc  netip.Addr
	Metric   uint32
	Scope    int
	Type     int // RTN_* (1 unicast, 6 blackhole, ...)
	IfIndex  int
	IfName   string
	Table    uint32
	Set      bool
	TOS      *uint32
	Protocol *uint32
	MTU      *uint32
	MTULock  bool
	NextHops []NextHop
}

// NextHop is one nexthop of a multipath route.
type NextHop struct {
	Addr    netip.Addr
	IfIndex int
	IfName  string
	Weight  *int32 // weight as configured (keepalived keeps it minus one and shows it plus one)
	OnLink  bool
}

// Rule is a virtual or static rule.
type Rule struct {
	From, To   netip.Prefix
	Action     uint32 // FR_ACT_*: 1 to table, 2 goto, ...
	Table      uint32
	GotoTarget uint32
	Preference uint32
	Set        bool
	Invert     bool
	TOS        uint32
	FwMark     *uint32
	FwMask     *uint32
	IIF, OIF   string
}

// SyncGroup is one vrrp_sync_group.
type SyncGroup struct {
	Name            string
	State           VRRPState
	TrackingWeight  bool
	SMTPAlert       bool
	NotifyExec      bool
	NotifyMaster    []string
	NotifyBackup    []string
	NotifyFault     []string
	NotifyStop      []string
	Notify          []string
	Members         []string
	TrackInterfaces []Tracked
	TrackScripts    []Tracked
	TrackFiles      []Tracked
	TrackBFDs       []Tracked
}

// ScriptResult is vrrpScriptResult.
type ScriptResult int

// vrrpScriptResult values.
const (
	ScriptInit   ScriptResult = 1
	ScriptBad    ScriptResult = 2
	ScriptGood   ScriptResult = 3
	ScriptFailed ScriptResult = 5
)

// Script is one vrrp_script.
type Script struct {
	Name     string
	Command  []string
	Interval time.Duration
	Weight   int32
	Reverse  bool
	Result   ScriptResult
	Rise     int32
	Fall     int32
}

// TrackFile is one track_file.
type TrackFile struct {
	Name    string
	Path    string
	Status  int32 // the file's last value
	Weight  int32
	Reverse bool
}

// TrackBFD is one vrrp-side tracked bfd_instance.
type TrackBFD struct {
	Name    string
	Up      bool
	Weight  int32
	Reverse bool
}

// CmdString renders a script's argv as keepalived's cmd_str_r does: each
// word in single quotes, except a first word starting with < or >.
func CmdString(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 || a == "" || (a[0] != '<' && a[0] != '>') {
			b.WriteString("'" + a + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}
