package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// result is the comparison for one corpus file in -t mode.
type result struct {
	ID         string   `json:"file"`
	Source     string   `json:"source"`
	KA         outcome  `json:"keepalived"`
	Ours       outcome  `json:"ours"`
	Recorded   string   `json:"recorded_verdict,omitempty"`
	Drift      []string `json:"record_drift,omitempty"` // how live keepalived differs from its record
	Excluded   string   `json:"excluded,omitempty"`     // keepalived crashed or hung
	ExitAgree  bool     `json:"exit_agree"`
	SetAgree   bool     `json:"diag_set_agree"`
	OrderAgree bool     `json:"diag_ordered_agree"`
	Reason     string   `json:"reason,omitempty"` // from testdata/compat/KNOWN.tsv
}

func compare(r *result) {
	if !r.KA.usable() {
		r.Excluded = "keepalived " + map[string]string{"signal": "crash (" + r.KA.Signal + ")", "timeout": "hang (timeout)", "error": "did not run: " + r.KA.Err}[r.KA.Status]
		return
	}
	r.ExitAgree = r.KA.verdict() == r.Ours.verdict()
	r.OrderAgree = equal(r.KA.Lines, r.Ours.Lines)
	r.SetAgree = equal(setOf(r.KA.Lines), setOf(r.Ours.Lines))
}

// driftFrom lists how live keepalived differs from its record.
func driftFrom(rec record, o outcome) []string {
	var d []string
	if rec.Verdict != o.verdict() {
		d = append(d, fmt.Sprintf("verdict: recorded %q, now %q", rec.Verdict, o.verdict()))
	}
	if rec.Verdict == "timeout" || o.Status == "timeout" {
		// what a hung run printed before it was killed depends on the
		// machine's speed: only the verdict is compared
		return d
	}
	for _, l := range onlyIn(rec.Lines, o.Lines) {
		d = append(d, "recorded only: "+l)
	}
	for _, l := range onlyIn(o.Lines, rec.Lines) {
		d = append(d, "live only: "+l)
	}
	if len(d) == 0 && !equal(rec.Lines, o.Lines) {
		d = append(d, "same lines, different order")
	}
	return d
}

// known is testdata/compat/KNOWN.tsv: a regular expression on the file's
// report path, a tab, and why that file differs on purpose (or is known
// to).
type known struct {
	re     *regexp.Regexp
	reason string
}

func loadKnown(path string) ([]known, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ks []known
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		pat, reason, ok := strings.Cut(l, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want PATTERN<TAB>REASON", path, n)
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		ks = append(ks, known{re, strings.TrimSpace(reason)})
	}
	return ks, sc.Err()
}

func reasonFor(ks []known, id string) string {
	for _, k := range ks {
		if k.re.MatchString(id) {
			return k.reason
		}
	}
	return ""
}

// tally counts per source.
type tally struct {
	files, excluded, crash, hang, exitAgree, setAgree, orderAgree, drift, noRecord int
}

func (t *tally) add(r result) {
	t.files++
	if len(r.Drift) > 0 {
		t.drift++
	}
	if r.Recorded == "" {
		t.noRecord++
	}
	if r.Excluded != "" {
		t.excluded++
		if r.KA.Status == "signal" {
			t.crash++
		} else if r.KA.Status == "timeout" {
			t.hang++
		}
		return
	}
	if r.ExitAgree {
		t.exitAgree++
	}
	if r.SetAgree {
		t.setAgree++
	}
	if r.OrderAgree {
		t.orderAgree++
	}
}

func pct(n, d int) string {
	if d == 0 {
		return "   -  "
	}
	return fmt.Sprintf("%5.1f%%", 100*float64(n)/float64(d))
}

// category is one kind of difference: a message template, whether it is
// keepalived's only (-), ours only (+) or in both but with other details
// (~), how often it occurs and where.
type category struct {
	Kind     string   `json:"kind"`
	Template string   `json:"template"`
	Count    int      `json:"count"` // lines
	Files    []string `json:"files"` // each file once
}

// categorize groups the differing diagnostic lines of all results by
// message template, most frequent first. A keepalived-only line and an
// ours-only line of one file with the same template count once, as "~"
// (same message, other line number or value).
func categorize(results []result) []category {
	cats := map[string]*category{}
	add := func(kind, tpl, file string) {
		k := kind + "\x00" + tpl
		c := cats[k]
		if c == nil {
			c = &category{Kind: kind, Template: tpl}
			cats[k] = c
		}
		c.Count++
		if len(c.Files) == 0 || c.Files[len(c.Files)-1] != file {
			c.Files = append(c.Files, file)
		}
	}
	for _, r := range results {
		if r.Excluded != "" || (r.SetAgree && r.ExitAgree) {
			continue
		}
		kaOnly := onlyIn(r.KA.Lines, r.Ours.Lines)
		ourOnly := onlyIn(r.Ours.Lines, r.KA.Lines)
		ourTpl := map[string]int{}
		for _, l := range ourOnly {
			ourTpl[template(l)]++
		}
		for _, l := range kaOnly {
			t := template(l)
			if ourTpl[t] > 0 {
				ourTpl[t]--
				add("~", t, r.ID)
				continue
			}
			add("-", t, r.ID)
		}
		for _, l := range ourOnly {
			t := template(l)
			if ourTpl[t] > 0 {
				ourTpl[t]--
				add("+", t, r.ID)
			}
		}
		if !r.ExitAgree {
			add("exit", fmt.Sprintf("keepalived %s, ours %s", r.KA.verdict(), r.Ours.verdict()), r.ID)
		}
	}
	out := make([]category, 0, len(cats))
	for _, c := range cats {
		out = append(out, *c)
	}
	sortCategories(out)
	return out
}

// sortCategories orders categories by how many files they touch, then by
// how many lines.
func sortCategories(out []category) {
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].Files) != len(out[j].Files) {
			return len(out[i].Files) > len(out[j].Files)
		}
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind+out[i].Template < out[j].Kind+out[j].Template
	})
}

// printReport writes the human summary of a -t run.
func printReport(w io.Writer, results []result, verbose bool, maxLines int) {
	bySource := map[string]*tally{}
	var sources []string
	total := &tally{}
	for _, r := range results {
		t := bySource[r.Source]
		if t == nil {
			t = &tally{}
			bySource[r.Source] = t
			sources = append(sources, r.Source)
		}
		t.add(r)
		total.add(r)
	}
	sort.Strings(sources)

	var differing []result
	for _, r := range results {
		if r.Excluded == "" && !(r.ExitAgree && r.SetAgree && r.OrderAgree) {
			differing = append(differing, r)
		}
	}
	if len(differing) > 0 {
		fmt.Fprintf(w, "== files that differ (%d); '-' keepalived only, '+' ours only\n", len(differing))
		for _, r := range differing {
			printDiff(w, r, verbose, maxLines)
		}
	}
	var excluded, drifted []result
	for _, r := range results {
		if r.Excluded != "" {
			excluded = append(excluded, r)
		}
		if len(r.Drift) > 0 {
			drifted = append(drifted, r)
		}
	}
	if len(excluded) > 0 {
		fmt.Fprintf(w, "\n== keepalived crashed or hung (left out of the percentages): %d\n", len(excluded))
		for i, r := range excluded {
			if i == 30 && !verbose {
				fmt.Fprintf(w, "  ... %d more (-v, or the JSON report)\n", len(excluded)-i)
				break
			}
			fmt.Fprintf(w, "  %s: %s; ours: %s\n", r.ID, r.Excluded, r.Ours.verdict())
		}
	}
	if len(drifted) > 0 {
		fmt.Fprintf(w, "\n== WARNING: live keepalived differs from its record on %d files (re-record with -record if intended)\n", len(drifted))
		for _, r := range drifted {
			d := r.Drift
			if len(d) > 3 && !verbose {
				d = append(append([]string(nil), d[:3]...), fmt.Sprintf("... %d more", len(r.Drift)-3))
			}
			fmt.Fprintf(w, "  %s: %s\n", r.ID, strings.Join(d, "; "))
		}
	}
	cats := categorize(results)
	if len(cats) > 0 {
		fmt.Fprintf(w, "\n== differences by message template, most files first (files, lines; - keepalived only, + ours only, ~ both but other details)\n")
		for _, c := range cats {
			ex := c.Files
			if len(ex) > 3 {
				ex = ex[:3]
			}
			fmt.Fprintf(w, "%5d %5d %-4s %s\n                 e.g. %s\n", len(c.Files), c.Count, c.Kind, c.Template, strings.Join(ex, ", "))
		}
	}
	fmt.Fprintf(w, "\n== summary (-t)\n%-16s %6s %6s %6s %6s  %-15s %-15s %-15s\n", "source", "files", "crash", "hang", "drift", "exit agree", "diag set", "diag ordered")
	line := func(name string, t *tally) {
		d := t.files - t.excluded
		fmt.Fprintf(w, "%-16s %6d %6d %6d %6d  %4d %s    %4d %s    %4d %s\n", name, t.files, t.crash, t.hang, t.drift,
			t.exitAgree, pct(t.exitAgree, d), t.setAgree, pct(t.setAgree, d), t.orderAgree, pct(t.orderAgree, d))
	}
	for _, s := range sources {
		line(s, bySource[s])
	}
	line("TOTAL", total)
	d := total.files - total.excluded
	fmt.Fprintf(w, "\nverdict (exit code) agreement: %d/%d = %s (files where keepalived neither crashed nor hung)\n", total.exitAgree, d, strings.TrimSpace(pct(total.exitAgree, d)))
	fmt.Fprintf(w, "diagnostic agreement, as a set:  %d/%d = %s\n", total.setAgree, d, strings.TrimSpace(pct(total.setAgree, d)))
	fmt.Fprintf(w, "diagnostic agreement, in order:  %d/%d = %s\n", total.orderAgree, d, strings.TrimSpace(pct(total.orderAgree, d)))
	if total.noRecord > 0 {
		fmt.Fprintf(w, "files without a record of keepalived's output: %d (make them with -record)\n", total.noRecord)
	}
}

func printDiff(w io.Writer, r result, verbose bool, maxLines int) {
	head := r.ID
	if !r.ExitAgree {
		head += fmt.Sprintf("  [keepalived %s, ours %s]", r.KA.verdict(), r.Ours.verdict())
	}
	if r.SetAgree && !r.OrderAgree {
		head += "  [same lines, other order]"
	}
	if r.Reason != "" {
		head += "  reason: " + r.Reason
	}
	fmt.Fprintln(w, head)
	var lines []string
	for _, l := range onlyIn(r.KA.Lines, r.Ours.Lines) {
		lines = append(lines, "  - "+l)
	}
	for _, l := range onlyIn(r.Ours.Lines, r.KA.Lines) {
		lines = append(lines, "  + "+l)
	}
	if !verbose && len(lines) > maxLines {
		n := len(lines) - maxLines
		lines = append(lines[:maxLines], fmt.Sprintf("  ... %d more (-v shows all)", n))
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTSV writes one line per file: file, source, verdicts, agreement.
func writeTSV(path string, results []result) error {
	var b strings.Builder
	b.WriteString("file\tsource\tkeepalived\tours\texit_agree\tdiag_set_agree\tdiag_ordered_agree\texcluded\treason\n")
	for _, r := range results {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%t\t%t\t%t\t%s\t%s\n", r.ID, r.Source, r.KA.verdict(), r.Ours.verdict(),
			r.ExitAgree, r.SetAgree, r.OrderAgree, r.Excluded, r.Reason)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
