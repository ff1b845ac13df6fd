package httpget

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// benchBody is about 1 MB of table rows, without "Server status".
func benchBody() string {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "<tr><td>row %d</td><td>filler-%04d</td><td>ok</td></tr>\n", i, i%10000)
	}
	return b.String()
}

var benchPatterns = []string{`Server status: DOWN`, `(?i)status:\s+down`, `<td>filler-\d+7</td><td>fail`, `(?<=row )\d{7}`}

// BenchmarkRegex1MB streams a 1 MB page through the response reader as
// keepalived's 4 KB reads, with a pattern that never matches (the whole
// page is scanned), and reports the time per page. When pcre2test is
// there it also reports Debian's PCRE2 JIT (keepalived's matcher) on the
// same 4 KB pieces, scaled to the page: jit-ns/page.
func BenchmarkRegex1MB(b *testing.B) {
	body := benchBody()
	resp := "HTTP/1.0 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	b.Run("(no regex)", func(b *testing.B) {
		b.SetBytes(int64(len(resp)))
		for i := 0; i < b.N; i++ {
			feedRegex(nil, resp)
		}
	})
	for _, pat := range benchPatterns {
		jit, haveJIT := jitPerPage(pat, body[:4095], len(resp))
		b.Run(pat, func(b *testing.B) {
			re := mustRegex(b, pat, 0)
			b.SetBytes(int64(len(resp)))
			for i := 0; i < b.N; i++ {
				if m, _ := feedRegex(re, resp); m {
					b.Fatal("matched")
				}
			}
			if haveJIT {
				b.ReportMetric(jit, "jit-ns/page")
			}
		})
	}
}

var matchTime = regexp.MustCompile(`Match time +([0-9.]+) milliseconds`)

// jitPerPage times one 4 KB piece with pcre2test -t (JIT, PARTIAL_HARD)
// and scales it to a page of n bytes.
func jitPerPage(pattern, piece string, n int) (float64, bool) {
	if _, err := exec.LookPath("pcre2test"); err != nil {
		return 0, false
	}
	var in strings.Builder
	fmt.Fprintf(&in, "/%s/jit=4\n", strings.ReplaceAll(pattern, "/", `\/`))
	for i := 0; i < len(piece); i++ {
		fmt.Fprintf(&in, `\x{%02x}`, piece[i])
	}
	in.WriteString("\\=ph\n")
	cmd := exec.Command("pcre2test", "-q", "-t", "200000")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	m := matchTime.FindSubmatch(out)
	if err != nil || m == nil {
		return 0, false
	}
	ms, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, false
	}
	return ms * 1e6 * float64(n) / float64(len(piece)), true
}
