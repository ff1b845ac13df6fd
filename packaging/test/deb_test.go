// Package debtest checks the keepalived-go .deb that scripts/deb.sh builds:
// its metadata and files against what Debian's keepalived provides, lintian,
// and (as root) the replace/config-test/purge cycle in a Debian 12 chroot
// run by scripts/deb-chroot-test.sh.
package debtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	debPath   string
	buildErr  string
	buildDir  string
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package needed; CI installs it)", tool)
		}
	}
}

// buildDeb runs scripts/deb.sh once per test binary into a private
// directory, so the tests never race `make deb` over dist/.
func buildDeb(t *testing.T) string {
	t.Helper()
	need(t, "dpkg-deb", "bash")
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keepalived-go-deb-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		buildDir = dir
		cmd := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "deb.sh"))
		cmd.Env = append(os.Environ(), "DEB_OUTDIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = "scripts/deb.sh: " + err.Error() + "\n" + string(out)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		debPath = lines[len(lines)-1]
	})
	if buildErr != "" {
		t.Fatal(buildErr)
	}
	return debPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("%s %v: %v\n%s", name, args, err, ee.Stderr)
		}
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func TestControlFields(t *testing.T) {
	deb := buildDeb(t)
	tests := []struct {
		field, want string
	}{
		{"Package", "keepalived-go"},
		{"Architecture", "amd64"},
		{"Provides", "keepalived (= 1:2.2.7)"},
		{"Conflicts", "keepalived"},
		{"Replaces", "keepalived"},
		{"Recommends", "ipvsadm"},
		{"Section", "net"},
		{"Priority", "optional"},
		// Static binaries: nothing at run time, iproute2 in particular.
		{"Depends", ""},
		{"Pre-Depends", ""},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, tc.field))
			if got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.field, got, tc.want)
			}
		})
	}
	if v := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, "Version")); !strings.HasSuffix(filepath.Base(deb), "_"+v+"_amd64.deb") {
		t.Errorf("file name %s does not carry version %s", filepath.Base(deb), v)
	}
}

// debFiles maps each path in the data archive to its tar listing line.
func debFiles(t *testing.T, deb string) map[string]string {
	t.Helper()
	files := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "-c", deb)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue
		}
		files[strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")] = sc.Text()
	}
	return files
}

func TestFileList(t *testing.T) {
	deb := buildDeb(t)
	files := debFiles(t, deb)
	want := []struct{ path, mode string }{
		{"/usr/sbin/keepalived", "-rwxr-xr-x"},
		{"/usr/bin/genhash", "-rwxr-xr-x"},
		// Debian bookworm's path: Replaces only hands over the same path.
		{"/lib/systemd/system/keepalived.service", "-rw-r--r--"},
		{"/etc/default/keepalived", "-rw-r--r--"},
		// Debian's keepalived's path for the DBus policy.
		{"/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf", "-rw-r--r--"},
		{"/etc/keepalived", "drwxr-xr-x"},
		{"/usr/share/man/man8/keepalived.8.gz", "-rw-r--r--"},
		{"/usr/share/man/man5/keepalived.conf.5.gz", "-rw-r--r--"},
		{"/usr/share/man/man1/genhash.1.gz", "-rw-r--r--"},
		{"/usr/share/doc/keepalived-go/copyright", "-rw-r--r--"},
		{"/usr/share/doc/keepalived-go/changelog.Debian.gz", "-rw-r--r--"},
		{"", "drwxr-xr-x"}, // the archive root
	}
	for _, w := range want {
		line, ok := files[w.path]
		if !ok {
			t.Errorf("missing %q", w.path)
			continue
		}
		if !strings.HasPrefix(line, w.mode+" root/root ") {
			t.Errorf("%s: %q, want mode %s owned by root/root", w.path, line, w.mode)
		}
	}
	// The operator's file: never shipped, so never replaced or purged.
	for p := range files {
		if strings.HasPrefix(p, "/etc/keepalived/") {
			t.Errorf("ships %s; /etc/keepalived/ must stay the operator's", p)
		}
	}
}

func extract(t *testing.T, deb string) string {
	t.Helper()
	dir := t.TempDir()
	run(t, "dpkg-deb", "-R", deb, dir)
	return dir
}

func TestConffilesAndScripts(t *testing.T) {
	dir := extract(t, buildDeb(t))
	conffiles, err := os.ReadFile(filepath.Join(dir, "DEBIAN", "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(conffiles)); got != "/etc/default/keepalived\n/etc/dbus-1/system.d/org.keepalived.Vrrp1.conf" {
		t.Errorf("conffiles: %q", got)
	}
	md5sums, err := os.ReadFile(filepath.Join(dir, "DEBIAN", "md5sums"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  usr/sbin/keepalived\n", "  usr/bin/genhash\n", "  lib/systemd/system/keepalived.service\n"} {
		if !bytes.Contains(md5sums, []byte(want)) {
			t.Errorf("md5sums lacks %q", strings.TrimSpace(want))
		}
	}
	for _, c := range []string{"etc/default/keepalived", "etc/dbus-1/system.d/"} {
		if bytes.Contains(md5sums, []byte(c)) {
			t.Errorf("md5sums lists the conffile %s (dh_md5sums leaves conffiles out)", c)
		}
	}
	scripts := []struct {
		name string
		want []string
	}{
		{"postinst", []string{
			"deb-systemd-helper enable 'keepalived.service'",
			"deb-systemd-invoke $_dh_action 'keepalived.service'",
			"[ -d /run/systemd/system ]",
			"adduser --quiet --system --group --no-create-home",
			"[ -e /etc/keepalived/keepalived.conf ]",
		}},
		{"prerm", []string{"deb-systemd-invoke stop 'keepalived.service'"}},
		{"postrm", []string{"deb-systemd-helper purge 'keepalived.service'"}},
	}
	for _, s := range scripts {
		b, err := os.ReadFile(filepath.Join(dir, "DEBIAN", s.name))
		if err != nil {
			t.Errorf("%s: %v", s.name, err)
			continue
		}
		for _, w := range s.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", s.name, w)
			}
		}
		if strings.Contains(string(b), "keepalived.conf\"") || strings.Contains(string(b), "rm -") {
			t.Errorf("%s removes files itself; purge must leave the operator's config to dpkg", s.name)
		}
		if out, err := exec.Command("sh", "-n", filepath.Join(dir, "DEBIAN", s.name)).CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v %s", s.name, err, out)
		}
	}
}

// The unit and the defaults file must mean what Debian's do: operators'
// drop-ins and DAEMON_ARGS keep working.
func TestUnitAndDefaults(t *testing.T) {
	dir := extract(t, buildDeb(t))
	unit, err := os.ReadFile(filepath.Join(dir, "lib/systemd/system/keepalived.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Type=notify",
		"EnvironmentFile=-/etc/default/keepalived",
		"ExecStart=/usr/sbin/keepalived --dont-fork $DAEMON_ARGS",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"ConditionFileNotEmpty=/etc/keepalived/keepalived.conf",
		"WantedBy=multi-user.target",
	} {
		if !bytes.Contains(unit, []byte("\n"+line+"\n")) {
			t.Errorf("unit lacks %q", line)
		}
	}
	// Debian's own unit, when installed, differs at most in Documentation.
	if deb, err := os.ReadFile("/lib/systemd/system/keepalived.service"); err == nil && !bytes.Contains(deb, []byte("keepalived-go")) {
		if got, want := withoutDocs(unit), withoutDocs(deb); got != want {
			t.Errorf("unit differs from Debian's beyond Documentation=:\nours:\n%s\nDebian's:\n%s", got, want)
		}
	}
	def, err := os.ReadFile(filepath.Join(dir, "etc/default/keepalived"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(def, []byte("\nDAEMON_ARGS=\"\"\n")) {
		t.Errorf("/etc/default/keepalived: %q", def)
	}
}

func withoutDocs(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "Documentation=") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestBinariesStaticAndGzipReproducible(t *testing.T) {
	dir := extract(t, buildDeb(t))
	for _, b := range []string{"usr/sbin/keepalived", "usr/bin/genhash"} {
		f, err := elf.Open(filepath.Join(dir, b))
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has an ELF interpreter: not static, yet the package declares no Depends", b)
			}
		}
		f.Close()
	}
	var gz []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".gz") {
			gz = append(gz, p)
		}
		return nil
	})
	sort.Strings(gz)
	if len(gz) != 4 {
		t.Errorf("want 3 man pages and changelog.Debian.gz, got %v", gz)
	}
	for _, p := range gz {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Errorf("%s: %v", p, err)
		} else if !zr.ModTime.IsZero() || zr.Name != "" {
			t.Errorf("%s: gzip header carries name %q / time %v (want gzip -n)", p, zr.Name, zr.ModTime)
		}
		f.Close()
	}
}

func TestLintian(t *testing.T) {
	need(t, "lintian")
	deb := buildDeb(t)
	cmd := exec.Command("lintian", "--no-cfg", "-I", "-E", "--pedantic", "--profile", "debian", deb)
	out, _ := cmd.CombinedOutput() // exit status reflects tags; the tags are checked below
	t.Logf("lintian:\n%s", out)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ") {
			t.Errorf("lintian: %s", l)
		}
	}
}

// TestChroot is must-show 4: Debian's keepalived configured in a Debian 12
// chroot, then ours installed over it, config-tested and purged.
func TestChroot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (debootstrap, chroot, mount /proc)")
	}
	need(t, "chroot", "mount", "debootstrap")
	deb := buildDeb(t)
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "deb-chroot-test.sh"), deb)
	out, err := cmd.CombinedOutput()
	t.Logf("deb-chroot-test.sh:\n%s", out)
	if err != nil {
		t.Fatalf("deb-chroot-test.sh: %v", err)
	}
	if !bytes.Contains(out, []byte("\nRESULT: PASS\n")) {
		t.Fatal("no RESULT: PASS line")
	}
}
