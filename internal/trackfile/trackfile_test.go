package trackfile

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Parse is strtol(s, NULL, 0) plus keepalived's range check.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"", 0, true},
		{"5\n", 5, true},
		{"  \t-12abc", -12, true},
		{"+7", 7, true},
		{"0x1f", 31, true},
		{"0X1F\n", 31, true},
		{"0x", 0, true},  // strtol stops after the 0
		{"0xg", 0, true}, // likewise
		{"010", 8, true}, // octal
		{"09", 0, true},  // octal: the 9 ends it
		{"abc", 0, true},
		{"- 5", 0, true},
		{"2147483647", math.MaxInt32, true},
		{"2147483648", math.MaxInt32 + 1, true}, // keepalived's INT32_MAX + 1
		{"2147483649", math.MaxInt32 + 2, false},
		{"-2147483648", math.MinInt32, true},
		{"-2147483649", math.MinInt32 - 1, false},
		{"99999999999999999999", math.MaxInt64, false}, // ERANGE
		{"-99999999999999999999", math.MinInt64, false},
	} {
		v, ok := Parse(c.in)
		if v != c.v || ok != c.ok {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", c.in, v, ok, c.v, c.ok)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if v, err := Read(p); v != 0 || err != nil {
		t.Errorf("missing file: %d %v", v, err)
	}
	os.WriteFile(p, nil, 0o644)
	if v, err := Read(p); v != 0 || err != nil {
		t.Errorf("empty file: %d %v", v, err)
	}
	// Only the first 127 bytes are read.
	long := make([]byte, 200)
	for i := range long {
		long[i] = ' '
	}
	copy(long[130:], "42")
	os.WriteFile(p, long, 0o644)
	if v, err := Read(p); v != 0 || err != nil {
		t.Errorf("number past 127 bytes: %d %v", v, err)
	}
	os.WriteFile(p, []byte("3000000000\n"), 0o644)
	var ie *InvalidError
	if _, err := Read(p); !errors.As(err, &ie) || ie.Error() != "Invalid number 3000000000 read from "+p+" - ignoring" {
		t.Errorf("out of range: %v", err)
	}
}

func TestResolve(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	real := filepath.Join(dir, "real")
	os.Mkdir(real, 0o755)
	os.WriteFile(filepath.Join(real, "f"), []byte("1"), 0o644)
	os.Symlink(filepath.Join(real, "f"), filepath.Join(dir, "link"))
	os.Symlink(real, filepath.Join(dir, "dirlink"))
	for _, c := range []struct {
		path, want string
		exists     bool
		err        error
	}{
		{filepath.Join(dir, "link"), filepath.Join(real, "f"), true, nil},
		{filepath.Join(dir, "dirlink", "new"), filepath.Join(real, "new"), false, nil},
		{filepath.Join(dir, "nodir", "f"), "", false, ErrNoDir},
	} {
		got, exists, err := Resolve(c.path)
		if got != c.want || exists != c.exists || !errors.Is(err, c.err) {
			t.Errorf("Resolve(%s) = %q %v %v; want %q %v %v", c.path, got, exists, err, c.want, c.exists, c.err)
		}
	}
}

// The watcher reports a file written and closed, moved in, moved away and
// deleted, in order, and skips directories.
func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wd, err := w.Watch(dir)
	if err != nil {
		t.Fatal(err)
	}
	if evs, err := w.Read(); len(evs) != 0 || err != nil {
		t.Fatalf("idle read: %v %v", evs, err)
	}
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("1\n"), 0o644)                       // close-write
	os.WriteFile(filepath.Join(dir, "tmp"), []byte("2"), 0o644) // close-write of tmp
	os.Rename(filepath.Join(dir, "tmp"), f)                     // moved-from tmp, moved-to f
	os.Rename(f, filepath.Join(dir, "away"))                    // moved-from f
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Remove(filepath.Join(dir, "sub"))  // a directory: skipped
	os.Remove(filepath.Join(dir, "away")) // deleted
	want := []Event{{wd, "f", false, 0}, {wd, "tmp", false, 0}, {wd, "tmp", true, 0}, {wd, "f", false, 0},
		{wd, "f", true, 0}, {wd, "away", false, 0}, {wd, "away", true, 0}}
	var got []Event
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		evs, err := w.Read()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
