package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"keepalived-go/config"
)

func init() {
	register(config.SMTPCheck, &kind{policy: PolicySMTP, build: newSMTP, attempt: logSMTPDown, failure: smtpFailure,
		success: "Remote SMTP server %[1]s succeed on service."})
}

func logSMTPDown(e *Engine, _ *ckRun, o Outcome, err error) bool {
	if err != nil && o.Verdict == Down {
		e.log.Infof("SMTP_CHECK %s", err.Error())
	}
	return false
}

func smtpFailure(_ string, err error) string { return "SMTP_CHECK " + err.Error() }

// DefaultHeloName is keepalived's SMTP_CHECK helo_name default.
const DefaultHeloName = "smtpchecker.keepalived.org"

// smtpBufMax is keepalived's SMTP_BUFF_MAX: a reply line is read into a
// buffer of that size.
const smtpBufMax = 512

// SMTPCheck is SMTP_CHECK: keepalived's dialogue of banner 220, HELO, 250,
// QUIT and any reply line. Each step has connect_timeout on its own.
type SMTPCheck struct {
	Conn     Conn
	HeloName string
	// Timeout is connect_timeout, per step. 0 is what keepalived gives a
	// (deprecated) host block without connect_timeout of its own: its
	// conn_opts are allocated zeroed, and smtp_check_end_handler only
	// fills in timeouts that are unset (UINT_MAX). A step registered with
	// a 0 timeout expires on the checker's next loop turn, so only what
	// is done by then passes (a loopback connect, a reply already
	// received); anything that needs a round trip times out. stepNow
	// stands for that turn.
	Timeout time.Duration
}

// stepNow is how long a step with a 0 timeout may take: keepalived's
// next loop turn (its timerfd is armed 1 ns ahead; it measured about 4 us).
const stepNow = 50 * time.Microsecond

// step is the timeout of one step of the dialogue.
func (c *SMTPCheck) step() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return stepNow
}

func newSMTP(ck *config.Checker, env Env) (Checker, error) {
	c := &SMTPCheck{Conn: connOf(ck, env.RS), HeloName: DefaultHeloName, Timeout: ck.ConnectTimeout}
	if ck.SMTPOpts() != nil && ck.SMTPOpts().HeloName != "" {
		c.HeloName = ck.SMTPOpts().HeloName
	}
	return c, nil
}

// smtpError carries keepalived's log text ("Bad HELO response from server
// [198.51.100.11]:25"); the engine prefixes "SMTP_CHECK ".
type smtpError struct {
	kind error
	msg  string
}

func (e *smtpError) Error() string { return e.msg }
func (e *smtpError) Unwrap() error { return e.kind }

// Check runs the dialogue once.
func (c *SMTPCheck) Check(ctx context.Context) error {
	pair := "[" + c.Conn.Dst.Addr().String() + "]:" + fmt.Sprint(c.Conn.Dst.Port())
	fail := func(kind error, format string) error {
		return &smtpError{kind, fmt.Sprintf(format, pair)}
	}
	conn, err := c.Conn.dialTCP(ctx, time.Now().Add(c.step()))
	if err != nil {
		if errors.Is(err, ErrSocket) {
			return err
		}
		if errors.Is(err, ErrTimeout) {
			return &smtpError{ErrTimeout, "Connection timeout to server " + pair}
		}
		return &smtpError{ErrConnect, "Error connecting to server " + pair}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, smtpBufMax)
	readLine := func() ([]byte, error) {
		n := 0
		for {
			if err := c.deadline(ctx, conn); err != nil {
				return nil, err
			}
			if n >= smtpBufMax-1 {
				n = 0 // keepalived logs the overflow and starts over
			}
			r, err := conn.Read(buf[n : smtpBufMax-1])
			if err != nil {
				if isTimeout(err) {
					return nil, fail(ErrTimeout, "Read timeout from server %s")
				}
				return nil, fail(ErrConnect, "Read failure from server %s")
			}
			n += r
			if bytes.IndexByte(buf[:n], '\n') >= 0 {
				return buf[:n], nil
			}
		}
	}
	writeLine := func(s string) error {
		if err := c.deadline(ctx, conn); err != nil {
			return err
		}
		if _, err := conn.Write([]byte(s)); err != nil {
			if isTimeout(err) {
				return fail(ErrTimeout, "Write timeout to server %s")
			}
			return fail(ErrConnect, "Write failure to server %s")
		}
		return nil
	}
	line, err := readLine()
	if err != nil {
		return err
	}
	if smtpStatus(line) != 220 {
		return fail(ErrReply, "Bad greeting banner from server %s")
	}
	if err := writeLine("HELO " + c.HeloName + "\r\n"); err != nil {
		return err
	}
	if line, err = readLine(); err != nil {
		return err
	}
	if smtpStatus(line) != 250 {
		return fail(ErrReply, "Bad HELO response from server %s")
	}
	if err := writeLine("QUIT\r\n"); err != nil {
		return err
	}
	_, err = readLine()
	return err
}

func (c *SMTPCheck) deadline(ctx context.Context, conn net.Conn) error {
	if ctx.Err() != nil {
		return &smtpError{ErrTimeout, "Read timeout from server " + c.Conn.Dst.String()}
	}
	return conn.SetDeadline(time.Now().Add(c.step()))
}

// smtpStatus is keepalived's smtp_get_status: exactly three leading digits
// followed by a space or the end of the data, else -1.
func smtpStatus(b []byte) int {
	if len(b) < 3 {
		return -1
	}
	n := 0
	for _, ch := range b[:3] {
		if ch < '0' || ch > '9' {
			return -1
		}
		n = n*10 + int(ch-'0')
	}
	if len(b) > 3 && b[3] != ' ' {
		return -1
	}
	return n
}
