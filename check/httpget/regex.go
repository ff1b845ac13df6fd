package httpget

import (
	"fmt"

	"keepalived-go/internal/pcre"
)

// Regex is a url's `regex` check, as keepalived 2.2.7 runs it
// (check_http.c check_regex): the response is matched piece by piece, as
// it arrives in the 4 KB read buffer, with PCRE2_PARTIAL_HARD. A partial
// match at the end of a buffer keeps its bytes (and MaxLookbehind bytes
// before them) for the next read; a complete match anywhere ends the
// matching. Nothing is matched again at the end of the stream, so a
// partial match left there counts as no match (`OK$` on a body ending in
// "OK" fails, as in keepalived).
//
// Quirks kept from keepalived, because they decide verdicts:
//   - the first piece matched is the whole first buffer, headers included,
//     when body bytes arrived in the same read as the end of the headers;
//     offsets count from the start of that buffer (else from the body);
//   - bytes kept for a partial match are counted again in the body length
//     that Content-Length limits the digest to;
//   - the offsets are unsigned C arithmetic, wrap-arounds included.
type Regex struct {
	// Code is the compiled pattern; nil for one that did not compile,
	// which then never matches.
	Code    *pcre.Code
	Pattern string
	// NoMatch is regex_no_match: a match fails the check.
	NoMatch bool
	// MinOffset is regex_min_offset; 0 means none.
	MinOffset uint64
	// MaxOffset is regex_max_offset plus one (keepalived stores "one
	// beyond the last acceptable position"); 0 means none.
	MaxOffset uint64
	// Limits bound each match: the interpreter's stand-in for the JIT
	// stack keepalived matches with (pcre.JITStackLimits of regex_stack's
	// max, or of PCRE2's default 32 KiB).
	Limits pcre.Limits
	// Log receives the lines keepalived logs while matching ("Unknown
	// regex error -46", ...); nil drops them.
	Log func(string)
}

// regexState is one exchange's matching state (keepalived's request_t
// regex fields).
type regexState struct {
	re      *Regex
	m       *pcre.Matcher
	matched bool   // regex_matched
	subjOff uint64 // regex_subject_offset
	start   uint64 // start_offset: where matching resumes in a kept buffer
}

// reset starts an exchange with re (nil: no regex); the matcher is kept
// while the Code stays the same.
func (s *regexState) reset(re *Regex) {
	if s.m != nil && (re == nil || s.re == nil || s.re.Code != re.Code) {
		s.m.Put()
		s.m = nil
	}
	s.re, s.matched, s.subjOff, s.start = re, false, 0, 0
	if re != nil && re.Code != nil && s.m == nil {
		s.m = re.Code.Get(re.Limits)
	}
}

// release returns the matcher.
func (s *regexState) release() {
	if s.m != nil {
		s.m.Put()
		s.m = nil
	}
}

func (s *regexState) log(format string, args ...any) {
	if s.re.Log != nil {
		s.re.Log(fmt.Sprintf(format, args...))
	}
}

// glibcHeader is what precedes keepalived's 4 KB read buffer in memory:
// the size word of its malloc chunk (0x1011: 4112 bytes, previous chunk in
// use), little-endian, read by check_regex when its kept length wraps.
var glibcHeader = [8]byte{0x11, 0x10}

// check matches buf[:*n] and reports whether the buffer must be kept (a
// partial match); it may move the kept bytes to the front and change *n.
func (s *regexState) check(buf []byte, n *int) bool {
	re := s.re
	if s.matched {
		return false
	}
	ln := uint64(*n)
	if s.m == nil {
		// A pattern that did not compile never matches.
		s.subjOff += ln
		return false
	}
	lb := uint64(re.Code.MaxLookbehind())
	var start uint64
	if re.MinOffset != 0 {
		if s.subjOff+ln < re.MinOffset-lb {
			s.subjOff += ln
			return false
		}
		if s.subjOff < re.MinOffset {
			start = re.MinOffset - s.subjOff
		}
	}
	if re.MaxOffset != 0 && s.subjOff+s.start >= re.MaxOffset {
		s.subjOff += ln
		return false
	}
	start = max(start, s.start)
	rc, from := pcre.ErrBadOffset, 0
	if start <= ln {
		rc, from, _ = s.m.Match(buf[:*n], int(start), pcre.PartialHard)
	}
	s.start = 0
	if rc == pcre.ErrPartial {
		return s.keep(buf, n, uint64(from), lb)
	}
	if rc < 0 {
		s.subjOff += ln
		s.matchError(rc)
		return false
	}
	if rc == 0 {
		s.log("Too many substrings found")
	}
	if re.MaxOffset == 0 || s.subjOff+uint64(from) < re.MaxOffset {
		s.matched = true
	}
	s.subjOff += ln
	return false
}

// keep preserves a partial match starting at from, with lb bytes before
// it for lookbehinds, as check_regex does.
func (s *regexState) keep(buf []byte, n *int, from, lb uint64) bool {
	ln := uint64(*n)
	keep := from - lb // size_t: wraps when from < lb
	switch {
	case keep != 0 && from >= lb:
		s.start = lb
		copy(buf, buf[keep:*n])
		*n -= int(keep)
		s.subjOff += keep
		return true
	case keep != 0 && ln+(lb-from) <= bufSize-1:
		// keepalived moves the buffer "left" by a negative amount: the
		// lb-from bytes before its heap buffer come in front.
		d := int(lb - from)
		copy(buf[d:], buf[:*n])
		for i := 0; i < d; i++ {
			if k := d - i; k <= len(glibcHeader) {
				buf[i] = glibcHeader[len(glibcHeader)-k]
			} else {
				buf[i] = 0
			}
		}
		*n += d
		s.start = lb
		s.subjOff += keep
		return true
	}
	// keep == 0 (or a wrap this buffer cannot hold: keepalived would
	// overrun its own).
	if ln == bufSize-1 {
		s.subjOff += ln
		s.log("Regex partial match preserve too large - discarding")
		return false
	}
	return true
}

func (s *regexState) matchError(rc int) {
	switch rc {
	case pcre.ErrNoMatch:
	case pcre.ErrNull:
		s.log("Something was null in regex match")
	case pcre.ErrBadOption:
		s.log("A bad option was passed to regex")
	case pcre.ErrBadMagic:
		s.log("Magic number bad (compiled regex corrupt?)")
	case pcre.ErrNoMemory:
		s.log("Regex an out of memory")
	case pcre.ErrHeapLimit:
		// The interpreter's heap limit stands for the JIT stack.
		s.log("Unknown regex error %d", pcre.ErrJITStackLimit)
	default:
		s.log("Unknown regex error %d", rc)
	}
}
