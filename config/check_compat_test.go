package config

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"keepalived-go/parser"
)

// The checker's configuration against Debian's keepalived 2.2.7: every
// testdata/compat-check/NAME.conf has NAME.want, keepalived -t's stderr and
// exit status recorded on this kind of machine (no keepalived_script user,
// /bin/true present). go test -run CheckCompat -record rewrites them from
// the installed keepalived.
//
// testdata/compat-check/pending holds configs whose output also depends on
// handlers ported separately: bfd_instance in the VRRP and BFD passes, and
// the track_file blocks FILE_CHECK names (config/trackfile.go). Their
// recorded output is compared with the checker pass alone, which is all
// keepalived prints for them; the file-* cases need trackfile.go's
// handlers to agree.

var record = flag.Bool("record", false, "rewrite testdata/compat-check/*.want from the installed keepalived")

const compatDir = "../testdata/compat-check"

func compatCases(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no configs in %s", dir)
	}
	return m
}

// ourOutput is what our keepalived -t prints for a config in dir.
func ourOutput(dir, file string, checkerOnly bool) string {
	opts := Options{Hostname: "node1", ConfigTest: true, Parser: parser.Options{ConfigID: "node1", Dir: dir}}
	var diags *parser.Diagnostics
	if checkerOnly {
		_, diags = loadCheckerOnly(file, opts)
	} else {
		_, diags = Load(file, opts)
	}
	return diags.String() + fmt.Sprintf("exit %d\n", diags.ExitCode())
}

// loadCheckerOnly is Load up to the checker process's validation; seed,
// when set, prepares the loader first (tests).
func loadCheckerOnly(path string, opts Options, seed ...func(*loader)) (*Config, *parser.Diagnostics) {
	diags := &parser.Diagnostics{}
	l := &loader{opts: opts, diags: diags, cfg: &Config{Files: []string{path}}}
	l.users = newUserDB(opts)
	for _, f := range seed {
		f(l)
	}
	if !l.checkConfFile(path) {
		return l.cfg, diags
	}
	l.cfg.Global = defaultGlobal(l.opts)
	l.g.init(l)
	r := parser.OpenFiles(path, l.opts.Parser, l.diags)
	if !l.runPass(passParent, r) || r.FileError() {
		return l.cfg, diags
	}
	l.initGlobalData()
	l.startStopScripts()
	l.check = newCheckState(l)
	if l.runPass(passChecker, parser.OpenCopy(r.Copy(path), l.opts.Parser, l.diags)) {
		l.check.validate()
	}
	return l.cfg, diags
}

// keepalivedOutput runs Debian's keepalived -t on a config.
func keepalivedOutput(t *testing.T, ka, dir, file string) string {
	t.Helper()
	cmd := exec.Command(ka, "-t", "-f", file)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("keepalived -t %s: %v", file, err)
	}
	return stderr.String() + fmt.Sprintf("exit %d\n", code)
}

func wantOf(t *testing.T, conf string) string {
	t.Helper()
	b, err := os.ReadFile(strings.TrimSuffix(conf, ".conf") + ".want")
	if err != nil {
		t.Fatalf("%v (record with go test ./config -run CheckCompat -record)", err)
	}
	return string(b)
}

// TestCheckCompatRecorded compares our -t with keepalived's recorded -t.
func TestCheckCompatRecorded(t *testing.T) {
	if *record {
		recordCompat(t)
	}
	for _, set := range []struct {
		dir         string
		checkerOnly bool
	}{{compatDir, false}, {filepath.Join(compatDir, "pending"), true}} {
		agree := 0
		cases := compatCases(t, set.dir)
		for _, conf := range cases {
			want := wantOf(t, conf)
			got := ourOutput(set.dir, filepath.Base(conf), set.checkerOnly)
			if got != want {
				note := ""
				if set.checkerOnly && strings.HasPrefix(filepath.Base(conf), "file-") {
					note = " (needs the track_file handlers of config/trackfile.go)"
				}
				t.Errorf("%s%s:\n--- keepalived\n%s--- ours\n%s", filepath.Base(conf), note, want, got)
				continue
			}
			agree++
		}
		t.Logf("%s: %d/%d configs agree", set.dir, agree, len(cases))
	}
}

func recordCompat(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Fatalf("-record needs Debian's keepalived: %v", err)
	}
	for _, dir := range []string{compatDir, filepath.Join(compatDir, "pending")} {
		for _, conf := range compatCases(t, dir) {
			out := keepalivedOutput(t, ka, dir, filepath.Base(conf))
			if err := os.WriteFile(strings.TrimSuffix(conf, ".conf")+".want", []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCheckCompatKeepalived runs Debian's keepalived and our binary on every
// config: keepalived must still print what was recorded, and ours what
// keepalived prints.
func TestCheckCompatKeepalived(t *testing.T) {
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("Debian's keepalived is not installed (scripts/deps.sh)")
	}
	if os.Geteuid() != 0 {
		t.Skip("keepalived -t checks scripts as root")
	}
	ours := filepath.Join(t.TempDir(), "keepalived")
	if out, err := exec.Command("go", "build", "-o", ours, "../cmd/keepalived").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	agree, total := 0, 0
	for _, dir := range []string{compatDir, filepath.Join(compatDir, "pending")} {
		for _, conf := range compatCases(t, dir) {
			file := filepath.Base(conf)
			got := keepalivedOutput(t, ka, dir, file)
			if want := wantOf(t, conf); got != want {
				t.Errorf("%s: keepalived no longer prints the recorded output:\n--- recorded\n%s--- now\n%s", file, want, got)
			}
			if dir != compatDir {
				continue // needs passes ported elsewhere; compared above
			}
			total++
			if o := keepalivedOutput(t, ours, dir, file); o != got {
				t.Errorf("%s:\n--- keepalived\n%s--- ours\n%s", file, got, o)
				continue
			}
			agree++
		}
	}
	t.Logf("%d/%d configs: our binary prints what keepalived prints", agree, total)
}
