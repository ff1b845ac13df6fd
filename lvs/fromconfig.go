package lvs

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/ipvs/netmask"

	"keepalived-go/config"
)

// ErrConfig is wrapped by every error FromConfig returns for a setting the
// kernel cannot be given.
var ErrConfig = errors.New("invalid lvs configuration")

// RSKey is the stable identity of a real server: keepalived's names of its
// virtual server (config.VirtualServer.Name, e.g. "[198.51.100.10]:tcp:80",
// "FWM 1", "[web]:0") and of the real server (RealServerName,
// "[198.51.100.11]:tcp:80"), the names the checker engine's events carry.
// It survives reloads as long as neither changes, so health carries over.
type RSKey struct {
	VS, RS string
}

func (k RSKey) String() string { return k.RS + " of " + k.VS }

// KeyOf returns the health key of rs inside vs.
func KeyOf(vs *config.VirtualServer, rs *config.RealServer) RSKey {
	return RSKey{VS: vs.Name(), RS: vs.RealServerName(rs)}
}

// VirtualServer is one configured virtual_server: the kernel services it
// expands to (one unless it names a virtual_server_group) and the pool of
// real servers they share, with the health keys of those servers.
type VirtualServer struct {
	Name     string    // keepalived's name for it, the RSKey.VS of its servers
	Services []Service // kernel services, in group order
	// Pool holds the servers (Pool.Servers[i] is Keys[i]) with their
	// configured weights and Alive as the initial health. Pool.Service is
	// the first of Services; Expand gives every service its copy.
	Pool Pool
	Keys []RSKey
	// Addrs are the virtual addresses of the services (none for
	// fwmarks), which ha_suspend follows.
	Addrs      []netip.Addr
	Group      bool // expanded from a virtual_server_group
	HASuspend  bool
	QuorumUp   *config.Script
	QuorumDown *config.Script
}

// Expand returns the kernel services of vs given the pool's desired
// destinations. Inside a group keepalived gives non-NAT destinations the
// port of each group entry (0 for fwmark entries) and leaves NAT ones on
// their own port.
func (vs *VirtualServer) Expand(dests map[DestKey]Destination, t Table) {
	for _, s := range vs.Services {
		out := make(map[DestKey]Destination, len(dests))
		for _, d := range dests {
			if vs.Group && d.Forward != NAT {
				d.Port = s.Port
			}
			out[d.DestKey] = d
		}
		t[s.ServiceKey] = VirtualService{Service: s, Dests: out}
	}
}

// Model is the LVS part of a configuration.
type Model struct {
	VirtualServers []*VirtualServer
	Timeouts       Timeouts
	Flush          bool   // lvs_flush: clear the whole table at start
	FlushOnStop    string // lvs_flush_onstop: "", "all" or "vs"
	// Sync is the sync daemon and the VRRP instance it follows; nil when
	// not configured. SyncID is resolved (the instance's VRID by default).
	Sync         *SyncDaemon
	SyncInstance string
}

// FromConfig maps every virtual_server of cfg onto kernel services and
// pools. Real servers start alive unless alpha says otherwise; the caller
// (Manager) then feeds health in. Virtual servers keepalived would ignore
// (no real servers) are left out.
func FromConfig(cfg *config.Config) (*Model, error) {
	m := &Model{Flush: cfg.Global.LVSFlush, FlushOnStop: flushOnStop[cfg.Global.LVSFlushOnStop]}
	t := cfg.Global.LVSTimeouts
	m.Timeouts = Timeouts{TCP: secs(t.TCP), TCPFin: secs(t.TCPFin), UDP: secs(t.UDP)}
	if sd := cfg.Global.LVSSyncDaemon; sd != nil {
		d, err := syncFromConfig(cfg, sd)
		if err != nil {
			return nil, err
		}
		m.Sync, m.SyncInstance = d, sd.Instance
	}
	// Two groups of one name: the first is the one used, as keepalived's
	// ipvs_get_group_by_name walks the list and stops at the first match.
	groups := map[string]*config.VirtualServerGroup{}
	for _, g := range cfg.ServerGroups {
		if groups[g.Name] == nil {
			groups[g.Name] = g
		}
	}
	seen := map[ServiceKey]string{}
	for _, cvs := range cfg.VirtualServers {
		if len(cvs.RealServers) == 0 {
			continue
		}
		vs, err := virtualServer(cvs, groups[cvs.Group])
		if err != nil {
			return nil, fmt.Errorf("virtual server %s: %w", cvs.Name(), err)
		}
		for _, s := range vs.Services {
			if other, dup := seen[s.ServiceKey]; dup {
				return nil, fmt.Errorf("%w: virtual server %s: service %s already defined by %s", ErrConfig, vs.Name, s.ServiceKey, other)
			}
			seen[s.ServiceKey] = vs.Name
		}
		m.VirtualServers = append(m.VirtualServers, vs)
	}
	return m, nil
}

func secs(d time.Duration) uint32 { return uint32(d / time.Second) }

func syncFromConfig(cfg *config.Config, sd *config.SyncDaemon) (*SyncDaemon, error) {
	d := &SyncDaemon{State: SyncBackup, Interface: sd.Interface, MaxLen: uint16(sd.MaxLen),
		Port: uint16(sd.Port), TTL: uint8(sd.TTL), Group: sd.Group}
	switch {
	case sd.SyncID >= 0:
		d.SyncID = uint8(sd.SyncID)
	default:
		// keepalived defaults the sync id to the followed instance's VRID.
		for _, in := range cfg.Instances {
			if in.Name == sd.Instance {
				d.SyncID = uint8(in.VRID)
			}
		}
	}
	return d, nil
}

func protocolOf(s string) (Protocol, error) {
	switch strings.ToUpper(s) {
	case "TCP":
		return TCP, nil
	case "UDP", "":
		// The kernel treats protocol 0 as UDP; keepalived sets it explicitly.
		return UDP, nil
	case "SCTP":
		return SCTP, nil
	}
	return 0, fmt.Errorf("%w: protocol %q", ErrConfig, s)
}

var schedFlags = map[string]SvcFlags{
	"ops":    FlagOnePacket,
	"flag-1": FlagSched1, "sh-fallback": FlagSched1, "mh-fallback": FlagSched1,
	"flag-2": FlagSched2, "sh-port": FlagSched2, "mh-port": FlagSched2,
	"flag-3": FlagSched3,
	"hashed": 0, // kernel-owned: keepalived accepts and the kernel ignores it
}

func forwardOf(f config.Forwarding, t *config.Tunnel) (Forward, TunnelType, uint16, TunnelFlags, error) {
	switch f {
	case config.ForwardNAT, "":
		return NAT, 0, 0, 0, nil
	case config.ForwardDR:
		return DR, 0, 0, 0, nil
	case config.ForwardTUN:
	default:
		return 0, 0, 0, 0, fmt.Errorf("%w: forwarding method %q", ErrConfig, f)
	}
	var tun config.Tunnel
	if t != nil {
		tun = *t
	}
	// keepalived sets the method before it reads the tunnel options, and
	// an invalid combination (unknown type, gue without a port, a port
	// without gue, a checksum on ipip, remcsum on gre) abandons the
	// options: the server is programmed as a plain ipip tunnel.
	var tt TunnelType
	switch tun.Type {
	case "", "ipip":
		tt = IPIP
	case "gue":
		tt = GUE
	case "gre":
		tt = GRE
	default:
		return TUN, IPIP, 0, 0, nil
	}
	var tf TunnelFlags
	switch tun.Checksum {
	case "", "nocsum":
	case "csum":
		tf = TunnelCsum
	case "remcsum":
		tf = TunnelRemoteCsum
	default:
		return TUN, IPIP, 0, 0, nil
	}
	if (tt == GUE) != (tun.Port != 0) || (tt == IPIP && tf != TunnelNoCsum) || (tt == GRE && tf == TunnelRemoteCsum) {
		return TUN, IPIP, 0, 0, nil
	}
	if tt == IPIP {
		return TUN, IPIP, 0, 0, nil
	}
	return TUN, tt, uint16(tun.Port), tf, nil
}

func destFromConfig(rs *config.RealServer) (Destination, error) {
	fwd, tt, tp, tf, err := forwardOf(rs.Forwarding, rs.Tunnel)
	if err != nil {
		return Destination{}, fmt.Errorf("real server %s: %w", rs.Addr, err)
	}
	d := Dest(netip.AddrPortFrom(rs.Addr, uint16(rs.Port)), fwd, rs.Weight)
	d.UpperThreshold, d.LowerThreshold = uint32(max(rs.UThreshold, 0)), uint32(max(rs.LThreshold, 0))
	d.TunnelType, d.TunnelPort, d.TunnelFlags = tt, tp, tf
	return d, nil
}

// familyOf picks the family of a service keepalived cannot read off an
// address (fwmarks): ip_family, else the real servers' family, else IPv4.
func familyOf(cvs *config.VirtualServer) Family {
	switch cvs.Family {
	case "inet6":
		return INET6
	case "inet":
		return INET
	}
	if cvs.Addr.IsValid() {
		return FamilyOf(cvs.Addr)
	}
	for _, rs := range cvs.RealServers {
		return FamilyOf(rs.Addr)
	}
	return INET
}

// granularity parses persistence_granularity as keepalived does: a dotted
// netmask for IPv4, a prefix length for IPv6.
func granularity(s string, f Family) (netmask.Mask, error) {
	if s == "" {
		return netmask.Mask{}, nil
	}
	if f == INET6 || !strings.Contains(s, ".") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 128 {
			return netmask.Mask{}, fmt.Errorf("%w: IPv6 persistence_granularity %q", ErrConfig, s)
		}
		return netmask.MaskFrom(n, 128), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netmask.Mask{}, fmt.Errorf("%w: IPv4 persistence_granularity %q", ErrConfig, s)
	}
	return netmask.MaskFrom4(a.As4()), nil
}

func virtualServer(cvs *config.VirtualServer, grp *config.VirtualServerGroup) (*VirtualServer, error) {
	vs := &VirtualServer{Name: cvs.Name(), HASuspend: cvs.HASuspend, QuorumUp: cvs.QuorumUp, QuorumDown: cvs.QuorumDown}
	base := Service{Scheduler: cvs.Scheduler}
	if base.Scheduler == "" {
		base.Scheduler = "wlc"
	}
	for _, f := range cvs.SchedFlags {
		fl, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("%w: scheduler flag %q", ErrConfig, f)
		}
		base.Flags |= fl
	}
	fam := familyOf(cvs)
	base.Timeout = secs(cvs.PersistenceTimeout)
	if cvs.PersistenceGranularity != "" && base.Timeout == 0 {
		// keepalived: a granularity without a timeout makes the service
		// persistent with the default timeout.
		base.Timeout = 360
	}
	mask, err := granularity(cvs.PersistenceGranularity, fam)
	if err != nil {
		return nil, err
	}
	base.Netmask = mask
	if base.Timeout != 0 {
		base.PEName = cvs.PersistenceEngine
	}
	proto := Protocol(0)
	byAddr := cvs.FWMark == 0
	if grp != nil {
		byAddr = false
		for _, e := range grp.Entries {
			byAddr = byAddr || !e.IsMark
		}
	}
	if byAddr {
		if proto, err = protocolOf(cvs.Protocol); err != nil {
			return nil, err
		}
	}
	if base.Flags&FlagOnePacket != 0 && byAddr && proto != UDP {
		// keepalived: one-packet scheduling needs UDP (or a fwmark).
		base.Flags &^= FlagOnePacket
	}

	switch {
	case grp != nil:
		vs.Group = true
		for _, e := range grp.Entries {
			s := base
			if e.IsMark {
				s.ServiceKey = ServiceMark(fam, e.FWMark)
				// keepalived programs group entries with a full
				// netmask: persistence_granularity is not applied.
				s.Netmask = netmask.Mask{}
				vs.Services = append(vs.Services, s)
				continue
			}
			for a := e.First; a.IsValid(); a = a.Next() {
				s.ServiceKey = ServiceAddr(proto, netip.AddrPortFrom(a, uint16(e.Port)))
				s.Netmask = netmask.Mask{}
				vs.Services = append(vs.Services, s)
				vs.Addrs = append(vs.Addrs, a.Unmap())
				if a == e.Last {
					break
				}
			}
		}
	case cvs.FWMark != 0:
		s := base
		s.ServiceKey = ServiceMark(fam, cvs.FWMark)
		vs.Services = append(vs.Services, s)
	default:
		s := base
		s.ServiceKey = ServiceAddr(proto, netip.AddrPortFrom(cvs.Addr, uint16(cvs.Port)))
		vs.Services = append(vs.Services, s)
		vs.Addrs = append(vs.Addrs, cvs.Addr.Unmap())
	}
	if len(vs.Services) == 0 {
		return nil, fmt.Errorf("%w: no services (empty group %q)", ErrConfig, cvs.Group)
	}

	p := Pool{Service: vs.Services[0], Quorum: cvs.Quorum, Hysteresis: cvs.Hysteresis, Alpha: cvs.Alpha, Omega: cvs.Omega}
	for _, rs := range cvs.RealServers {
		d, err := destFromConfig(rs)
		if err != nil {
			return nil, err
		}
		// A real server without checkers is always up; with alpha, one
		// with checkers starts down until its first success.
		alive := !(rs.Alpha && len(rs.Checkers) > 0)
		p.Servers = append(p.Servers, RealServer{Dest: d, Alive: alive, Inhibit: rs.InhibitOnFailure})
		vs.Keys = append(vs.Keys, KeyOf(cvs, rs))
	}
	if ss := cvs.SorryServer; ss != nil {
		d, err := destFromConfig(ss)
		if err != nil {
			return nil, fmt.Errorf("sorry server: %w", err)
		}
		d.Weight = 1
		if d.Forward != NAT {
			// As for real servers, keepalived gives a non-NAT sorry
			// server the virtual server's port (0 for a fwmark).
			d.Port = uint16(cvs.Port)
		}
		p.Sorry = &SorryServer{Dest: d, Inhibit: cvs.SorryServerInhibit}
	}
	vs.Pool = p
	return vs, nil
}

// flushOnStop maps the config's lvs_flush_onstop (FULL, VS) to the model's.
var flushOnStop = map[string]string{"FULL": "all", "VS": "vs"}
