package packet

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
)

// Expect is what one virtual router expects of the adverts it receives.
type Expect struct {
	Name      string // instance name, as it appears in log texts
	Interface string
	Version   uint8
	VRID      uint8
	IPv6      bool
	AuthType  AuthType
	AuthData  [AuthDataLen]byte
	// AdvertInt is the configured interval in seconds; only VRRPv2 compares it.
	AdvertInt uint16
	// VIPs are the addresses the advert must list. CheckVIPs is false when
	// keepalived would skip the list (skip_check_adv_addr and the advert
	// comes from the master already known).
	VIPs      []netip.Addr
	CheckVIPs bool
	Unicast   bool
	// Peers, when CheckPeer is set, are the only acceptable unicast sources
	// (check_unicast_src).
	Peers     []netip.Addr
	CheckPeer bool
	// PeerTTL are the unicast_peer min_ttl/max_ttl ranges, checked with
	// CheckPeer for a peer listed here.
	PeerTTL map[netip.Addr]TTLRange
}

// TTLRange is a unicast peer's accepted TTL / hop limit, bounds included.
type TTLRange struct{ Min, Max int }

func discard(reason error, format string, args ...any) error {
	return &DiscardError{Reason: reason, Text: fmt.Sprintf(format, args...)}
}

// Check validates r against e in the order keepalived 2.2.7's
// vrrp_check_packet does and decodes the advert. The error is a
// *DiscardError carrying keepalived's log text. The AH sequence number is
// not checked here: the anti-replay counter is the caller's state.
func Check(r *Received, e *Expect) (Advert, error) {
	name := e.Name
	if r.VRID != e.VRID {
		return Advert{}, discard(ErrVRID, "Unknown VRID(%d) received on interface(%s). ignoring...", r.VRID, e.Interface)
	}
	if !r.IPv6 && (r.AH != nil) != (e.AuthType == AuthAH) {
		if r.AH != nil {
			return Advert{}, discard(ErrAuthType, "(%s) Received AH header but auth type not AH", name)
		}
		return Advert{}, discard(ErrAuthType, "(%s) No AH header but auth type is AH", name)
	}

	// The whole buffer must be exactly what the header announces.
	buflen, expected := len(r.Msg), HeaderLen
	naddr := int(r.Msg[3])
	if r.IPv6 {
		expected += 16 * naddr
	} else {
		if r.Version == 2 {
			expected += AuthDataLen
		}
		expected += 4 * naddr
		buflen = len(r.raw)
		expected += r.ipLen
		if r.AH != nil {
			expected += AHLen
		}
	}
	if buflen != expected {
		dir := "short"
		if buflen > expected {
			dir = "long"
		}
		return Advert{}, discard(ErrLength, "(%s) vrrp packet too %s, length %d and expect %d", name, dir, buflen, expected)
	}
	if !e.Unicast && r.TTL != -1 && r.TTL != TTL {
		return Advert{}, discard(ErrTTL, "(%s) invalid TTL/HL. Received %d and expect %d", name, r.TTL, TTL)
	}
	if r.Version != e.Version {
		return Advert{}, discard(ErrVersion, "(%s) wrong version. Received %d and expect %d", name, r.Version, e.Version)
	}
	var a Advert
	fam := fam4
	if r.IPv6 {
		fam = fam6
	}
	if err := a.decode(r.Msg, fam); err != nil {
		// Unreachable after the length check; kept so a bug shows as a discard.
		return Advert{}, &DiscardError{ErrLength, fmt.Sprintf("(%s) %v", name, err)}
	}

	if a.Version == 2 {
		if err := checkV2Auth(r, e, &a); err != nil {
			return Advert{}, err
		}
	}
	if a.Type != TypeAdvertisement {
		return Advert{}, discard(ErrType, "(%s) Invalid packet type. %d and expect %d", name, a.Type, TypeAdvertisement)
	}
	if e.CheckVIPs && len(a.Addrs) != len(e.VIPs) {
		return Advert{}, discard(ErrAddrList, "(%s) received an unexpected ip number count %d, expected %d!", name, len(a.Addrs), len(e.VIPs))
	}
	if !r.IPv6 {
		if r.TotalLen != len(r.raw) {
			return Advert{}, discard(ErrLength, "(%s) ip_tot_len mismatch against received length. %d and received %d", name, r.TotalLen, len(r.raw))
		}
		c, err := MessageChecksum(r.Msg, a.Version, false, r.Src, r.Dst)
		if err != nil || c != 0 {
			return Advert{}, discard(ErrChecksum, "(%s) Invalid VRRPv%d checksum", name, a.Version)
		}
	}
	// IPv6: the kernel verifies the checksum (IPV6_CHECKSUM), as in keepalived.
	if r.Dst.IsMulticast() == e.Unicast {
		want, got := "mult", "un"
		if e.Unicast {
			want, got = "un", "mult"
		}
		return Advert{}, discard(ErrDestination, "(%s) Expected %sicast packet but received %sicast packet", name, want, got)
	}
	if e.CheckVIPs {
		for _, v := range e.VIPs {
			if !slices.Contains(a.Addrs, v) {
				return Advert{}, discard(ErrAddrList, "(%s) ip address associated with VRID %d not present in MASTER advert: %s", name, e.VRID, v)
			}
		}
		if e.Unicast && e.CheckPeer && !slices.Contains(e.Peers, r.Src) {
			return Advert{}, discard(ErrPeer, "(%s) unicast source address %s not a unicast peer", name, r.Src)
		}
		if rng, ok := e.PeerTTL[r.Src]; ok && e.Unicast && e.CheckPeer && r.TTL != -1 && (r.TTL < rng.Min || r.TTL > rng.Max) {
			return Advert{}, discard(ErrTTL, "(%s) TTL/HL %d not in range %d - %d", name, r.TTL, rng.Min, rng.Max)
		}
	}
	return a, nil
}

// checkV2Auth is vrrp_check_packet's VRRPv2 part: the authentication type,
// the password or the AH ICV and SPI, and the advert interval.
func checkV2Auth(r *Received, e *Expect, a *Advert) error {
	name := e.Name
	if a.AuthType > AuthAH {
		return discard(ErrInvalidAuthType, "(%s) Invalid auth type: %d", name, a.AuthType)
	}
	if a.AuthType != e.AuthType {
		return discard(ErrAuthType, "(%s) received a %d auth, expecting %d!", name, a.AuthType, e.AuthType)
	}
	switch e.AuthType {
	case AuthPass:
		// keepalived reads the password at IP Total Length - 8, so a
		// bad Total Length fails here before its own check below.
		var pw []byte
		if r.IPv6 {
			pw = r.Msg[len(r.Msg)-min(len(r.Msg), AuthDataLen):]
		} else if end := r.TotalLen; end >= AuthDataLen && end <= len(r.raw) {
			pw = r.raw[end-AuthDataLen : end]
		}
		if subtle.ConstantTimeCompare(pw, e.AuthData[:]) != 1 {
			return discard(ErrAuth, "(%s) received an invalid passwd!", name)
		}
	case AuthAH:
		if r.AH == nil {
			return discard(ErrAuthType, "(%s) No AH header but auth type is AH", name)
		}
		if r.AH.NextHeader != ProtoVRRP {
			return discard(ErrNotVRRP, "(%s) AH header for protocol %d", name, r.AH.NextHeader)
		}
		icv := ahICV(r.raw, r.ipLen, e.AuthData, e.Unicast)
		if subtle.ConstantTimeCompare(icv[:], r.AH.ICV[:]) != 1 {
			return discard(ErrAuth, "(%s) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !", name)
		}
		if s := r.Src.As4(); r.AH.SPI != binary.BigEndian.Uint32(s[:]) {
			// keepalived prints both as host-order integers of network-order data.
			var spi [4]byte
			binary.BigEndian.PutUint32(spi[:], r.AH.SPI)
			return discard(ErrAuth, "IPSEC AH : invalid IPSEC SPI value. %d and expect %d",
				binary.LittleEndian.Uint32(s[:]), binary.LittleEndian.Uint32(spi[:]))
		}
	}
	if a.AdvertInt != e.AdvertInt {
		return discard(ErrInterval, "(%s) advertisement interval mismatch mine=%d sec rcv'd=%d sec", name, e.AdvertInt, a.AdvertInt)
	}
	return nil
}
