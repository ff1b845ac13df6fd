package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// readNewc parses a gzip'd newc archive into name -> (mode, data).
func readNewc(t *testing.T, b []byte) map[string]struct {
	mode uint32
	data string
} {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		mode uint32
		data string
	}{}
	align := func(n int) int { return (n + 3) &^ 3 }
	for off := 0; ; {
		if len(raw) < off+110 || string(raw[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(raw[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := string(raw[off+110 : off+110+namesize-1])
		off = align(off + 110 + namesize)
		data := string(raw[off : off+size])
		off = align(off + size)
		if name == "TRAILER!!!" {
			if off != len(raw) {
				t.Fatalf("%d bytes after trailer", len(raw)-off)
			}
			return out
		}
		out[name] = struct {
			mode uint32
			data string
		}{uint32(mode), data}
	}
}

func TestArchiveNewc(t *testing.T) {
	a := NewArchive()
	a.Bytes("/init", []byte("#!/bin/sh\necho hi\n"), 0o755)
	a.File("lib/x/a.so", "host-a", 0o644)
	a.Symlink("bin/sh", "busybox")
	var buf bytes.Buffer
	err := a.WriteTo(&buf, func(p string) ([]byte, error) {
		if p == "host-a" {
			return []byte("abc"), nil
		}
		return nil, os.ErrNotExist
	})
	if err != nil {
		t.Fatal(err)
	}
	got := readNewc(t, buf.Bytes())
	checks := []struct {
		name string
		mode uint32
		data string
	}{
		{"init", 0o100755, "#!/bin/sh\necho hi\n"},
		{"lib/x/a.so", 0o100644, "abc"},
		{"lib/x", 0o40755, ""},
		{"bin/sh", 0o120777, "busybox"},
		{"proc", 0o40755, ""},
	}
	for _, c := range checks {
		e, ok := got[c.name]
		if !ok || e.mode != c.mode || e.data != c.data {
			t.Errorf("%s: got %o %q (present %v), want %o %q", c.name, e.mode, e.data, ok, c.mode, c.data)
		}
	}
	a.File("missing", "nope", 0o644)
	if err := a.WriteTo(io.Discard, func(string) ([]byte, error) { return nil, os.ErrNotExist }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing source: %v", err)
	}
}

func TestSection(t *testing.T) {
	console := "boot noise\n=== BEGIN a ===\nline 1\n  line 2\n=== END a ===\n=== BEGIN b ===\nunterminated\n"
	if got, ok := Section(console, "a"); !ok || got != "line 1\n  line 2\n" {
		t.Errorf("a: %q %v", got, ok)
	}
	if _, ok := Section(console, "b"); ok {
		t.Error("unterminated section reported found")
	}
	if _, ok := Section(console, "c"); ok {
		t.Error("absent section reported found")
	}
}

func TestInitScriptOrder(t *testing.T) {
	vm := &VM{modules: []string{"/lib/modules/v/a.ko", "/lib/modules/v/b.ko"}}
	s := vm.initScript("echo body")
	ia, ib := strings.Index(s, "insmod /lib/modules/v/a.ko"), strings.Index(s, "insmod /lib/modules/v/b.ko")
	ir, ibody, ip := strings.Index(s, readyMarker), strings.Index(s, "echo body"), strings.Index(s, "poweroff -f")
	if !(0 < ia && ia < ib && ib < ir && ir < ibody && ibody < ip) {
		t.Fatalf("init script out of order:\n%s", s)
	}
}

// TestBoot boots the real kernel with busybox only and checks the console
// round trip. It needs qemu, a Debian kernel and busybox-static.
func TestBoot(t *testing.T) {
	vm, err := New()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("cannot boot a VM here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := vm.AddModules("dummy"); err != nil {
		t.Fatal(err)
	}
	console, err := vm.Run(context.Background(), `
echo '=== BEGIN uname ==='
uname -r
echo '=== END uname ==='
ip link set dummy0 up && echo dummy-ok
`)
	if err != nil {
		t.Fatalf("%v\nconsole:\n%s", err, console)
	}
	got, ok := Section(console, "uname")
	if !ok || strings.TrimSpace(got) != vm.Kernel.Version {
		t.Fatalf("uname section %q, want %s; console:\n%s", got, vm.Kernel.Version, console)
	}
	if !strings.Contains(console, "dummy-ok") {
		t.Fatalf("dummy module not usable; console:\n%s", console)
	}
}
