package httpget

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"keepalived-go/internal/pcre"
)

func mustRegex(t testing.TB, pattern string, opts uint32) *Regex {
	t.Helper()
	c, err := pcre.Compile(pattern, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &Regex{Code: c, Pattern: pattern, Limits: pcre.JITStackLimits(pcre.JITStackKiB)}
}

// feedRegex runs a response through respReader as reads of the given pieces
// (each cut to what the buffer has room for, as read(2) would) and
// returns whether the regex matched and the lines it logged.
func feedRegex(re *Regex, pieces ...string) (bool, []string) {
	var logs []string
	if re != nil {
		re.Log = func(s string) { logs = append(logs, s) }
	}
	r := newRespReader(false)
	r.reset(re)
	defer r.re.release()
	for _, p := range pieces {
		for len(p) > 0 {
			free := r.free()
			if len(free) == 0 {
				return r.re.matched, append(logs, "(buffer full: end of stream)")
			}
			k := copy(free, p)
			r.commit(k)
			p = p[k:]
		}
	}
	return r.re.matched, logs
}

const hdr = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"

// TestRegexStreaming: check_regex's rules, piece by piece.
func TestRegexStreaming(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		min     uint64 // regex_min_offset
		max     uint64 // regex_max_offset+1
		pieces  []string
		want    bool
		logs    []string
	}{
		{name: "in one read", pattern: "alive", pieces: []string{hdr + "status: alive\n"}, want: true},
		{name: "split across reads", pattern: "alive", pieces: []string{hdr + "status: al", "ive\n"}, want: true},
		{name: "header matched with body in the same read", pattern: "text/html", pieces: []string{hdr + "x"}, want: true},
		{name: "header alone is not matched", pattern: "text/html", pieces: []string{hdr, "x"}, want: false},
		{name: "$ at the end stays partial", pattern: "OK$", pieces: []string{hdr + "all OK"}, want: false},
		{name: "$ before more data", pattern: "(?m)OK$", pieces: []string{hdr + "all OK\nmore"}, want: true},
		{name: "greedy tail at the end stays partial", pattern: "all OK\\s*", pieces: []string{hdr + "all OK"}, want: false},
		// Lookbehind context is kept only for a partial match in progress.
		{name: "lookbehind context lost between reads", pattern: `(?<=id=)\d+;`, pieces: []string{hdr + "xx id", "=42;"}, want: false},
		{name: "lookbehind kept with a partial match", pattern: `(?<=id=)\d+;`, pieces: []string{hdr + "xxxxxx id=", "42;"}, want: true},
		{name: "min offset skips earlier text", pattern: "tag", min: 60, pieces: []string{hdr + "tag" + strings.Repeat(".", 30)}, want: false},
		{name: "min offset reaches later text", pattern: "tag", min: 60, pieces: []string{hdr + strings.Repeat(".", 30) + "tag"}, want: true},
		{name: "max offset excludes later text", pattern: "tag", max: 50, pieces: []string{hdr + strings.Repeat(".", 30) + "tag"}, want: false},
		{name: "max offset includes earlier text", pattern: "tag", max: 50, pieces: []string{hdr + "tag"}, want: true},
		{name: "min offset just past this read: bad offset, then a match", pattern: `(?<=ab)c`, min: 70, pieces: []string{hdr + strings.Repeat(".", 25), strings.Repeat(".", 20) + "abc"},
			want: true, logs: []string{"Unknown regex error -33"}},
		{name: "partial match longer than the buffer", pattern: `<x>[^<]*</x>`, pieces: []string{hdr + "<x>" + strings.Repeat("a", 5000) + "</x>"},
			want: false, logs: []string{"Regex partial match preserve too large - discarding"}},
		{name: "JIT stack emulation", pattern: `(a|b)*c`, pieces: []string{hdr, strings.Repeat("ab", 1500) + "c"},
			want: false, logs: []string{"Unknown regex error -46"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			re := mustRegex(t, c.pattern, 0)
			re.MinOffset, re.MaxOffset = c.min, c.max
			got, logs := feedRegex(re, c.pieces...)
			if got != c.want || !slices.Equal(logs, c.logs) {
				t.Errorf("matched %v, logs %q; want %v, %q", got, logs, c.want, c.logs)
			}
		})
	}
}

// TestRegexLookbehindUnderflow: a partial match that starts within the
// pattern's lookbehind length of the buffer's start makes keepalived's
// kept length wrap; it then matches on with the heap bytes before its
// buffer in front. The match is still found.
func TestRegexLookbehindUnderflow(t *testing.T) {
	re := mustRegex(t, `(?<=abc)z|hello`, 0)
	got, logs := feedRegex(re, hdr, "hel", "lo")
	if !got || len(logs) != 0 {
		t.Errorf("matched %v, logs %q", got, logs)
	}
}

// TestRegexVerdict: regex_no_match inverts, after status and digest.
func TestRegexVerdict(t *testing.T) {
	re := mustRegex(t, "up", 0)
	tg := Target{Regex: re}
	if err := tg.Verify(Result{StatusCode: 200, RegexMatched: true}); err != nil {
		t.Errorf("match: %v", err)
	}
	err := tg.Verify(Result{StatusCode: 200})
	if he, ok := err.(*Error); !ok || he.Kind != ErrRegex || he.Msg != "Regex match failed" {
		t.Errorf("no match: %v", err)
	}
	re.NoMatch = true
	if err := tg.Verify(Result{StatusCode: 200}); err != nil {
		t.Errorf("no_match, no match: %v", err)
	}
	if err := tg.Verify(Result{StatusCode: 500}); err == nil || err.(*Error).Kind != ErrStatus {
		t.Errorf("status first: %v", err)
	}
	// A pattern that did not compile never matches.
	bad := &Regex{Pattern: "a("}
	if m, _ := feedRegex(bad, hdr+"a("); m {
		t.Error("an invalid pattern matched")
	}
}

// TestRegexChunkingProperty: for a pattern that cannot reach into the
// header and matches less than a buffer, how the body is cut into reads
// does not change the verdict, which is the whole body's match.
func TestRegexChunkingProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	patterns := []string{`needle\d{2}`, `(?<=<b>)x+</b>`, `a[^z]{0,40}z`, `\bword\b`}
	for i := 0; i < 300; i++ {
		pat := patterns[i%len(patterns)]
		body := randomBody(rng, 200+rng.IntN(9000))
		whole := mustRegex(t, pat, 0)
		m := whole.Code.Get(whole.Limits)
		// Trailing text after the last possible match keeps the whole
		// body's verdict free of partial matches at its end.
		body += "\n."
		rc, _, _ := m.Match([]byte(body), 0, 0)
		m.Put()
		var pieces []string
		rest := hdr + body
		for len(rest) > 0 {
			k := min(len(rest), 1+rng.IntN(3000))
			pieces = append(pieces, rest[:k])
			rest = rest[k:]
		}
		got, logs := feedRegex(mustRegex(t, pat, 0), pieces...)
		if got != (rc > 0) {
			t.Fatalf("%q over %d bytes in %d reads: streamed %v (logs %q), whole body %v", pat, len(body), len(pieces), got, logs, rc > 0)
		}
	}
}

func randomBody(rng *rand.Rand, n int) string {
	words := []string{"needle", "42", "<b>", "xx", "</b>", "a", "z", "word", " ", "\n", "words", "9"}
	var b strings.Builder
	for b.Len() < n {
		if rng.IntN(50) == 0 {
			b.WriteString(strings.Repeat("q", rng.IntN(300)))
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	return b.String()
}

// TestRegexMemoryBounded: a server that never stops sending a body that
// keeps a partial match open costs the 4 KB buffer and nothing more.
func TestRegexMemoryBounded(t *testing.T) {
	re := mustRegex(t, `<x>[^<]*</x>`, 0)
	var logs int
	re.Log = func(string) { logs++ }
	s := &Session{}
	s.Reset(&Target{Regex: re})
	defer s.rr.re.release()
	chunk := []byte(strings.Repeat("a", 4095))
	var before, after runtime.MemStats
	feed := func(p []byte) {
		for len(p) > 0 {
			k := copy(s.ReadBuf(), p)
			if err := s.Read(k); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
	}
	feed([]byte("HTTP/1.0 200 OK\r\n\r\n<x>"))
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 16<<10; i++ { // 64 MiB
		feed(chunk)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("heap grew by %d bytes over 64 MiB of body", grew)
	}
	if logs == 0 {
		t.Error("the too-long partial match was never discarded")
	}
	if _, err := s.End(true); err == nil || err.(*Error).Kind != ErrRegex {
		t.Errorf("End: %v, want a regex failure", err)
	}
}
