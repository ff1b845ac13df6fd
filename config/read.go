package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Value readers: ports of keepalived 2.2.7's read_int, read_unsigned,
// read_unsigned64, read_decimal_unsigned, read_timer and check_true_false
// (lib/parser.c) and the address helpers of lib/utils.c. They report at the
// current line with keepalived's messages, and return what keepalived's do:
// with ignoreErr and outside -t, a number with trailing junk is still used.

// timerHz is keepalived's TIMER_HZ: its times are in microseconds.
const timerHz = 1000000

const whiteSpace = " \t\f\n\r\v"

// warnPrefix is keepalived's "WARNING - " for ignore_error outside -t.
func (l *loader) warnPrefix(ignoreErr bool) string {
	if ignoreErr && !l.opts.ConfigTest {
		return "WARNING - "
	}
	return ""
}

// readInt is keepalived's read_int (base 10).
func (l *loader) readInt(s string, min, max int, ignoreErr bool) (int, bool) {
	return l.readIntBase(s, 10, min, max, ignoreErr)
}

func (l *loader) readIntBase(s string, base, min, max int, ignoreErr bool) (int, bool) {
	warn := l.warnPrefix(ignoreErr)
	v, rest, erange := cnum.Strtol(s, base)
	res := int(int32(v))
	switch {
	case rest != "":
		l.report(parser.SevInvalidNumber, "%sinvalid number '%s'", warn, s)
	case erange || v < math.MinInt32 || v > math.MaxInt32:
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside integer range", warn, s)
	case v < int64(min) || v > int64(max):
		l.report(parser.SevInvalidNumber, "number '%s' outside range [%d, %d]", s, min, max)
	default:
		return res, true
	}
	return res, ignoreErr && v >= int64(min) && v <= int64(max) && !l.opts.ConfigTest
}

// readUnsigned is keepalived's read_unsigned (base 10).
func (l *loader) readUnsigned(s string, min, max uint, ignoreErr bool) (uint, bool) {
	return l.readUnsignedBase(s, 10, min, max, ignoreErr)
}

func (l *loader) readUnsignedBase(s string, base int, min, max uint, ignoreErr bool) (uint, bool) {
	warn := l.warnPrefix(ignoreErr)
	off := 0
	for off < len(s) && strings.IndexByte(whiteSpace, s[off]) >= 0 {
		off++
	}
	v, rest, erange := cnum.Strtoul(s[off:], base)
	res := uint(uint32(v))
	switch {
	case off < len(s) && s[off] == '-':
		l.report(parser.SevInvalidNumber, "%snegative number '%s'", warn, s)
	case rest != "":
		l.report(parser.SevInvalidNumber, "%sinvalid number '%s'", warn, s)
	case erange || v > math.MaxUint32:
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside unsigned integer range", warn, s)
	case v < uint64(min) || v > uint64(max):
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside range [%d, %d]", warn, s, min, max)
	default:
		return res, true
	}
	return res, ignoreErr && v >= uint64(min) && v <= uint64(max) && !l.opts.ConfigTest
}

// readUnsigned64 is keepalived's read_unsigned64.
func (l *loader) readUnsigned64(s string, min, max uint64, ignoreErr bool) (uint64, bool) {
	warn := l.warnPrefix(ignoreErr)
	off := 0
	for off < len(s) && strings.IndexByte(whiteSpace, s[off]) >= 0 {
		off++
	}
	v, rest, erange := cnum.Strtoul(s[off:], 10)
	switch {
	case off < len(s) && s[off] == '-':
		l.report(parser.SevInvalidNumber, "%snegative number '%s'", warn, s)
	case rest != "":
		l.report(parser.SevInvalidNumber, "%sinvalid number '%s'", warn, s)
	case erange:
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside unsigned 64 bit range", warn, s)
	case v < min || v > max:
		l.report(parser.SevInvalidNumber, "number '%s' outside range [%d, %d]", s, min, max)
	default:
		return v, true
	}
	return uint64(uint32(v)), ignoreErr && v >= min && v <= max && !l.opts.ConfigTest
}

// readDecimal is keepalived's read_decimal_unsigned_long: a fixed-point
// number with up to shift decimals, returned times 10^shift.
func (l *loader) readDecimal(s string, min, max uint64, shift int, ignoreErr bool) (uint64, bool) {
	warn := l.warnPrefix(ignoreErr)
	if strings.HasPrefix(s, "-") {
		l.report(parser.SevInvalidNumber, "%snegative number '%s'", warn, s)
		return 0, false
	}
	intPart, frac := s, ""
	dp := strings.IndexByte(s, '.')
	if dp >= 0 {
		intPart, frac = s[:dp], s[dp+1:]
	}
	roundUp := false
	if len(frac) > shift {
		l.report(parser.SevInvalidNumber, "%snumber '%s' has too many decimal places", warn, s)
		roundUp = frac[shift] >= '5'
		frac = frac[:shift]
	}
	digits := intPart + frac + strings.Repeat("0", shift-len(frac))
	v, rest, erange := cnum.Strtoul(digits, 10)
	if roundUp {
		v++
	}
	switch {
	case rest != "":
		l.report(parser.SevInvalidNumber, "%sinvalid number '%s'", warn, s)
	case erange:
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside unsigned decimal range", warn, s)
		return v, false
	case v < min || v > max:
		div := uint64(1)
		for i := 0; i < shift; i++ {
			div *= 10
		}
		// C's "%lu.%*.*lu": with no decimals (precision 0) a 0 prints nothing.
		frac := func(v uint64) string {
			if shift == 0 {
				return ""
			}
			return fmt.Sprintf("%0*d", shift, v)
		}
		l.report(parser.SevInvalidNumber, "%snumber '%s' outside range [%d.%s, %d.%s]", warn, s, min/div, frac(min%div), max/div, frac(max%div))
	default:
		return v, true
	}
	return v, ignoreErr && v >= min && v <= max
}

// timerMaximum is keepalived's TIMER_MAXIMUM (ULONG_MAX - 1).
const timerMaximum = math.MaxUint64 - 1

// readTimer is keepalived's read_timer: seconds with up to 6 decimals, in
// microseconds; maxUs 0 means no maximum.
func (l *loader) readTimer(s string, minUs, maxUs uint64, ignoreErr bool) (uint64, bool) {
	if maxUs == 0 {
		maxUs = timerMaximum
	}
	return l.readDecimal(s, minUs, maxUs, 6, ignoreErr)
}

// us is a keepalived time (microseconds) as a Duration.
func us(v uint64) time.Duration { return time.Duration(v) * time.Microsecond }

// checkTrueFalse is keepalived's check_true_false: 1, 0 or -1.
func checkTrueFalse(s string) int {
	switch s {
	case "true", "on", "yes":
		return 1
	case "false", "off", "no":
		return 0
	}
	return -1
}

// inetPton is inet_pton(family, s): glibc's syntax (dotted quad without
// leading zeros; IPv6 without zone).
func inetPton(v6 bool, s string) (netip.Addr, bool) {
	if strings.ContainsAny(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	if v6 != a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// inetStosockaddr is keepalived's inet_stosockaddr: the family comes from a
// ':' in the text, a "-range" or "/mask" is dropped, port (if any) is read
// with read_unsigned. ok false is keepalived's "error" return.
func (l *loader) inetStosockaddr(ip string, port string) (a netip.Addr, p uint16, ok bool) {
	v6 := strings.Contains(ip, ":")
	if port != "" {
		n, good := l.readUnsigned(port, 1, 65535, true)
		if !good {
			return netip.Addr{}, 0, false
		}
		p = uint16(n)
	}
	if i := strings.IndexAny(ip, "-"); i >= 0 {
		ip = ip[:i]
	} else if i := strings.IndexByte(ip, '/'); i >= 0 {
		ip = ip[:i]
	}
	a, ok = inetPton(v6, ip)
	return a, p, ok
}

// checkValidIPAddress is keepalived's check_valid_ipaddress.
func checkValidIPAddress(s string, allowMask bool) bool {
	if !strings.ContainsAny(s, ":.") {
		return false
	}
	v6 := strings.Contains(s, ":")
	if allowMask {
		if i := strings.IndexByte(s, '/'); i >= 0 {
			if i+1 >= len(s) {
				return false
			}
			n, rest, _ := cnum.Strtoul(s[i+1:], 10)
			max := uint64(32)
			if v6 {
				max = 128
			}
			if rest != "" || n > max {
				return false
			}
			s = s[:i]
		}
	}
	_, ok := inetPton(v6, s)
	return ok
}

// fmtIP formats an address as inet_ntop does.
func fmtIP(a netip.Addr) string {
	if !a.IsValid() {
		return "(null)"
	}
	return a.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// sprintf is fmt.Sprintf (short name for messages built in pieces).
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
