// Package packet is the BFD Control packet codec of RFC 5880 §4.1, carried
// over UDP as RFC 5881 says. It imports nothing of ours: decoding, encoding
// and the receive checks of RFC 5880 §6.8.6 in the order keepalived 2.2.7
// makes them (bfd.c bfd_check_packet).
package packet

import (
	"encoding"
	"encoding/binary"
	"fmt"
)

// Ports and TTLs of RFC 5881. keepalived 2.2.7 listens on ControlPort only
// (it has no RFC 5883 multihop port 4784; its max_hops stretches the TTL
// check of §5 instead) and sends from a port in [MinSourcePort,
// MaxSourcePort].
const (
	ControlPort   = 3784
	MinSourcePort = 49152
	MaxSourcePort = 65535
	// TTL is what keepalived sends over IPv4 by default; HopLimit over IPv6
	// (keepalived's BFD_CONTROL_HOPLIMIT, not 255).
	TTL      = 255
	HopLimit = 64
)

// HeaderLen is the length of a Control packet without authentication.
const HeaderLen = 24

// Version is the only protocol version (RFC 5880 §4.1).
const Version = 1

// State is the Sta field (RFC 5880 §4.1).
type State uint8

const (
	AdminDown State = 0
	Down      State = 1
	Init      State = 2
	Up        State = 3
)

// String gives keepalived's names (BFD_STATE_STR).
func (s State) String() string {
	switch s {
	case AdminDown:
		return "AdminDown"
	case Down:
		return "Down"
	case Init:
		return "Init"
	case Up:
		return "Up"
	}
	return "Unknown"
}

// Diag is the Diag field (RFC 5880 §4.1).
type Diag uint8

const (
	DiagNone                 Diag = 0
	DiagExpired              Diag = 1
	DiagEchoFailed           Diag = 2
	DiagNeighborDown         Diag = 3
	DiagForwardingReset      Diag = 4
	DiagPathDown             Diag = 5
	DiagConcatPathDown       Diag = 6
	DiagAdminDown            Diag = 7
	DiagReverseConcatPathDwn Diag = 8
)

// MaxDiag is the largest code RFC 5880 defines; keepalived drops packets
// with a larger one.
const MaxDiag = DiagReverseConcatPathDwn

// String gives keepalived's texts (BFD_DIAG_STR), which its log lines use.
func (d Diag) String() string {
	switch d {
	case DiagNone:
		return "No Diagnostic"
	case DiagExpired:
		return "Control Detection Time Expired"
	case DiagEchoFailed:
		return "Echo Function Failed"
	case DiagNeighborDown:
		return "Neighbor Signaled Session Down"
	case DiagForwardingReset:
		return "Forwarding Plane Reset"
	case DiagPathDown:
		return "Path Down"
	case DiagConcatPathDown:
		return "Concatenated Path Down"
	case DiagAdminDown:
		return "Administratively Down"
	case DiagReverseConcatPathDwn:
		return "Reverse Concatenated Path Down"
	}
	return "Unknown"
}

// Control is a BFD Control packet. Intervals are in microseconds, as on the
// wire.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       My Discriminator                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      Your Discriminator                       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Desired Min TX Interval                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Required Min RX Interval                    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                 Required Min Echo RX Interval                 |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// and, when the A bit is set, an Authentication Section (RFC 5880 §4.1):
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Auth Type   |   Auth Len    |    Authentication Data...     |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The A bit is Auth != nil. keepalived implements no authentication: it
// decodes nothing of the section and drops every packet with the A bit
// (ErrAuth, reported by the receiver, not by the codec).
type Control struct {
	Version    uint8 // 3 bits
	Diag       Diag  // 5 bits
	State      State // 2 bits
	Poll       bool
	Final      bool
	CPI        bool // Control Plane Independent
	Demand     bool
	Multipoint bool
	DetectMult uint8
	MyDiscr    uint32
	YourDiscr  uint32
	// DesiredMinTx, RequiredMinRx and RequiredMinEchoRx are in µs.
	DesiredMinTx      uint32
	RequiredMinRx     uint32
	RequiredMinEchoRx uint32
	Auth              *Auth
}

// Auth is the Authentication Section, kept as bytes: Type, and Data (the
// section after Auth Type and Auth Len).
type Auth struct {
	Type uint8
	Data []byte
}

var (
	_ encoding.BinaryMarshaler   = (*Control)(nil)
	_ encoding.BinaryUnmarshaler = (*Control)(nil)
)

// Len is the Length field Marshal writes.
func (c *Control) Len() int {
	if c.Auth != nil {
		return HeaderLen + 2 + len(c.Auth.Data)
	}
	return HeaderLen
}

// UnmarshalBinary decodes one UDP payload. It checks the lengths
// (ErrTooShort, ErrLengthMismatch, ErrAuthSection) and nothing else;
// Validate makes the receive checks. It never keeps a reference to b.
func (c *Control) UnmarshalBinary(b []byte) error {
	if len(b) < HeaderLen {
		return &DiscardError{ErrTooShort, fmt.Sprintf("Packet is too small: %d bytes", len(b))}
	}
	if int(b[3]) != len(b) {
		return &DiscardError{ErrLengthMismatch, fmt.Sprintf("Packet size mismatch: length field: %d bytes, buffer size: %d bytes", b[3], len(b))}
	}
	*c = Control{
		Version:           b[0] >> 5,
		Diag:              Diag(b[0] & 0x1f),
		State:             State(b[1] >> 6),
		Poll:              b[1]&0x20 != 0,
		Final:             b[1]&0x10 != 0,
		CPI:               b[1]&0x08 != 0,
		Demand:            b[1]&0x02 != 0,
		Multipoint:        b[1]&0x01 != 0,
		DetectMult:        b[2],
		MyDiscr:           binary.BigEndian.Uint32(b[4:]),
		YourDiscr:         binary.BigEndian.Uint32(b[8:]),
		DesiredMinTx:      binary.BigEndian.Uint32(b[12:]),
		RequiredMinRx:     binary.BigEndian.Uint32(b[16:]),
		RequiredMinEchoRx: binary.BigEndian.Uint32(b[20:]),
	}
	if b[1]&0x04 == 0 {
		return nil
	}
	// RFC 5880 §6.8.6: with the A bit the Length is at least 26, and the
	// section's own length must fit the packet exactly.
	if len(b) < HeaderLen+2 {
		return &DiscardError{ErrAuthSection, fmt.Sprintf("Packet has the auth bit but %d bytes", len(b))}
	}
	if al := int(b[HeaderLen+1]); al < 2 || HeaderLen+al != len(b) {
		return &DiscardError{ErrAuthSection, fmt.Sprintf("Packet auth length %d does not fit %d bytes", al, len(b))}
	}
	c.Auth = &Auth{Type: b[HeaderLen], Data: append([]byte{}, b[HeaderLen+2:]...)}
	return nil
}

// MarshalBinary encodes c; it never changes c.
func (c *Control) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, c.Len()))
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *Control) AppendBinary(b []byte) ([]byte, error) {
	switch {
	case c.Version > 7:
		return b, fmt.Errorf("bfd: version %d does not fit 3 bits", c.Version)
	case c.Diag > 31:
		return b, fmt.Errorf("bfd: diag %d does not fit 5 bits", c.Diag)
	case c.State > 3:
		return b, fmt.Errorf("bfd: state %d does not fit 2 bits", c.State)
	case c.Len() > 255:
		return b, fmt.Errorf("bfd: packet of %d bytes does not fit the length field", c.Len())
	}
	flags := byte(c.State) << 6
	for i, set := range []bool{c.Poll, c.Final, c.CPI, c.Auth != nil, c.Demand, c.Multipoint} {
		if set {
			flags |= 0x20 >> i
		}
	}
	b = append(b, c.Version<<5|byte(c.Diag), flags, c.DetectMult, byte(c.Len()))
	for _, v := range []uint32{c.MyDiscr, c.YourDiscr, c.DesiredMinTx, c.RequiredMinRx, c.RequiredMinEchoRx} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	if c.Auth != nil {
		b = append(b, c.Auth.Type, byte(2+len(c.Auth.Data)))
		b = append(b, c.Auth.Data...)
	}
	return b, nil
}

// Validate makes the receive checks of RFC 5880 §6.8.6 that need no
// session, plus keepalived's two extra ones, in keepalived's order
// (bfd_check_packet): version, detect multiplier, multipoint, my
// discriminator, your discriminator against the state, poll with final,
// diag. The error wraps one sentinel and reads as keepalived's log line.
func (c *Control) Validate() error {
	switch {
	case c.Version != Version:
		return &DiscardError{ErrVersion, fmt.Sprintf("Packet is of unsupported version: %d", c.Version)}
	case c.DetectMult == 0:
		return &DiscardError{ErrDetectMult, "Packet 'detection multiplier' field is zero"}
	case c.Multipoint:
		return &DiscardError{ErrMultipoint, "Packet has 'multipoint' flag"}
	case c.MyDiscr == 0:
		return &DiscardError{ErrMyDiscr, "Packet 'my discriminator' field is zero"}
	case c.YourDiscr == 0 && c.State != Down && c.State != AdminDown:
		return &DiscardError{ErrYourDiscr, "Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown"}
	case c.Poll && c.Final:
		// keepalived's text has the double space.
		return &DiscardError{ErrPollFinal, "Packet has both poll and final  flags set"}
	case c.Diag > MaxDiag:
		return &DiscardError{ErrDiag, fmt.Sprintf("Packet has invalid 'diag' field: %d", c.Diag)}
	}
	return nil
}

// Decode is UnmarshalBinary followed by Validate.
func Decode(b []byte) (*Control, error) {
	c := &Control{}
	if err := c.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
