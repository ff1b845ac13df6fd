package parser

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// globResult is what keepalived learns from glibc's glob(GLOB_MARK |
// GLOB_BRACE | GLOB_ALTDIRFUNC) through its gl_opendir / gl_lstat hooks
// (open_and_check_glob): the matches, and whether files or directories named
// by the pattern were missing and whether a directory had to be read.
type globResult struct {
	matches       []string
	missingFiles  int
	missingDirs   int
	haveWildcards bool
}

// haveBrace is keepalived's have_brace: an unescaped '{' in the pattern.
func haveBrace(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			return true
		}
	}
	return false
}

// globC globs pattern relative to cwd the way glibc does for keepalived.
func globC(cwd, pattern string) globResult {
	var g globResult
	for _, p := range expandBraces(pattern) {
		g.matches = append(g.matches, g.glob(cwd, p)...)
	}
	return g
}

// expandBraces expands the first top-level {a,b} group (recursively), as
// glibc's GLOB_BRACE does; a pattern with an unmatched brace stays as it is.
func expandBraces(p string) []string {
	open := -1
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 {
		return []string{p}
	}
	depth := 0
	var alts []string
	last := open + 1
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				alts = append(alts, p[last:i])
				var out []string
				for _, a := range alts {
					out = append(out, expandBraces(p[:open]+a+p[i+1:])...)
				}
				return out
			}
		case ',':
			if depth == 1 {
				alts = append(alts, p[last:i])
				last = i + 1
			}
		}
	}
	return []string{p}
}

func hasMeta(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (g *globResult) abs(cwd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}

// glob matches one brace-free pattern; results are sorted per call.
func (g *globResult) glob(cwd, pattern string) []string {
	dir, file := "", pattern
	if i := strings.LastIndexByte(pattern, '/'); i >= 0 {
		dir, file = pattern[:i], pattern[i+1:]
		if dir == "" {
			dir = "/"
		}
	}
	var dirs []string
	if hasMeta(dir) {
		for _, d := range g.glob(cwd, dir) {
			if st, err := os.Stat(g.abs(cwd, d)); err == nil && st.IsDir() {
				dirs = append(dirs, d)
			}
		}
	} else {
		dirs = []string{unescape(dir)}
	}
	var out []string
	for _, d := range dirs {
		out = append(out, g.inDir(cwd, d, file)...)
	}
	sort.Strings(out)
	return out
}

func join(dir, name string) string {
	switch dir {
	case "":
		return name
	case "/":
		return "/" + name
	}
	return dir + "/" + name
}

// inDir is glibc's glob_in_dir with keepalived's hooks.
func (g *globResult) inDir(cwd, dir, pat string) []string {
	if !hasMeta(pat) {
		name := join(dir, unescape(pat))
		if _, err := os.Lstat(g.abs(cwd, name)); err != nil {
			g.missingFiles++
			return nil
		}
		return []string{mark(cwd, g, name)}
	}
	g.haveWildcards = true
	d := dir
	if d == "" {
		d = "."
	}
	ents, err := os.ReadDir(g.abs(cwd, d))
	if err != nil {
		if _, serr := os.Stat(g.abs(cwd, d)); serr != nil {
			g.missingDirs++
		}
		return nil
	}
	fpat := strings.ReplaceAll(pat, "[!", "[^") // fnmatch's negation, in Go's syntax
	var out []string
	for _, e := range ents {
		n := e.Name()
		if n[0] == '.' && pat[0] != '.' {
			continue
		}
		if ok, _ := filepath.Match(fpat, n); ok {
			out = append(out, mark(cwd, g, join(dir, n)))
		}
	}
	return out
}

// mark appends '/' to directories (GLOB_MARK).
func mark(cwd string, g *globResult, name string) string {
	if st, err := os.Stat(g.abs(cwd, name)); err == nil && st.IsDir() {
		return name + "/"
	}
	return name
}
