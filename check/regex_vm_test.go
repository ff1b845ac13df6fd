package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/vmtest"
)

// regexCase is one url of the comparison: a pattern as keepalived.conf
// holds it (before keepalived's escape processing: see confQuote), extra
// url lines, and the page it checks.
type regexCase struct {
	name    string
	pattern string // the PCRE pattern itself
	extra   string // more url lines
	page    string // key of regexPages
	proto   string // http_protocol; "" for 1.0
}

// regexPages are what regexweb serves; mode as in its doc.
func regexPages() map[string]struct{ mode, body string } {
	var table strings.Builder
	table.WriteString("<table>\n")
	for i := 0; table.Len() < 6000; i++ {
		fmt.Fprintf(&table, "<tr><td>row %d</td><td>filler-%04d</td><td>ok</td></tr>\n", i, i*7)
	}
	table.WriteString("</table>\n")
	status := "<!DOCTYPE html>\n<html><head><title>Status</title></head>\n<body>\n<h1>It works!</h1>\n" +
		"<p>Served on 2024-05-01, café ☺ αβγ, key\tvalue</p>\r\nline one\r\nline two\r\n" +
		"<p>zzz abc-abc (nested (parens) here) <b>bold</b> host 198.51.100.7 total=1234 17 requests served</p>\n" +
		"<script>\nvar x = 1;\n</script>\n" + table.String() +
		"<p>Server status: UP</p>\n</body>\n</html>\n"
	slow := strings.Repeat(".", 990) + "token=SPLIT-ACROSS-WRITES" + strings.Repeat(".", 1985) + "\n"
	chunked := "chunk-one " + strings.Repeat("x", 990) + "chunk-two " + strings.Repeat("y", 990) + "\n"
	jit := "<p>" + strings.Repeat("ab", 1500) + "c</p>\n"
	return map[string]struct{ mode, body string }{
		"status":  {"plain", status},
		"slow":    {"slow", slow},
		"chunked": {"chunked", chunked},
		"jit":     {"plain", jit},
	}
}

// regexCases: at least 40 patterns, PCRE-only syntax among them, and the
// quirks of keepalived's streamed matching.
var regexCases = []regexCase{
	{"literal", `It works!`, "", "status", ""},
	{"literal absent", `It fails`, "", "status", ""},
	{"title", `<title>Status</title>`, "", "status", ""},
	{"after 4 KB", `Server status: UP`, "", "status", ""},
	{"header matched", `^HTTP/1\.[01] 200`, "", "status", ""},
	{"^ is the header's start", `^<!DOCTYPE html>`, "", "status", ""},
	{"multiline ^", `(?m)^<!DOCTYPE html>`, "", "status", ""},
	{"$ at the end stays partial", `</html>\s*$`, "", "status", ""},
	{"end tag", `</html>`, "", "status", ""},
	{"header field", `Content-Type: text/html`, "", "status", ""},
	{"caseless option", `content-type: TEXT/HTML`, "regex_options caseless", "status", ""},
	{"inline caseless", `(?i)server status:\s+up`, "", "status", ""},
	{"lookbehind", `(?<=Server status: )UP\b`, "", "status", ""},
	{"negative lookbehind", `(?<!Server )status: UP`, "", "status", ""},
	{"possessive", `\d++ requests`, "", "status", ""},
	{"atomic group", `(?>\w+) served`, "", "status", ""},
	{"\\K", `total=\K\d+`, "", "status", ""},
	{"named backref", `(?<w>\w+)-\k<w>`, "", "status", ""},
	{"python named backref", `(?P<w>[a-c]+)-(?P=w)`, "", "status", ""},
	{"backref", `(\w)\1{2}`, "", "status", ""},
	{"recursion", `\((?:[^()]|(?R))*\)`, "", "status", ""},
	{"conditional", `<(?:(b)|i)>\w+(?(1)</b>|</i>)`, "", "status", ""},
	{"define/subroutine", `(?(DEFINE)(?<o>25[0-5]|2[0-4]\d|1?\d?\d))\b(?&o)(?:\.(?&o)){3}\b`, "", "status", ""},
	{"\\h", `key\hvalue`, "", "status", ""},
	{"\\R", `line one\Rline two`, "", "status", ""},
	{"unicode property", `\p{Greek}{3}`, "regex_options utf", "status", ""},
	{"utf escape", `caf\x{e9}`, "regex_options utf", "status", ""},
	{"(*UTF)", `(*UTF)\x{263a}`, "", "status", ""},
	{"raw UTF-8 bytes", `café`, "", "status", ""},
	{"ucp \\w", `\w+ ☺`, "regex_options utf ucp", "status", ""},
	{"dotall inline", `(?s)<script>.*?</script>`, "", "status", ""},
	{"no dotall", `<script>.*</script>`, "", "status", ""},
	{"dotall option", `<script>.*</script>`, "regex_options dotall", "status", ""},
	{"extended", `(?x) Server \  status: \s UP  # comment`, "", "status", ""},
	{"extended option", `Server\ status:  \s  UP`, "regex_options extended", "status", ""},
	{"\\A", `\AHTTP`, "", "status", ""},
	{"\\G", `\G<html>`, "", "status", ""},
	{"posix class", `[[:digit:]]{4}-[[:digit:]]{2}`, "", "status", ""},
	{"verbs", `zzz(*COMMIT)abc|zz`, "", "status", ""},
	{"no_match, absent", `Server status: DOWN`, "regex_no_match", "status", ""},
	{"no_match, present", `It works!`, "regex_no_match", "status", ""},
	{"min offset past it", `It works!`, "regex_min_offset 5000", "status", ""},
	{"min offset before it", `Server status: UP`, "regex_min_offset 5000", "status", ""},
	{"max offset before it", `Server status`, "regex_max_offset 1000", "status", ""},
	{"max offset after it", `<title>Status`, "regex_max_offset 400", "status", ""},
	{"max offset in the header", `<title>Status`, "regex_max_offset 100", "status", ""},
	{"status code first", `It works!`, "status_code 404", "status", ""},
	{"match longer than the buffer", `<table>.*</table>`, "regex_options dotall", "status", ""},
	{"split across writes", `token=SPLIT-ACROSS-WRITES`, "", "slow", ""},
	{"lookbehind across writes", `(?<=token=)SPLIT-ACROSS`, "", "slow", ""},
	{"chunked: in one chunk", `chunk-one x+`, "", "chunked", "1.1"},
	{"chunked: across chunk framing", `x{5}chunk-two`, "", "chunked", "1.1"},
	{"JIT stack exceeded", `<p>(?:a|b)*c</p>`, "", "jit", ""},
	{"JIT stack with regex_stack", `<p>(?:a|b)*c</p>`, "regex_stack 1000000 2000000", "jit", ""},
}

// invalidCases run in a config of their own: keepalived frees such a
// regex but keeps pointing at it.
var invalidCases = []regexCase{
	{"control", `It works!`, "", "status", ""},
	{"unclosed group", `a(b`, "", "status", ""},
	{"unbounded lookbehind", `(?<=a+)b`, "regex_no_match", "status", ""},
}

// confQuote writes pattern as a keepalived.conf value that keepalived's
// alloc_strvec_quoted_escaped turns back into pattern.
func confQuote(pattern string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(pattern) + `"`
}

// regexConf is one virtual server per case, real server port 20000+i.
func regexConf(cases []regexCase, base int) string {
	var c strings.Builder
	for i, rc := range cases {
		fmt.Fprintf(&c, `virtual_server 198.51.100.10 %d {
  delay_loop 3
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 %d {
    HTTP_GET {
      alpha
      log_all_failures
      connect_timeout 5
      retry 0
`, 10000+base+i, 20000+base+i)
		if rc.proto != "" {
			fmt.Fprintf(&c, "      http_protocol %s\n", rc.proto)
		}
		fmt.Fprintf(&c, "      url {\n        path /p\n        regex %s\n", confQuote(rc.pattern))
		for _, l := range strings.Split(rc.extra, "\n") {
			if l != "" {
				fmt.Fprintf(&c, "        %s\n", l)
			}
		}
		c.WriteString("      }\n    }\n  }\n}\n")
	}
	return c.String()
}

type webPage struct {
	Port int    `json:"port"`
	Mode string `json:"mode"`
	Body string `json:"body"`
}

// verdicts reads each case's first verdict from a daemon's log: "up"
// (Remote Web server ... succeed on service), the failure text logged
// with log_all_failures, or "none".
func verdicts(log string, n, base int) []string {
	out := make([]string, n)
	for i := range out {
		rs := regexp.QuoteMeta(fmt.Sprintf("[198.51.100.11]:tcp:%d", 20000+base+i))
		up := regexp.MustCompile(`Remote Web server ` + rs + ` succeed on service`)
		down := regexp.MustCompile(`(?m)([A-Za-z][^:\n]*?) server ` + rs + `\.$`)
		upAt, downAt := up.FindStringIndex(log), down.FindStringSubmatchIndex(log)
		switch {
		case upAt != nil && (downAt == nil || upAt[0] < downAt[0]):
			out[i] = "up"
		case downAt != nil:
			out[i] = "down: " + log[downAt[2]:downAt[3]]
		default:
			out[i] = "none"
		}
	}
	return out
}

// TestRegexVerdictsMatchKeepalived boots Debian's kernel (IPVS) with a Go
// web server serving real pages, runs Debian's keepalived 2.2.7 and then
// ours on the same config (one virtual server per pattern, HTTP_GET with
// regex), and compares each pattern's first up/down verdict, read from
// the two logs.
func TestRegexVerdictsMatchKeepalived(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the VM needs root to read /boot/vmlinuz-*")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("skipping: /usr/sbin/keepalived missing (apt-get install keepalived)")
	}
	vm, err := vmtest.New()
	if errors.Is(err, vmtest.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.AddModules("ip_vs", "ip_vs_rr"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pages := regexPages()
	var spec []webPage
	all := append(append([]regexCase(nil), regexCases...), invalidCases...)
	for i, rc := range all {
		spec = append(spec, webPage{Port: 20000 + i, Mode: pages[rc.page].mode, Body: pages[rc.page].body})
	}
	js, _ := json.Marshal(spec)
	files := map[string][]byte{
		"cfg/spec.json":    js,
		"cfg/regex.conf":   []byte(regexConf(regexCases, 0)),
		"cfg/invalid.conf": []byte(regexConf(invalidCases, len(regexCases))),
	}
	for inVM, data := range files {
		vm.Archive.Bytes(inVM, data, 0o644)
		os.WriteFile(filepath.Join(dir, filepath.Base(inVM)), data, 0o644)
	}
	for host, inVM := range map[string]string{
		"/usr/sbin/keepalived":                    "",
		buildStaticProg(t, "./internal/regexweb"): "/bin/regexweb",
		buildStaticProg(t, "../cmd/keepalived"):   "/bin/keepalived-go",
	} {
		if err := vm.AddBinary(host, inVM); err != nil {
			t.Fatal(err)
		}
	}
	vm.Archive.Bytes("etc/passwd", []byte("root:x:0:0:root:/:/bin/sh\n"), 0o644)
	vm.Archive.Bytes("etc/group", []byte("root:x:0:\n"), 0o644)
	vm.Memory = 1024
	vm.Timeout = 6 * time.Minute
	run := func(name, bin, conf string) string {
		return fmt.Sprintf(`echo "=== BEGIN %[1]s ==="
%[2]s -f /cfg/%[3]s -l -D -n -p /run/%[1]s.pid -c /run/%[1]s.c.pid -r /run/%[1]s.v.pid 2>&1 &
p=$!; sleep 14; kill $p; sleep 2; kill -9 $p 2>/dev/null; wait $p 2>/dev/null
echo "=== END %[1]s ==="
`, name, bin, conf)
	}
	script := "mkdir -p /run /var/run /etc/keepalived\n" +
		"ip addr add 198.51.100.10/32 dev lo\nip addr add 198.51.100.11/32 dev lo\n" +
		"/bin/regexweb 198.51.100.11 /cfg/spec.json &\nsleep 1\n" +
		run("keepalived", "/usr/sbin/keepalived", "regex.conf") +
		run("ours", "/bin/keepalived-go", "regex.conf") +
		run("keepalived-invalid", "/usr/sbin/keepalived", "invalid.conf") +
		run("ours-invalid", "/bin/keepalived-go", "invalid.conf")
	console, err := vm.Run(context.Background(), script)
	os.WriteFile(filepath.Join(dir, "console.txt"), []byte(console), 0o644)
	if err != nil {
		t.Fatalf("%v\n%s", err, console)
	}
	sec := func(name string) string {
		s, ok := vmtest.Section(console, name)
		if !ok {
			t.Fatalf("no section %q in:\n%s", name, console)
		}
		return s
	}
	compare(t, "valid patterns", regexCases, sec("keepalived"), sec("ours"), 0)
	checkInvalid(t, sec("keepalived-invalid"), sec("ours-invalid"))
	if os.Getenv("REGEX_VM_KEEP") != "" {
		t.Logf("files kept in %s", dir)
		os.CopyFS(os.Getenv("REGEX_VM_KEEP"), os.DirFS(dir))
	}
}

// checkInvalid: both log PCRE2's error for each pattern that does not
// compile, in the same words. keepalived's checker then dies (SIGSEGV,
// respawned at each check of such a url: it keeps using the regex it
// freed), which leaves no verdict to compare; ours treats the pattern as
// never matching: down, up with regex_no_match.
func checkInvalid(t *testing.T, theirs, ours string) {
	t.Helper()
	msg := regexp.MustCompile(`(?m)(Invalid regex: .*)$`)
	uniq := func(s string) []string {
		var out []string
		for _, m := range msg.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		return out
	}
	k, o := uniq(theirs), uniq(ours)
	if len(k) != 2 || !slices.Equal(k, o) {
		t.Errorf("invalid pattern messages: keepalived %q, ours %q", k, o)
	}
	t.Logf("invalid patterns: keepalived and ours log %q", k)
	t.Logf("keepalived after them:\n%s", grepLines(theirs, "SIGSEGV|succeed"))
	got := verdicts(ours, len(invalidCases), len(regexCases))
	want := []string{"up", "down: Regex match failed", "up"}
	if !slices.Equal(got, want) {
		t.Errorf("ours on invalid patterns: %q, want %q", got, want)
	}
}

// compare checks the verdicts case by case and prints the table.
func compare(t *testing.T, what string, cases []regexCase, theirs, ours string, base int) {
	t.Helper()
	k, o := verdicts(theirs, len(cases), base), verdicts(ours, len(cases), base)
	var table strings.Builder
	agree, ups, downs := 0, 0, 0
	for i, rc := range cases {
		mark := "same"
		if k[i] != o[i] {
			mark = "DIFFERENT"
		} else {
			agree++
		}
		if strings.HasPrefix(k[i], "up") {
			ups++
		} else if strings.HasPrefix(k[i], "down") {
			downs++
		}
		fmt.Fprintf(&table, "%-9s %-32s %-44s keepalived %-28s ours %s\n", mark, rc.name, short(rc.pattern+" "+rc.extra, 44), k[i], o[i])
		if k[i] == "none" {
			t.Errorf("%s: keepalived logged no verdict", rc.name)
		}
		if k[i] != o[i] {
			t.Errorf("%s (%q %s): keepalived %s, ours %s", rc.name, rc.pattern, rc.extra, k[i], o[i])
		}
	}
	t.Logf("%s: %d patterns, %d same verdicts (keepalived: %d up, %d down)\n%s", what, len(cases), agree, ups, downs, table.String())
	if ups == 0 || downs == 0 {
		t.Errorf("keepalived gave %d up and %d down verdicts: the comparison shows nothing", ups, downs)
	}
}

func short(s string, n int) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

func grepLines(s, pat string) string {
	re := regexp.MustCompile(pat)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// buildStaticProg builds a main package as a static binary for the VM.
func buildStaticProg(t *testing.T, pkg string) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("skipping: no go toolchain to build the VM program")
		}
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}
