package parser

import (
	"fmt"

	"github.com/alecthomas/participle/v2/lexer"
)

// fastParse builds the same AST as the participle grammar in ast.go, by
// recursive descent over the same tokens. The grammar is LL(1) and tiny, but
// participle's reflective engine spends ~6 s and 3.6 GB of garbage on a
// 10,000-service file that keepalived reads in under a second; this parser
// is the production path and the participle grammar stays the definition:
// TestFastParseMatchesGrammar and FuzzParse check they agree on every input.
func fastParse(toks []lexer.Token) (*chunk, error) {
	p := fastParser{toks: toks}
	c := &chunk{}
	for p.i < len(p.toks) {
		t := &p.toks[p.i]
		switch t.Type {
		case tokEOL:
			p.i++
		case tokRBrace:
			c.Items = append(c.Items, &topItem{Pos: t.Pos, Close: true})
			p.i++
		default:
			pos := t.Pos
			st, err := p.stmt()
			if err != nil {
				return nil, err
			}
			c.Items = append(c.Items, &topItem{Pos: pos, Stmt: st})
		}
	}
	return c, nil
}

type fastParser struct {
	toks []lexer.Token
	i    int
}

func (p *fastParser) errorf(format string, args ...any) error {
	pos := lexer.Position{}
	if p.i < len(p.toks) {
		pos = p.toks[p.i].Pos
	} else if len(p.toks) > 0 {
		pos = p.toks[len(p.toks)-1].Pos
	}
	return Diagnostic{Pos: pos, Sev: SevFatal, Msg: fmt.Sprintf(format, args...)}
}

func (p *fastParser) stmt() (*Stmt, error) {
	t := &p.toks[p.i]
	st := &Stmt{Pos: t.Pos}
	switch t.Type {
	case tokLBrace:
		b, err := p.block()
		if err != nil {
			return nil, err
		}
		st.Stray = b
		return st, nil
	case tokWord, tokString:
	default:
		return nil, p.errorf("unexpected token %q", t.Value)
	}
	st.Keyword = &Arg{Tok: *t}
	p.i++
	start := p.i
	for p.i < len(p.toks) && (p.toks[p.i].Type == tokWord || p.toks[p.i].Type == tokString) {
		p.i++
	}
	if p.i > start {
		st.Args = make([]Arg, p.i-start)
		for j := range st.Args {
			st.Args[j].Tok = p.toks[start+j]
		}
	}
	if p.i < len(p.toks) && p.toks[p.i].Type == tokComment {
		st.Comment = &Comment{Pos: p.toks[p.i].Pos, Text: p.toks[p.i].Value}
		p.i++
	}
	if p.i < len(p.toks) && p.toks[p.i].Type == tokLBrace {
		b, err := p.block()
		if err != nil {
			return nil, err
		}
		st.Block = b
	}
	return st, nil
}

func (p *fastParser) block() (*Block, error) {
	b := &Block{Pos: p.toks[p.i].Pos}
	p.i++ // "{"
	for {
		if p.i >= len(p.toks) {
			return nil, p.errorf("unexpected end of input: missing '}'")
		}
		t := &p.toks[p.i]
		switch t.Type {
		case tokEOL:
			p.i++
		case tokRBrace:
			b.Close = "}"
			p.i++
			// EndPos is where participle would put it: the next token's position.
			if p.i < len(p.toks) {
				b.EndPos = p.toks[p.i].Pos
			} else {
				b.EndPos = t.Pos
			}
			return b, nil
		case tokComment:
			return nil, p.errorf("unexpected comment")
		default:
			st, err := p.stmt()
			if err != nil {
				return nil, err
			}
			b.Stmts = append(b.Stmts, st)
		}
	}
}
