package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// The names keepalived gives virtual and real servers in its logs, FIFO
// lines, mails and dumps. Every part of the daemon names them through
// these, so a virtual server has one name everywhere (the checker's log
// line, the LVS engine's key, the notify FIFO line, the metrics label).

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
