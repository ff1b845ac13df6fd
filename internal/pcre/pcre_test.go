package pcre

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestCompileErrorIsPCRE2s(t *testing.T) {
	_, err := Compile(`a(b`, 0)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CompileError", err)
	}
	if ce.Code != 114 || ce.Offset != 3 || ce.Msg != "missing closing parenthesis" {
		t.Errorf("got %+v", ce)
	}
	if got := ErrorMessage(ErrPartial); got != "partial match" {
		t.Errorf("ErrorMessage(partial) = %q", got)
	}
}

func TestPartialHardAndLookbehind(t *testing.T) {
	c, err := Compile(`(?<=abc)123`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxLookbehind() != 3 {
		t.Errorf("MaxLookbehind = %d, want 3", c.MaxLookbehind())
	}
	m := c.Get(Limits{})
	defer m.Put()
	// The partial match starts at the match start, not at the lookbehind.
	if rc, from, to := m.Match([]byte("xyzabc12"), 0, PartialHard); rc != ErrPartial || from != 6 || to != 8 {
		t.Errorf("partial: rc %d ovector %d,%d; want %d 6,8", rc, from, to, ErrPartial)
	}
	if rc, from, to := m.Match([]byte("xyzabc123"), 0, PartialHard); rc != 1 || from != 6 || to != 9 {
		t.Errorf("match: rc %d ovector %d,%d", rc, from, to)
	}
	if rc, _, _ := m.Match([]byte("xyzabc123"), 7, PartialHard); rc != ErrNoMatch {
		t.Errorf("from offset 7: rc %d, want no match", rc)
	}
	if rc, _, _ := m.Match([]byte("ab"), 3, PartialHard); rc != ErrBadOffset {
		t.Errorf("offset past the end: rc %d, want %d", rc, ErrBadOffset)
	}
}

func TestHeapLimit(t *testing.T) {
	c, err := Compile(`(a|b)*c`, 0)
	if err != nil {
		t.Fatal(err)
	}
	subject := []byte(strings.Repeat("ab", 2000) + "c")
	m := c.Get(JITStackLimits(JITStackKiB))
	if rc, _, _ := m.Match(subject, 0, PartialHard); rc != ErrHeapLimit {
		t.Errorf("4001 bytes under the emulated 32 KiB JIT stack: rc %d, want heap limit", rc)
	}
	m.Put()
	m = c.Get(JITStackLimits(1024))
	if rc, _, _ := m.Match(subject, 0, PartialHard); rc <= 0 {
		t.Errorf("with a 1 MiB stack: rc %d, want a match", rc)
	}
	m.Put()
}

// TestConcurrentMatchers: one Code, matchers on many goroutines.
func TestConcurrentMatchers(t *testing.T) {
	c, err := Compile(`(?<n>\d+)px`, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				m := c.Get(Limits{})
				rc, from, to := m.Match([]byte("width: 120px;"), 0, 0)
				m.Put()
				if rc != 2 || from != 7 || to != 12 {
					t.Errorf("rc %d ovector %d,%d", rc, from, to)
					return
				}
			}
		}()
	}
	wg.Wait()
}
