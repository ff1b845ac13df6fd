package packet

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"
)

// FuzzDecodeAdvert: decoding never panics, and decode -> encode -> decode
// gives the same value. The same bytes also go through Parse4/Parse6 and
// Check, which must not panic either. Seeds live in testdata/fuzz.
func FuzzDecodeAdvert(f *testing.F) {
	for _, g := range goldens {
		f.Add(mustHex(&testing.T{}, g.hex))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Advert
		if err := a.UnmarshalBinary(b); err == nil {
			enc, err := a.MarshalBinary()
			if err != nil {
				t.Fatalf("decoded %+v but cannot encode: %v", a, err)
			}
			var again Advert
			if err := again.UnmarshalBinary(enc); err != nil {
				t.Fatalf("re-decode of %x: %v", enc, err)
			}
			if !reflect.DeepEqual(a, again) {
				t.Fatalf("unstable:\n %+v\n %+v", a, again)
			}
			enc2, _ := again.MarshalBinary()
			if !bytes.Equal(enc, enc2) {
				t.Fatalf("encoding unstable: %x vs %x", enc, enc2)
			}
		}
		e := &Expect{Name: "F", Version: 2, VRID: 10, AuthType: AuthPass, AdvertInt: 1, VIPs: []netip.Addr{vip}, CheckVIPs: true}
		if r, err := Parse4(b); err == nil {
			Check(r, e)
			e.AuthType = AuthAH
			Check(r, e)
		}
		if r, err := Parse6(b, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::12"), 255); err == nil {
			e.Version = 3
			Check(r, e)
		}
	})
}
