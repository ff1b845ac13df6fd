package main

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"keepalived-go/check"
	"keepalived-go/config"
)

// checkDataDump is dump_data_check (keepalived_check.data, written by
// keepalived's checker process): global_defs as that process sees them and
// the virtual servers with the checkers' current view of each real server.
// Fields keepalived keeps only inside its checker process (IPVS flags,
// per-checker internals) are left out.
func checkDataDump(env dumpEnv, st check.Status) []byte {
	var c confWriter
	writeGlobal(&c, env, procChecker)
	if len(st.VirtualServers) > 0 {
		c.f("------< LVS Topology >------")
		c.f(" System is %s", "IP Virtual Server")
	}
	for i := range st.VirtualServers {
		writeCheckVS(&c, &st.VirtualServers[i])
	}
	writeCheckerTrackBFDs(&c, env.cfg, st)
	return c.b.Bytes()
}

// writeCheckVS is dump_vs: one virtual server and its real servers.
func writeCheckVS(c *confWriter, v *check.VirtualServerStatus) {
	vs := v.Config
	c.f(" ------< Virtual server >------")
	switch {
	case vs.Group != "":
		c.f(" VS GROUP = %s", vs.Group)
	case vs.FWMark != 0:
		c.f(" VS FWMARK = %d", vs.FWMark)
	default:
		c.f(" VS VIP = %s, VPORT = %d", vs.Addr, vs.Port)
	}
	if vs.VirtualHost != "" {
		c.f("   VirtualHost = %s", vs.VirtualHost)
	}
	fam := "inet"
	if vs.Addr.Is6() || vs.Family == "inet6" {
		fam = "inet6"
	}
	c.f("   Address family = %s", fam)
	c.f("   connection timeout = %s", decimalSecs(vs.ConnectTimeout))
	c.f("   delay_loop = %s", decimalSecs(vs.DelayLoop))
	c.f("   lvs_sched = %s", vs.Scheduler)
	if vs.PersistenceTimeout > 0 {
		c.f("   persistence timeout = %d", secs(vs.PersistenceTimeout))
	}
	proto := vs.Protocol
	if proto == "" {
		proto = "none"
	}
	c.f("   protocol = %s", proto)
	c.f("   alpha is %s", onOffCaps(vs.Alpha))
	c.f("   omega is %s", onOffCaps(vs.Omega))
	c.f("   Inhibit on failure is %s", onOffCaps(vs.InhibitOnFailure))
	c.f("   quorum = %d, hysteresis = %d", vs.Quorum, vs.Hysteresis)
	if vs.HASuspend {
		c.f("   Using HA suspend")
	}
	c.f("   Using smtp notification = %s", yesNo(vs.SMTPAlert))
	c.f("   default forwarding method = %s", vs.Forwarding)
	if vs.SorryServer != nil {
		c.f("   sorry server = %s", netip.AddrPortFrom(vs.SorryServer.Addr, uint16(vs.SorryServer.Port)))
	}
	for _, rs := range v.RealServers {
		writeCheckRS(c, vs, &rs)
	}
}

// writeCheckRS is dump_rs.
func writeCheckRS(c *confWriter, vs *config.VirtualServer, st *check.RealServerStatus) {
	rs, w := st.Config, st.Weight
	c.f("   ------< Real server >------")
	c.f("   RIP = %s, RPORT = %d, WEIGHT = %d EFF WEIGHT = %d", rs.Addr, rs.Port, w, w)
	fwd := rs.Forwarding
	if fwd == "" {
		fwd = vs.Forwarding
	}
	c.f("   forwarding method = %s", fwd)
	c.f("   Alpha is %s", onOffCaps(rs.Alpha))
	c.f("   connection timeout = %s", decimalSecs(rs.ConnectTimeout))
	c.f("   connection limit range = %d -> %d", rs.LThreshold, rs.UThreshold)
	c.f("   Delay loop = %s", decimalSecs(rs.DelayLoop))
	c.f("   Inhibit on failure is %s", onOffCaps(rs.InhibitOnFailure))
	c.f("   Using smtp notification = %s", yesNo(rs.SMTPAlert))
	c.f("   initial weight = %d", rs.Weight)
	c.f("   effective weight = %d", w)
	c.f("   alive = %d", map[bool]int{true: 1}[st.Alive])
	writeRSTrackedBFDs(c, st)
}

func onOffCaps(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// decimalSecs is keepalived's format_decimal with microsecond digits
// trimmed of trailing zeros.
func decimalSecs(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
