package config

import (
	"fmt"
	"iter"
	"net/netip"
	"strings"
	"time"
)

// The names keepalived gives virtual and real servers in its logs, FIFO
// lines, mails and dumps. Every part of the daemon names them through
// these, so a virtual server has one name everywhere (the checker's log
// line, the LVS engine's key, the notify FIFO line, the metrics label).

func fmtSeconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.6f", d.Seconds()), "0"), ".")
}

// Trio formats an address the way keepalived's inet_sockaddrtotrio does:
// [addr]:proto:port, the protocol in lower case, "none" when unset.
func Trio(addr string, proto string, port int) string {
	p := strings.ToLower(proto)
	if p == "" {
		p = "none"
	}
	return fmt.Sprintf("[%s]:%s:%d", addr, p, port)
}

// addrText is an address as keepalived prints it: IPv4-mapped IPv6
// addresses as IPv4, no zone.
func addrText(a netip.Addr) string { return a.Unmap().WithZone("").String() }

// Name is keepalived's format_vs: "[group]:port", "FWM n" or
// "[addr]:proto:port".
func (vs *VirtualServer) Name() string {
	switch {
	case vs.Group != "":
		return fmt.Sprintf("[%s]:%d", vs.Group, vs.Port)
	case vs.FWMark != 0:
		return fmt.Sprintf("FWM %d", vs.FWMark)
	}
	return Trio(addrText(vs.Addr), vs.Protocol, vs.Port)
}

// RealServerName is keepalived's format_rs: the real server's address and
// port with its virtual server's protocol ("none" for a fwmark service
// that sets none, as keepalived's service_type 0 prints).
func (vs *VirtualServer) RealServerName(rs *RealServer) string {
	return Trio(addrText(rs.Addr), vs.Protocol, rs.Port)
}

// AllScripts yields every script the configuration would run (set ones only),
// global ones first, then in the model's order. It walks the model in place,
// which matters on a file with 40,000 real servers.
func (c *Config) AllScripts() iter.Seq[*Script] {
	return func(yield func(*Script) bool) {
		each := func(list ...*Script) bool {
			for _, s := range list {
				if s != nil && !yield(s) {
					return false
				}
			}
			return true
		}
		g := &c.Global
		if !each(g.NotifyFIFO.Script, g.VRRPNotifyFIFO.Script, g.LVSNotifyFIFO.Script, g.StartupScript, g.ShutdownScript) {
			return
		}
		for _, s := range c.Scripts {
			if !each(s.Script) {
				return
			}
		}
		for _, in := range c.Instances {
			if !each(in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.NotifyDeleted, in.Notify, in.NotifyMasterRxLowerPri) {
				return
			}
		}
		for _, sg := range c.SyncGroups {
			if !each(sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify) {
				return
			}
		}
		for _, vs := range c.VirtualServers {
			if !each(vs.QuorumUp, vs.QuorumDown) {
				return
			}
			for _, rs := range vs.RealServers {
				if !each(rs.NotifyUp, rs.NotifyDown) {
					return
				}
				for _, ck := range rs.Checkers {
					if o, ok := ck.Options.(scriptOptions); ok && !each(o.checkerScript()) {
						return
					}
				}
			}
		}
	}
}
