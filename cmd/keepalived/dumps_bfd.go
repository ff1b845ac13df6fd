package main

import (
	"fmt"
	"time"

	bfdengine "keepalived-go/bfd/engine"
	"keepalived-go/bfd/packet"
	"keepalived-go/check"
	"keepalived-go/config"
)

// bfdDataDump is dump_bfd_data (keepalived_bfd.data, written by
// keepalived's BFD process on SIGUSR1): global_defs as that process sees
// them, its input socket and every session (bfd_data.c dump_bfd).
// keepalived prints its thread pointers; ours are the Go addresses of
// the session's timers, "0x(nil)" when one is not armed, so a reader
// can tell which run as keepalived's dump tells.
func bfdDataDump(env dumpEnv, st bfdengine.Status, epoch time.Time) []byte {
	var c confWriter
	writeGlobal(&c, env, procParent)
	c.f("------< BFD Data >------")
	c.f(" fd_in = %d", st.InFD)
	c.f(" thread_in = 0x%p", &st)
	if len(st.Sessions) > 0 {
		c.f("------< BFD Topology >------")
	}
	for i := range st.Sessions {
		writeBFDSession(&c, &st.Sessions[i], epoch)
	}
	return c.b.Bytes()
}

// threadPtr is keepalived's "0x%p" of a thread: "0x(nil)" when none runs.
func threadPtr(running bool, p any) string {
	if !running {
		return "0x(nil)"
	}
	return fmt.Sprintf("0x%p", p)
}

// writeBFDSession is dump_bfd with its state variables (fp set).
func writeBFDSession(c *confWriter, s *bfdengine.SessionStatus, epoch time.Time) {
	bi := s.Config
	c.f(" BFD Instance = %s", s.Name)
	c.f("   Neighbor IP = %s", s.Neighbor)
	if s.Source.IsValid() {
		c.f("   Source IP = %s", s.Source)
	}
	c.f("   Required min RX interval = %d us", bi.MinRx.Microseconds())
	c.f("   Desired min TX interval = %d us", bi.MinTx.Microseconds())
	c.f("   Desired idle TX interval = %d us", bi.IdleTx.Microseconds())
	c.f("   Detection multiplier = %d", bi.Multiplier)
	ttl := "TTL"
	if s.Neighbor.Is6() {
		ttl = "hoplimit"
	}
	c.f("   %s = %d", ttl, bi.TTL)
	c.f("   max_hops = %d", bi.MaxHops)
	c.f("   passive = %s", tf(bi.Passive))
	c.f("   send event to VRRP process = %s", map[bool]string{true: "Yes", false: "No"}[s.VRRP])
	c.f("   send event to checker process = %s", map[bool]string{true: "Yes", false: "No"}[s.Checker])
	c.f("   fd_out %d", s.OutFD)
	c.f("   thread_open_fd_out %s", threadPtr(s.Retrying, &s.Retrying))
	// sands_* hold a timer only while keepalived suspends it for a
	// reload; a dump never sees one.
	c.f("   thread_out %s", threadPtr(s.Sending, &s.Sending))
	c.f("   sands_out = [disabled]")
	c.f("   thread_exp %s", threadPtr(s.Expiring, &s.Expiring))
	c.f("   sands_exp = [disabled]")
	c.f("   thread_rst %s", threadPtr(s.Resetting, &s.Resetting))
	c.f("   sands_rst = [disabled]")
	c.f("   send error = %s", tf(s.SendError))
	c.f("   local state = %s", bfdStateName(s.State))
	c.f("   remote state = %s", bfdStateName(s.RemoteState))
	c.f("   local discriminator = 0x%x", s.LocalDiscr)
	c.f("   remote discriminator = 0x%x", s.RemoteDiscr)
	c.f("   local diag = %s", bfdDiagName(s.LocalDiag))
	c.f("   remote diag = %s", bfdDiagName(s.RemoteDiag))
	c.f("   remote min tx intv = %d us", s.RemoteMinTx.Microseconds())
	c.f("   remote min rx intv = %d us", s.RemoteMinRx.Microseconds())
	c.f("   local demand = %d", 0)
	c.f("   remote demand = %d", map[bool]int{true: 1}[s.RemoteDemand])
	c.f("   remote detect multiplier = %d", s.RemoteDetectMult)
	c.f("   %spoll, %sfinal", map[bool]string{false: "!"}[s.Poll], map[bool]string{false: "!"}[s.Final])
	c.f("   local tx intv = %d us", s.TxInterval.Microseconds())
	c.f("   remote tx intv = %d us", s.RemoteTxInterval.Microseconds())
	c.f("   local detection time = %d us", s.DetectTime.Microseconds())
	c.f("   remote detection time = %d us", s.RemoteDetectTime.Microseconds())
	if !s.Seen {
		c.f("   last_seen = [never]")
		return
	}
	t := epoch.Add(s.LastSeen)
	us := t.Nanosecond() / 1000
	c.f("   last seen = %d.%06d (%s.%06d)", t.Unix(), us, t.Format("Mon Jan _2 15:04:05 2006"), us)
}

// bfdStateName is BFD_STATE_STR.
func bfdStateName(s packet.State) string {
	switch s {
	case packet.AdminDown:
		return "AdminDown"
	case packet.Down:
		return "Down"
	case packet.Init:
		return "Init"
	case packet.Up:
		return "Up"
	}
	return "Unknown"
}

// bfdDiagName is BFD_DIAG_STR.
func bfdDiagName(d packet.Diag) string {
	names := []string{"No Diagnostic", "Control Detection Time Expired", "Echo Function Failed",
		"Neighbor Signaled Session Down", "Forwarding Plane Reset", "Path Down", "Concatenated Path Down",
		"Administratively Down", "Reverse Concatenated Path Down"}
	if int(d) < len(names) {
		return names[d]
	}
	return "Unknown"
}

// bfdTracker is one tracking_obj_t of a vrrp_tracked_bfd.
type bfdTracker struct {
	instance string
	weight   int
	reverse  bool
}

// bfdTrackers are the instances tracking each session, in the order
// keepalived links them: every instance's own track_bfd, then each sync
// group's for each member, the group's weight replacing a weighted
// instance entry (add_vrrp_to_track_bfd).
func bfdTrackers(cfg *config.Config) map[string][]bfdTracker {
	out := map[string][]bfdTracker{}
	for _, in := range cfg.Instances {
		for _, r := range in.TrackBFDs {
			out[r.Name] = append(out[r.Name], bfdTracker{in.Name, r.Weight, r.Reverse})
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, r := range sg.TrackBFDs {
		members:
			for _, m := range sg.Members {
				for i, t := range out[r.Name] {
					if t.instance == m {
						if t.weight != 0 {
							out[r.Name][i].weight, out[r.Name][i].reverse = r.Weight, r.Reverse
						}
						continue members
					}
				}
				out[r.Name] = append(out[r.Name], bfdTracker{m, r.Weight, r.Reverse})
			}
		}
	}
	return out
}

// writeVRRPTrackBFDs is the "VRRP Track BFDs" part of dump_vrrp_data: the
// sessions the VRRP process knows, their state as last reported and who
// tracks them.
func writeVRRPTrackBFDs(c *confWriter, cfg *config.Config, up map[string]bool) {
	if len(cfg.VRRPTrackBFDs) == 0 {
		return
	}
	c.f("------< VRRP Track BFDs >------")
	trackers := bfdTrackers(cfg)
	for _, b := range cfg.VRRPTrackBFDs {
		c.f(" VRRP Track BFD = %s", b.Name)
		c.f("   Weight = %d%s", b.Weight, map[bool]string{true: " reverse"}[b.Reverse])
		c.f("   Bfd is %s", map[bool]string{true: "up", false: "down"}[up[b.Name]])
		c.f("   Tracking VRRP instances :")
		if ts := trackers[b.Name]; len(ts) > 0 {
			c.f("   Tracking instances :")
			for _, t := range ts {
				c.f("     %s, weight %d%s", t.instance, t.weight, map[bool]string{true: " reverse"}[t.reverse])
			}
		}
	}
}

// writeCheckerTrackBFDs is the "Checker track BFDs" part of
// dump_data_check: every session the checker process knows, and the real
// servers whose BFD_CHECK follows it.
func writeCheckerTrackBFDs(c *confWriter, cfg *config.Config, st check.Status) {
	if len(cfg.Checker.TrackBFDs) == 0 {
		return
	}
	byName := map[string][]string{}
	for _, vs := range st.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, n := range rsBFDs(&rs) {
				byName[n] = append(byName[n], rs.Name)
			}
		}
	}
	c.f("------< Checker track BFDs >------")
	for _, n := range cfg.Checker.TrackBFDs {
		c.f(" Checker Track BFD = %s", n)
		c.f("   Tracking RS :")
		for _, rs := range byName[n] {
			c.f("   %s", rs)
		}
	}
}

// rsBFDs are the sessions a real server's BFD_CHECKs follow.
func rsBFDs(rs *check.RealServerStatus) []string {
	var out []string
	for _, ck := range rs.Checkers {
		if ck.Kind == config.BFDCheck && ck.Config.BFDOpts() != nil {
			out = append(out, ck.Config.BFDOpts().Name)
		}
	}
	return out
}

// writeRSTrackedBFDs is dump_rs's "Tracked BFDs".
func writeRSTrackedBFDs(c *confWriter, rs *check.RealServerStatus) {
	names := rsBFDs(rs)
	if len(names) == 0 {
		return
	}
	c.f("   Tracked BFDs")
	for _, n := range names {
		c.f("     %s", n)
	}
}
