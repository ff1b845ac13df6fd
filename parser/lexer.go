package parser

import (
	"io"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token types of our lexer. Newlines matter in keepalived.conf (a line is a
// keyword with its arguments), so EOL is a token; braces split lines as
// keepalived's read_line does.
const (
	tokWord lexer.TokenType = iota + 1
	tokString
	tokLBrace
	tokRBrace
	tokEOL
	tokComment
)

// tokenDefinition satisfies participle's lexer.Definition; the tokens
// themselves come from lexLine over preprocessed lines, not from Lex.
type tokenDefinition struct{}

func (tokenDefinition) Symbols() map[string]lexer.TokenType {
	return map[string]lexer.TokenType{
		"EOF": lexer.EOF, "Word": tokWord, "String": tokString,
		"LBrace": tokLBrace, "RBrace": tokRBrace, "EOL": tokEOL, "Comment": tokComment,
	}
}

// Lex lexes a whole reader without preprocessing (includes, definitions and
// conditionals need a source; this path exists for participle's interface).
func (d tokenDefinition) Lex(filename string, r io.Reader) (lexer.Lexer, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var toks []lexer.Token
	var diags Diagnostics
	for i, raw := range strings.Split(string(data), "\n") {
		text, comment, off, coff, _ := decomment(strings.TrimRight(raw, "\r"))
		if text == "" {
			continue
		}
		toks = lexLine(toks, line{text: text, comment: comment, commentCol: coff + 1, file: filename, num: i + 1, col: off + 1}, &diags)
	}
	return &sliceLexer{toks: toks, eof: lexer.Position{Filename: filename}}, nil
}

type sliceLexer struct {
	toks []lexer.Token
	i    int
	eof  lexer.Position
}

func (l *sliceLexer) Next() (lexer.Token, error) {
	if l.i >= len(l.toks) {
		return lexer.EOFToken(l.eof), nil
	}
	t := l.toks[l.i]
	l.i++
	return t, nil
}

// lexLine appends the tokens of one preprocessed line, ending with EOL.
// Words end at blanks, quotes and braces; a double-quoted string is one token
// without its quotes (keepalived's alloc_strvec_r: no escapes inside).
func lexLine(toks []lexer.Token, ln line, diags *Diagnostics) []lexer.Token {
	t := ln.text
	pos := func(i int) lexer.Position {
		return lexer.Position{Filename: ln.file, Line: ln.num, Column: ln.col + i}
	}
	for i := 0; i < len(t); {
		switch c := t[i]; c {
		case ' ', '\t':
			i++
		case '{':
			toks = append(toks, lexer.Token{Type: tokLBrace, Value: "{", Pos: pos(i)})
			i++
		case '}':
			toks = append(toks, lexer.Token{Type: tokRBrace, Value: "}", Pos: pos(i)})
			i++
		case '"':
			end := strings.IndexByte(t[i+1:], '"')
			if end < 0 {
				diags.Add(pos(i), SevUnmatchedQuote, "Unmatched quote: '%s'", t)
				i = len(t)
				continue
			}
			toks = append(toks, lexer.Token{Type: tokString, Value: t[i+1 : i+1+end], Pos: pos(i)})
			i += end + 2
		default:
			j := i
			for j < len(t) && !strings.ContainsRune(" \t\"{}", rune(t[j])) {
				j++
			}
			toks = append(toks, lexer.Token{Type: tokWord, Value: t[i:j], Pos: pos(i)})
			i = j
		}
	}
	if ln.comment != "" && len(toks) > 0 {
		last := toks[len(toks)-1].Type
		if c := strings.TrimSpace(ln.comment); c != "" && last != tokLBrace && last != tokRBrace {
			toks = append(toks, lexer.Token{Type: tokComment, Value: c,
				Pos: lexer.Position{Filename: ln.file, Line: ln.num, Column: ln.commentCol}})
		}
	}
	return append(toks, lexer.Token{Type: tokEOL, Value: "\n", Pos: pos(len(t))})
}
