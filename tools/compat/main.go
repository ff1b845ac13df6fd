// Command compat measures keepalived-go against Debian's keepalived 2.2.7 on
// a corpus of configuration files.
//
// The -t mode (default) runs `keepalived -t -f FILE` and ours the same way,
// each in a network namespace with a fixed set of dummy interfaces, compares
// exit codes and normalized diagnostics, and prints agreement per source,
// the files that differ and the differences grouped by message template.
// The dump mode (-mode dump) starts both daemons on every config keepalived
// starts, with addresses moved into the test ranges, asks both for their
// SIGUSR1 data dump and compares the dumps. See tools/compat/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

type config struct {
	mode        string
	record      bool
	fromRecords bool
	runRe       *regexp.Regexp
	jobs        int
	timeout     time.Duration
	kaBin       string
	oursBin     string
	root        string
	report      string
	verbose     bool
	maxLines    int
	sources     []string
	minExit     float64
	minDiag     float64
	minDump     float64
	settleMin   time.Duration
	settleQuiet time.Duration
	settleMax   time.Duration
	retries     int
	keepTmp     bool
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	var c config
	fs := flag.NewFlagSet("compat", flag.ContinueOnError)
	fs.StringVar(&c.mode, "mode", "t", "t: compare `-t` results; dump: compare SIGUSR1 data dumps of running daemons")
	fs.BoolVar(&c.record, "record", false, "write keepalived's output for each file as its record (FILE.keepalived)")
	fs.BoolVar(&c.fromRecords, "from-records", false, "-t mode: compare ours with the records instead of running keepalived")
	run := fs.String("run", "", "only files whose report path matches this regular expression")
	fs.IntVar(&c.jobs, "j", 2, "files run at once")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "time limit of one -t run (beyond it: a hang)")
	fs.StringVar(&c.kaBin, "keepalived", "/usr/sbin/keepalived", "keepalived binary")
	fs.StringVar(&c.oursBin, "ours", "", "our binary (default: build ./cmd/keepalived into bin/keepalived)")
	fs.StringVar(&c.root, "root", "", "repository root (default: found from the working directory)")
	fs.StringVar(&c.report, "report", "/tmp/compat-report", "machine-readable reports: PREFIX.json and PREFIX.tsv")
	fs.BoolVar(&c.verbose, "v", false, "print every differing line")
	fs.IntVar(&c.maxLines, "lines", 8, "differing lines printed per file without -v")
	src := fs.String("sources", "", "comma-separated source kinds to run (default: all)")
	fs.Float64Var(&c.minExit, "min-exit", 0, "fail unless exit codes agree on at least this percentage")
	fs.Float64Var(&c.minDiag, "min-diag", 0, "fail unless diagnostics (as a set) agree on at least this percentage")
	fs.Float64Var(&c.minDump, "min-dump", 0, "dump mode: fail unless dumps agree on at least this percentage")
	fs.DurationVar(&c.settleMin, "settle-min", 2*time.Second, "dump mode: earliest dump after start")
	fs.DurationVar(&c.settleQuiet, "settle-quiet", 1500*time.Millisecond, "dump mode: keepalived's log silent this long means settled")
	fs.DurationVar(&c.settleMax, "settle-max", 15*time.Second, "dump mode: latest dump after start")
	fs.IntVar(&c.retries, "dump-retries", 2, "dump mode: dumps asked for again, a second apart, while the two differ")
	gen := fs.Bool("gen", false, "write testdata/compat/generated/ (one-feature configs per keyword and per validation rule) and exit")
	fs.BoolVar(&c.keepTmp, "keep", false, "keep the temporary directory (extracted and rewritten configs, dumps)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: compat [flags] [FILE|DIR...]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compat: -run:", err)
			return 2
		}
		c.runRe = re
	}
	if *src != "" {
		c.sources = splitComma(*src)
	}
	if *gen {
		root := c.root
		if root == "" {
			r, err := findRoot()
			if err != nil {
				fmt.Fprintln(os.Stderr, "compat:", err)
				return 1
			}
			root = r
		}
		n, err := generate(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compat: -gen:", err)
			return 1
		}
		fmt.Printf("generated %d files in testdata/compat/generated\n", n)
		return 0
	}
	if err := prepare(&c); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "kgcompat-tmp-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	if !c.keepTmp {
		defer os.RemoveAll(tmp)
	} else {
		fmt.Fprintln(os.Stderr, "compat: temporary files in", tmp)
	}
	items, err := loadCorpus(corpusOptions{root: c.root, extractDir: filepath.Join(tmp, "extracted"), files: fs.Args(), sources: c.sources})
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	if c.runRe != nil {
		out := items[:0]
		for _, it := range items {
			if c.runRe.MatchString(it.ID) {
				out = append(out, it)
			}
		}
		items = out
	}
	if len(items) == 0 {
		fmt.Fprintln(os.Stderr, "compat: no corpus file selected")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.mode == "dump" {
		return dumpMode(ctx, c, items, tmp)
	}
	return testMode(ctx, c, items, tmp)
}

// prepare finds the repository root, checks keepalived and builds ours.
func prepare(c *config) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces)")
	}
	if c.root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		c.root = r
	}
	if _, err := os.Stat(c.kaBin); err != nil && !(c.mode == "t" && c.fromRecords) {
		return fmt.Errorf("keepalived: %v (make deps installs it)", err)
	}
	if c.oursBin == "" {
		c.oursBin = filepath.Join(c.root, "bin", "keepalived")
		cmd := exec.Command("go", "build", "-o", c.oursBin, "./cmd/keepalived")
		cmd.Dir = c.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	abs, err := filepath.Abs(c.oursBin)
	if err != nil {
		return err
	}
	c.oursBin = abs
	return nil
}

func findRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("no go.mod above the working directory; use -root")
		}
		d = p
	}
}

// testMode is the -t comparison.
func testMode(ctx context.Context, c config, items []item, tmp string) int {
	known, err := loadKnown(filepath.Join(c.root, "testdata", "compat", "KNOWN.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	pool := newNSPool()
	defer pool.close()
	norm := normalizer{paths: []string{c.oursBin, c.kaBin}, dirs: []string{tmp}}
	results := make([]result, len(items))
	var wg sync.WaitGroup
	next := make(chan int)
	var failed error
	var mu sync.Mutex
	for range max(1, c.jobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := testOne(ctx, c, pool, norm, items[i])
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
				r.Reason = reasonFor(known, r.ID)
				results[i] = r
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "compat: interrupted")
		return 1
	}
	if failed != nil {
		fmt.Fprintln(os.Stderr, "compat:", failed)
		return 1
	}
	printReport(os.Stdout, results, c.verbose, c.maxLines)
	cats := categorize(results)
	if err := writeJSON(c.report+".json", map[string]any{"mode": "t", "results": results, "categories": cats}); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
	}
	if err := writeTSV(c.report+".tsv", results); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
	}
	fmt.Printf("reports: %s.json, %s.tsv\n", c.report, c.report)
	return gate(results, c)
}

func testOne(ctx context.Context, c config, pool *nsPool, norm normalizer, it item) (result, error) {
	r := result{ID: it.ID, Source: it.Source}
	ifaces := it.Ifaces
	if ifaces == nil {
		ifaces = standardIfaces
	}
	ns, err := pool.get(ifaces)
	if err != nil {
		return r, err
	}
	rec, haveRec := readRecord(it.Record)
	if haveRec {
		r.Recorded = rec.Verdict
	}
	if c.fromRecords {
		if !haveRec {
			r.KA = outcome{Status: "error", Err: "no record"}
		} else {
			r.KA = outcomeFromRecord(rec)
		}
	} else {
		r.KA = runConfigTest(ctx, c.kaBin, ns, it, c.timeout, norm)
		if c.record {
			if err := writeRecord(it.Record, r.KA); err != nil {
				return r, err
			}
			r.Recorded = r.KA.verdict()
		} else if haveRec {
			r.Drift = driftFrom(rec, r.KA)
		}
	}
	r.Ours = runConfigTest(ctx, c.oursBin, ns, it, c.timeout, norm)
	compare(&r)
	return r, nil
}

func outcomeFromRecord(rec record) outcome {
	o := outcome{Lines: rec.Lines}
	var n int
	var s string
	switch {
	case rec.Verdict == "timeout":
		o.Status = "timeout"
	case scan(rec.Verdict, "exit %d", &n):
		o.Status, o.Code = "exit", n
	case scan(rec.Verdict, "signal %s", &s):
		o.Status, o.Signal = "signal", s
	default:
		o.Status, o.Err = "error", "bad record "+rec.Verdict
	}
	return o
}

func scan(s, format string, args ...any) bool {
	n, err := fmt.Sscanf(s, format, args...)
	return err == nil && n == len(args)
}

// gate applies -min-exit and -min-diag.
func gate(results []result, c config) int {
	t := &tally{}
	for _, r := range results {
		t.add(r)
	}
	d := float64(t.files - t.excluded)
	if d == 0 {
		return 0
	}
	if e := 100 * float64(t.exitAgree) / d; e < c.minExit {
		fmt.Printf("FAIL: exit agreement %.1f%% < %.1f%%\n", e, c.minExit)
		return 1
	}
	if s := 100 * float64(t.setAgree) / d; s < c.minDiag {
		fmt.Printf("FAIL: diagnostic agreement %.1f%% < %.1f%%\n", s, c.minDiag)
		return 1
	}
	return 0
}

func splitComma(s string) []string {
	var out []string
	for _, f := range regexp.MustCompile(`\s*,\s*`).Split(s, -1) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}
