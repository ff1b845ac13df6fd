package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
	"keepalived-go/internal/script"
	"keepalived-go/internal/script/scripttest"
)

// TestDispatcherTimeoutKillsGroup: through the dispatcher and ExecRunner, a script that starts a background
// `sleep 1000` and then sleeps itself is killed with its whole process group
// when the dispatcher's timeout expires.
func TestDispatcherTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	s := scripttest.WriteScript(t, dir, "hang.sh", `sleep 1000 & echo $$ $! > "$1.tmp"; mv "$1.tmp" "$1"; sleep 1000`+"\n")
	results := make(chan Result, 1)
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, sprintf(f, a...)) }
	d := NewDispatcher(DispatcherOptions{Logf: logf, OnResult: func(r Result) { results <- r }})
	defer closeNow(d)
	const timeout = 300 * time.Millisecond
	if err := d.Submit(Job{Key: "VI_1", Name: "VI_1 notify_master", Timeout: timeout,
		Command: script.Command{Argv: []string{s, pidFile}, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}}); err != nil {
		t.Fatal(err)
	}
	var r Result
	select {
	case r = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("no result within 10 s")
	}
	if !r.TimedOut || !errors.Is(r.Err, script.ErrTimeout) {
		t.Fatalf("result %+v", r)
	}
	if r.Duration < timeout || r.Duration > timeout+3*time.Second {
		t.Errorf("duration %v for timeout %v", r.Duration, timeout)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("script did not record its pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	if len(pids) != 2 {
		t.Fatalf("pids %q", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !nettest.Until(ctx, func() bool { return scripttest.ProcessGone(pids[0]) && scripttest.ProcessGone(pids[1]) }) {
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		t.Fatalf("processes %v survived the timeout", pids)
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "VI_1 notify_master script "+s+" timed out after 300ms") {
		t.Errorf("log %q", logged)
	}
}
