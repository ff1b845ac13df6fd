package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
)

// keepalived's buffer limits for alerts.
const (
	maxSubjectLen = 255 // MAX_HEADERS_LENGTH - 1
	maxBodyLen    = 511 // MAX_BODY_LENGTH - 1
	smtpBufferMax = 1024
)

// DefaultSMTPTimeout is smtp_connect_timeout's default.
const DefaultSMTPTimeout = 30 * time.Second

// Mail is one alert: keepalived builds the subject and body, the headers
// and envelope come from the global SMTP settings.
type Mail struct {
	Subject string
	Body    string
}

func newMail(subject, body string) Mail {
	if len(subject) > maxSubjectLen {
		subject = subject[:maxSubjectLen]
	}
	if len(body) > maxBodyLen {
		body = body[:maxBodyLen]
	}
	return Mail{Subject: subject, Body: body}
}

// VRRPInstanceMail is the alert of a vrrp_instance with smtp_alert entering
// state; ok is false for states keepalived sends nothing for.
func VRRPInstanceMail(routerID, instance, state string) (m Mail, ok bool) {
	var what, body string
	switch state {
	case StateMaster:
		what, body = "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="
	case StateBackup:
		what, body = "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case StateFault:
		what, body = "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="
	case StateStop:
		what, body = "Stopping", "=> VRRP Instance stopping <="
	case StateDeleted:
		what, body = "Deleted", "=> VRRP Deleted at reload <="
	default:
		return Mail{}, false
	}
	return newMail(fmt.Sprintf("[%s] VRRP Instance %s - %s", routerID, instance, what), body), true
}

// VRRPGroupMail is the alert of a vrrp_sync_group with smtp_alert.
func VRRPGroupMail(routerID, group, state string) (m Mail, ok bool) {
	var what, body string
	switch state {
	case StateMaster:
		what, body = "Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="
	case StateBackup:
		what, body = "Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="
	case StateFault:
		what, body = "Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="
	case StateStop:
		what, body = "Stopping", "=> All VRRP group instances are now stopping <="
	default:
		return Mail{}, false
	}
	return newMail(fmt.Sprintf("[%s] VRRP Group %s - %s", routerID, group, what), body), true
}

// RealServerMail is a checker's alert for a real server going up or down;
// vs and rs are keepalived's names for them (config's VirtualServer.Name
// and RealServerName); body is the checker's text, e.g. "=> TCP CHECK
// failed on service <=".
func RealServerMail(routerID, vs, rs string, up bool, body string) Mail {
	return newMail(fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s",
		routerID, rs, vs, upDown(up)), body)
}

// RealServerRemovedMail is the alert when a live real server is removed
// (reload) or the daemon shuts down (omega).
func RealServerRemovedMail(routerID, vs, rs string, shuttingDown bool) Mail {
	body := "=> Removing <="
	if shuttingDown {
		body = "=> Shutting down <="
	}
	return RealServerMail(routerID, vs, rs, false, body)
}

// VirtualServerMail is the alert of a virtual server's quorum change; body
// comes from QuorumMailBody (or "=> Shutting down <=").
func VirtualServerMail(routerID, vs string, up bool, body string) Mail {
	return newMail(fmt.Sprintf("[%s] Virtualserver %s - %s", routerID, vs, upDown(up)), body)
}

// QuorumMailBody is keepalived's quorum alert text; init is true for the
// state found at startup.
func QuorumMailBody(up, init bool, quorum, hysteresis uint32, threshold, weightSum int64) string {
	what := "Lost quorum"
	switch {
	case up && init:
		what = "Starting with quorum up"
	case up:
		what = "Gained quorum"
	case init:
		what = "Starting with quorum down"
	}
	s := fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, quorum, hysteresis, threshold, weightSum)
	if len(s) > 79 { // keepalived's char message[80]
		s = s[:79]
	}
	return s
}

// SMTPConfig is the global SMTP setup of keepalived.conf.
type SMTPConfig struct {
	Server   netip.AddrPort // smtp_server, resolved once (ResolveSMTPServer)
	HeloName string         // smtp_helo_name; keepalived defaults it to LocalName()
	From     string         // notification_email_from; default DefaultEmailFrom()
	To       []string       // notification_email
	Timeout  time.Duration  // smtp_connect_timeout, for connect and each reply
}

// Enabled reports whether keepalived would send mail at all.
func (c SMTPConfig) Enabled() bool { return c.Server.IsValid() && len(c.To) > 0 }

// ErrInvalidSMTPServer: smtp_server names no usable host or port.
var ErrInvalidSMTPServer = errors.New("invalid smtp server")

// ResolveSMTPServer resolves `smtp_server HOST [PORT]` as keepalived does:
// an IP literal (anything after '-' or '/' ignored, as for its address
// ranges) or else a name looked up once, first address wins; PORT
// defaults to 25. lookup nil uses net.DefaultResolver.
func ResolveSMTPServer(ctx context.Context, host, port string, lookup func(context.Context, string) ([]netip.Addr, error)) (netip.AddrPort, error) {
	if port == "" {
		port = "25"
	}
	bad := fmt.Errorf("%w: Invalid smtp server %s %s", ErrInvalidSMTPServer, host, port)
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, bad
	}
	if !strings.ContainsAny(host, "-/") {
		if a, err := netip.ParseAddr(host); err == nil {
			return netip.AddrPortFrom(a.WithZone(""), uint16(p)), nil
		}
	}
	if lookup == nil {
		lookup = func(ctx context.Context, h string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return netip.AddrPort{}, bad
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), uint16(p)), nil
}

// LocalName is keepalived's local name: the canonical name of the host
// name (its default router_id, smtp_helo_name and email domain).
func LocalName() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	if cn, err := net.LookupCNAME(h); err == nil && cn != "" {
		return strings.TrimSuffix(cn, ".")
	}
	return h
}

// DefaultEmailFrom is keepalived's default notification_email_from:
// the daemon's user name at localName ("" when either is unknown).
func DefaultEmailFrom(localName string) string {
	u, err := user.Current()
	if err != nil || localName == "" {
		return ""
	}
	return u.Username + "@" + localName
}

// Sender delivers one mail, synchronously.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// Sentinel errors of SMTPSender.
var (
	ErrSMTPConnect  = errors.New("smtp connect failed")
	ErrSMTPTimeout  = errors.New("smtp timeout")
	ErrSMTPClosed   = errors.New("smtp server closed the connection")
	ErrSMTPRejected = errors.New("smtp command rejected")
	ErrSMTPOverflow = errors.New("smtp reply too long")
)

// SMTPSender speaks keepalived's plain SMTP dialogue: wait for 220, HELO,
// MAIL FROM, one RCPT TO per address, DATA, the message, QUIT; no EHLO, no
// TLS, no AUTH, no retry (keepalived does not retry either: a failed alert
// is logged and gone). Each reply is awaited for Config.Timeout; on a
// timeout or an unexpected code it sends QUIT and gives up.
type SMTPSender struct {
	Config SMTPConfig
	Logf   Logf
	Now    func() time.Time                                                  // Date header; default time.Now (local zone)
	Dial   func(ctx context.Context, network, addr string) (net.Conn, error) // default net.Dialer
}

type smtpStage struct {
	name string // for "Error processing %s cmd"
	code int
}

// Send implements Sender.
func (s *SMTPSender) Send(ctx context.Context, m Mail) error {
	c := s.Config
	if !c.Enabled() {
		return nil
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	host := fmt.Sprintf("[%s]:%d", c.Server.Addr(), c.Server.Port())
	dial := s.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	conn, err := dial(dctx, "tcp", c.Server.String())
	timedOut := errors.Is(dctx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if timedOut {
			s.Logf.Printf("Timeout opening connection to remote SMTP server %s.", host)
			return fmt.Errorf("%w: %s: %w", ErrSMTPTimeout, host, err)
		}
		s.Logf.Printf("SMTP connection ERROR to %s.", host)
		return fmt.Errorf("%w: %s: %w", ErrSMTPConnect, host, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	sess := &smtpSession{conn: conn, timeout: timeout, host: host, logf: s.Logf}
	helo := c.HeloName
	if helo == "" {
		helo = "localhost"
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	steps := []struct {
		send  string
		stage smtpStage
	}{
		{"", smtpStage{"(E)SMTP", 220}},
		{"HELO " + helo + "\r\n", smtpStage{"HELO", 250}},
		{"MAIL FROM:<" + c.From + ">\r\n", smtpStage{"MAIL", 250}},
	}
	for _, to := range c.To {
		steps = append(steps, struct {
			send  string
			stage smtpStage
		}{"RCPT TO:<" + to + ">\r\n", smtpStage{"RCPT", 250}})
	}
	data := fmt.Sprintf("Date: %s\r\nFrom: %s\r\nSubject: %s\r\nX-Mailer: Keepalived\r\nTo: %s\r\n\r\n%s\r\n\r\n.\r\n",
		now().Format("Mon, 02 Jan 2006 15:04:05 -0700"), c.From, m.Subject, toHeader(c.To), m.Body)
	steps = append(steps,
		struct {
			send  string
			stage smtpStage
		}{"DATA\r\n", smtpStage{"DATA", 354}},
		struct {
			send  string
			stage smtpStage
		}{data, smtpStage{"BODY", 250}})

	for _, st := range steps {
		if st.send != "" {
			if err := sess.write(st.send); err != nil {
				return err
			}
		}
		code, err := sess.reply()
		if err != nil {
			if errors.Is(err, ErrSMTPTimeout) || errors.Is(err, ErrSMTPOverflow) {
				sess.quit()
			}
			return err
		}
		if code != st.stage.code {
			s.Logf.Printf("Error processing %s cmd on SMTP server %s. SMTP status code = %d", st.stage.name, host, code)
			sess.quit()
			return fmt.Errorf("%w: %s: %s: %d", ErrSMTPRejected, host, st.stage.name, code)
		}
	}
	sess.quit()
	return nil
}

// toHeader joins the recipients with ", " within keepalived's buffer.
func toHeader(to []string) string {
	var b strings.Builder
	avail := smtpBufferMax - 1
	for i, a := range to {
		if i > 0 {
			if avail < 2 {
				break
			}
			b.WriteString(", ")
			avail -= 2
		}
		if avail < len(a) {
			break
		}
		b.WriteString(a)
		avail -= len(a)
	}
	return b.String()
}

type smtpSession struct {
	conn    net.Conn
	timeout time.Duration
	host    string
	logf    Logf
	buf     []byte
}

func (s *smtpSession) write(p string) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.conn.Write([]byte(p)); err != nil {
		s.logf.Printf("Cannot send data to remote SMTP server %s.", s.host)
		return fmt.Errorf("%w: %s: %w", ErrSMTPClosed, s.host, err)
	}
	return nil
}

// reply reads up to the last line of a (possibly multi-line) reply and
// returns its code.
func (s *smtpSession) reply() (int, error) {
	tmp := make([]byte, smtpBufferMax)
	for {
		for {
			i := bytes.Index(s.buf, []byte("\r\n"))
			if i < 0 {
				break
			}
			line := s.buf[:i]
			s.buf = s.buf[i+2:]
			if len(line) > 3 && line[3] == '-' {
				continue
			}
			if len(line) < 3 {
				return -1, nil
			}
			code := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
			return code, nil
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(s.timeout))
		n, err := s.conn.Read(tmp[:smtpBufferMax-len(s.buf)])
		if n > 0 {
			if len(s.buf)+n >= smtpBufferMax {
				s.logf.Printf("Received buffer from remote SMTP server %s overflow our get read buffer length.", s.host)
				s.buf = nil
				return 0, ErrSMTPOverflow
			}
			s.buf = append(s.buf, tmp[:n]...)
			continue
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			s.logf.Printf("Timeout reading data to remote SMTP server %s.", s.host)
			return 0, fmt.Errorf("%w: %s", ErrSMTPTimeout, s.host)
		case err != nil:
			s.logf.Printf("Remote SMTP server %s has closed the connection.", s.host)
			return 0, fmt.Errorf("%w: %s", ErrSMTPClosed, s.host)
		}
	}
}

// quit sends QUIT and waits (once more up to the timeout) for the reply.
func (s *smtpSession) quit() {
	if s.write("QUIT\r\n") == nil {
		_, _ = s.reply()
	}
}

// MailerOptions configure a Mailer; zero values take the defaults.
type MailerOptions struct {
	QueueLen int // default 64
	Workers  int // parallel deliveries, default 2
	// OnResult is called after each delivery attempt.
	OnResult func(Mail, error)
	Logf     Logf
}

// Mailer delivers alerts in the background; Submit never blocks.
type Mailer struct {
	sender Sender
	opts   MailerOptions
	queue  chan Mail
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// NewMailer starts a mailer around sender.
func NewMailer(sender Sender, opts MailerOptions) *Mailer {
	if opts.QueueLen <= 0 {
		opts.QueueLen = 64
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mailer{sender: sender, opts: opts, queue: make(chan Mail, opts.QueueLen), ctx: ctx, cancel: cancel}
	for i := 0; i < opts.Workers; i++ {
		m.wg.Add(1)
		go m.work()
	}
	return m
}

func (m *Mailer) work() {
	defer m.wg.Done()
	for mail := range m.queue {
		err := m.sender.Send(m.ctx, mail)
		if m.opts.OnResult != nil {
			m.opts.OnResult(mail, err)
		}
	}
}

// Submit queues mail; ErrQueueFull when QueueLen mails wait already (the
// mail is dropped and logged), ErrClosed after Close.
func (m *Mailer) Submit(mail Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	select {
	case m.queue <- mail:
		return nil
	default:
		m.opts.Logf.Printf("SMTP alert queue full - dropping alert '%s'", mail.Subject)
		return ErrQueueFull
	}
}

// Close stops accepting mail, lets queued mail go out until ctx is done,
// then aborts deliveries in progress.
func (m *Mailer) Close(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		m.cancel()
		<-done
		return ctx.Err()
	}
}
