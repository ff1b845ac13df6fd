package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// standardIfaces is the interface set of the namespace every -t run uses
// unless a file asks for another one ("# compat-ifaces: ..."). It holds the
// names the public corpus uses most; names a config uses to show what happens
// with a missing interface (eth9, eth0.1, wlan0, p33p1...) are left out on
// purpose. Changing it changes keepalived's recorded outputs: re-record.
var standardIfaces = []string{
	"eth0", "eth1", "eth2", "eth3", "eth4",
	"ens3", "ens4", "ens18", "ens33", "ens160", "ens192", "ens224",
	"enp0s3", "enp0s8", "em1", "bond0", "br0",
}

// item is one corpus file to run.
type item struct {
	ID     string   // path shown in reports: relative to the repository, or <source>/<name> for files read at run time
	Source string   // source kind (the corpus subfolder, or debian-samples, man5, synopsis, configs, seed)
	Path   string   // absolute path of the file to run
	Record string   // absolute path of keepalived's recorded output
	Args   []string // extra arguments from "# keepalived-args:"
	Ifaces []string // interface set from "# compat-ifaces:"; nil means standardIfaces
	NoDump string   // why the dump mode skips the file ("# compat-nodump: reason"), if it does
}

// recordPath is where keepalived's output for a corpus file is kept: the
// file name without a .conf suffix, plus .keepalived, in dir.
func recordPath(dir, name string) string {
	return filepath.Join(dir, strings.TrimSuffix(name, ".conf")+".keepalived")
}

var (
	argsRe   = regexp.MustCompile(`^[#!]\s*keepalived-args:\s*(.*)$`)
	ifacesRe = regexp.MustCompile(`^[#!]\s*compat-ifaces:\s*(.*)$`)
	nodumpRe = regexp.MustCompile(`^[#!]\s*compat-nodump:\s*(.*)$`)
)

// readHeaders fills Args, Ifaces and NoDump from the file's header comments
// (any comment line among its first 30 lines).
func readHeaders(it *item) error {
	f, err := os.Open(it.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 0; n < 30 && sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if m := argsRe.FindStringSubmatch(l); m != nil {
			it.Args = append(it.Args, strings.Fields(m[1])...)
		}
		if m := ifacesRe.FindStringSubmatch(l); m != nil {
			it.Ifaces = parseIfaceHeader(m[1])
		}
		if m := nodumpRe.FindStringSubmatch(l); m != nil {
			it.NoDump = strings.TrimSpace(m[1])
		}
	}
	return sc.Err()
}

// parseIfaceHeader reads "# compat-ifaces:": a list of names replacing the
// standard set, "none" for no interface, or +name/-name edits of the
// standard set.
func parseIfaceHeader(v string) []string {
	set := []string{}
	edits := false
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "+") || strings.HasPrefix(f, "-") {
			edits = true
		}
	}
	if edits {
		set = append(set, standardIfaces...)
	}
	for _, f := range strings.Fields(v) {
		switch {
		case f == "none":
		case strings.HasPrefix(f, "+"):
			set = append(set, f[1:])
		case strings.HasPrefix(f, "-"):
			out := set[:0]
			for _, s := range set {
				if s != f[1:] {
					out = append(out, s)
				}
			}
			set = out
		default:
			set = append(set, f)
		}
	}
	return set
}

// corpusOptions say where the corpus is.
type corpusOptions struct {
	root       string   // repository root
	extractDir string   // where files read at run time are written (man page, synopsis)
	files      []string // explicit files or directories instead of the default corpus
	sources    []string // only these source kinds (nil: all)
}

// loadCorpus lists every corpus file: the project's testdata/configs and
// testdata/seed, Debian's installed samples, the configs extracted from
// Debian's keepalived.conf(5) and keepalived.conf.SYNOPSIS, and
// testdata/compat/<source>/.
func loadCorpus(o corpusOptions) ([]item, error) {
	var items []item
	add := func(it item) error {
		if err := readHeaders(&it); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	}
	compat := filepath.Join(o.root, "testdata", "compat")
	if len(o.files) > 0 {
		for _, f := range o.files {
			its, err := explicitItems(o.root, f)
			if err != nil {
				return nil, err
			}
			for _, it := range its {
				if err := add(it); err != nil {
					return nil, err
				}
			}
		}
		return items, nil
	}
	for _, g := range []struct{ source, glob string }{
		{"configs", filepath.Join(o.root, "testdata", "configs", "*.conf")},
		{"seed", filepath.Join(o.root, "testdata", "seed", "*.conf")},
	} {
		m, _ := filepath.Glob(g.glob)
		for _, p := range m {
			if err := add(item{ID: rel(o.root, p), Source: g.source, Path: p, Record: recordPath(filepath.Dir(p), filepath.Base(p))}); err != nil {
				return nil, err
			}
		}
	}
	samples, _ := filepath.Glob(filepath.Join(debianSamples, "keepalived.conf.*"))
	for _, p := range samples {
		name := filepath.Base(p)
		if err := add(item{ID: "debian-samples/" + name, Source: "debian-samples", Path: p,
			Record: recordPath(filepath.Join(compat, "debian-samples"), name)}); err != nil {
			return nil, err
		}
	}
	extracted, err := extractDocs(o.extractDir)
	if err != nil {
		return nil, err
	}
	for _, e := range extracted {
		if err := add(item{ID: e.source + "/" + e.name, Source: e.source, Path: e.path,
			Record: recordPath(filepath.Join(compat, e.source), e.name)}); err != nil {
			return nil, err
		}
	}
	walked, err := walkCompat(o.root, compat)
	if err != nil {
		return nil, err
	}
	for _, it := range walked {
		if err := add(it); err != nil {
			return nil, err
		}
	}
	return filterSources(items, o.sources), nil
}

const debianSamples = "/usr/share/doc/keepalived/samples"

// walkCompat lists testdata/compat/<source>/**/*.conf. Files under a
// directory named "include" are pieces other files include, not corpus
// entries.
func walkCompat(root, dir string) ([]item, error) {
	var items []item
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			if d.Name() == "include" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".conf") {
			return nil
		}
		items = append(items, item{ID: rel(root, p), Source: sourceOf(root, p), Path: p, Record: recordPath(filepath.Dir(p), filepath.Base(p))})
		return nil
	})
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return items, err
}

// explicitItems turns a file or directory named on the command line into
// corpus items (a directory: its *.conf files, recursively).
func explicitItems(root, f string) ([]item, error) {
	abs, err := filepath.Abs(f)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return walkCompat(root, abs)
	}
	return []item{{ID: rel(root, abs), Source: sourceOf(root, abs), Path: abs, Record: recordPath(filepath.Dir(abs), filepath.Base(abs))}}, nil
}

// sourceOf is the source kind of a corpus file: its first folder under
// testdata/compat, else the name of its folder.
func sourceOf(root, p string) string {
	compat := filepath.Join(root, "testdata", "compat")
	if r, err := filepath.Rel(compat, p); err == nil && !strings.HasPrefix(r, "..") && strings.Contains(r, string(filepath.Separator)) {
		return strings.SplitN(r, string(filepath.Separator), 2)[0]
	}
	return filepath.Base(filepath.Dir(p))
}

func filterSources(items []item, sources []string) []item {
	if len(sources) == 0 {
		return items
	}
	keep := map[string]bool{}
	for _, s := range sources {
		keep[s] = true
	}
	out := items[:0]
	for _, it := range items {
		if keep[it.Source] {
			out = append(out, it)
		}
	}
	return out
}

func rel(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return p
	}
	return r
}

// ifaceKey names an interface set (the namespace cache key).
func ifaceKey(set []string) string {
	s := append([]string(nil), set...)
	sort.Strings(s)
	return fmt.Sprint(s)
}
