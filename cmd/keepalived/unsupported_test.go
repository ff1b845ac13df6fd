package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
)

// Each keyword the file uses that nothing acts on is logged once, with
// its file and line and the reason, at start; a reload logs it no more.
// What is acted on is not named, nor is -X (without effect in
// keepalived 2.2.7 too).
func TestReportUnsupported(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	os.WriteFile(conf, []byte(`global_defs {
  router_id UNSUP
  vrrp_priority -5
  random_seed 42
  vrrp_startup_delay 1
}
`), 0o644)
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	d := newDaemon(options{useFile: conf, releaseVIPs: true}, log, config.Options{})
	cfg, err := d.load(false)
	if err != nil {
		t.Fatal(err)
	}
	d.reportUnsupported(cfg)
	d.reportUnsupported(cfg)
	out := buf.String()
	for _, want := range []string{
		"not supported yet, ignored: global_defs random_seed (" + conf + ":4): keepalived seeds its random()",
		"not supported yet, ignored: global_defs vrrp_priority (" + conf + ":3): " + whyOneProcess,
	} {
		if strings.Count(out, want) != 1 {
			t.Errorf("want once %q in:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "not supported yet"); n != 2 {
		t.Errorf("%d lines, want 2:\n%s", n, out)
	}
}
