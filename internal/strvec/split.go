// Package strvec splits a keepalived configuration line's text into words
// the way keepalived 2.2.7's alloc_strvec_quoted_escaped() does, for the
// keywords that re-read their raw line (scripts, regex).
package strvec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the splitter.
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
				b, i = Unescape(s, i)
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

// Unescape decodes a backslash escape as keepalived's parser does (\xHH...,
// \cX, octal \NNN, \a \b \E \f \n \r \t \v, any other char as itself):
// s[i] is the char after the backslash; it returns the byte and the index
// after the escape.
func Unescape(s string, i int) (byte, int) {
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
