package main

import (
	"context"
	"errors"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/script"
)

// runStartStop runs global_defs startup_script (startup true, before the
// engines start) or shutdown_script (after they stopped) to its end or its
// timeout, as keepalived's main.c run_startup_script and
// stop_keepalived's shutdown part do; the daemon goes on either way. The
// config's security pass has already dropped a script that may not run.
func (d *daemon) runStartStop(cfg *config.Config, startup bool) {
	g := &cfg.Global
	s, timeout, typ := g.StartupScript, g.StartupScriptTimeout, "startup script"
	if !startup {
		s, timeout, typ = g.ShutdownScript, g.ShutdownScriptTimeout, "shutdown script"
	}
	sc := runnable(s)
	if sc == nil {
		return
	}
	if d.opts.logDetail {
		d.log.Infof("Running %s %s", typ, sc.Argv[0])
	}
	if timeout <= 0 {
		timeout = 10 * time.Second // keepalived's default
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	logf := func(format string, args ...any) { d.log.Infof(format, args...) }
	runner := &script.ExecRunner{Logf: logf}
	err := runner.Run(ctx, script.Command{Argv: sc.Argv, UID: sc.UID, GID: sc.GID})
	var ee *script.ExitError
	switch {
	case err == nil:
		if d.opts.logDetail {
			// startup_shutdown_script_completed: type already ends in
			// "script".
			d.log.Infof("%s script succeeded", typ)
		}
	case errors.Is(err, script.ErrTimeout):
		// handle_child_timeout; keepalived then sends SIGTERM and, 2 s
		// later, SIGKILL: the runner kills the process group at once.
		d.log.Infof("%s timed out", typ)
	case errors.As(err, &ee) && ee.Code > 0:
		d.log.Infof("%s script failed, status %d", typ, ee.Code)
	case errors.Is(err, script.ErrExec):
		// The runner logged keepalived's "Error exec-ing command" line.
	}
}
