package check

import (
	"net/netip"
	"testing"

	"keepalived-go/config"
)

// A checker connects where keepalived's would: the real server's port
// unless its connection says otherwise, port 0 where the model says
// keepalived connects to port 0, and no default port of its own for any
// kind (SMTP_CHECK and DNS_CHECK included: 2.2.7 has none).
func TestConnOfPorts(t *testing.T) {
	rs := &config.RealServer{Addr: netip.MustParseAddr("203.0.113.11"), Port: 80}
	fw := &config.RealServer{Addr: netip.MustParseAddr("203.0.113.12")}
	cases := []struct {
		name string
		kind config.CheckerKind
		rs   *config.RealServer
		conn *config.Connection
		want string
	}{
		{"real server's port", config.TCPCheck, rs, nil, "203.0.113.11:80"},
		{"connect_port", config.TCPCheck, rs, &config.Connection{ConnectPort: 81}, "203.0.113.11:81"},
		{"port 0 as keepalived", config.HTTPGet, rs, &config.Connection{ConnectPortZero: true}, "203.0.113.11:0"},
		{"connect_ip keeps the port", config.TCPCheck, rs, &config.Connection{ConnectIP: netip.MustParseAddr("203.0.113.50")}, "203.0.113.50:80"},
		{"SMTP on a fwmark real server", config.SMTPCheck, fw, nil, "203.0.113.12:0"},
		{"DNS on a fwmark real server", config.DNSCheck, fw, nil, "203.0.113.12:0"},
	}
	for _, c := range cases {
		ck := &config.Checker{Kind: c.kind, Conn: c.conn, Options: &config.HTTPOptions{URLs: []config.URL{{Path: "/"}}}}
		chk, err := NewChecker(ck, Env{RS: c.rs})
		if err != nil {
			t.Fatal(err)
		}
		var got netip.AddrPort
		switch ch := chk.(type) {
		case *TCPCheck:
			got = ch.Conn.Dst
		case *HTTPCheck:
			got = ch.Targets[0].Addr
		case *SMTPCheck:
			got = ch.Conn.Dst
		case *DNSCheck:
			got = ch.Conn.Dst
		}
		if got.String() != c.want {
			t.Errorf("%s: connects to %s, want %s", c.name, got, c.want)
		}
	}
}
