package httpget

import "errors"

// Sentinel errors. A failed Check returns an *Error whose Kind is one of
// the check-outcome sentinels below; errors.Is matches both the Kind and
// the underlying cause (e.g. syscall.ECONNREFUSED, context.Canceled).
var (
	// ErrSocket: the socket could not be set up (bind, SO_MARK,
	// SO_BINDTODEVICE). keepalived reschedules without counting a failure.
	ErrSocket = errors.New("socket setup failed")
	// ErrConnect: the connection was refused or reset, or the host was
	// unreachable.
	ErrConnect = errors.New("connection failed")
	// ErrUnreachable: connect() failed at once with ENETUNREACH/ENETDOWN.
	ErrUnreachable = errors.New("network unreachable")
	// ErrTimeout: a phase did not finish within the connect timeout or
	// the context deadline. Error.Phase says which.
	ErrTimeout = errors.New("timeout")
	// ErrTLS: the TLS handshake failed.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrSend: the request could not be written.
	ErrSend = errors.New("cannot send request")
	// ErrRead: reading the response failed (e.g. reset by peer).
	ErrRead = errors.New("read error")
	// ErrNoData: the connection closed before a complete header block.
	ErrNoData = errors.New("no data received")
	// ErrBodyTooLarge: the body exceeded Target.MaxBodySize.
	ErrBodyTooLarge = errors.New("response body too large")
	// ErrStatus: the status code is not in Target.StatusCodes.
	ErrStatus = errors.New("HTTP status code error")
	// ErrDigestMismatch: the body digest differs from Target.Digest.
	ErrDigestMismatch = errors.New("MD5 digest error")
	// ErrRegex: the regex did not match (or, with regex_no_match, did).
	ErrRegex = errors.New("regex match failed")
	// ErrCanceled: the context was canceled (not a deadline).
	ErrCanceled = errors.New("check canceled")

	// ErrProtocol, ErrStatusCodeSyntax and ErrDigestSyntax are
	// configuration errors from ParseProtocol, ParseStatusCodes and
	// ParseDigest.
	ErrProtocol         = errors.New("invalid http_protocol version")
	ErrStatusCodeSyntax = errors.New("Invalid HTTP_GET status code") //nolint:staticcheck // keepalived's wording
	ErrDigestSyntax     = errors.New("invalid digest")
)

// Phase is the step of a check in which it failed.
type Phase int

// Phases of one check, in order.
const (
	PhaseConnect   Phase = iota // TCP connect (and socket setup)
	PhaseHandshake              // TLS handshake, shares the connect deadline
	PhaseWrite                  // sending the request
	PhaseFirstRead              // waiting for the first response bytes
	PhaseRead                   // reading the rest of the response
	PhaseVerify                 // status code, digest and regex checks
)

func (p Phase) String() string {
	switch p {
	case PhaseConnect:
		return "connect"
	case PhaseHandshake:
		return "handshake"
	case PhaseWrite:
		return "write"
	case PhaseFirstRead:
		return "first-read"
	case PhaseRead:
		return "read"
	case PhaseVerify:
		return "verify"
	}
	return "unknown"
}

// Error is a failed check.
type Error struct {
	Kind  error // one of the check-outcome sentinels
	Phase Phase
	// Msg is keepalived's text for this outcome ("Timeout WEB read",
	// "Connection failed", "HTTP status code error to", ...): genhash
	// prints it alone, the checker logs it as "<Msg> server <rs>.".
	Msg string
	Err error // underlying cause, may be nil
}

func (e *Error) Error() string {
	s := e.Msg
	if s == "" {
		s = e.Kind.Error()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is match both the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
