package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var pass = [8]byte{'p', '@', 's', 's', 'w', '0', 'r', 'd'}

// Golden messages. The checksums were summed by hand (word by word, carries
// folded) from RFC 1071 and the pseudo-headers of RFC 5798 §5.2.8 and
// RFC 2460 §8.1; the working is in the comments.
var goldens = []struct {
	name     string
	adv      Advert
	src, dst netip.Addr
	hex      string
}{
	{
		// v2 words 210a c801 0101 0000 cb00 716e 7040 7373 7730 7264
		// sum 0x3f3c1 -> f3c4 -> ~ = 0c3b
		name: "v2-ipv4-pass",
		adv: Advert{Version: 2, Type: 1, VRID: 10, Priority: 200, AuthType: AuthPass, AdvertInt: 1,
			Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.110")}, AuthData: pass},
		hex: "21 0a c8 01 01 01 0c 3b cb 00 71 6e 70 40 73 73 77 30 72 64",
	},
	{
		// pseudo c633 640c e000 0012 0070 000c + 310a 6401 0064 0000 cb00 716e
		// sum 0x3dcaa -> dcad -> ~ = 2352
		name: "v3-ipv4",
		adv: Advert{Version: 3, Type: 1, VRID: 10, Priority: 100, AdvertInt: 100,
			Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.110")}},
		src: netip.MustParseAddr("198.51.100.12"), dst: netip.MustParseAddr("224.0.0.18"),
		hex: "31 0a 64 01 00 64 23 52 cb 00 71 6e",
	},
	{
		// pseudo fe80 0001 ff02 0012 0018 0070 + 3101 ff01 0064 2001 0db8 0001
		// sum 0x35c3d -> 5c40 -> ~ = a3bf
		name: "v3-ipv6-owner",
		adv: Advert{Version: 3, Type: 1, VRID: 1, Priority: 255, AdvertInt: 100, IPv6: true,
			Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		src: netip.MustParseAddr("fe80::1"), dst: netip.MustParseAddr("ff02::12"),
		hex: "31 01 ff 01 00 64 a3 bf 2001 0db8 0000 0000 0000 0000 0000 0001",
	},
}

func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			want := mustHex(t, g.hex)
			in := g.adv
			got, err := in.Marshal(g.src, g.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal:\n got %x\nwant %x", got, want)
			}
			if !reflect.DeepEqual(in, g.adv) {
				t.Fatal("Marshal changed its receiver")
			}
			var dec Advert
			if err := dec.UnmarshalBinary(want); err != nil {
				t.Fatal(err)
			}
			exp := g.adv
			exp.Checksum = uint16(want[6])<<8 | uint16(want[7])
			if !reflect.DeepEqual(dec, exp) {
				t.Fatalf("UnmarshalBinary:\n got %+v\nwant %+v", dec, exp)
			}
			again, _ := dec.MarshalBinary()
			if !bytes.Equal(again, want) {
				t.Fatalf("MarshalBinary after decode: %x", again)
			}
			if c, _ := MessageChecksum(want, g.adv.Version, g.adv.IPv6, g.src, g.dst); c != 0 {
				t.Fatalf("checksum over a correct message = %#x, want 0", c)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	v4 := []netip.Addr{netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("198.51.100.11")}
	v6 := []netip.Addr{netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("2001:db8::11")}
	for _, a := range []Advert{
		{Version: 2, Type: 1, VRID: 1, Priority: 100, AdvertInt: 1},
		{Version: 2, Type: 1, VRID: 255, Priority: 0, AdvertInt: 255, Addrs: v4, AuthType: AuthAH},
		{Version: 2, Type: 1, VRID: 7, Priority: 50, AdvertInt: 3, Addrs: v6, IPv6: true},
		{Version: 2, Type: 1, VRID: 7, Priority: 50, AdvertInt: 3, IPv6: true},
		{Version: 3, Type: 1, VRID: 9, Priority: 254, AdvertInt: 0x0fff, Addrs: v4},
		{Version: 3, Type: 1, VRID: 9, Priority: 1, AdvertInt: 5, Addrs: v6, IPv6: true},
		{Version: 3, Type: 1, VRID: 9, Priority: 1, AdvertInt: 5},
	} {
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("%+v: %v", a, err)
		}
		if len(b) != a.Len() {
			t.Fatalf("len %d, Len() %d", len(b), a.Len())
		}
		var got Advert
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%x: %v", b, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, a)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		hex  string
		want error
	}{
		{"", ErrLength},
		{"21 0a c8 01 01 01 00", ErrLength},
		{"11 0a c8 00 01 01 00 00", ErrVersion},
		{"41 0a c8 00 01 01 00 00", ErrVersion},
		{"21 0a c8 01 01 01 00 00 cb 00 71 6e", ErrLength},    // v2 IPv4 missing auth data
		{"31 0a c8 02 00 64 00 00 cb 00 71 6e", ErrLength},    // count 2, one address
		{"31 0a c8 01 00 64 00 00 cb 00 71 6e 00", ErrLength}, // trailing byte
	} {
		var a Advert
		err := a.UnmarshalBinary(mustHex(t, tc.hex))
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.hex, err, tc.want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	for _, a := range []Advert{
		{Version: 4},
		{Version: 2, AdvertInt: 256},
		{Version: 3, AdvertInt: 0x1000},
		{Version: 3, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		{Version: 3, IPv6: true, Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.1")}},
		{Version: 3, Addrs: make([]netip.Addr, 256)},
	} {
		if _, err := a.MarshalBinary(); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
	a := Advert{Version: 3, Type: 1}
	if _, err := a.Marshal(netip.Addr{}, netip.Addr{}); !errors.Is(err, ErrChecksum) {
		t.Errorf("v3 without pseudo-header addresses: %v", err)
	}
}
