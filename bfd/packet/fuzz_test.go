package packet

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode: decoding never panics; every error wraps exactly one
// sentinel; a decoded packet encodes, and decode -> encode -> decode gives
// the same value and the same bytes. Crashers found are kept in
// testdata/fuzz/FuzzDecode so a plain go test replays them.
func FuzzDecode(f *testing.F) {
	for _, g := range goldens {
		f.Add(mustHex(f, g.hex))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 24))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		var c Control
		err := c.UnmarshalBinary(b)
		if !bytes.Equal(in, b) {
			t.Fatal("UnmarshalBinary changed its input")
		}
		if err != nil {
			checkOneReason(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			checkOneReason(t, err)
		}
		if len(b) > HeaderLen && c.Auth == nil {
			// Bytes past the header without the A bit are ignored,
			// as keepalived ignores them: compare the header only.
			b = append([]byte(nil), b[:HeaderLen]...)
			b[3] = HeaderLen
		}
		enc, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode: %v", c, err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, b)
		}
		var again Control
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("unstable:\n %+v\n %+v", c, again)
		}
	})
}

func checkOneReason(t *testing.T, err error) {
	t.Helper()
	n := 0
	for _, r := range Reasons {
		if errors.Is(err, r) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%v wraps %d sentinels", err, n)
	}
}
