package notify

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// splitCase is one script keyword argument as written in keepalived.conf,
// with PROG standing for the script path, and the argv keepalived 2.2.7
// builds from it. The same table drives the interop test against Debian's
// keepalived, so every Rest must be a valid config line tail: no '#', '!',
// '{', '}' or '$' outside double quotes (the config reader owns those).
type splitCase struct {
	name  string
	rest  string
	argv  []string
	user  string
	group string
}

const progToken = "PROG"

var splitCases = []splitCase{
	{"seed redirect", `"PROG del 198.51.100.10"`, []string{"PROG", "del", "198.51.100.10"}, "", ""},
	{"bare word", `PROG`, []string{"PROG"}, "", ""},
	{"extra blanks", `"  PROG   add    198.51.100.10  "`, []string{"PROG", "add", "198.51.100.10"}, "", ""},
	{"inner single quotes", `"PROG 'a b' c"`, []string{"PROG", "a b", "c"}, "", ""},
	{"outer single inner double", `'PROG "a b" c'`, []string{"PROG", "a b", "c"}, "", ""},
	{"escaped space survives one pass", `"PROG a\\ b"`, []string{"PROG", "a b"}, "", ""},
	{"escaped space unquoted is split again", `PROG\ x`, []string{"PROG", "x"}, "", ""},
	{"escaped double quotes group", `"PROG \"quoted arg\" x"`, []string{"PROG", "quoted arg", "x"}, "", ""},
	{"literal double quotes", `"PROG \\\"q\\\""`, []string{"PROG", `"q"`}, "", ""},
	{"adjacent empty quotes vanish", `"PROG a''b c"`, []string{"PROG", "ab", "c"}, "", ""},
	{"empty argument", `"PROG '' x"`, []string{"PROG", "", "x"}, "", ""},
	{"hex escape second pass", `"PROG x=\\x41\\x42"`, []string{"PROG", "x=AB"}, "", ""},
	{"hex escape first pass", `"PROG \x41"`, []string{"PROG", "A"}, "", ""},
	{"tab escape kept", `"PROG a\\tb"`, []string{"PROG", "a\tb"}, "", ""},
	{"tab escape splits", `"PROG a\tb"`, []string{"PROG", "a", "b"}, "", ""},
	{"newline escape", `"PROG line1\\nline2"`, []string{"PROG", "line1\nline2"}, "", ""},
	{"octal escapes", `"PROG \\101\\060"`, []string{"PROG", "A0"}, "", ""},
	{"control escape", `"PROG \\cA-\\E"`, []string{"PROG", "\x01-\x1b"}, "", ""},
	{"NUL cuts the word", `"PROG ab\\x0gh ef"`, []string{"PROG", "ab", "ef"}, "", ""},
	{"user", `"PROG a" root`, []string{"PROG", "a"}, "root", ""},
	{"user and group, extra ignored", `"PROG a" root root extra`, []string{"PROG", "a"}, "root", "root"},
	{"abutting quotes", `"PROG pre'mid dle'post"`, []string{"PROG", "premid dlepost"}, "", ""},
	{"double quotes inside single", `"PROG 'say \"hi\"'"`, []string{"PROG", `say "hi"`}, "", ""},
	{"outer single quotes then user", `'PROG a b' root`, []string{"PROG", "a", "b"}, "root", ""},
	{"backslash literal", `"PROG x\\\\y"`, []string{"PROG", `x\y`}, "", ""},
	{"option with quoted value", `"PROG 198.51.100.10/24 --flag=\"v w\""`, []string{"PROG", "198.51.100.10/24", "--flag=v w"}, "", ""},
	{"no shell metacharacters", `"PROG a;b | c & * ~ >out"`, []string{"PROG", "a;b", "|", "c", "&", "*", "~", ">out"}, "", ""},
	{"utf8 bytes", `"PROG é ü"`, []string{"PROG", "é", "ü"}, "", ""},
	{"unknown escape is literal", `"PROG \\q\\z"`, []string{"PROG", "qz"}, "", ""},
}

func subst(ss []string, prog string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, progToken, prog)
	}
	return out
}

func TestParseScriptTable(t *testing.T) {
	if len(splitCases) < 20 {
		t.Fatalf("table too small: %d", len(splitCases))
	}
	const prog = "/etc/keepalived/redirect.sh"
	for _, tc := range splitCases {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := ParseScript(strings.ReplaceAll(tc.rest, progToken, prog))
			if err != nil {
				t.Fatalf("ParseScript(%q): %v", tc.rest, err)
			}
			if want := subst(tc.argv, prog); !reflect.DeepEqual(spec.Argv, want) {
				t.Errorf("argv = %q, want %q", spec.Argv, want)
			}
			if spec.User != tc.user || spec.Group != tc.group {
				t.Errorf("user/group = %q/%q, want %q/%q", spec.User, spec.Group, tc.user, tc.group)
			}
		})
	}
}

func TestParseScriptErrors(t *testing.T) {
	cases := []struct {
		rest string
		err  error
		msg  string
	}{
		{`"/bin/x 'abc"`, ErrUnmatchedQuote, `String '/bin/x 'abc': missing terminating '`},
		{`"/bin/x`, ErrUnmatchedQuote, `String '"/bin/x': missing terminating "`},
		{`"/bin/x abc\\"`, ErrTrailingEscape, `Missing escape char at end: '/bin/x abc\'`},
		{`""`, ErrEmptyScript, `Unable to parse script '' - ignoring`},
		{`"   "`, ErrEmptyScript, `Unable to parse script '   ' - ignoring`},
		{``, ErrEmptyScript, ``},
	}
	for _, tc := range cases {
		_, err := ParseScript(tc.rest)
		if !errors.Is(err, tc.err) {
			t.Errorf("ParseScript(%q) = %v, want %v", tc.rest, err, tc.err)
			continue
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("ParseScript(%q) message %q, want %q", tc.rest, err.Error(), tc.msg)
		}
	}
}

func TestSplitHexAndOctalWrap(t *testing.T) {
	// keepalived accumulates hex digits into a C char: only the low 8 bits stay.
	got, err := SplitQuotedEscaped(`\x4142 \777`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"B", "\xff"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestGenericNotifyArgv(t *testing.T) {
	base := []string{"/usr/local/bin/notify.sh", "x"}
	got := GenericNotifyArgv(base, KindInstance, "VI_1", StateMaster, 100)
	want := []string{"/usr/local/bin/notify.sh", "x", "INSTANCE", "VI_1", "MASTER", "100"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = GenericNotifyArgv(base, KindGroup, "G1", "weird", 0)
	want = []string{"/usr/local/bin/notify.sh", "x", "GROUP", "G1", "{UNKNOWN}", "0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(base) != 2 {
		t.Error("base modified")
	}
	if got := FifoScriptArgv([]string{"/s", "a"}, "/run/f"); !reflect.DeepEqual(got, []string{"/s", "a", "/run/f"}) {
		t.Errorf("FifoScriptArgv = %q", got)
	}
}

func TestCmdStringAndFileTest(t *testing.T) {
	if got := CmdString([]string{"/bin/x", "a b", ""}); got != `'/bin/x' 'a b' ''` {
		t.Errorf("CmdString = %s", got)
	}
	if got := CmdString([]string{"</etc/x", "y"}); got != `</etc/x 'y'` {
		t.Errorf("CmdString = %s", got)
	}
	for in, want := range map[string]bool{"</etc/x": true, "< \t/etc/x": true, "<etc": false, "/bin/x": false, "<": false} {
		if IsFileTest([]string{in}) != want {
			t.Errorf("IsFileTest(%q) != %v", in, want)
		}
	}
}

func FuzzSplitQuotedEscaped(f *testing.F) {
	for _, tc := range splitCases {
		f.Add(tc.rest)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitQuotedEscaped(s)
		if err != nil {
			if words != nil {
				t.Fatal("words with error")
			}
			return
		}
		if len(words) == 0 {
			t.Fatal("no words without error")
		}
		for _, w := range words {
			if strings.IndexByte(w, 0) >= 0 {
				t.Fatalf("NUL in word %q", w)
			}
		}
		// Quoting every word with single quotes and escaping ' and \ must
		// give the same words back.
		var b strings.Builder
		for _, w := range words {
			b.WriteByte('\'')
			for i := 0; i < len(w); i++ {
				if w[i] == '\'' || w[i] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(w[i])
			}
			b.WriteString("' ")
		}
		again, err := SplitQuotedEscaped(b.String())
		if err != nil || !equalStrings(again, words) {
			t.Fatalf("requote %q -> %q (%v), want %q", b.String(), again, err, words)
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
