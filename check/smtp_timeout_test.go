package check

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

// An SMTP_CHECK host block without connect_timeout has keepalived's 0
// timeout: every step expires on the next loop turn, so a server that
// answers after a few milliseconds times out, where the same server
// passes with a connect_timeout (issue 19, the config port's note).
func TestSMTPZeroTimeoutExpiresAtOnce(t *testing.T) {
	ap := peer(t, func(c *net.TCPConn) {
		time.Sleep(5 * time.Millisecond)
		c.Write([]byte("220 ready\r\n"))
		r := bufio.NewReader(c)
		for _, reply := range []string{"250 hello\r\n", "221 bye\r\n"} {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			c.Write([]byte(reply))
		}
	})
	with := &SMTPCheck{Conn: Conn{Dst: ap}, HeloName: DefaultHeloName, Timeout: time.Second}
	if err := with.Check(context.Background()); err != nil {
		t.Fatalf("with connect_timeout 1 s: %v", err)
	}
	zero := &SMTPCheck{Conn: Conn{Dst: ap}, HeloName: DefaultHeloName}
	start := time.Now()
	err := zero.Check(context.Background())
	if !errors.Is(err, ErrTimeout) || err.Error() != "Read timeout from server ["+ap.Addr().String()+"]:"+strconv.Itoa(int(ap.Port())) {
		t.Errorf("with connect_timeout 0: %v", err)
	}
	if d := time.Since(start); d > 4*time.Millisecond {
		t.Errorf("with connect_timeout 0 the check took %v; keepalived's expires on its next loop turn", d)
	}
}
