// Package config is the validated configuration model with keepalived's
// defaults applied. It is the only thing the engines (vrrp, check, lvs,
// notify) share: they never see the parser's AST.
package config

import (
	"fmt"
	"net/netip"
	"time"
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
	ServerGroups    []*VirtualServerGroup
	VirtualServers  []*VirtualServer
	BFDInstances    []*BFDInstance
	// Other holds top-level and global keywords parsed but not implemented.
	Other []Setting
}

// Script is a command line as written in the config (notify_*, vrrp_script,
// misc_path); the notify package splits it into argv as keepalived does.
type Script struct {
	Pos Pos
	// Raw is the text after the keyword as written (quotes and escapes
	// intact); notify.ParseScript splits it exactly as keepalived does.
	Raw     string `dump:"-"`
	Command string
	User    string // optional "username [groupname]" after the command
	Group   string
}

// Global is global_defs.
type Global struct {
	RouterID              string
	NotificationEmail     []string
	NotificationEmailFrom string
	SMTPServer            string // host
	SMTPPort              int
	SMTPHeloName          string
	SMTPConnectTimeout    time.Duration
	SMTPAlert             *bool
	SMTPAlertVRRP         *bool
	SMTPAlertChecker      *bool
	ScriptUser            string
	ScriptGroup           string
	EnableScriptSecurity  bool
	DefaultInterface      string
	DynamicInterfaces     bool
	MaxAutoPriority       int
	VRRPMcastGroup4       netip.Addr
	VRRPMcastGroup6       netip.Addr
	VRRPVersion           int
	VRRPStrict            bool
	VRRPIPTables          []string
	NFTables              string
	VRRPCheckUnicastSrc   bool
	VRRPSkipCheckAdvAddr  bool
	GarpMasterDelay       time.Duration
	GarpMasterRepeat      int
	GarpMasterRefresh     time.Duration
	GarpMasterRefreshRep  int
	GarpLowerPrioDelay    *time.Duration
	GarpLowerPrioRepeat   *int
	GarpInterval          time.Duration
	GnaInterval           time.Duration
	DownTimerAdverts      int
	LowerPrioNoAdvert     bool
	HigherPrioSendAdvert  bool
	LVSSyncDaemon         *SyncDaemon
	LVSFlush              bool
	LVSFlushOnStop        string
	LVSTimeouts           LVSTimeouts
	NotifyFIFO            FIFO
	VRRPNotifyFIFO        FIFO
	LVSNotifyFIFO         FIFO
	StartupScript         *Script
	ShutdownScript        *Script
	// Ours (keepalived warns "Unknown keyword" and ignores them).
	LVSBackend     string // auto | ipvs | nftables
	MetricsListen  string
	StrictKeywords bool
	Other          []Setting
}

// SyncDaemon is lvs_sync_daemon (or the deprecated per-instance interface).
type SyncDaemon struct {
	Pos       Pos
	Interface string
	Instance  string
	SyncID    int
	MaxLen    int
	Port      int
	TTL       int
	Group     netip.Addr
}

// LVSTimeouts is lvs_timeouts; zero means "leave the kernel's value".
type LVSTimeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// FIFO is a notify fifo with its optional reader script.
type FIFO struct {
	Path   string
	Script *Script
}

// VirtualAddress is one virtual_ipaddress / static_ipaddress entry.
type VirtualAddress struct {
	Pos           Pos
	Prefix        netip.Prefix
	Broadcast     string
	Dev           string
	Scope         string
	Label         string
	Peer          string
	NoDAD         bool
	HomeAddr      bool
	NoPrefixRoute bool
	AutoJoin      bool
	Track         bool     // track / no_track
	Options       []string // anything else, kept verbatim
}

// Route is a virtual_routes / static_routes entry, kept as written: the
// vrrp I/O shell turns it into a netlink route.
type Route struct {
	Pos  Pos
	Args []string
}

// Rule is a virtual_rules / static_rules entry.
type Rule struct {
	Pos  Pos
	Args []string
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

// VRRPInstance is vrrp_instance.
type VRRPInstance struct {
	Pos                     Pos
	Name                    string
	State                   State
	Interface               string
	VRID                    int
	Priority                int
	AdvertInt               time.Duration
	Version                 int
	NativeIPv6              bool
	Auth                    Auth
	VIPs                    []VirtualAddress
	ExcludedVIPs            []VirtualAddress
	Routes                  []Route
	Rules                   []Rule
	UnicastSrcIP            netip.Addr
	UnicastPeers            []UnicastPeer
	UnicastTTL              int
	McastSrcIP              netip.Addr
	McastDstIP              netip.Addr
	Preempt                 bool
	PreemptDelay            time.Duration
	Accept                  *bool
	SkipCheckAdvAddr        bool
	StrictMode              bool
	DontTrackPrimary        bool
	TrackInterfaces         []TrackRef
	TrackScripts            []TrackRef
	TrackFiles              []TrackRef
	TrackProcesses          []TrackRef
	UseVMAC                 bool
	VMACName                string
	VMACXmitBase            bool
	GarpMasterDelay         time.Duration
	GarpMasterRepeat        int
	GarpMasterRefresh       time.Duration
	GarpMasterRefreshRepeat int
	GarpLowerPrioDelay      time.Duration
	GarpLowerPrioRepeat     int
	DownTimerAdverts        int
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool
	PromoteSecondaries      bool
	NotifyMaster            *Script
	NotifyBackup            *Script
	NotifyFault             *Script
	NotifyStop              *Script
	NotifyDeleted           *Script
	Notify                  *Script
	NotifyMasterRxLowerPri  *Script
	NotifyPriorityChanges   bool
	SMTPAlert               bool
	LVSSyncDaemonInterface  string
	SyncGroup               string
	Debug                   int
	Other                   []Setting
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Pos            Pos
	Addr           netip.Addr
	MinTTL, MaxTTL int
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

// TrackProcess is vrrp_track_process (kept; not implemented yet).
type TrackProcess struct {
	Pos      Pos
	Name     string
	Settings []Setting
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
}

// VirtualServer is virtual_server.
type VirtualServer struct {
	Pos                    Pos
	Addr                   netip.Addr
	Port                   int
	FWMark                 uint32
	Group                  string
	Family                 string // inet | inet6 (ip_family, for fwmark/group services)
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
	SMTPAlert              bool
	RealServers            []*RealServer
	Other                  []Setting
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
	Checkers         []*Checker
	Other            []Setting
}

// CheckerKind names a checker block.
type CheckerKind string

const (
	HTTPGet   CheckerKind = "HTTP_GET"
	SSLGet    CheckerKind = "SSL_GET"
	TCPCheck  CheckerKind = "TCP_CHECK"
	MiscCheck CheckerKind = "MISC_CHECK"
	SMTPCheck CheckerKind = "SMTP_CHECK"
	DNSCheck  CheckerKind = "DNS_CHECK"
	UDPCheck  CheckerKind = "UDP_CHECK"
	PingCheck CheckerKind = "PING_CHECK"
	FileCheck CheckerKind = "FILE_CHECK"
	BFDCheck  CheckerKind = "BFD_CHECK"
)

// Checker is one health checker of a real server, with every inherited
// timing resolved as keepalived resolves it. Settings only one kind has sit
// behind the kind's pointer (nil for other kinds): a config with 40,000
// checkers then costs a third of the memory of one flat struct.
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
	HTTP             *HTTPOptions // HTTP_GET, SSL_GET
	Misc             *MiscOptions
	SMTP             *SMTPOptions
	DNS              *DNSOptions
	UDP              *UDPOptions
	File             *FileOptions
	BFD              *BFDOptions
	Other            []Setting
}

// Connection overrides where and how a checker connects
// (connect_ip, connect_port, bindto, bind_port, bind_if, fwmark).
type Connection struct {
	ConnectIP   netip.Addr
	ConnectPort int
	BindTo      netip.Addr
	BindPort    int
	BindIf      string
	FWMark      uint32
}

// HTTPOptions holds HTTP_GET / SSL_GET settings.
type HTTPOptions struct {
	URLs         []URL
	VirtualHost  string
	Protocol     string // 1.0 | 1.0C | 1.1
	EnableSNI    bool
	FastRecovery bool
}

// MiscOptions holds MISC_CHECK settings.
type MiscOptions struct {
	Path    *Script
	Timeout time.Duration
	Dynamic bool
}

// SMTPOptions holds SMTP_CHECK settings.
type SMTPOptions struct {
	HeloName string
}

// DNSOptions holds DNS_CHECK settings.
type DNSOptions struct {
	Type string
	Name string
}

// UDPOptions holds UDP_CHECK settings.
type UDPOptions struct {
	Payload        []byte
	RequireReply   bool
	ReplyPattern   []byte
	MinReplyLength int
	MaxReplyLength int
}

// FileOptions holds FILE_CHECK settings.
type FileOptions struct {
	TrackFile     string
	Weight        int
	WeightReverse bool
}

// URL is one url block of HTTP_GET / SSL_GET.
type URL struct {
	Path         string
	Digest       string
	StatusCodes  []StatusRange
	VirtualHost  string
	Regex        string
	RegexNoMatch bool
	Other        []Setting
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }
