package config

import (
	"os"
	"path/filepath"
	"testing"

	"keepalived-go/internal/pcre"
)

// loadURL loads one HTTP_GET url block and returns its URL and the
// diagnostics' texts.
func loadURL(t *testing.T, block string) (URL, []string) {
	t.Helper()
	conf := "virtual_server 198.51.100.10 80 {\n protocol TCP\n lb_kind DR\n lb_algo rr\n real_server 198.51.100.11 80 {\n  HTTP_GET {\n   url {\n    path /\n" +
		block + "\n   }\n  }\n }\n}\n"
	p := filepath.Join(t.TempDir(), "k.conf")
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(p, Options{Hostname: "h"})
	var msgs []string
	for _, d := range diags.List {
		msgs = append(msgs, d.Msg)
	}
	if len(cfg.VirtualServers) != 1 || len(cfg.VirtualServers[0].RealServers) != 1 {
		t.Fatalf("no real server: %q", msgs)
	}
	ck := cfg.VirtualServers[0].RealServers[0].Checkers
	if len(ck) != 1 || ck[0].HTTP == nil || len(ck[0].HTTP.URLs) != 1 {
		t.Fatalf("no url: %q", msgs)
	}
	return ck[0].HTTP.URLs[0], msgs
}

// TestRegexKeywords: check_http.c's url keywords, values and messages.
func TestRegexKeywords(t *testing.T) {
	cases := []struct {
		name  string
		block string
		want  URLRegex
		msg   string // one diagnostic, "" for none
	}{
		{"escapes", `regex "id=\\d+ ok"`, URLRegex{Regex: `id=\d+ ok`}, ""},
		{"single escape", `regex \d+`, URLRegex{Regex: `d+`}, ""},
		{"no_match", "regex x\nregex_no_match", URLRegex{Regex: "x", RegexNoMatch: true}, ""},
		{"options", "regex x\nregex_options caseless bogus dotall", URLRegex{Regex: "x", RegexOptions: pcre.Caseless | pcre.DotAll}, ""},
		{"offsets", "regex x\nregex_min_offset 10\nregex_max_offset 20", URLRegex{Regex: "x", RegexMinOffset: 10, RegexMaxOffset: 21}, ""},
		{"max 0", "regex x\nregex_max_offset 0", URLRegex{Regex: "x", RegexMaxOffset: 1}, ""},
		{"stack", "regex x\nregex_stack 1000 200000", URLRegex{Regex: "x", RegexStack: [2]uint64{1000, 200000}, RegexUseStack: true}, ""},
		{"two words", `regex a b`, URLRegex{}, "regex missing or too many fields"},
		{"bad offset", "regex x\nregex_min_offset 1x", URLRegex{Regex: "x"}, "Invalid regex_min_offset 1x specified"},
		{"offset args", "regex x\nregex_max_offset 1 2", URLRegex{Regex: "x", RegexMaxOffset: 1}, "Missing or too may options for regex_max_offset"},
		{"min over max", "regex x\nregex_min_offset 30\nregex_max_offset 20", URLRegex{Regex: "x"}, "regex min offset 30 > regex_max_offset 20 - ignoring"},
		{"stack order", "regex x\nregex_stack 9 1", URLRegex{Regex: "x"}, "regex stack start cannot exceed max value"},
		{"stack args", "regex x\nregex_stack 9", URLRegex{Regex: "x"}, "regex_stack requires start and max values"},
		{"stack start", "regex x\nregex_stack a 9", URLRegex{Regex: "x"}, "regex_stack invalid start value"},
		{"without regex", "regex_no_match\nregex_min_offset 3", URLRegex{}, "regex parameters specified without regex"},
		{"invalid", `regex "a(b"`, URLRegex{Regex: "a(b", RegexInvalid: true}, "Invalid regex: 'a(b' at offset 3: missing closing parenthesis"},
		{"invalid lookbehind", `regex "(?<=a+)b"`, URLRegex{Regex: "(?<=a+)b", RegexInvalid: true}, "Invalid regex: '(?<=a+)b' at offset 0: lookbehind assertion is not fixed length"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, msgs := loadURL(t, c.block)
			if u.URLRegex != c.want {
				t.Errorf("got %+v, want %+v", u.URLRegex, c.want)
			}
			var got string
			for _, m := range msgs {
				got += m
			}
			if got != c.msg {
				t.Errorf("diagnostics %q, want %q", msgs, c.msg)
			}
		})
	}
}

func TestStrtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"12", 12, true}, {"", 0, true}, {" 7", 7, true}, {"+3", 3, true}, {"-1", ^uint64(0), true},
		{"99999999999999999999999", ^uint64(0), true}, {"1x", 0, false}, {"x", 0, false}, {"-", 0, false},
	} {
		if v, ok := strtoul(c.in); v != c.want || ok != c.ok {
			t.Errorf("strtoul(%q) = %d, %v; want %d, %v", c.in, v, ok, c.want, c.ok)
		}
	}
}
