package parser

import (
	"os"
	"strings"
	"sync"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// Options are the command-line settings that change how a file is read.
type Options struct {
	// ConfigID selects @id / @^id lines (-i); keepalived defaults it to the node name.
	ConfigID string
	// Instance is the value of $_INSTANCE.
	Instance string
	// AllConfig makes a missing include an error (-e / --all-config).
	AllConfig bool
	// UseParticiple parses with the participle grammar instead of the
	// equivalent hand-written parser (tests compare the two).
	UseParticiple bool
	// ReadFile and Glob replace the file system (tests, fuzzing).
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
}

// DefaultConfigID is keepalived's default config id: the node name.
func DefaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

var (
	grammarOnce sync.Once
	grammar     *participle.Parser[chunk]
)

func chunkParser() *participle.Parser[chunk] {
	grammarOnce.Do(func() {
		grammar = participle.MustBuild[chunk](
			participle.Lexer(tokenDefinition{}),
		)
	})
	return grammar
}

// Walk reads the configuration at path and hands each top-level statement,
// after layout recovery and keyword checks, to fn in file order. Unknown
// keywords are reported and left out, as keepalived does. Only one top-level
// block is held in memory at a time: the statement and its block are only
// valid until fn returns (their nodes are reused for the next one), though
// the strings they hold may be kept.
func Walk(path string, opts Options, diags *Diagnostics, fn func(*Stmt)) {
	walk(path, opts, diags, fn, true)
}

func walk(path string, opts Options, diags *Diagnostics, fn func(*Stmt), reuse bool) {
	src := newSource(opts, diags)
	if !src.openFile(path, lexer.Position{}) {
		return
	}
	var ls layoutState
	w := walker{diags: diags, fn: fn, ls: &ls, participle: opts.UseParticiple}
	if reuse {
		w.arena = &arena{}
	}
	var toks []lexer.Token
	depth := 0
	var lineToks []lexer.Token
	for {
		ln, ok := src.next()
		if !ok {
			break
		}
		lineToks = lexLine(lineToks[:0], ln, diags)
		if len(lineToks) == 1 { // only EOL: e.g. an unmatched quote ate the line
			continue
		}
		if t := lineToks[0]; t.Type == tokWord && scriptKeywords[t.Value] {
			w.recordRaw(t, ln)
		}
		if depth == 0 && len(toks) > 0 && lineToks[0].Type != tokLBrace {
			w.parse(toks)
			toks = toks[:0]
		}
		for _, t := range lineToks {
			switch t.Type {
			case tokLBrace:
				// A block may open on the line after its keyword.
				n := len(toks)
				for n > 0 && toks[n-1].Type == tokEOL {
					n--
				}
				if n > 0 && toks[n-1].Type != tokLBrace && toks[n-1].Type != tokRBrace {
					toks = toks[:n]
				}
				depth++
			case tokRBrace:
				if depth == 0 {
					if len(toks) > 0 {
						w.parse(toks)
						toks = toks[:0]
					}
					w.parse([]lexer.Token{t})
					continue
				}
				depth--
			}
			toks = append(toks, t)
		}
	}
	if depth > 0 {
		var at lexer.Position
		for i := len(toks) - 1; i >= 0; i-- {
			if toks[i].Type != tokEOL {
				at = toks[i].Pos
				break
			}
		}
		diags.Add(at, SevMissingEOB, "Missing '}' at end of configuration: %d block(s) left open", depth)
		for ; depth > 0; depth-- {
			toks = append(toks, lexer.Token{Type: tokRBrace, Value: "}", Pos: at})
		}
	}
	if len(toks) > 0 {
		w.parse(toks)
	}
	ls.report(diags)
}

// Parse reads a whole configuration into memory (tests, tools, fuzzing).
func Parse(path string, opts Options) (*File, *Diagnostics) {
	diags := &Diagnostics{}
	f := &File{}
	walk(path, opts, diags, func(s *Stmt) { f.Stmts = append(f.Stmts, s) }, false)
	return f, diags
}

// scriptKeywords take a command line that keepalived splits itself (Raw).
var scriptKeywords = map[string]bool{
	"notify_master": true, "notify_backup": true, "notify_fault": true, "notify_stop": true,
	"notify_deleted": true, "notify": true, "notify_master_rx_lower_pri": true,
	"notify_up": true, "notify_down": true, "quorum_up": true, "quorum_down": true,
	"script": true, "misc_path": true, "notify_fifo_script": true, "vrrp_notify_fifo_script": true,
	"lvs_notify_fifo_script": true, "startup_script": true, "shutdown_script": true,
	// Not a script, but check_http.c regex_handler splits its line the same way.
	"regex": true,
}

// recordRaw keeps the raw rest of a script keyword's line, up to a brace
// outside quotes (keepalived splits lines there).
func (w *walker) recordRaw(kw lexer.Token, ln line) {
	off := kw.Pos.Column - ln.col + len(kw.Value)
	if off < 0 || off > len(ln.text) {
		return
	}
	rest := ln.text[off:]
	quote := false
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"':
			quote = !quote
		case '{', '}':
			if !quote {
				rest = rest[:i]
				i = len(rest)
			}
		}
	}
	if w.raw == nil {
		w.raw = map[lexer.Position]string{}
	}
	w.raw[kw.Pos] = strings.TrimSpace(rest)
}

type walker struct {
	raw   map[lexer.Position]string
	diags *Diagnostics
	fn    func(*Stmt)
	ls    *layoutState
	sl    sliceLexer
	arena *arena // nil: every chunk gets fresh nodes
	one   [1]*Stmt

	participle bool
}

func (w *walker) parse(toks []lexer.Token) {
	var c *chunk
	var err error
	if w.participle {
		c, err = w.parseParticiple(toks)
	} else {
		c, err = fastParse(toks, w.arena)
	}
	defer clear(w.raw)
	if err != nil {
		pos := toks[0].Pos
		if pe, ok := err.(participle.Error); ok {
			pos = pe.Position()
		}
		w.diags.Add(pos, SevFatal, "cannot parse: %v", err)
		return
	}
	root := rootSchema()
	for _, it := range c.Items {
		if it.Close {
			w.diags.Add(it.Pos, SevUnexpectedEOB, "Extra '}' found")
			w.diags.Add(it.Pos, SevUnknownKeyword, "Unknown keyword '}'")
			continue
		}
		if len(w.raw) > 0 {
			attachRaw(it.Stmt, w.raw)
		}
		w.one[0] = it.Stmt
		for _, st := range relayout(w.one[:], root, w.ls) {
			if st = w.check(st, root); st != nil {
				w.fn(st)
			}
		}
	}
}

func attachRaw(st *Stmt, raw map[lexer.Position]string) {
	if st.Keyword != nil {
		if r, ok := raw[st.Pos]; ok {
			st.Raw = r
		}
	}
	if st.Block != nil {
		for _, c := range st.Block.Stmts {
			attachRaw(c, raw)
		}
	}
}

func (w *walker) parseParticiple(toks []lexer.Token) (*chunk, error) {
	w.sl = sliceLexer{toks: toks, eof: toks[len(toks)-1].Pos}
	pl, err := lexer.Upgrade(&w.sl)
	if err != nil {
		return nil, err
	}
	return chunkParser().ParseFromLexer(pl)
}

// check reports unknown keywords and misplaced braces below def, and drops
// what keepalived would not process.
func (w *walker) check(st *Stmt, def *kwDef) *Stmt {
	if st.Stray != nil {
		w.diags.Add(st.Stray.Pos, SevUnexpectedBOB, "Unexpected '{' - ignoring")
		return nil
	}
	kd := def.child(st.Name())
	if kd == nil {
		w.diags.Add(st.Pos, SevUnknownKeyword, "Unknown keyword '%s'", st.Name())
		if st.Block != nil {
			w.diags.Add(st.Block.Pos, SevUnexpectedBOB, "Unexpected '{' - ignoring")
		}
		return nil
	}
	hasBlock := len(kd.sub) > 0 || kd.valueBlock
	if st.Block != nil && !hasBlock {
		w.diags.Add(st.Block.Pos, SevUnexpectedBOB, "Unexpected '{' - ignoring")
		st.Block = nil
	}
	if st.Block == nil && len(kd.sub) > 0 {
		w.diags.Add(st.Pos, SevMissingBOB, "Missing '{' at beginning of configuration block")
	}
	if st.Block != nil && !kd.valueBlock {
		kept := st.Block.Stmts[:0]
		for _, c := range st.Block.Stmts {
			if c = w.check(c, kd); c != nil {
				kept = append(kept, c)
			}
		}
		st.Block.Stmts = kept
	}
	return st
}
