package nftfw

import (
	"regexp"
	"sort"
	"strings"
)

var counterRE = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// Canonical rewrites `nft -y list ruleset` output (priorities as numbers)
// into the form Ruleset.String prints: counters without their numbers and
// each element list on one line, sorted. Two rulesets that differ only in
// counts or in the order nft happened to list elements come out the same.
func Canonical(nft string) string {
	nft = counterRE.ReplaceAllString(nft, "counter")
	var out []string
	lines := strings.Split(nft, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "elements = {") {
			out = append(out, l)
			continue
		}
		indent := l[:len(l)-len(strings.TrimLeft(l, "\t "))]
		body := strings.TrimPrefix(t, "elements = {")
		for !strings.HasSuffix(strings.TrimSpace(body), "}") && i+1 < len(lines) {
			i++
			body += " " + strings.TrimSpace(lines[i])
		}
		body = strings.TrimSuffix(strings.TrimSpace(body), "}")
		var els []string
		for _, e := range strings.Split(body, ",") {
			if e = strings.TrimSpace(e); e != "" {
				els = append(els, e)
			}
		}
		sort.Strings(els)
		out = append(out, indent+"elements = { "+strings.Join(els, ", ")+" }")
	}
	return strings.Join(out, "\n")
}
