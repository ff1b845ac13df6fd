package main

import (
	"strings"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/vrrp/trackproc"
)

// startProcessMonitor starts vrrp_track_process's monitor for the VRRP
// engine. keepalived opens the process connector before it enters a
// net_namespace (the connector answers only in the initial namespace);
// d.rootNetNS is that namespace when the daemon was moved, and a reload
// then never opens the socket again, as in keepalived.
func startProcessMonitor(d *daemon, cfg *config.Config) *trackproc.Monitor {
	return trackproc.Start(cfg, trackproc.MonitorOptions{
		Log:       logrus.NewEntry(d.log),
		LogDetail: d.opts.logDetail,
		NetNS:     d.rootNetNS,
		NoReopen:  d.rootNetNS != 0,
	})
}

// writeTracking is dump_tracking_obj_list with dump_tracking_vrrp.
func writeTracking(c *confWriter, refs []config.TrackRef) {
	for i, r := range refs {
		if i == 0 {
			c.f("   Tracking instances :")
		}
		c.f("     %s, weight %d%s", r.Name, r.Weight, map[bool]string{true: " reverse"}[r.Reverse])
	}
}

// processTracking is a vrrp_track_process's tracking_vrrp list
// (add_vrrp_to_track_process: an instance tracking it both ways takes the
// group's weight unless its own is 0).
func processTracking(cfg *config.Config, name string) []config.TrackRef {
	return trackingList(cfg, name, false,
		func(in *config.VRRPInstance) []config.TrackRef { return in.TrackProcesses },
		func(sg *config.SyncGroup) []config.TrackRef { return sg.TrackProcesses })
}

// writeTrackProcesses is dump_vprocess_list: the trackers with the
// monitor's counts.
func writeTrackProcesses(c *confWriter, env dumpEnv) {
	cfg := env.cfg
	if len(cfg.TrackProcesses) == 0 {
		return
	}
	c.f("------< VRRP Track processes >------")
	for _, p := range cfg.TrackProcesses {
		var st trackproc.Status
		if env.procs != nil {
			st, _ = env.procs.Tracker(p.Name)
		}
		c.f(" VRRP Track process = %s", p.Name)
		c.f("   Process = %s", p.Process)
		if len(p.Params) > 0 {
			c.f("   Parameters = %s", strings.Join(p.Params, " "))
		}
		switch p.ParamMatch {
		case "exact":
			c.f("   Param match")
		case "partial":
			c.f("   Param match = partial")
		case "initial":
			c.f("   Param match = initial")
		}
		c.f("   Min processes = %d", max(p.Quorum, 0))
		if p.QuorumMax >= 0 {
			c.f("   Max processes = %d", p.QuorumMax)
		}
		c.f("   Current processes = %d", st.Count)
		c.f("   Have quorum = %s", tf(st.Up))
		c.f("   Weight = %d%s", p.Weight, map[bool]string{true: " reverse"}[p.WeightReverse])
		c.f("   Terminate delay = %fs", p.TerminateDelay.Seconds())
		c.f("   Fork delay = %fs", p.ForkDelay.Seconds())
		c.f("   Fork delay timer %srunning", map[bool]string{false: "not "}[st.ForkPending])
		c.f("   Terminate delay timer %srunning", map[bool]string{false: "not "}[st.TerminatePending])
		c.f("   Full command = %s", tf(p.FullCommand))
		writeTracking(c, processTracking(cfg, p.Name))
	}
}
