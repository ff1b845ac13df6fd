package pcre

import (
	"strings"
	"testing"
)

// BenchmarkMatch4K is one keepalived-sized piece (4095 bytes) without a
// match, the unit of the streamed check's cost.
func BenchmarkMatch4K(b *testing.B) {
	subject := []byte(strings.Repeat("<tr><td>row 1</td><td>filler-0001</td></tr>\n", 100)[:4095])
	c, err := Compile(`Server status: DOWN`, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := c.Get(JITStackLimits(JITStackKiB))
	defer m.Put()
	b.SetBytes(int64(len(subject)))
	for i := 0; i < b.N; i++ {
		if rc, _, _ := m.Match(subject, 0, PartialHard); rc != ErrNoMatch {
			b.Fatal(rc)
		}
	}
}
