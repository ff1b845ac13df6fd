package parser

import (
	"bufio"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// line is one logical configuration line after keepalived's line-level
// preprocessing (comments, @conditionals, $definitions, ~SEQ, include).
type line struct {
	text       string // decommented, leading/trailing blanks removed
	comment    string // text of a trailing comment, without its marker
	commentCol int
	file       string
	num        int
	col        int // column of text[0] in the physical line
}

// maxIncludeDepth bounds include nesting; keepalived has no bound and loops forever
// on a self-include, we stop with a positioned error instead.
const maxIncludeDepth = 32

type srcFile struct {
	name string
	r    *bufio.Reader
	f    io.Closer
	num  int
}

type definition struct {
	value     string
	multiline bool
	fn        func(params string) string
}

type seqExpansion struct {
	variable         string
	next, step, last int64
	hex              bool
	text             string
	at               line
}

// source yields preprocessed lines from a main file and its includes.
type source struct {
	opts    Options
	diags   *Diagnostics
	stack   []*srcFile
	defs    map[string]*definition
	pending []line // lines produced by a multi-line definition or ~SEQ
	seqs    []*seqExpansion
	// defining collects the continuation lines of a multi-line $NAME= definition.
	defining *definition
	rng      *rand.Rand
}

func newSource(opts Options, diags *Diagnostics) *source {
	s := &source{opts: opts, diags: diags, defs: map[string]*definition{}, rng: rand.New(rand.NewSource(1))}
	s.defs["_HASH"] = &definition{value: "#"}
	s.defs["_BANG"] = &definition{value: "!"}
	s.defs["_PWD"] = &definition{fn: func(string) string {
		if len(s.stack) > 0 {
			return filepath.Dir(s.stack[len(s.stack)-1].name)
		}
		d, _ := os.Getwd()
		return d
	}}
	s.defs["_INSTANCE"] = &definition{fn: func(string) string { return opts.Instance }}
	s.defs["_RANDOM"] = &definition{fn: func(p string) string {
		lo, hi := int64(0), int64(32767)
		if f := strings.Fields(p); len(f) == 2 {
			lo, _ = strconv.ParseInt(f[0], 10, 64)
			hi, _ = strconv.ParseInt(f[1], 10, 64)
		} else if len(f) == 1 {
			hi, _ = strconv.ParseInt(f[0], 10, 64)
		}
		if hi < lo {
			return strconv.FormatInt(lo, 10)
		}
		return strconv.FormatInt(lo+s.rng.Int63n(hi-lo+1), 10)
	}}
	return s
}

func (s *source) pos(file string, num, col int) lexer.Position {
	return lexer.Position{Filename: file, Line: num, Column: col}
}

func (s *source) openFile(name string, from lexer.Position) bool {
	if len(s.stack) >= maxIncludeDepth {
		s.diags.Add(from, SevFatal, "include nesting deeper than %d (include loop?) at '%s' - skipping", maxIncludeDepth, name)
		return false
	}
	for _, f := range s.stack {
		if f.name == name {
			s.diags.Add(from, SevFatal, "include loop: '%s' includes itself - skipping", name)
			return false
		}
	}
	var rc io.ReadCloser
	if s.opts.ReadFile != nil {
		data, err := s.opts.ReadFile(name)
		if err != nil {
			s.diags.Add(from, SevFileNotFound, "Unable to read configuration file %s", name)
			return false
		}
		rc = io.NopCloser(strings.NewReader(string(data)))
	} else {
		st, err := os.Stat(name)
		if err == nil && st.IsDir() {
			s.diags.Add(from, SevNone, "Configuration file '%s' is a directory - skipping", name)
			return false
		}
		f, err := os.Open(name)
		if err != nil {
			s.diags.Add(from, SevFileNotFound, "Unable to read configuration file %s", name)
			return false
		}
		rc = f
	}
	s.stack = append(s.stack, &srcFile{name: name, r: bufio.NewReaderSize(rc, 64*1024), f: rc})
	return true
}

// include expands an include directive's glob relative to the including file.
func (s *source) include(kind byte, pattern string, at lexer.Position) {
	if !filepath.IsAbs(pattern) && len(s.stack) > 0 {
		pattern = filepath.Join(filepath.Dir(s.stack[len(s.stack)-1].name), pattern)
	}
	glob := s.opts.Glob
	if glob == nil {
		glob = filepath.Glob
	}
	matches, err := glob(pattern)
	if err != nil {
		s.diags.Add(at, SevNone, "Error reading config file(s): glob(\"%s\") returned %v, skipping.", pattern, err)
		return
	}
	if len(matches) == 0 {
		sev := SevNone
		strict := s.opts.AllConfig || kind == 'a' || kind == 'm' || kind == 'w'
		if strict {
			sev = SevFileNotFound
		}
		if strings.ContainsAny(pattern, "*?[") {
			if kind == 'w' || kind == 'a' || s.opts.AllConfig {
				s.diags.Add(at, sev, "No config files matched '%s'.", pattern)
			}
			return
		}
		s.diags.Add(at, sev, "Config files missing '%s'.", pattern)
		return
	}
	// Files are read in glob order, first match first: push in reverse.
	start := len(s.stack)
	for _, m := range matches {
		if !s.openFile(m, at) {
			continue
		}
	}
	opened := s.stack[start:]
	for i, j := 0, len(opened)-1; i < j; i, j = i+1, j-1 {
		opened[i], opened[j] = opened[j], opened[i]
	}
}

// physical reads the next raw line from the innermost open file.
func (s *source) physical() (string, *srcFile, bool) {
	for len(s.stack) > 0 {
		f := s.stack[len(s.stack)-1]
		text, err := f.r.ReadString('\n')
		if text == "" && err != nil {
			f.f.Close()
			s.stack = s.stack[:len(s.stack)-1]
			continue
		}
		f.num++
		text = strings.TrimRight(text, "\r\n")
		return text, f, true
	}
	return "", nil, false
}

// decomment splits off a comment ('#' or '!' outside double quotes, unless
// escaped with '\') and trims blanks, as keepalived's decomment() does.
// It returns the text, the comment (without marker), the offset of the text in
// raw, the offset of the comment, and whether the line ends with a '\'
// continuation (used by multi-line definitions).
func decomment(raw string) (text, comment string, textOff, commentOff int, cont bool) {
	start := 0
	for start < len(raw) && (raw[start] == ' ' || raw[start] == '\t') {
		start++
	}
	var unescaped []byte // allocated only when a \# or \! escape is present
	segStart, end := start, len(raw)
	commentOff = -1
	quote := false
scan:
	for i := start; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			quote = !quote
			i++
		case c == '\\':
			if i+1 == len(raw) {
				cont = true
				end = i
				break scan
			}
			if !quote && (raw[i+1] == '#' || raw[i+1] == '!') {
				unescaped = append(unescaped, raw[segStart:i]...)
				segStart = i + 1
			}
			i += 2
		case !quote && (c == '#' || c == '!'):
			commentOff = i
			comment = raw[i+1:]
			end = i
			break scan
		default:
			i++
		}
	}
	if unescaped != nil {
		text = string(append(unescaped, raw[segStart:end]...))
	} else {
		text = raw[start:end]
	}
	text = strings.TrimRight(text, " \t")
	if cont {
		text += "\\"
	}
	return text, comment, start, commentOff, cont
}

// next returns the next logical line, or false at the end of input.
func (s *source) next() (line, bool) {
	for {
		var ln line
		if len(s.pending) > 0 {
			ln = s.pending[0]
			s.pending = s.pending[1:]
		} else if seq := s.topSeq(); seq != nil {
			ln = seq.at
			ln.text = seq.text
			v := strconv.FormatInt(seq.next, 10)
			if seq.hex {
				v = strconv.FormatInt(seq.next, 16)
			}
			s.defs[seq.variable] = &definition{value: v}
			seq.next += seq.step
			if (seq.step > 0 && seq.next > seq.last) || (seq.step < 0 && seq.next < seq.last) {
				s.seqs = s.seqs[:len(s.seqs)-1]
			}
		} else {
			raw, f, ok := s.physical()
			if !ok {
				return line{}, false
			}
			if s.defining != nil {
				if s.continueDefinition(raw) {
					continue
				}
			}
			text, comment, off, coff, _ := decomment(raw)
			if text == "" && s.defining == nil {
				// Comment-only lines carry nothing keepalived reads.
				continue
			}
			ln = line{text: text, comment: comment, file: f.name, num: f.num, col: off + 1}
			if coff >= 0 {
				ln.commentCol = coff + 1
			}
		}
		if ln.text == "" {
			continue
		}
		out, keep := s.preprocess(ln)
		if !keep {
			continue
		}
		if s.isInclude(out) {
			continue
		}
		return out, true
	}
}

func (s *source) topSeq() *seqExpansion {
	if len(s.seqs) == 0 {
		return nil
	}
	return s.seqs[len(s.seqs)-1]
}

// continueDefinition appends a continuation line to a multi-line definition.
func (s *source) continueDefinition(raw string) bool {
	d := s.defining
	text, _, _, _, cont := decomment(raw)
	if cont {
		text = strings.TrimRight(strings.TrimSuffix(text, "\\"), " \t")
	} else {
		s.defining = nil
	}
	if text != "" {
		if d.value != "" {
			d.value += "\n"
		}
		d.value += text
	}
	if !strings.Contains(d.value, "\n") && s.defining == nil {
		d.multiline = false
	}
	return true
}

// preprocess applies @conditionals, $definitions, ~SEQ and substitution.
func (s *source) preprocess(ln line) (line, bool) {
	for round := 0; round < 16; round++ {
		if ln.text[0] == '@' {
			neg := len(ln.text) > 1 && ln.text[1] == '^'
			off := 1
			if neg {
				off = 2
			}
			sp := strings.IndexAny(ln.text[off:], " \t")
			if sp < 0 {
				return ln, false
			}
			id := ln.text[off : off+sp]
			if (id == s.opts.ConfigID) == neg {
				return ln, false
			}
			rest := strings.TrimLeft(ln.text[off+sp:], " \t")
			ln.col += len(ln.text) - len(rest)
			ln.text = rest
			if ln.text == "" {
				return ln, false
			}
		}
		if ln.text[0] == '$' && s.defineFrom(ln) {
			return ln, false
		}
		if strings.HasPrefix(ln.text, "~SEQ") {
			if !s.addSeq(ln) {
				s.diags.Add(s.pos(ln.file, ln.num, ln.col), SevGeneral, "Invalid ~SEQ specification '%s'", ln.text)
			}
			return ln, false
		}
		if ln.text[0] == '~' {
			return ln, true
		}
		if !strings.Contains(ln.text, "$") {
			return ln, true
		}
		replaced, changed := s.substitute(ln)
		if !changed {
			return ln, true
		}
		ln = replaced
		if ln.text == "" {
			return ln, false
		}
		if ln.text[0] != '@' && !strings.Contains(ln.text, "$") {
			return ln, true
		}
	}
	return ln, true
}

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isNameChar(c byte) bool  { return isNameStart(c) || (c >= '0' && c <= '9') }

// defineFrom handles `$NAME=value` (and multi-line `$NAME=value \`).
func (s *source) defineFrom(ln line) bool {
	t := ln.text
	if len(t) < 2 || !isNameStart(t[1]) {
		return false
	}
	i := 2
	for i < len(t) && isNameChar(t[i]) {
		i++
	}
	name := t[1:i]
	j := i
	for j < len(t) && (t[j] == ' ' || t[j] == '\t') {
		j++
	}
	if j >= len(t) || t[j] != '=' {
		return false
	}
	value := strings.TrimLeft(t[j+1:], " \t")
	d := &definition{}
	if strings.HasSuffix(value, "\\") {
		value = strings.TrimRight(strings.TrimSuffix(value, "\\"), " \t")
		d.multiline = true
		s.defining = d
	}
	d.value = value
	s.defs[name] = d
	return true
}

// substitute replaces $NAME and ${NAME} (and ${NAME params}) by their values.
// A multi-line definition expands into several lines: the first replaces the
// reference, the rest are queued.
func (s *source) substitute(ln line) (line, bool) {
	t := ln.text
	var b strings.Builder
	changed := false
	var extra []string
	for i := 0; i < len(t); i++ {
		if t[i] != '$' || i+1 >= len(t) {
			b.WriteByte(t[i])
			continue
		}
		braces := t[i+1] == '{'
		j := i + 1
		if braces {
			j++
		}
		if j >= len(t) || !isNameStart(t[j]) {
			b.WriteByte(t[i])
			continue
		}
		k := j
		for k < len(t) && isNameChar(t[k]) {
			k++
		}
		name := t[j:k]
		params := ""
		end := k
		if braces {
			p := k
			for p < len(t) && (t[p] == ' ' || (t[p] >= '0' && t[p] <= '9')) {
				p++
			}
			if p >= len(t) || t[p] != '}' {
				b.WriteByte(t[i])
				continue
			}
			params = strings.TrimSpace(t[k:p])
			end = p + 1
		} else if k < len(t) && !strings.ContainsRune(" \t,)", rune(t[k])) {
			b.WriteByte(t[i])
			continue
		}
		d, ok := s.defs[name]
		if !ok {
			b.WriteByte(t[i])
			continue
		}
		val := d.value
		if d.fn != nil {
			val = d.fn(params)
		}
		changed = true
		if nl := strings.IndexByte(val, '\n'); nl >= 0 {
			extra = append(extra, strings.Split(val[nl+1:], "\n")...)
			val = val[:nl]
		}
		b.WriteString(val)
		i = end - 1
	}
	if !changed {
		return ln, false
	}
	out := ln
	text, _, _, _, _ := decomment(b.String())
	out.text = text
	if len(extra) > 0 {
		q := make([]line, 0, len(extra)+len(s.pending))
		for _, e := range extra {
			l := ln
			l.text, _, _, _, _ = decomment(e)
			l.comment = ""
			q = append(q, l)
		}
		s.pending = append(q, s.pending...)
	}
	return out, true
}

// addSeq parses `~SEQ(var, [start,] [step,] end) text` (and ~SEQx for hex).
func (s *source) addSeq(ln line) bool {
	t := ln.text[4:]
	hex := false
	if strings.HasPrefix(t, "x") {
		hex = true
		t = t[1:]
	}
	t = strings.TrimLeft(t, " \t")
	if !strings.HasPrefix(t, "(") {
		return false
	}
	closeAt := strings.IndexByte(t, ')')
	if closeAt < 0 {
		return false
	}
	inner := t[1:closeAt]
	rest := strings.TrimLeft(t[closeAt+1:], " \t")
	parts := strings.Split(inner, ",")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	variable := strings.TrimSpace(parts[0])
	if variable == "" || !isNameStart(variable[0]) {
		return false
	}
	nums := make([]int64, 0, 3)
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if sub, ok := s.substitute(line{text: p}); ok {
			p = sub.text
		}
		n, err := strconv.ParseInt(p, 0, 64)
		if err != nil {
			return false
		}
		nums = append(nums, n)
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start, step = 1, 1
		if end < 0 {
			start = -1
		}
		if end < 1 {
			step = -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if start > end {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
		if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
			return false
		}
	}
	if hex && (start < 0 || end < 0) {
		return false
	}
	if (step > 0 && start > end) || (step < 0 && start < end) || rest == "" {
		return true
	}
	at := ln
	at.comment = ""
	s.seqs = append(s.seqs, &seqExpansion{variable: variable, next: start, step: step, last: end, hex: hex, text: rest, at: at})
	return true
}

// isInclude opens included files for `include`, `includer`, `includem`,
// `includew`, `includeb` and `includea` lines.
func (s *source) isInclude(ln line) bool {
	t := ln.text
	if !strings.HasPrefix(t, "include") || len(t) < 8 {
		return false
	}
	kind := byte(0)
	rest := ""
	switch {
	case t[7] == ' ' || t[7] == '\t':
		rest = t[8:]
	case strings.IndexByte("rmwba", t[7]) >= 0 && len(t) > 8 && (t[8] == ' ' || t[8] == '\t'):
		kind = t[7]
		rest = t[9:]
	default:
		return false
	}
	rest = strings.TrimSpace(rest)
	rest = strings.Trim(rest, "\"")
	s.include(kind, rest, s.pos(ln.file, ln.num, ln.col))
	return true
}
