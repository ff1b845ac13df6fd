package config

import (
	"strings"
	"testing"
)

func TestSeedDump(t *testing.T) {
	cfg, diags := Load("../testdata/seed/lab-master.conf", Options{Hostname: "node1"})
	var b strings.Builder
	cfg.Dump(&b)
	t.Log(b.String())
	t.Log(diags.String())
}
