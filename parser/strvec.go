package parser

import (
	"bytes"
	"strings"

	"keepalived-go/internal/strvec"
)

// whiteSpace is keepalived's WHITE_SPACE_STR.
const whiteSpace = " \t\f\n\r\v"

// isWS is a table of whiteSpace (hot: every word of every line).
var isWS = [256]bool{' ': true, '\t': true, '\f': true, '\n': true, '\r': true, '\v': true}

// splitWords is keepalived's alloc_strvec_r: words end at white space or a
// double quote; a double-quoted string is one word without its quotes (no
// escapes). An unmatched quote is reported and ends the line.
func splitWords(s string, dst []string, report func(Severity, string, ...any)) []string {
	i := 0
	for {
		for i < len(s) && isWS[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				if report != nil {
					report(SevUnmatchedQuote, "Unmatched quote: '%s'", s)
				}
				break
			}
			dst = append(dst, s[i+1:i+1+j])
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && s[j] != '"' && !isWS[s[j]] {
			j++
		}
		dst = append(dst, s[i:j])
		i = j
	}
	return dst
}

// SplitWords is keepalived's alloc_strvec_r on a line that is not part of
// the configuration (an iproute2 table file): an unmatched quote ends the
// line without a report.
func SplitWords(s string) []string { return splitWords(s, nil, nil) }

// SplitQuotedEscaped is keepalived's alloc_strvec_quoted_escaped: words may
// be quoted with " or ' (quotes can join parts: a"b c"d is one word), and
// backslash escapes (\n, \t, \x41, \101, \cX, \E, ...) are decoded. ok is
// false when a quote is not closed or the line ends in a lone backslash
// (keepalived then returns no words).
func SplitQuotedEscaped(src string, report func(Severity, string, ...any)) (words []string, ok bool) {
	p := 0
	for p < len(src) {
		for p < len(src) && strings.IndexByte(whiteSpace, src[p]) >= 0 {
			p++
		}
		if p >= len(src) {
			break
		}
		var w []byte
		var quote byte
	word:
		for p < len(src) {
			stop := "\"\\"
			switch quote {
			case '\'':
				stop = "'\\"
			case 0:
				stop = whiteSpace + "'\"\\"
			}
			k := strings.IndexAny(src[p:], stop)
			if k < 0 {
				if quote != 0 {
					if report != nil {
						report(SevUnmatchedQuote, "String '%s': missing terminating %c", src, quote)
					}
					return nil, false
				}
				w = append(w, src[p:]...)
				p = len(src)
				break
			}
			w = append(w, src[p:p+k]...)
			p += k
			switch c := src[p]; {
			case c == '\\':
				p++
				if p >= len(src) {
					// keepalived logs "Missing escape char at end: '%s'"
					return nil, false
				}
				var ch byte
				ch, p = strvec.Unescape(src, p)
				w = append(w, ch)
			case quote != 0:
				p++
				quote = 0
			case c == '"' || c == '\'':
				quote = c
				p++
			default:
				break word
			}
		}
		if i := bytes.IndexByte(w, 0); i >= 0 {
			w = w[:i] // a C string ends at a NUL an escape made
		}
		words = append(words, string(w))
	}
	return words, len(words) > 0
}
