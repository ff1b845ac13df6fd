package main

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/snmp"
)

// snmpChecker is the checker subtree: the config's virtual servers with
// the checker engine's health and weights and the LVS engine's quorum.
func snmpChecker(in snmpInput) *snmp.Checker {
	c := &snmp.Checker{}
	for _, g := range in.cfg.ServerGroups {
		c.Groups = append(c.Groups, snmpVSGroup(g))
	}
	health := map[string]check.VirtualServerStatus{}
	for _, vs := range in.check.VirtualServers {
		health[vs.Name] = vs
	}
	quorum := map[string]lvs.VirtualServerStatus{}
	open := false
	if in.lvs != nil {
		open = in.lvs.Open
		for _, vs := range in.lvs.VirtualServers {
			quorum[vs.Name] = vs
		}
	}
	for _, vs := range in.cfg.VirtualServers {
		name := vs.Name()
		q, ok := quorum[name]
		c.VirtualServers = append(c.VirtualServers, snmpVirtualServer(vs, health[name], q, ok && open))
	}
	return c
}

// snmpVSGroup lists a group's members as keepalived keeps them: fwmarks
// first, then addresses and ranges.
func snmpVSGroup(g *config.VirtualServerGroup) snmp.VSGroup {
	out := snmp.VSGroup{Name: g.Name}
	for _, marks := range []bool{true, false} {
		for _, e := range g.Entries {
			if e.IsMark != marks {
				continue
			}
			if e.IsMark {
				out.Members = append(out.Members, snmp.VSGroupMember{FWMark: e.FWMark, IsMark: true})
				continue
			}
			out.Members = append(out.Members, snmp.VSGroupMember{Addr: e.First, AddrEnd: e.Last, Port: uint16(e.Port)})
		}
	}
	return out
}

func optDuration(d *time.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := *d
	return &v
}

// granularity is persistence_granularity as keepalived holds it: an IPv4
// netmask as a number, an IPv6 prefix length, all ones when unset.
func granularity(s string) uint32 {
	if s == "" {
		return 0xffffffff
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0xffffffff
	}
	return uint32(n)
}

func snmpTunnel(t *config.Tunnel) snmp.Tunnel {
	if t == nil {
		return snmp.Tunnel{}
	}
	out := snmp.Tunnel{Port: uint16(t.Port)}
	switch t.Type {
	case "gue":
		out.Type = 1
	case "gre":
		out.Type = 2
	}
	switch t.Checksum {
	case "csum":
		out.Csum = 1
	case "remcsum":
		out.Csum = 2
	}
	return out
}

func snmpVirtualServer(vs *config.VirtualServer, h check.VirtualServerStatus, q lvs.VirtualServerStatus, alive bool) snmp.VirtualServer {
	out := snmp.VirtualServer{
		Group: vs.Group, FWMark: vs.FWMark, Addr: vs.Addr, Port: uint16(vs.Port), IPv6: vs.Family == "inet6",
		Protocol: vs.Protocol, Scheduler: vs.Scheduler, Forwarding: string(vs.Forwarding), Tunnel: snmpTunnel(vs.Tunnel),
		Alive: alive, VirtualHost: vs.VirtualHost, PersistenceTimeout: uint32(vs.PersistenceTimeout / time.Second),
		PersistenceGranularity: granularity(vs.PersistenceGranularity), DelayLoop: vs.DelayLoop, HASuspend: vs.HASuspend,
		Alpha: vs.Alpha, Omega: vs.Omega, Quorum: uint32(vs.Quorum), Hysteresis: uint32(vs.Hysteresis), QuorumUp: q.QuorumUp,
		QuorumUpScript: argv(vs.QuorumUp), QuorumDownScript: argv(vs.QuorumDown), Inhibit: vs.InhibitOnFailure,
		DelayBeforeRetry: optDuration(vs.DelayBeforeRetry), Warmup: optDuration(vs.Warmup), Weight: int32(vs.Weight),
		SMTPAlert: vs.SMTPAlert, ConnTimeout: vs.ConnectTimeout, Name: vs.SNMPName,
	}
	if out.Scheduler == "" {
		out.Scheduler = "wlc"
	}
	if vs.FWMark == 0 && vs.Group == "" {
		out.AddrFamily = 4
		if vs.Addr.Is6() {
			out.AddrFamily = 6
		}
	}
	if vs.Retry != nil {
		r := uint32(*vs.Retry)
		out.Retry = &r
	}
	for _, f := range vs.SchedFlags {
		switch f {
		case "hashed":
			out.Hashed = true
		case "ops":
			out.OnePacket = true
		case "flag-1", "sh-fallback", "mh-fallback":
			out.Sched1 = true
		case "flag-2", "sh-port", "mh-port":
			out.Sched2 = true
		case "flag-3":
			out.Sched3 = true
		}
	}
	if s := vs.SorryServer; s != nil {
		fwd := s.Forwarding
		if fwd == "" {
			fwd = vs.Forwarding
		}
		out.Sorry = &snmp.RealServer{Addr: s.Addr, Port: uint16(s.Port), Forwarding: string(fwd), Tunnel: snmpTunnel(s.Tunnel)}
	}
	health := map[string]check.RealServerStatus{}
	for _, rs := range h.RealServers {
		health[rs.Name] = rs
	}
	for _, rs := range vs.RealServers {
		out.RealServers = append(out.RealServers, snmpRealServer(vs, rs, health[vs.RealServerName(rs)]))
	}
	return out
}

func snmpRealServer(vs *config.VirtualServer, rs *config.RealServer, h check.RealServerStatus) snmp.RealServer {
	out := snmp.RealServer{
		Addr: rs.Addr, Port: uint16(rs.Port), Alive: h.Alive, Weight: int64(h.Weight),
		UpperLimit: uint32(rs.UThreshold), LowerLimit: uint32(rs.LThreshold), Inhibit: rs.InhibitOnFailure,
		NotifyUp: argv(rs.NotifyUp), NotifyDown: argv(rs.NotifyDown), Forwarding: string(rs.Forwarding),
		Tunnel: snmpTunnel(rs.Tunnel), VirtualHost: rs.VirtualHost, Alpha: rs.Alpha,
		DelayBeforeRetry: optDuration(rs.DelayBeforeRetry), Warmup: optDuration(rs.Warmup),
		SMTPAlert: rs.SMTPAlert, ConnTimeout: rs.ConnectTimeout, Name: rs.SNMPName,
	}
	if h.Config == nil {
		// Not (yet) known to the checker engine: the configured weight,
		// alive as keepalived starts its real servers.
		out.Alive, out.Weight = true, int64(rs.Weight)
	}
	if out.Forwarding == "" {
		out.Forwarding = string(vs.Forwarding)
	}
	d := rs.DelayLoop
	out.DelayLoop = &d
	if rs.Retry >= 0 {
		r := uint32(rs.Retry)
		out.Retry = &r
	}
	for _, c := range h.Checkers {
		if !c.Up {
			out.FailedChecks++
		}
	}
	return out
}
