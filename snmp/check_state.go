package snmp

import (
	"net/netip"
	"time"
)

// Checker is what the checker process knows.
type Checker struct {
	Groups         []VSGroup
	VirtualServers []VirtualServer
}

// VSGroup is one virtual_server_group; its members in keepalived's order
// (fwmarks first, then addresses and ranges).
type VSGroup struct {
	Name    string
	Members []VSGroupMember
}

// VSGroupMember is an fwmark, an address or an address range.
type VSGroupMember struct {
	FWMark  uint32 // set for an fwmark member
	IsMark  bool
	Addr    netip.Addr
	AddrEnd netip.Addr // the range's last address; Addr for a single one
	Port    uint16
}

// IPVSStats are IPVS counters and rates.
type IPVSStats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	CPS, InPPS, OutPPS, InBPS, OutBPS         uint64
}

// Tunnel is a tunnel forwarding's settings.
type Tunnel struct {
	Type int // 0 ipip, 1 gue, 2 gre (IP_VS_CONN_F_TUNNEL_TYPE_*)
	Port uint16
	Csum int // 0 nocsum, 1 csum, 2 remcsum (IP_VS_TUNNEL_ENCAP_FLAG_* index)
}

// VirtualServer is one virtual_server with its real servers.
type VirtualServer struct {
	Group              string // virtual_server_group name, or ""
	FWMark             uint32
	Addr               netip.Addr
	Port               uint16
	IPv6               bool
	Protocol           string // "TCP", "UDP", "SCTP" or "" (fwmark without protocol)
	Scheduler          string // lb_algo
	Forwarding         string // "NAT", "DR", "TUN"
	Tunnel             Tunnel
	Alive              bool
	VirtualHost        string
	PersistenceTimeout uint32
	// PersistenceGranularity is persistence_granularity: an IPv4 netmask
	// (0xffffff00 for 255.255.255.0) or an IPv6 prefix length.
	PersistenceGranularity uint32
	DelayLoop              time.Duration
	HASuspend              bool
	OnePacket              bool
	// AddrFamily is the family of the service address: 0 for an fwmark
	// or group service, 4 or 6.
	AddrFamily int
	// The IPVS service flags: hashed and the scheduler flags 1 to 3
	// (sh-fallback/mh-fallback, sh-port/mh-port, flag-3).
	Hashed, Sched1, Sched2, Sched3 bool
	Alpha, Omega                   bool
	Quorum                         uint32
	Hysteresis                     uint32
	QuorumUp                       bool
	QuorumUpScript                 []string
	QuorumDownScript               []string
	Inhibit                        bool
	Retry                          *uint32 // nil: unset (UINT_MAX), shown as 0
	DelayBeforeRetry               *time.Duration
	Warmup                         *time.Duration
	Weight                         int32
	SMTPAlert                      bool
	ConnTimeout                    time.Duration
	Name                           string // snmp_name ("" leaves it out)
	Stats                          IPVSStats
	Sorry                          *RealServer
	RealServers                    []RealServer
}

// RealServer is one real_server (or the sorry server).
type RealServer struct {
	Addr             netip.Addr
	Port             uint16
	Alive            bool
	Weight           int64 // effective weight
	UpperLimit       uint32
	LowerLimit       uint32
	Inhibit          bool
	NotifyUp         []string
	NotifyDown       []string
	FailedChecks     uint32
	Forwarding       string
	Tunnel           Tunnel
	VirtualHost      string
	Alpha            bool
	Retry            *uint32
	DelayBeforeRetry *time.Duration
	Warmup           *time.Duration
	DelayLoop        *time.Duration
	SMTPAlert        bool
	ConnTimeout      time.Duration
	Name             string
	Stats            IPVSStats
	ActiveConns      uint32
	InactConns       uint32
	PersistConns     uint32
}
