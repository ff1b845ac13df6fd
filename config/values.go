package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/participle/v2/lexer"
	"keepalived-go/parser"
)

// Value readers shared by every block. Each reports keepalived-style
// diagnostics at the statement's position and says whether the value is usable.

func toPos(p lexer.Position) Pos {
	return Pos{File: p.Filename, Line: int32(p.Line), Col: int32(p.Column)}
}

type builder struct {
	opts  Options
	diags *parser.Diagnostics
	cfg   *Config

	pendingSMTP      []*VRRPInstance // smtp_alert resolved from global_defs at the end
	missingInterface bool
	interned         map[string]string
	rsPending        []rsInherit
	rsDefaultSMTP    bitset // real servers (by rsSeen) without their own smtp_alert
	rsSeen           int
	nextRulePrio4    int
	nextRulePrio6    int
	ckPending        []ckInherit
	httpScratch      HTTPOptions
	sharedHTTP       map[string]*HTTPOptions
	keyBuf           []byte
}

func (b *builder) report(st *parser.Stmt, sev parser.Severity, format string, args ...any) {
	var p lexer.Position
	if st != nil {
		p = st.Pos
	}
	b.diags.Add(p, sev, format, args...)
}

// reportAt reports without a line, as keepalived does for whole-config checks.
func (b *builder) reportGlobal(sev parser.Severity, format string, args ...any) {
	b.diags.Add(lexer.Position{}, sev, format, args...)
}

func (b *builder) keep(st *parser.Stmt, block string) Setting {
	return Setting{Pos: toPos(st.Pos), Block: block, Keyword: st.Name(), Args: st.Values()}
}

// arg returns argument i, reporting a missing parameter.
func (b *builder) arg(st *parser.Stmt, i int) (string, bool) {
	if i < len(st.Args) {
		return st.Args[i].Value(), true
	}
	b.report(st, parser.SevMissingParameter, "%s: missing parameter", st.Name())
	return "", false
}

func (b *builder) intArg(st *parser.Stmt, i, min, max int) (int, bool) {
	s, ok := b.arg(st, i)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < int64(min) || n > int64(max) {
		b.report(st, parser.SevInvalidNumber, "%s: invalid value '%s' (must be an integer between %d and %d)", st.Name(), s, min, max)
		return 0, false
	}
	return int(n), true
}

// setInt stores argument 0 in *dst when it is an integer in [min, max].
func (b *builder) setInt(st *parser.Stmt, min, max int, dst *int) {
	if n, ok := b.intArg(st, 0, min, max); ok {
		*dst = n
	}
}

// setSeconds stores argument 0, whole seconds in [min, max], in *dst.
func (b *builder) setSeconds(st *parser.Stmt, min, max int, dst *time.Duration) {
	if n, ok := b.intArg(st, 0, min, max); ok {
		*dst = time.Duration(n) * time.Second
	}
}

// parseTimer reads keepalived's decimal seconds (up to microseconds).
func parseTimer(s string) (time.Duration, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 6 {
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

func (b *builder) timerArg(st *parser.Stmt, i int) (time.Duration, bool) {
	s, ok := b.arg(st, i)
	if !ok {
		return 0, false
	}
	d, ok := parseTimer(s)
	if !ok {
		b.report(st, parser.SevInvalidNumber, "%s: invalid time '%s'", st.Name(), s)
	}
	return d, ok
}

// boolOpt reads an optional true/false argument; a bare keyword means true.
func (b *builder) boolOpt(st *parser.Stmt) bool {
	if len(st.Args) == 0 {
		return true
	}
	switch st.Args[0].Value() {
	case "true", "on", "yes":
		return true
	case "false", "off", "no":
		return false
	}
	b.report(st, parser.SevGeneral, "Invalid %s parameter %s", st.Name(), st.Args[0].Value())
	return true
}

func (b *builder) addrArg(st *parser.Stmt, i int) (netip.Addr, bool) {
	s, ok := b.arg(st, i)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		b.report(st, parser.SevGeneral, "%s: invalid address '%s'", st.Name(), s)
		return netip.Addr{}, false
	}
	return a, true
}

func (b *builder) portArg(st *parser.Stmt, i int) (int, bool) {
	return b.intArg(st, i, 0, 65535)
}

// script reads `keyword "command args" [username [groupname]]`.
func (b *builder) script(st *parser.Stmt) *Script {
	cmd, ok := b.arg(st, 0)
	if !ok {
		return nil
	}
	s := &Script{Pos: toPos(st.Pos), Command: cmd, Raw: st.Raw}
	if s.Raw == "" {
		// A statement recovered from a flattened line: rebuild its text.
		s.Raw = strings.TrimPrefix(st.Text(), st.Name()+" ")
	}
	// The user and group are what keepalived's splitter makes of the
	// line (script.Parse), the same reading the script runs with.
	if spec, err := s.Spec(); err == nil {
		s.User, s.Group = spec.User, spec.Group
	}
	return s
}

func boolp(v bool) *bool { return &v }

// bitset is a growable set of small integers.
type bitset []uint64

func (s *bitset) set(i int) {
	for len(*s) <= i/64 {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

func (s bitset) has(i int) bool { return i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

// intern shares one copy of values that repeat across thousands of real
// servers (paths, digests, virtual hosts), and detaches them from the line
// they were read from.
func (b *builder) intern(s string) string {
	if v, ok := b.interned[s]; ok {
		return v
	}
	if b.interned == nil {
		b.interned = map[string]string{}
	}
	s = strings.Clone(s)
	b.interned[s] = s
	return s
}
