package agentx

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzUnmarshal feeds arbitrary bytes to the decoder: it must never panic,
// every error must wrap one of the sentinels, and whatever decodes must
// encode and decode again to the same PDU (mdlayher's decode-encode-decode
// check).
func FuzzUnmarshal(f *testing.F) {
	for _, p := range allPDUs() {
		for _, flags := range []uint8{0, FlagNetworkByteOrder} {
			q := *p
			q.Flags |= flags
			b, err := q.MarshalBinary()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, HeaderLen))
	sentinels := []error{ErrShort, ErrVersion, ErrType, ErrPayloadLength, ErrTooLarge, ErrOIDTooLong,
		ErrInclude, ErrValueType, ErrValueLength, ErrTrailing}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		enc, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("re-encode %+v: %v", p, err)
		}
		q, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded PDU: %v", err)
		}
		normalize(p)
		normalize(q)
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("decode-encode-decode differs:\n%+v\n%+v", p, q)
		}
		// The stream reader agrees with Unmarshal.
		if r, err := ReadPDU(bytes.NewReader(b)); err != nil || r.Type != p.Type {
			t.Fatalf("ReadPDU: %v %v", r, err)
		}
	})
}
