// Package packet encodes and decodes VRRP advertisements: VRRPv2 (RFC 3768)
// and VRRPv3 (RFC 5798) over IPv4 and IPv6, with keepalived 2.2.7's
// authentication extensions (simple password and IPsec AH with HMAC-MD5-96).
//
// The package is pure: it imports nothing but the standard library and does
// no I/O. Parsing (this file, ipv4.go) only checks that the bytes are
// well-formed; whether a well-formed packet is acceptable to a given virtual
// router is decided by Check (check.go), which needs that router's settings.
//
// VRRP message, as carried in the IP payload (after the AH header when AH
// authentication is used):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	v2: |   Auth Type   |   Adver Int   |          Checksum             |
//	v3: |(rsvd) |     Max Adver Int     |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                      IPvX Address(es) (Count x 4 or 16 bytes) |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	v2 over IPv4 only:
//	|                     Authentication Data (1)                   |
//	|                     Authentication Data (2)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// v2 Adver Int is in seconds (8 bits); v3 Max Adver Int is in centiseconds
// (12 bits). The v2 checksum covers the VRRP message only; the v3 checksum
// (and any checksum over IPv6, which the kernel computes) also covers the
// IP pseudo-header (src, dst, length, protocol 112).
//
// keepalived also runs VRRPv2 over IPv6 (not in any RFC): the message then has
// no authentication data.
package packet

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Protocol numbers used in the IP header.
const (
	ProtoVRRP = 112
	ProtoAH   = 51
)

// TTL is the IPv4 TTL / IPv6 hop limit every multicast advert must carry.
const TTL = 255

// TypeAdvertisement is the only VRRP packet type defined by either RFC.
const TypeAdvertisement = 1

// PriorityStop is sent by a master that is giving up (RFC 3768 §5.3.4,
// RFC 5798 §5.2.4); PriorityOwner belongs to the address owner.
const (
	PriorityStop  = 0
	PriorityOwner = 255
)

// HeaderLen is the fixed part of the VRRP message, AuthDataLen the trailing
// v2 authentication data.
const (
	HeaderLen   = 8
	AuthDataLen = 8
)

// AuthType is the VRRPv2 Auth Type field. keepalived 2.2.7 accepts 0, 1 and 2.
type AuthType uint8

// Authentication types (RFC 2338 §5.3.6; RFC 3768 deprecated 1 and 2 but
// keepalived still implements them).
const (
	AuthNone AuthType = 0
	AuthPass AuthType = 1
	AuthAH   AuthType = 2
)

func (t AuthType) String() string {
	switch t {
	case AuthNone:
		return "NONE"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(t))
}

// Advert is one VRRP message. Fields hold the decoded wire values.
type Advert struct {
	Version  uint8 // 2 or 3
	Type     uint8 // TypeAdvertisement for every valid packet
	VRID     uint8
	Priority uint8
	// AuthType is the v2 Auth Type; always zero for v3.
	AuthType AuthType
	// AdvertInt is seconds for v2 (0..255) and centiseconds for v3
	// (0..4095; the reserved top 4 bits are dropped on decode, as keepalived does).
	AdvertInt uint16
	// Checksum as received. MarshalBinary writes it verbatim; Marshal
	// computes it.
	Checksum uint16
	// IPv6 tells how wide Addrs are on the wire. Decoding infers it from the
	// length; for a v3 message without addresses it cannot be known and stays false.
	IPv6  bool
	Addrs []netip.Addr
	// AuthData trails a v2 message over IPv4 (zeros unless AuthType is PASS).
	AuthData [AuthDataLen]byte
}

var (
	_ encoding.BinaryMarshaler   = (*Advert)(nil)
	_ encoding.BinaryUnmarshaler = (*Advert)(nil)
)

func (a *Advert) addrLen() int {
	if a.IPv6 {
		return 16
	}
	return 4
}

// hasAuthData reports whether the message carries the 8 trailing bytes.
func (a *Advert) hasAuthData() bool { return a.Version == 2 && !a.IPv6 }

// Len is the encoded length of the message.
func (a *Advert) Len() int {
	n := HeaderLen + len(a.Addrs)*a.addrLen()
	if a.hasAuthData() {
		n += AuthDataLen
	}
	return n
}

// UnmarshalBinary decodes a VRRP message (no IP header). The address family
// is inferred from the length, which is unambiguous given Count IP Addrs.
func (a *Advert) UnmarshalBinary(b []byte) error {
	return a.decode(b, famAny)
}

type family int

const (
	famAny family = iota
	fam4
	fam6
)

func (a *Advert) decode(b []byte, fam family) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: VRRP message of %d bytes is shorter than the %d-byte header", ErrLength, len(b), HeaderLen)
	}
	v := b[0] >> 4
	if v != 2 && v != 3 {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	n := int(b[3])
	rest := len(b) - HeaderLen
	var ipv6 bool
	switch {
	case v == 2 && fam != fam6 && rest == 4*n+AuthDataLen:
		ipv6 = false
	case v == 3 && fam != fam6 && rest == 4*n:
		ipv6 = false // also a v3 message without addresses: the family is unknowable, the encoding the same
	case fam != fam4 && rest == 16*n:
		ipv6 = true
	default:
		return fmt.Errorf("%w: VRRPv%d message of %d bytes does not fit %d addresses", ErrLength, v, len(b), n)
	}
	*a = Advert{
		Version:  v,
		Type:     b[0] & 0x0f,
		VRID:     b[1],
		Priority: b[2],
		Checksum: binary.BigEndian.Uint16(b[6:8]),
		IPv6:     ipv6,
	}
	if v == 2 {
		a.AuthType = AuthType(b[4])
		a.AdvertInt = uint16(b[5])
	} else {
		a.AdvertInt = binary.BigEndian.Uint16(b[4:6]) & 0x0fff
	}
	if n > 0 {
		a.Addrs = make([]netip.Addr, n)
	}
	off := HeaderLen
	for i := range a.Addrs {
		if ipv6 {
			a.Addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
			off += 16
		} else {
			a.Addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
			off += 4
		}
	}
	if a.hasAuthData() {
		copy(a.AuthData[:], b[off:off+AuthDataLen])
	}
	return nil
}

// MarshalBinary encodes the message with a.Checksum written as is. It never
// changes a. Use Marshal to get a correct checksum.
func (a *Advert) MarshalBinary() ([]byte, error) {
	return a.appendTo(nil)
}

func (a *Advert) appendTo(dst []byte) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return nil, fmt.Errorf("%w: cannot encode version %d", ErrVersion, a.Version)
	}
	if len(a.Addrs) > 255 {
		return nil, fmt.Errorf("%w: %d addresses do not fit the 8-bit count", ErrAddrList, len(a.Addrs))
	}
	if a.Version == 2 && a.AdvertInt > 255 {
		return nil, fmt.Errorf("%w: VRRPv2 advert interval %d s does not fit 8 bits", ErrInterval, a.AdvertInt)
	}
	if a.Version == 3 && a.AdvertInt > 0x0fff {
		return nil, fmt.Errorf("%w: VRRPv3 advert interval %d cs does not fit 12 bits", ErrInterval, a.AdvertInt)
	}
	b := make([]byte, a.Len())
	b[0] = a.Version<<4 | a.Type&0x0f
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	if a.Version == 2 {
		b[4] = uint8(a.AuthType)
		b[5] = uint8(a.AdvertInt)
	} else {
		binary.BigEndian.PutUint16(b[4:6], a.AdvertInt)
	}
	binary.BigEndian.PutUint16(b[6:8], a.Checksum)
	off := HeaderLen
	for _, ip := range a.Addrs {
		if a.IPv6 {
			if !ip.Is6() {
				return nil, fmt.Errorf("%w: %v in an IPv6 advert", ErrAddrList, ip)
			}
			s := ip.As16()
			off += copy(b[off:], s[:])
		} else {
			if !ip.Is4() {
				return nil, fmt.Errorf("%w: %v in an IPv4 advert", ErrAddrList, ip)
			}
			s := ip.As4()
			off += copy(b[off:], s[:])
		}
	}
	if a.hasAuthData() {
		copy(b[off:], a.AuthData[:])
	}
	return append(dst, b...), nil
}

// Marshal encodes the message with its checksum computed: over the message
// alone for VRRPv2 over IPv4, and with the src/dst pseudo-header otherwise.
// src and dst are only read in the second case.
func (a *Advert) Marshal(src, dst netip.Addr) ([]byte, error) {
	b, err := a.appendTo(nil)
	if err != nil {
		return nil, err
	}
	b[6], b[7] = 0, 0
	c, err := MessageChecksum(b, a.Version, a.IPv6, src, dst)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(b[6:8], c)
	return b, nil
}

// MessageChecksum computes the checksum of an encoded VRRP message msg. The
// checksum field inside msg is summed like any other word, so a message
// carrying a correct checksum gives 0. VRRPv2 over IPv4 is summed alone
// (RFC 3768 §5.3.8); everything else gets the pseudo-header (RFC 5798 §5.2.8,
// RFC 2460 §8.1 for IPv6).
func MessageChecksum(msg []byte, version uint8, ipv6 bool, src, dst netip.Addr) (uint16, error) {
	if version == 2 && !ipv6 {
		return Checksum(0, msg), nil
	}
	var sum uint32
	switch {
	case !ipv6 && src.Is4() && dst.Is4():
		s, d := src.As4(), dst.As4()
		sum = partial(sum, s[:])
		sum = partial(sum, d[:])
		sum += ProtoVRRP + uint32(len(msg))
	case ipv6 && src.Is6() && dst.Is6():
		s, d := src.As16(), dst.As16()
		sum = partial(sum, s[:])
		sum = partial(sum, d[:])
		sum += uint32(len(msg)) + ProtoVRRP
	default:
		return 0, fmt.Errorf("%w: pseudo-header needs %s src and dst, got %v and %v", ErrChecksum, map[bool]string{false: "IPv4", true: "IPv6"}[ipv6], src, dst)
	}
	return Checksum(sum, msg), nil
}

// Checksum is the Internet checksum (RFC 1071) of b, starting from the
// partial sum init (used for pseudo-headers).
func Checksum(init uint32, b []byte) uint16 {
	sum := partial(init, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func partial(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if sum >= 1<<31 {
			sum = sum&0xffff + sum>>16
		}
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
