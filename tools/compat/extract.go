package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Files made at run time from the keepalived documentation Debian installs.
// Nothing of it is committed: the extraction is repeated on every run, and
// only keepalived's recorded outputs are kept (testdata/compat/man5/).
const (
	manPage  = "/usr/share/man/man5/keepalived.conf.5.gz"
	synopsis = "/usr/share/doc/keepalived/keepalived.conf.SYNOPSIS"
)

type extracted struct {
	source, name, path string
}

// extractDocs writes the configs extracted from keepalived.conf(5) (and from
// keepalived.conf.SYNOPSIS, which in Debian's 2.2.7 is a five-line pointer
// to the man page, so it yields nothing) into dir/<source>/.
func extractDocs(dir string) ([]extracted, error) {
	var out []extracted
	text, err := readGzip(manPage)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	docs := manExamples(string(text))
	if b, err := os.ReadFile(synopsis); err == nil {
		for _, d := range synopsisExamples(string(b)) {
			d.source = "synopsis"
			docs = append(docs, d)
		}
	}
	for _, d := range docs {
		sub := filepath.Join(dir, d.source)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return nil, err
		}
		p := filepath.Join(sub, d.name)
		if err := os.WriteFile(p, []byte(d.text), 0o644); err != nil {
			return nil, err
		}
		out = append(out, extracted{source: d.source, name: d.name, path: p})
	}
	return out, nil
}

// readGzip reads a gzip'd file.
func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

type docConfig struct {
	source, name, text string
}

// manBlocks returns the text of every .nf/.fi (no-fill) block of a man page,
// troff escapes undone, with the block's ordinal.
func manBlocks(man string) [][]string {
	var blocks [][]string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(man))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, ".nf"):
			in, cur = true, nil
		case strings.HasPrefix(l, ".fi"):
			if in {
				blocks = append(blocks, cur)
			}
			in = false
		case in && (strings.HasPrefix(l, ".RS") || strings.HasPrefix(l, ".RE") || strings.HasPrefix(l, ".PP")):
		case in:
			cur = append(cur, l)
		}
	}
	return blocks
}

var troffRepl = strings.NewReplacer(`\fB`, "", `\fR`, "", `\fI`, "", `\fP`, "", `\e`, `\`, `\-`, "-", `\'`, "'", `\\`, `\`)

func untroff(s string) string { return troffRepl.Replace(s) }

var (
	boldKwRe  = regexp.MustCompile(`^\s*(?:@\S+\s+)?\\fB([A-Za-z0-9_~|-]+)`)
	exampleRe = regexp.MustCompile(`^\s*(will produce|would produce|or better|and$|Another example)`)
)

// manExamples turns keepalived.conf(5) into configs: one per keyword the
// syntax blocks document (its value as the page gives it, placeholders
// replaced by a plain value of their type, optional parts left out),
// wrapped in the smallest configuration that holds it; and one per literal
// example of the preprocessor (conditionals, $macros, ~SEQ).
func manExamples(man string) []docConfig {
	var out []docConfig
	seen := map[string]int{}
	for bi, blk := range manBlocks(man) {
		if isPreprocessorExample(blk) {
			for si, seg := range preprocessorExamples(blk) {
				name := fmt.Sprintf("b%02d-preprocessor-%d.conf", bi+1, si+1)
				hdr := "# extracted at run time from keepalived.conf(5), a literal example of the preprocessor\n"
				if strings.Contains(seg, "@main") || strings.Contains(seg, "@high") {
					hdr += "# keepalived-args: -i main\n"
				}
				out = append(out, docConfig{source: "man5", name: name, text: hdr + seg})
			}
			continue
		}
		for _, kw := range syntaxKeywords(blk) {
			base := fmt.Sprintf("b%02d-%s", bi+1, strings.Join(append(kw.path, kw.name), "."))
			base = strings.NewReplacer("|", "_", "~", "_").Replace(base)
			seen[base]++
			if seen[base] > 1 {
				base += "-" + strconv.Itoa(seen[base])
			}
			out = append(out, docConfig{source: "man5", name: base + ".conf", text: wrapKeyword(kw)})
		}
	}
	return out
}

var ppLineRe = regexp.MustCompile(`^\s*(?:\$[A-Za-z_]+\s*=|.*~SEQ|@\^?[a-z]+\s)`)

// isPreprocessorExample: the block shows $macros, ~SEQ or @conditionals.
func isPreprocessorExample(blk []string) bool {
	for _, l := range blk {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") && ppLineRe.MatchString(untroff(l)) {
			return true
		}
	}
	return false
}

// preprocessorExamples splits a literal example block at "will produce:",
// "or better" and the like, dropping what the page says it produces.
func preprocessorExamples(blk []string) []string {
	var segs []string
	var cur []string
	skipping := false
	flush := func() {
		if !skipping && len(cur) > 0 {
			s := strings.TrimSpace(strings.Join(cur, "\n"))
			if s != "" {
				segs = append(segs, s+"\n")
			}
		}
		cur = nil
	}
	for _, l := range blk {
		if m := exampleRe.FindStringSubmatch(l); m != nil {
			flush()
			skipping = strings.Contains(m[1], "produce")
			continue
		}
		t := strings.TrimSpace(untroff(l))
		if t == "..." || strings.HasPrefix(t, "if the config_id") || strings.HasPrefix(t, "although why") ||
			strings.HasPrefix(t, "following is not known") || strings.HasPrefix(t, "vrrp4.7") {
			continue
		}
		if skipping && strings.TrimSpace(l) == "" {
			continue
		}
		if skipping && !strings.HasPrefix(l, "        ") {
			// output listings are indented deeper than the example itself
			flush()
			skipping = false
		}
		cur = append(cur, untroff(l))
	}
	flush()
	return segs
}

// docKeyword is one keyword line of a syntax block, with the blocks that
// enclose it (as the page wrote their headers) and, for a keyword that opens
// a block, the block's lines.
type docKeyword struct {
	path    []string // enclosing keywords
	headers []string // enclosing header lines, placeholders filled
	name    string
	line    string   // the keyword line, filled
	body    []string // lines of the block it opens, filled (nil: not a block)
}

// syntaxKeywords walks a syntax block by brace depth and lists its keyword
// lines.
func syntaxKeywords(blk []string) []docKeyword {
	var out []docKeyword
	type frame struct {
		name, header string
		idx          int // index in out of the keyword that opened it (-1: none)
	}
	var stack []frame
	for _, raw := range blk {
		t := strings.TrimSpace(raw)
		if t == "" || strings.HasPrefix(t, "#") || t == "..." || t == "or" || isProse(strings.TrimSpace(stripComment(t))) {
			continue
		}
		m := boldKwRe.FindStringSubmatch(raw)
		line := fillValue(untroff(raw))
		opens := strings.HasSuffix(strings.TrimSpace(stripComment(untroff(raw))), "{")
		closes := t == "}"
		if closes {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			for _, f := range stack {
				if f.idx >= 0 {
					out[f.idx].body = append(out[f.idx].body, "}")
				}
			}
			continue
		}
		for _, f := range stack {
			if f.idx >= 0 {
				out[f.idx].body = append(out[f.idx].body, line)
			}
		}
		name := ""
		if m != nil {
			name = strings.SplitN(m[1], "|", 2)[0]
		} else if opens {
			name = strings.Fields(t)[0]
		}
		idx := -1
		if name != "" && (m != nil || opens) {
			var path, headers []string
			for _, f := range stack {
				path = append(path, f.name)
				headers = append(headers, f.header)
			}
			out = append(out, docKeyword{path: path, headers: headers, name: name, line: line})
			idx = len(out) - 1
			if opens {
				out[idx].body = []string{}
			}
		}
		if opens {
			stack = append(stack, frame{name: name, header: line, idx: idx})
		}
	}
	return out
}

// isProse tells the page's explanations inside a syntax block from config
// lines.
func isProse(t string) bool {
	return strings.HasSuffix(t, ".") || strings.HasSuffix(t, ",") || strings.Contains(t, " should ") ||
		strings.HasPrefix(t, "The syntax") || strings.HasPrefix(t, "Note:") || strings.HasPrefix(t, "The configuration")
}

func stripComment(s string) string {
	if i := strings.Index(s, "#"); i >= 0 {
		return s[:i]
	}
	return s
}

var (
	optRe      = regexp.MustCompile(`\[[^\[\]]*\]`)
	rangeOptRe = regexp.MustCompile(`^\[(-?\d+)[:\-]\d+\]$`)
	angleRe    = regexp.MustCompile(`<[^<>]*>`)
	braceRange = regexp.MustCompile(`\{(-?\d+)\.\.\d+\}`)
	numRe      = regexp.MustCompile(`-?\d+`)
)

var bareWords = map[string]string{
	"NAME": "test", "SECS": "5", "SECONDS": "5", "DIRECTORY": "/tmp", "SCRIPT_NAME": "/bin/true",
	"USERNAME": "root", "GROUPNAME": "root", "username": "root", "groupname": "root",
	"FIFO_NAME": "/tmp/keepalived-compat.fifo", "STRING": "test", "QUOTED_STRING": "test", "BYTES": "1048576",
	"NUMBER": "1", "NUM": "1", "UNSIGNED_INT": "1", "PRIORITY": "-1", "TABLENAME": "keepalived",
	"VRF_IF": "vrf0", "GROUP": "GROUP1", "VALUE": "0", "ABSOLUTE-PATHNAME-OF-FILE": "/tmp/keepalived-compat.reload",
	"SERVICE_NAME": "org.keepalived.Vrrp1", "DELAY": "1", ">=2": "2", "nn|forever": "forever",
}

// fillValue replaces the page's placeholders by plain values of their type
// and leaves optional parts out.
func fillValue(l string) string {
	l = stripComment(l)
	indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
	s := strings.TrimSpace(l)
	s = braceRange.ReplaceAllString(s, "$1")
	fields := strings.Fields(s)
	for i, f := range fields {
		if m := rangeOptRe.FindStringSubmatch(f); m != nil {
			fields[i] = m[1]
		}
	}
	s = strings.Join(fields, " ")
	for {
		n := optRe.ReplaceAllString(s, "")
		if n == s {
			break
		}
		s = n
	}
	s = angleRe.ReplaceAllStringFunc(s, func(p string) string { return placeholder(strings.Trim(p, "<>")) })
	fields = strings.Fields(s)
	var kept []string
	for _, f := range fields {
		if f == "..." || f == `\` {
			continue
		}
		if v, ok := bareWords[f]; ok {
			f = v
		}
		if strings.Contains(f, "|") && !strings.HasPrefix(f, "\"") {
			f = strings.SplitN(f, "|", 2)[0]
		}
		kept = append(kept, f)
	}
	return indent + strings.Join(kept, " ")
}

func placeholder(p string) string {
	u := strings.ToUpper(p)
	switch {
	case strings.Contains(u, "2 OR 3"):
		return "2"
	case strings.Contains(u, "..") || strings.Contains(u, " TO "):
		if m := numRe.FindString(p[strings.LastIndex(p, ":")+1:]); m != "" {
			return m
		}
		return "1"
	case u == "BOOL":
		return "true"
	case strings.Contains(u, "MULTICAST"):
		return "224.0.0.18"
	case u == "IP ADDR":
		return "224.0.0.81"
	case strings.Contains(u, "IPADDR") || strings.Contains(u, "IP ADDRESS"):
		return "198.51.100.1"
	case u == "MASK":
		return "24"
	case u == "NETMASK":
		return "255.255.255.0"
	case u == "PORT":
		return "80"
	case u == "SCOPE":
		return "global"
	case u == "PROTOCOL":
		return "1.1"
	case u == "HEX_STR":
		return "ab12"
	case u == "INTERFACE" || u == "IFNAME":
		return "eth0"
	case u == "VMAC_INTERFACE_NAME":
		return "vrrp.1"
	case u == "INTERFACE_NAME":
		return "ipvl1"
	case u == "MAC_ADDRESS":
		return "00:00:5e:00:01:01"
	case u == "VRRP_INSTANCE":
		return "VI_1"
	case u == "LEN":
		return "1500"
	case u == "TTL":
		return "1"
	case strings.Contains(u, "USECS"):
		return "1000"
	case u == "LABEL":
		return "eth0:1"
	case strings.Contains(u, "INT") || u == "NUMBER" || u == "LEVEL" || u == "OFFSET" || u == "START" ||
		u == "MAX" || u == "SYNC_ID" || u == "DECIMAL" || u == "TIMER":
		return "1"
	case u == "SCRIPT_NAME":
		return "chk"
	}
	return "test"
}

// Bodies keepalived needs around a keyword for the keyword to be read in
// its place: the instance, virtual server or script it belongs to.
var contextFill = map[string][]string{
	"vrrp_instance":        {"state BACKUP", "interface eth0", "virtual_router_id 51", "priority 100", "virtual_ipaddress {", "198.51.100.10/24", "}"},
	"vrrp_script":          {`script "/bin/true"`},
	"track_file":           {`file "/tmp/keepalived-compat.track"`},
	"vrrp_track_process":   {"process keepalived"},
	"bfd_instance":         {"neighbor_ip 198.51.100.2"},
	"garp_group":           {"interface eth0"},
	"virtual_server":       {"lb_algo rr", "lb_kind NAT", "protocol TCP"},
	"real_server":          {"weight 1"},
	"url":                  {"path /"},
	"HTTP_GET":             {"url {", "path /", "}"},
	"SSL_GET":              {"url {", "path /", "}"},
	"virtual_server_group": {"198.51.100.10 80"},
}

// What has to exist elsewhere in the file for a context to make sense.
var contextPre = map[string]string{
	"vrrp_sync_group": "vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        198.51.100.10/24\n    }\n}\n\n",
}

var contextAfter = map[string][]string{
	"virtual_server":  {"real_server 198.51.100.20 80 {", "weight 1", "}"},
	"vrrp_sync_group": {"group {", "VI_1", "}"},
}

// wrapKeyword builds the configuration for one documented keyword.
func wrapKeyword(kw docKeyword) string {
	var b bytes.Buffer
	b.WriteString("# extracted at run time from keepalived.conf(5): keyword " + strings.Join(append(kw.path, kw.name), " > ") + "\n")
	for _, p := range kw.path {
		b.WriteString(contextPre[p])
	}
	depth := 0
	ind := func() string { return strings.Repeat("    ", max(depth, 0)) }
	for i, h := range kw.headers {
		name := kw.path[i]
		h = strings.TrimSpace(h)
		switch name {
		case "CHECKER_TYPE":
			h = "TCP_CHECK {"
		case "HTTP_GET":
			h = "HTTP_GET {"
		case "virtual_server":
			h = "virtual_server 198.51.100.10 80 {"
		case "real_server":
			h = "real_server 198.51.100.20 80 {"
		}
		b.WriteString(ind() + h + "\n")
		depth++
		writeLines(&b, &depth, fillFor(name, kw.name))
	}
	b.WriteString(ind() + strings.TrimSpace(kw.line) + "\n")
	if kw.body != nil {
		depth++
		writeLines(&b, &depth, kw.body)
		depth--
		b.WriteString(ind() + "}\n")
	}
	for i := len(kw.headers) - 1; i >= 0; i-- {
		if !provides(kw, i) {
			writeLines(&b, &depth, contextAfter[kw.path[i]])
		}
		depth--
		b.WriteString(ind() + "}\n")
	}
	if len(kw.headers) == 0 {
		b.WriteString(contextPre[kw.name])
	}
	return b.String()
}

// provides tells whether the keyword, or a block it sits in below level i,
// is itself what contextAfter would add at level i.
func provides(kw docKeyword, i int) bool {
	after := contextAfter[kw.path[i]]
	if len(after) == 0 {
		return false
	}
	first := strings.Fields(after[0])[0]
	if kw.name == first {
		return true
	}
	for _, p := range kw.path[i+1:] {
		if p == first {
			return true
		}
	}
	return false
}

func fillFor(ctx, kw string) []string {
	var out []string
	skip := 0
	for _, l := range contextFill[ctx] {
		t := strings.TrimSpace(l)
		if skip > 0 {
			if strings.HasSuffix(t, "{") {
				skip++
			} else if t == "}" {
				skip--
			}
			continue
		}
		if f := strings.Fields(t); len(f) > 0 && f[0] == kw {
			if strings.HasSuffix(t, "{") {
				skip = 1
			}
			continue
		}
		out = append(out, l)
	}
	return out
}

// writeLines writes lines re-indented by their braces.
func writeLines(b *bytes.Buffer, depth *int, lines []string) {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if t == "}" {
			*depth--
		}
		b.WriteString(strings.Repeat("    ", max(*depth, 0)) + t + "\n")
		if strings.HasSuffix(t, "{") {
			*depth++
		}
	}
}

// countBraces is the number of blocks lines leave open (negative when they
// close more than they open).
func countBraces(lines []string) int {
	n := 0
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasSuffix(t, "{") {
			n++
		}
		if t == "}" {
			n--
		}
	}
	return n
}

func lastNonEmpty(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return lines[i]
		}
	}
	return ""
}

// synopsisExamples extracts configs from keepalived.conf.SYNOPSIS. Debian's
// 2.2.7 file only points at the man page; an older, full synopsis would be
// read block by block the same way as the man page.
func synopsisExamples(text string) []docConfig {
	if !strings.Contains(text, "{") {
		return nil
	}
	var out []docConfig
	for i, kw := range syntaxKeywords(strings.Split(text, "\n")) {
		out = append(out, docConfig{name: fmt.Sprintf("s%03d-%s.conf", i+1, kw.name), text: wrapKeyword(kw)})
	}
	return out
}
