package script

import (
	"errors"
	"fmt"
	"strings"

	"keepalived-go/internal/strvec"
)

// Sentinel errors of the script string parser (see strvec).
var (
	// ErrUnmatchedQuote: a ' or " is not closed before the end of the string.
	ErrUnmatchedQuote = strvec.ErrUnmatchedQuote
	// ErrTrailingEscape: the string ends with a lone backslash.
	ErrTrailingEscape = strvec.ErrTrailingEscape
	// ErrEmptyScript: the string holds no word at all.
	ErrEmptyScript = strvec.ErrEmptyScript
)

// SplitError carries the exact text keepalived logs for a string it cannot
// split, and wraps one of the sentinel errors above.
type SplitError = strvec.SplitError

// SplitQuotedEscaped splits s into words as keepalived's
// alloc_strvec_quoted_escaped() does (strvec.SplitQuotedEscaped).
func SplitQuotedEscaped(s string) ([]string, error) { return strvec.SplitQuotedEscaped(s) }

// Spec is a parsed script keyword: the command's argv and the optional
// user and group given after it (empty when absent).
type Spec struct {
	Argv  []string
	User  string
	Group string
}

// Parse parses the text that follows a script keyword on its config
// line (notify_master, notify, notify_up, quorum_up, notify_fifo_script,
// startup_script ...; for vrrp_script's `script` and MISC_CHECK's
// `misc_path` use only Argv). Pass the text as written, quotes and
// backslashes intact, after the config reader removed comments: keepalived
// splits that raw text once (the command string is the first word, the user
// and group the next two, further words are ignored) and then splits the
// command string again, so escapes and quotes are processed twice.
//
//	notify_master "/etc/keepalived/redirect.sh del 10.30.6.110"
//	  -> Argv [/etc/keepalived/redirect.sh del 10.30.6.110]
//	notify "/bin/x 'a b' c\\ d" nobody nogroup
//	  -> Argv [/bin/x, a b, c d], User nobody, Group nogroup
func Parse(rest string) (Spec, error) {
	outer, err := SplitQuotedEscaped(rest)
	if err != nil {
		return Spec{}, err
	}
	argv, err := SplitQuotedEscaped(outer[0])
	if err != nil {
		if errors.Is(err, ErrEmptyScript) {
			return Spec{}, &SplitError{Src: outer[0], Err: ErrEmptyScript,
				Msg: fmt.Sprintf("Unable to parse script '%s' - ignoring", outer[0])}
		}
		return Spec{}, err
	}
	spec := Spec{Argv: argv}
	if len(outer) > 1 {
		spec.User = outer[1]
	}
	if len(outer) > 2 {
		spec.Group = outer[2]
	}
	return spec, nil
}

// CmdString renders argv as keepalived's cmd_str() does for its log lines
// and for the commands it hands to /bin/sh: every word in single quotes,
// except a first word starting with < or >, which is left bare.
func CmdString(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		bare := i == 0 && a != "" && (a[0] == '<' || a[0] == '>')
		if !bare {
			b.WriteByte('\'')
		}
		b.WriteString(a)
		if !bare {
			b.WriteByte('\'')
		}
	}
	return b.String()
}

// IsFileTest reports whether argv is keepalived's special file-existence
// form "</path" (optionally with blanks between < and /): such a command is
// never exec'd directly but given to /bin/sh -c as CmdString(argv).
func IsFileTest(argv []string) bool {
	if len(argv) == 0 || len(argv[0]) < 2 || argv[0][0] != '<' {
		return false
	}
	rest := strings.TrimLeft(argv[0][1:], " \t")
	return strings.HasPrefix(rest, "/")
}
