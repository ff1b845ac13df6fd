package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"keepalived-go/parser"
)

func (b *builder) serverGroup(st *parser.Stmt) {
	g := &VirtualServerGroup{Pos: toPos(st.Pos), Name: firstArg(st)}
	for _, c := range st.Children() {
		w := c.Line()
		e := VSGEntry{Pos: toPos(c.Pos)}
		if w[0] == "fwmark" {
			if len(w) < 2 {
				b.report(c, parser.SevGeneral, "virtual server group %s: fwmark missing value", g.Name)
				continue
			}
			n, err := strconv.ParseUint(w[1], 10, 32)
			if err != nil || n == 0 {
				b.report(c, parser.SevGeneral, "virtual server group %s: fwmark '%s' invalid - skipping", g.Name, w[1])
				continue
			}
			e.IsMark, e.FWMark = true, uint32(n)
			g.Entries = append(g.Entries, e)
			continue
		}
		first, last, ok := parseRange(w[0])
		if !ok {
			b.report(c, parser.SevGeneral, "Invalid virtual server group IP address %s - skipping", w[0])
			continue
		}
		e.First, e.Last = first, last
		if len(w) > 1 {
			p, err := strconv.Atoi(w[1])
			if err != nil || p < 0 || p > 65535 {
				b.report(c, parser.SevGeneral, "Invalid virtual server group port %s - skipping", w[1])
				continue
			}
			e.Port = p
		}
		g.Entries = append(g.Entries, e)
	}
	b.cfg.ServerGroups = append(b.cfg.ServerGroups, g)
}

// parseRange reads keepalived's range form: 198.51.100.1-10 (last byte or
// last IPv6 group), or a single address.
func parseRange(s string) (netip.Addr, netip.Addr, bool) {
	addr, end, isRange := strings.Cut(s, "-")
	if strings.Contains(addr, "/") {
		return netip.Addr{}, netip.Addr{}, false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return a, a, false
	}
	if !isRange {
		return a, a, true
	}
	base := 10
	if a.Is6() {
		base = 16
	}
	n, err := strconv.ParseUint(end, base, 16)
	if err != nil {
		return a, a, false
	}
	bs := a.AsSlice()
	if a.Is4() {
		if n > 255 || byte(n) < bs[3] {
			return a, a, false
		}
		bs[3] = byte(n)
	} else {
		cur := uint64(bs[14])<<8 | uint64(bs[15])
		if n < cur {
			return a, a, false
		}
		bs[14], bs[15] = byte(n>>8), byte(n)
	}
	last, _ := netip.AddrFromSlice(bs)
	return a, last, true
}

func (b *builder) virtualServer(st *parser.Stmt) {
	vs := &VirtualServer{Pos: toPos(st.Pos), DelayLoop: 60 * time.Second, ConnectTimeout: 5 * time.Second, Quorum: 1, Weight: 1}
	w := st.Values()
	switch {
	case len(w) >= 2 && w[0] == "fwmark":
		n, err := strconv.ParseUint(w[1], 10, 32)
		if err != nil || n == 0 {
			b.report(st, parser.SevGeneral, "virtual server fwmark '%s' invalid - skipping", w[1])
			return
		}
		vs.FWMark = uint32(n)
	case len(w) >= 2 && w[0] == "group":
		vs.Group = w[1]
	case len(w) >= 1:
		a, err := netip.ParseAddr(w[0])
		if err != nil {
			b.report(st, parser.SevGeneral, "Invalid virtual server IP address %s - skipping", w[0])
			return
		}
		vs.Addr = a
		if len(w) > 1 {
			p, err := strconv.Atoi(w[1])
			if err != nil || p < 0 || p > 65535 {
				b.report(st, parser.SevGeneral, "Invalid virtual server port %s - skipping", w[1])
				return
			}
			vs.Port = p
		}
	default:
		b.report(st, parser.SevGeneral, "virtual_server requires an address, 'fwmark N' or 'group NAME' - skipping")
		return
	}
	var retry *int
	var dbr, warmup *time.Duration
	alphaSet := false
	for _, c := range st.Children() {
		switch c.Name() {
		case "ip_family":
			if v, ok := b.arg(c, 0); ok {
				if v != "inet" && v != "inet6" {
					b.report(c, parser.SevGeneral, "unknown address family %s", v)
					continue
				}
				vs.Family = v
			}
		case "retry":
			if n, ok := b.intArg(c, 0, 0, 1<<31-1); ok {
				retry = &n
			}
		case "delay_before_retry":
			if d, ok := b.timerArg(c, 0); ok {
				dbr = &d
			}
		case "warmup":
			if d, ok := b.timerArg(c, 0); ok {
				warmup = &d
			}
		case "connect_timeout":
			if d, ok := b.timerArg(c, 0); ok {
				vs.ConnectTimeout = d
			}
		case "delay_loop":
			if d, ok := b.timerArg(c, 0); ok && d > 0 {
				vs.DelayLoop = d
			}
		case "inhibit_on_failure":
			vs.InhibitOnFailure = b.boolOpt(c)
		case "lb_algo", "lvs_sched":
			if v, ok := b.arg(c, 0); ok {
				vs.Scheduler = b.intern(v)
			}
		case "hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback":
			vs.SchedFlags = append(vs.SchedFlags, c.Name())
		case "lb_kind", "lvs_method":
			vs.Forwarding, vs.Tunnel = b.forwarding(c)
		case "persistence_engine":
			if v, ok := b.arg(c, 0); ok {
				vs.PersistenceEngine = v
			}
		case "persistence_timeout":
			if len(c.Args) == 0 {
				vs.PersistenceTimeout = 6 * time.Minute
			} else {
				b.setSeconds(c, 1, 1<<31-1, &vs.PersistenceTimeout)
			}
		case "persistence_granularity":
			if v, ok := b.arg(c, 0); ok {
				vs.PersistenceGranularity = v
			}
		case "protocol":
			if v, ok := b.arg(c, 0); ok {
				switch strings.ToUpper(v) {
				case "TCP", "UDP", "SCTP":
					vs.Protocol = b.intern(strings.ToUpper(v))
				default:
					b.report(c, parser.SevGeneral, "Unknown protocol %s - ignoring", v)
				}
			}
		case "ha_suspend":
			vs.HASuspend = true
		case "smtp_alert":
			vs.SMTPAlert = b.boolOpt(c)
		case "virtualhost":
			if v, ok := b.arg(c, 0); ok {
				vs.VirtualHost = v
			}
		case "alpha":
			vs.Alpha, alphaSet = b.boolOpt(c), true
		case "omega":
			vs.Omega = b.boolOpt(c)
		case "quorum_up":
			vs.QuorumUp = b.script(c)
		case "quorum_down":
			vs.QuorumDown = b.script(c)
		case "quorum":
			b.setInt(c, 1, 1<<31-1, &vs.Quorum)
		case "hysteresis":
			b.setInt(c, 0, 1<<31-1, &vs.Hysteresis)
		case "weight":
			b.setInt(c, 1, 1<<31-1, &vs.Weight)
		case "sorry_server":
			if ss := b.serverAddr(c, vs); ss != nil {
				vs.SorryServer = &ss.rs
			}
		case "sorry_server_inhibit":
			vs.SorryServerInhibit = b.boolOpt(c)
		case "sorry_server_lvs_method":
			if vs.SorryServer == nil {
				b.report(c, parser.SevGeneral, "sorry_server_lvs_method requires a sorry_server first - ignoring")
				continue
			}
			vs.SorryServer.Forwarding, vs.SorryServer.Tunnel = b.forwarding(c)
		case "real_server":
			if rs := b.realServer(c, vs); rs != nil {
				vs.RealServers = append(vs.RealServers, rs)
			}
		default:
			b.keepTree(c, "virtual_server", &vs.Other)
		}
	}
	_ = alphaSet
	vs.Retry, vs.DelayBeforeRetry, vs.Warmup = retry, dbr, warmup
	b.resolveVS(vs)
	b.cfg.VirtualServers = append(b.cfg.VirtualServers, vs)
}

func (b *builder) forwarding(c *parser.Stmt) (Forwarding, *Tunnel) {
	v, ok := b.arg(c, 0)
	if !ok {
		return "", nil
	}
	switch v {
	case "NAT":
		return ForwardNAT, nil
	case "DR":
		return ForwardDR, nil
	case "TUN":
		t := &Tunnel{Type: "ipip"}
		w := c.Values()
		for i := 1; i < len(w); i++ {
			switch w[i] {
			case "type":
				if i+1 < len(w) {
					t.Type = w[i+1]
					i++
				}
			case "port":
				if i+1 < len(w) {
					t.Port, _ = strconv.Atoi(w[i+1])
					i++
				}
			case "nocsum", "csum", "remcsum":
				t.Checksum = w[i]
			}
		}
		return ForwardTUN, t
	}
	b.report(c, parser.SevGeneral, "PARSE ERROR: unknown [%s] routing method.", v)
	return "", nil
}

// serverAlloc places a server and the array of its first checker in one
// allocation: RealServer leaves just enough of its size class free for it.
type serverAlloc struct {
	rs    RealServer
	first [1]*Checker
}

// serverAddr reads `real_server|sorry_server IP [PORT]`.
func (b *builder) serverAddr(st *parser.Stmt, vs *VirtualServer) *serverAlloc {
	w := st.Values()
	if len(w) == 0 {
		b.report(st, parser.SevMissingParameter, "%s: missing parameter", st.Name())
		return nil
	}
	a, err := netip.ParseAddr(w[0])
	if err != nil {
		b.report(st, parser.SevGeneral, "Invalid %s IP address %s - skipping", st.Name(), w[0])
		return nil
	}
	x := &serverAlloc{rs: RealServer{Pos: toPos(st.Pos), Addr: a, Weight: -1, Retry: -1, ConnectTimeout: -1, DelayLoop: -1}}
	rs := &x.rs
	if len(w) > 1 {
		p, err := strconv.Atoi(w[1])
		if err != nil || p < 0 || p > 65535 {
			b.report(st, parser.SevGeneral, "Invalid %s port %s - skipping", st.Name(), w[1])
			return nil
		}
		rs.Port = p
	}
	return x
}

func (b *builder) realServer(st *parser.Stmt, vs *VirtualServer) *RealServer {
	x := b.serverAddr(st, vs)
	if x == nil {
		return nil
	}
	rs := &x.rs
	inhibit, alpha, smtp := (*bool)(nil), (*bool)(nil), (*bool)(nil)
	ckStart := len(b.ckPending)
	for _, c := range st.Children() {
		switch c.Name() {
		case "weight":
			b.setInt(c, 0, 65535, &rs.Weight)
		case "lvs_method":
			rs.Forwarding, rs.Tunnel = b.forwarding(c)
		case "uthreshold":
			b.setInt(c, 0, 1<<31-1, &rs.UThreshold)
		case "lthreshold":
			b.setInt(c, 0, 1<<31-1, &rs.LThreshold)
		case "inhibit_on_failure":
			inhibit = boolp(b.boolOpt(c))
		case "notify_up":
			rs.NotifyUp = b.script(c)
		case "notify_down":
			rs.NotifyDown = b.script(c)
		case "alpha":
			alpha = boolp(b.boolOpt(c))
		case "retry":
			b.setInt(c, 0, 1<<31-1, &rs.Retry)
		case "delay_before_retry":
			if d, ok := b.timerArg(c, 0); ok {
				rs.DelayBeforeRetry = &d
			}
		case "warmup":
			if d, ok := b.timerArg(c, 0); ok {
				rs.Warmup = &d
			}
		case "connect_timeout":
			if d, ok := b.timerArg(c, 0); ok {
				rs.ConnectTimeout = d
			}
		case "delay_loop":
			if d, ok := b.timerArg(c, 0); ok {
				rs.DelayLoop = d
			}
		case "smtp_alert":
			smtp = boolp(b.boolOpt(c))
		case "virtualhost":
			if v, ok := b.arg(c, 0); ok {
				rs.VirtualHost = v
			}
		case "HTTP_GET", "SSL_GET", "TCP_CHECK", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK":
			if ck := b.checker(c); ck != nil {
				if rs.Checkers == nil {
					rs.Checkers = x.first[:0]
				}
				rs.Checkers = append(rs.Checkers, ck)
			}
		default:
			b.keepTree(c, "real_server", &rs.Other)
		}
	}
	// Inheritance from the virtual server is resolved in finish(), once the
	// whole virtual_server block (whose keywords may follow) is known.
	b.rsPending = append(b.rsPending, rsInherit{rs: rs, inhibit: inhibit, alpha: alpha, smtp: smtp, ckFrom: ckStart, ckTo: len(b.ckPending)})
	return rs
}

type rsInherit struct {
	rs                   *RealServer
	inhibit, alpha, smtp *bool
	ckFrom, ckTo         int // its checkers in builder.ckPending
}

// String renders an entry as keepalived's format_vsge does.
func (e VSGEntry) String() string {
	switch {
	case e.IsMark:
		return fmt.Sprintf("FWM %d", e.FWMark)
	case e.First != e.Last:
		return fmt.Sprintf("%s-%s,%d", e.First, e.Last, e.Port)
	}
	return fmt.Sprintf("%s,%d", e.First, e.Port)
}
