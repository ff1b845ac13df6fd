package httpget

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"keepalived-go/check/internal/sock"
)

// Target is one url of an HTTP_GET/SSL_GET checker, resolved against its
// checker, real server and virtual server.
type Target struct {
	// Addr is where to connect (connect_ip/connect_port or the real server).
	Addr netip.AddrPort
	// Bind is the local address (bindto/bind_port); zero means none.
	Bind netip.AddrPort
	// BindInterface sets SO_BINDTODEVICE (bind_if) when not empty.
	BindInterface string
	// FWMark sets SO_MARK when not zero.
	FWMark uint32

	// TLS selects SSL_GET. TLSConfig may carry client certificates; nil
	// means a default config. Peer certificates are never verified:
	// keepalived loads a CA file but never turns verification on.
	TLS       bool
	TLSConfig *tls.Config
	// ServerName is sent as SNI when not empty (enable_sni; see
	// PickServerName).
	ServerName string

	Protocol Protocol
	Path     string
	// VirtualHost is the Host header; empty means "ip:port" (see
	// PickVirtualHost).
	VirtualHost string

	// Timeout is connect_timeout. As in keepalived it bounds each phase on
	// its own (connect+handshake, write, first read, every further read;
	// for TLS all reads share one deadline). Zero leaves only ctx.
	Timeout time.Duration

	// StatusCodes accepted; the zero value accepts 200-299.
	StatusCodes StatusSet
	// Digest, when set, must equal the MD5 of the body.
	Digest *Digest
	// Regex, when set, is matched against the response (see Regex).
	Regex *Regex
	// MaxBodySize stops reading after that many body bytes; 0 means
	// unlimited like keepalived (memory use is bounded either way).
	MaxBodySize int64

	// emptyVHost is genhash -V "": a Host header with no value.
	emptyVHost bool
}

// PickVirtualHost returns the Host header keepalived uses: the url's
// virtualhost, else the checker's, else the real server's, else the
// virtual server's; "" when none is set.
func PickVirtualHost(url, checker, realServer, virtualServer string) string {
	for _, v := range []string{url, checker, realServer, virtualServer} {
		if v != "" {
			return v
		}
	}
	return ""
}

// PickServerName returns the SNI keepalived sends when enable_sni is set:
// url, checker, then virtual server virtualhost. The real server's
// virtualhost is not consulted, unlike for the Host header.
func PickServerName(enableSNI bool, url, checker, virtualServer string) string {
	if !enableSNI {
		return ""
	}
	return PickVirtualHost(url, checker, "", virtualServer)
}

// Request returns the bytes Check sends for t.
func (t Target) Request() []byte {
	return BuildRequest(t.Path, t.Protocol, t.VirtualHost, t.VirtualHost != "" || t.emptyVHost, t.Addr)
}

// Timings of one check, measured with the Check clock.
type Timings struct {
	Connect   time.Duration // TCP connect
	Handshake time.Duration // TLS handshake (0 for plain HTTP)
	FirstByte time.Duration // request written to first response bytes
	Total     time.Duration
}

// Result of one check. Fields are filled as far as the check got.
type Result struct {
	// StatusCode as keepalived extracts it; 0 when the status line does
	// not parse (never an error by itself).
	StatusCode int
	// Header is the raw header block including the final CRLFCRLF.
	Header []byte
	// ContentLength is -1 when the header has none keepalived recognises.
	ContentLength int64
	// BodyBytes counts every byte after the header, even past
	// Content-Length (keepalived's rx_bytes).
	BodyBytes int64
	// Digest is the MD5 of the body, cut at Content-Length.
	Digest Digest
	// LengthMismatch is keepalived's "content_length does not match
	// received bytes" condition, which it logs but does not fail on.
	LengthMismatch bool
	// RegexMatched: Target.Regex matched the response.
	RegexMatched bool
	Timings      Timings
}

// Option configures Check.
type Option func(*config)

type config struct {
	now   func() time.Time
	trace io.Writer
}

// WithClock sets the clock used for Timings.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTrace writes genhash's -v dump of the response to w as it arrives.
func WithTrace(w io.Writer) Option { return func(c *config) { c.trace = w } }

// Check runs one HTTP_GET/SSL_GET probe of t and verifies the status code
// and digest. A nil error means success; failures are *Error values.
func Check(ctx context.Context, t Target, opts ...Option) (Result, error) {
	res, err := Fetch(ctx, t, opts...)
	if err != nil {
		return res, err
	}
	return res, t.Verify(res)
}

// Verify applies keepalived's acceptance rules to a fetched response.
func (t Target) Verify(r Result) error {
	if !t.StatusCodes.Contains(r.StatusCode) {
		return &Error{Kind: ErrStatus, Phase: PhaseVerify, Msg: "HTTP status code error to"}
	}
	if t.Digest != nil && *t.Digest != r.Digest {
		return &Error{Kind: ErrDigestMismatch, Phase: PhaseVerify, Msg: "MD5 digest error to"}
	}
	if t.Regex != nil && r.RegexMatched == t.Regex.NoMatch {
		return &Error{Kind: ErrRegex, Phase: PhaseVerify, Msg: "Regex match failed"}
	}
	return nil
}

// Fetch sends the request and reads the whole response without judging
// status or digest. It is what genhash runs.
func Fetch(ctx context.Context, t Target, opts ...Option) (res Result, err error) {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	res = Result{ContentLength: -1}
	if err := ctx.Err(); err != nil {
		return res, ctxError(ctx, PhaseConnect, "Timeout connecting")
	}
	start := c.now()
	defer func() { res.Timings.Total = c.now().Sub(start) }()

	// Socket deadlines are wall-clock times; the injected clock only
	// measures Timings.
	connDeadline := deadline(ctx, time.Now(), t.Timeout)
	conn, err := dial(ctx, t, connDeadline)
	res.Timings.Connect = c.now().Sub(start)
	if err != nil {
		return res, err
	}
	defer conn.Close()
	// Cancellation (deadlines are set per phase) must unblock pending I/O;
	// closing is race-free where moving the deadline is not.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if t.TLS {
		hs := c.now()
		conn, err = handshake(ctx, conn, t, connDeadline)
		res.Timings.Handshake = c.now().Sub(hs)
		if err != nil {
			return res, err
		}
	}

	conn.SetDeadline(deadline(ctx, time.Now(), t.Timeout))
	if _, err := conn.Write(t.Request()); err != nil {
		if e := ioError(ctx, err, PhaseWrite, "Timeout WEB write"); e != nil {
			return res, e
		}
		return res, &Error{Kind: ErrSend, Phase: PhaseWrite, Msg: "Cannot send get request to", Err: err}
	}
	sent := c.now()

	return readResponse(ctx, conn, t, c, &res, sent)
}

// handshake runs the SSL_GET handshake on conn, with keepalived's errors.
func handshake(ctx context.Context, conn net.Conn, t Target, connDeadline time.Time) (net.Conn, error) {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if t.TLSConfig != nil {
		cfg = t.TLSConfig.Clone()
		cfg.InsecureSkipVerify = true
	}
	cfg.ServerName = t.ServerName
	tc := tls.Client(conn, cfg)
	conn.SetDeadline(connDeadline)
	if err := tc.HandshakeContext(ctx); err != nil {
		if e := ioError(ctx, err, PhaseHandshake, "Timeout connecting"); e != nil {
			return conn, e
		}
		return conn, &Error{Kind: ErrTLS, Phase: PhaseHandshake, Msg: "SSL handshake/communication error connecting to", Err: err}
	}
	return tc, nil
}

// readResponse reads the response to its end (or keepalived's earlier
// verdict) into res, timing the first byte from sent.
func readResponse(ctx context.Context, conn net.Conn, t Target, c config, res *Result, sent time.Time) (Result, error) {
	rr := newRespReader(c.trace != nil)
	rr.re.reset(t.Regex)
	defer rr.re.release()
	flush := func() {
		if out := rr.takeOut(); len(out) > 0 && c.trace != nil {
			c.trace.Write(out)
		}
	}
	fill := func() { fillResult(res, rr) }

	phase, timeoutMsg := PhaseFirstRead, "Timeout WEB read"
	conn.SetDeadline(deadline(ctx, time.Now(), t.Timeout))
	for {
		buf := rr.free()
		if len(buf) == 0 {
			// The C code reads 0 bytes here: end of stream for plain
			// TCP, an error without close_notify for OpenSSL.
			res.Digest = rr.finish(!t.TLS)
			flush()
			fill()
			if !rr.extracted {
				return *res, noData(t.TLS, false)
			}
			return *res, nil
		}
		n, err := conn.Read(buf)
		if n > 0 {
			if phase == PhaseFirstRead {
				res.Timings.FirstByte = c.now().Sub(sent)
				phase = PhaseRead
				if t.TLS {
					timeoutMsg = "Timeout SSL read"
				} else {
					timeoutMsg = "Timeout HTTP read"
				}
			}
			rr.commit(n)
			flush()
			if t.MaxBodySize > 0 && rr.rx > uint64(t.MaxBodySize) {
				fill()
				return *res, &Error{Kind: ErrBodyTooLarge, Phase: PhaseRead, Msg: "Read error with"}
			}
			switch {
			case !t.TLS && c.trace == nil && rr.complete():
				// As Session.Complete: the verdict is known without the
				// close, so it is taken as one. genhash's trace still
				// reads to the end, as keepalived's genhash prints it.
				err = io.EOF
			case !t.TLS:
				// Plain reads each get a fresh timeout; TLS reads keep
				// the deadline set when the first bytes came in.
				conn.SetDeadline(deadline(ctx, time.Now(), t.Timeout))
			}
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			res.Digest = rr.finish(true)
			flush()
			fill()
			if !rr.extracted {
				return *res, noData(t.TLS, true)
			}
			return *res, nil
		}
		if e := ioError(ctx, err, phase, timeoutMsg); e != nil {
			res.Digest = rr.finish(false)
			fill()
			return *res, e
		}
		res.Digest = rr.finish(false)
		flush()
		fill()
		if t.TLS {
			// OpenSSL errors other than a clean shutdown still hand the
			// data read so far to the response handler.
			if !rr.extracted {
				return *res, noData(true, false)
			}
			return *res, nil
		}
		return *res, &Error{Kind: ErrRead, Phase: phase, Msg: "Read error with", Err: err}
	}
}

// noData is the outcome of a stream that ended before its header block.
func noData(isTLS, clean bool) error {
	if isTLS && clean {
		return &Error{Kind: ErrNoData, Phase: PhaseRead, Msg: "SSL read error from"}
	}
	return &Error{Kind: ErrNoData, Phase: PhaseRead, Msg: "Read, no data received from "}
}

// deadline is now+timeout, or the ctx deadline if that comes first.
func deadline(ctx context.Context, now time.Time, timeout time.Duration) time.Time {
	var d time.Time
	if timeout > 0 {
		d = now.Add(timeout)
	}
	if cd, ok := ctx.Deadline(); ok && (d.IsZero() || cd.Before(d)) {
		d = cd
	}
	return d
}

func ctxError(ctx context.Context, phase Phase, timeoutMsg string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Kind: ErrTimeout, Phase: phase, Msg: timeoutMsg, Err: ctx.Err()}
	}
	return &Error{Kind: ErrCanceled, Phase: phase, Msg: "check canceled", Err: ctx.Err()}
}

// ioError classifies a failed read or write: cancellation, timeout, or
// nil for "some other error" that the caller names.
func ioError(ctx context.Context, err error, phase Phase, timeoutMsg string) error {
	if ctx.Err() != nil {
		return ctxError(ctx, phase, timeoutMsg)
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: ErrTimeout, Phase: phase, Msg: timeoutMsg, Err: err}
	}
	return nil
}

func dial(ctx context.Context, t Target, dl time.Time) (net.Conn, error) {
	// keepalived lingers 5 s on close so a proper shutdown frees the port.
	conn, err := sock.DialTCP(ctx, sock.Options{Dst: t.Addr, Bind: t.Bind, Interface: t.BindInterface, Mark: t.FWMark, Linger: 5}, dl)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		return nil, ctxError(ctx, PhaseConnect, "Timeout connecting")
	}
	return nil, ConnectError(err)
}

// ConnectError classifies a failed socket setup or connect as keepalived
// does: socket problems reschedule, refusals and timeouts count.
func ConnectError(err error) *Error {
	var sys *os.SyscallError
	var ne net.Error
	switch {
	case errors.As(err, &sys) && (sys.Syscall == "bind" || strings.HasPrefix(sys.Syscall, "setsockopt")):
		return &Error{Kind: ErrSocket, Phase: PhaseConnect, Msg: "WEB socket bind failed. Rescheduling", Err: err}
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Kind: ErrTimeout, Phase: PhaseConnect, Msg: "Timeout connecting", Err: err}
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return &Error{Kind: ErrUnreachable, Phase: PhaseConnect, Msg: "HTTP_CHECK - network unreachable", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.EHOSTDOWN), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED):
		return &Error{Kind: ErrConnect, Phase: PhaseConnect, Msg: "Connection failed", Err: err}
	}
	// keepalived treats any other connect() errno as a socket problem and
	// reschedules.
	return &Error{Kind: ErrSocket, Phase: PhaseConnect, Msg: "WEB socket bind failed. Rescheduling", Err: err}
}
