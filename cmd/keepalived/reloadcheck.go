package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/parser"
)

// reloadCheck is global_defs reload_check_config of the running config.
// keepalived then runs its config test on the new file in a child before
// reloading, the child writing its findings to that file, and refuses the
// reload unless the test passes (main.c start_validate_reload_conf_child
// and reload_check_child_thread). Ours writes the same lines (the -t
// format) and, after them, an engine's refusal. A nil *reloadCheck does
// nothing: reload_check_config is not set.
type reloadCheck struct {
	path string
	f    *os.File // nil when the file could not be opened
	w    *bufio.Writer
}

// reloadCheckLog opens (truncating) the running config's
// reload_check_config file; nil when the setting is absent.
func (d *daemon) reloadCheckLog() *reloadCheck {
	if d.cfg == nil || d.cfg.Global.ReloadCheckConfig == "" {
		return nil
	}
	rc := &reloadCheck{path: d.cfg.Global.ReloadCheckConfig}
	f, err := os.OpenFile(rc.path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		d.log.Infof("truncate of config check log %s failed - %v", rc.path, err)
		return rc
	}
	rc.f, rc.w = f, bufio.NewWriter(f)
	return rc
}

func (rc *reloadCheck) line(s string) {
	if rc == nil || rc.w == nil {
		return
	}
	rc.w.WriteString(s)
	rc.w.WriteByte('\n')
}

// add writes an engine's refusal, if any.
func (rc *reloadCheck) add(err error) {
	if err != nil {
		rc.line(err.Error())
	}
}

// verdict writes the config test's findings and refuses what keepalived's
// test would (any exit status but 0).
func (rc *reloadCheck) verdict(diags *parser.Diagnostics) error {
	if rc == nil {
		return nil
	}
	for _, x := range diags.List {
		rc.line(x.Keepalived())
	}
	if code := diags.ExitCode(); code != 0 {
		return fmt.Errorf("configuration test failed (exit status %d)", code)
	}
	return nil
}

func (rc *reloadCheck) close(log *logrus.Logger) {
	if rc == nil || rc.f == nil {
		return
	}
	if err := errors.Join(rc.w.Flush(), rc.f.Close()); err != nil {
		log.Infof("config check log %s: %v", rc.path, err)
	}
}

// loadForReload reads the file for a reload: a malformed file is refused
// as well as one that cannot run, and with reload_check_config so is one
// keepalived's config test would fail.
func (d *daemon) loadForReload(rc *reloadCheck) (*config.Config, error) {
	return d.loadWith(true, rc.verdict)
}
