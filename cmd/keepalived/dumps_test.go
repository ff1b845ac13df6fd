package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

func TestDumpWriterModeAndLinks(t *testing.T) {
	dir := t.TempDir()
	w := dumpWriter{dir: dir, umask: defaultDumpUmask}

	// A symlink planted at the target is replaced, never written through.
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious\n"), 0o644)
	if err := os.Symlink(victim, filepath.Join(dir, "keepalived.data")); err != nil {
		t.Fatal(err)
	}
	if err := w.write("keepalived.data", []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("symlink target was written: %q", b)
	}
	st, err := os.Lstat(filepath.Join(dir, "keepalived.data"))
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Fatalf("dump file: %v %v, want a regular 0600 file", st.Mode(), err)
	}

	// A pre-created world-readable file held open by someone else: the
	// holder never sees the new contents and the new file is 0600.
	pre := filepath.Join(dir, "keepalived.stats")
	os.WriteFile(pre, []byte("old\n"), 0o666)
	os.Chmod(pre, 0o666)
	held, err := os.Open(pre)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := w.write("keepalived.stats", []byte("secret\n")); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(held); string(b) != "old\n" {
		t.Errorf("reader of the old file sees %q", b)
	}
	if b, _ := os.ReadFile(pre); string(b) != "secret\n" {
		t.Errorf("new contents %q", b)
	}
	if st, _ := os.Stat(pre); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("temporary files left behind: %v", ents)
	}

	// -u 022 gives 0644 as keepalived's umask_val does.
	w.umask = dumpUmask("022")
	if err := w.write("keepalived.json", []byte("[]\n")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "keepalived.json")); st.Mode().Perm() != 0o644 {
		t.Errorf("-u 022: mode %v, want 0644", st.Mode().Perm())
	}
}

func TestDumpDir(t *testing.T) {
	for _, tc := range []struct{ env, want string }{{"", "/tmp"}, {"relative", "/tmp"}, {"/var/tmp", "/var/tmp"}} {
		t.Setenv("TMPDIR", tc.env)
		if got := dumpDir(); got != tc.want {
			t.Errorf("TMPDIR=%q: %q, want %q", tc.env, got, tc.want)
		}
	}
}

func TestJSONFormatting(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{5, "5"}, {0, "0"}, {1.5, "1.5"}, {0.01, "0.01"}, {1e6, "1e+06"}, {123456789, "1.23457e+08"}} {
		if got := cG(tc.v); got != tc.want {
			t.Errorf("%%g of %v: %q, want %q", tc.v, got, tc.want)
		}
	}
	o := jobj{b: new(bytes.Buffer)}
	o.str("k", "a/b\"c\\d\te")
	if got, want := o.b.String(), `"k":"a\/b\"c\nd\te"`; got != want {
		t.Errorf("escaping: %s, want %s (keepalived writes a backslash as \\n)", got, want)
	}
}

// keepalivedAvailable skips unless Debian's keepalived and namespaces are there.
func keepalivedAvailable(t *testing.T) {
	t.Helper()
	nettest.Skip(t)
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("Debian's keepalived is not installed (/usr/sbin/keepalived): apt-get install keepalived")
	}
}

const dumpTestConf = `global_defs {
    router_id dumptest
}
vrrp_script chk_true {
    script "/bin/true"
    interval 1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret1
    }
    virtual_ipaddress {
        198.51.100.51/24
    }
    track_script {
        chk_true
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.52/24
    }
}
`

// The peer is MASTER for VI_2 so that the node under test receives
// adverts, learns a master and counts them.
const dumpPeerConf = `global_defs {
    router_id dumppeer
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 1
    virtual_ipaddress {
        198.51.100.52/24
    }
}
`

// dumps is what one daemon wrote.
type dumps struct {
	data, parent, stats, json, statsCleared string
	modes                                   map[string]os.FileMode
}

// runForDumps starts argv0 in node with /tmp and /etc/keepalived private,
// waits until VI_1 is MASTER and VI_2 has heard its master for a while,
// sends keepalived's dump signals, then stops it.
func runForDumps(t *testing.T, node *nettest.Node, argv0 string) dumps {
	t.Helper()
	// Outside /tmp, which the daemon gets a private one of.
	etc, tmp := varTempDir(t), varTempDir(t)
	os.WriteFile(filepath.Join(etc, "keepalived.conf"), []byte(dumpTestConf), 0o644)
	if !strings.HasPrefix(argv0, "/usr/") {
		// The bind over /tmp hides the test's build directory.
		b, err := os.ReadFile(argv0)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(etc, "keepalived"), b, 0o755)
		argv0 = "/etc/keepalived/keepalived"
	}
	p := node.Start(map[string]string{etc: "/etc/keepalived", tmp: "/tmp"},
		"/usr/bin/env", "-u", "TMPDIR", argv0, "-n", "-l", "-f", "/etc/keepalived/keepalived.conf",
		"-p", "/etc/keepalived/k.pid", "-r", "/etc/keepalived/v.pid", "-c", "/etc/keepalived/c.pid")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			p.Signal(syscall.SIGTERM)
			p.Wait()
		}
	})
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(p.Output(), "(VI_1) Entering MASTER STATE"); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: VI_1 did not become MASTER\n%s", argv0, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A few adverts each way, the same span for both daemons.
	time.Sleep(2500 * time.Millisecond)
	file := func(name string) string { return filepath.Join(tmp, name) }
	waitFile := func(name string) string {
		var b []byte
		nettest.WaitFor(t, 5*time.Second, argv0+" writes "+name, func() bool {
			var err error
			b, err = os.ReadFile(file(name))
			return err == nil && len(b) > 0
		})
		return string(b)
	}
	var d dumps
	p.Signal(syscall.SIGUSR1)
	d.data = waitFile("keepalived.data")
	d.parent = waitFile("keepalived_parent.data")
	p.Signal(syscall.SIGUSR2)
	d.stats = waitFile("keepalived.stats")
	p.Signal(sigJSON)
	d.json = waitFile("keepalived.json")
	d.modes = map[string]os.FileMode{}
	for _, n := range []string{"keepalived.data", "keepalived_parent.data", "keepalived.stats", "keepalived.json"} {
		if st, err := os.Lstat(file(n)); err == nil {
			d.modes[n] = st.Mode()
		}
	}
	// Stats clear writes the stats, then zeroes them; the next SIGUSR2
	// shows counters counted since.
	os.Remove(file("keepalived.stats"))
	p.Signal(sigStatsClear)
	waitFile("keepalived.stats")
	os.Remove(file("keepalived.stats"))
	p.Signal(syscall.SIGUSR2)
	d.statsCleared = waitFile("keepalived.stats")

	p.Signal(syscall.SIGTERM)
	p.Wait()
	stopped = true
	return d
}

func varTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/var/tmp", "kago-dumps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

var (
	maskLastTransition = regexp.MustCompile(`^(   Last transition = |   Read timeout = )\d+\.\d{6} \(.*\)$`)
	maskFDs            = regexp.MustCompile(`^(   fd_in )-?\d+, fd_out -?\d+$|^( fd_in )-?\d+ fd_out = -?\d+$`)
	counterLine        = regexp.MustCompile(`^(\s+\w[\w ]*: )(\d+)$`)
)

// dataExceptions are the .data lines allowed to differ, with the reason.
var dataExceptions = map[string]string{}

func maskData(line string) string {
	if m := maskLastTransition.FindStringSubmatch(line); m != nil {
		return m[1] + "<time>"
	}
	if maskFDs.MatchString(line) {
		return "<fds>"
	}
	return line
}

func compareLines(t *testing.T, what, want, got string, exceptions map[string]string, counters bool) {
	t.Helper()
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(wl) != len(gl) {
		t.Errorf("%s: keepalived wrote %d lines, we wrote %d\n--- keepalived\n%s\n--- ours\n%s", what, len(wl), len(gl), want, got)
		return
	}
	for i := range wl {
		w, g := maskData(wl[i]), maskData(gl[i])
		if w == g {
			continue
		}
		if counters {
			mw, mg := counterLine.FindStringSubmatch(w), counterLine.FindStringSubmatch(g)
			if mw != nil && mg != nil && mw[1] == mg[1] {
				a, _ := strconv.Atoi(mw[2])
				b, _ := strconv.Atoi(mg[2])
				if a-b <= 2 && b-a <= 2 {
					continue
				}
			}
		}
		excused := false
		for prefix, why := range exceptions {
			if strings.HasPrefix(w, prefix) && strings.HasPrefix(g, prefix) {
				t.Logf("%s line %d: documented exception (%s): keepalived %q, ours %q", what, i+1, why, w, g)
				excused = true
			}
		}
		if !excused {
			t.Errorf("%s line %d:\n keepalived: %q\n ours:       %q", what, i+1, w, g)
		}
	}
}

// compareJSON compares keepalived's and our JSON key by key: timestamps
// must be set in both, counters may differ by two.
func compareJSON(t *testing.T, want, got string) {
	t.Helper()
	var w, g []map[string]map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("keepalived's JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("our JSON: %v\n%s", err, got)
	}
	if len(w) != len(g) {
		t.Fatalf("JSON: %d instances vs our %d", len(w), len(g))
	}
	for i := range w {
		for _, sec := range []string{"data", "stats"} {
			keys := map[string]bool{}
			for k := range w[i][sec] {
				keys[k] = true
			}
			for k := range g[i][sec] {
				keys[k] = true
			}
			for k := range keys {
				wv, wok := w[i][sec][k]
				gv, gok := g[i][sec][k]
				where := fmt.Sprintf("JSON [%d].%s.%s", i, sec, k)
				switch {
				case !wok || !gok:
					t.Errorf("%s: present in keepalived %v, ours %v", where, wok, gok)
				case k == "last_transition":
					if wv.(float64) <= 0 || gv.(float64) <= 0 {
						t.Errorf("%s: keepalived %v, ours %v", where, wv, gv)
					}
				case sec == "stats":
					if d := wv.(float64) - gv.(float64); d > 2 || d < -2 {
						t.Errorf("%s: keepalived %v, ours %v", where, wv, gv)
					}
				case fmt.Sprint(wv) != fmt.Sprint(gv):
					t.Errorf("%s: keepalived %v, ours %v", where, wv, gv)
				}
			}
		}
	}
	// Byte shape: compact, "\/" escapes, trailing newline, same key order.
	keyOrder := regexp.MustCompile(`"(\w+)":`)
	wk, gk := keyOrder.FindAllString(want, -1), keyOrder.FindAllString(got, -1)
	if strings.Join(wk, "") != strings.Join(gk, "") {
		t.Errorf("JSON key order differs\n keepalived: %v\n ours:       %v", wk, gk)
	}
	if !strings.Contains(got, `\/24`) || !strings.HasSuffix(got, "]\n") {
		t.Errorf("JSON not written as keepalived's json_writer does: %s", got)
	}
}

// The shapes mehdy/keepalived-exporter decodes /tmp/keepalived.json into
// (internal/collector: VRRPData, VRRPStats).
type exporterVRRP struct {
	Data struct {
		IName        string   `json:"iname"`
		State        int      `json:"state"`
		WantState    int      `json:"wantstate"`
		Intf         string   `json:"ifp_ifname"`
		GArpDelay    int      `json:"garp_delay"`
		VRID         int      `json:"vrid"`
		VIPs         []string `json:"vips"`
		ExcludedVIPs []string `json:"evips"`
	} `json:"data"`
	Stats struct {
		AdvertRcvd        int `json:"advert_rcvd"`
		AdvertSent        int `json:"advert_sent"`
		BecomeMaster      int `json:"become_master"`
		ReleaseMaster     int `json:"release_master"`
		PacketLenErr      int `json:"packet_len_err"`
		AdvertIntervalErr int `json:"advert_interval_err"`
		IPTTLErr          int `json:"ip_ttl_err"`
		InvalidTypeRcvd   int `json:"invalid_type_rcvd"`
		AddrListErr       int `json:"addr_list_err"`
		InvalidAuthType   int `json:"invalid_authtype"`
		AuthTypeMismatch  int `json:"authtype_mismatch"`
		AuthFailure       int `json:"auth_failure"`
		PRIZeroRcvd       int `json:"pri_zero_rcvd"`
		PRIZeroSent       int `json:"pri_zero_sent"`
	} `json:"stats"`
}

func checkExporterReads(t *testing.T, js string) {
	t.Helper()
	var v []exporterVRRP
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("keepalived-exporter cannot decode our JSON: %v", err)
	}
	if len(v) != 2 {
		t.Fatalf("%d instances", len(v))
	}
	a, b := v[0], v[1]
	if a.Data.IName != "VI_1" || a.Data.State != 2 || a.Data.WantState != 2 || a.Data.Intf != "eth0" ||
		a.Data.GArpDelay != 5 || a.Data.VRID != 51 || strings.Join(a.Data.VIPs, ",") != "198.51.100.51/24 dev eth0 scope global set" {
		t.Errorf("VI_1 data as the exporter reads it: %+v", a.Data)
	}
	if b.Data.IName != "VI_2" || b.Data.State != 1 || b.Data.WantState != 1 || b.Data.VRID != 52 ||
		strings.Join(b.Data.VIPs, ",") != "198.51.100.52/24 dev eth0 scope global" {
		t.Errorf("VI_2 data as the exporter reads it: %+v", b.Data)
	}
	if a.Stats.BecomeMaster != 1 || a.Stats.AdvertSent < 2 || a.Stats.AdvertRcvd != 0 {
		t.Errorf("VI_1 stats: %+v", a.Stats)
	}
	if b.Stats.BecomeMaster != 0 || b.Stats.AdvertRcvd < 2 || b.Stats.AdvertSent != 0 {
		t.Errorf("VI_2 stats: %+v", b.Stats)
	}
}

// Must-show 3: Debian's keepalived and ours, one after the other on the
// same node with the same config and peer, write the same three dumps.
func TestDumpsMatchKeepalived(t *testing.T) {
	keepalivedAvailable(t)
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("dut", "198.51.100.1/24")
	peer := lan.AddNode("peer", "198.51.100.2/24")
	petc := t.TempDir()
	os.WriteFile(filepath.Join(petc, "keepalived.conf"), []byte(dumpPeerConf), 0o644)
	pp := peer.Start(map[string]string{petc: "/etc/keepalived"}, "/usr/sbin/keepalived", "-n", "-l",
		"-f", "/etc/keepalived/keepalived.conf", "-p", petc+"/k.pid", "-r", petc+"/v.pid", "-c", petc+"/c.pid")
	nettest.WaitFor(t, 15*time.Second, "peer MASTER of VI_2", func() bool { return peer.HasAddr("198.51.100.52") })

	ka := runForDumps(t, node, "/usr/sbin/keepalived")
	ours := runForDumps(t, node, bin)
	pp.Signal(syscall.SIGTERM)
	pp.Wait()

	for name, m := range ka.modes {
		if ours.modes[name] != m || m != 0o600 {
			t.Errorf("%s: keepalived mode %v, ours %v", name, m, ours.modes[name])
		}
	}
	compareLines(t, "keepalived.stats", ka.stats, ours.stats, nil, true)
	compareLines(t, "keepalived.stats after stats clear", ka.statsCleared, ours.statsCleared, nil, true)
	if !strings.Contains(ours.statsCleared, "  Became master: 0\n") {
		t.Errorf("stats clear did not zero our counters:\n%s", ours.statsCleared)
	}
	compareLines(t, "keepalived.data", ka.data, ours.data, dataExceptions, false)
	compareLines(t, "keepalived_parent.data", ka.parent, ours.parent, nil, false)
	compareJSON(t, ka.json, ours.json)
	checkExporterReads(t, ours.json)
	checkExporterReads(t, ka.json)
	if t.Failed() {
		t.Logf("keepalived.data (keepalived):\n%s\nkeepalived.data (ours):\n%s", ka.data, ours.data)
	}
}
