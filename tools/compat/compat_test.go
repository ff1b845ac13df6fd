package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNormalizerMasksVolatileParts(t *testing.T) {
	n := normalizer{paths: []string{"/tmp/x/bin/keepalived"}, dirs: []string{"/tmp/kgcompat-tmp-1"}}
	got := n.lines("Mon Jan  2 15:04:05 2006: Keepalived_vrrp[4242]: Printing VRRP data for process(4242) on signal\n\n" +
		"/tmp/x/bin/keepalived: unknown option   \n(/tmp/kgcompat-tmp-1/a.conf: Line 3) Unknown keyword 'x'\n")
	want := []string{
		"Printing VRRP data for process(<pid>) on signal",
		"keepalived: unknown option",
		"(<dir>/a.conf: Line 3) Unknown keyword 'x'",
	}
	if !equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestTemplateGroupsMessages(t *testing.T) {
	same := [][2]string{
		{"(a.conf: Line 7) WARNING - interface eth1 for vrrp_instance VI_3 doesn't exist", "(b.conf: Line 70) WARNING - interface ens3 for vrrp_instance X doesn't exist"},
		{"(Line 3) Unknown keyword 'prempt'", "(x.conf: Line 9) Unknown keyword 'nb_get_retry'"},
		{"(VI_1) Initial state master is incompatible with AH authentication - clearing", "(LB) Initial state master is incompatible with AH authentication - clearing"},
		{"Virtual server [198.51.100.10]:tcp:80: no scheduler set", "Virtual server [2001:db8::1]:tcp:443: no scheduler set"},
	}
	for _, p := range same {
		if a, b := template(p[0]), template(p[1]); a != b {
			t.Errorf("templates differ:\n%s\n%s", a, b)
		}
	}
	if template("Unknown keyword 'x'") == template("Unexpected '{' - ignoring") {
		t.Error("different messages share a template")
	}
}

func TestIfaceHeader(t *testing.T) {
	if got := parseIfaceHeader("none"); len(got) != 0 {
		t.Errorf("none: %q", got)
	}
	if got := parseIfaceHeader("eth0 ens5"); !equal(got, []string{"eth0", "ens5"}) {
		t.Errorf("list: %q", got)
	}
	got := parseIfaceHeader("+wlan0 -eth0")
	if len(got) != len(standardIfaces) || got[len(got)-1] != "wlan0" || got[0] == "eth0" {
		t.Errorf("edits: %q", got)
	}
}

func TestCategorizePairsSameTemplate(t *testing.T) {
	r := result{ID: "f.conf", KA: outcome{Status: "exit", Code: 5, Lines: []string{"(f.conf: Line 3) Unknown keyword 'a'", "only keepalived says this"}},
		Ours: outcome{Status: "exit", Code: 0, Lines: []string{"(f.conf: Line 4) Unknown keyword 'a'"}}}
	compare(&r)
	cats := categorize([]result{r})
	kinds := map[string]int{}
	for _, c := range cats {
		kinds[c.Kind] += c.Count
	}
	if kinds["~"] != 1 || kinds["-"] != 1 || kinds["+"] != 0 || kinds["exit"] != 1 {
		t.Fatalf("categories %+v", cats)
	}
}

func TestManExamplesWrapKeywords(t *testing.T) {
	man := ".nf\n\\fBvrrp_instance \\fR<STRING> {\n    \\fBpriority \\fR100\n    \\fBvirtual_ipaddress \\fR{\n        192.0.2.1/24 dev eth1\n    }\n}\n.fi\n"
	docs := manExamples(man)
	byName := map[string]string{}
	for _, d := range docs {
		byName[d.name] = d.text
	}
	p, ok := byName["b01-vrrp_instance.priority.conf"]
	if !ok {
		t.Fatalf("no priority config in %v", docs)
	}
	if strings.Count(p, "priority 100") != 1 || !strings.Contains(p, "virtual_router_id 51") || strings.Count(p, "{") != strings.Count(p, "}") {
		t.Errorf("priority config:\n%s", p)
	}
	v := byName["b01-vrrp_instance.virtual_ipaddress.conf"]
	if !strings.Contains(v, "192.0.2.1/24 dev eth1") || strings.Count(v, "{") != strings.Count(v, "}") {
		t.Errorf("virtual_ipaddress config:\n%s", v)
	}
}

// TestHarnessAgreesWithItself runs the -t harness on a few corpus files
// with keepalived on both sides: anything short of full agreement, or a
// drift from the records, is the instrument's fault (normalization,
// namespace, records).
func TestHarnessAgreesWithItself(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("Debian's keepalived is not installed (make deps)")
	}
	root, _ := filepath.Abs("../..")
	var items []item
	for _, f := range []string{"testdata/configs/14-vrrp-unicast.conf", "testdata/configs/80-diag-unknown-keyword.conf", "testdata/configs/60-include.conf"} {
		its, err := explicitItems(root, filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, its...)
	}
	if m, _ := filepath.Glob(filepath.Join(debianSamples, "keepalived.conf.vrrp")); len(m) == 1 {
		items = append(items, item{ID: "debian-samples/keepalived.conf.vrrp", Source: "debian-samples", Path: m[0],
			Record: recordPath(filepath.Join(root, "testdata", "compat", "debian-samples"), "keepalived.conf.vrrp")})
	}
	pool := newNSPool()
	defer pool.close()
	c := config{kaBin: ka, oursBin: ka, timeout: 20 * time.Second}
	norm := normalizer{paths: []string{ka}}
	for _, it := range items {
		if err := readHeaders(&it); err != nil {
			t.Fatal(err)
		}
		r, err := testOne(context.Background(), c, pool, norm, it)
		if err != nil {
			t.Fatal(err)
		}
		if r.Excluded != "" || !r.ExitAgree || !r.SetAgree || !r.OrderAgree {
			t.Errorf("%s: keepalived disagrees with itself: %+v", it.ID, r)
		}
		if r.Recorded == "" || len(r.Drift) > 0 {
			t.Errorf("%s: record %q, drift %q", it.ID, r.Recorded, r.Drift)
		}
	}
}

func TestRewriteKeepsTheNetworkRule(t *testing.T) {
	in := `global_defs {
    smtp_server 192.168.1.25
    vrrp_rt_priority 99
    enable_dbus
    vrrp_notify_fifo /run/ka.fifo
}
vrrp_instance VI_1 {
    interface ens192
    unicast_src_ip 10.0.0.11
    unicast_peer {
        10.0.0.12
    }
    virtual_ipaddress {
        10.0.0.100/24 dev ens224 # gateway 172.16.5.1
        2a01:4f8::10/64
    }
    virtual_routes {
        0.0.0.0/0 via 10.0.0.1
    }
    notify_master "/usr/bin/systemctl stop haproxy"
}
virtual_server_group G { 10.0.0.5-9 80 }
virtual_server 10.0.0.100 80 {
    persistence_granularity 255.255.255.0
    real_server 192.168.1.10 80 { MISC_CHECK { misc_path "/etc/keepalived/check.sh 10.0.0.1" } }
}`
	m := newAddrMapper()
	out := rewriteConfig(in, "/tmp/d", m)
	if err := checkAddresses(out); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"203.0.113.11", "203.0.113.12", "203.0.113.100/24 dev ens224", "2001:db8:0:1::10/64",
		"0.0.0.0/0 via 203.0.113.1", "203.0.113.5-9 80", "255.255.255.0", "smtp_server 198.51.100.25",
		`notify_master /bin/true`, "misc_path /bin/true", "vrrp_notify_fifo /tmp/d/file1",
		"# compat: dropped: vrrp_rt_priority 99", "# compat: dropped: enable_dbus",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rewritten config lacks %q:\n%s", want, out)
		}
	}
	if again := rewriteConfig(in, "/tmp/d", newAddrMapper()); again != out {
		t.Error("the rewrite is not deterministic")
	}
	ifs := interfacesOf(in, []string{"(x.conf: Line 3) WARNING - interface bond0.7 for vrrp_instance VI_1 doesn't exist"})
	if !equal(ifs, []string{"bond0.7", "ens192", "ens224", "eth0"}) {
		t.Errorf("interfaces %q", ifs)
	}
	if checkAddresses("x 10.1.2.3 y") == nil || checkAddresses("x 8.8.8.8") == nil {
		t.Error("checkAddresses lets a private or public address through")
	}
}

func TestAddressMapKeepsDistinctAddressesDistinct(t *testing.T) {
	m := newAddrMapper()
	seen := map[string]string{}
	for a := 0; a < 3; a++ {
		for h := 1; h < 150; h++ {
			orig := "10.0." + strconv.Itoa(a) + "." + strconv.Itoa(h)
			got := m.map4addr(orig)
			if prev, dup := seen[got]; dup {
				t.Fatalf("%s and %s both map to %s", prev, orig, got)
			}
			seen[got] = orig
			if !allowed4(got) || reserved4(got) {
				t.Fatalf("%s maps to %s", orig, got)
			}
		}
	}
}
