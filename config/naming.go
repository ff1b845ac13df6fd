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

// Format is keepalived's format_ipaddress for a configured address, as its
// dumps and log lines show it: dev is the interface it goes on (its own
// dev wins), devBase the base of that interface when it is a macvlan or
// ipvlan ("" otherwise), set whether it is installed now.
func (v VirtualAddress) Format(dev, devBase string, set bool) string {
	var b strings.Builder
	p := v.Prefix
	b.WriteString(ipaddresstos(p))
	if p.Addr().Is4() && v.Broadcast != "" {
		brd := v.Broadcast
		if brd == "-" || brd == "+" {
			brd = broadcastOf(p, brd)
		}
		if brd != "" && brd != "0.0.0.0" {
			fmt.Fprintf(&b, " brd %s", brd)
		}
	}
	if v.Dev != "" {
		dev = v.Dev
	}
	fmt.Fprintf(&b, " dev %s", dev)
	if devBase != "" {
		fmt.Fprintf(&b, "@%s", devBase)
	}
	if v.UseVMAC {
		b.WriteString(" use_vmac")
	}
	fmt.Fprintf(&b, " scope %s", ScopeName(v.ScopeID))
	if v.Label != "" {
		fmt.Fprintf(&b, " label %s", v.Label)
	}
	if v.Peer.IsValid() {
		fmt.Fprintf(&b, " peer %s/%d", v.Peer, p.Bits())
	}
	for _, f := range []struct {
		on   bool
		text string
	}{{v.HomeAddr, " home"}, {v.DAD, " -nodad"}, {v.MngTmpAddr, " mngtmpaddr"}, {v.NoPrefixRoute, " noprefixroute"},
		{v.AutoJoin, " autojoin"}, {v.NoTrack, " no_track"}} {
		if f.on {
			b.WriteString(f.text)
		}
	}
	if v.TrackGroup != "" {
		fmt.Fprintf(&b, " track_group %s", v.TrackGroup)
	}
	if p.Addr().Is6() && v.PreferredLft != nil {
		switch lft := *v.PreferredLft; lft {
		case 0:
			b.WriteString(" deprecated")
		case 0xffffffff:
			b.WriteString(" preferred_lft forever")
		default:
			fmt.Fprintf(&b, " preferred_lft %d", lft)
		}
	}
	if set {
		b.WriteString(" set")
	}
	return b.String()
}

// broadcastOf is the broadcast address "-" (network) or "+" (all ones)
// asks for.
func broadcastOf(p netip.Prefix, how string) string {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return ""
	}
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	if how == "+" {
		n |= (1 << (32 - p.Bits())) - 1
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}
