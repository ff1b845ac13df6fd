package engine

import (
	"context"
	"errors"
	"strconv"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/script"
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
	// atStart: made by the initial configuration, not a reload
	// (keepalived's SCRIPT_INIT_STATE_INIT, not _INIT_RELOAD).
	atStart bool
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
		o := old[sc.Name]
		if o != nil && sameConfig(o.cfg, sc) {
			o.cfg = sc
			o.bad = !e.scriptCmd(sc, o)
			e.scripts[sc.Name] = o
			e.scriptReloaded(o, o)
			continue
		}
		// keepalived's last_status starts at 0: a first success is not a
		// change.
		s := &trackScript{cfg: sc, next: now, init: true, result: max(sc.Rise, 1) - 1, atStart: old == nil}
		if sc.InitFail {
			s.result, s.known, s.up = 0, true, false
		}
		if o != nil {
			s.gen = o.gen + 1
			// A script still waiting for its first result at start stays
			// so (SCRIPT_INIT_STATE_INIT).
			s.atStart = o.init && o.atStart
			e.scriptReloaded(o, s)
		}
		s.bad = !e.scriptCmd(sc, s)
		e.scripts[sc.Name] = s
	}
	e.setupFiles(cfg)
}

// scriptReloaded is clear_diff_script for one script kept across a
// reload: unless the old one has no result yet, the new one takes the old
// result, scaled to its own rise and fall, and the old exit status, and
// keepalived's line says which way it went (for every script, changed or
// not).
func (e *Engine) scriptReloaded(o, s *trackScript) {
	if o.init {
		return
	}
	oRise, oFall := max(o.cfg.Rise, 1), max(o.cfg.Fall, 1)
	rise, fall := max(s.cfg.Rise, 1), max(s.cfg.Fall, 1)
	res := o.result
	if s != o {
		switch {
		case res < oRise && res == 0:
			res = 0
		case res < oRise:
			res = max(rise-(oRise-res), 0)
		case res == oRise+oFall-1:
			res = rise + fall - 1
		default:
			res = min(rise+(res-oRise), rise+fall-1)
		}
		s.result, s.lastRC, s.init = res, o.lastRC, false
		s.known, s.up = true, res >= rise
	}
	if o.result < oRise {
		e.log.Infof("VRRP_Script(%s) considered unsuccessful on reload", s.cfg.Name)
	} else {
		e.log.Infof("VRRP_Script(%s) considered successful on reload", s.cfg.Name)
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
		if ctx.Err() == nil {
			e.post(func() { e.scriptDone(scriptResult{name: name, gen: gen, err: err}) })
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
