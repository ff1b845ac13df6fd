package main

import (
	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// fileTracking is a track_file's tracking_obj list
// (add_obj_to_track_file: an instance tracking it both ways takes the
// group's weight and reverse unless its own weight is 0).
func fileTracking(cfg *config.Config, name string) []config.TrackRef {
	return trackingList(cfg, name, true,
		func(in *config.VRRPInstance) []config.TrackRef { return in.TrackFiles },
		func(sg *config.SyncGroup) []config.TrackRef { return sg.TrackFiles })
}

// trackingList is a tracked object's list of trackers: the instances
// tracking it directly, in configuration order, then the members of the
// sync groups tracking it. An instance tracking it both ways is listed
// once, with the group's weight (and reverse, with groupReverse) unless
// its own weight is 0.
func trackingList(cfg *config.Config, name string, groupReverse bool,
	inst func(*config.VRRPInstance) []config.TrackRef, group func(*config.SyncGroup) []config.TrackRef) []config.TrackRef {
	var out []config.TrackRef
	for _, in := range cfg.Instances {
		for _, r := range inst(in) {
			if r.Name == name {
				r.Name = in.Name
				out = append(out, r)
			}
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, gr := range group(sg) {
			if gr.Name == name {
				out = addGroupTracking(out, sg.Members, gr, groupReverse)
			}
		}
	}
	return out
}

// addGroupTracking adds a sync group's tracking reference for each of its
// members.
func addGroupTracking(out []config.TrackRef, members []string, gr config.TrackRef, reverse bool) []config.TrackRef {
	for _, m := range members {
		found := false
		for i := range out {
			if out[i].Name != m {
				continue
			}
			found = true
			if out[i].Weight != 0 {
				out[i].Weight = gr.Weight
				if reverse {
					out[i].Reverse = gr.Reverse
				}
			}
		}
		if !found {
			r := gr
			r.Name = m
			out = append(out, r)
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
