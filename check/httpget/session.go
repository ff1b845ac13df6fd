package httpget

import (
	"crypto/md5"
	"math"
	"os"
	"syscall"
)

// Session is one plain-HTTP check whose socket belongs to the caller: the
// check engine's event loop connects, writes Request, reads into ReadBuf
// as the socket becomes readable and reports what happened. Session judges
// it with Check's rules and texts. Reset makes a Session reusable, so a
// loop running thousands of checks does not allocate a 4 KB buffer each.
type Session struct {
	t        *Target
	rr       respReader
	res      Result
	gotFirst bool
}

// Reset starts a new exchange for t. t must not change while in use.
func (s *Session) Reset(t *Target) {
	s.t = t
	if s.rr.md5 == nil {
		s.rr.md5 = md5.New()
	}
	s.rr.reset(t.Regex)
	s.res = Result{ContentLength: -1}
	s.gotFirst = false
}

// Request is what to send.
func (s *Session) Request() []byte { return s.t.Request() }

// Target is the target of the exchange.
func (s *Session) Target() *Target { return s.t }

// ReadBuf is where the next read goes. When it is empty the exchange is
// over (keepalived reads 0 bytes then): call End(false).
func (s *Session) ReadBuf() []byte { return s.rr.free() }

// Phase is the phase a timeout now would be charged to.
func (s *Session) Phase() Phase {
	if s.gotFirst {
		return PhaseRead
	}
	return PhaseFirstRead
}

// Read reports n > 0 bytes read into ReadBuf. A non-nil error ends the
// exchange (the body limit was passed).
func (s *Session) Read(n int) error {
	s.gotFirst = true
	s.rr.commit(n)
	if s.t.MaxBodySize > 0 && s.rr.rx > uint64(s.t.MaxBodySize) {
		s.fill()
		return &Error{Kind: ErrBodyTooLarge, Phase: PhaseRead, Msg: "Read error with"}
	}
	return nil
}

// Complete reports whether the whole response is in: the header block
// and as many body bytes as its Content-Length. keepalived reads on to
// the peer's close, but digests no byte past Content-Length, so ending
// here gives the same verdict and spares the event loop a wakeup for a
// FIN that comes on its own. Without Content-Length only the close ends
// the body.
func (s *Session) Complete() bool { return s.rr.complete() }

// End finishes the exchange when the stream ended (eof: the peer closed)
// or ReadBuf came back empty, and verifies status code and digest.
func (s *Session) End(eof bool) (Result, error) {
	s.res.Digest = s.rr.finish(true)
	s.fill()
	if !s.rr.extracted {
		return s.res, noData(false, eof)
	}
	return s.res, s.t.Verify(s.res)
}

// ReadFailed ends the exchange on a read error other than EAGAIN.
func (s *Session) ReadFailed(errno syscall.Errno) (Result, error) {
	s.res.Digest = s.rr.finish(false)
	s.fill()
	return s.res, &Error{Kind: ErrRead, Phase: s.Phase(), Msg: "Read error with", Err: os.NewSyscallError("read", errno)}
}

// WriteFailed is the error of a failed request write.
func (s *Session) WriteFailed(errno syscall.Errno) error {
	return &Error{Kind: ErrSend, Phase: PhaseWrite, Msg: "Cannot send get request to", Err: os.NewSyscallError("write", errno)}
}

// TimedOut is the error of a phase that outlived its timeout.
func (s *Session) TimedOut(phase Phase) error {
	msg := "Timeout connecting"
	switch phase {
	case PhaseWrite:
		msg = "Timeout WEB write"
	case PhaseFirstRead:
		msg = "Timeout WEB read"
	case PhaseRead:
		msg = "Timeout HTTP read"
	}
	return &Error{Kind: ErrTimeout, Phase: phase, Msg: msg, Err: os.ErrDeadlineExceeded}
}

func (s *Session) fill() {
	fillResult(&s.res, &s.rr)
}

func fillResult(res *Result, rr *respReader) {
	res.StatusCode = rr.status
	res.Header = rr.header
	res.BodyBytes = int64(min(rr.rx, math.MaxInt64))
	res.RegexMatched = rr.re.matched
	if rr.clen != math.MaxUint64 {
		res.ContentLength = int64(min(rr.clen, math.MaxInt64))
		res.LengthMismatch = rr.clen != rr.rx
	}
}
