package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"keepalived-go/parser"
)

var update = flag.Bool("update", false, "rewrite the golden dumps in testdata/golden")

// TestGoldenDumps pins the model (defaults, inheritance) of every config in
// testdata: each dump lives beside the others in testdata/golden.
func TestGoldenDumps(t *testing.T) {
	var files []string
	for _, g := range []string{"../testdata/configs/*.conf", "../testdata/seed/*.conf"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 44 {
		t.Fatalf("only %d configs in testdata", len(files))
	}
	for _, f := range files {
		cfg, diags := Load(f, Options{Hostname: "node1", Parser: parser.Options{ConfigID: "node1"}})
		var b strings.Builder
		cfg.Dump(&b)
		b.WriteString("--- diagnostics\n")
		for _, d := range diags.List {
			b.WriteString(d.Keepalived() + "\n")
		}
		golden := filepath.Join("../testdata/golden", filepath.Base(f)+".dump")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (run go test ./config -update)", f, err)
			continue
		}
		if string(want) != b.String() {
			t.Errorf("%s: dump differs from %s (run go test ./config -update and read the diff)", f, golden)
		}
	}
}

// The flattened seed must give exactly the model of the laid-out one.
func TestFlattenedSeedSameModel(t *testing.T) {
	for _, n := range []string{"master", "backup", "lab-master", "lab-backup"} {
		var a, b strings.Builder
		ca, _ := Load("../testdata/seed/"+n+".conf", Options{Hostname: "node1"})
		cb, _ := Load("../testdata/seed/"+n+".flat.conf", Options{Hostname: "node1"})
		ca.Dump(&a)
		cb.Dump(&b)
		if a.String() != b.String() {
			t.Errorf("%s: flattened model differs:\n%s\n---\n%s", n, a.String(), b.String())
		}
		if !strings.Contains(b.String(), `Protocol: "TCP"`) || !strings.Contains(b.String(), "keepalive.example.org") {
			t.Errorf("%s: flattened file lost protocol TCP or the virtualhost", n)
		}
	}
}

// Script text reaches notify as written, so keepalived's own splitting
// (escapes, inner quotes, user and group) can be applied to it.
func TestScriptRawText(t *testing.T) {
	cfg, _ := Load("../testdata/seed/lab-master.conf", Options{Hostname: "node1"})
	if got := cfg.Instances[0].NotifyMaster.Raw; got != `"/etc/keepalived/redirect.sh del 198.51.100.10"` {
		t.Errorf("laid-out raw = %q", got)
	}
	flat, _ := Load("../testdata/seed/lab-master.flat.conf", Options{Hostname: "node1"})
	if got := flat.Instances[0].NotifyMaster.Raw; got != `"/etc/keepalived/redirect.sh del 198.51.100.10"` {
		t.Errorf("flattened raw = %q", got)
	}
}
