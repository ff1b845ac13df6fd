package parser

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// memFS serves configs from a map so tests and the fuzzer need no files.
type memFS map[string]string

func (m memFS) opts() Options {
	return Options{
		ConfigID: "node1",
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := m[name]; ok {
				return []byte(s), nil
			}
			return nil, os.ErrNotExist
		},
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for name := range m {
				if ok, _ := filepath.Match(pattern, name); ok {
					out = append(out, name)
				}
			}
			return out, nil
		},
	}
}

func parseString(t testing.TB, src string) (*File, *Diagnostics) {
	t.Helper()
	return Parse("/etc/keepalived/keepalived.conf", memFS{"/etc/keepalived/keepalived.conf": src}.opts())
}

func render(stmts []*Stmt) string {
	var b strings.Builder
	dump(stmts, "", &b)
	return b.String()
}

func corpus(t testing.TB) []string {
	var files []string
	for _, g := range []string{"../testdata/seed/*.conf", "../testdata/configs/*.conf", "/usr/share/doc/keepalived/samples/keepalived.conf.*"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no configs found in testdata")
	}
	return files
}

// The hand-written parser is the production path; the participle grammar is
// the definition. They must build the same tree and diagnostics everywhere.
func TestFastParseMatchesGrammar(t *testing.T) {
	for _, f := range corpus(t) {
		a, da := Parse(f, Options{ConfigID: "node1"})
		b, db := Parse(f, Options{ConfigID: "node1", UseParticiple: true})
		if ra, rb := render(a.Stmts), render(b.Stmts); ra != rb {
			t.Errorf("%s: trees differ:\n%s\n--- participle:\n%s", f, ra, rb)
		}
		if da.String() != db.String() {
			t.Errorf("%s: diagnostics differ:\n%s\n--- participle:\n%s", f, da, db)
		}
	}
}

// Walk reuses the nodes of one top-level statement for the next; what its
// callback sees must be exactly what Parse keeps.
func TestWalkReuseMatchesParse(t *testing.T) {
	for _, f := range corpus(t) {
		whole, _ := Parse(f, Options{ConfigID: "node1"})
		var b strings.Builder
		n := 0
		Walk(f, Options{ConfigID: "node1"}, &Diagnostics{}, func(st *Stmt) {
			dump([]*Stmt{st}, "", &b)
			n++
		})
		if n != len(whole.Stmts) || b.String() != render(whole.Stmts) {
			t.Errorf("%s: Walk saw %d statements, Parse %d:\n%s\n--- Parse:\n%s", f, n, len(whole.Stmts), b.String(), render(whole.Stmts))
		}
	}
}

func TestPreprocessing(t *testing.T) {
	fs := memFS{
		"/etc/keepalived/keepalived.conf": `
$IF=eth0
$VIPS=198.51.100.10/24 \
      198.51.100.11/24
@node1 global_defs { router_id ONE }
@^node1 global_defs { router_id OTHER }
vrrp_instance VI_1 {
    interface $IF     # trailing comment
    virtual_router_id 51 ! bang comment
    virtual_ipaddress {
        $VIPS
    }
    notify_master "/bin/echo a # not a comment"
}
~SEQ(n, 1, 2) virtual_server 203.0.113.$n 80 { protocol TCP }
include conf.d/*.conf
`,
		"/etc/keepalived/conf.d/a.conf": "virtual_server 203.0.113.9 443 { protocol TCP }\n",
	}
	f, d := Parse("/etc/keepalived/keepalived.conf", fs.opts())
	got := render(f.Stmts)
	want := `global_defs {
  router_id ONE
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    198.51.100.10/24
    198.51.100.11/24
  }
  notify_master "/bin/echo a # not a comment"
}
virtual_server 203.0.113.1 80 {
  protocol TCP
}
virtual_server 203.0.113.2 80 {
  protocol TCP
}
virtual_server 203.0.113.9 443 {
  protocol TCP
}
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(d.List) != 0 {
		t.Errorf("unexpected diagnostics: %s", d)
	}
}

func TestDiagnosticsCarryPositions(t *testing.T) {
	cases := []struct {
		src, want string
		line      int
	}{
		{"vrrp_instance X {\n  prempt_delay 10\n}\n", "Unknown keyword 'prempt_delay'", 2},
		{"global_defs {\n}\n}\n", "Extra '}' found", 3},
		{"global_defs {\n  router_id x\n", "Missing '}' at end of configuration", 2},
		{"virtual_server 198.51.100.1 80 {\n  weight 1 {\n  }\n}\n", "Unexpected '{' - ignoring", 2},
		{"global_defs {\n router_id \"unterminated\n}\n", "Unmatched quote", 2},
		{"include /nonexistent/*.conf\nincludea /missing.conf\n", "Config files missing '/missing.conf'.", 2},
	}
	for _, c := range cases {
		_, d := parseString(t, c.src)
		found := false
		for _, x := range d.List {
			if strings.Contains(x.Msg, c.want) {
				found = true
				if x.Pos.Line != c.line {
					t.Errorf("%q: %q at line %d, want %d", c.src, x.Msg, x.Pos.Line, c.line)
				}
			}
		}
		if !found {
			t.Errorf("%q: no diagnostic %q in %s", c.src, c.want, d)
		}
	}
}

// Malformed input gives a positioned error, never a crash or a hang.
func TestMalformedInput(t *testing.T) {
	huge := "global_defs {\n router_id " + strings.Repeat("x", 10<<20) + "\n}\n"
	deep := strings.Repeat("virtual_server 198.51.100.1 80 {\n", 5000) + strings.Repeat("}\n", 5000)
	junk := string([]byte{0, 1, 2, 0xff, '{', '}', '}', '"', '\n', 0x80, '{', '#', '!', '$', '~'})
	cases := map[string]memFS{
		"unbalanced":  {"/etc/keepalived/keepalived.conf": "global_defs {\n{\n{\n"},
		"extra close": {"/etc/keepalived/keepalived.conf": "}}}\n}\n"},
		"binary":      {"/etc/keepalived/keepalived.conf": junk},
		"10MB line":   {"/etc/keepalived/keepalived.conf": huge},
		"deep":        {"/etc/keepalived/keepalived.conf": deep},
		"include loop": {
			"/etc/keepalived/keepalived.conf": "include a.conf\n",
			"/etc/keepalived/a.conf":          "include b.conf\n",
			"/etc/keepalived/b.conf":          "include a.conf\n",
		},
		"self include":  {"/etc/keepalived/keepalived.conf": "include keepalived.conf\n"},
		"seq explosion": {"/etc/keepalived/keepalived.conf": "~SEQ(i, 1, 100000) virtual_server 198.51.100.1 $i { }\n"},
	}
	for name, fs := range cases {
		done := make(chan *Diagnostics, 1)
		go func() {
			_, d := Parse("/etc/keepalived/keepalived.conf", fs.opts())
			done <- d
		}()
		select {
		case d := <-done:
			for _, x := range d.List {
				if x.Pos.Line == 0 && x.Sev != SevNone {
					t.Errorf("%s: diagnostic without a line: %v", name, x)
				}
			}
			if name == "include loop" || name == "self include" || name == "unbalanced" {
				if len(d.List) == 0 {
					t.Errorf("%s: no diagnostic", name)
				}
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: parse did not finish", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range corpus(f) {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(string(b))
		}
	}
	f.Add("global_defs { router_id x } vrrp_instance A { state MASTER # c d\n }")
	f.Fuzz(func(t *testing.T, src string) {
		fs := memFS{"/etc/keepalived/keepalived.conf": src, "/etc/keepalived/inc.conf": src}
		fast, df := Parse("/etc/keepalived/keepalived.conf", fs.opts())
		for _, d := range df.List {
			if d.Sev != SevNone && d.Sev != SevFileNotFound && d.Pos.Line <= 0 {
				t.Fatalf("diagnostic without a line: %#v", d)
			}
		}
		o := fs.opts()
		o.UseParticiple = true
		slow, ds := Parse("/etc/keepalived/keepalived.conf", o)
		if !reflect.DeepEqual(render(fast.Stmts), render(slow.Stmts)) || df.String() != ds.String() {
			t.Fatalf("hand-written parser and grammar disagree:\n%s\n%s\n---\n%s\n%s", render(fast.Stmts), df, render(slow.Stmts), ds)
		}
		var walked strings.Builder
		dw := &Diagnostics{}
		Walk("/etc/keepalived/keepalived.conf", fs.opts(), dw, func(st *Stmt) { dump([]*Stmt{st}, "", &walked) })
		if walked.String() != render(fast.Stmts) || dw.String() != df.String() {
			t.Fatalf("Walk with reused nodes and Parse disagree:\n%s\n%s\n---\n%s\n%s", walked.String(), dw, render(fast.Stmts), df)
		}
	})
}
