package parser

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzWords holds the hand-written word splitter equal to the participle
// grammar that defines it.
func FuzzWords(f *testing.F) {
	for _, s := range []string{`router_id a b`, `notify "/bin/x a" root`, `a"b c"d`, `x "unterminated`, "\t\v a\f", `""`, `a""b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var reported bool
		got := splitWords(s, nil, func(Severity, string, ...any) { reported = true })
		want, ok := grammarWords(s)
		if !slices.Equal(got, want) || reported == ok {
			t.Fatalf("%q: splitWords %q (reported %v), grammar %q (ok %v)", s, got, reported, want, ok)
		}
	})
}

// FuzzParse reads arbitrary files (with includes of themselves and of each
// other) through the line reader and a keyword table: it must never panic,
// always end, and every finding must have a place or be a whole-read one.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/classes/parser/*.conf")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("a {\n b { c }\n}\n~SEQ(i,1,3) x $i\n$A=y \\\nz\n$A\ninclude *.conf\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(dir, "f.conf")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		diags := &Diagnostics{}
		r := OpenFiles(name, Options{ConfigID: "node1", Dir: dir, MaxOpenedFiles: 64}, diags)
		p := NewParser(r)
		blk := &Keyword{Name: "blk", Handler: func(v Strvec) { _ = v.At(1) }}
		val := &Keyword{Name: "val", Handler: func(v Strvec) { p.ValueWords(v) }}
		blk.Sub = []*Keyword{{Name: "x", Handler: func(v Strvec) { _ = v.Slot(1) }}, val, blk}
		p.Run([]*Keyword{blk, val, {Name: "skip", Inactive: true}})
		for _, d := range diags.List {
			if d.Sev == SevFatal && len(d.Msg) >= len(InternalError) && d.Msg[:len(InternalError)] == InternalError {
				t.Fatalf("internal error: %s", d.Msg)
			}
		}
		// The copy a later pass reads gives the same lines.
		diags2 := &Diagnostics{}
		c := r.Copy(name)
		defer c.Close()
		r2 := OpenCopy(c, Options{ConfigID: "node1", Dir: dir, MaxOpenedFiles: 64}, diags2)
		for n := 0; ; n++ {
			if _, ok := r2.Next(); !ok {
				break
			}
			if n > 10_000_000 {
				t.Fatal("copy never ends")
			}
		}
	})
}
