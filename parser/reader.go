package parser

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// This file is a port of keepalived 2.2.7's line reader (lib/parser.c:
// read_line and what it calls). keepalived reads a configuration line by line;
// everything it does to a line before a keyword handler sees it happens here:
// fgets into a 1024-byte buffer, comments (decomment), @config_id lines,
// $NAME definitions (multi-line too), ~SEQ and ~LST expansion, $NAME
// substitution, include directives, and the split of a line at the first '{'
// or '}' outside quotes (the rest is read as the next line). The order of these
// steps, their buffers and their quirks are keepalived's, because the keyword
// handlers, and so the loaded configuration, depend on them.

// maxBuf is keepalived's MAXBUF: lines are read with fgets(buf, MAXBUF), so a
// physical line longer than maxBuf-1 bytes is read as several lines.
const maxBuf = 1024

// includeType is keepalived's include_t: which problems of an include are errors.
type includeType uint

const (
	includeR includeType = 1 << iota // a file that is a directory, unreadable, ...
	includeM                         // nothing matched a pattern without wildcards
	includeW                         // nothing matched a pattern with wildcards
	includeB                         // an alternative of a {a,b} pattern matched nothing
)

// IncludeAll is what include_check without arguments sets.
const IncludeAll = includeR | includeM | includeW | includeB

// lineStream is fgets over a file (or the configuration copy).
type lineStream struct {
	r *bufio.Reader
	c io.Closer
}

// fgets returns up to maxBuf-1 bytes, ending at (and including) a newline.
func (s *lineStream) fgets() (string, bool) {
	b, err := s.r.Peek(maxBuf - 1)
	if len(b) == 0 {
		_ = err
		return "", false
	}
	n := len(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		n = i + 1
	}
	line := string(b[:n])
	s.r.Discard(n)
	return line, true
}

// keepalived keeps every file of the include stack open, so a file that
// includes itself ends when fopen fails with EMFILE at its descriptor limit
// (1024 by default), with "open problem (Too many open files) - skipping".
// maxIncludeDepth stands for that limit (Go raises its own). maxOpenedFiles
// bounds the files one read opens in all, so that includes that branch
// ("include *{,}" in a file matching *) end too: keepalived would read on
// for ever; past the bound, every further open fails the same way.
const (
	maxIncludeDepth = 1000
	maxOpenedFiles  = 20000
)

// maxOpened is Options.MaxOpenedFiles, or maxOpenedFiles.
func (r *Reader) maxOpened() int {
	if r.opts.MaxOpenedFiles > 0 {
		return r.opts.MaxOpenedFiles
	}
	return maxOpenedFiles
}

// includeFile is keepalived's include_file_t: one glob being read.
type includeFile struct {
	matches    []string // glob results, as glob returned them (relative stays relative)
	next       int
	fileName   string
	stream     *lineStream
	copyStream bool // the stream is the configuration copy (never closed here)
	numMatches int
	curName    string // current_file_name: "" when keepalived prints "(Line N)"
	named      bool
	lineNo     int
	typ        includeType
	savCheck   includeType
	prevDir    string // directory to return to when the file ends
	changedDir bool
	realName   string // the path opened, for our positions
}

type definition struct {
	name      string
	value     string
	multiline bool
	fn        func(d *definition) string
	maxParams int
	params    string // "${NAME params}" of the reference being expanded
}

type seqEntry struct {
	variable string
	next     int64
	step     int64
	last     int64
	hex      bool
	text     string
	// ~LST
	lstParams []string
	lstValues [][]string
	lstNext   int
}

// Reader yields keepalived's lines from a configuration and its includes.
// The first pass over a configuration reads the files and records keepalived's
// consolidated copy; later passes (keepalived's checker, VRRP and BFD
// processes) read that copy, exactly as keepalived's children do.
type Reader struct {
	diags   *Diagnostics
	opts    Options
	stack   []*includeFile // top is the last element
	defs    []*definition
	seqs    []*seqEntry
	residue *string
	nextPtr *string // the rest of a multi-line definition being expanded
	mlStack []mlEntry
	mlDepth int

	includeCheck includeType
	blockDepth   int
	cwd          string // keepalived chdir()s into each file's directory

	writeCopy bool
	copyBuf   *copyWriter
	readCopy  bool

	fileError bool // keepalived's config_file_error
	rand      func(lo, hi int64) int64
	opened    int // configuration files opened by this read (maxOpenedFiles)

	// Recover turns on layout recovery (recover.go); Recovered counts it.
	Recover   bool
	Recovered Recovery
	pushed    []string
}

type mlEntry struct {
	ptr   *string
	depth int
}

// Copy is keepalived's consolidated configuration copy: every physical line
// after decomment, with "# file" and "!" markers around each file. Like
// keepalived's, it lives in a memfd (so a huge file does not sit in our
// heap), or in memory where memfd is not available.
type Copy struct {
	name string
	file *os.File // memfd
	size int64
	data []byte // when there is no memfd
}

// Close releases the copy.
func (c *Copy) Close() {
	if c != nil && c.file != nil {
		c.file.Close()
		c.file = nil
	}
}

func (c *Copy) reader() io.Reader {
	if c.file != nil {
		return io.NewSectionReader(c.file, 0, c.size)
	}
	return bytes.NewReader(c.data)
}

// copyWriter writes the copy to a memfd through a buffer.
type copyWriter struct {
	f   *os.File
	w   *bufio.Writer
	n   int64
	mem bytes.Buffer
}

func newCopyWriter() *copyWriter {
	c := &copyWriter{}
	if fd, err := unix.MemfdCreate("keepalived-go/consolidated_configuration", unix.MFD_CLOEXEC); err == nil {
		c.f = os.NewFile(uintptr(fd), "memfd")
		c.w = bufio.NewWriterSize(c.f, 64*1024)
	}
	return c
}

func (c *copyWriter) WriteString(s string) {
	c.n += int64(len(s))
	if c.w != nil {
		c.w.WriteString(s)
		return
	}
	c.mem.WriteString(s)
}

func (c *copyWriter) writeByte(b byte) {
	c.n++
	if c.w != nil {
		c.w.WriteByte(b)
		return
	}
	c.mem.WriteByte(b)
}

func newReader(opts Options, diags *Diagnostics) *Reader {
	r := &Reader{diags: diags, opts: opts}
	if opts.AllConfig {
		r.includeCheck = IncludeAll
	}
	r.cwd = opts.Dir
	if r.cwd == "" {
		r.cwd, _ = os.Getwd()
	}
	r.rand = opts.Random
	if r.rand == nil {
		r.rand = defaultRandom
	}
	r.setStdDefinitions()
	return r
}

// OpenFiles starts keepalived's first pass: the configuration file(s) matching
// path are read from disk and a copy is recorded for the later passes.
func OpenFiles(path string, opts Options, diags *Diagnostics) *Reader {
	r := newReader(opts, diags)
	r.writeCopy = true
	r.copyBuf = newCopyWriter()
	if !r.openGlobFile(path, includeR|includeM|includeW) {
		r.fileConfigError(includeR, "Failed to open configuration file")
	}
	return r
}

// OpenCopy starts a later pass over the copy a first pass recorded.
func OpenCopy(c *Copy, opts Options, diags *Diagnostics) *Reader {
	r := newReader(opts, diags)
	r.readCopy = true
	f := &includeFile{
		fileName: c.name, curName: c.name, named: true, numMatches: 1,
		stream:     &lineStream{r: bufio.NewReaderSize(c.reader(), 64*1024)},
		copyStream: true, realName: c.name,
	}
	r.stack = append(r.stack, f)
	return r
}

// Copy returns the consolidated copy recorded by a first pass.
func (r *Reader) Copy(name string) *Copy {
	c := r.copyBuf
	if c == nil {
		return &Copy{name: name}
	}
	if c.w != nil {
		if err := c.w.Flush(); err == nil {
			return &Copy{name: name, file: c.f, size: c.n}
		}
		c.f.Close()
	}
	return &Copy{name: name, data: c.mem.Bytes()}
}

// FileError reports whether an include problem was an error under the
// include checks in force (keepalived then exits without running the config).
func (r *Reader) FileError() bool { return r.fileError }

// BlockDepth is the count of '{' not closed (reported after a pass).
func (r *Reader) BlockDepth() int { return r.blockDepth }

func (r *Reader) top() *includeFile {
	if len(r.stack) == 0 {
		return nil
	}
	return r.stack[len(r.stack)-1]
}

// where returns the file name keepalived would print ("" for none) and the
// line number, following vreport_config_error.
func (r *Reader) where() (name string, line int, ok bool) {
	if len(r.stack) == 0 {
		return "", 0, false
	}
	f := r.stack[len(r.stack)-1]
	if !f.named && len(r.stack) > 1 {
		f = r.stack[len(r.stack)-2]
	}
	if f.named {
		return f.curName, f.lineNo, true
	}
	if f.lineNo != 0 {
		return "", f.lineNo, true
	}
	return "", 0, false
}

// realPos is where the current line really is (for our own positions).
func (r *Reader) realPos() (string, int) {
	for i := len(r.stack) - 1; i >= 0; i-- {
		f := r.stack[i]
		if f.realName != "" && !f.copyStream {
			return f.realName, f.lineNo
		}
		if f.copyStream && f.named && f.curName != "" {
			return r.resolve(f.curName), f.lineNo
		}
	}
	return "", 0
}

func (r *Reader) resolve(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(r.cwd, name)
}

// report is keepalived's report_config_error at the reader's position.
func (r *Reader) report(sev Severity, format string, args ...any) {
	r.diags.report(r, sev, format, args...)
}

// fileConfigError is keepalived's file_config_error: an error only when the
// include checks in force ask for it, otherwise printed without effect.
func (r *Reader) fileConfigError(t includeType, format string, args ...any) {
	check := r.includeCheck
	if f := r.top(); f != nil {
		check |= f.typ
	}
	sev := SevNone
	if check&t != 0 {
		sev = SevFileNotFound
		r.fileError = true
	}
	r.report(sev, format, args...)
}

// SetIncludeCheck is keepalived's include_check_set (the include_check keyword).
func (r *Reader) SetIncludeCheck(words []string) {
	if len(words) <= 1 {
		r.includeCheck = IncludeAll
		return
	}
	for i, word := range words[1:] {
		add := 0
		off := 1
		switch {
		case strings.HasPrefix(word, "-"):
			add = -1
		case strings.HasPrefix(word, "+"):
			add = 1
		default:
			off = 0
			if i == 0 {
				r.includeCheck = 0
			} else {
				r.report(SevGeneral, "Duplicate include_check '%s' specified - ignoring", word)
				continue
			}
		}
		var flag includeType
		switch word[off:] {
		case "read":
			flag = includeR
		case "match":
			flag = includeM
		case "wildcard_match":
			flag = includeW
		case "brace_match":
			flag = includeB
		default:
			r.report(SevGeneral, "Unknown include_check type '%s' - ignoring", word[off:])
		}
		if flag != 0 {
			switch add {
			case 0:
				r.includeCheck = includeR | flag
			case 1:
				r.includeCheck |= flag
			default:
				r.includeCheck &^= flag
			}
		}
	}
}

// openGlobFile is keepalived's open_glob_file.
func (r *Reader) openGlobFile(pattern string, t includeType) bool {
	f := &includeFile{typ: t, savCheck: r.includeCheck}
	r.stack = append(r.stack, f)
	matches, ok := r.openAndCheckGlob(pattern, t)
	if !ok {
		r.stack = r.stack[:len(r.stack)-1]
		return false
	}
	f.matches = matches
	if !r.openConfFile(f) {
		if len(f.matches) == 0 {
			r.fileConfigError(includeR, "%s - no matching file", pattern)
		}
		r.stack = r.stack[:len(r.stack)-1]
		return false
	}
	f.fileName = pattern
	return true
}

// openAndCheckGlob is keepalived's open_and_check_glob.
func (r *Reader) openAndCheckGlob(pattern string, t includeType) ([]string, bool) {
	g := globC(r.cwd, pattern)
	if len(g.matches) == 0 {
		switch {
		case g.missingFiles > 0 || g.missingDirs > 0:
			kind := includeM
			if haveBrace(pattern) {
				kind = includeB
			}
			r.fileConfigError(kind, "Config files missing '%s'.", pattern)
		case g.haveWildcards && (r.includeCheck|t)&includeW != 0:
			r.fileConfigError(includeW, "No config files matched '%s'.", pattern)
		}
		return nil, false
	}
	if g.missingDirs > 0 || g.missingFiles > 0 {
		r.fileConfigError(includeB, "Some config files missing: \"%s\".", pattern)
		if (r.includeCheck|t)&includeB != 0 {
			return nil, false
		}
	}
	return g.matches, true
}

// checkGlobFile is keepalived's check_glob_file.
func (r *Reader) checkGlobFile(name string) bool {
	if strings.HasSuffix(name, "/") {
		r.fileConfigError(includeR, "Configuration file '%s' is a directory - skipping", name)
		return false
	}
	st, err := os.Stat(r.resolve(name))
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 != 0 {
		r.fileConfigError(includeR, "Configuration file '%s' is not a regular non-executable file - skipping", name)
		return false
	}
	return true
}

// openConfFile is keepalived's open_conf_file: the next readable match.
func (r *Reader) openConfFile(f *includeFile) bool {
	for f.next < len(f.matches) {
		name := f.matches[f.next]
		f.next++
		if !r.checkGlobFile(name) {
			continue
		}
		real := r.resolve(name)
		var fh *os.File
		var err error
		if len(r.stack) > maxIncludeDepth || r.opened >= r.maxOpened() {
			err = syscall.EMFILE
		} else {
			fh, err = os.Open(real)
		}
		if err != nil {
			r.fileConfigError(includeR, "Configuration file '%s' open problem (%s) - skipping", name, errnoText(err))
			continue
		}
		if r.writeCopy {
			r.copyBuf.WriteString("# " + name + "\n")
		}
		f.stream = &lineStream{r: bufio.NewReaderSize(fh, 64*1024), c: fh}
		r.opened++
		f.numMatches++
		if len(r.stack) > 1 || len(f.matches) > 1 {
			f.curName, f.named = name, true
		}
		f.lineNo = 0
		f.realName = real
		f.changedDir = false
		if strings.Contains(name, "/") {
			f.prevDir, f.changedDir = r.cwd, true
			r.cwd = filepath.Dir(real)
		}
		return true
	}
	return false
}

// endFile is keepalived's end_file.
func (r *Reader) endFile(f *includeFile) {
	if !f.copyStream && f.stream != nil && f.stream.c != nil {
		f.stream.c.Close()
	}
	if r.writeCopy {
		r.copyBuf.WriteString("!\n")
	}
	r.includeCheck = f.savCheck
	if f.changedDir {
		r.cwd = f.prevDir
		f.changedDir = false
	}
}

// nextFile is keepalived's get_next_file: false when every file is read.
func (r *Reader) nextFile() bool {
	f := r.top()
	r.endFile(f)
	if r.openConfFile(f) {
		return true
	}
	r.stack = r.stack[:len(r.stack)-1] // end_glob
	return len(r.stack) > 0
}

// isInclude is keepalived's is_include.
func isInclude(buf string) bool {
	if !strings.HasPrefix(buf, "include") || len(buf) < 8 {
		return false
	}
	if isSpace(buf[7]) {
		return true
	}
	return len(buf) > 8 && isSpace(buf[8]) && strings.IndexByte("rmwba", buf[7]) >= 0
}

// checkInclude is keepalived's check_include.
func (r *Reader) checkInclude(buf string) bool {
	if !isInclude(buf) {
		return false
	}
	var p string
	var t includeType
	if isSpace(buf[7]) {
		p = buf[8:]
	} else {
		p = buf[9:]
		switch buf[7] {
		case 'r':
			t = includeR
		case 'a':
			t = includeR | includeM | includeB | includeW
		case 'w':
			t = includeR | includeM | includeW
		case 'm':
			t = includeR | includeM
		default: // 'b'
			t = includeR | includeB
		}
	}
	p = strings.TrimLeft(p, " \t")
	r.openGlobFile(p, t)
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// hasCommentChar reports whether decomment has anything to do in s
// (one of ! # " \).
func hasCommentChar(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '!', '#', '"', '\\':
			return true
		}
	}
	return false
}

// trimBlanks removes trailing blanks (space, tab).
func trimBlanks(s string) string {
	n := len(s)
	for n > 0 && isBlank(s[n-1]) {
		n--
	}
	return s[:n]
}

// decomment is keepalived's decomment(): leading blanks, comments ('#' or
// '!' outside double quotes; "\#" and "\!" outside quotes are unescaped) and
// trailing blanks go, and a final '\' stays as the continuation mark.
func (r *Reader) decomment(s string) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	s = s[i:]
	if !hasCommentChar(s) {
		return trimBlanks(s)
	}
	b := []byte(s)
	quote, cont := false, false
	skip := -1
	for p := 0; p < len(b); p++ {
		c := b[p]
		if c == '"' {
			if skip < 0 {
				quote = !quote
			}
			continue
		}
		if c == '\\' {
			if p+1 == len(b) {
				b = b[:p]
				cont = true
				break
			}
			if !quote && (b[p+1] == '#' || b[p+1] == '!') {
				b = append(b[:p], b[p+1:]...) // the loop steps over the comment character
			} else {
				p++
			}
			continue
		}
		if !quote && skip < 0 && (c == '!' || c == '#') {
			skip = p
		}
	}
	if quote {
		r.report(SevGeneral, "Unterminated quote '%s'", b)
	}
	if skip >= 0 && skip < len(b) {
		b = b[:skip]
	}
	n := len(b)
	for n > 0 && isBlank(b[n-1]) {
		n--
	}
	b = b[:n]
	if cont {
		b = append(b, '\\')
	}
	return string(b)
}

// readPhysical reads the next non-empty decommented line from the files,
// writing the copy on the way. ok is false at the end of every file.
func (r *Reader) readPhysical(ml *bool, mlDef **definition) (string, bool) {
	for {
		f := r.top()
		if f == nil {
			return "", false
		}
		raw, ok := f.stream.fgets()
		if !ok {
			if r.nextFile() {
				continue
			}
			return "", false
		}
		if r.readCopy && len(raw) > 0 {
			if raw[0] == '#' {
				if len(raw) > 1 && raw[1] == '!' {
					continue // errors of the first pass: only the parent prints them
				}
				name := strings.TrimSuffix(raw, "\n")
				if len(name) >= 2 {
					name = name[2:]
				} else {
					name = ""
				}
				nf := &includeFile{
					fileName: name, curName: name, named: true, numMatches: 1,
					stream: f.stream, copyStream: true,
				}
				if strings.Contains(name, "/") {
					nf.prevDir, nf.changedDir = r.cwd, true
					r.cwd = filepath.Dir(r.resolve(name))
				}
				r.stack = append(r.stack, nf)
				continue
			} else if raw[0] == '!' {
				if f.changedDir {
					r.cwd = f.prevDir
				}
				r.stack = r.stack[:len(r.stack)-1]
				continue
			}
		}
		n := len(raw)
		if n > 0 && raw[n-1] == '\n' {
			f.lineNo++
			n--
		}
		for n > 0 && (raw[n-1] == '\n' || raw[n-1] == '\r') {
			n--
		}
		if n == 0 && *ml {
			*ml = false
			if (*mlDef).value == "" {
				(*mlDef).multiline = false
			}
		}
		if n == 0 {
			if r.writeCopy {
				r.copyBuf.writeByte('\n')
			}
			continue
		}
		buf := r.decomment(raw[:n])
		if r.Recover {
			buf = r.recoverComment(raw[:n], buf)
		}
		if r.writeCopy {
			if isInclude(buf) {
				r.copyBuf.writeByte('\n')
			} else {
				r.copyBuf.WriteString(buf)
				r.copyBuf.writeByte('\n')
			}
		}
		if buf != "" {
			return buf, true
		}
	}
}

// pushBack makes s the next line read (layout recovery).
func (r *Reader) pushBack(s string) { r.pushed = append(r.pushed, s) }

// Next returns keepalived's next line (read_line), or false at the end.
func (r *Reader) Next() (string, bool) {
	buf, eof := r.readLine()
	return buf, !eof
}

func (r *Reader) readLine() (buf string, eof bool) {
	if n := len(r.pushed); n > 0 {
		buf = r.pushed[n-1]
		r.pushed = r.pushed[:n-1]
		return buf, false
	}
	var def *definition
	multilineDef := false
	for {
		switch {
		case r.residue != nil:
			buf = *r.residue
			r.residue = nil
		case len(r.seqs) > 0 && len(r.seqs) > r.mlDepth:
			buf = r.nextSeqLine()
		case r.nextPtr != nil:
			next := *r.nextPtr
			if i := strings.IndexByte(next, '\n'); i < 0 {
				buf = next
				if n := len(r.mlStack); n > 0 {
					r.nextPtr = r.mlStack[n-1].ptr
					r.mlDepth = r.mlStack[n-1].depth
					r.mlStack = r.mlStack[:n-1]
				} else {
					r.nextPtr = nil
					r.mlDepth = 0
				}
			} else {
				buf = next[:i]
				rest := next[i+1:]
				r.nextPtr = &rest
			}
		default:
			var ok bool
			buf, ok = r.readPhysical(&multilineDef, &def)
			if !ok {
				return "", true
			}
		}

		if multilineDef {
			n := len(buf)
			if n > 0 && buf[n-1] == '\\' {
				n--
				for n >= 1 && isBlank(buf[n-1]) {
					n--
				}
				buf = buf[:n] + "\n"
			} else {
				multilineDef = false
				if def.value == "" {
					def.multiline = false
				}
			}
			if len(buf) >= 2 || (len(buf) > 0 && !multilineDef) {
				def.value += buf
			}
			continue
		}
		if buf == "" {
			continue
		}
		buf, def, multilineDef = r.preprocess(buf)
		if buf == "" || r.checkInclude(buf) {
			continue
		}
		break
	}
	return r.splitBraces(buf), false
}

// preprocess applies @config_id, $NAME= definitions, ~SEQ/~LST and $NAME
// substitution to a line (the inner loop of keepalived's read_line).
func (r *Reader) preprocess(buf string) (string, *definition, bool) {
	for {
		recheck := false
		if buf[0] == '@' {
			rev, ofs := false, 1
			if len(buf) > 1 && buf[1] == '^' {
				rev, ofs = true, 2
			}
			sp := strings.IndexAny(buf[ofs:], " \t")
			if sp < 0 {
				return "", nil, false
			}
			id := buf[ofs : ofs+sp]
			differs := r.opts.ConfigID == "" || id != r.opts.ConfigID
			if differs != rev {
				return "", nil, false
			}
			buf = strings.TrimLeft(buf[ofs+sp:], " \t")
			if buf == "" {
				return "", nil, false
			}
		}
		if buf[0] == '$' {
			if d := r.checkDefinition(buf); d != nil {
				return "", d, d.multiline
			}
		}
		if strings.HasPrefix(buf, "~SEQ") || strings.HasPrefix(buf, "~LST") {
			if buf[1] == 'S' {
				if !r.addSeq(buf) {
					r.report(SevGeneral, "Invalid ~SEQ specification '%s'", buf)
				}
			} else if !r.addLst(buf) {
				r.report(SevGeneral, "Invalid ~LST specification '%s'", buf)
			}
			return "", nil, false
		}
		if buf[0] == '~' {
			return buf, nil, false
		}
		if len(r.defs) > 0 && strings.IndexByte(buf, '$') >= 0 {
			nb, changed := r.replaceParam(buf, maxBuf, &r.nextPtr)
			if !changed {
				return buf, nil, false
			}
			buf = r.decomment(nb)
			if buf == "" {
				return "", nil, false
			}
			if buf[0] == '@' || strings.IndexByte(buf, '$') >= 0 {
				recheck = true
			}
		}
		if !recheck {
			return buf, nil, false
		}
	}
}

// splitBraces keeps the text up to the first '{' or '}' outside quotes (or
// the brace itself when the line starts with one); the rest is read next.
func (r *Reader) splitBraces(buf string) string {
	p := -1
	if buf[0] == '{' || buf[0] == '}' {
		p = 0
	} else {
		for i := 0; i < len(buf); i++ {
			c := buf[i]
			if c != '{' && c != '}' && c != '"' {
				continue
			}
			if c == '{' || c == '}' {
				p = i
				break
			}
			if c == '"' {
				j := strings.IndexByte(buf[i+1:], '"')
				if j < 0 {
					break
				}
				i += j + 1
			}
		}
	}
	if p >= 0 {
		skip := 0
		if p == 0 {
			skip = 1
			for skip < len(buf) && isBlank(buf[skip]) {
				skip++
			}
		}
		if p+skip < len(buf) {
			rest := trimBlanks(buf[p+skip:])
			r.residue = &rest
			buf = buf[:p+skip]
		}
	}
	buf = trimBlanks(buf)
	switch buf {
	case "{":
		r.blockDepth++
	case "}":
		r.blockDepth--
		if r.blockDepth < 0 {
			r.report(SevUnexpectedEOB, "Extra '}' found")
			r.blockDepth = 0
		}
	}
	return buf
}

func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// CheckConfFile is keepalived's check_conf_file: before reading anything,
// the main configuration pattern must match exactly one readable regular
// file (several matches are read in turn, with a warning).
func CheckConfFile(path string, opts Options, diags *Diagnostics) ([]string, bool) {
	r := newReader(opts, diags)
	matches, ok := r.openAndCheckGlob(path, 0)
	if !ok {
		return nil, false
	}
	n := 0
	for _, m := range matches {
		if !r.checkGlobFile(m) {
			ok = false
			continue
		}
		f, err := os.Open(r.resolve(m))
		if err != nil {
			r.report(SevFileNotFound, "Unable to read configuration file %s", m)
			ok = false
			break
		}
		f.Close()
		n++
	}
	if ok {
		if n > 1 {
			r.report(SevMultipleFiles, "WARNING, multiple configuration file matches of %s, starting with %s", path, matches[0])
		} else if n == 0 {
			r.report(SevFileNotFound, "Unable to find configuration file %s", path)
			ok = false
		}
	}
	return matches, ok
}
