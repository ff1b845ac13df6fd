package cnum

import (
	"math"
	"testing"
)

func TestStrtol(t *testing.T) {
	for _, tc := range []struct {
		in     string
		base   int
		v      int64
		rest   string
		erange bool
	}{
		{"  12abc", 0, 12, "abc", false},
		{"0x1F", 0, 31, "", false},
		{"0xg", 0, 0, "xg", false},
		{"010", 0, 8, "", false},
		{"-3 junk", 10, -3, " junk", false},
		{"junk", 0, 0, "junk", false},
		{"9223372036854775808", 10, math.MaxInt64, "", true},
		{"-9223372036854775808", 10, math.MinInt64, "", false},
		{"-9223372036854775809", 10, math.MinInt64, "", true},
		{"99999999999999999999999", 10, math.MaxInt64, "", true},
	} {
		v, rest, erange := Strtol(tc.in, tc.base)
		if v != tc.v || rest != tc.rest || erange != tc.erange {
			t.Errorf("Strtol(%q, %d) = %d %q %v, want %d %q %v", tc.in, tc.base, v, rest, erange, tc.v, tc.rest, tc.erange)
		}
	}
}

func TestStrtoul(t *testing.T) {
	for _, tc := range []struct {
		in     string
		v      uint64
		erange bool
	}{
		{"-1", math.MaxUint64, false},
		{"18446744073709551615", math.MaxUint64, false},
		{"18446744073709551616", math.MaxUint64, true},
		{" +7", 7, false},
	} {
		v, _, erange := Strtoul(tc.in, 10)
		if v != tc.v || erange != tc.erange {
			t.Errorf("Strtoul(%q) = %d %v, want %d %v", tc.in, v, erange, tc.v, tc.erange)
		}
	}
}
