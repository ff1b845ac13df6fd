package config

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"keepalived-go/internal/cnum"
	"keepalived-go/internal/pcre"
	"keepalived-go/parser"
)

// HTTP_GET and SSL_GET: a port of check/check_http.c's configuration
// (install_http_ssl_check_keyword and its handlers, url_check,
// http_get_check_end). The regex keywords are read as keepalived reads
// them; compiling the pattern is the PCRE2 port's (see compileRegex).

// HTTPGet and SSLGet are the HTTP_GET and SSL_GET blocks; both hold
// HTTPOptions.
const (
	HTTPGet CheckerKind = "HTTP_GET"
	SSLGet  CheckerKind = "SSL_GET"
)

func init() {
	for i, k := range []CheckerKind{HTTPGet, SSLGet} {
		registerCheckerKind(checkerKind{name: k, order: 6 + i, keywords: (*checkState).httpKeywords,
			start: (*checkState).httpStart, end: (*checkState).httpEnd, retry: 1, dbr: 3 * timerHz})
	}
}

// HTTPOptions holds HTTP_GET / SSL_GET settings.
type HTTPOptions struct {
	URLs         []URL
	VirtualHost  string
	Protocol     string // 1.0 | 1.0C | 1.1
	EnableSNI    bool
	FastRecovery bool
}

func (*HTTPOptions) isCheckerOptions() {}

// HTTPOpts are an HTTP_GET's or SSL_GET's settings (nil for another kind).
func (c *Checker) HTTPOpts() *HTTPOptions {
	o, _ := c.Options.(*HTTPOptions)
	return o
}

// URL is one url block of HTTP_GET / SSL_GET.
type URL struct {
	Path        string
	Digest      string
	StatusCodes []StatusRange
	VirtualHost string
	// Regex is the PCRE2 pattern (HasRegex: one was given, even empty),
	// RegexOptions its PCRE2 option bits (regex_options).
	Regex        string
	HasRegex     bool
	RegexOptions uint32
	RegexNoMatch bool
	// RegexMinOffset and RegexMaxOffset are keepalived's: the max is one
	// beyond the last acceptable position, 0 for none.
	RegexMinOffset uint64
	RegexMaxOffset uint64
	// RegexStack: regex_stack was given (the JIT stack is
	// CheckerSettings.RegexStack*).
	RegexStack bool
	// RegexInvalid: the pattern does not compile (keepalived logs why and
	// the url's regex never matches).
	RegexInvalid bool
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

// regexOptionBits are check_http.c's regex_options: PCRE2 option bits.
var regexOptionBits = []struct {
	name string
	bit  uint32
}{
	{"allow_empty_class", 0x00000001}, {"alt_bsux", 0x00000002}, {"auto_callout", 0x00000004},
	{"caseless", 0x00000008}, {"dollar_endonly", 0x00000010}, {"dotall", 0x00000020},
	{"dupnames", 0x00000040}, {"extended", 0x00000080}, {"firstline", 0x00000100},
	{"match_unset_backref", 0x00000200}, {"multiline", 0x00000400}, {"never_ucp", 0x00000800},
	{"never_utf", 0x00001000}, {"no_auto_capture", 0x00002000}, {"no_auto_possess", 0x00004000},
	{"no_dotstar_anchor", 0x00008000}, {"no_start_optimize", 0x00010000}, {"ucp", 0x00020000},
	{"ungreedy", 0x00040000}, {"utf", 0x00080000}, {"never_backslash_c", 0x00100000},
	{"alt_circumflex", 0x00200000}, {"alt_verbnames", 0x00400000}, {"use_offset_limit", 0x00800000},
}

// compileRegex is keepalived's prepare_regex: pcre2_compile with the url's
// options. It returns keepalived's log line on failure ("Invalid regex:
// '%s' at offset %zu: %s"), which is a log message, not a configuration
// error: keepalived -t says nothing, and the url is left with a regex that
// never matches.
func compileRegex(pattern string, options uint32) (logLine string, ok bool) {
	if _, err := pcre.Compile(pattern, options); err != nil {
		ce, _ := err.(*pcre.CompileError)
		if ce == nil {
			ce = &pcre.CompileError{Msg: err.Error()}
		}
		return fmt.Sprintf("Invalid regex: '%s' at offset %d: %s", pattern, ce.Offset, ce.Msg), false
	}
	return "", true
}

// httpStart is http_get_handler and alloc_http_get.
func (s *checkState) httpStart(v parser.Strvec) {
	kind := HTTPGet
	if v.Slot(0) != "HTTP_GET" {
		kind = SSLGet
		s.sslRequired = true
	}
	c := s.queueChecker(kind, true)
	// The block is read into scratch space; httpEnd keeps a copy, or the
	// options of an earlier checker equal to it.
	clear(s.httpScratch.URLs)
	s.httpScratch = HTTPOptions{Protocol: "1.0", URLs: s.httpScratch.URLs[:0]}
	c.m.Options = &s.httpScratch
}

// curHTTP is CHECKER_GET() of an HTTP or SSL checker.
func (s *checkState) curHTTP() *ckState {
	if c := s.cur(); c != nil && c.m.HTTPOpts() != nil {
		return c
	}
	return nil
}

// curURL is the last url of the current HTTP checker.
func (s *checkState) curURL() *URL {
	if c := s.curHTTP(); c != nil && len(c.m.HTTPOpts().URLs) > 0 {
		return &c.m.HTTPOpts().URLs[len(c.m.HTTPOpts().URLs)-1]
	}
	return nil
}

func (s *checkState) httpKeywords() []*parser.Keyword {
	h := func(f func(*ckState, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.curHTTP(); c != nil {
				f(c, v)
			}
		}
	}
	flag := func(name string, dst func(*HTTPOptions) *bool) *parser.Keyword {
		return kw(name, h(func(c *ckState, v parser.Strvec) {
			res := 1
			if v.Len() >= 2 {
				if res = checkTrueFalse(v.Slot(1)); res == -1 {
					s.l.report(parser.SevGeneral, "Invalid %s parameter %s", name, v.Slot(1))
					return
				}
			}
			*dst(c.m.HTTPOpts()) = res == 1
		}))
	}
	kws := append(s.commonKeywords(true),
		kw("nb_get_retry", func(v parser.Strvec) {
			s.l.report(parser.SevGeneral, "nb_get_retry is deprecated - please use 'retry'")
			n, ok := s.l.readUnsigned(v.Slot(1), 0, 1<<32-1, true)
			if !ok {
				s.l.report(parser.SevGeneral, "Invalid nb_get_retry value '%s'", v.Slot(1))
				return
			}
			if c := s.cur(); c != nil {
				c.m.Retry = int(n)
			}
		}),
		kw("virtualhost", h(func(c *ckState, v parser.Strvec) {
			if v.Len() < 2 {
				s.l.report(parser.SevGeneral, "HTTP_GET virtualhost name missing")
				return
			}
			c.m.HTTPOpts().VirtualHost = strings.Clone(v.Slot(1))
		})),
		kw("http_protocol", h(s.httpProtocol)),
		flag("enable_sni", func(o *HTTPOptions) *bool { return &o.EnableSNI }),
		flag("fast_recovery", func(o *HTTPOptions) *bool { return &o.FastRecovery }),
		&parser.Keyword{Name: "url", Handler: h(s.urlStart), Sub: s.urlKeywords(), Close: s.urlCheck},
	)
	return kws
}

// httpProtocol is http_protocol_handler.
func (s *checkState) httpProtocol(c *ckState, v parser.Strvec) {
	if v.Len() < 2 {
		s.l.report(parser.SevGeneral, "Missing http_protocol version")
		return
	}
	switch p := v.Slot(1); p {
	case "1.0", "1.1":
		c.m.HTTPOpts().Protocol = p
	case "1.0C", "1.0c":
		c.m.HTTPOpts().Protocol = "1.0C"
	default:
		s.l.report(parser.SevGeneral, "Invalid http_protocol version %s", p)
	}
}

// urlStart is url_handler: a new url; the regex options start afresh (the
// pattern does not).
func (s *checkState) urlStart(c *ckState, _ parser.Strvec) {
	c.m.HTTPOpts().URLs = append(c.m.HTTPOpts().URLs, URL{})
	s.regexOptions = 0
}

func (s *checkState) urlKeywords() []*parser.Keyword {
	u := func(f func(*URL, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if us := s.curURL(); us != nil {
				f(us, v)
			}
		}
	}
	return []*parser.Keyword{
		kw("path", u(func(us *URL, v parser.Strvec) { us.Path = strings.Clone(v.Slot(1)) })),
		kw("digest", u(s.digest)),
		kw("status_code", u(s.statusCode)),
		kw("virtualhost", u(func(us *URL, v parser.Strvec) {
			if v.Len() < 2 {
				s.l.report(parser.SevGeneral, "Missing HTTP_GET virtualhost name")
				return
			}
			us.VirtualHost = strings.Clone(v.Slot(1))
		})),
		kw("regex", func(v parser.Strvec) {
			words, ok := parser.SplitQuotedEscaped(s.l.p.Line(), s.l.report)
			if !ok || len(words) != 2 {
				// keepalived logs "regex missing or too many fields"
				return
			}
			p := words[1]
			s.regexPattern = &p
		}),
		kw("regex_no_match", u(func(us *URL, _ parser.Strvec) { us.RegexNoMatch = true })),
		kw("regex_options", func(v parser.Strvec) {
			for i := 1; i < v.Len(); i++ {
				for _, o := range regexOptionBits {
					if v.Slot(i) == o.name {
						s.regexOptions |= o.bit
						break
					}
				}
			}
		}),
		kw("regex_min_offset", u(func(us *URL, v parser.Strvec) { us.RegexMinOffset = regexOffset(v) })),
		kw("regex_max_offset", u(func(us *URL, v parser.Strvec) { us.RegexMaxOffset = regexOffset(v) + 1 })),
		kw("regex_stack", u(s.regexStack)),
	}
}

// regexOffset is regex_offset_handler: 0 (after a log line) when the value
// is missing, extra or not a number.
func regexOffset(v parser.Strvec) uint64 {
	if v.Len() != 2 {
		return 0
	}
	n, rest, _ := cnum.Strtoul(v.At(1), 10)
	if rest != "" {
		return 0
	}
	return n
}

// regexStack is regex_stack_handler: the JIT stack is the largest asked.
func (s *checkState) regexStack(us *URL, v parser.Strvec) {
	if v.Len() != 3 {
		return
	}
	start, rest1, _ := cnum.Strtoul(v.At(1), 10)
	if rest1 != "" {
		return
	}
	max, rest2, _ := cnum.Strtoul(v.At(2), 10)
	if rest2 != "" || start > max {
		return
	}
	s.jitStackStart = maxU64(s.jitStackStart, start)
	s.jitStackMax = maxU64(s.jitStackMax, max)
	us.RegexStack = true
}

func maxU64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// digest is digest_handler: 32 hex characters, read two at a time from the
// end with strtoul (so "+f" or "-1" pass as a byte).
func (s *checkState) digest(us *URL, v parser.Strvec) {
	d := v.Slot(1)
	if us.Digest != "" {
		s.l.report(parser.SevGeneral, "Digest '%s' is a duplicate", d)
		return
	}
	if len(d) != 32 {
		s.l.report(parser.SevGeneral, "digest '%s' character length should be %d rather than %d", d, 32, len(d))
		return
	}
	var buf [16]byte
	for i := 15; i >= 0; i-- {
		n, rest, _ := cnum.Strtoul(d[2*i:2*i+2], 16)
		if rest != "" {
			s.l.report(parser.SevGeneral, "Unable to interpret hex digit in '%s' at offset %d/%d", d[:2*i+2], 2*i, 2*i+1)
			return
		}
		buf[i] = byte(n)
	}
	us.Digest = hex.EncodeToString(buf[:])
}

// statusCode is status_code_handler: codes and ranges in [100, 599].
func (s *checkState) statusCode(us *URL, v parser.Strvec) {
	for i := 1; i < v.Len(); i++ {
		str := v.At(i)
		lo, rest, _ := cnum.Strtoul(str, 10)
		hi := lo
		if rest != "" && rest[0] == '-' {
			hi, rest, _ = cnum.Strtoul(rest[1:], 10)
		}
		if rest != "" || lo < 100 || lo > 599 || hi < 100 || hi > 599 || lo > hi {
			s.l.report(parser.SevGeneral, "Invalid HTTP_GET status code '%s'", str)
			continue
		}
		us.StatusCodes = append(us.StatusCodes, StatusRange{int(lo), int(hi)})
	}
}

// urlCheck is url_check: a url without a path goes; no status code means
// 200-299; the regex settings are checked.
func (s *checkState) urlCheck() {
	u := s.curURL()
	if u == nil {
		return
	}
	if u.Path == "" {
		s.l.report(parser.SevGeneral, "HTTP/SSL_GET checker url has no path - ignoring")
		h := s.curHTTP().m.HTTPOpts()
		h.URLs = h.URLs[:len(h.URLs)-1]
		return
	}
	if len(u.StatusCodes) == 0 {
		u.StatusCodes = defaultStatusCodes
	}
	switch {
	case s.regexPattern != nil:
		u.Regex, u.RegexOptions, u.HasRegex = *s.regexPattern, s.regexOptions, true
		s.regexPattern = nil
		if line, ok := compileRegex(u.Regex, u.RegexOptions); !ok {
			// keepalived logs the compile error and keeps a url whose
			// regex is unusable.
			s.l.logMessage("%s", line)
			u.RegexInvalid = true
		}
	case s.regexOptions != 0 || u.RegexNoMatch || u.RegexMinOffset != 0 || u.RegexMaxOffset != 0 || u.RegexStack:
		// keepalived logs "regex parameters specified without regex"
		s.regexOptions = 0
		u.RegexNoMatch, u.RegexMinOffset, u.RegexMaxOffset, u.RegexStack = false, 0, 0, false
	}
	if u.RegexMaxOffset != 0 && u.RegexMinOffset >= u.RegexMaxOffset {
		// keepalived logs "regex min offset %zu > regex_max_offset %zu - ignoring"
		u.RegexMinOffset, u.RegexMaxOffset = 0, 0
	}
}

// defaultStatusCodes is shared by every url without status_code; the
// model is read-only once built.
var defaultStatusCodes = []StatusRange{{200, 299}}

// httpEnd is http_get_check_end. With no url the checker goes, and the
// connection check then looks at whatever checker is last in the queue.
func (s *checkState) httpEnd() {
	c := s.curHTTP()
	if c != nil && len(c.m.HTTPOpts().URLs) == 0 {
		s.l.report(parser.SevGeneral, "HTTP/SSL_GET checker has no urls specified - ignoring")
		s.dequeue()
	}
	if !s.checkConn(s.cur()) {
		s.dequeue()
	}
	if c != nil {
		c.m.Options = s.shareHTTP(c.m.HTTPOpts())
	}
}

// shareHTTP returns the HTTP options of an earlier checker equal to h, or h:
// 40,000 real servers checking the same url then hold one copy. The model
// is read-only once loaded.
func (s *checkState) shareHTTP(h *HTTPOptions) *HTTPOptions {
	key := make([]byte, 0, 128)
	str := func(v string) {
		key = binary.AppendUvarint(key, uint64(len(v)))
		key = append(key, v...)
	}
	num := func(v uint64) { key = binary.AppendUvarint(key, v) }
	flag := func(b bool) {
		if b {
			num(1)
		} else {
			num(0)
		}
	}
	str(h.VirtualHost)
	str(h.Protocol)
	flag(h.EnableSNI)
	flag(h.FastRecovery)
	for i := range h.URLs {
		u := &h.URLs[i]
		str(u.Path)
		str(u.Digest)
		str(u.VirtualHost)
		str(u.Regex)
		flag(u.HasRegex)
		flag(u.RegexNoMatch)
		flag(u.RegexStack)
		flag(u.RegexInvalid)
		num(uint64(u.RegexOptions))
		num(u.RegexMinOffset)
		num(u.RegexMaxOffset)
		num(uint64(len(u.StatusCodes)))
		for _, r := range u.StatusCodes {
			num(uint64(r.Min))
			num(uint64(r.Max))
		}
	}
	if o, ok := s.sharedHTTP[string(key)]; ok {
		return o
	}
	if s.sharedHTTP == nil {
		s.sharedHTTP = map[string]*HTTPOptions{}
	}
	o := *h
	o.URLs = slices.Clone(h.URLs)
	s.sharedHTTP[string(key)] = &o
	return &o
}
