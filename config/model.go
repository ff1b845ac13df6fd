// Package config is the validated configuration model with keepalived's
// defaults applied. It is the only thing the engines (vrrp, check, lvs,
// notify) share: they never see the parser's AST.
package config

import (
	"fmt"
	"net/netip"
	"time"

	"keepalived-go/internal/script"
)

// Pos is where a setting came from.
type Pos struct {
	File string
	Line int32
	Col  int32
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Setting is a keyword kept verbatim: parsed and validated for shape, but not
// (yet) acted upon by any engine. The daemon reports each such keyword once.
type Setting struct {
	Pos     Pos
	Block   string
	Keyword string
	Args    []string
}

// Config is a whole keepalived.conf.
type Config struct {
	Files           []string `dump:"-"`
	Global          Global
	StaticAddresses []VirtualAddress
	StaticRoutes    []Route
	StaticRules     []Rule
	Scripts         []*VRRPScript
	TrackFiles      []*TrackFile
	TrackProcesses  []*TrackProcess
	SyncGroups      []*SyncGroup
	Instances       []*VRRPInstance
	GarpGroups      []*GarpGroup
	TrackGroups     []*StaticTrackGroup
	UpDownDelays    []UpDownDelay
	LinkbeatIfaces  []string
	ServerGroups    []*VirtualServerGroup
	VirtualServers  []*VirtualServer
	// Checker is the checker process's settings outside virtual servers.
	Checker      CheckerSettings
	BFDInstances []*BFDInstance
	// VRRPTrackBFDs are the bfd_instances as the VRRP process keeps them
	// (vrrp_data->vrrp_track_bfds: the blocks whose events go to VRRP,
	// whatever the BFD process made of them), with the block's weight,
	// the default of track_bfd entries.
	VRRPTrackBFDs []TrackRef
	// Other holds top-level and global keywords parsed but not implemented.
	Other []Setting
	// KeywordPos is where each keyword, named by its block path and
	// itself ("global_defs startup_script"), first appears.
	KeywordPos map[string]Pos `dump:"-" json:"-"`
	// Recovered is set when the file was read with layout recovery (a
	// flattened configuration; see parser/recover.go).
	Recovered bool
	// VRRPFailed is set when keepalived's VRRP process would stop on this
	// configuration (its checks after the read failed): no instance runs.
	VRRPFailed bool
	// ScriptUser is who runs scripts that name no user (nil when no user
	// can run them), as the load or ResolveScripts decided.
	ScriptUser *script.DefaultUser `dump:"-" json:"-"`
	// InsecureScripts are the scripts keepalived's security pass found a
	// non-root user could change, kept or dropped (the daemon refuses them
	// under enable_script_security).
	InsecureScripts []*Script `dump:"-" json:"-"`
	// LoadLog are the lines keepalived logs (log_message, not a config
	// error) while it reads the file; the daemon logs them, -t does not.
	LoadLog []string `dump:"-" json:"-"`
	// loaded: read by Load, which resolved its scripts as keepalived does.
	loaded bool
	// Monitor is which route and rule changes keepalived asks netlink for
	// (set_extra_netlink_monitoring): those of the families of its tracked
	// virtual routes and rules and of static ones with a track_group.
	Monitor RouteMonitor
}

// Script is a command as keepalived reads it (notify_script_init): the
// keyword's line split with quotes and escapes, its command line split again
// into Args, and the user and group resolved when the file was read.
type Script struct {
	Pos Pos
	// Raw is the text after the keyword as written (quotes and escapes
	// intact).
	Raw string `dump:"-"`
	// Command is the command line (the keyword's first argument, unquoted).
	Command string
	// Args is Command split into the argv keepalived executes.
	Args  []string
	User  string // optional "username [groupname]" after the command
	Group string
	// UID and GID are what the script runs as: the user given, or
	// keepalived's default script user (keepalived_script, else root).
	UID, GID int  `dump:"-"`
	UserSet  bool `dump:"-"`
	// Flags are keepalived's SC_* results of the security pass.
	Flags uint `dump:"-"`
	// Cmd is how the script runs: the load's verdict (argv after the
	// security pass, uid, gid, keepalived's messages), or ResolveScripts'
	// for a Script built in code. Read it through Resolved.
	Cmd *script.Resolved `dump:"-" json:"-"`
}

// Global is global_defs and the other parent-process keywords.
type Global struct {
	RouterID              string
	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string // as written
	SMTPServerAddr        netip.Addr
	SMTPPort              int
	SMTPHeloName          string
	SMTPConnectTimeout    time.Duration
	SMTPAlert             *bool
	SMTPAlertVRRP         *bool
	SMTPAlertChecker      *bool
	NoEmailFaults         bool
	NoCheckerEmails       bool
	CheckerLogAllFailures bool
	ScriptUser            string
	ScriptGroup           string
	EnableScriptSecurity  bool
	DefaultInterface      string
	// DefaultInterfaceResolved: the VRRP process looked the default
	// interface up (get_default_if, for a static address without dev);
	// until then its dump shows DFLT_INT.
	DefaultInterfaceResolved bool `dump:"-"`
	DynamicInterfaces        bool
	AllowIfChanges           bool
	DisableLocalIGMP         bool
	LinkbeatUsePolling       bool
	MaxAutoPriority          int
	MinAutoPriorityDelay     time.Duration
	ProcessName              string
	VRRPProcessName          string
	CheckerProcessName       string
	BFDProcessName           string
	VRRPProcess              ProcessSettings
	CheckerProcess           ProcessSettings
	BFDProcess               ProcessSettings
	NetNamespace             string
	// UsePidDir: pid files go in /run/keepalived (use_pid_dir, and
	// net_namespace or instance set it as keepalived's handlers do).
	UsePidDir           bool
	NetNamespaceIPVS    *string
	NamespaceWithIPSets bool
	InstanceName        string
	ChildWaitTime       time.Duration
	VRRPMcastGroup4     netip.Addr
	VRRPMcastGroup6     netip.Addr
	VRRPVersion         int
	VRRPStrict          bool
	NFTables            string // table name ("" = no nftables)
	// NFTablesDefaulted: the VRRP process took the default table name
	// (use_vmac, no_accept or strict mode without one configured); the
	// parent process has none.
	NFTablesDefaulted           bool
	NFTablesPriority            int
	NFTablesIfindex             bool
	NFTablesCounters            bool
	NFTablesIPVS                string
	NFTablesIPVSPriority        int
	NFTablesIPVSStartFWMark     uint32
	VRRPCheckUnicastSrc         bool
	VRRPSkipCheckAdvAddr        bool
	GarpMasterDelay             time.Duration
	GarpMasterRepeat            int
	GarpMasterRefresh           time.Duration
	GarpMasterRefreshRep        int
	GarpLowerPrioDelay          *time.Duration
	GarpLowerPrioRepeat         *int
	GarpInterval                time.Duration
	GnaInterval                 time.Duration
	GarpExtraIf                 time.Duration
	GarpExtraIfAll              bool
	DownTimerAdverts            int
	LowerPrioNoAdvert           bool
	HigherPrioSendAdvert        bool
	VRRPRxBufsPolicy            RxBufsPolicy
	VRRPRxBufsMultiples         int
	VRRPStartupDelay            time.Duration
	LogUnknownVRIDs             bool
	VMACPrefix                  string
	VMACAddrPrefix              string
	NetlinkBufs                 NetlinkBufs
	LVSSyncDaemon               *SyncDaemon
	LVSFlush                    bool
	LVSFlushOnStop              string // "" | FULL | VS
	LVSTimeouts                 LVSTimeouts
	RSInitNotifies              bool
	NotifyFIFO                  FIFO
	VRRPNotifyFIFO              FIFO
	LVSNotifyFIFO               FIFO
	VRRPNotifyPriorityChanges   bool
	FIFOWriteVRRPStatesOnReload bool
	StartupScript               *Script
	StartupScriptTimeout        time.Duration
	ShutdownScript              *Script
	ShutdownScriptTimeout       time.Duration
	SNMPSocket                  string
	EnableTraps                 bool
	EnableSNMPVRRP              bool
	EnableSNMPRFCv2             bool
	EnableSNMPRFCv3             bool
	EnableSNMPChecker           bool
	EnableDBus                  bool
	DBusServiceName             string
	Umask                       *uint32
	RandomSeed                  *uint
	ReloadCheckConfig           string
	ReloadTimeFile              string
	ReloadRepeat                bool
	ReloadFile                  string
	ConfigSaveDir               string
	TmpConfigDirectory          string
	DataUseInstance             bool
	// Ours (keepalived warns "Unknown keyword" and ignores them).
	LVSBackend     string // auto | ipvs | nftables
	MetricsListen  string
	StrictKeywords bool
}

// ProcessSettings are a keepalived process's scheduling settings
// (*_priority, *_no_swap, *_rt_priority, *_cpu_affinity, *_rlimit_rttime).
type ProcessSettings struct {
	Priority    int
	NoSwap      bool
	RTPriority  int
	CPUAffinity []int
	RLimitRT    uint64
}

// RxBufsPolicy is vrrp_rx_bufs_policy.
type RxBufsPolicy struct {
	MTU, Advert, HasSize bool
	Size                 int
}

// NetlinkBufs are the *_rcv_bufs settings.
type NetlinkBufs struct {
	VRRPCmd, VRRPMonitor, ProcessMonitor, LVSCmd, LVSMonitor                          uint
	VRRPCmdForce, VRRPMonitorForce, ProcessMonitorForce, LVSCmdForce, LVSMonitorForce bool
}

// SyncDaemon is lvs_sync_daemon (or the deprecated per-instance interface).
type SyncDaemon struct {
	Pos       Pos
	Interface string
	Instance  string
	SyncID    int
	// SyncIDDefaulted: no id was given and the VRRP process took the
	// instance's VRID (the parent keeps it unset).
	SyncIDDefaulted bool
	MaxLen          int
	Port            int
	TTL             int
	Group           netip.Addr
}

// LVSTimeouts is lvs_timeouts; zero means "leave the kernel's value".
type LVSTimeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// FIFO is a notify fifo with its optional reader script.
type FIFO struct {
	Path     string
	Script   *Script
	UID, GID int `dump:"-"`
}

// VirtualAddress is one virtual_ipaddress / static_ipaddress entry.
type VirtualAddress struct {
	Pos    Pos
	Prefix netip.Prefix
	// Broadcast is the broadcast address to set ("" none): as given, or
	// computed for "+" / "-" as keepalived does.
	Broadcast string
	Dev       string
	Scope     string // as written ("" = global)
	ScopeID   uint8  // its rt_scopes value
	Label     string
	Peer      netip.Addr
	// DAD is "-nodad": keepalived adds IPv6 addresses with IFA_F_NODAD unless
	// this is given (the keyword clears the flag).
	DAD           bool
	HomeAddr      bool
	NoPrefixRoute bool
	AutoJoin      bool
	MngTmpAddr    bool
	// NoTrack is no_track: losing the address does not put the instance in FAULT.
	NoTrack      bool
	PreferredLft *uint32 // nil: keepalived's default
	TrackGroup   string  // static addresses only
	UseVMAC      bool
}

// RouteMonitor is keepalived's monitor_ipv4_routes, monitor_ipv6_routes,
// monitor_ipv4_rules and monitor_ipv6_rules.
type RouteMonitor struct {
	IPv4Routes, IPv6Routes bool
	IPv4Rules, IPv6Rules   bool
}

// State is a VRRP state as written in the config.
type State string

const (
	StateBackup State = "BACKUP"
	StateMaster State = "MASTER"
)

// Auth is the authentication block.
type Auth struct {
	Type string // "" | PASS | AH
	Pass string
}

// TrackRef is a tracked interface, script, file or process with its weight.
type TrackRef struct {
	Pos       Pos
	Name      string
	Weight    int
	HasWeight bool
	Reverse   bool
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Pos            Pos
	Addr           netip.Addr
	MinTTL, MaxTTL int
}

// TrackProcess is vrrp_track_process.
type TrackProcess struct {
	Pos            Pos
	Name           string
	Process        string
	Params         []string // the command line after the process name
	ParamMatch     string   // "" | exact | initial | partial
	Weight         int
	WeightReverse  bool
	Quorum         int
	QuorumMax      int // -1: unlimited
	TerminateDelay time.Duration
	ForkDelay      time.Duration
	FullCommand    bool
}

// GarpGroup is garp_group.
type GarpGroup struct {
	Pos              Pos
	GarpInterval     *time.Duration
	GnaInterval      *time.Duration
	Interfaces       []string
	AggregationGroup int
}

// StaticTrackGroup is track_group.
type StaticTrackGroup struct {
	Pos       Pos
	Name      string
	Instances []string
}

// UpDownDelay is one interface_up_down_delays entry.
type UpDownDelay struct {
	Interface string
	Down, Up  time.Duration
}

// VRRPScript is vrrp_script.
type VRRPScript struct {
	Pos           Pos
	Name          string
	Script        *Script
	Interval      time.Duration
	Timeout       time.Duration
	Weight        int
	WeightReverse bool
	Rise          int
	Fall          int
	InitFail      bool
	User          string
	Group         string
}

// TrackFile is track_file / vrrp_track_file.
type TrackFile struct {
	Pos           Pos
	Name          string
	File          string
	Weight        int
	WeightReverse bool
	InitFile      bool
	InitValue     int
	Overwrite     bool
}

// SyncGroup is vrrp_sync_group.
type SyncGroup struct {
	Pos             Pos
	Name            string
	Members         []string
	TrackInterfaces []TrackRef
	TrackScripts    []TrackRef
	TrackFiles      []TrackRef
	NotifyMaster    *Script
	NotifyBackup    *Script
	NotifyFault     *Script
	NotifyStop      *Script
	Notify          *Script
	SMTPAlert       bool
	GlobalTracking  bool
	TrackingWeight  bool
	Other           []Setting

	TrackProcesses        []TrackRef
	TrackBFDs             []TrackRef
	NotifyPriorityChanges *bool
}

// Forwarding is an IPVS forwarding method.
type Forwarding string

const (
	ForwardNAT Forwarding = "NAT"
	ForwardDR  Forwarding = "DR"
	ForwardTUN Forwarding = "TUN"
)

// Tunnel holds TUN settings (lb_kind TUN type ...). Servers share their
// service's Tunnel; it is read-only once loaded.
type Tunnel struct {
	Type     string // ipip | gue | gre
	Port     int
	Checksum string // nocsum | csum | remcsum
}

// CheckerSettings are the checker process's settings outside virtual
// servers.
type CheckerSettings struct {
	// SSL is the SSL block (nil: none; empty: keepalived's autogenerated
	// context).
	SSL *SSLContext
	// SSLRequired: an SSL_GET checker was read (keepalived then sets up
	// its SSL context).
	SSLRequired bool
	// RegexStackStart and RegexStackMax are the largest regex_stack values
	// of all urls: the PCRE2 JIT stack keepalived allocates.
	RegexStackStart, RegexStackMax uint64
	// TrackBFDs are the bfd_instance names the checker process keeps
	// (check_data->track_bfds), in configuration order.
	TrackBFDs []string
}

// SSLContext is the SSL block of the checkers.
type SSLContext struct {
	Password string
	CAFile   string
	CertFile string
	KeyFile  string
}

// VirtualServerGroup is virtual_server_group.
type VirtualServerGroup struct {
	Pos     Pos
	Name    string
	Entries []VSGEntry
}

// VSGEntry is an address range with port, or a fwmark.
type VSGEntry struct {
	Pos    Pos
	First  netip.Addr
	Last   netip.Addr // == First when not a range
	Port   int
	FWMark uint32
	IsMark bool
	// Family is a fwmark's family ("inet", "inet6"; "" when not given).
	Family string
}

// VirtualServer is virtual_server.
type VirtualServer struct {
	Pos    Pos
	Addr   netip.Addr
	Port   int
	FWMark uint32
	Group  string
	// Family is the service's address family as keepalived settles it
	// (the address, ip_family, the servers, the group): inet | inet6.
	Family                 string
	Protocol               string // TCP | UDP | SCTP, "" for fwmark
	Scheduler              string
	SchedFlags             []string
	Forwarding             Forwarding
	Tunnel                 *Tunnel // lb_kind TUN only
	PersistenceTimeout     time.Duration
	PersistenceGranularity string
	PersistenceEngine      string
	DelayLoop              time.Duration
	ConnectTimeout         time.Duration
	Retry                  *int
	DelayBeforeRetry       *time.Duration
	Warmup                 *time.Duration
	VirtualHost            string
	HASuspend              bool
	Alpha                  bool
	Omega                  bool
	Quorum                 int
	Hysteresis             int
	QuorumUp               *Script
	QuorumDown             *Script
	InhibitOnFailure       bool
	Weight                 int
	SorryServer            *RealServer
	SorryServerInhibit     bool
	// SorryServerIsRealServer: the sorry server is also one of the real
	// servers (keepalived's s_svr_duplicates_rs).
	SorryServerIsRealServer bool
	SNMPName                string
	SMTPAlert               bool
	RealServers             []*RealServer
}

// RealServer is real_server (and sorry_server).
type RealServer struct {
	Pos              Pos
	Addr             netip.Addr
	Port             int
	Weight           int
	Forwarding       Forwarding
	Tunnel           *Tunnel // lvs_method TUN only
	UThreshold       int
	LThreshold       int
	InhibitOnFailure bool
	NotifyUp         *Script
	NotifyDown       *Script
	Alpha            bool
	Retry            int `dump:"-"` // resolved into each checker; -1 when unset
	DelayBeforeRetry *time.Duration
	Warmup           *time.Duration
	ConnectTimeout   time.Duration
	DelayLoop        time.Duration
	SMTPAlert        bool
	VirtualHost      string
	SNMPName         string
	Checkers         []*Checker
}

// CheckerKind names a checker block. Each kind's constant is in its file,
// check_<kind>.go.
type CheckerKind string

// Checker is one health checker of a real server, with every inherited
// timing resolved as keepalived resolves it. Settings only one kind has sit
// in Options, read through the kind's accessor (HTTPOpts, MiscOpts, ...):
// a config with 40,000 checkers then costs a third of the memory of one
// flat struct.
type Checker struct {
	Pos              Pos
	Kind             CheckerKind
	Conn             *Connection // nil: connect to the real server's address and port
	ConnectTimeout   time.Duration
	Retry            int
	DelayBeforeRetry time.Duration
	Warmup           time.Duration
	DelayLoop        time.Duration
	Alpha            bool
	LogAllFailures   bool
	Options          CheckerOptions // the kind's own settings; nil for TCP_CHECK, PING_CHECK
}

// Connection overrides where and how a checker connects
// (connect_ip, connect_port, bindto, bind_port, bind_if, fwmark).
type Connection struct {
	ConnectIP netip.Addr
	// ConnectPort is the port to connect to where it is not the real
	// server's; 0 with ConnectPortZero unset means the real server's.
	ConnectPort int
	// ConnectPortZero: the checker connects to port 0 where the real
	// server has a port, as keepalived's does when the real server was
	// written without one (its checkers copied the address in
	// queue_checker, before validate_check_config gave the real server
	// the virtual server's port).
	ConnectPortZero bool
	BindTo          netip.Addr
	BindPort        int
	BindIf          string
	FWMark          uint32
}
