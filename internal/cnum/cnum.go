// Package cnum reads numbers as C's strtol and strtoul do, errno included:
// keepalived reads every number of its configuration, and the files it
// tracks, with them, and its messages print what they returned.
package cnum

import (
	"math"
	"strings"
)

const whiteSpace = " \t\f\n\r\v"

// scan reads strtol's leading blanks, sign, base prefix and digits: the
// magnitude (saturated on overflow), the sign, the index after the last
// digit (-1: no digits) and whether the magnitude overflowed.
func scan(s string, base int) (u uint64, neg bool, end int, erange bool) {
	i := 0
	for i < len(s) && strings.IndexByte(whiteSpace, s[i]) >= 0 {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	b := base
	if (b == 0 || b == 16) && i+2 < len(s) && s[i] == '0' && (s[i+1]|0x20) == 'x' && Digit(s[i+2]) >= 0 && Digit(s[i+2]) < 16 {
		b = 16
		i += 2
		start = i
	} else if b == 0 {
		b = 10
		if i < len(s) && s[i] == '0' {
			b = 8
		}
	}
	for i < len(s) {
		d := Digit(s[i])
		if d < 0 || d >= b {
			break
		}
		if u > (math.MaxUint64-uint64(d))/uint64(b) {
			erange, u = true, math.MaxUint64
		} else if !erange {
			u = u*uint64(b) + uint64(d)
		}
		i++
	}
	if i == start {
		return 0, neg, -1, false
	}
	return u, neg, i, erange
}

// Strtol is strtol(s, &end, base) with errno: the value, the rest of s not
// converted (all of s when nothing was), and whether it overflowed (ERANGE;
// the value is then LONG_MIN or LONG_MAX).
func Strtol(s string, base int) (v int64, rest string, erange bool) {
	u, neg, end, over := scan(s, base)
	if end < 0 {
		return 0, s, false
	}
	if neg {
		if over || u > 1<<63 {
			return math.MinInt64, s[end:], true
		}
		return -int64(u), s[end:], false
	}
	if over || u > math.MaxInt64 {
		return math.MaxInt64, s[end:], true
	}
	return int64(u), s[end:], false
}

// Strtoul is strtoul: as Strtol, but a leading '-' negates modulo 2^64, as
// in C, and an overflow gives ULONG_MAX.
func Strtoul(s string, base int) (v uint64, rest string, erange bool) {
	u, neg, end, over := scan(s, base)
	if end < 0 {
		return 0, s, false
	}
	if over {
		return math.MaxUint64, s[end:], true
	}
	if neg {
		u = -u
	}
	return u, s[end:], false
}

// Digit is a character's value as a digit of any base up to 36, -1 for a
// character that is none.
func Digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'z':
		return int(c|0x20-'a') + 10
	}
	return -1
}
