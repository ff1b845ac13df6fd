package main

import (
	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// notTrackIf is keepalived's VRRP_NOT_TRACK_IF: the weight an instance
// with dont_track_primary tracks its own interface with.
const notTrackIf = 255

// ifTracker is one entry of an interface's tracking_vrrp list.
type ifTracker struct {
	instance string
	weight   int
	reverse  bool
}

// ifTrackers builds every interface's tracking_vrrp list the way
// keepalived's add_vrrp_to_interface calls fill it: per instance in
// configuration order (vrrp_complete_instance: its track_interface
// entries, its own interface, its VMAC, the interfaces of its VIPs and
// eVIPs, of its tracked routes and rules), then the sync groups' tracked
// interfaces (sync_group_tracking_init), then the track_group entries of
// static addresses, routes and rules (static_track_group_init). A second
// entry for the same instance is merged into the first: the first keeps
// its place, and takes the new weight unless either is unweighted.
func ifTrackers(cfg *config.Config, snap vrrpengine.Status) map[string][]ifTracker {
	out := map[string][]ifTracker{}
	add := func(iface, inst string, weight int, reverse bool) {
		if iface == "" {
			return
		}
		for i := range out[iface] {
			t := &out[iface][i]
			if t.instance != inst {
				continue
			}
			if t.weight != 0 && weight != notTrackIf {
				t.weight, t.reverse = weight, reverse
			}
			return
		}
		out[iface] = append(out[iface], ifTracker{inst, weight, reverse})
	}
	for i := range snap.Instances {
		is := &snap.Instances[i]
		in := is.Config
		own := 0
		if in.DontTrackPrimary {
			own = notTrackIf
		}
		added := in.TrackInterfacesAdded
		if added == nil {
			added = trackedIfaces(is)
		}
		for _, r := range added {
			add(r.Name, is.Name, r.Weight, r.Reverse)
		}
		add(is.BaseInterface, is.Name, own, false)
		if is.VMAC != "" {
			add(is.VMAC, is.Name, own, false)
		}
		for _, v := range append(append([]config.VirtualAddress(nil), in.VIPs...), in.ExcludedVIPs...) {
			dev := v.Dev
			if dev == "" {
				dev = is.Interface
			}
			if v.NoTrack || (in.DontTrackPrimary && (dev == is.Interface || dev == is.BaseInterface)) {
				continue
			}
			add(dev, is.Name, 0, false)
		}
		for _, r := range in.Routes {
			if !r.NoTrack {
				add(r.Dev, is.Name, 0, false)
			}
		}
		for _, r := range in.Rules {
			if !r.NoTrack {
				add(r.IIf, is.Name, 0, false)
				add(r.OIf, is.Name, 0, false)
			}
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, t := range sg.TrackInterfaces {
			for _, m := range sg.Members {
				add(t.Name, m, t.Weight, t.Reverse)
			}
		}
	}
	staticTrackers(cfg, add)
	return out
}

// staticTrackers adds the track_group instances of static addresses,
// routes and rules to their interfaces (static_track_group_init).
func staticTrackers(cfg *config.Config, add func(iface, inst string, weight int, reverse bool)) {
	members := map[string][]string{}
	for _, tg := range cfg.TrackGroups {
		members[tg.Name] = tg.Instances
	}
	for _, a := range cfg.StaticAddresses {
		if a.TrackGroup != "" && !a.NoTrack {
			for _, m := range members[a.TrackGroup] {
				add(a.Dev, m, 0, false)
			}
		}
	}
	for _, r := range cfg.StaticRoutes {
		if r.TrackGroup != "" && !r.NoTrack {
			for _, m := range members[r.TrackGroup] {
				add(r.Dev, m, 0, false)
			}
		}
	}
	for _, r := range cfg.StaticRules {
		if r.TrackGroup != "" && !r.NoTrack {
			for _, m := range members[r.TrackGroup] {
				add(r.IIf, m, 0, false)
			}
		}
	}
}

// trackKind is how keepalived's dump_track_* functions separate a tracked
// object's name from its weight.
type trackKind string

const (
	trackIfKind     trackKind = " "  // dump_track_if
	trackScriptKind trackKind = " "  // dump_track_script
	trackFileKind   trackKind = ", " // dump_track_file_monitor
	trackProcKind   trackKind = ", " // dump_track_process
	trackBFDKind    trackKind = ": " // dump_tracked_bfd
)

// writeTrackList is one "Tracked ... :" list of an instance or sync group.
func writeTrackList(c *confWriter, title string, kind trackKind, refs []config.TrackRef, weightOf func(string) (int, bool)) {
	if len(refs) == 0 {
		return
	}
	c.f("%s", title)
	for _, r := range refs {
		w, rev := r.Weight, r.Reverse
		if !r.HasWeight && weightOf != nil {
			w, rev = weightOf(r.Name)
		}
		c.f("     %s%sweight %d%s", r.Name, kind, w, map[bool]string{true: " reverse"}[rev])
	}
}

// scriptWeight and fileWeight are the weights an unweighted track_script
// or track_file entry takes from its object.
func scriptWeight(cfg *config.Config) func(string) (int, bool) {
	return func(name string) (int, bool) {
		for _, s := range cfg.Scripts {
			if s.Name == name {
				return s.Weight, s.WeightReverse
			}
		}
		return 0, false
	}
}

func fileWeight(cfg *config.Config) func(string) (int, bool) {
	return func(name string) (int, bool) {
		for _, f := range cfg.TrackFiles {
			if f.Name == name {
				return f.Weight, f.WeightReverse
			}
		}
		return 0, false
	}
}

// scriptTracking is a vrrp_script's tracking_vrrp list: the instances
// tracking it, in configuration order (an unweighted entry with the
// script's weight), then the members of the sync groups tracking it
// (add_vrrp_to_track_script: an instance tracking it both ways is listed
// once, with the group's weight unless its own is 0).
func scriptTracking(cfg *config.Config, name string) []config.TrackRef {
	weightOf := scriptWeight(cfg)
	var out []config.TrackRef
	for _, in := range cfg.Instances {
		for _, r := range in.TrackScripts {
			if r.Name == name {
				if !r.HasWeight {
					r.Weight, r.Reverse = weightOf(name)
				}
				r.Name = in.Name
				out = append(out, r)
			}
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, gr := range sg.TrackScripts {
			if gr.Name != name {
				continue
			}
			if !gr.HasWeight {
				gr.Weight, gr.Reverse = weightOf(name)
			}
		members:
			for _, m := range sg.Members {
				for i := range out {
					if out[i].Name == m {
						if out[i].Weight != 0 {
							out[i].Weight, out[i].Reverse = gr.Weight, gr.Reverse
						}
						continue members
					}
				}
				r := gr
				r.Name = m
				out = append(out, r)
			}
		}
	}
	return out
}
