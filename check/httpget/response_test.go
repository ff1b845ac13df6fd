package httpget

import (
	"crypto/md5"
	"strings"
	"testing"
)

const apachePage = "<html><body><h1>It works!</h1></body></html>"

func TestApacheDefaultPageDigest(t *testing.T) {
	if len(apachePage) != 44 {
		t.Fatalf("page is %d bytes", len(apachePage))
	}
	if got := Digest(md5.Sum([]byte(apachePage))).String(); got != "c7b4690c8c46625ef0f328cd7a24a0a3" {
		t.Fatalf("digest %s", got)
	}
}

// Lines taken from keepalived 2.2.7 genhash -v output.
func TestHexDumpLayout(t *testing.T) {
	want := "" +
		"0000  3c 68 74 6d 6c 3e 3c 62 - 6f 64 79 3e 3c 68 31 3e   <html><body><h1>\n" +
		"0016  49 74 20 77 6f 72 6b 73 - 21 3c 2f 68 31 3e 3c 2f   It works!</h1></\n" +
		"0032  62 6f 64 79 3e 3c 2f 68 - 74 6d 6c 3e               body></html>    \n"
	if got := string(AppendHexDump(nil, []byte(apachePage))); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	want = "0000  61 62 63                -                           abc             \n"
	if got := string(AppendHexDump(nil, []byte("abc"))); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	want = "0000  c7 b4 69 0c 8c 46 62 5e - f0 f3 28 cd 7a 24 a0 a3   ..i..Fb^..(.z$..\n"
	d, _ := ParseDigest("c7b4690c8c46625ef0f328cd7a24a0a3")
	if got := string(AppendHexDump(nil, d[:])); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := AppendHexDump(nil, nil); len(got) != 0 {
		t.Errorf("empty dump %q", got)
	}
}

// feed runs data through a respReader in the given read sizes.
func feed(t *testing.T, verbose bool, chunks ...string) (*respReader, Digest, string) {
	t.Helper()
	r := newRespReader(verbose)
	var out strings.Builder
	for _, c := range chunks {
		if len(c) > len(r.free()) {
			t.Fatalf("chunk of %d bytes does not fit in %d", len(c), len(r.free()))
		}
		copy(r.free(), c)
		r.commit(len(c))
		out.Write(r.takeOut())
	}
	d := r.finish(true)
	out.Write(r.takeOut())
	return r, d, out.String()
}

func TestResponseDigestRules(t *testing.T) {
	md := func(s string) Digest { return md5.Sum([]byte(s)) }
	for _, tc := range []struct {
		name    string
		chunks  []string
		digest  Digest
		status  int
		rx      uint64
		clen    uint64
		extract bool
	}{
		{"apache", []string{"HTTP/1.0 200 OK\r\nContent-Length: 44\r\n\r\n" + apachePage}, md(apachePage), 200, 44, 44, true},
		{"split", []string{"HTTP/1.0 200 OK\r\n", "\r\n<html>", "rest"}, md("<html>rest"), 200, 10, ^uint64(0), true},
		{"content-length cuts the digest", []string{"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"}, md("abc"), 200, 6, 3, true},
		{"cut across reads", []string{"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabc", "defgh"}, md("abcde"), 200, 8, 5, true},
		{"chunked framing is hashed raw", []string{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2c\r\n" + apachePage + "\r\n0\r\n\r\n"},
			md("2c\r\n" + apachePage + "\r\n0\r\n\r\n"), 200, 55, ^uint64(0), true},
		{"no header end", []string{"HTTP/1.0 200 OK\r\n"}, md(""), 0, 0, ^uint64(0), false},
		{"bad status still hashes", []string{"HTTP/1.0 20 OK\r\n\r\nx"}, md("x"), 0, 1, ^uint64(0), true},
		{"zero length", []string{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\nignored"}, md(""), 200, 7, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, d, _ := feed(t, false, tc.chunks...)
			if d != tc.digest || r.status != tc.status || r.rx != tc.rx || r.clen != tc.clen || r.extracted != tc.extract {
				t.Errorf("digest %s status %d rx %d clen %d extracted %v; want %s %d %d %d %v",
					d, r.status, r.rx, r.clen, r.extracted, tc.digest, tc.status, tc.rx, tc.clen, tc.extract)
			}
		})
	}
}

func TestResponseTrace(t *testing.T) {
	// The header banner is printed on every read until the header block
	// is complete; the body banner only if body bytes came with it.
	_, _, out := feed(t, true, "HTTP/1.0 200 OK\r\n", "\r\n", "abc")
	want := bannerHeaderHex + bannerHeaderHex +
		"0000  48 54 54 50 2f 31 2e 30 - 20 32 30 30 20 4f 4b 0d   HTTP/1.0 200 OK.\n" +
		"0016  0a 0d 0a                -                           ...             \n" +
		bannerHeaderASCII + "HTTP/1.0 200 OK\r\n\r\n\n" +
		"0000  61 62 63                -                           abc             \n" +
		"\n" + bannerHash +
		"0000  90 01 50 98 3c d2 4f b0 - d6 96 3f 7d 28 e1 7f 72   ..P.<.O...?}(..r\n" +
		bannerHashFinal
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestResponseFullBufferWithoutHeader(t *testing.T) {
	r := newRespReader(false)
	big := strings.Repeat("x", bufSize-1)
	copy(r.free(), big)
	r.commit(len(big))
	if len(r.free()) != 0 || r.extracted {
		t.Fatalf("free %d extracted %v", len(r.free()), r.extracted)
	}
}

func TestParseDigest(t *testing.T) {
	good := "c7b4690c8c46625ef0f328cd7a24a0a3"
	d, err := ParseDigest(good)
	if err != nil || d.String() != good {
		t.Fatalf("%v %s", err, d)
	}
	if d, err := ParseDigest("C7B4690C8C46625EF0F328CD7A24A0A3"); err != nil || d.String() != good {
		t.Fatalf("upper case: %v %s", err, d)
	}
	if d, err := ParseDigest(" 7b4690c8c46625ef0f328cd7a24a0a3"); err != nil || d[0] != 7 {
		t.Fatalf("strtoul leading space: %v %s", err, d)
	}
	for in, msg := range map[string]string{
		"c7b4":                             "digest 'c7b4' character length should be 32 rather than 4",
		"c7b4690c8c46625ef0f328cd7a24a0ax": "Unable to interpret hex digit in 'c7b4690c8c46625ef0f328cd7a24a0ax' at offset 30/31",
		"zzb4690c8c46625ef0f328cd7a24a0a3": "at offset 0/1",
	} {
		_, err := ParseDigest(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseDigest(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestStatusCodes(t *testing.T) {
	var zero StatusSet
	if !zero.Contains(200) || !zero.Contains(299) || zero.Contains(300) || zero.Contains(199) {
		t.Error("zero set is not 200-299")
	}
	s, errs := ParseStatusCodes([]string{"200", "301-302", "99", "600", "abc", "302-301", "404", "+500"})
	if len(errs) != 4 {
		t.Errorf("errors %v", errs)
	}
	if got := s.String(); got != "200 301-302 404 500" {
		t.Errorf("set %s", got)
	}
	for code, want := range map[int]bool{200: true, 201: false, 301: true, 302: true, 303: false, 404: true, 500: true, 0: false, -1: false, 1000: false} {
		if s.Contains(code) != want {
			t.Errorf("Contains(%d) != %v", code, want)
		}
	}
	if got := DefaultStatusCodes().String(); got != "200-299" {
		t.Errorf("default %s", got)
	}
	all, _ := ParseStatusCodes([]string{"100-599"})
	if got := all.String(); got != "100-599" {
		t.Errorf("all %s", got)
	}
}

func TestProtocol(t *testing.T) {
	for in, want := range map[string]Protocol{"1.0": HTTP10, "1.0c": HTTP10Close, "1.0C": HTTP10Close, "1.1": HTTP11} {
		if p, err := ParseProtocol(in); err != nil || p != want {
			t.Errorf("ParseProtocol(%q) = %v, %v", in, p, err)
		}
	}
	for _, in := range []string{"0.9", "1.1c", "", "2"} {
		if _, err := ParseProtocol(in); err == nil {
			t.Errorf("ParseProtocol(%q) accepted", in)
		}
	}
}
