package check

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// PING_CHECK goes down when the real server stops answering and comes back
// when it answers again, over IPv4 and IPv6, between two namespaces.
func TestPingCheckDownAndUp(t *testing.T) {
	lan := nettest.NewLAN(t)
	checker := lan.AddNode("chk", "198.51.100.1/24", "2001:db8::1/64")
	target := lan.AddNode("rs", "198.51.100.2/24", "2001:db8::2/64")
	for _, c := range []struct{ addr, prefix string }{{"198.51.100.2", "/24"}, {"2001:db8::2", "/64"}} {
		pc := &PingCheck{Conn: Conn{Dst: netip.AddrPortFrom(netip.MustParseAddr(c.addr), 0)}}
		ping := func() error {
			return checker.Do(func() error {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				defer cancel()
				return pc.Check(ctx)
			})
		}
		nettest.WaitFor(t, 5*time.Second, c.addr+" answering", func() bool { return ping() == nil })
		target.MustExec("ip", "addr", "del", c.addr+c.prefix, "dev", "eth0")
		if err := ping(); err == nil {
			t.Errorf("%s removed: ping check still up", c.addr)
		} else {
			t.Logf("%s removed: %v", c.addr, err)
		}
		args := []string{"ip", "addr", "add", c.addr + c.prefix, "dev", "eth0"}
		if c.prefix == "/64" {
			args = append(args, "nodad")
		}
		target.MustExec(args...)
		nettest.WaitFor(t, 5*time.Second, c.addr+" answering again", func() bool { return ping() == nil })
	}
}
