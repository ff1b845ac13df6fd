package notify

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"

	"keepalived-go/internal/nettest"
)

// listenInNetns opens a TCP listener on 127.0.0.1 inside namespace ns.
func listenInNetns(t *testing.T, ns string) net.Listener {
	t.Helper()
	var l net.Listener
	err := nettest.InNamespace(ns, func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:0"); return err })
	if err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	return l
}

var dateHeader = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r?$`)

// TestInteropSMTPDebianKeepalived: Debian's keepalived and our SMTPSender
// mail the same MASTER alert to a go-smtp server; HELO, envelope and
// message (Date aside) must be identical.
func TestInteropSMTPDebianKeepalived(t *testing.T) {
	nettest.NeedKeepalived(t)
	ns := nettest.OneLinkNS(t, "kago-notify")
	ms := &mailServer{}
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
	l := listenInNetns(t, ns)
	port := l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	dir := t.TempDir()
	conf := fmt.Sprintf(`global_defs {
  router_id KAGO_SMTP
  notification_email {
    ops@example.org
    oncall@example.org
  }
  notification_email_from keepalived@ha-lvs.example.org
  smtp_server 127.0.0.1 %d
  smtp_helo_name ha-lvs.example.org
  smtp_connect_timeout 5
}
vrrp_instance ETH0 {
  state MASTER
  interface dum0
  virtual_router_id 10
  priority 255
  advert_int 1
  smtp_alert
  virtual_ipaddress {
    198.51.100.250/32
  }
}
`, port)
	confPath := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ka := nettest.StartDaemon(t, nettest.DebianKeepalived, ns, dir, confPath)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if !nettest.Until(ctx, func() bool { return len(ms.received()) >= 1 }) {
		t.Fatalf("no mail from keepalived within 15 s:\n%s", ka.Out.String())
	}
	theirs := ms.received()[0]

	sender := &SMTPSender{Config: SMTPConfig{
		Server: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), HeloName: "ha-lvs.example.org",
		From: "keepalived@ha-lvs.example.org", To: []string{"ops@example.org", "oncall@example.org"}, Timeout: 5 * time.Second,
	}, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The server's socket lives in the namespace: connect from there.
		return dialInNetns(ns, network, addr)
	}}
	if err := sender.Send(context.Background(), must(VRRPInstanceMail("KAGO_SMTP", "ETH0", StateMaster))); err != nil {
		t.Fatalf("our Send: %v", err)
	}
	got := ms.received()
	if len(got) < 2 {
		t.Fatalf("our mail not received")
	}
	ours := got[len(got)-1]
	ms.mu.Lock()
	helos := append([]string(nil), ms.helo...)
	ms.mu.Unlock()
	if helos[0] != helos[len(helos)-1] {
		t.Errorf("HELO: keepalived %q, ours %q", helos[0], helos[len(helos)-1])
	}
	if theirs.from != ours.from || strings.Join(theirs.to, ",") != strings.Join(ours.to, ",") {
		t.Errorf("envelope: keepalived %q %q, ours %q %q", theirs.from, theirs.to, ours.from, ours.to)
	}
	if !dateHeader.MatchString(theirs.data) {
		t.Errorf("keepalived mail has no Date header: %q", theirs.data)
	}
	td := dateHeader.ReplaceAllString(theirs.data, "Date: X")
	od := dateHeader.ReplaceAllString(ours.data, "Date: X")
	if td != od {
		t.Errorf("message differs:\n keepalived %q\n ours       %q", td, od)
	}
}

// dialInNetns connects from inside namespace ns.
func dialInNetns(ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := nettest.InNamespace(ns, func() (err error) { c, err = net.DialTimeout(network, addr, 5*time.Second); return err })
	return c, err
}
