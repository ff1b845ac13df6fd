package check

import (
	"errors"

	"keepalived-go/check/httpget"
)

// Sentinel errors of a failed attempt. Checkers wrap them with the detail
// keepalived logs.
var (
	// ErrSocket: the socket could not be set up (bind, SO_MARK,
	// SO_BINDTODEVICE). keepalived logs "... Rescheduling." and tries
	// again after delay_loop without counting a failure.
	ErrSocket = errors.New("socket setup failed")
	// ErrConnect: refused, reset or unreachable.
	ErrConnect = errors.New("connection failed")
	// ErrTimeout: no answer within connect_timeout (misc_timeout).
	ErrTimeout = errors.New("timeout")
	// ErrReply: the peer answered, but not what the checker requires.
	ErrReply = errors.New("bad reply")
	// ErrScript: a MISC_CHECK script exited non-zero or was killed.
	ErrScript = errors.New("script failed")
	// ErrFault: a FILE_CHECK file puts the real server in fault state.
	ErrFault = errors.New("tracked file fault")
	// ErrUnknownKind: a checker kind this package does not know.
	ErrUnknownKind = errors.New("unknown checker kind")
)

func asHTTPError(err error, target **httpget.Error) bool { return errors.As(err, target) }

// isHTTPKind classifies httpget failures into the metric result classes.
func isHTTPKind(err error, class string) bool {
	var he *httpget.Error
	if !errors.As(err, &he) {
		return false
	}
	switch class {
	case "timeout":
		return he.Kind == httpget.ErrTimeout
	case "connect":
		return he.Kind == httpget.ErrConnect || he.Kind == httpget.ErrUnreachable || he.Kind == httpget.ErrTLS ||
			he.Kind == httpget.ErrSend || he.Kind == httpget.ErrRead
	}
	return true
}
