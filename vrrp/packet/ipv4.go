package packet

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv4 header length without options, and the AH header keepalived uses
// (RFC 2402 with a 96-bit ICV):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Next Header=112| Payload Len=4 |          RESERVED             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|        Security Parameters Index (= sender's IPv4 address)    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Sequence Number Field                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          ICV: HMAC-MD5 truncated to 96 bits (12 bytes)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The ICV is keyed with the 8-byte auth_pass and covers the IP header (TOS,
// fragment offset and header checksum zeroed, and TTL too for unicast
// peers), the AH header with a zero ICV, and the VRRP message.
const (
	IPv4HeaderLen = 20
	AHLen         = 24
	ICVLen        = 12
	ahPayloadLen  = 4 // 32-bit words minus 2 (RFC 2402 §2.2)
)

// IPv4TOS is what keepalived puts in the TOS byte (network control).
const IPv4TOS = 0xc0

// AH is a decoded IPsec AH header.
type AH struct {
	NextHeader uint8
	PayloadLen uint8
	SPI        uint32
	Seq        uint32
	ICV        [ICVLen]byte
}

// Received is a packet taken off a raw socket and framed, but not yet
// checked against any virtual router. Build it with Parse4 or Parse6 and
// hand it to Check.
type Received struct {
	IPv6     bool
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or IPv6 hop limit; -1 when the socket did not say.
	TTL int
	// TotalLen is the IPv4 Total Length field (0 for IPv6).
	TotalLen int
	// AH is set when the IPv4 protocol was AH.
	AH *AH
	// VRID and Version are peeked from the VRRP header so a shell can
	// dispatch the packet before it is checked.
	VRID, Version uint8
	// Msg is the VRRP message (after any AH header).
	Msg []byte

	raw   []byte // whole IPv4 datagram, for the AH ICV and the PASS offset
	ipLen int    // IPv4 header length including options
}

// Parse4 frames an IPv4 datagram as read from a raw IPPROTO_VRRP or
// IPPROTO_AH socket (the kernel leaves the IP header in place). It only
// fails when the buffer cannot hold the headers; the error text is
// keepalived's.
func Parse4(b []byte) (*Received, error) {
	if len(b) < IPv4HeaderLen || b[0]>>4 != 4 || int(b[0]&0x0f)*4 < IPv4HeaderLen ||
		len(b) < int(b[0]&0x0f)*4+HeaderLen {
		return nil, &DiscardError{ErrLength, fmt.Sprintf("IPv4 VRRP packet too short - %d bytes", len(b))}
	}
	ihl := int(b[0]&0x0f) * 4
	r := &Received{
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
		TTL:      int(b[8]),
		TotalLen: int(binary.BigEndian.Uint16(b[2:4])),
		raw:      b,
		ipLen:    ihl,
	}
	off := ihl
	switch b[9] {
	case ProtoVRRP:
	case ProtoAH:
		if len(b) < ihl+AHLen+HeaderLen {
			return nil, &DiscardError{ErrLength, fmt.Sprintf("IPv4 VRRP packet with AH too short - %d bytes", len(b))}
		}
		h := b[ihl : ihl+AHLen]
		r.AH = &AH{
			NextHeader: h[0],
			PayloadLen: h[1],
			SPI:        binary.BigEndian.Uint32(h[4:8]),
			Seq:        binary.BigEndian.Uint32(h[8:12]),
			ICV:        [ICVLen]byte(h[12:24]),
		}
		off += AHLen
	default:
		return nil, &DiscardError{ErrNotVRRP, fmt.Sprintf("IPv4 packet with protocol %d is not VRRP", b[9])}
	}
	r.Msg = b[off:]
	r.Version, r.VRID = r.Msg[0]>>4, r.Msg[1]
	return r, nil
}

// Parse6 frames the payload of an IPv6 raw socket (the kernel strips the
// IPv6 header; src comes from recvmsg, dst from IPV6_PKTINFO and hopLimit
// from IPV6_HOPLIMIT, -1 if absent).
func Parse6(msg []byte, src, dst netip.Addr, hopLimit int) (*Received, error) {
	if len(msg) < HeaderLen {
		return nil, &DiscardError{ErrLength, fmt.Sprintf("IPv6 VRRP packet too short - %d bytes", len(msg))}
	}
	return &Received{
		IPv6: true, Src: src, Dst: dst, TTL: hopLimit, Msg: msg,
		Version: msg[0] >> 4, VRID: msg[1],
	}, nil
}

// IPv4Header holds the IPv4 fields a sender chooses.
type IPv4Header struct {
	TOS      uint8
	ID       uint16
	TTL      uint8
	Src, Dst netip.Addr
}

// AHConfig asks Encode4 to add an AH header.
type AHConfig struct {
	Key [AuthDataLen]byte
	Seq uint32
	// Unicast zeroes the TTL in the ICV, as keepalived does for unicast peers.
	Unicast bool
}

// Encode4 builds a whole IPv4 datagram (for an IP_HDRINCL socket) carrying
// a, with the VRRP checksum, the AH ICV when ah is not nil, and the IP
// header checksum filled in. a is not changed.
func Encode4(h IPv4Header, a *Advert, ah *AHConfig) ([]byte, error) {
	if !h.Src.Is4() || !h.Dst.Is4() {
		return nil, fmt.Errorf("%w: IPv4 header needs IPv4 addresses, got %v and %v", ErrAddrList, h.Src, h.Dst)
	}
	if a.IPv6 {
		return nil, fmt.Errorf("%w: IPv6 advert in an IPv4 packet", ErrAddrList)
	}
	msg, err := a.Marshal(h.Src, h.Dst)
	if err != nil {
		return nil, err
	}
	hl := IPv4HeaderLen
	if ah != nil {
		hl += AHLen
	}
	b := make([]byte, hl+len(msg))
	b[0] = 4<<4 | IPv4HeaderLen/4
	b[1] = h.TOS
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	binary.BigEndian.PutUint16(b[4:6], h.ID)
	b[8] = h.TTL
	b[9] = ProtoVRRP
	s, d := h.Src.As4(), h.Dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	copy(b[hl:], msg)
	if ah != nil {
		b[9] = ProtoAH
		x := b[IPv4HeaderLen : IPv4HeaderLen+AHLen]
		x[0] = ProtoVRRP
		x[1] = ahPayloadLen
		copy(x[4:8], s[:])
		binary.BigEndian.PutUint32(x[8:12], ah.Seq)
		icv := ahICV(b, IPv4HeaderLen, ah.Key, ah.Unicast)
		copy(x[12:24], icv[:])
	}
	binary.BigEndian.PutUint16(b[10:12], Checksum(0, b[:IPv4HeaderLen]))
	return b, nil
}

// ahICV computes the AH ICV of datagram b whose IP header is ipLen bytes
// long, without changing b.
func ahICV(b []byte, ipLen int, key [AuthDataLen]byte, unicast bool) [ICVLen]byte {
	hdr := make([]byte, ipLen+AHLen)
	copy(hdr, b)
	hdr[1] = 0            // TOS
	hdr[6], hdr[7] = 0, 0 // flags + fragment offset
	hdr[10], hdr[11] = 0, 0
	if unicast {
		hdr[8] = 0
	}
	clear(hdr[ipLen+12 : ipLen+AHLen])
	m := hmac.New(md5.New, key[:])
	m.Write(hdr)
	m.Write(b[ipLen+AHLen:])
	var icv [ICVLen]byte
	copy(icv[:], m.Sum(nil))
	return icv
}
