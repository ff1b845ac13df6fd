package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/nettest"
)

// writeScript writes an executable shell script.
func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// global_defs startup_script runs to its end before anything starts, and
// shutdown_script after everything stopped, before the daemon exits
// (keepalived's main.c run_startup_script, stop_keepalived); a failing
// script is logged with its status and the daemon goes on.
func TestStartupShutdownScripts(t *testing.T) {
	bin := buildSelf(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	writeScript(t, filepath.Join(dir, "start.sh"), "sleep 0.3; echo startup $$ >> "+trace)
	writeScript(t, filepath.Join(dir, "stop.sh"), "echo shutdown >> "+trace+"; exit 3")
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte("global_defs {\n  router_id SCRIPTS\n  startup_script "+filepath.Join(dir, "start.sh")+
		"\n  shutdown_script "+filepath.Join(dir, "stop.sh")+"\n  shutdown_script_timeout 5\n}\n"), 0o644)
	cmd := exec.Command(bin, "-n", "-l", "-D", "-G", "-f", conf, "-p", filepath.Join(dir, "k.pid"),
		"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid"))
	var out nettest.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, "Startup complete", func() bool { return strings.Contains(out.String(), "Startup complete") })
	if b, _ := os.ReadFile(trace); !strings.HasPrefix(string(b), "startup ") {
		t.Fatalf("startup script had not run before Startup complete: %q\n%s", b, out.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	if b, _ := os.ReadFile(trace); !strings.HasSuffix(string(b), "shutdown\n") {
		t.Errorf("trace %q", b)
	}
	log := out.String()
	order := []string{"Running startup script " + filepath.Join(dir, "start.sh"), "startup script script succeeded",
		"Startup complete", "Stopping", "Running shutdown script " + filepath.Join(dir, "stop.sh"),
		"shutdown script script failed, status 3", "Stopped Keepalived"}
	at := 0
	for _, w := range order {
		i := strings.Index(log[at:], w)
		if i < 0 {
			t.Fatalf("log lacks %q after offset %d:\n%s", w, at, log)
		}
		at += i + len(w)
	}
}

// A script that outlives startup_script_timeout is killed and logged;
// the daemon goes on (handle_child_timeout).
func TestStartupScriptTimeout(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, filepath.Join(dir, "slow.sh"), "sleep 30")
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte("global_defs {\n  startup_script "+filepath.Join(dir, "slow.sh")+"\n  startup_script_timeout 1\n}\n"), 0o644)
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	d := newDaemon(options{useFile: conf}, log, config.Options{})
	cfg, err := d.load(false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d.runStartStop(cfg, true)
	if took := time.Since(start); took < time.Second || took > 10*time.Second {
		t.Errorf("took %v, want the 1 s timeout", took)
	}
	if !strings.Contains(buf.String(), "startup script timed out") {
		t.Errorf("log:\n%s", buf.String())
	}
	// No shutdown_script: nothing runs, nothing is logged.
	buf.Reset()
	d.runStartStop(cfg, false)
	if buf.Len() != 0 {
		t.Errorf("shutdown without a script logged %q", buf.String())
	}
}
