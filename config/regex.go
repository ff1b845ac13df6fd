package config

import (
	"strconv"
	"strings"

	"keepalived-go/internal/pcre"
	"keepalived-go/internal/strvec"
	"keepalived-go/parser"
)

// URLRegex is a url block's regex settings, keepalived 2.2.7's url_t regex
// fields (check_http.c). It is embedded in URL.
type URLRegex struct {
	// Regex is the pattern after keepalived's quote and escape processing
	// (alloc_strvec_quoted_escaped: `\\d` in the file is `\d` here).
	Regex        string
	RegexNoMatch bool
	// RegexOptions are the PCRE2 option bits of regex_options.
	RegexOptions   uint32
	RegexMinOffset uint64
	// RegexMaxOffset is regex_max_offset plus one, as keepalived keeps it
	// ("one beyond the last acceptable position"); 0 means none.
	RegexMaxOffset uint64
	// RegexStack is regex_stack's start and max, in bytes; RegexUseStack
	// says it was given.
	RegexStack    [2]uint64
	RegexUseStack bool
	// RegexInvalid: the pattern did not compile (keepalived logged why).
	RegexInvalid bool
}

// RegexOptionNames are regex_options' names and PCRE2 bits, in keepalived's
// table order (check_http.c regex_options[]).
var RegexOptionNames = []struct {
	Name string
	Bit  uint32
}{
	{"allow_empty_class", pcre.AllowEmptyClass},
	{"alt_bsux", pcre.AltBsux},
	{"auto_callout", pcre.AutoCallout},
	{"caseless", pcre.Caseless},
	{"dollar_endonly", pcre.DollarEndOnly},
	{"dotall", pcre.DotAll},
	{"dupnames", pcre.DupNames},
	{"extended", pcre.Extended},
	{"firstline", pcre.FirstLine},
	{"match_unset_backref", pcre.MatchUnsetBackref},
	{"multiline", pcre.Multiline},
	{"never_ucp", pcre.NeverUCP},
	{"never_utf", pcre.NeverUTF},
	{"no_auto_capture", pcre.NoAutoCapture},
	{"no_auto_possess", pcre.NoAutoPossess},
	{"no_dotstar_anchor", pcre.NoDotStarAnchor},
	{"no_start_optimize", pcre.NoStartOptimize},
	{"ucp", pcre.UCP},
	{"ungreedy", pcre.Ungreedy},
	{"utf", pcre.UTF},
	{"never_backslash_c", pcre.NeverBackslashC},
	{"alt_circumflex", pcre.AltCircumflex},
	{"alt_verbnames", pcre.AltVerbnames},
	{"use_offset_limit", pcre.UseOffsetLimit},
}

// urlRegexKeyword reads one of the url block's regex keywords into r and
// reports whether st was one (check_http.c regex_handler and friends).
// keepalived logs these messages (log_message), it does not count them as
// configuration errors.
func (b *builder) urlRegexKeyword(st *parser.Stmt, r *URLRegex) bool {
	switch st.Name() {
	case "regex":
		raw := st.Raw
		if raw == "" {
			raw = strings.TrimPrefix(st.Text(), st.Name())
		}
		words, err := strvec.SplitQuotedEscaped(raw)
		if se, ok := err.(*strvec.SplitError); ok {
			b.report(st, parser.SevUnmatchedQuote, "%s", se.Msg)
		}
		if len(words) != 1 {
			b.reportGlobal(parser.SevNone, "regex missing or too many fields")
			return true
		}
		r.Regex = words[0]
	case "regex_no_match":
		r.RegexNoMatch = true
	case "regex_options":
		for _, v := range st.Values() {
			for _, o := range RegexOptionNames {
				if v == o.Name {
					r.RegexOptions |= o.Bit
					break
				}
			}
		}
	case "regex_min_offset":
		r.RegexMinOffset = b.regexOffset(st, "min")
	case "regex_max_offset":
		r.RegexMaxOffset = b.regexOffset(st, "max") + 1
	case "regex_stack":
		b.regexStack(st, r)
	default:
		return false
	}
	return true
}

// regexOffset is check_http.c regex_offset_handler: one strtoul value,
// 0 after a message when it is missing or not a number.
func (b *builder) regexOffset(st *parser.Stmt, which string) uint64 {
	if len(st.Args) != 1 {
		b.reportGlobal(parser.SevNone, "Missing or too may options for regex_%s_offset", which)
		return 0
	}
	v, ok := strtoul(st.Args[0].Value())
	if !ok {
		b.reportGlobal(parser.SevNone, "Invalid regex_%s_offset %s specified", which, st.Args[0].Value())
		return 0
	}
	return v
}

// regexStack is check_http.c regex_stack_handler.
func (b *builder) regexStack(st *parser.Stmt, r *URLRegex) {
	if len(st.Args) != 2 {
		b.reportGlobal(parser.SevNone, "regex_stack requires start and max values")
		return
	}
	start, ok := strtoul(st.Args[0].Value())
	if !ok {
		b.reportGlobal(parser.SevNone, "regex_stack invalid start value")
		return
	}
	maxv, ok := strtoul(st.Args[1].Value())
	if !ok {
		b.reportGlobal(parser.SevNone, "regex_stack invalid max value")
		return
	}
	if start > maxv {
		b.reportGlobal(parser.SevNone, "regex stack start cannot exceed max value")
		return
	}
	r.RegexStack = [2]uint64{start, maxv}
	r.RegexUseStack = true
}

// urlRegexEnd is the regex part of check_http.c url_check, run when the
// url block closes: compile the pattern (logging PCRE2's error as
// prepare_regex does), drop settings given without a pattern, and drop
// offsets that leave nothing to match.
func (b *builder) urlRegexEnd(st *parser.Stmt, r *URLRegex) {
	switch {
	case r.Regex != "":
		if _, err := pcre.Compile(r.Regex, r.RegexOptions); err != nil {
			ce, _ := err.(*pcre.CompileError)
			if ce == nil {
				ce = &pcre.CompileError{Msg: err.Error()}
			}
			b.reportGlobal(parser.SevNone, "Invalid regex: '%s' at offset %d: %s", r.Regex, ce.Offset, ce.Msg)
			r.RegexInvalid = true
		}
	case r.RegexOptions != 0 || r.RegexNoMatch || r.RegexMinOffset != 0 || r.RegexMaxOffset != 0 || r.RegexUseStack:
		b.reportGlobal(parser.SevNone, "regex parameters specified without regex")
		*r = URLRegex{}
	}
	if r.RegexMaxOffset != 0 && r.RegexMinOffset >= r.RegexMaxOffset {
		b.reportGlobal(parser.SevNone, "regex min offset %d > regex_max_offset %d - ignoring", r.RegexMinOffset, r.RegexMaxOffset-1)
		r.RegexMinOffset, r.RegexMaxOffset = 0, 0
	}
}

// appendKey adds r to a url's sharing key (see shareHTTP).
func (r *URLRegex) appendKey(str func(string), flag func(bool)) {
	str(r.Regex)
	flag(r.RegexNoMatch)
	flag(r.RegexUseStack)
	flag(r.RegexInvalid)
	for _, v := range []uint64{uint64(r.RegexOptions), r.RegexMinOffset, r.RegexMaxOffset, r.RegexStack[0], r.RegexStack[1]} {
		str(strconv.FormatUint(v, 10))
	}
}

// strtoul is C's strtoul(s, &end, 10) with the check keepalived makes,
// *end == '\0': leading blanks and a sign are allowed, a minus negates
// modulo 2^64, too large a value is ULONG_MAX, and "" is 0.
func strtoul(s string) (uint64, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digits := i
	var v uint64
	over := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		d := uint64(s[i] - '0')
		if v > (^uint64(0)-d)/10 {
			over = true
		}
		v = v*10 + d
		i++
	}
	if i == digits {
		// No digits: strtoul leaves end at the start of s.
		return 0, s == ""
	}
	if i != len(s) {
		return 0, false
	}
	if over {
		return ^uint64(0), true
	}
	if neg {
		v = -v
	}
	return v, true
}
