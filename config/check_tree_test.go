package config

import (
	"strings"
	"testing"

	"keepalived-go/parser"
)

// The checker's keyword tables are keepalived 2.2.7's (the tree generated
// from its install_keyword calls): the same keywords, at the same places,
// in the same order (the first of a name wins), each with a handler.
func TestCheckKeywordTree(t *testing.T) {
	l := &loader{opts: Options{}, cfg: &Config{}}
	l.check = newCheckState(l)
	roots := map[string]bool{"SSL": true, "virtual_server_group": true, "virtual_server": true}
	var ours []string
	var walk func(path string, kws []*parser.Keyword)
	walk = func(path string, kws []*parser.Keyword) {
		for _, k := range kws {
			if k.Handler == nil {
				t.Errorf("%s%s has no handler", path, k.Name)
			}
			ours = append(ours, path+k.Name)
			walk(path+k.Name+" ", k.Sub)
		}
	}
	for _, k := range l.checkKeywords(true) {
		walk("", []*parser.Keyword{k})
	}
	var ref []string
	for _, k := range parser.KeepalivedKeywords() {
		if len(k.Path) == 0 && !roots[k.Name] || len(k.Path) > 0 && !roots[k.Path[0]] {
			continue
		}
		ref = append(ref, strings.Join(append(k.Path, k.Name), " "))
	}
	if strings.Join(ours, "\n") != strings.Join(ref, "\n") {
		t.Errorf("checker keyword tree differs from keepalived's:\n--- ours (%d)\n%s\n--- keepalived (%d)\n%s",
			len(ours), strings.Join(ours, "\n"), len(ref), strings.Join(ref, "\n"))
	}
	// bfd_instance as the checker installs it.
	var bfd []string
	walk = func(path string, kws []*parser.Keyword) {
		for _, k := range kws {
			bfd = append(bfd, path+k.Name)
			walk(path+k.Name+" ", k.Sub)
		}
	}
	walk("", l.check.bfdCheckerKeywords())
	var bref []string
	for _, k := range parser.KeepalivedKeywords() {
		if (len(k.Path) == 0 && k.Name == "bfd_instance") || (len(k.Path) > 0 && k.Path[0] == "bfd_instance") {
			bref = append(bref, strings.Join(append(k.Path, k.Name), " "))
		}
	}
	if strings.Join(bfd, "\n") != strings.Join(bref, "\n") {
		t.Errorf("bfd_instance tree differs:\n%q\n%q", bfd, bref)
	}
}
