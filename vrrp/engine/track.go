package engine

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp"
)

// trackScript is one vrrp_script with keepalived's rise/fall counter: result
// runs from 0 to rise+fall-1, the script is up from rise on.
type trackScript struct {
	cfg     *config.VRRPScript
	cmd     script.Command
	bad     bool // could not be parsed or its user resolved
	next    time.Duration
	running bool
	gen     int
	result  int
	init    bool // no run finished yet
	known   bool // up is meaningful
	up      bool
	lastRC  int
}

type scriptResult struct {
	name string
	gen  int
	err  error
}

// setupScripts (re)creates the vrrp_scripts of cfg, keeping the state of
// those whose definition did not change.
func (e *Engine) setupScripts(cfg *config.Config, old map[string]*trackScript) {
	e.scripts = map[string]*trackScript{}
	now := e.now()
	for _, sc := range cfg.Scripts {
		if o := old[sc.Name]; o != nil && sameConfig(o.cfg, sc) {
			o.cfg = sc
			o.bad = !e.scriptCmd(sc, o)
			e.scripts[sc.Name] = o
			continue
		}
		s := &trackScript{cfg: sc, next: now, init: true, lastRC: -1, result: max(sc.Rise, 1) - 1}
		if o := old[sc.Name]; o != nil {
			s.gen = o.gen + 1
		}
		if sc.InitFail {
			s.result, s.known, s.up = 0, true, false
		}
		s.bad = !e.scriptCmd(sc, s)
		e.scripts[sc.Name] = s
	}
	e.files = map[string]*trackFile{}
	for _, tf := range cfg.TrackFiles {
		f := &trackFile{cfg: tf}
		if tf.InitFile {
			if _, err := os.Stat(tf.File); errors.Is(err, os.ErrNotExist) {
				os.WriteFile(tf.File, []byte(strconv.Itoa(tf.InitValue)+"\n"), 0o644)
			} else if tf.Overwrite {
				os.WriteFile(tf.File, []byte(strconv.Itoa(tf.InitValue)+"\n"), 0o644)
			}
		}
		f.poll(now)
		e.files[tf.Name] = f
	}
}

func (e *Engine) runScript(s *trackScript, now time.Duration) {
	if s.bad {
		s.next = now + time.Hour
		return
	}
	s.running = true
	timeout := s.cfg.Timeout
	if timeout <= 0 {
		timeout = s.cfg.Interval
	}
	name, gen, cmd := s.cfg.Name, s.gen, s.cmd
	ctx := e.runCtx
	e.scWG.Add(1)
	go func() {
		defer e.scWG.Done()
		c, cancel := context.WithTimeout(ctx, timeout)
		err := e.opts.Runner.Run(c, cmd)
		cancel()
		select {
		case e.results <- scriptResult{name: name, gen: gen, err: err}:
		case <-ctx.Done():
		}
	}()
}

// scriptDone is keepalived's vrrp_script_child_thread result handling.
func (e *Engine) scriptDone(r scriptResult) {
	s := e.scripts[r.name]
	if s == nil || s.gen != r.gen {
		return
	}
	now := e.now()
	s.running = false
	s.next = now + max(s.cfg.Interval, 10*time.Millisecond)
	ok := r.err == nil
	exitType, reason := "succeeded", ""
	var ee *script.ExitError
	switch {
	case ok:
		if s.lastRC != 0 {
			e.log.Infof("Script `%s` now returning 0", s.cfg.Name)
		}
		s.lastRC = 0
	case errors.As(r.err, &ee) && ee.Code >= 0:
		if s.lastRC != ee.Code {
			e.log.Infof("Script `%s` now returning %d", s.cfg.Name, ee.Code)
		}
		s.lastRC = ee.Code
		exitType, reason = "failed", " (exited with status "+strconv.Itoa(ee.Code)+")"
	case errors.As(r.err, &ee):
		exitType, reason = "failed", " (due to signal "+strconv.Itoa(int(ee.Signal))+")"
	case errors.Is(r.err, script.ErrTimeout) || errors.Is(r.err, context.DeadlineExceeded):
		exitType = "timed_out"
	default:
		exitType = "failed"
	}
	rise, fall := max(s.cfg.Rise, 1), max(s.cfg.Fall, 1)
	changed := false
	if ok {
		if s.result < rise-1 {
			s.result++
		} else if s.result != rise+fall-1 {
			if s.result < rise {
				e.log.Infof("VRRP_Script(%s) %s", s.cfg.Name, exitType)
				s.up, s.known, changed = true, true, true
			}
			s.result = rise + fall - 1
		}
	} else {
		if s.result > rise {
			s.result--
		} else {
			if s.result == rise || s.init {
				e.log.Infof("VRRP_Script(%s) %s%s", s.cfg.Name, exitType, reason)
				s.up, s.known, changed = false, true, true
			}
			s.result = 0
		}
	}
	s.init = false
	if changed {
		e.refreshAll()
	}
}

// trackFile is a track_file: an integer read from a file. keepalived
// watches it with inotify; polling once a second is enough for the
// priority changes it drives.
type trackFile struct {
	cfg   *config.TrackFile
	value int
	next  time.Duration
}

func (f *trackFile) poll(now time.Duration) bool {
	f.next = now + time.Second
	v := 0
	if b, err := os.ReadFile(f.cfg.File); err == nil {
		fields := strings.Fields(string(b))
		if len(fields) > 0 {
			v, _ = strconv.Atoi(fields[0])
		}
	}
	changed := v != f.value
	f.value = v
	return changed
}

// applyReload is the running engine's half of Reload.
func (e *Engine) applyReload(cfg *config.Config) error {
	units, err := e.build(cfg)
	if err != nil {
		return err
	}
	oldCfg := e.cfg
	oldByName := map[string]*inst{}
	for _, u := range e.units {
		for _, m := range u.members {
			oldByName[m.cfg.Name] = m
		}
	}
	sameGroup := func(a, b *config.Config, name string) bool {
		find := func(c *config.Config) *config.SyncGroup {
			for _, g := range c.SyncGroups {
				for _, m := range g.Members {
					if m == name {
						return g
					}
				}
			}
			return nil
		}
		return sameConfig(find(a), find(b))
	}
	unchanged := func(m *inst) bool {
		o := oldByName[m.cfg.Name]
		// Global settings matter through what they put in vrrp.Config
		// (multicast groups, unicast source checks ...) and the garp
		// intervals; anything else in global_defs leaves instances alone.
		return o != nil && sameConfig(o.cfg, m.cfg) && sameConfig(o.built, m.built) && sameGroup(oldCfg, cfg, m.cfg.Name)
	}
	// addressesOnly: the instance differs only in its VIP lists, the usual
	// reload (a VIP added); it keeps running and just changes addresses.
	addressesOnly := func(m *inst) bool {
		o := oldByName[m.cfg.Name]
		if o == nil || !sameGroup(oldCfg, cfg, m.cfg.Name) {
			return false
		}
		oc, nc := *o.cfg, *m.cfg
		oc.VIPs, nc.VIPs, oc.ExcludedVIPs, nc.ExcludedVIPs = nil, nil, nil, nil
		ob, nb := o.built, m.built
		ob.VIPs, nb.VIPs, ob.ExcludedVIPs, nb.ExcludedVIPs = nil, nil, nil, nil
		return sameConfig(oc, nc) && sameConfig(ob, nb)
	}
	now := e.now()
	var keep, fresh []*unit
	kept := map[string]bool{}
	for _, u := range units {
		all := true
		for _, m := range u.members {
			all = all && (unchanged(m) || addressesOnly(m))
		}
		if !all {
			fresh = append(fresh, u)
			continue
		}
		// Carry the running unit over, with new address lists where they changed.
		ou := oldByName[u.members[0].cfg.Name].u
		for _, m := range u.members {
			o := oldByName[m.cfg.Name]
			if unchanged(m) {
				continue
			}
			for p, a := range m.addrs {
				o.addrs[p] = a
			}
			o.cfg, o.built = m.cfg, m.built
			o.vc.VIPs, o.vc.ExcludedVIPs = m.built.VIPs, m.built.ExcludedVIPs
			e.log.Infof("(%s) reload: virtual addresses changed, state kept", m.cfg.Name)
			e.run(ou, ou.step(o.idx, vrrp.AddressesChanged{Now: now, VIPs: m.built.VIPs, Exclude: m.built.ExcludedVIPs}))
		}
		for _, m := range ou.members {
			kept[m.cfg.Name] = true
		}
		keep = append(keep, ou)
	}
	for _, u := range e.units {
		for i, m := range u.members {
			if kept[m.cfg.Name] {
				continue
			}
			e.run(u, u.step(i, vrrp.Shutdown{Now: now, Deleted: true}))
			m.removed = true
			e.removeVMAC(m)
			delete(e.byName, m.cfg.Name)
			delete(e.byKey, rxKey{m.vc.Interface, m.vc.IPv6, m.vc.VRID})
		}
	}
	e.cfg = cfg
	e.units = append(keep, fresh...)
	e.setupScripts(cfg, e.scripts)
	e.ensureVMACs(fresh)
	e.syncConns()
	for _, u := range fresh {
		e.startUnit(u)
	}
	e.refreshAll()
	return nil
}

// scriptCmd takes the command of a vrrp_script as the configuration
// resolved it (config.ResolveScripts), and reports whether it may run.
// Like keepalived, a script that may not run is taken out of the
// instances tracking it (check_track_script_secure): why was logged when
// the configuration was resolved, and what that does to tracking here.
func (e *Engine) scriptCmd(sc *config.VRRPScript, s *trackScript) bool {
	if sc.Script == nil {
		return false
	}
	res := sc.Script.Resolved()
	s.cmd = res.Cmd
	switch {
	case res.Usable():
		return true
	case errors.Is(res.Err, script.ErrInsecure):
		e.log.Infof("Disabling track script %s due to insecure", sc.Name)
	case errors.Is(res.Err, script.ErrNotFound):
		e.log.Infof("Disabling track script %s since not found/accessible", sc.Name)
	case errors.Is(res.Err, script.ErrNotExecutable):
	default:
		e.log.Errorf("VRRP_Script(%s) cannot run %q: %v", sc.Name, sc.Script.Command, res.Err)
	}
	return false
}
