package config

import (
	"os"
	"path/filepath"
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

// KeywordPos names where each keyword the file uses first appears, by its
// block path, so the daemon can point at a setting it does not act on.
func TestKeywordPos(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k.conf")
	conf := "global_defs {\n  router_id r1\n  vrrp_startup_delay 2\n}\nvrrp_instance A {\n  interface lo\n  virtual_router_id 1\n" +
		"  notify_priority_changes\n  virtual_ipaddress {\n    198.51.100.1/24\n  }\n}\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := Load(path, Options{Hostname: "h"})
	for key, line := range map[string]int32{
		"global_defs vrrp_startup_delay":        3,
		"vrrp_instance":                         5,
		"vrrp_instance notify_priority_changes": 8,
	} {
		if p, ok := cfg.KeywordPos[key]; !ok || p.Line != line || p.File != path {
			t.Errorf("%s: %+v %v, want line %d", key, p, ok, line)
		}
	}
	if _, ok := cfg.KeywordPos["global_defs startup_script"]; ok {
		t.Error("a keyword the file does not use has a position")
	}
}
