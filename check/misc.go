package check

import (
	"context"
	"errors"
	"fmt"

	"keepalived-go/config"
	"keepalived-go/internal/script"
)

func init() {
	register(config.MiscCheck, &kind{policy: PolicyMisc, build: newMisc, timing: miscTiming, attempt: logMisc})
}

// miscTiming: an attempt is bounded by misc_timeout, else delay_loop,
// else defaultAttemptTimeout.
func miscTiming(t *Timing, ck *config.Checker) {
	if ck.MiscOpts() != nil {
		t.AttemptTimeout = ck.MiscOpts().Timeout
	}
	if t.AttemptTimeout <= 0 {
		t.AttemptTimeout = ck.DelayLoop
	}
	if t.AttemptTimeout <= 0 {
		t.AttemptTimeout = defaultAttemptTimeout
	}
}

// MiscCheck is MISC_CHECK: misc_path run without a shell (split into argv
// as keepalived splits it), killed after misc_timeout (the ctx deadline).
// Exit 0 is success; with misc_dynamic, exit 2..255 is success too and sets
// the real server's weight to status-2; anything else is a failure.
type MiscCheck struct {
	Argv     []string
	UID, GID uint32
	Dynamic  bool
	// RSWeight is the real server's configured weight, which a dynamic
	// result replaces.
	RSWeight int
	Runner   script.Runner
}

// MiscError is a failed script run, with what keepalived logs about it.
type MiscError struct {
	Status   int // exit status; -1 when signalled or timed out
	Signal   int
	TimedOut bool
	Err      error // exec failure, if any
}

func (e *MiscError) Error() string {
	switch {
	case e.TimedOut:
		return "timed out"
	case e.Signal != 0:
		return fmt.Sprintf("failed (due to signal %d)", e.Signal)
	case e.Err != nil:
		return "failed: " + e.Err.Error()
	}
	return fmt.Sprintf("failed (exited with status %d)", e.Status)
}

func (e *MiscError) Unwrap() []error {
	if e.TimedOut {
		return []error{ErrScript, ErrTimeout}
	}
	return []error{ErrScript, e.Err}
}

func newMisc(ck *config.Checker, env Env) (Checker, error) {
	if ck.MiscOpts() == nil || ck.MiscOpts().Path == nil {
		return nil, errors.New("MISC_CHECK has no misc_path")
	}
	res := ck.MiscOpts().Path.Resolved()
	if !res.Usable() {
		return nil, &ScriptDisabledError{Argv: res.Cmd.Argv, Err: res.Err}
	}
	c := &MiscCheck{Argv: res.Cmd.Argv, UID: res.Cmd.UID, GID: res.Cmd.GID, Dynamic: ck.MiscOpts().Dynamic, Runner: env.Runner}
	if env.RS != nil {
		c.RSWeight = env.RS.Weight
	}
	if c.Runner == nil {
		c.Runner = &script.ExecRunner{}
	}
	return c, nil
}

// ScriptDisabledError is a MISC_CHECK whose script may not run (keepalived's
// check_misc_script_security): the checker is left out, as keepalived
// frees it.
type ScriptDisabledError struct {
	Argv []string
	Err  error
}

func (e *ScriptDisabledError) Error() string {
	return fmt.Sprintf("misc script %s: %v", script.CmdString(e.Argv), e.Err)
}

func (e *ScriptDisabledError) Unwrap() error { return e.Err }

// logLine is keepalived's line for the disabled script ("" when keepalived
// logged why already, with the script security check's messages).
func (e *ScriptDisabledError) logLine() string {
	switch {
	case errors.Is(e.Err, script.ErrInsecure):
		return fmt.Sprintf("Disabling misc script %s due to insecure", script.CmdString(e.Argv))
	case errors.Is(e.Err, script.ErrNotFound):
		return fmt.Sprintf("Disabling misc script %s since not found/accessible", script.CmdString(e.Argv))
	}
	return ""
}

// Check runs the script once.
func (c *MiscCheck) Check(ctx context.Context) error {
	_, err := c.CheckWeight(ctx)
	return err
}

// CheckWeight runs the script and returns the weight delta it sets.
func (c *MiscCheck) CheckWeight(ctx context.Context) (int, error) {
	err := c.Runner.Run(ctx, script.Command{Argv: c.Argv, UID: c.UID, GID: c.GID})
	if err == nil {
		return 0, nil
	}
	var ee *script.ExitError
	switch {
	case errors.As(err, &ee) && ee.Code >= 0:
		if c.Dynamic && ee.Code >= 2 && ee.Code <= 255 {
			return ee.Code - 2 - c.RSWeight, nil
		}
		return 0, &MiscError{Status: ee.Code}
	case errors.As(err, &ee):
		return 0, &MiscError{Status: -1, Signal: int(ee.Signal)}
	case errors.Is(err, script.ErrTimeout), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return 0, &MiscError{Status: -1, TimedOut: true}
	}
	return 0, &MiscError{Status: -1, Err: err}
}

// logMisc is MISC_CHECK's row hook: its lines replace the generic ones.
func logMisc(e *Engine, c *ckRun, o Outcome, err error) bool {
	e.logMisc(c, o, err)
	return true
}

func (e *Engine) logMisc(c *ckRun, o Outcome, err error) {
	mc, _ := c.checker.(*MiscCheck)
	if mc == nil {
		return
	}
	if o.Verdict == Same && !(err != nil && e.logsAllFailures(c)) {
		return
	}
	argv0 := mc.Argv[0]
	prefix := fmt.Sprintf("Misc check for [%s VS %s] by [%s] ", c.rs.rsKey, c.rs.vsKey, argv0)
	if err == nil {
		if o.Verdict == Up {
			e.log.Infof("%ssucceeded.", prefix)
		}
		return
	}
	retry := c.timing.Retry
	var msg string
	switch {
	case retry == 0:
		msg = " with retry disabled"
	case o.RetryIt == 1:
		msg = fmt.Sprintf(", will do %d %s", retry, plural(retry, "retry", "retries"))
	case o.RetryIt > 1:
		msg = fmt.Sprintf(" on retry %d/%d", o.RetryIt-1, retry)
	default:
		msg = fmt.Sprintf(" after %d %s", retry, plural(retry, "retry", "retries"))
	}
	var me *MiscError
	switch {
	case errors.As(err, &me) && me.TimedOut:
		e.log.Infof("%stimed out%s.", prefix, msg)
	case errors.As(err, &me) && me.Signal != 0:
		e.log.Infof("%sfailed%s (due to signal %d).", prefix, msg, me.Signal)
	case errors.As(err, &me) && me.Err == nil:
		e.log.Infof("%sfailed%s (exited with status %d).", prefix, msg, me.Status)
	default:
		e.log.Infof("%sfailed%s (%v).", prefix, msg, err)
	}
}
