package httpget

import (
	"bytes"
	"math"
)

// FindHeaderEnd returns the offset just past the first "\r\n\r\n" in buf,
// or -1 when the header block is not complete yet. Only CRLF line ends
// count, as in keepalived: a bare-LF response never completes its header.
func FindHeaderEnd(buf []byte) int {
	i := bytes.Index(buf, []byte("\r\n\r\n"))
	if i < 0 {
		return -1
	}
	return i + 4
}

// ParseStatusCode extracts the status code from the start of buf the way
// keepalived does: the code is the three characters after the first space
// that comes before any CR, and they must be followed by a space. strtoul
// semantics apply to those three characters, so "\t20" gives 20 and "-20"
// gives -20; anything else yields 0. Every access is bounds checked
// (CVE-2018-19115 was an overflow in the C original's predecessor).
func ParseStatusCode(buf []byte) int {
	i := 0
	for i < len(buf) && buf[i] != ' ' && buf[i] != '\r' {
		i++
	}
	if i >= len(buf) || buf[i] != ' ' {
		return 0
	}
	i++
	if i+3 >= len(buf) || buf[i] == ' ' || buf[i+3] != ' ' {
		return 0
	}
	v, end, neg := strtoul(buf[i : i+3])
	if end != 3 {
		return 0
	}
	// At most three characters were consumed, so v < 1000.
	if neg {
		return -int(v)
	}
	return int(v)
}

// ExtractContentLength mirrors keepalived's extract_content_length: a
// case-sensitive search for "Content-Length:" in buf up to its first NUL
// byte (the C code uses strstr on the whole received buffer, body bytes of
// the first read included), then strtoul. It returns math.MaxUint64 (C's
// SIZE_MAX, "no length") when the tag is missing or the number is not
// followed by end of data, CR or LF. Negative numbers wrap as in C.
func ExtractContentLength(buf []byte) uint64 {
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	const tag = "Content-Length:"
	i := bytes.Index(buf, []byte(tag))
	if i < 0 {
		return math.MaxUint64
	}
	rest := buf[i+len(tag):]
	v, end, neg := strtoul(rest)
	if end < len(rest) && rest[end] != '\r' && rest[end] != '\n' {
		return math.MaxUint64
	}
	if neg {
		return -v
	}
	return v
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtoul parses s like C strtoul(s, &end, 10) on a string that ends at
// len(s): it returns the magnitude, the index where parsing stopped (0 when
// no digits were found) and whether a minus sign was seen. Overflow
// saturates at MaxUint64 as C does.
func strtoul(s []byte) (v uint64, end int, neg bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	overflow := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
		}
		v = v*10 + d
		i++
	}
	if i == start {
		return 0, 0, false
	}
	if overflow {
		// C returns ULONG_MAX without applying the sign.
		return math.MaxUint64, i, false
	}
	return v, i, neg
}
