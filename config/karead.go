package config

import (
	"fmt"
	"math"
	"strings"

	"keepalived-go/parser"
)

// Ports of keepalived's number readers (lib/parser.c read_int_func,
// read_unsigned_func, read_decimal_unsigned_long_func) with their messages,
// as keepalived -t prints them: with -t keepalived reports every bad value
// and uses none. (A running keepalived, for readers called with
// ignore_error, prefixes "WARNING - " and uses a value whose leading digits
// are in range; the config model follows -t.)

const cWhiteSpace = " \t\f\n\r\v"

// cStrtoul is C's strtoull in base 10 up to bits wide: leading white
// space, an optional sign (a minus negates modulo 2^64, as C does), digits.
// rest is what follows the number (all of s when there are no digits),
// erange is set on overflow.
func cStrtoul(s string, bits uint) (val uint64, rest string, erange bool) {
	t := strings.TrimLeft(s, cWhiteSpace)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	i := 0
	limit := uint64(math.MaxUint64) >> (64 - bits)
	for ; i < len(t) && t[i] >= '0' && t[i] <= '9'; i++ {
		d := uint64(t[i] - '0')
		if val > (limit-d)/10 {
			erange = true
		} else if !erange {
			val = val*10 + d
		}
	}
	if i == 0 {
		return 0, s, false
	}
	if erange {
		return limit, t[i:], true
	}
	if neg {
		val = -val & limit
	}
	return val, t[i:], false
}

// cStrtol is C's strtol (64-bit long) in base 10.
func cStrtol(s string) (val int64, rest string, erange bool) {
	t := strings.TrimLeft(s, cWhiteSpace)
	neg := t != "" && t[0] == '-'
	u, rest, erange := cStrtoul(t, 64)
	if rest == t {
		return 0, s, false
	}
	switch {
	case erange, !neg && u > math.MaxInt64:
		if neg {
			return math.MinInt64, rest, true
		}
		return math.MaxInt64, rest, true
	case neg:
		// u is the two's complement of the magnitude.
		m := -u
		if m > 1<<63 {
			return math.MinInt64, rest, true
		}
		return -int64(m), rest, false
	}
	return int64(u), rest, false
}

// kaInt is read_int_strvec: a C int in [min, max].
func (b *builder) kaInt(st *parser.Stmt, s string, min, max int) (int, bool) {
	v, rest, erange := cStrtol(s)
	switch {
	case rest != "":
		b.report(st, parser.SevInvalidNumber, "invalid number '%s'", s)
	case erange || v < math.MinInt32 || v > math.MaxInt32:
		b.report(st, parser.SevInvalidNumber, "number '%s' outside integer range", s)
	case v < int64(min) || v > int64(max):
		b.report(st, parser.SevInvalidNumber, "number '%s' outside range [%d, %d]", s, min, max)
	default:
		return int(v), true
	}
	return 0, false
}

// kaUnsigned is read_unsigned_strvec: a C unsigned in [min, max].
func (b *builder) kaUnsigned(st *parser.Stmt, s string, min, max uint) (uint, bool) {
	t := strings.TrimLeft(s, cWhiteSpace)
	v, rest, erange := cStrtoul(t, 64)
	switch {
	case t != "" && t[0] == '-':
		b.report(st, parser.SevInvalidNumber, "negative number '%s'", s)
	case rest != "":
		b.report(st, parser.SevInvalidNumber, "invalid number '%s'", s)
	case erange || v > math.MaxUint32:
		b.report(st, parser.SevInvalidNumber, "number '%s' outside unsigned integer range", s)
	case v < uint64(min) || v > uint64(max):
		b.report(st, parser.SevInvalidNumber, "number '%s' outside range [%d, %d]", s, min, max)
	default:
		return uint(v), true
	}
	return 0, false
}

// kaDecimal is read_decimal_unsigned_strvec: a decimal with up to shift
// places, returned times 10^shift, in [min, max] (in those units). More
// places than shift are reported and rounded, and the value is still used.
func (b *builder) kaDecimal(st *parser.Stmt, s string, min, max uint64, shift int) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		b.report(st, parser.SevInvalidNumber, "negative number '%s'", s)
		return 0, false
	}
	intPart, frac, hasDP := strings.Cut(s, ".")
	roundUp := false
	if hasDP && len(frac) > shift {
		b.report(st, parser.SevInvalidNumber, "number '%s' has too many decimal places", s)
		roundUp = frac[shift] >= '5'
		frac = frac[:shift]
	}
	digits := intPart + frac + strings.Repeat("0", shift-len(frac))
	v, rest, erange := cStrtoul(digits, 64)
	if roundUp {
		v++
	}
	scale := uint64(math.Pow10(shift))
	switch {
	case rest != "":
		b.report(st, parser.SevInvalidNumber, "invalid number '%s'", s)
		return 0, false
	case erange:
		b.report(st, parser.SevInvalidNumber, "number '%s' outside unsigned decimal range", s)
		return 0, false
	case v < min || v > max:
		b.report(st, parser.SevInvalidNumber, "number '%s' outside range [%s, %s]", s,
			fmtFixed(min, scale, shift), fmtFixed(max, scale, shift))
		return 0, false
	}
	return v, true
}

func fmtFixed(v, scale uint64, shift int) string {
	return fmt.Sprintf("%d.%0*d", v/scale, shift, v%scale)
}

// kaArg is strvec_slot: argument i, or keepalived's missing-parameter
// report (keepalived exits there; we report and skip the keyword).
func (b *builder) kaArg(st *parser.Stmt, i int) (string, bool) {
	if i < len(st.Args) {
		return st.Args[i].Value(), true
	}
	line := st.Line()
	if i < len(line) {
		b.report(st, parser.SevMissingParameter, "*** Configuration line starting `%s` is missing a parameter after keyword `%s` at word position %d",
			line[0], line[i], i+2)
	} else {
		b.report(st, parser.SevMissingParameter, "*** Configuration line starting `%s` is missing a parameter at word position %d", line[0], i+2)
	}
	return "", false
}
