package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"

	"keepalived-go/internal/nettest"
	"keepalived-go/notify"
)

type mailbox struct {
	mu    sync.Mutex
	mails []string // "from|to,to|data"
}

func (m *mailbox) add(s string) { m.mu.Lock(); m.mails = append(m.mails, s); m.mu.Unlock() }
func (m *mailbox) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.mails...)
}

type mailSession struct {
	box  *mailbox
	from string
	to   []string
}

func (s *mailSession) AuthPlain(string, string) error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.add(s.from + "|" + strings.Join(s.to, ",") + "|" + string(b))
	return err
}
func (s *mailSession) Reset()        { s.from, s.to = "", nil }
func (s *mailSession) Logout() error { return nil }

// serveSMTP runs a real SMTP server (go-smtp) on l.
func serveSMTP(t *testing.T, l net.Listener) *mailbox {
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{box: box}, nil
	}))
	srv.Domain = "mx.example.org"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box
}

// stall accepts connections and never answers: the worst SMTP server.
func stall(t *testing.T, l net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
}

func smtpNode(t *testing.T, state string, prio, port int) string {
	dir := t.TempDir()
	conf := fmt.Sprintf(`global_defs {
   notification_email {
     ops@example.org
   }
   notification_email_from keepalived@ha-lvs
   smtp_server 127.0.0.1 %d
   smtp_connect_timeout 30
   router_id HA_LVS
}
vrrp_instance ETH0 {
    state %s
    interface eth0
    virtual_router_id 10
    priority %d
    advert_int 1
    smtp_alert
    authentication {
        auth_type PASS
        auth_pass p@ssw0rd
    }
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`, port, state, prio)
	os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf), 0o644)
	return dir
}

// One mail per state change, from notification_email_from to every
// notification_email, with keepalived's subject and body; and an SMTP server
// that is down or never answers does not delay a failover (issue 6, must-show 3).
func TestSMTPAlertsAndFailoverTime(t *testing.T) {
	nettest.Skip(t)
	bin := buildSelf(t)
	gaps := map[string]time.Duration{}
	for _, mode := range []string{"up", "down", "stalling"} {
		t.Run(mode, func(t *testing.T) {
			lan := nettest.NewLAN(t)
			n1 := lan.AddNode("n1", "198.51.100.11/24")
			n2 := lan.AddNode("n2", "198.51.100.12/24")
			var boxes []*mailbox
			var ports []int
			for _, n := range []*nettest.Node{n1, n2} {
				l, err := n.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				ports = append(ports, l.Addr().(*net.TCPAddr).Port)
				switch mode {
				case "up":
					boxes = append(boxes, serveSMTP(t, l))
				case "down":
					l.Close()
				case "stalling":
					stall(t, l)
				}
			}
			d1 := startDaemon(n1, bin, smtpNode(t, "MASTER", 200, ports[0]))
			nettest.WaitFor(t, 10*time.Second, "n1 MASTER", func() bool { return n1.HasAddr("198.51.100.10") })
			d2 := startDaemon(n2, bin, smtpNode(t, "BACKUP", 100, ports[1]))
			nettest.WaitFor(t, 10*time.Second, "n2 BACKUP", func() bool { return strings.Contains(d2.Output(), "Entering BACKUP STATE") })
			time.Sleep(1500 * time.Millisecond) // n2 has heard adverts
			start := time.Now()
			d1.Signal(syscall.SIGTERM)
			nettest.WaitFor(t, 10*time.Second, "n2 takes the VIP", func() bool { return n2.HasAddr("198.51.100.10") })
			gaps[mode] = time.Since(start)
			if mode != "up" {
				return
			}
			// Every "Entering X STATE" line is one mail, with keepalived's text.
			for i, d := range []*nettest.Proc{d1, d2} {
				var want []string
				for _, line := range strings.Split(d.Output(), "\n") {
					if i := strings.Index(line, "(ETH0) Entering "); i >= 0 {
						state := strings.Fields(line[i+len("(ETH0) Entering "):])[0]
						if m, ok := notify.VRRPInstanceMail("HA_LVS", "ETH0", state); ok {
							want = append(want, m.Subject)
						}
					}
				}
				if strings.Contains(d.Output(), ": Stopping\n") {
					// keepalived also mails when an instance stops.
					if m, ok := notify.VRRPInstanceMail("HA_LVS", "ETH0", notify.StateStop); ok {
						want = append(want, m.Subject)
					}
				}
				nettest.WaitFor(t, 5*time.Second, "mails", func() bool { return len(boxes[i].all()) >= len(want) })
				got := boxes[i].all()
				if len(got) != len(want) || len(want) == 0 {
					t.Errorf("node %d: %d mails for %d state changes: %q\n%s", i+1, len(got), len(want), got, d.Output())
				}
				for j, m := range got {
					parts := strings.SplitN(m, "|", 3)
					if parts[0] != "keepalived@ha-lvs" || parts[1] != "ops@example.org" {
						t.Errorf("node %d mail %d envelope %q %q", i+1, j, parts[0], parts[1])
					}
					if j < len(want) && !strings.Contains(parts[2], "Subject: "+want[j]) {
						t.Errorf("node %d mail %d lacks subject %q:\n%s", i+1, j, want[j], parts[2])
					}
					if !strings.Contains(parts[2], "From: keepalived@ha-lvs") {
						t.Errorf("node %d mail %d lacks From header:\n%s", i+1, j, parts[2])
					}
				}
			}
		})
	}
	t.Logf("failover (SIGTERM on MASTER to VIP on BACKUP): smtp up %v, down %v, stalling %v", gaps["up"], gaps["down"], gaps["stalling"])
	fmt.Printf("failover with SMTP up %v, down %v, stalling %v\n", gaps["up"].Round(time.Millisecond), gaps["down"].Round(time.Millisecond), gaps["stalling"].Round(time.Millisecond))
	for _, m := range []string{"down", "stalling"} {
		if d := gaps[m] - gaps["up"]; d > 150*time.Millisecond || d < -150*time.Millisecond {
			t.Errorf("failover with SMTP %s took %v, with SMTP up %v", m, gaps[m], gaps["up"])
		}
	}
}
