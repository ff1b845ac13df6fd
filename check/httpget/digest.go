package httpget

import (
	"encoding/hex"
	"fmt"
)

// Digest is an MD5 sum of a response body.
type Digest [16]byte

// String returns the 32 lowercase hex digits keepalived prints.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// ParseDigest parses the argument of the digest keyword: exactly 32
// characters, read as 16 two-character strtoul(…, 16) fields the way
// keepalived reads them. Errors wrap ErrDigestSyntax and use keepalived's
// wording.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("%w: digest '%s' character length should be %d rather than %d", ErrDigestSyntax, s, 2*len(d), len(s))
	}
	// keepalived walks the pairs from the last one backwards; the first
	// bad pair it meets is the one it reports.
	for i := len(d) - 1; i >= 0; i-- {
		v, ok := hexPair(s[2*i : 2*i+2])
		if !ok {
			return Digest{}, fmt.Errorf("%w: Unable to interpret hex digit in '%s' at offset %d/%d", ErrDigestSyntax, s, 2*i, 2*i+1)
		}
		d[i] = v
	}
	return d, nil
}

// hexPair is strtoul(p, &end, 16) on a two-character string that must be
// consumed whole. Besides "ab" that admits " a" and "+a"/"-a" (negated and
// truncated to a byte, as C stores it in a uint8_t).
func hexPair(p string) (byte, bool) {
	hexv := func(c byte) (byte, bool) {
		switch {
		case c >= '0' && c <= '9':
			return c - '0', true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, true
		}
		return 0, false
	}
	if hi, ok := hexv(p[0]); ok {
		lo, ok := hexv(p[1])
		return hi<<4 | lo, ok
	}
	lo, ok := hexv(p[1])
	switch {
	case !ok:
		return 0, false
	case isCSpace(p[0]), p[0] == '+':
		return lo, true
	case p[0] == '-':
		return -lo, true
	}
	return 0, false
}
