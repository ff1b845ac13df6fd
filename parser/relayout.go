package parser

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Layout recovery.
//
// keepalived reads a line as one keyword and its arguments (braces split lines).
// Configs pasted onto one line ("flattened") therefore lose every keyword after
// the first on a line. We read them as the operator meant: an unquoted token
// that is a keyword of the enclosing block, after the current keyword's
// required arguments, starts a new statement. A '#' comment in the middle of
// such a line is ended where the commented keyword's own arguments end, since
// it was a line of its own before the file was flattened.
//
// We still report the first place the layout breaks, once, so that a fleet
// that mixes our daemon and keepalived is never surprised.

type layoutState struct {
	first      *lexer.Position
	firstKw    string
	prevKw     string
	breaks     int
	lines      map[string]struct{}
	comments   []string // recovered comment texts
	commentPos *lexer.Position
}

func (ls *layoutState) note(pos lexer.Position, prev, kw string) {
	ls.breaks++
	if ls.lines == nil {
		ls.lines = map[string]struct{}{}
	}
	ls.lines[fmt.Sprintf("%s:%d", pos.Filename, pos.Line)] = struct{}{}
	if ls.first == nil {
		p := pos
		ls.first, ls.firstKw, ls.prevKw = &p, kw, prev
	}
}

// report emits the single layout diagnostic.
func (ls *layoutState) report(diags *Diagnostics) {
	if ls.first == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "flattened layout: '%s' at column %d follows '%s' on the same line (%d keywords recovered on %d lines); "+
		"keepalived 2.2.7 reads one keyword per line and would misread this file: put each keyword on its own line",
		ls.firstKw, ls.first.Column, ls.prevKw, ls.breaks, len(ls.lines))
	for i, c := range ls.comments {
		if i == 0 {
			fmt.Fprintf(&b, "; the comment '#%s'", c)
		} else {
			fmt.Fprintf(&b, ", '#%s'", c)
		}
	}
	if len(ls.comments) > 0 {
		b.WriteString(" was read as commenting out only its own keyword, keepalived would also drop the rest of that line")
	}
	diags.Add(*ls.first, SevWarning, "%s", b.String())
}

// relayout splits multi-keyword statements of a block whose definition is def.
// A block that needs no splitting (nearly all) is returned as it is.
func relayout(stmts []*Stmt, def *kwDef, ls *layoutState) []*Stmt {
	if def == nil || def.valueBlock {
		return stmts
	}
	var out []*Stmt // nil until some statement splits
	for i, st := range stmts {
		var pieces []*Stmt
		if st.Stray != nil {
			st.Stray.Stmts = relayout(st.Stray.Stmts, def, ls)
		} else {
			pieces = split(st, def, ls)
			last := st
			if pieces != nil {
				last = pieces[len(pieces)-1]
			}
			if last.Comment != nil && (pieces != nil || ls.first != nil) {
				if rec := recoverComment(last, def, ls); len(rec) > 0 {
					if pieces == nil {
						pieces = []*Stmt{st}
					}
					pieces = append(pieces, rec...)
				}
			}
			if pieces == nil && st.Block != nil {
				st.Block.Stmts = relayout(st.Block.Stmts, def.child(st.Name()), ls)
			}
			for _, p := range pieces {
				if p.Block != nil {
					p.Block.Stmts = relayout(p.Block.Stmts, def.child(p.Name()), ls)
				}
			}
		}
		if pieces == nil {
			if out != nil {
				out = append(out, st)
			}
			continue
		}
		if out == nil {
			out = append(make([]*Stmt, 0, len(stmts)+len(pieces)), stmts[:i]...)
		}
		out = append(out, pieces...)
	}
	if out == nil {
		return stmts
	}
	return out
}

// split cuts a statement at every unquoted argument that is a keyword of def
// and comes after the current keyword's required arguments. It returns nil
// when the statement stays whole.
func split(st *Stmt, def *kwDef, ls *layoutState) []*Stmt {
	kd := def.child(st.Name())
	if kd == nil || len(st.Args) == 0 {
		return nil
	}
	for i := range st.Args {
		a := &st.Args[i]
		if a.Quoted() || i < kd.minArgs {
			continue
		}
		next := def.child(a.Value())
		if next == nil {
			continue
		}
		rest := &Stmt{Pos: a.Pos(), Keyword: a, Args: st.Args[i+1:], Comment: st.Comment, Block: st.Block, Recovered: true}
		head := &Stmt{Pos: st.Pos, Keyword: st.Keyword, Args: st.Args[:i], Recovered: st.Recovered}
		ls.note(a.Pos(), st.Name(), a.Value())
		if more := split(rest, def, ls); more != nil {
			return append([]*Stmt{head}, more...)
		}
		return []*Stmt{head, rest}
	}
	return nil
}

// recoverComment turns the part of a trailing comment after the commented
// keyword's own arguments back into statements.
func recoverComment(st *Stmt, def *kwDef, ls *layoutState) []*Stmt {
	c := st.Comment
	var toks []lexer.Token
	var scratch Diagnostics
	toks = lexLine(toks, line{text: c.Text, file: c.Pos.Filename, num: c.Pos.Line, col: c.Pos.Column + 1}, &scratch)
	var args []Arg
	for _, t := range toks {
		if t.Type != tokWord && t.Type != tokString {
			break
		}
		args = append(args, Arg{Tok: t})
	}
	if len(args) < 2 || args[0].Quoted() {
		return nil
	}
	commented := def.child(args[0].Value())
	if commented == nil {
		return nil
	}
	// The commented keyword keeps at least its required arguments; the first
	// keyword after them is where the original next line began.
	for i := 1 + commented.minArgs; i < len(args); i++ {
		if args[i].Quoted() || def.child(args[i].Value()) == nil {
			continue
		}
		st.Comment = nil
		var kept []string
		for _, a := range args[:i] {
			kept = append(kept, a.Value())
		}
		ls.comments = append(ls.comments, strings.Join(kept, " "))
		rec := &Stmt{Pos: args[i].Pos(), Keyword: &args[i], Args: args[i+1:], Recovered: true}
		ls.note(args[i].Pos(), args[0].Value(), args[i].Value())
		if more := split(rec, def, ls); more != nil {
			return more
		}
		return []*Stmt{rec}
	}
	return nil
}
