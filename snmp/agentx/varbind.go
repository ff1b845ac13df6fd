package agentx

import (
	"fmt"
	"net/netip"
	"strings"
)

// VarType is a varbind's v.type (RFC 2741 section 5.4).
type VarType uint16

// Varbind types.
const (
	Integer          VarType = 2
	OctetString      VarType = 4
	Null             VarType = 5
	ObjectIdentifier VarType = 6
	IPAddress        VarType = 64
	Counter32        VarType = 65
	Gauge32          VarType = 66
	TimeTicks        VarType = 67
	Opaque           VarType = 68
	Counter64        VarType = 70
	NoSuchObject     VarType = 128
	NoSuchInstance   VarType = 129
	EndOfMIBView     VarType = 130
)

func (t VarType) String() string {
	switch t {
	case Integer:
		return "INTEGER"
	case OctetString:
		return "STRING"
	case Null:
		return "NULL"
	case ObjectIdentifier:
		return "OID"
	case IPAddress:
		return "IpAddress"
	case Counter32:
		return "Counter32"
	case Gauge32:
		return "Gauge32"
	case TimeTicks:
		return "Timeticks"
	case Opaque:
		return "Opaque"
	case Counter64:
		return "Counter64"
	case NoSuchObject:
		return "noSuchObject"
	case NoSuchInstance:
		return "noSuchInstance"
	case EndOfMIBView:
		return "endOfMibView"
	}
	return fmt.Sprintf("VarType(%d)", uint16(t))
}

// Varbind is a name and a typed value. Integer uses Int; Counter32,
// Gauge32, TimeTicks and Counter64 use Uint; OctetString, IPAddress and
// Opaque use Bytes; ObjectIdentifier uses OID.
type Varbind struct {
	Name  OID
	Type  VarType
	Int   int32
	Uint  uint64
	Bytes []byte
	OID   OID
}

// Value constructors, for tables and tests.

// Int returns an INTEGER varbind.
func Int(name OID, v int32) Varbind { return Varbind{Name: name, Type: Integer, Int: v} }

// Str returns an OCTET STRING varbind.
func Str(name OID, v string) Varbind { return Varbind{Name: name, Type: OctetString, Bytes: []byte(v)} }

// Octets returns an OCTET STRING varbind holding raw bytes.
func Octets(name OID, v []byte) Varbind { return Varbind{Name: name, Type: OctetString, Bytes: v} }

// Gauge returns a Gauge32 (net-snmp's ASN_UNSIGNED) varbind.
func Gauge(name OID, v uint32) Varbind { return Varbind{Name: name, Type: Gauge32, Uint: uint64(v)} }

// Counter returns a Counter32 varbind.
func Counter(name OID, v uint32) Varbind {
	return Varbind{Name: name, Type: Counter32, Uint: uint64(v)}
}

// Counter64Of returns a Counter64 varbind.
func Counter64Of(name OID, v uint64) Varbind { return Varbind{Name: name, Type: Counter64, Uint: v} }

// Ticks returns a TimeTicks varbind (hundredths of a second).
func Ticks(name OID, v uint32) Varbind { return Varbind{Name: name, Type: TimeTicks, Uint: uint64(v)} }

// IP returns an IpAddress varbind; a is an IPv4 address.
func IP(name OID, a netip.Addr) Varbind {
	b := a.As4()
	return Varbind{Name: name, Type: IPAddress, Bytes: b[:]}
}

// ObjectID returns an OBJECT IDENTIFIER varbind.
func ObjectID(name OID, v OID) Varbind { return Varbind{Name: name, Type: ObjectIdentifier, OID: v} }

// String prints the varbind as snmpwalk -On does with no MIB loaded, so
// test output reads like the real tools'.
func (v Varbind) String() string {
	return v.Name.String() + " = " + v.ValueString()
}

// ValueString is the value half of String.
func (v Varbind) ValueString() string {
	switch v.Type {
	case Integer:
		return fmt.Sprintf("INTEGER: %d", v.Int)
	case OctetString:
		return octetString(v.Bytes)
	case Null:
		return "NULL"
	case ObjectIdentifier:
		return "OID: " + v.OID.String()
	case IPAddress:
		if len(v.Bytes) == 4 {
			return fmt.Sprintf("IpAddress: %d.%d.%d.%d", v.Bytes[0], v.Bytes[1], v.Bytes[2], v.Bytes[3])
		}
		return fmt.Sprintf("IpAddress: % X", v.Bytes)
	case Counter32, Gauge32, Counter64:
		return fmt.Sprintf("%s: %d", v.Type, v.Uint)
	case TimeTicks:
		return fmt.Sprintf("Timeticks: (%d) %s", v.Uint, uptime(v.Uint))
	case Opaque:
		return fmt.Sprintf("Opaque: % X", v.Bytes)
	}
	return v.Type.String()
}

// octetString prints like net-snmp: quoted when printable, else hex.
func octetString(b []byte) string {
	if len(b) == 0 {
		return `""`
	}
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			var s strings.Builder
			s.WriteString("Hex-STRING:")
			for _, c := range b {
				fmt.Fprintf(&s, " %02X", c)
			}
			s.WriteString(" ")
			return s.String()
		}
	}
	return fmt.Sprintf("STRING: %q", string(b))
}

// uptime formats hundredths of a second as net-snmp's uptime_string does.
func uptime(t uint64) string {
	cs, s := t%100, t/100
	d, h, m := s/86400, s/3600%24, s/60%60
	s %= 60
	switch d {
	case 0:
		return fmt.Sprintf("%d:%02d:%02d.%02d", h, m, s, cs)
	case 1:
		return fmt.Sprintf("1 day, %d:%02d:%02d.%02d", h, m, s, cs)
	}
	return fmt.Sprintf("%d days, %d:%02d:%02d.%02d", d, h, m, s, cs)
}
