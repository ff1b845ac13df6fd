package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/internal/trackfile"
	"keepalived-go/vrrp/packet"
)

// trackFile is a track_file the instances follow, as keepalived's
// tracked_file_t: its number, read again when inotify reports the file
// written and closed or moved in, 0 once it is moved away or deleted
// (trackers/track_file.c process_inotify).
type trackFile struct {
	cfg   *config.TrackFile
	path  string // resolved (init_track_files)
	wd    int    // the watch on its directory, -1 without
	value int64  // last_status
}

// fileWatch is the engine's inotify descriptor, in the owner's epoll set
// while Run serves.
type fileWatch struct {
	w      *trackfile.Watcher
	inLoop bool
	// prio is how a file's change reaches the instance's priority when
	// it puts the instance in FAULT or takes it out: keepalived does
	// not call vrrp_set_effective_priority then. Entering FAULT it only
	// takes the file's share out of the total (the effective priority
	// stays as it was until the next change); leaving FAULT it sets the
	// effective priority from the total without a "Changing effective
	// priority" line or a priority notify.
	prio prioMode
}

type prioMode uint8

const (
	prioNormal prioMode = iota
	prioHold            // the total changes, the FSM's priority stays
	prioQuiet           // the FSM takes the total, silently
)

// setupFiles is init_track_files, at start and on every reload (after
// stop_track_files): the files something tracks are resolved, watched
// and read; the others are forgotten.
func (e *Engine) setupFiles(cfg *config.Config) {
	e.closeFileWatch()
	e.files = map[string]*trackFile{}
	tracked := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, r := range in.TrackFiles {
			tracked[r.Name] = true
		}
	}
	for _, g := range cfg.SyncGroups {
		for _, r := range g.TrackFiles {
			tracked[r.Name] = true
		}
	}
	for _, tf := range cfg.TrackFiles {
		if !tracked[tf.Name] {
			continue
		}
		initTrackFile(tf)
		path, exists, err := trackfile.Resolve(tf.File)
		switch {
		case errors.Is(err, trackfile.ErrNoDir):
			e.log.Infof("Track file directory for %s does not exist - removing", tf.Name)
			continue
		case err != nil:
			e.log.Infof("track file %s is not accessible - ignoring", tf.Name)
			continue
		}
		f := &trackFile{cfg: tf, path: path, wd: -1}
		e.files[tf.Name] = f
		if e.fw.w == nil {
			w, err := trackfile.NewWatcher()
			if err != nil {
				e.log.Infof("Unable to monitor track files")
				continue
			}
			e.fw.w = w
		}
		if f.wd, err = e.fw.w.Watch(filepath.Dir(path)); err != nil {
			e.log.Infof("track file %s: %v", tf.Name, err)
		}
		if exists {
			e.readTrackFile(f)
		}
	}
	e.watchFiles()
}

// initTrackFile writes a track_file's init_file value: when the file is
// missing, or with overwrite when it is a regular file (keepalived's
// track_file_end_handler, which the configuration left to the daemon).
func initTrackFile(tf *config.TrackFile) {
	if !tf.InitFile {
		return
	}
	st, err := os.Stat(tf.File)
	if err == nil && (!tf.Overwrite || !st.Mode().IsRegular()) {
		return
	}
	os.WriteFile(tf.File, []byte(strconv.Itoa(tf.InitValue)+"\n"), 0o644)
}

// watchFiles puts the inotify descriptor in the owner's epoll set.
func (e *Engine) watchFiles() {
	if e.fw.w == nil || e.fw.inLoop || e.loop == nil {
		return
	}
	if err := e.loop.Add(e.fw.w.FD(), unix.EPOLLIN, func(uint32) { e.fileEvents() }); err != nil {
		e.log.Infof("Unable to monitor track files: %v", err)
		return
	}
	e.fw.inLoop = true
}

// closeFileWatch is stop_track_files.
func (e *Engine) closeFileWatch() {
	if e.fw.w == nil {
		return
	}
	if e.fw.inLoop && e.loop != nil {
		e.loop.Remove(e.fw.w.FD())
	}
	e.fw.w.Close()
	e.fw = fileWatch{}
}

// readTrackFile is process_track_file at initialisation: the value is
// taken without tracking changes (the instances are weighed afterwards).
func (e *Engine) readTrackFile(f *trackFile) {
	v, err := trackfile.Read(f.path)
	if err != nil {
		e.log.Info(err.Error())
		return
	}
	f.value = v
}

// fileEvents is process_inotify.
func (e *Engine) fileEvents() {
	if e.fw.w == nil {
		return
	}
	evs, err := e.fw.w.Read()
	if err != nil {
		e.log.Infof("%v", err)
	}
	for _, ev := range evs {
		if ev.Unknown != 0 {
			e.log.Infof("Unknown inotify event 0x%x", ev.Unknown)
			continue
		}
		for _, tf := range e.cfg.TrackFiles {
			f := e.files[tf.Name]
			if f == nil || f.wd != ev.WD || filepath.Base(f.path) != ev.Name {
				continue
			}
			if ev.Gone {
				// The file has gone: as though it held 0.
				e.updateTrackFile(f, 0)
				continue
			}
			v, err := trackfile.Read(f.path)
			if err != nil {
				e.log.Info(err.Error())
				continue
			}
			e.updateTrackFile(f, v)
		}
	}
	e.woke = true
}

// updateTrackFile is update_track_file_status: each instance tracking
// the file is weighed again, with keepalived's --log-detail lines
// (process_update_vrrp_track_file_status).
func (e *Engine) updateTrackFile(f *trackFile, v int64) {
	if v == f.value {
		return
	}
	old := f.value
	f.value = v
	now := e.now()
	for _, u := range e.units {
		for _, m := range u.members {
			for _, r := range e.fileRefs(m, false) {
				if r.Name != f.cfg.Name {
					continue
				}
				if e.opts.LogDetail {
					e.logFileDetail(m, f, r, old)
				}
				_, wasFault := fileEffect(old, r.Weight, r.Reverse)
				_, fault := fileEffect(v, r.Weight, r.Reverse)
				switch {
				case fault && !wasFault:
					e.fw.prio = prioHold
				case wasFault && !fault:
					e.fw.prio = prioQuiet
				}
				e.refreshTracking(m, now)
				e.fw.prio = prioNormal
			}
		}
	}
}

func (e *Engine) logFileDetail(m *inst, f *trackFile, r config.TrackRef, old int64) {
	_, wasFault := fileEffect(old, r.Weight, r.Reverse)
	delta, fault := fileEffect(f.value, r.Weight, r.Reverse)
	switch {
	case fault && !wasFault:
		e.log.Infof("(%s): tracked file %s now FAULT state", m.cfg.Name, f.cfg.Name)
	case wasFault && !fault:
		e.log.Infof("(%s): tracked file %s leaving FAULT state", m.cfg.Name, f.cfg.Name)
		if delta != 0 && m.fsm.Config().Priority != packet.PriorityOwner {
			_, w := e.trackState(m)
			e.log.Infof("(%s) Setting effective priority to %d", m.cfg.Name, max(1, min(int(m.fsm.Config().Priority)+w, packet.PriorityOwner-1)))
		}
	}
}

// fileEffect is what a track_file's value does to an instance tracking
// it with weight and reverse (vrrp_track.c and track_file.c): with
// weight 0, a non-zero value (reverse: zero) is a FAULT; otherwise
// value * weight, negated by reverse, held to [-254, 253], is added to
// the priority, and -254 is a FAULT.
func fileEffect(value int64, weight int, reverse bool) (delta int, fault bool) {
	if weight == 0 {
		return 0, (value != 0) != reverse
	}
	mult := int64(1)
	if reverse {
		mult = -1
	}
	st := value * int64(weight) * mult
	if st <= -(packet.PriorityOwner - 1) {
		return 0, true
	}
	return int(min(st, packet.PriorityOwner-2)), false
}

// fileRefs are the files m tracks with the weight keepalived applies:
// the instance's, then its sync group's; a file tracked both ways counts
// once, with the group's weight and reverse unless the instance's weight
// is 0 (add_obj_to_track_file, which logs that, as warn asks here).
func (e *Engine) fileRefs(m *inst, warn bool) []config.TrackRef {
	var group []config.TrackRef
	if g := e.groupOf(m); g != nil {
		group = g.TrackFiles
	}
	return e.mergeRefs(m, "track_file", m.cfg.TrackFiles, group, true, warn)
}

// mergeRefs adds a sync group's tracking references to an instance's
// own: one tracked both ways counts once, with the group's weight (and
// reverse, with groupReverse) unless the instance's weight is 0, and
// keepalived's warning when warn is set.
func (e *Engine) mergeRefs(m *inst, what string, own, group []config.TrackRef, groupReverse, warn bool) []config.TrackRef {
	refs := append([]config.TrackRef(nil), own...)
	for _, gr := range group {
		dup := false
		for i := range refs {
			if refs[i].Name != gr.Name {
				continue
			}
			dup = true
			if warn {
				e.log.Infof("(%s) %s %s is configured on VRRP instance and sync group. Remove vrrp instance config", m.cfg.Name, what, gr.Name)
			}
			if refs[i].Weight != 0 {
				refs[i].Weight = gr.Weight
				if groupReverse {
					refs[i].Reverse = gr.Reverse
				}
			}
		}
		if !dup {
			refs = append(refs, gr)
		}
	}
	return refs
}

// fileState is what the tracked files do to m now: the FAULT keys
// ("file:NAME") and the weight.
func (e *Engine) fileState(m *inst, faults map[string]bool) int {
	weight := 0
	for _, r := range e.fileRefs(m, false) {
		f := e.files[r.Name]
		if f == nil {
			continue // removed: nothing tracks it any more
		}
		d, fault := fileEffect(f.value, r.Weight, r.Reverse)
		if fault {
			faults["file:"+r.Name] = true
		}
		weight += d
	}
	return weight
}

// logFileFaults logs, at start and on reload, the merge of instance and
// sync group tracking and the instances starting in FAULT because of a
// tracked file (initialise_vrrp_file_tracking_priorities: file by file,
// each file's instances in the order they were added).
func (e *Engine) logFileFaults() {
	type tracking struct {
		m *inst
		r config.TrackRef
	}
	var own, group []tracking
	for _, u := range e.units {
		for _, m := range u.members {
			if m.removed {
				continue
			}
			refs := e.fileRefs(m, true)
			for i, r := range refs {
				if i < len(m.cfg.TrackFiles) {
					own = append(own, tracking{m, r})
				} else {
					group = append(group, tracking{m, r})
				}
			}
		}
	}
	order := map[string]int{}
	for i, ci := range e.cfg.Instances {
		order[ci.Name] = i
	}
	for i := 1; i < len(own); i++ {
		for j := i; j > 0 && order[own[j].m.cfg.Name] < order[own[j-1].m.cfg.Name]; j-- {
			own[j], own[j-1] = own[j-1], own[j]
		}
	}
	all := append(own, group...)
	for _, tf := range e.cfg.TrackFiles {
		f := e.files[tf.Name]
		if f == nil {
			continue
		}
		for _, t := range all {
			if t.r.Name != tf.Name {
				continue
			}
			if _, fault := fileEffect(f.value, t.r.Weight, t.r.Reverse); fault {
				e.log.Infof("(%s): entering FAULT state (tracked file %s has status %d)", t.m.cfg.Name, tf.Name, initFileStatus(f.value, t.r))
			}
		}
	}
}

// initFileStatus is the status initialise_vrrp_file_tracking_priorities
// logs: -254 for a weight 0 fault, else value * weight (reversed), as the
// C int it computes.
func initFileStatus(v int64, r config.TrackRef) int32 {
	if r.Weight == 0 {
		return -(packet.PriorityOwner - 1)
	}
	mult := int64(1)
	if r.Reverse {
		mult = -1
	}
	return int32(v * int64(r.Weight) * mult)
}

// fileTrackingStatus lists the files m tracks for Status.
func (e *Engine) fileTrackingStatus(m *inst) []TrackStatus {
	var out []TrackStatus
	for _, r := range e.fileRefs(m, false) {
		f := e.files[r.Name]
		if f == nil {
			continue
		}
		out = append(out, TrackStatus{Kind: TrackFile, Name: r.Name, Weight: r.Weight, Reverse: r.Reverse, Known: true, Up: f.value == 0, Value: int(f.value)})
	}
	return out
}
