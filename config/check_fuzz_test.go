package config

import (
	"os"
	"path/filepath"
	"testing"

	"keepalived-go/parser"
)

// FuzzCheckerConfig reads arbitrary text through the checker's keyword
// tables and validation: it must never panic, whatever order the blocks
// and keywords come in.
func FuzzCheckerConfig(f *testing.F) {
	m, _ := filepath.Glob(filepath.Join(compatDir, "*.conf"))
	for _, c := range m {
		if b, err := os.ReadFile(c); err == nil {
			f.Add(string(b))
		}
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "f.conf")
	f.Fuzz(func(t *testing.T, conf string) {
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		loadCheckerOnly("f.conf", Options{Hostname: "node1", ConfigTest: true, Parser: parser.Options{ConfigID: "node1", Dir: dir}})
	})
}
