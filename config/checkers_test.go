package config

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The kinds register from their own files; the real server's keyword
// table keeps install_checkers_keyword's order.
func TestCheckerKindsOrder(t *testing.T) {
	want := []CheckerKind{MiscCheck, SMTPCheck, TCPCheck, PingCheck, UDPCheck, HTTPGet, SSLGet, DNSCheck, FileCheck, BFDCheck}
	if got := CheckerKinds(); !slices.Equal(got, want) {
		t.Fatalf("CheckerKinds() = %v, want %v", got, want)
	}
	var s checkState
	var names []string
	for _, k := range s.checkerKeywords() {
		names = append(names, k.Name)
	}
	if got := strings.Join(names, " "); got != "MISC_CHECK SMTP_CHECK TCP_CHECK PING_CHECK UDP_CHECK HTTP_GET SSL_GET DNS_CHECK FILE_CHECK BFD_CHECK" {
		t.Fatalf("checker keywords %s", got)
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
