package httpget

import (
	"fmt"
	"strings"
)

// Status code bounds of keepalived's status_code bitmap.
const (
	MinStatusCode = 100
	MaxStatusCode = 599
)

// StatusSet is the set of accepted HTTP status codes of one url block.
// The zero value means "not configured" and accepts 200-299, keepalived's
// default.
type StatusSet struct {
	bits [(MaxStatusCode - MinStatusCode + 64) / 64]uint64
}

// DefaultStatusCodes returns the set {200..299}.
func DefaultStatusCodes() StatusSet {
	var s StatusSet
	s.AddRange(200, 299)
	return s
}

// IsZero reports whether no code was added.
func (s StatusSet) IsZero() bool {
	for _, w := range s.bits {
		if w != 0 {
			return false
		}
	}
	return true
}

// AddRange adds lo..hi inclusive; codes outside 100-599 are ignored.
func (s *StatusSet) AddRange(lo, hi int) {
	lo = max(lo, MinStatusCode)
	hi = min(hi, MaxStatusCode)
	for c := lo; c <= hi; c++ {
		i := c - MinStatusCode
		s.bits[i/64] |= 1 << (i % 64)
	}
}

// Contains reports whether code is accepted. An unconfigured set accepts
// the default 200-299.
func (s StatusSet) Contains(code int) bool {
	if s.IsZero() {
		return code >= 200 && code <= 299
	}
	if code < MinStatusCode || code > MaxStatusCode {
		return false
	}
	i := code - MinStatusCode
	return s.bits[i/64]&(1<<(i%64)) != 0
}

// Ranges returns the accepted codes as inclusive [lo, hi] runs, in order,
// the way keepalived's config dump lists them.
func (s StatusSet) Ranges() [][2]int {
	if s.IsZero() {
		return [][2]int{{200, 299}}
	}
	var out [][2]int
	lo := 0
	for c := MinStatusCode; c <= MaxStatusCode+1; c++ {
		in := c <= MaxStatusCode && s.Contains(c)
		switch {
		case in && lo == 0:
			lo = c
		case !in && lo != 0:
			out = append(out, [2]int{lo, c - 1})
			lo = 0
		}
	}
	return out
}

// String prints the set as "200-299" or "200 301-302".
func (s StatusSet) String() string {
	var b strings.Builder
	for i, r := range s.Ranges() {
		if i > 0 {
			b.WriteByte(' ')
		}
		if r[0] == r[1] {
			fmt.Fprintf(&b, "%d", r[0])
		} else {
			fmt.Fprintf(&b, "%d-%d", r[0], r[1])
		}
	}
	return b.String()
}

// ParseStatusCodes parses the arguments of a status_code keyword: each is
// a code or a lo-hi range within 100-599. Like keepalived, an invalid
// argument is reported and skipped while the others still apply; the
// returned errors wrap ErrStatusCodeSyntax.
func ParseStatusCodes(args []string) (StatusSet, []error) {
	var s StatusSet
	var errs []error
	for _, a := range args {
		lo, hi, ok := parseStatusArg(a)
		if !ok {
			errs = append(errs, fmt.Errorf("%w '%s'", ErrStatusCodeSyntax, a))
			continue
		}
		s.AddRange(lo, hi)
	}
	return s, errs
}

func parseStatusArg(a string) (lo, hi int, ok bool) {
	b := []byte(a)
	v, end, neg := strtoul(b)
	if neg || v > MaxStatusCode {
		return 0, 0, false
	}
	lo, hi = int(v), int(v)
	if end < len(b) && b[end] == '-' {
		rest := b[end+1:]
		w, e2, neg2 := strtoul(rest)
		if neg2 || w > MaxStatusCode {
			return 0, 0, false
		}
		hi = int(w)
		end += 1 + e2
	}
	if end != len(b) || lo < MinStatusCode || hi < MinStatusCode || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}
