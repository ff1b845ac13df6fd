package main

import (
	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// fileTracking is a track_file's tracking_obj list: the instances
// tracking it directly, in configuration order, then the members of the
// sync groups tracking it (add_obj_to_track_file: an instance tracking it
// both ways is listed once, with the group's weight and reverse unless
// its own weight is 0).
func fileTracking(cfg *config.Config, name string) []config.TrackRef {
	var out []config.TrackRef
	for _, in := range cfg.Instances {
		for _, r := range in.TrackFiles {
			if r.Name == name {
				r.Name = in.Name
				out = append(out, r)
			}
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, gr := range sg.TrackFiles {
			if gr.Name != name {
				continue
			}
			for _, m := range sg.Members {
				found := false
				for i := range out {
					if out[i].Name == m {
						found = true
						if out[i].Weight != 0 {
							out[i].Weight, out[i].Reverse = gr.Weight, gr.Reverse
						}
					}
				}
				if !found {
					r := gr
					r.Name = m
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// writeTrackFiles is dump_track_file_list: the files the VRRP engine
// follows (those tracked and found), with their resolved path and value.
func writeTrackFiles(c *confWriter, env dumpEnv, snap vrrpengine.Status) {
	if len(snap.Files) == 0 {
		return
	}
	c.f("------< VRRP Track files >------")
	for _, f := range snap.Files {
		c.f(" Track file = %s", f.Name)
		c.f("   File = %s", f.Path)
		c.f("   Status = %d", f.Value)
		c.f("   Weight = %d%s", f.Config.Weight, map[bool]string{true: " reverse"}[f.Config.WeightReverse])
		writeTracking(c, fileTracking(env.cfg, f.Name))
	}
}
