package notify

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordEnv names the directory where the test binary, exec'd as a notify
// script by Debian's keepalived (see interop_test.go), records its argv.
const recordEnv = "KAGO_NOTIFY_RECORD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(recordEnv); dir != "" {
		os.Exit(record(dir))
	}
	os.Exit(m.Run())
}

// record writes argv NUL separated to dir/<basename argv0>.<pid>, written
// under a temporary name first so a reader never sees half a file.
func record(dir string) int {
	base := filepath.Base(os.Args[0])
	name := filepath.Join(dir, fmt.Sprintf("%s.%d", base, os.Getpid()))
	if err := os.WriteFile(name+".tmp", []byte(strings.Join(os.Args, "\x00")), 0o644); err != nil {
		return 1
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		return 1
	}
	return 0
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
