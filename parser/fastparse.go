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
//
// With an arena, the nodes come from memory the previous chunk used: Walk
// hands each statement to its callback and forgets it, so a 40,000-server
// file costs one block's worth of AST instead of ~120 MB of garbage. A nil
// arena allocates every node afresh (Parse keeps the whole tree).
func fastParse(toks []lexer.Token, a *arena) (*chunk, error) {
	if a == nil {
		a = &arena{fresh: true}
	}
	a.reset()
	p := fastParser{toks: toks, a: a}
	c := &a.chunk
	for p.i < len(p.toks) {
		t := &p.toks[p.i]
		switch t.Type {
		case tokEOL:
			p.i++
		case tokRBrace:
			it := a.item()
			it.Pos, it.Close = t.Pos, true
			c.Items = append(c.Items, it)
			p.i++
		default:
			pos := t.Pos
			st, err := p.stmt()
			if err != nil {
				return nil, err
			}
			it := a.item()
			it.Pos, it.Stmt = pos, st
			c.Items = append(c.Items, it)
		}
	}
	return c, nil
}

// slabSize is how many nodes of a kind one slab holds.
const slabSize = 256

// slab hands out zeroed nodes from reusable fixed-size arrays; a node's
// address stays valid until the next reset.
type slab[T any] struct {
	chunks [][]T
	ci, i  int
}

func (s *slab[T]) reset() { s.ci, s.i = 0, 0 }

// take returns n contiguous zeroed nodes.
func (s *slab[T]) take(n int) []T {
	if n > slabSize {
		return make([]T, n)
	}
	if s.ci < len(s.chunks) && s.i+n > slabSize {
		s.ci, s.i = s.ci+1, 0
	}
	if s.ci == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, slabSize))
	}
	out := s.chunks[s.ci][s.i : s.i+n : s.i+n]
	clear(out)
	s.i += n
	return out
}

// arena owns the nodes of one parsed chunk.
type arena struct {
	fresh  bool // allocate every node: the tree outlives the next chunk
	chunk  chunk
	items  slab[topItem]
	stmts  slab[Stmt]
	args   slab[Arg]
	blocks slab[Block]
	ptrs   slab[*Stmt]
	// pending collects a block's statements while nested blocks are parsed.
	pending []*Stmt
}

func (a *arena) reset() {
	if a.fresh {
		a.chunk = chunk{}
		return
	}
	clear(a.chunk.Items)
	a.chunk.Items = a.chunk.Items[:0]
	a.items.reset()
	a.stmts.reset()
	a.args.reset()
	a.blocks.reset()
	a.ptrs.reset()
	clear(a.pending)
	a.pending = a.pending[:0]
}

func (a *arena) item() *topItem {
	if a.fresh {
		return &topItem{}
	}
	return &a.items.take(1)[0]
}

func (a *arena) stmt() *Stmt {
	if a.fresh {
		return &Stmt{}
	}
	return &a.stmts.take(1)[0]
}

func (a *arena) argList(n int) []Arg {
	if a.fresh {
		return make([]Arg, n)
	}
	return a.args.take(n)
}

func (a *arena) block() *Block {
	if a.fresh {
		return &Block{}
	}
	return &a.blocks.take(1)[0]
}

// stmtList copies the statements pending since mark into a block's slice.
func (a *arena) stmtList(mark int) []*Stmt {
	n := len(a.pending) - mark
	if n == 0 {
		return nil
	}
	var out []*Stmt
	if a.fresh {
		out = make([]*Stmt, n)
	} else {
		out = a.ptrs.take(n)
	}
	copy(out, a.pending[mark:])
	clear(a.pending[mark:])
	a.pending = a.pending[:mark]
	return out
}

type fastParser struct {
	toks []lexer.Token
	i    int
	a    *arena
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
	st := p.a.stmt()
	st.Pos = t.Pos
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
	start := p.i
	p.i++
	for p.i < len(p.toks) && (p.toks[p.i].Type == tokWord || p.toks[p.i].Type == tokString) {
		p.i++
	}
	// The keyword and its arguments share one allocation.
	words := p.a.argList(p.i - start)
	for j := range words {
		words[j].Tok = p.toks[start+j]
	}
	st.Keyword = &words[0]
	if len(words) > 1 {
		st.Args = words[1:]
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
	b := p.a.block()
	b.Pos = p.toks[p.i].Pos
	p.i++ // "{"
	mark := len(p.a.pending)
	for {
		if p.i >= len(p.toks) {
			clear(p.a.pending[mark:])
			p.a.pending = p.a.pending[:mark]
			return nil, p.errorf("unexpected end of input: missing '}'")
		}
		t := &p.toks[p.i]
		switch t.Type {
		case tokEOL:
			p.i++
		case tokRBrace:
			b.Close = "}"
			b.Stmts = p.a.stmtList(mark)
			p.i++
			// EndPos is where participle would put it: the next token's position.
			if p.i < len(p.toks) {
				b.EndPos = p.toks[p.i].Pos
			} else {
				b.EndPos = t.Pos
			}
			return b, nil
		case tokComment:
			clear(p.a.pending[mark:])
			p.a.pending = p.a.pending[:mark]
			return nil, p.errorf("unexpected comment")
		default:
			st, err := p.stmt()
			if err != nil {
				clear(p.a.pending[mark:])
				p.a.pending = p.a.pending[:mark]
				return nil, err
			}
			p.a.pending = append(p.a.pending, st)
		}
	}
}
