package trackproc

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

func TestStatComm(t *testing.T) {
	cases := []struct {
		stat string
		comm string
		ok   bool
	}{
		{"123 (kgtpd) S 1 123 123 0 -1\n", "kgtpd", true},
		{"123 (kgtpd) Z 1 123 123 0 -1\n", "", false},
		{"123 (a b) R 1\n", "a b", true},
		// keepalived stops at the first ')': a comm containing one is cut.
		{"123 (a) b) S 1\n", "a", true},
		{"123 kgtpd S", "", false},
		{"1", "", false},
	}
	for _, tc := range cases {
		comm, ok := statComm([]byte(tc.stat))
		if comm != tc.comm || ok != tc.ok {
			t.Errorf("%q: %q %v, want %q %v", tc.stat, comm, ok, tc.comm, tc.ok)
		}
	}
}

func writeProc(t *testing.T, root string, pid int, stat, comm string, cmdline []byte) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"stat": []byte(stat), "comm": []byte(comm), "cmdline": cmdline} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcFSTree(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, 10, "10 (kgtpd) S 1\n", "kgtpd\n", cmdline("/opt/kgtpd", "-c", "x"))
	writeProc(t, root, 11, "11 (kgtpz) Z 1\n", "kgtpz\n", nil)
	os.MkdirAll(filepath.Join(root, "self"), 0o755)
	os.MkdirAll(filepath.Join(root, "0"), 0o755)
	os.WriteFile(filepath.Join(root, "12"), nil, 0o644) // not a directory
	p := ProcFS{Root: root}
	got := p.Scan(Read{Comm: true, Cmdline: true, Limit: 12})
	want := []ProcInfo{{PID: 10, Comm: "kgtpd", Cmdline: []byte("/opt/kgtpd\x00-")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scan %+v", got)
	}
	// Without the comm, the zombie's (empty) command line is returned.
	if got := p.Scan(Read{Cmdline: true, Limit: 100}); len(got) != 2 {
		t.Fatalf("cmdline-only scan %+v", got)
	}
	info, ok := p.Lookup(10, Read{Comm: true, Cmdline: true, Limit: 100})
	if !ok || info.Comm != "kgtpd" || string(info.Cmdline) != "/opt/kgtpd\x00-c\x00x\x00" {
		t.Fatalf("lookup %+v %v", info, ok)
	}
	if _, ok := p.Lookup(99, Read{Comm: true}); ok {
		t.Fatal("lookup of a missing pid")
	}
}

// The real /proc: this test process is found by its comm and command
// line.
func TestProcFSSelf(t *testing.T) {
	pid := int32(os.Getpid())
	info, ok := ProcFS{}.Lookup(pid, Read{Comm: true, Cmdline: true, Limit: 4096})
	if !ok {
		t.Fatal("cannot read /proc/self")
	}
	exe := os.Args[0]
	if info.Comm == "" || len(info.Cmdline) < len(exe) || string(info.Cmdline[:len(exe)]) != exe {
		t.Fatalf("self %+v", info)
	}
	found := false
	for _, p := range (ProcFS{}).Scan(Read{Comm: true, Limit: 0}) {
		if p.PID == pid {
			found = p.Comm == info.Comm
		}
	}
	if !found {
		t.Fatal("scan did not list this process with its comm")
	}
}
