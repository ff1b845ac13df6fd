package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"keepalived-go/parser"
)

// The kinds register from their own files; CheckerKinds and the real
// server's keyword table list them in install_checkers_keyword's order:
// the checker blocks of real_server in keepalived's keyword tree.
func TestCheckerKindsOrder(t *testing.T) {
	var want []string
	for _, k := range parser.KeepalivedKeywords() {
		if strings.Join(k.Path, " ") == "virtual_server real_server" &&
			(strings.HasSuffix(k.Name, "_CHECK") || strings.HasSuffix(k.Name, "_GET")) {
			want = append(want, k.Name)
		}
	}
	var kinds []string
	for _, k := range CheckerKinds() {
		kinds = append(kinds, string(k))
	}
	var s checkState
	var names []string
	for _, k := range s.checkerKeywords() {
		names = append(names, k.Name)
	}
	if !slices.Equal(kinds, want) || !slices.Equal(names, want) {
		t.Fatalf("CheckerKinds() %v, keywords %v; keepalived installs %v", kinds, names, want)
	}
}

// Each kind's options are read through its accessor, nil for another
// kind; the dump shows them under the kind's name.
func TestCheckerOptionsAccessorsAndDump(t *testing.T) {
	ck := &Checker{Kind: HTTPGet, Options: &HTTPOptions{Protocol: "1.1", URLs: []URL{{Path: "/x"}}}}
	if ck.HTTPOpts() == nil || ck.MiscOpts() != nil || ck.UDPOpts() != nil || ck.DNSOpts() != nil ||
		ck.SMTPOpts() != nil || ck.FileOpts() != nil || ck.BFDOpts() != nil {
		t.Fatalf("accessors of an HTTP_GET: %+v", ck)
	}
	cfg := &Config{VirtualServers: []*VirtualServer{{RealServers: []*RealServer{{Checkers: []*Checker{ck, {Kind: TCPCheck}}}}}}}
	var b bytes.Buffer
	cfg.Dump(&b)
	for _, want := range []string{"      Kind: \"HTTP_GET\"\n      HTTP: \n        URLs: \n          Path: \"/x\"\n        Protocol: \"1.1\"\n",
		"      Kind: \"TCP_CHECK\"\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, b.String())
		}
	}
}
