package parser

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The AST is keepalived's own shape: a statement is a keyword with arguments,
// optionally followed by a { } block of statements. What a keyword means is the
// config model's business; the parser only knows which keywords exist where.

// chunk is what the grammar parses at a time: one top-level statement (or a
// stray brace), so memory stays bounded by the largest block, not the file.
type chunk struct {
	Items []*topItem `parser:"( @@ | EOL )*"`
}

type topItem struct {
	Pos   lexer.Position
	Close bool  `parser:"(  @\"}\""`
	Stmt  *Stmt `parser:" | @@ )"`
}

// Stmt is one keyword line with its optional block.
type Stmt struct {
	Pos     lexer.Position
	Keyword *Arg     `parser:"(  @@"`
	Args    []Arg    `parser:"   @@*"`
	Comment *Comment `parser:"   @@?"`
	Block   *Block   `parser:"   @@?"`
	Stray   *Block   `parser:" | @@ )"`

	// Recovered is set on statements the layout recovery split off a longer
	// line (or out of a comment): keepalived 2.2.7 would not see them.
	Recovered bool

	// Raw is the text after the keyword as written on its line (quotes and
	// backslashes intact, comment removed). It is recorded for script
	// keywords only: keepalived re-splits that text with its escape rules.
	Raw string
}

// Arg is a word or a double-quoted string (quotes removed). The token is
// captured whole: its type says whether it was quoted, and no field needs a
// pointer, which keeps a 10,000-service file cheap to parse.
type Arg struct {
	Tok lexer.Token `parser:"@(Word | String)"`
}

// Comment is a trailing comment on a statement line; kept because flattened
// files hide keywords behind it.
type Comment struct {
	Pos  lexer.Position
	Text string `parser:"@Comment"`
}

// Block is a { } block.
type Block struct {
	Pos    lexer.Position
	Stmts  []*Stmt `parser:"\"{\" ( @@ | EOL )*"`
	Close  string  `parser:"@\"}\""`
	EndPos lexer.Position
}

// Value returns the argument text.
func (a *Arg) Value() string {
	if a == nil {
		return ""
	}
	return a.Tok.Value
}

// Quoted reports whether the argument was a double-quoted string.
func (a *Arg) Quoted() bool { return a != nil && a.Tok.Type == tokString }

// Pos is where the argument starts.
func (a *Arg) Pos() lexer.Position { return a.Tok.Pos }

// Name returns the statement's keyword ("" for a stray block).
func (s *Stmt) Name() string { return s.Keyword.Value() }

// Values returns the argument texts.
func (s *Stmt) Values() []string {
	out := make([]string, len(s.Args))
	for i := range s.Args {
		out[i] = s.Args[i].Value()
	}
	return out
}

// Line returns keyword and arguments as keepalived's strvec would hold them.
func (s *Stmt) Line() []string {
	return append([]string{s.Name()}, s.Values()...)
}

// Text renders the statement line back to source form (for messages).
func (s *Stmt) Text() string {
	var b strings.Builder
	b.WriteString(s.Name())
	for i := range s.Args {
		a := &s.Args[i]
		b.WriteByte(' ')
		if a.Quoted() {
			b.WriteByte('"')
			b.WriteString(a.Value())
			b.WriteByte('"')
		} else {
			b.WriteString(a.Value())
		}
	}
	return b.String()
}

// Children returns the statements of the block, nil when there is none.
func (s *Stmt) Children() []*Stmt {
	if s.Block == nil {
		return nil
	}
	return s.Block.Stmts
}

// File is a whole parsed configuration (used by tests and tools; the daemon
// streams statements instead).
type File struct {
	Stmts []*Stmt
}
