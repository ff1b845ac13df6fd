package parser

import "strings"

// A port of keepalived 2.2.7's process_stream, alloc_value_block and
// skip_block (lib/parser.c): keyword tables drive the reading of blocks, as in
// keepalived, where the '{' and '}' of a block only mean something to the
// keyword table that is current. Each table entry is one keyword with its
// handler, the way keepalived's install_keyword builds them.

// Keyword is one entry of a keyword table (keepalived's keyword_t).
type Keyword struct {
	Name string
	// Handler reads the keyword's line. For an inactive root keyword
	// (a keyword of another keepalived process) it is called with a nil
	// Strvec, as keepalived does.
	Handler func(v Strvec)
	// Inactive marks a root keyword whose block another process reads: its
	// block is skipped by counting braces.
	Inactive bool
	// Sub is the keyword table of the block the keyword opens (nil: none).
	Sub []*Keyword
	// Close runs when the block ends (install_sublevel_end_handler).
	Close func()
}

// Table builds a lookup for a keyword list; the first of a name wins, as in
// keepalived's linear search.
func Table(kws ...*Keyword) []*Keyword { return kws }

func lookup(tab []*Keyword, name string, cache map[*Keyword]map[string]*Keyword) *Keyword {
	if len(tab) < 8 {
		for _, k := range tab {
			if k.Name == name {
				return k
			}
		}
		return nil
	}
	m := cache[tab[0]]
	if m == nil {
		m = make(map[string]*Keyword, len(tab))
		for _, k := range tab {
			if _, dup := m[k.Name]; !dup {
				m[k.Name] = k
			}
		}
		cache[tab[0]] = m
	}
	return m[name]
}

// Strvec is the words of one line as a handler sees them (keepalived's
// strvec). Slot stops the whole configuration read when the word is missing,
// as keepalived's strvec_slot does (it exits with status 2).
type Strvec struct {
	W []string
	p *Parser
}

// Len is the number of words.
func (v Strvec) Len() int { return len(v.W) }

// Nil reports whether this is the nil strvec of an inactive keyword.
func (v Strvec) Nil() bool { return v.W == nil }

// At returns word i, or "" when there is none (keepalived's vector_slot
// after a size check).
func (v Strvec) At(i int) string {
	if i < len(v.W) {
		return v.W[i]
	}
	return ""
}

// Slot returns word i; a missing word ends the configuration read with
// keepalived's "missing a parameter" message (null_strvec).
func (v Strvec) Slot(i int) string {
	if i < len(v.W) {
		return v.W[i]
	}
	v.p.nullStrvec(v.W, i)
	return ""
}

// Strvec wraps words a handler split itself (keepalived's
// alloc_strvec_quoted_escaped) so that Slot reports a missing word as
// keepalived's strvec_slot does.
func (p *Parser) Strvec(w []string) Strvec { return Strvec{W: w, p: p} }

// Parser returns the parser the line came from.
func (v Strvec) Parser() *Parser { return v.p }

// InternalError starts the message of a configuration refused because
// reading it hit a bug of ours (FuzzParse looks for it).
const InternalError = "internal error reading the configuration"

// Abort is the panic value that ends a configuration read the way keepalived
// exits with KEEPALIVED_EXIT_CONFIG from inside a handler.
type Abort struct{}

// Parser runs keyword tables over a Reader (one keepalived process's read of
// the configuration).
type Parser struct {
	R     *Reader
	diags *Diagnostics

	skipSublevel int
	kwLevel      int
	line         string // buf_extern: the line being handled
	words        []string
	path         []string // the enclosing blocks' keywords (layout recovery)
	cache        map[*Keyword]map[string]*Keyword
}

// NewParser starts a read over r.
func NewParser(r *Reader) *Parser {
	return &Parser{R: r, diags: r.diags, cache: map[*Keyword]map[string]*Keyword{}}
}

// Report is keepalived's report_config_error at the current line.
func (p *Parser) Report(sev Severity, format string, args ...any) {
	p.R.report(sev, format, args...)
}

// Line is the raw text of the line being handled (keepalived's buf_extern).
func (p *Parser) Line() string { return p.line }

// Pos is where the current line is, for our own positions.
func (p *Parser) Pos() (file string, line int) { return p.R.realPos() }

// SkipBlock is keepalived's skip_block: the rest of the current block (or,
// with needStart, the block the current line opens) is not processed.
func (p *Parser) SkipBlock(needStart bool) {
	if needStart {
		p.skipSublevel = -1
	} else {
		p.skipSublevel = 1
	}
}

func (p *Parser) nullStrvec(w []string, i int) {
	first := "***MISSING ***"
	if len(w) > 0 {
		first = w[0]
	}
	if i > 0 && i-1 < len(w) {
		p.Report(SevMissingParameter, "*** Configuration line starting `%s` is missing a parameter after keyword `%s` at word position %d", first, w[i-1], i+1)
	} else {
		p.Report(SevMissingParameter, "*** Configuration line starting `%s` is missing a parameter at word position %d", first, i+1)
	}
	panic(Abort{})
}

func (p *Parser) strvec(buf string) []string {
	p.words = splitWords(buf, p.words[:0], p.R.report)
	if len(p.words) == 0 {
		return nil
	}
	return p.words
}

// Run reads the whole configuration with the root keyword table (keepalived's
// init_data after the keywords are installed). It returns false when a
// handler ended the read (a missing parameter).
func (p *Parser) Run(root []*Keyword) (ok bool) {
	defer func() {
		if e := recover(); e != nil {
			if _, abort := e.(Abort); !abort {
				// A bug of ours must not take the daemon down with it: the
				// configuration is refused with a clear message instead.
				p.Report(SevFatal, "%s: %v", InternalError, e)
			}
			ok = false
		}
	}()
	p.process(root, false)
	if d := p.R.BlockDepth(); d > 0 {
		p.Report(SevMissingEOB, "There are %d missing '}'s or extra '{'s", d)
	}
	return true
}

// process is keepalived's process_stream. It returns true when a skipped
// block ended the current level.
func (p *Parser) process(tab []*Keyword, needBOB bool) bool {
	retErr := false
	for {
		buf, ok := p.R.Next()
		if !ok {
			break
		}
		if p.skipSublevel > 0 && strings.IndexByte(buf, '"') < 0 {
			// Skipping another process's block: only braces count, and
			// read_line leaves a brace on a line of its own (a quoted
			// brace needs the words below).
			switch buf {
			case "{":
				p.skipSublevel++
			case "}":
				p.skipSublevel--
				if p.skipSublevel == 0 && p.kwLevel > 0 {
					retErr = true
					goto done
				}
			}
			continue
		}
		w := p.strvec(buf)
		if w == nil {
			continue
		}
		str := w[0]
		if p.skipSublevel == -1 {
			if str == "{" {
				p.skipSublevel = 1
				needBOB = false
				continue
			}
			p.skipSublevel = 0
		}
		if p.skipSublevel != 0 {
			for _, s := range w {
				str = s
				if s == "{" {
					p.skipSublevel++
				} else if s == "}" {
					p.skipSublevel--
					if p.skipSublevel == 0 {
						break
					}
				}
			}
			if str == "}" && p.skipSublevel == 0 && p.kwLevel > 0 {
				retErr = true
				break
			}
			continue
		}
		if needBOB {
			needBOB = false
			if str == "{" && p.kwLevel > 0 {
				continue
			}
			p.Report(SevMissingBOB, "Missing '{' at beginning of configuration block")
		} else if str == "{" {
			p.Report(SevUnexpectedBOB, "Unexpected '{' - ignoring")
			continue
		}
		if str == "}" && p.kwLevel > 0 {
			break
		}
		if p.R.Recover {
			if cut, prev, next := recoverSplit(p.path, buf); cut > 0 {
				name, line, _ := p.R.where()
				p.R.Recovered.note(name, line, prev, next)
				p.R.pushBack(strings.TrimRight(buf[cut:], " \t"))
				buf = strings.TrimRight(buf[:cut], " \t")
				w = p.strvec(buf)
			}
		}
		kw := lookup(tab, str, p.cache)
		if kw == nil {
			p.Report(SevUnknownKeyword, "Unknown keyword '%s'", str)
			continue
		}
		p.handle(kw, buf, w)
	}
done:
	return retErr
}

func (p *Parser) handle(kw *Keyword, buf string, w []string) {
	if kw.Inactive {
		if w[len(w)-1] == "{" {
			p.skipSublevel = 1
		} else {
			p.skipSublevel = -1
		}
		if kw.Handler != nil {
			kw.Handler(Strvec{p: p})
		}
		return
	}
	bobNeeded := false
	if kw.Sub != nil {
		if w[len(w)-1] == "{" {
			w = w[:len(w)-1]
		} else {
			bobNeeded = true
		}
	}
	if kw.Handler != nil {
		p.line = buf
		// The handler may read further lines (value blocks): it gets its own copy.
		kw.Handler(Strvec{W: append([]string(nil), w...), p: p})
	}
	if kw.Sub != nil {
		p.kwLevel++
		p.path = append(p.path, kw.Name)
		skipped := p.process(kw.Sub, bobNeeded)
		p.path = p.path[:len(p.path)-1]
		p.kwLevel--
		if !skipped && kw.Close != nil {
			kw.Close()
		}
	}
}

// ValueBlock is keepalived's alloc_value_block: the lines of a { } block of
// values after a keyword (addresses, names, ...), each handed to fn as words.
func (p *Parser) ValueBlock(v Strvec, fn func(Strvec)) {
	p.valueBlock(v.W, false, fn)
}

// ValueBlockNull is alloc_value_block given a vector whose first slot is
// NULL, followed by words: vsg_handler builds one to leave the group name
// out. Extra words that are not '{' then make keepalived fetch the NULL
// slot for its message, which ends the read as a missing parameter.
func (p *Parser) ValueBlockNull(words []string, fn func(Strvec)) {
	p.valueBlock(append([]string{""}, words...), true, fn)
}

func (p *Parser) valueBlock(w0 []string, null0 bool, fn func(Strvec)) {
	v := Strvec{W: w0, p: p}
	needBOB := true
	hadEOB := false
	var first []string
	if len(v.W) > 1 {
		if null0 && v.W[1] != "{" {
			p.nullStrvec(nil, 0)
		}
		if v.W[1] == "{" {
			needBOB = false
			if len(v.W) > 2 {
				first = append([]string(nil), v.W[2:]...)
				// keepalived tests the original line's last word at the
				// shortened vector's end index here.
				if v.W[len(first)-1] == "}" {
					first = first[:len(first)-1]
					hadEOB = true
				}
			}
		} else {
			p.Report(SevGeneral, "Block %s has extra parameters %s ...", v.W[0], v.W[1])
		}
	}
	for {
		var w []string
		if first != nil {
			w = first
			first = nil
		} else {
			buf, ok := p.R.Next()
			if !ok {
				break
			}
			w = splitWords(buf, nil, p.R.report)
			if len(w) == 0 {
				continue
			}
			if needBOB {
				needBOB = false
				if w[0] == "{" {
					if len(w) == 1 {
						continue
					}
					w = w[1:]
				}
				// else keepalived logs "'{' missing from beginning of block %s"
			}
			if w[len(w)-1] == "}" {
				if len(w) == 1 {
					break
				}
				hadEOB = true
				w = w[:len(w)-1]
			}
		}
		if len(w) > 0 {
			fn(Strvec{W: w, p: p})
		}
		if hadEOB {
			break
		}
	}
}

// ValueWords is keepalived's read_value_block: every word of a value block.
func (p *Parser) ValueWords(v Strvec) []string {
	var out []string
	p.ValueBlock(v, func(l Strvec) { out = append(out, l.W...) })
	return out
}
