package config

import (
	"sort"
	"strings"
	"testing"

	"keepalived-go/parser"
)

// ourKeywordTree lists every keyword our tables install, with its path, as
// the four keepalived processes install them (each root keyword taken from
// the process that reads it).
func ourKeywordTree() map[string]bool {
	l := &loader{opts: Options{}, diags: &parser.Diagnostics{}, cfg: &Config{}}
	l.users = newUserDB(l.opts)
	l.check = newCheckState(l)
	l.vrrp = newVRRPState(l)
	l.bfd = newBFDState(l)
	seen := map[string]bool{}
	var walk func(path []string, kws []*parser.Keyword)
	walk = func(path []string, kws []*parser.Keyword) {
		for _, k := range kws {
			if k.Inactive {
				continue
			}
			p := append(append([]string(nil), path...), k.Name)
			seen[strings.Join(p, " ")] = true
			walk(p, k.Sub)
		}
	}
	for _, ps := range []pass{passParent, passChecker, passVRRP, passBFD} {
		walk(nil, l.rootKeywords(ps))
	}
	return seen
}

// TestEveryKeywordHasAHandler: every keyword of keepalived 2.2.7's tree
// (generated from its install_keyword calls, parser/keywords_gen.go) is in
// our tables, where keepalived installs it.
func TestEveryKeywordHasAHandler(t *testing.T) {
	ours := ourKeywordTree()
	var missing []string
	for _, k := range parser.KeepalivedKeywords() {
		p := strings.Join(append(k.Path, k.Name), " ")
		if !ours[p] {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d keywords of keepalived 2.2.7 have no handler:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// TestNoKeywordKeepalivedLacks: our tables add nothing keepalived does not
// install, except our own global_defs keywords (which keepalived reports
// as unknown) and the keywords the tree generator could not see.
func TestNoKeywordKeepalivedLacks(t *testing.T) {
	ref := map[string]bool{}
	for _, k := range parser.KeepalivedKeywords() {
		ref[strings.Join(append(k.Path, k.Name), " ")] = true
	}
	ours := map[string]bool{"global_defs lvs_backend": true, "global_defs metrics_listen": true, "global_defs strict_keywords": true,
		// old_unicast_checksum: Debian's build has OLD_CHKSUM_COMPAT
		// (keepalived -v), which the generator's #ifdef evaluation missed.
		"vrrp_instance old_unicast_checksum": true}
	var extra []string
	for p := range ourKeywordTree() {
		if !ref[p] && !ours[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%d keywords in our tables that keepalived 2.2.7 does not install:\n%s", len(extra), strings.Join(extra, "\n"))
	}
}
