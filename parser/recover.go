package parser

import (
	"fmt"
	"strings"
)

// Layout recovery for flattened configurations.
//
// keepalived reads a line as one keyword with its arguments (braces aside),
// so a configuration pasted onto a few long lines ("flattened") loses every
// keyword after the first of each line, and a '#' in the middle of such a
// line comments out everything after it. Our loader reads a file exactly as
// keepalived does; only when that read reports problems does it read the
// file once more in recovery mode, where:
//   - an unquoted word that is a keyword of the current block, after the
//     current keyword's required arguments, starts a new line;
//   - a comment whose first word is a keyword ends after that keyword's
//     required arguments (it was a line of its own before the flattening).
// The loader keeps the recovered reading when it splits something and reads
// the file with fewer problems; -t still prints keepalived's own findings,
// followed by one line of ours saying what was recovered.

// Recovery counts what a recovering read changed.
type Recovery struct {
	Splits    int
	Comments  []string
	FirstName string
	FirstLine int
	Prev, Kw  string
}

func (rc *Recovery) note(name string, line int, prev, kw string) {
	rc.Splits++
	if rc.FirstLine == 0 {
		rc.FirstName, rc.FirstLine, rc.Prev, rc.Kw = name, line, prev, kw
	}
}

// Message is the finding a recovered read adds.
func (rc *Recovery) Message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keepalived-go: flattened layout: '%s' follows '%s' on the same line (%d keywords recovered); "+
		"keepalived 2.2.7 reads one keyword per line and misreads this file as reported above: put each keyword on its own line",
		rc.Kw, rc.Prev, rc.Splits)
	for i, c := range rc.Comments {
		if i == 0 {
			fmt.Fprintf(&b, "; the comment '#%s'", c)
		} else {
			fmt.Fprintf(&b, ", '#%s'", c)
		}
	}
	if len(rc.Comments) > 0 {
		b.WriteString(" was read as commenting out only its own keyword")
	}
	return b.String()
}

// wordOffsets is splitWords with each word's start offset in s.
func wordOffsets(s string) ([]string, []int) {
	var words []string
	var offs []int
	i := 0
	for {
		for i < len(s) && strings.IndexByte(whiteSpace, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				break
			}
			words, offs = append(words, s[i:i+j+2]), append(offs, i)
			i += j + 2
			continue
		}
		j := i
		for j < len(s) && s[j] != '"' && strings.IndexByte(whiteSpace, s[j]) < 0 {
			j++
		}
		words, offs = append(words, s[i:j]), append(offs, i)
		i = j
	}
	return words, offs
}

// recoverSplit finds where a keyword line of the block at path would be
// split: the offset of the first unquoted word that is a keyword of that
// block after the keyword's required arguments (0: none).
func recoverSplit(path []string, buf string) (int, string, string) {
	words, offs := wordOffsets(buf)
	if len(words) < 2 {
		return 0, "", ""
	}
	kd := refLookup(path, words[0])
	if kd == nil || kd.valueBlock {
		return 0, "", ""
	}
	for i := 1 + kd.minArgs; i < len(words); i++ {
		w := words[i]
		if w[0] == '"' {
			continue
		}
		if refLookup(path, w) != nil {
			return offs[i], words[0], w
		}
	}
	return 0, "", ""
}

// recoverComment rewrites a decommented physical line: when its comment
// starts with a keyword, the words after that keyword's required arguments
// are put back.
func (r *Reader) recoverComment(raw, text string) string {
	c := commentStart(raw)
	if c < 0 {
		return text
	}
	body := raw[c+1:]
	words, offs := wordOffsets(body)
	if len(words) == 0 {
		return text
	}
	kd := anyKeyword(words[0])
	if kd == nil || len(words) <= 1+kd.minArgs {
		return text
	}
	cut := offs[1+kd.minArgs]
	r.Recovered.Comments = append(r.Recovered.Comments, strings.TrimSpace(body[:cut]))
	rest := r.decomment(body[cut:])
	if rest == "" {
		return text
	}
	if strings.HasSuffix(text, "\\") {
		return text
	}
	return strings.TrimRight(text, " \t") + " " + r.recoverComment(body[cut:], rest)
}

// commentStart is where decomment's comment begins in s (-1: none).
func commentStart(s string) int {
	quote := false
	for p := 0; p < len(s); p++ {
		switch c := s[p]; {
		case c == '"':
			quote = !quote
		case c == '\\' && p+1 < len(s):
			p++
		case !quote && (c == '#' || c == '!'):
			return p
		}
	}
	return -1
}
