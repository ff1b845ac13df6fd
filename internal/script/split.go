package script

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the script string parser.
var (
	// ErrUnmatchedQuote: a ' or " is not closed before the end of the string.
	ErrUnmatchedQuote = errors.New("missing terminating quote")
	// ErrTrailingEscape: the string ends with a lone backslash.
	ErrTrailingEscape = errors.New("missing escape char at end")
	// ErrEmptyScript: the string holds no word at all.
	ErrEmptyScript = errors.New("empty script")
)

// keepalived's WHITE_SPACE set.
const whiteSpace = " \t\f\n\r\v"

// SplitError carries the exact text keepalived logs for a string it cannot
// split, and wraps one of the sentinel errors above.
type SplitError struct {
	Src string
	Msg string // keepalived's log text
	Err error
}

func (e *SplitError) Error() string { return e.Msg }
func (e *SplitError) Unwrap() error { return e.Err }

// SplitQuotedEscaped splits s into words the way keepalived 2.2.7's
// alloc_strvec_quoted_escaped() does: words are separated by white space;
// '...' and "..." group (and may abut other text in the same word); inside
// and outside quotes a backslash escapes: \a \b \E \f \n \r \t \v, \xHH...
// (every following hex digit, kept to 8 bits), \cX (control char), \0-\777
// (up to three octal digits, 8 bits), anything else stands for itself.
// A word is cut at a NUL produced by an escape, as C strings are. No shell
// is involved and nothing else ($, *, ~) is special.
func SplitQuotedEscaped(s string) ([]string, error) {
	var words []string
	i := 0
	n := len(s)
	for i < n {
		for i < n && strings.IndexByte(whiteSpace, s[i]) >= 0 {
			i++
		}
		if i >= n {
			break
		}
		var quote byte
		var w []byte
	word:
		for i < n {
			stops := whiteSpace + `'"\`
			switch quote {
			case '"':
				stops = `"\`
			case '\'':
				stops = `'\`
			}
			j := strings.IndexAny(s[i:], stops)
			if j < 0 {
				if quote != 0 {
					return nil, &SplitError{Src: s, Err: ErrUnmatchedQuote,
						Msg: fmt.Sprintf("String '%s': missing terminating %c", s, quote)}
				}
				w = append(w, s[i:]...)
				i = n
				break
			}
			w = append(w, s[i:i+j]...)
			i += j
			c := s[i]
			switch {
			case c == '\\':
				i++
				if i >= n {
					return nil, &SplitError{Src: s, Err: ErrTrailingEscape,
						Msg: fmt.Sprintf("Missing escape char at end: '%s'", s)}
				}
				var b byte
				b, i = unescape(s, i)
				w = append(w, b)
			case quote != 0:
				// The closing quote.
				quote = 0
				i++
			case c == '"' || c == '\'':
				quote = c
				i++
			default:
				break word
			}
		}
		if k := strings.IndexByte(string(w), 0); k >= 0 {
			w = w[:k]
		}
		words = append(words, string(w))
	}
	if len(words) == 0 {
		return nil, ErrEmptyScript
	}
	return words, nil
}

// unescape decodes the escape whose first char (after the backslash) is
// s[i]; it returns the byte and the index after the escape.
func unescape(s string, i int) (byte, int) {
	n := len(s)
	c := s[i]
	switch {
	case c == 'x' && i+1 < n && isHex(s[i+1]):
		var b byte
		i++
		for i < n && isHex(s[i]) {
			b = b<<4 | hexVal(s[i])
			i++
		}
		return b, i
	case c == 'c' && i+1 < n:
		return s[i+1] & 0x1f, i + 2
	case c >= '0' && c <= '7':
		b := c - '0'
		i++
		for k := 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++ {
			b = b<<3 + (s[i] - '0')
			i++
		}
		return b, i
	}
	switch c {
	case 'a':
		c = '\a'
	case 'b':
		c = '\b'
	case 'E':
		c = 0x1b
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'v':
		c = '\v'
	}
	return c, i + 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

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
