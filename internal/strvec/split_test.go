package strvec

import (
	"errors"
	"slices"
	"testing"
)

// The regex keyword's value goes through the same splitter: a PCRE
// escape needs its backslash doubled in keepalived.conf.
func TestRegexValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`\\d+`, []string{`\d+`}},
		{`\d+`, []string{`d+`}},
		{`"a b\\s"`, []string{`a b\s`}},
		{`'(?<=x)y' extra`, []string{`(?<=x)y`, `extra`}},
		{`a\x41\101\cA`, []string{"aAA\x01"}},
		{`a\0b`, []string{"a"}},
	} {
		got, err := SplitQuotedEscaped(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SplitQuotedEscaped(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := SplitQuotedEscaped(`"open`); !errors.Is(err, ErrUnmatchedQuote) {
		t.Errorf("unmatched quote: %v", err)
	}
}
