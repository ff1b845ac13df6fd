package agentx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 2741 section 5.1 gives two encodings of OIDs, both in network byte
// order: 1.3.6.1.2.1.1.1.0 with the internet prefix compressed (n_subid 4,
// prefix 2) and 1.2.3.4 without (n_subid 4, prefix 0).
func TestOIDEncodingRFC2741Section51(t *testing.T) {
	for _, tc := range []struct {
		oid     string
		include bool
		want    string
	}{
		{"1.3.6.1.2.1.1.1.0", true, "04 02 01 00  00000001 00000001 00000001 00000000"},
		{"1.2.3.4", false, "04 00 00 00  00000001 00000002 00000003 00000004"},
		// A null OID is n_subid 0 and prefix 0 (section 5.1).
		{"", false, "00 00 00 00"},
		// 1.3.6.1.0.x cannot use the prefix: it would read as 1.3.6.1.
		{"1.3.6.1.0.7", false, "06 00 00 00  00000001 00000003 00000006 00000001 00000000 00000007"},
	} {
		e := &encoder{bo: byteOrder(FlagNetworkByteOrder)}
		e.oid(MustOID(tc.oid), tc.include)
		if got, want := e.buf, unhex(t, tc.want); !bytes.Equal(got, want) {
			t.Errorf("%s: encoded % x, want % x", tc.oid, got, want)
		}
		d := &decoder{bo: byteOrder(FlagNetworkByteOrder), b: e.buf}
		o, inc := d.oid()
		if d.err != nil || o.Compare(MustOID(tc.oid)) != 0 || inc != tc.include || len(d.b) != 0 {
			t.Errorf("%s: decoded %v include=%v err=%v", tc.oid, o, inc, d.err)
		}
	}
}

// RFC 2741 section 5.3: "foo" is a 4-octet length, the octets, and one
// pad octet to the 4-octet boundary.
func TestOctetStringPaddingRFC2741Section53(t *testing.T) {
	e := &encoder{bo: byteOrder(FlagNetworkByteOrder)}
	e.octets([]byte("foo"))
	if want := unhex(t, "00000003 666f6f00"); !bytes.Equal(e.buf, want) {
		t.Fatalf("encoded % x, want % x", e.buf, want)
	}
	e = &encoder{bo: byteOrder(0)}
	e.octets([]byte("abcd"))
	if want := unhex(t, "04000000 61626364"); !bytes.Equal(e.buf, want) {
		t.Fatalf("little endian: encoded % x, want % x", e.buf, want)
	}
}

// A Get-PDU as net-snmp's master sends it (network byte order): session 7,
// transaction 9, packet 11, one range 1.3.6.1.4.1.9586.100.5.1.1.0 with an
// empty end.
func TestDecodeGetPDU(t *testing.T) {
	b := unhex(t, `01 05 10 00  00000007 00000009 0000000b 00000024
		07 04 00 00  00000001 00002572 00000064 00000005 00000001 00000001 00000000
		00 00 00 00`)
	p, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &PDU{Header: Header{Version: 1, Type: TypeGet, Flags: FlagNetworkByteOrder, SessionID: 7, TransactionID: 9, PacketID: 11},
		Ranges: []SearchRange{{Start: MustOID("1.3.6.1.4.1.9586.100.5.1.1.0"), End: OID{}}}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("decoded %+v\nwant %+v", p, want)
	}
	again, err := p.MarshalBinary()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoded % x (%v)\nwant % x", again, err, b)
	}
}

func allPDUs() []*PDU {
	name := MustOID("1.3.6.1.4.1.9586.100.5.2.3.1.2.1")
	vbs := []Varbind{
		Int(name, -5), Str(name, "VI_1"), Octets(name, []byte{0xc6, 0x33, 0x64, 0x0a}),
		{Name: name, Type: Null}, ObjectID(MustOID("1.3.6.1.6.3.1.1.4.1.0"), MustOID("1.3.6.1.4.1.9586.100.5.2.10.0.2")),
		{Name: name, Type: IPAddress, Bytes: []byte{198, 51, 100, 2}}, Counter(name, 1<<31), Gauge(name, 7),
		Ticks(name, 12345), {Name: name, Type: Opaque, Bytes: []byte{1, 2, 3}}, Counter64Of(name, 1<<40+3),
		{Name: name, Type: NoSuchObject}, {Name: name, Type: NoSuchInstance}, {Name: name, Type: EndOfMIBView},
	}
	h := func(t PDUType) Header {
		return Header{Version: 1, Type: t, SessionID: 3, TransactionID: 4, PacketID: 5}
	}
	ctx := func(p *PDU) *PDU { p.Flags |= FlagNonDefaultContext; p.Context = "ctx"; return p }
	sub := MustOID("1.3.6.1.4.1.9586.100.5")
	return []*PDU{
		{Header: h(TypeOpen), Timeout: 5, ID: MustOID("1.3.6.1.4.1.9586.2"), Descr: "keepalived"},
		{Header: h(TypeClose), Reason: ReasonShutdown},
		{Header: h(TypeRegister), Timeout: 1, Priority: 127, ID: sub},
		{Header: h(TypeRegister), Priority: 1, RangeSubID: 9, UpperBound: 3, ID: sub, InstanceReg: true},
		ctx(&PDU{Header: h(TypeUnregister), Priority: 127, ID: sub}),
		{Header: h(TypeGet), Ranges: []SearchRange{{Start: sub, Include: true, End: OID{}}, {Start: OID{}, End: OID{}}}},
		ctx(&PDU{Header: h(TypeGetNext), Ranges: []SearchRange{{Start: sub, End: MustOID("1.3.6.1.4.1.9586.100.6")}}}),
		{Header: h(TypeGetBulk), NonRepeaters: 1, MaxRepetitions: 10, Ranges: []SearchRange{{Start: sub, End: OID{}}}},
		{Header: h(TypeTestSet), Varbinds: vbs[:3]},
		{Header: h(TypeCommitSet)}, {Header: h(TypeUndoSet)}, {Header: h(TypeCleanupSet)},
		{Header: h(TypeNotify), Varbinds: vbs},
		ctx(&PDU{Header: h(TypePing)}),
		{Header: h(TypeIndexAllocate), Varbinds: vbs[:1]},
		{Header: h(TypeIndexDeallocate), Varbinds: vbs[:1]},
		{Header: h(TypeAddAgentCaps), ID: sub, Descr: "The MIB module for Keepalived"},
		{Header: h(TypeRemoveAgentCaps), ID: sub},
		{Header: h(TypeResponse), SysUpTime: 99, Error: ParseError, Index: 2, Varbinds: vbs},
	}
}

// Every PDU type survives encode then decode, in both byte orders.
func TestRoundTripEveryPDUType(t *testing.T) {
	for _, nbo := range []bool{false, true} {
		for _, p := range allPDUs() {
			if nbo {
				p.Flags |= FlagNetworkByteOrder
			}
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatalf("%v: %v", p.Type, err)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("%v (nbo=%v): %v", p.Type, nbo, err)
			}
			if p.InstanceReg {
				p.Flags |= FlagInstanceRegistration
			}
			normalize(p)
			normalize(got)
			if !reflect.DeepEqual(got, p) {
				t.Errorf("%v (nbo=%v):\n got %+v\nwant %+v", p.Type, nbo, got, p)
			}
			if nbo && b[2]&FlagNetworkByteOrder == 0 || !nbo && b[2]&FlagNetworkByteOrder != 0 {
				t.Errorf("%v: flags %#x", p.Type, b[2])
			}
		}
	}
}

// normalize makes nil and empty OIDs/slices compare equal.
func normalize(p *PDU) {
	if p.ID == nil {
		p.ID = OID{}
	}
	for i := range p.Varbinds {
		v := &p.Varbinds[i]
		if v.OID == nil {
			v.OID = OID{}
		}
		if v.Bytes == nil {
			v.Bytes = []byte{}
		}
	}
}

func TestMarshalDoesNotChangeReceiver(t *testing.T) {
	p := allPDUs()[2]
	before := *p
	if _, err := p.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*p, before) {
		t.Fatal("MarshalBinary changed its receiver")
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := (&PDU{Header: Header{Type: TypeResponse, Flags: FlagNetworkByteOrder}, Varbinds: []Varbind{Str(MustOID("1.3.6.1.4.1"), "x")}}).MarshalBinary()
	setLen := func(b []byte, n uint32) []byte {
		b = append([]byte(nil), b...)
		b[16], b[17], b[18], b[19] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"header cut", good[:19], ErrShort},
		{"version 2", append([]byte{2}, good[1:]...), ErrVersion},
		{"type 0", append([]byte{1, 0}, good[2:]...), ErrType},
		{"type 19", append([]byte{1, 19}, good[2:]...), ErrType},
		{"length not aligned", setLen(good, 5), ErrPayloadLength},
		{"length beyond data", setLen(good, uint32(len(good))), ErrPayloadLength},
		{"length huge", setLen(good, 1<<30), ErrTooLarge},
		{"payload cut", setLen(good[:len(good)-4], uint32(len(good)-24)), ErrShort},
		{"string past end", setLen(append(good[:40:40], 0, 0, 0, 200), 24), ErrShort},
		{"trailing", setLen(append(append([]byte(nil), good...), 0, 0, 0, 0, 0), uint32(len(good)-20+5)), ErrPayloadLength},
	} {
		_, err := Unmarshal(tc.b)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	// Field-level errors inside a well-framed payload.
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"oid too long", "00000000 0000 0000  0005 0000 " + "81 00 00 00", ErrOIDTooLong},
		{"oid prefix pushes past 128", "00000000 0000 0000  0005 0000 " + "7c 02 00 00", ErrOIDTooLong},
		{"include 2", "00000000 0000 0000  0005 0000 " + "00 00 02 00", ErrInclude},
		{"unknown type", "00000000 0000 0000  0009 0000 00 00 00 00", ErrValueType},
		{"ipaddress of 5", "00000000 0000 0000  0040 0000 00 00 00 00  00000005 0102030405000000", ErrValueLength},
		{"trailing short", "00000000 0000 0000  0005 0000 00 00 00 00  00", ErrPayloadLength},
		{"trailing aligned", "00000000 0000 0000  0005 0000 00 00 00 00  00000000", ErrShort},
	} {
		pl := unhex(t, tc.payload)
		b := append(unhex(t, "01 12 10 00 00000000 00000000 00000000"), byte(len(pl)>>24), byte(len(pl)>>16), byte(len(pl)>>8), byte(len(pl)))
		_, err := Unmarshal(append(b, pl...))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReadPDUStream(t *testing.T) {
	var buf bytes.Buffer
	ps := allPDUs()
	for _, p := range ps {
		b, _ := p.MarshalBinary()
		buf.Write(b)
	}
	for _, p := range ps {
		got, err := ReadPDU(&buf)
		if err != nil || got.Type != p.Type {
			t.Fatalf("read %v: %v %v", p.Type, got, err)
		}
	}
	if _, err := ReadPDU(&buf); err == nil {
		t.Fatal("read past the end")
	}
}

func TestOIDCompare(t *testing.T) {
	ordered := []string{"", "1", "1.3", "1.3.6.1.2", "1.3.6.1.2.0", "1.3.6.1.10", "2"}
	for i := range ordered {
		for j := range ordered {
			got := MustOID(ordered[i]).Compare(MustOID(ordered[j]))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("%q vs %q: %d want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if _, err := ParseOID("1.x"); err == nil {
		t.Error("1.x parsed")
	}
	if s := MustOID(".1.3.6").String(); s != ".1.3.6" {
		t.Errorf("String %q", s)
	}
}

func TestVarbindStringLikeSnmpwalk(t *testing.T) {
	n := MustOID("1.3.6.1.4.1.9586.100.5.1.3.2.0")
	for _, tc := range []struct {
		v    Varbind
		want string
	}{
		{Str(n, "kgtest"), `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = STRING: "kgtest"`},
		{Octets(n, []byte{0, 0, 0, 0}), `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = Hex-STRING: 00 00 00 00 `},
		{Str(n, ""), `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = ""`},
		{Gauge(n, 51), `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = Gauge32: 51`},
		{Int(n, -1), `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = INTEGER: -1`},
		{Varbind{Name: n, Type: IPAddress, Bytes: []byte{198, 51, 100, 2}}, `.1.3.6.1.4.1.9586.100.5.1.3.2.0 = IpAddress: 198.51.100.2`},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("got %s\nwant %s", got, tc.want)
		}
	}
}
