package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
)

func TestMailTexts(t *testing.T) {
	vs, rs := "[198.51.100.10]:tcp:80", "[198.51.100.11]:tcp:80"
	m, ok := VRRPInstanceMail("HA_LVS", "ETH0", StateMaster)
	cases := []struct{ got, want Mail }{
		{m, Mail{"[HA_LVS] VRRP Instance ETH0 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="}},
		{must(VRRPInstanceMail("HA_LVS", "ETH0", StateBackup)), Mail{"[HA_LVS] VRRP Instance ETH0 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="}},
		{must(VRRPInstanceMail("HA_LVS", "ETH0", StateFault)), Mail{"[HA_LVS] VRRP Instance ETH0 - Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="}},
		{must(VRRPInstanceMail("HA_LVS", "ETH0", StateStop)), Mail{"[HA_LVS] VRRP Instance ETH0 - Stopping", "=> VRRP Instance stopping <="}},
		{must(VRRPInstanceMail("HA_LVS", "ETH0", StateDeleted)), Mail{"[HA_LVS] VRRP Instance ETH0 - Deleted", "=> VRRP Deleted at reload <="}},
		{must(VRRPGroupMail("HA_LVS", "G", StateFault)), Mail{"[HA_LVS] VRRP Group G - Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="}},
		{must(VRRPGroupMail("HA_LVS", "G", StateStop)), Mail{"[HA_LVS] VRRP Group G - Stopping", "=> All VRRP group instances are now stopping <="}},
		{RealServerMail("HA_LVS", vs, rs, false, "=> CHECK failed on service : HTTP request failed <="),
			Mail{"[HA_LVS] Realserver [198.51.100.11]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN", "=> CHECK failed on service : HTTP request failed <="}},
		{RealServerRemovedMail("HA_LVS", vs, rs, true), Mail{"[HA_LVS] Realserver [198.51.100.11]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN", "=> Shutting down <="}},
		{VirtualServerMail("HA_LVS", vs, true, QuorumMailBody(true, false, 1, 0, 1, 200)),
			Mail{"[HA_LVS] Virtualserver [198.51.100.10]:tcp:80 - UP", "=> Gained quorum 1+0=1 <= 200 <="}},
	}
	if !ok {
		t.Fatal("MASTER mail not ok")
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %+v\nwant %+v", c.got, c.want)
		}
	}
	if _, ok := VRRPInstanceMail("R", "I", StateUnknown); ok {
		t.Error("mail for unknown state")
	}
	if got := QuorumMailBody(false, true, 3, 1, 2, 0); got != "=> Starting with quorum down 3+1=2 <= 0 <=" {
		t.Error(got)
	}
	long := must(VRRPInstanceMail(strings.Repeat("r", 300), "I", StateMaster))
	if len(long.Subject) != 255 {
		t.Errorf("subject not cut to 255: %d", len(long.Subject))
	}
}

func must(m Mail, ok bool) Mail {
	if !ok {
		panic("no mail")
	}
	return m
}

func TestResolveSMTPServer(t *testing.T) {
	lookup := func(_ context.Context, h string) ([]netip.Addr, error) {
		if h == "localhost" {
			return []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, errors.New("nxdomain")
	}
	cases := []struct {
		host, port string
		want       string
		err        bool
	}{
		{"127.0.0.1", "", "127.0.0.1:25", false},
		{"127.0.0.1", "2525", "127.0.0.1:2525", false},
		{"::1", "25", "[::1]:25", false},
		{"localhost", "", "[::1]:25", false},
		{"127.0.0.1:25", "", "", true}, // keepalived takes the port as a separate word only
		{"nowhere.invalid", "", "", true},
		{"127.0.0.1", "0", "", true},
		{"127.0.0.1", "65536", "", true},
	}
	for _, c := range cases {
		got, err := ResolveSMTPServer(context.Background(), c.host, c.port, lookup)
		if (err != nil) != c.err {
			t.Errorf("%s %s: err %v", c.host, c.port, err)
			continue
		}
		if err == nil && got.String() != c.want {
			t.Errorf("%s %s: %s, want %s", c.host, c.port, got, c.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidSMTPServer) {
			t.Errorf("%s: error %v not ErrInvalidSMTPServer", c.host, err)
		}
	}
}

// mailServer is a go-smtp server on 127.0.0.1 recording what it receives.
type mailServer struct {
	mu       sync.Mutex
	helo     []string
	msgs     []receivedMail
	rejectTo string
	addr     netip.AddrPort
}

type receivedMail struct {
	from string
	to   []string
	data string
}

type mailSession struct {
	s   *mailServer
	cur receivedMail
}

func (m *mailSession) Reset()        { m.cur = receivedMail{} }
func (m *mailSession) Logout() error { return nil }
func (m *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	m.cur.from = from
	return nil
}
func (m *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == m.s.rejectTo {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	m.cur.to = append(m.cur.to, to)
	return nil
}
func (m *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.cur.data = string(b)
	m.s.mu.Lock()
	m.s.msgs = append(m.s.msgs, m.cur)
	m.s.mu.Unlock()
	return nil
}

func startMailServer(t *testing.T, rejectTo string) *mailServer {
	t.Helper()
	ms := &mailServer{rejectTo: rejectTo}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ms.mu.Lock()
		ms.helo = append(ms.helo, c.Hostname())
		ms.mu.Unlock()
		return &mailSession{s: ms}, nil
	}))
	srv.Domain = "mx.example.org"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = netip.MustParseAddrPort(l.Addr().String())
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ms
}

func (ms *mailServer) received() []receivedMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]receivedMail(nil), ms.msgs...)
}

type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) logf(f string, a ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(f, a...))
	l.mu.Unlock()
}

func (l *logRec) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

var fixedNow = func() time.Time { return time.Date(2021, 3, 1, 9, 44, 8, 0, time.FixedZone("", 0)) }

func TestSMTPSenderDelivers(t *testing.T) {
	ms := startMailServer(t, "")
	var lr logRec
	s := &SMTPSender{Config: SMTPConfig{Server: ms.addr, HeloName: "ha-lvs.example.org", From: "keepalived@ha-lvs",
		To: []string{"ops@example.org", "oncall@example.org"}, Timeout: 5 * time.Second}, Logf: lr.logf, Now: fixedNow}
	mail := must(VRRPInstanceMail("HA_LVS", "ETH0", StateMaster))
	if err := s.Send(context.Background(), mail); err != nil {
		t.Fatalf("Send: %v (log %q)", err, lr.get())
	}
	got := ms.received()
	if len(got) != 1 {
		t.Fatalf("received %d mails", len(got))
	}
	if ms.helo[0] != "ha-lvs.example.org" {
		t.Errorf("HELO %q", ms.helo[0])
	}
	if got[0].from != "keepalived@ha-lvs" || strings.Join(got[0].to, ",") != "ops@example.org,oncall@example.org" {
		t.Errorf("envelope %+v", got[0])
	}
	want := "Date: Mon, 01 Mar 2021 09:44:08 +0000\r\nFrom: keepalived@ha-lvs\r\n" +
		"Subject: [HA_LVS] VRRP Instance ETH0 - Entering MASTER state\r\nX-Mailer: Keepalived\r\n" +
		"To: ops@example.org, oncall@example.org\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n"
	if strings.TrimRight(got[0].data, "\r\n") != strings.TrimRight(want, "\r\n") {
		t.Errorf("data %q\nwant %q", got[0].data, want)
	}
	if l := lr.get(); len(l) != 0 {
		t.Errorf("log %q", l)
	}
}

func TestSMTPSenderRcptRejected(t *testing.T) {
	ms := startMailServer(t, "ghost@example.org")
	var lr logRec
	s := &SMTPSender{Config: SMTPConfig{Server: ms.addr, From: "k@h", To: []string{"ops@example.org", "ghost@example.org"}, Timeout: 5 * time.Second}, Logf: lr.logf}
	err := s.Send(context.Background(), Mail{"s", "b"})
	if !errors.Is(err, ErrSMTPRejected) {
		t.Fatalf("Send: %v", err)
	}
	want := fmt.Sprintf("Error processing RCPT cmd on SMTP server [127.0.0.1]:%d. SMTP status code = 550", ms.addr.Port())
	if l := lr.get(); len(l) != 1 || l[0] != want {
		t.Errorf("log %q, want %q", l, want)
	}
	if len(ms.received()) != 0 {
		t.Error("mail delivered despite rejected recipient")
	}
	if ms.helo[0] != "localhost" {
		t.Errorf("default HELO %q", ms.helo[0])
	}
}

// TestMailerServerDown: nobody listens; Submit returns at once, the
// delivery fails with keepalived's message.
func TestMailerServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	var lr logRec
	results := make(chan error, 1)
	m := NewMailer(&SMTPSender{Config: SMTPConfig{Server: addr, From: "k@h", To: []string{"ops@example.org"}, Timeout: time.Second}, Logf: lr.logf},
		MailerOptions{OnResult: func(_ Mail, err error) { results <- err }})
	defer m.Close(context.Background())
	start := time.Now()
	if err := m.Submit(Mail{"s", "b"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Millisecond {
		t.Errorf("Submit took %v", el)
	}
	select {
	case err := <-results:
		if !errors.Is(err, ErrSMTPConnect) {
			t.Errorf("result %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no result")
	}
	want := fmt.Sprintf("SMTP connection ERROR to [127.0.0.1]:%d.", addr.Port())
	if l := lr.get(); len(l) != 1 || l[0] != want {
		t.Errorf("log %q", l)
	}
}

// TestMailerServerStalls: the server accepts and never answers; the sender
// gives up after the timeout (twice: the greeting, then QUIT, as keepalived
// does) and Submit never waits.
func TestMailerServerStalls(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var cmu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns = append(conns, c)
			cmu.Unlock()
		}
	}()
	defer func() {
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	}()
	addr := netip.MustParseAddrPort(l.Addr().String())
	var lr logRec
	results := make(chan error, 4)
	const timeout = 200 * time.Millisecond
	m := NewMailer(&SMTPSender{Config: SMTPConfig{Server: addr, From: "k@h", To: []string{"ops@example.org"}, Timeout: timeout}, Logf: lr.logf},
		MailerOptions{Workers: 1, QueueLen: 2, OnResult: func(_ Mail, err error) { results <- err }, Logf: lr.logf})
	var worst time.Duration
	var submitErrs []error
	start := time.Now()
	for i := 0; i < 4; i++ {
		s := time.Now()
		submitErrs = append(submitErrs, m.Submit(Mail{fmt.Sprintf("s%d", i), "b"}))
		if el := time.Since(s); el > worst {
			worst = el
		}
	}
	if worst > time.Millisecond {
		t.Errorf("Submit took %v", worst)
	}
	full := 0
	for _, e := range submitErrs {
		if errors.Is(e, ErrQueueFull) {
			full++
		}
	}
	if full < 1 {
		t.Errorf("queue of 2 with one stalled worker accepted 4 mails: %v", submitErrs)
	}
	select {
	case err := <-results:
		if !errors.Is(err, ErrSMTPTimeout) {
			t.Errorf("result %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sender did not give up")
	}
	if el := time.Since(start); el < 2*timeout || el > 2*timeout+3*time.Second {
		t.Errorf("gave up after %v for timeout %v", el, timeout)
	}
	want := fmt.Sprintf("Timeout reading data to remote SMTP server [127.0.0.1]:%d.", addr.Port())
	if l := lr.get(); len(l) < 2 || l[len(l)-2] != want || l[len(l)-1] != want {
		t.Errorf("log %q", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closeStart := time.Now()
	_ = m.Close(ctx)
	if el := time.Since(closeStart); el > 2*time.Second {
		t.Errorf("Close took %v", el)
	}
	if err := m.Submit(Mail{"late", "b"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
}
