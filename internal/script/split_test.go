package script

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"keepalived-go/internal/script/scripttest"
)

func TestParseScriptTable(t *testing.T) {
	if len(scripttest.SplitCases) < 20 {
		t.Fatalf("table too small: %d", len(scripttest.SplitCases))
	}
	const prog = "/etc/keepalived/redirect.sh"
	for _, tc := range scripttest.SplitCases {
		t.Run(tc.Name, func(t *testing.T) {
			spec, err := Parse(strings.ReplaceAll(tc.Rest, scripttest.ProgToken, prog))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.Rest, err)
			}
			if want := scripttest.Subst(tc.Argv, prog); !reflect.DeepEqual(spec.Argv, want) {
				t.Errorf("argv = %q, want %q", spec.Argv, want)
			}
			if spec.User != tc.User || spec.Group != tc.Group {
				t.Errorf("user/group = %q/%q, want %q/%q", spec.User, spec.Group, tc.User, tc.Group)
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
		_, err := Parse(tc.rest)
		if !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %v, want %v", tc.rest, err, tc.err)
			continue
		}
		if tc.msg != "" && err.Error() != tc.msg {
			t.Errorf("Parse(%q) message %q, want %q", tc.rest, err.Error(), tc.msg)
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
	for _, tc := range scripttest.SplitCases {
		f.Add(tc.Rest)
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
