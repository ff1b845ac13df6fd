package parser

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file that includes itself ends as keepalived's does at its descriptor
// limit, and includes that branch end at the bound on opened files.
func TestIncludeBounds(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		max        int
	}{
		{"self", "x\ninclude f.conf\n", 0},
		{"branching", "~SEQ(i,3)include *\n", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "f.conf")
			if err := os.WriteFile(name, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			diags := &Diagnostics{}
			r := OpenFiles(name, Options{Dir: dir, MaxOpenedFiles: tc.max}, diags)
			lines := 0
			for {
				if _, ok := r.Next(); !ok {
					break
				}
				lines++
			}
			want := tc.max
			if want == 0 {
				want = maxIncludeDepth + 1
			}
			if r.opened > want {
				t.Errorf("opened %d files, bound %d", r.opened, want)
			}
			emfile := 0
			for _, d := range diags.List {
				if strings.Contains(d.Msg, "open problem (Too many open files) - skipping") {
					emfile++
				}
			}
			if emfile == 0 {
				t.Errorf("no 'Too many open files' message: %v", diags.List)
			}
			t.Logf("%d files opened, %d lines read, %d EMFILE messages", r.opened, lines, emfile)
		})
	}
}
