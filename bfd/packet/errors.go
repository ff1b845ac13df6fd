package packet

import "errors"

// One sentinel per reason a received Control packet is discarded: RFC 5880
// §6.8.6, and keepalived's own checks (ErrPollFinal, ErrDiag, and a Length
// that must equal the datagram's size). Errors of this package wrap exactly
// one of them; receivers count drops with errors.Is.
var (
	// ErrTooShort: fewer than 24 bytes (§6.8.6 "less than the minimum
	// correct value").
	ErrTooShort = errors.New("bfd: packet too short")
	// ErrLengthMismatch: the Length field is not the datagram's size
	// (keepalived; §6.8.6 only refuses a Length beyond the payload).
	ErrLengthMismatch = errors.New("bfd: length field mismatch")
	// ErrAuthSection: the A bit with a section that does not fit (§6.8.6,
	// Length below 26 with A set; §4.1 Auth Len).
	ErrAuthSection = errors.New("bfd: malformed authentication section")
	// ErrVersion: version is not 1.
	ErrVersion = errors.New("bfd: unsupported version")
	// ErrDetectMult: Detect Mult is zero.
	ErrDetectMult = errors.New("bfd: zero detect multiplier")
	// ErrMultipoint: the M bit is set.
	ErrMultipoint = errors.New("bfd: multipoint bit set")
	// ErrMyDiscr: My Discriminator is zero.
	ErrMyDiscr = errors.New("bfd: zero my discriminator")
	// ErrYourDiscr: Your Discriminator is zero and State is not Down or
	// AdminDown.
	ErrYourDiscr = errors.New("bfd: zero your discriminator out of Down")
	// ErrPollFinal: both P and F (keepalived).
	ErrPollFinal = errors.New("bfd: both poll and final set")
	// ErrDiag: Diag beyond 8 (keepalived).
	ErrDiag = errors.New("bfd: invalid diagnostic")

	// ErrNoSession: Your Discriminator names no session, or it is zero
	// and no session has the source address (§6.8.6). Receivers return it.
	ErrNoSession = errors.New("bfd: no session for packet")
	// ErrTTL: the TTL/hop limit check of RFC 5881 §5 (GTSM), stretched by
	// keepalived's max_hops. Receivers return it.
	ErrTTL = errors.New("bfd: TTL/hop limit too low")
	// ErrAuth: the A bit is set but no authentication is in use (§6.8.6;
	// keepalived has none). Receivers return it.
	ErrAuth = errors.New("bfd: authentication not in use")
	// ErrAdminDown: the session is AdminDown (§6.8.6). Receivers return it.
	ErrAdminDown = errors.New("bfd: session is AdminDown")
)

// DiscardError explains a drop: Text is keepalived's log line for the same
// case, Reason the sentinel.
type DiscardError struct {
	Reason error
	Text   string
}

func (e *DiscardError) Error() string { return e.Text }
func (e *DiscardError) Unwrap() error { return e.Reason }

// Reasons lists every sentinel, for counters that want a fixed label set.
var Reasons = []error{ErrTooShort, ErrLengthMismatch, ErrAuthSection, ErrVersion, ErrDetectMult,
	ErrMultipoint, ErrMyDiscr, ErrYourDiscr, ErrPollFinal, ErrDiag, ErrNoSession, ErrTTL, ErrAuth, ErrAdminDown}
