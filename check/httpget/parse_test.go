package httpget

import (
	"bytes"
	"math"
	"strconv"
	"testing"
)

func TestParseStatusCode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"HTTP/1.0 200 OK\r\n", 200},
		{"HTTP/1.1 404 Not Found\r\n\r\n", 404},
		{"HTTP/1.1 200 \r\n", 200},
		{"HTTP/1.1 200\r\n", 0}, // no space after the code
		{"HTTP/1.1 200 ", 200},
		{"HTTP/1.1 200 x", 200},   // ...any byte
		{"HTTP/1.0 20 OK\r\n", 0}, // two digits
		{"HTTP/1.0 2000 OK\r\n", 0},
		{"HTTP/1.0  200 OK\r\n", 0}, // double space
		{"HTTP/1.0\t200 OK\r\n", 0}, // tab is not the separator
		{"HTTP/1.0 \t20 OK\r\n", 20},
		{"HTTP/1.0 +20 OK\r\n", 20},
		{"HTTP/1.0 -20 OK\r\n", -20},
		{"HTTP/1.0 2x0 OK\r\n", 0},
		{"HTTP/1.0\r\n 200 OK\r\n", 0}, // CR before any space
		{"", 0},
		{" 200 ", 200},
		{" ", 0},
		{"X 1a3 ", 0},
	} {
		if got := ParseStatusCode([]byte(tc.in)); got != tc.want {
			t.Errorf("ParseStatusCode(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestExtractContentLength(t *testing.T) {
	none := uint64(math.MaxUint64)
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"HTTP/1.0 200 OK\r\nContent-Length: 44\r\n\r\n", 44},
		{"HTTP/1.0 200 OK\r\ncontent-length: 44\r\n\r\n", none}, // case-sensitive
		{"HTTP/1.0 200 OK\r\nContent-Length:44\r\n", 44},
		{"HTTP/1.0 200 OK\r\nContent-Length: 44 \r\n", none},
		{"HTTP/1.0 200 OK\r\nContent-Length: 44", 44},
		{"HTTP/1.0 200 OK\r\nContent-Length: \r\n", none},
		{"HTTP/1.0 200 OK\r\nContent-Length:\r\n\r\nabc", 0}, // no digits: end stays on CR
		{"HTTP/1.0 200 OK\r\nContent-Length:\r\n7\r\n", 7},   // strtoul skips the line break
		{"HTTP/1.0 200 OK\r\nContent-Length: -1\r\n", none},
		{"HTTP/1.0 200 OK\r\nContent-Length: -2\r\n", math.MaxUint64 - 1},
		{"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n", none},
		{"HTTP/1.0 200 OK\r\n\x00Content-Length: 4\r\n", none}, // strstr stops at NUL
		{"HTTP/1.0 200 OK\r\n\r\nContent-Length: 4\n", 4},      // body of the first read counts
	} {
		if got := ExtractContentLength([]byte(tc.in)); got != tc.want {
			t.Errorf("ExtractContentLength(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestFindHeaderEnd(t *testing.T) {
	for in, want := range map[string]int{
		"HTTP/1.0 200 OK\r\n\r\nbody": 19,
		"HTTP/1.0 200 OK\n\n":         -1,
		"\r\n\r\n":                    4,
		"\r\n\r":                      -1,
	} {
		if got := FindHeaderEnd([]byte(in)); got != want {
			t.Errorf("FindHeaderEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

// refStatusCode is a naive restatement of keepalived's rule, used as the
// fuzzing oracle.
func refStatusCode(b []byte) int {
	sp := bytes.IndexByte(b, ' ')
	cr := bytes.IndexByte(b, '\r')
	if sp < 0 || (cr >= 0 && cr < sp) {
		return 0
	}
	rest := b[sp+1:]
	if len(rest) < 4 || rest[0] == ' ' || rest[3] != ' ' {
		return 0
	}
	n, err := strconv.Atoi(string(bytes.TrimLeft(rest[:3], " \t\n\v\f\r")))
	if err != nil {
		return 0
	}
	return n
}

func FuzzParseStatusCode(f *testing.F) {
	for _, s := range []string{"HTTP/1.0 200 OK\r\n", "HTTP/1.1 404 \r\n", " -20 ", "HTTP/1.0 \t20 x", "a\rb 200 x", "HTTP/1.1 200"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := ParseStatusCode(b)
		if got < -99 || got > 999 {
			t.Fatalf("ParseStatusCode(%q) = %d out of range", b, got)
		}
		if want := refStatusCode(b); got != want {
			t.Fatalf("ParseStatusCode(%q) = %d, reference says %d", b, got, want)
		}
		// The C code reads a NUL terminator past the data; trailing bytes
		// after the code's closing space never change the result.
		if got != 0 {
			if again := ParseStatusCode(append(append([]byte(nil), b...), "\x00junk"...)); again != got {
				t.Fatalf("appending data changed %d to %d", got, again)
			}
		}
	})
}

func FuzzExtractContentLength(f *testing.F) {
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Length: 44\r\n\r\n"))
	f.Add([]byte("Content-Length:\r\n"))
	f.Add([]byte("Content-Length: -7\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := ExtractContentLength(b)
		if n != math.MaxUint64 && !bytes.Contains(b, []byte("Content-Length:")) {
			t.Fatalf("length %d without a Content-Length tag in %q", n, b)
		}
		FindHeaderEnd(b)
	})
}

// FuzzResponse feeds arbitrary data in arbitrary read sizes through the
// response state machine: it must not panic, must hash at most the bytes
// after the header, and its result must not depend on how reads split the
// stream except through the documented -v trace.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"), uint8(5))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		feed := func(step int) (*respReader, Digest) {
			r := newRespReader(true)
			rest := data
			for len(rest) > 0 && len(r.free()) > 0 {
				k := min(step, len(rest), len(r.free()))
				copy(r.free(), rest[:k])
				r.commit(k)
				rest = rest[k:]
			}
			return r, r.finish(true)
		}
		whole, d1 := feed(bufSize)
		split, d2 := feed(int(step%64) + 1)
		if whole.extracted != split.extracted {
			return // a header beyond 4095 bytes depends on read sizes, as in C
		}
		if whole.extracted && !bytes.HasPrefix(data, whole.header) {
			t.Fatalf("header %q is not a prefix of the data", whole.header)
		}
		// Content-Length may be found in first-read body bytes only, so
		// the digest may legitimately differ between splits; the body
		// count may not.
		if whole.extracted && whole.rx != split.rx && len(data) < bufSize {
			t.Fatalf("rx %d vs %d", whole.rx, split.rx)
		}
		_, _ = d1, d2
	})
}
