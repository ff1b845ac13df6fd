// Package pcre runs PCRE2 itself, without cgo: go.elara.ws/pcre/lib is a
// mechanical (ccgo) translation of PCRE2 10.40's C source to Go, so
// patterns compile with PCRE2's own parser, report PCRE2's own error texts
// and offsets, and match with PCRE2's interpreter, partial matching
// included. keepalived compiles HTTP_GET regexes with the same library
// (10.42 on Debian 12) and matches them with PCRE2_PARTIAL_HARD over a
// stream of 4 KB buffers, which no other Go engine offers.
//
// The translated code allocates from its own heap (modernc.org/memory), not
// Go's, and every call needs a *libc.TLS that one goroutine uses at a
// time. A Code is immutable and shared; a Matcher holds the per-call state
// (TLS, match data, a copy of the subject) and is used by one goroutine.
// Codes and Matchers free their C memory on Close or, failing that, when
// the garbage collector finds them unreachable.
package pcre

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"go.elara.ws/pcre/lib"
	"modernc.org/libc"
	"modernc.org/libc/sys/types"
)

// Compile options, PCRE2's bits (pcre2.h).
const (
	AllowEmptyClass   = lib.DPCRE2_ALLOW_EMPTY_CLASS
	AltBsux           = lib.DPCRE2_ALT_BSUX
	AutoCallout       = lib.DPCRE2_AUTO_CALLOUT
	Caseless          = lib.DPCRE2_CASELESS
	DollarEndOnly     = lib.DPCRE2_DOLLAR_ENDONLY
	DotAll            = lib.DPCRE2_DOTALL
	DupNames          = lib.DPCRE2_DUPNAMES
	Extended          = lib.DPCRE2_EXTENDED
	FirstLine         = lib.DPCRE2_FIRSTLINE
	MatchUnsetBackref = lib.DPCRE2_MATCH_UNSET_BACKREF
	Multiline         = lib.DPCRE2_MULTILINE
	NeverUCP          = lib.DPCRE2_NEVER_UCP
	NeverUTF          = lib.DPCRE2_NEVER_UTF
	NoAutoCapture     = lib.DPCRE2_NO_AUTO_CAPTURE
	NoAutoPossess     = lib.DPCRE2_NO_AUTO_POSSESS
	NoDotStarAnchor   = lib.DPCRE2_NO_DOTSTAR_ANCHOR
	NoStartOptimize   = lib.DPCRE2_NO_START_OPTIMIZE
	UCP               = lib.DPCRE2_UCP
	Ungreedy          = lib.DPCRE2_UNGREEDY
	UTF               = lib.DPCRE2_UTF
	NeverBackslashC   = lib.DPCRE2_NEVER_BACKSLASH_C
	AltCircumflex     = lib.DPCRE2_ALT_CIRCUMFLEX
	AltVerbnames      = lib.DPCRE2_ALT_VERBNAMES
	UseOffsetLimit    = lib.DPCRE2_USE_OFFSET_LIMIT
)

// Match options.
const (
	PartialHard = lib.DPCRE2_PARTIAL_HARD
	PartialSoft = lib.DPCRE2_PARTIAL_SOFT
)

// Match results and errors (negative return codes of pcre2_match).
const (
	ErrNoMatch       = lib.DPCRE2_ERROR_NOMATCH
	ErrPartial       = lib.DPCRE2_ERROR_PARTIAL
	ErrNull          = lib.DPCRE2_ERROR_NULL
	ErrBadOption     = lib.DPCRE2_ERROR_BADOPTION
	ErrBadMagic      = lib.DPCRE2_ERROR_BADMAGIC
	ErrNoMemory      = lib.DPCRE2_ERROR_NOMEMORY
	ErrBadOffset     = lib.DPCRE2_ERROR_BADOFFSET
	ErrMatchLimit    = lib.DPCRE2_ERROR_MATCHLIMIT
	ErrHeapLimit     = lib.DPCRE2_ERROR_HEAPLIMIT
	ErrDepthLimit    = lib.DPCRE2_ERROR_DEPTHLIMIT
	ErrJITStackLimit = lib.DPCRE2_ERROR_JIT_STACKLIMIT
)

// Version is the PCRE2 release the translation was made from.
const Version = lib.DPACKAGE_VERSION

// CompileError is pcre2_compile's failure: its error number, the offset in
// the pattern where it stopped, and pcre2_get_error_message's text.
type CompileError struct {
	Code   int
	Offset int
	Msg    string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("at offset %d: %s", e.Offset, e.Msg)
}

// ErrorMessage is pcre2_get_error_message's text for a compile error
// number or a negative match result.
func ErrorMessage(code int) string {
	tls := libc.NewTLS()
	defer tls.Close()
	return errorMessage(tls, int32(code))
}

func errorMessage(tls *libc.TLS, code int32) string {
	buf := libc.Xmalloc(tls, 256)
	if buf == 0 {
		return fmt.Sprintf("PCRE2 error %d", code)
	}
	defer libc.Xfree(tls, buf)
	n := lib.Xpcre2_get_error_message_8(tls, code, buf, 256)
	if n < 0 {
		return fmt.Sprintf("PCRE2 error %d", code)
	}
	return string(cmem(buf, int(n)))
}

// cmem is the n bytes of C memory (from the translated library's own heap,
// which Go's collector neither scans nor moves) at p.
func cmem(p uintptr, n int) []byte {
	return unsafe.Slice(*(**byte)(unsafe.Pointer(&p)), n)
}

// Code is a compiled pattern. It is safe for concurrent use.
type Code struct {
	c *code
}

// code holds the C pointer; the finalizer sits on it so that Matchers,
// which refer to it, keep it alive.
type code struct {
	re         uintptr
	lookbehind int
	mu         sync.Mutex
	free       []*matcher // idle matchers, reused by Get
}

// Compile compiles pattern with the given option bits, as
// pcre2_compile(pattern, length, options, ..., NULL) does.
func Compile(pattern string, options uint32) (*Code, error) {
	tls := libc.NewTLS()
	defer tls.Close()
	n := len(pattern)
	p := libc.Xmalloc(tls, types.Size_t(n+1))
	if p == 0 {
		return nil, &CompileError{Code: -48, Msg: "failed to get memory"}
	}
	defer libc.Xfree(tls, p)
	copy(cmem(p, n+1), pattern+"\x00")
	errs := libc.Xmalloc(tls, 16) // int errorcode; PCRE2_SIZE erroroffset
	if errs == 0 {
		return nil, &CompileError{Code: -48, Msg: "failed to get memory"}
	}
	defer libc.Xfree(tls, errs)
	re := lib.Xpcre2_compile_8(tls, p, lib.Tsize_t(n), options, errs, errs+8, 0)
	if re == 0 {
		e := cmem(errs, 16)
		num := int32(binary.NativeEndian.Uint32(e))
		off := binary.NativeEndian.Uint64(e[8:])
		return nil, &CompileError{Code: int(num), Offset: int(off), Msg: errorMessage(tls, num)}
	}
	var lb uint32
	lbp := libc.Xmalloc(tls, 4)
	if lbp != 0 {
		lib.Xpcre2_pattern_info_8(tls, re, lib.DPCRE2_INFO_MAXLOOKBEHIND, lbp)
		lb = binary.NativeEndian.Uint32(cmem(lbp, 4))
		libc.Xfree(tls, lbp)
	}
	c := &code{re: re, lookbehind: int(lb)}
	runtime.SetFinalizer(c, (*code).release)
	return &Code{c: c}, nil
}

func (c *code) release() {
	tls := libc.NewTLS()
	defer tls.Close()
	c.mu.Lock()
	for _, m := range c.free {
		m.release()
	}
	c.free = nil
	c.mu.Unlock()
	if c.re != 0 {
		lib.Xpcre2_code_free_8(tls, c.re)
		c.re = 0
	}
}

// MaxLookbehind is PCRE2_INFO_MAXLOOKBEHIND: how many characters before a
// match's start its lookbehinds may inspect.
func (c *Code) MaxLookbehind() int { return c.c.lookbehind }

// Limits bound one match; zero fields keep PCRE2's defaults.
type Limits struct {
	Match uint32 // pcre2_set_match_limit
	// HeapKiB is pcre2_set_heap_limit: the backtracking memory the
	// interpreter may take, in KiB.
	HeapKiB uint32
}

// JITStackKiB is PCRE2's default JIT stack (32 KiB, used when no
// pcre2_jit_stack is assigned), which bounds keepalived's matches.
const JITStackKiB = 32

// heapPerJITStack is how much interpreter heap stands for one unit of JIT
// stack: at the subject length where Debian's 10.42 JIT runs out of its
// 32 KiB stack, this interpreter needed 257 to 377 KiB of heap on the
// patterns measured (TestJITStackBoundary); 300 KiB per 32 KiB is the
// middle of that range.
const heapPerJITStack = 300.0 / 32

// maxHeapKiB caps the emulated limit, whatever regex_stack asks for.
const maxHeapKiB = 64 << 10

// JITStackLimits returns the limits that make the interpreter give up
// about where a JIT match with a stack of stackKiB would (PCRE2's
// PCRE2_ERROR_HEAPLIMIT standing for PCRE2_ERROR_JIT_STACKLIMIT), with
// PCRE2's default match limit. The boundary is approximate: see
// TestJITStackBoundary for how far apart the two are.
func JITStackLimits(stackKiB int) Limits {
	h := float64(max(stackKiB, 1)) * heapPerJITStack
	return Limits{HeapKiB: uint32(min(h, maxHeapKiB))}
}

// Matcher is the state of matching one Code: use it from one goroutine at
// a time, and Put it back (or Close it) when done.
type Matcher struct {
	m *matcher
	c *code
}

// matcher does not point back to its code: the code's idle list points to
// it, and a cycle between finalized objects would never be collected.
type matcher struct {
	tls  *libc.TLS
	md   uintptr
	mctx uintptr
	subj uintptr
	cap  int
	lim  Limits
}

// Get returns an idle Matcher for c, making one when none is idle.
func (c *Code) Get(lim Limits) *Matcher {
	c.c.mu.Lock()
	if n := len(c.c.free); n > 0 {
		m := c.c.free[n-1]
		c.c.free = c.c.free[:n-1]
		c.c.mu.Unlock()
		m.setLimits(lim)
		return &Matcher{m: m, c: c.c}
	}
	c.c.mu.Unlock()
	tls := libc.NewTLS()
	m := &matcher{tls: tls}
	m.md = lib.Xpcre2_match_data_create_from_pattern_8(tls, c.c.re, 0)
	m.mctx = lib.Xpcre2_match_context_create_8(tls, 0)
	m.setLimits(lim)
	runtime.SetFinalizer(m, (*matcher).release)
	return &Matcher{m: m, c: c.c}
}

// Put returns m to its Code's idle list; m must not be used after.
func (m *Matcher) Put() {
	if m == nil || m.m == nil {
		return
	}
	mm, c := m.m, m.c
	m.m, m.c = nil, nil
	c.mu.Lock()
	c.free = append(c.free, mm)
	c.mu.Unlock()
}

func (m *matcher) setLimits(lim Limits) {
	if lim == m.lim {
		return
	}
	m.lim = lim
	match, heap := lim.Match, lim.HeapKiB
	if match == 0 {
		match = lib.DMATCH_LIMIT
	}
	if heap == 0 {
		heap = lib.DHEAP_LIMIT
	}
	lib.Xpcre2_set_match_limit_8(m.tls, m.mctx, match)
	lib.Xpcre2_set_heap_limit_8(m.tls, m.mctx, heap)
}

func (m *matcher) release() {
	if m.tls == nil {
		return
	}
	if m.subj != 0 {
		libc.Xfree(m.tls, m.subj)
	}
	lib.Xpcre2_match_data_free_8(m.tls, m.md)
	lib.Xpcre2_match_context_free_8(m.tls, m.mctx)
	m.tls.Close()
	m.tls = nil
}

// Match is pcre2_match(code, subject, len, start, options, match_data,
// mcontext). It returns PCRE2's result (> 0 for a match, ErrPartial, or
// another negative code) and ovector[0..1]: the match, or for a partial
// match the start of the attempt and the end of the subject.
func (m *Matcher) Match(subject []byte, start int, options uint32) (rc, from, to int) {
	mm := m.m
	if len(subject) > mm.cap || mm.subj == 0 {
		if mm.subj != 0 {
			libc.Xfree(mm.tls, mm.subj)
		}
		mm.cap = max(len(subject), 64)
		mm.subj = libc.Xmalloc(mm.tls, types.Size_t(mm.cap))
		if mm.subj == 0 {
			mm.cap = 0
			return ErrNoMemory, 0, 0
		}
	}
	copy(cmem(mm.subj, mm.cap), subject)
	ret := lib.Xpcre2_match_8(mm.tls, m.c.re, mm.subj, lib.Tsize_t(len(subject)), lib.Tsize_t(start), options, mm.md, mm.mctx)
	if ret > 0 || ret == 0 || ret == ErrPartial {
		ov := lib.Xpcre2_get_ovector_pointer_8(mm.tls, mm.md)
		p := cmem(ov, 16)
		from, to = int(binary.NativeEndian.Uint64(p)), int(binary.NativeEndian.Uint64(p[8:]))
	}
	return int(ret), from, to
}
