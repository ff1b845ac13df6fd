package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// outcome is what one program did with one file.
type outcome struct {
	Status string        `json:"status"` // exit | signal | timeout | error
	Code   int           `json:"code,omitempty"`
	Signal string        `json:"signal,omitempty"`
	Lines  []string      `json:"lines,omitempty"` // normalized diagnostics, in order
	Dur    time.Duration `json:"duration_ns"`
	Err    string        `json:"error,omitempty"`
}

// verdict is the first line of a record: "exit N", "signal NAME", "timeout".
func (o outcome) verdict() string {
	switch o.Status {
	case "exit":
		return "exit " + strconv.Itoa(o.Code)
	case "signal":
		return "signal " + o.Signal
	case "timeout":
		return "timeout"
	}
	return "error " + o.Err
}

// usable: the program neither crashed nor hung (the denominator).
func (o outcome) usable() bool { return o.Status == "exit" }

// runConfigTest runs `bin -t -f NAME args...` with cwd = the file's folder
// inside namespace ns, with a time limit. A hang is killed (its whole
// process group) and reported as a timeout; death by a signal as a crash.
func runConfigTest(ctx context.Context, bin, ns string, it item, timeout time.Duration, norm normalizer) outcome {
	args := append([]string{"netns", "exec", ns, bin, "-t", "-f", filepath.Base(it.Path)}, it.Args...)
	return runLimited(ctx, exec.Command("ip", args...), filepath.Dir(it.Path), timeout, norm)
}

func runLimited(ctx context.Context, cmd *exec.Cmd, dir string, timeout time.Duration, norm normalizer) outcome {
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return outcome{Status: "error", Err: err.Error()}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	timedOut := false
	select {
	case err = <-done:
	case <-time.After(timeout):
		timedOut = true
	case <-ctx.Done():
		timedOut = true
	}
	if timedOut {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	o := outcome{Dur: time.Since(start), Lines: norm.lines(stderr.String())}
	var ee *exec.ExitError
	switch {
	case timedOut:
		o.Status = "timeout"
	case err == nil:
		o.Status = "exit"
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			o.Status, o.Signal = "signal", signalName(ws.Signal())
		} else {
			o.Status, o.Code = "exit", ws.ExitStatus()
		}
	default:
		o.Status, o.Err = "error", err.Error()
	}
	return o
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGILL: "SIGILL", syscall.SIGPIPE: "SIGPIPE",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("SIG%d", int(s))
}

// record is keepalived's stored output for a file.
type record struct {
	Verdict string
	Lines   []string
}

func readRecord(path string) (record, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return record{}, false
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	r := record{Verdict: strings.TrimSpace(ls[0])}
	for _, l := range ls[1:] {
		if l = strings.TrimRight(l, " \t"); strings.TrimSpace(l) != "" {
			r.Lines = append(r.Lines, l)
		}
	}
	return r, true
}

func writeRecord(path string, o outcome) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(o.verdict() + "\n")
	lines := o.Lines
	if o.Status == "timeout" {
		lines = nil // partial output, as far as the machine's speed got it
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
