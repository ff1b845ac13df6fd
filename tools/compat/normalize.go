package main

import (
	"regexp"
	"sort"
	"strings"
)

// normalizer turns a program's stderr into comparable diagnostic lines.
type normalizer struct {
	paths []string // strings replaced by "keepalived" (binary paths)
	dirs  []string // strings replaced by "<dir>" (temporary directories)
}

var (
	// "Mon Jan  2 15:04:05 2006: " as keepalived -l prints with timestamps,
	// and RFC 3339 stamps some loggers use.
	tsPrefixRe = regexp.MustCompile(`^(?:[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4}: |\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)? )`)
	// keepalived's process-name prefixes (Keepalived_vrrp[123]: ).
	procPrefixRe = regexp.MustCompile(`^(?:Keepalived|keepalived)(?:_[a-z]+)?(?:\[\d+\])?: `)
	pidRes       = []*regexp.Regexp{
		regexp.MustCompile(`\bprocess\(\d+\)`),
		regexp.MustCompile(`\bpid[ =:]+\d+`),
		regexp.MustCompile(`\[\d+\]`),
	}
)

// lines normalizes stderr: blank lines and trailing blanks dropped,
// timestamps, process prefixes, pids, binary paths and temporary
// directories masked. Order is kept.
func (n normalizer) lines(raw string) []string {
	var out []string
	for _, l := range strings.Split(raw, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		l = tsPrefixRe.ReplaceAllString(l, "")
		l = procPrefixRe.ReplaceAllString(l, "")
		for _, re := range pidRes {
			l = re.ReplaceAllStringFunc(l, maskDigits)
		}
		for _, p := range n.paths {
			if p != "" {
				l = strings.ReplaceAll(l, p, "keepalived")
			}
		}
		for _, d := range n.dirs {
			if d != "" {
				l = strings.ReplaceAll(l, d, "<dir>")
			}
		}
		out = append(out, l)
	}
	return out
}

func maskDigits(s string) string {
	return regexp.MustCompile(`\d+`).ReplaceAllString(s, "<pid>")
}

// setOf is the sorted set of lines (duplicates dropped).
func setOf(lines []string) []string {
	m := map[string]bool{}
	for _, l := range lines {
		m[l] = true
	}
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// onlyIn returns the lines of a that b lacks, counting duplicates
// (multiset difference), in a's order.
func onlyIn(a, b []string) []string {
	have := map[string]int{}
	for _, l := range b {
		have[l]++
	}
	var out []string
	for _, l := range a {
		if have[l] > 0 {
			have[l]--
			continue
		}
		out = append(out, l)
	}
	return out
}

var (
	posPrefixRe = regexp.MustCompile(`^\((?:[^():]+: )?Line \d+\)\s*`)
	quotedRe    = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	ip6Re       = regexp.MustCompile(`[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:/\d+)?`)
	ip4Re       = regexp.MustCompile(`\b\d{1,3}(?:\.\d{1,3}){1,3}\.?(?:/\d+)?\b`)
	nameParenRe = regexp.MustCompile(`^\(([^()\s]+)\)`)
	numTokRe    = regexp.MustCompile(`-?\b\d+(?:\.\d+)?\b`)
	afterWordRe = regexp.MustCompile(`\b(interface|script|instance|group|vrrp_script|vrrp_instance|track_file|file|process|server|checker|VRRP_Instance|sync group|bfd|table|user|fifo|name|keyword|address|ip address|device|realm|protocol)( +)([^\s,:'"()]+)`)
)

// template reduces a diagnostic to its message template: positions, quoted
// strings, addresses, numbers and the names after a few words keepalived
// uses to name things (interface X, script X...) replaced by placeholders.
func template(l string) string {
	l = strings.TrimSpace(l)
	l = posPrefixRe.ReplaceAllString(l, "")
	l = quotedRe.ReplaceAllString(l, "'*'")
	l = ip6Re.ReplaceAllStringFunc(l, func(m string) string {
		if strings.Contains(m, "::") || strings.Count(m, ":") >= 3 {
			return "<ip>"
		}
		return m
	})
	l = ip4Re.ReplaceAllString(l, "<ip>")
	l = nameParenRe.ReplaceAllString(l, "(<name>)")
	l = afterWordRe.ReplaceAllString(l, "$1$2<x>")
	l = numTokRe.ReplaceAllString(l, "<n>")
	return l
}
