package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"keepalived-go/internal/script/scripttest"
)

func TestExecRunnerArgvEnvDir(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	s := scripttest.WriteScript(t, dir, "rec.sh", `{ printf '%s\n' "$0" "$@"; pwd; echo "E=$KAGO_E"; } > "$OUT"; exit 7`+"\n")
	r := &ExecRunner{Env: []string{"OUT=" + out, "KAGO_E=x y"}}
	err := r.Run(context.Background(), Command{Argv: []string{s, "a b", "", "*"}, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("Run = %v, want exit status 7", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := s + "\na b\n\n*\n/\nE=x y\n"
	if string(b) != want {
		t.Errorf("script saw %q, want %q", b, want)
	}
}

func TestExecRunnerExecError(t *testing.T) {
	var logged []string
	r := &ExecRunner{Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }}
	err := r.Run(context.Background(), Command{Argv: []string{"/nonexistent/kago-script"}, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())})
	if !errors.Is(err, ErrExec) {
		t.Fatalf("Run = %v", err)
	}
	if len(logged) != 1 || logged[0] != "Error exec-ing command '/nonexistent/kago-script', error 2: No such file or directory" {
		t.Errorf("log %q", logged)
	}
}

func TestExecRunnerFileTestViaShell(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.WriteFile(present, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &ExecRunner{}
	id := Command{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	id.Argv = []string{"<" + present}
	if err := r.Run(context.Background(), id); err != nil {
		t.Errorf("</present: %v", err)
	}
	id.Argv = []string{"<" + filepath.Join(dir, "absent")}
	var ee *ExitError
	if err := r.Run(context.Background(), id); !errors.As(err, &ee) || ee.Code == 0 {
		t.Errorf("</absent: %v", err)
	}
}

// TestExecRunnerCredential: as root the script runs as the given uid/gid
// with no supplementary groups but the gid.
func TestExecRunnerCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch uid")
	}
	dir, err := os.MkdirTemp("", "kago-cred-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "id")
	s := scripttest.WriteScript(t, dir, "id.sh", `id -u > "$1"; id -g >> "$1"; id -G >> "$1"`+"\n")
	r := &ExecRunner{}
	if err := r.Run(context.Background(), Command{Argv: []string{s, out}, UID: 65534, GID: 65534}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "65534\n65534\n65534\n" {
		t.Errorf("id output %q", b)
	}
}
