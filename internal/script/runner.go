package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"keepalived-go/internal/errno"
)

// Logf receives keepalived-style log lines (printf format). nil discards;
// Printf calls it when set.
type Logf func(format string, args ...any)

func (l Logf) Printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// Sentinel errors of script execution.
var (
	// ErrTimeout: the script outlived its timeout and its process group was killed.
	ErrTimeout = errors.New("script timed out")
	// ErrCanceled: the script was killed because its context was canceled.
	ErrCanceled = errors.New("script canceled")
	// ErrExec: the script could not be started.
	ErrExec = errors.New("script exec failed")
	// ErrNoCommand: an empty argv.
	ErrNoCommand = errors.New("no command")
)

// Command is one script invocation.
type Command struct {
	// Argv is the full argument vector; Argv[0] is the path exec'd (no PATH
	// search: keepalived resolves bare names once, see CheckSecurity).
	Argv []string
	// UID and GID the script runs as. The switch (setgid, setgroups to just
	// GID, setuid) is only attempted when the runner is root or the ids
	// differ from ours, as a non-root keepalived cannot setgroups.
	UID, GID uint32
	// Env replaces the runner's environment when non-nil.
	Env []string
	// Dir replaces the runner's working directory when non-empty.
	Dir string
}

// Runner runs one command to completion. Canceling ctx kills the command's
// whole process group. It returns nil for exit status 0, an *ExitError for
// any other termination, or an error wrapping ErrExec, ErrTimeout or
// ErrCanceled.
type Runner interface {
	Run(ctx context.Context, cmd Command) error
}

// ExitError reports a script that ran and did not exit 0.
type ExitError struct {
	Code   int            // exit status, -1 when killed by a signal
	Signal syscall.Signal // the signal, when Code is -1
}

func (e *ExitError) Error() string {
	if e.Code < 0 {
		return fmt.Sprintf("killed by signal %d (%s)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExecRunner runs scripts as keepalived's system_call_script() does: a
// plain execve of argv without a shell (the "</file" test form alone goes
// through /bin/sh -c), stdin/stdout/stderr on /dev/null, in a new process
// group, with SIGTERM as parent-death signal, as the command's uid/gid with
// the supplementary groups reduced to the gid. The environment is the
// daemon's own (keepalived passes environ through); the working directory
// is "/" (keepalived's daemon chdir()s there and systemd starts it there).
type ExecRunner struct {
	Env  []string // nil: os.Environ() at run time
	Dir  string   // "": "/"
	Logf Logf
}

// Run implements Runner.
func (r *ExecRunner) Run(ctx context.Context, c Command) error {
	if len(c.Argv) == 0 {
		return ErrNoCommand
	}
	argv := c.Argv
	viaShell := IsFileTest(argv)
	if viaShell {
		argv = []string{"/bin/sh", "-c", CmdString(c.Argv)}
	}
	cmd := &exec.Cmd{Path: argv[0], Args: argv}
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = r.Env
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Dir = c.Dir
	if cmd.Dir == "" {
		cmd.Dir = r.Dir
	}
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if os.Geteuid() == 0 || c.UID != uint32(os.Geteuid()) || c.GID != uint32(os.Getegid()) {
		attr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{c.GID}}
	}
	cmd.SysProcAttr = attr

	if err := cmd.Start(); err != nil {
		r.Logf.Printf("Error exec-ing command '%s', error %d: %s", c.Argv[0], errno.Of(err), errno.Text(err))
		return fmt.Errorf("%w: %s: %w", ErrExec, c.Argv[0], err)
	}
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var err error
	var killed error
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-waited
		killed = ErrCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			killed = ErrTimeout
		}
	}
	if killed != nil {
		return fmt.Errorf("%w: %s (process group %d killed)", killed, c.Argv[0], pgid)
	}
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return &ExitError{Code: -1, Signal: ws.Signal()}
	}
	code := ws.ExitStatus()
	if viaShell {
		switch code {
		case 127:
			r.Logf.Printf("Couldn't find command: %s", argv[2])
		case 126:
			r.Logf.Printf("Couldn't execute command: %s", argv[2])
		}
	}
	return &ExitError{Code: code}
}
