package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldens are packets as keepalived 2.2.7 and FRR bfdd 8.4 send them,
// written out field by field (RFC 5880 §4.1).
var goldens = []struct {
	name string
	hex  string
	want Control
}{
	{
		// keepalived's first packet: Down, idle_tx 1 s, min_rx 50 ms, mult 3.
		name: "keepalived down",
		hex:  "20 40 03 18  8a 12 34 56  00 00 00 00  00 0f 42 40  00 00 c3 50  00 00 00 00",
		want: Control{Version: 1, State: Down, DetectMult: 3, MyDiscr: 0x8a123456,
			DesiredMinTx: 1000000, RequiredMinRx: 50000},
	},
	{
		// Up with a poll sequence after the switch from idle_tx to min_tx.
		name: "up poll",
		hex:  "20 e0 05 18  00 00 00 02  9e 3c 71 b0  00 00 27 10  00 00 27 10  00 00 00 00",
		want: Control{Version: 1, State: Up, Poll: true, DetectMult: 5, MyDiscr: 2, YourDiscr: 0x9e3c71b0,
			DesiredMinTx: 10000, RequiredMinRx: 10000},
	},
	{
		// FRR's answer to a poll: Final, echo rx 50 ms advertised.
		name: "frr final",
		hex:  "20 d0 03 18  09 f1 5b 30  8a 12 34 56  00 00 c3 50  00 00 c3 50  00 00 c3 50",
		want: Control{Version: 1, State: Up, Final: true, DetectMult: 3, MyDiscr: 0x09f15b30, YourDiscr: 0x8a123456,
			DesiredMinTx: 50000, RequiredMinRx: 50000, RequiredMinEchoRx: 50000},
	},
	{
		// Down after expiry, diag 1 (Control Detection Time Expired).
		name: "down expired",
		hex:  "21 40 03 18  00 00 00 07  00 00 00 00  00 0f 42 40  00 00 c3 50  00 00 00 00",
		want: Control{Version: 1, Diag: DiagExpired, State: Down, DetectMult: 3, MyDiscr: 7,
			DesiredMinTx: 1000000, RequiredMinRx: 50000},
	},
	{
		// Simple password authentication (RFC 5880 §4.2): type 1, len 7, key 1, "abcd".
		name: "auth simple",
		hex:  "20 44 03 1f  00 00 00 01  00 00 00 00  00 0f 42 40  00 0f 42 40  00 00 00 00  01 07 01 61 62 63 64",
		want: Control{Version: 1, State: Down, DetectMult: 3, MyDiscr: 1,
			DesiredMinTx: 1000000, RequiredMinRx: 1000000, Auth: &Auth{Type: 1, Data: []byte{1, 'a', 'b', 'c', 'd'}}},
	},
	{
		// AdminDown with C and D bits, diag 7.
		name: "admindown cpi demand",
		hex:  "27 0a 01 18  00 00 00 09  00 00 00 0a  00 00 00 01  00 00 00 02  00 00 00 03",
		want: Control{Version: 1, Diag: DiagAdminDown, State: AdminDown, CPI: true, Demand: true, DetectMult: 1,
			MyDiscr: 9, YourDiscr: 10, DesiredMinTx: 1, RequiredMinRx: 2, RequiredMinEchoRx: 3},
	},
}

func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			b := mustHex(t, g.hex)
			var c Control
			if err := c.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c, g.want) {
				t.Fatalf("decoded\n %+v\nwant\n %+v", c, g.want)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			enc, err := g.want.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, b) {
				t.Fatalf("encoded %x\nwant    %x", enc, b)
			}
		})
	}
}

// Decoding copies: the caller may reuse its buffer.
func TestUnmarshalKeepsNoReference(t *testing.T) {
	b := mustHex(t, goldens[4].hex)
	var c Control
	if err := c.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xff
	}
	if !reflect.DeepEqual(c, goldens[4].want) {
		t.Fatalf("decoded value changed with the buffer: %+v", c)
	}
}

// Marshal never changes its receiver (unlike gobgp's BFDHeader, whose
// Length is written back).
func TestMarshalDoesNotChangeReceiver(t *testing.T) {
	c := goldens[4].want
	c.Auth = &Auth{Type: 1, Data: []byte{1, 'x'}}
	before := c
	beforeAuth := *c.Auth
	if _, err := c.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, before) || !reflect.DeepEqual(*c.Auth, beforeAuth) {
		t.Fatalf("receiver changed: %+v", c)
	}
}

func TestMarshalRefusesFieldsThatDoNotFit(t *testing.T) {
	for _, c := range []Control{
		{Version: 8},
		{Version: 1, Diag: 32},
		{Version: 1, State: 4},
		{Version: 1, Auth: &Auth{Data: make([]byte, 230)}},
	} {
		if _, err := c.MarshalBinary(); err == nil {
			t.Errorf("%+v encoded", c)
		}
	}
}

// TestDiscardReasons: one case per discard rule of RFC 5880 §6.8.6 that a
// packet alone decides, plus keepalived's own, each with keepalived's log
// text and in keepalived's order of checks (the first failing rule wins).
func TestDiscardReasons(t *testing.T) {
	valid := "20 40 03 18  00 00 00 01  00 00 00 00  00 0f 42 40  00 0f 42 40  00 00 00 00"
	patch := func(off int, v ...byte) []byte {
		b := mustHex(t, valid)
		copy(b[off:], v)
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want error
		text string
	}{
		{"23 bytes", mustHex(t, valid)[:23], ErrTooShort, "Packet is too small: 23 bytes"},
		{"empty", nil, ErrTooShort, "Packet is too small: 0 bytes"},
		{"length field above payload", patch(3, 25), ErrLengthMismatch, "Packet size mismatch: length field: 25 bytes, buffer size: 24 bytes"},
		{"length field below payload", append(mustHex(t, valid), 0), ErrLengthMismatch, "Packet size mismatch: length field: 24 bytes, buffer size: 25 bytes"},
		{"auth bit with 24 bytes", patch(1, 0x44), ErrAuthSection, "Packet has the auth bit but 24 bytes"},
		{"auth len beyond packet", append(patch(1, 0x44, 3, 27), 1, 9, 0), ErrAuthSection, "Packet auth length 9 does not fit 27 bytes"},
		{"auth len 1", append(patch(1, 0x44, 3, 26), 1, 1), ErrAuthSection, "Packet auth length 1 does not fit 26 bytes"},
		{"version 0", patch(0, 0x00), ErrVersion, "Packet is of unsupported version: 0"},
		{"version 2", patch(0, 0x40), ErrVersion, "Packet is of unsupported version: 2"},
		{"version before mult", patch(0, 0x40, 0x40, 0), ErrVersion, "Packet is of unsupported version: 2"},
		{"detect mult zero", patch(2, 0), ErrDetectMult, "Packet 'detection multiplier' field is zero"},
		{"multipoint", patch(1, 0x41), ErrMultipoint, "Packet has 'multipoint' flag"},
		{"my discr zero", patch(4, 0, 0, 0, 0), ErrMyDiscr, "Packet 'my discriminator' field is zero"},
		{"your discr zero in Init", patch(1, 0x80), ErrYourDiscr, "Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown"},
		{"your discr zero in Up", patch(1, 0xc0), ErrYourDiscr, "Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown"},
		{"poll and final", patch(1, 0x70), ErrPollFinal, "Packet has both poll and final  flags set"},
		{"diag 9", patch(0, 0x29), ErrDiag, "Packet has invalid 'diag' field: 9"},
		{"diag 31", patch(0, 0x3f), ErrDiag, "Packet has invalid 'diag' field: 31"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err.Error() != c.text {
				t.Fatalf("text = %q\nwant   %q", err.Error(), c.text)
			}
			n := 0
			for _, r := range Reasons {
				if errors.Is(err, r) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%v wraps %d sentinels", err, n)
			}
		})
	}
}

// Valid edge cases §6.8.6 lets through.
func TestAcceptedEdges(t *testing.T) {
	for name, h := range map[string]string{
		"your discr zero in AdminDown": "20 00 03 18  00 00 00 01  00 00 00 00  00 0f 42 40  00 0f 42 40  00 00 00 00",
		"your discr zero in Down":      "20 40 03 18  00 00 00 01  00 00 00 00  00 0f 42 40  00 0f 42 40  00 00 00 00",
		"diag 8":                       "28 40 03 18  00 00 00 01  00 00 00 00  00 0f 42 40  00 0f 42 40  00 00 00 00",
		"zero intervals":               "20 c0 ff 18  ff ff ff ff  00 00 00 01  00 00 00 00  00 00 00 00  00 00 00 00",
	} {
		if _, err := Decode(mustHex(t, h)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStrings(t *testing.T) {
	if s := fmtAll(); s != "AdminDown Down Init Up Unknown|No Diagnostic,Control Detection Time Expired,Echo Function Failed,Neighbor Signaled Session Down,Forwarding Plane Reset,Path Down,Concatenated Path Down,Administratively Down,Reverse Concatenated Path Down,Unknown" {
		t.Fatal(s)
	}
}

func fmtAll() string {
	var st, dg []string
	for s := State(0); s <= 4; s++ {
		st = append(st, s.String())
	}
	for d := Diag(0); d <= 9; d++ {
		dg = append(dg, d.String())
	}
	return strings.Join(st, " ") + "|" + strings.Join(dg, ",")
}
