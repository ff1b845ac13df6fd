package packet

import (
	"errors"
	"fmt"
)

// One sentinel per reason a packet is discarded (RFC 5798 §7.1, RFC 3768
// §7.1 for v2 authentication, plus keepalived's own checks). Errors returned
// by this package wrap exactly one of them; count them with errors.Is.
var (
	ErrLength      = errors.New("vrrp: bad packet length")
	ErrTTL         = errors.New("vrrp: bad TTL/hop limit")
	ErrVersion     = errors.New("vrrp: bad version")
	ErrType        = errors.New("vrrp: bad packet type")
	ErrVRID        = errors.New("vrrp: unknown VRID")
	ErrChecksum    = errors.New("vrrp: bad checksum")
	ErrAddrList    = errors.New("vrrp: address list mismatch")
	ErrAuthType    = errors.New("vrrp: authentication type mismatch")
	ErrAuth        = errors.New("vrrp: authentication failure")
	ErrReplay      = errors.New("vrrp: AH sequence number replayed")
	ErrInterval    = errors.New("vrrp: advertisement interval mismatch")
	ErrDestination = errors.New("vrrp: multicast/unicast destination mismatch")
	ErrPeer        = errors.New("vrrp: source is not a unicast peer")
	ErrNotVRRP     = errors.New("vrrp: not a VRRP packet")
)

// ErrInvalidAuthType is an authentication type VRRPv2 does not define
// (RFC 2787's vrrpStatsInvalidAuthType, where ErrAuthType alone is
// vrrpStatsAuthTypeMismatch). It wraps ErrAuthType, so errors.Is(err,
// ErrAuthType) holds for both; discards are counted under each apart.
var ErrInvalidAuthType = fmt.Errorf("%w: unknown type", ErrAuthType)

// DiscardError explains why a packet was dropped. Text is the message
// keepalived 2.2.7 logs for the same case, Reason the sentinel.
type DiscardError struct {
	Reason error
	Text   string
}

func (e *DiscardError) Error() string { return e.Text }
func (e *DiscardError) Unwrap() error { return e.Reason }
