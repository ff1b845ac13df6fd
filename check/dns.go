package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"keepalived-go/config"
)

func init() {
	register(config.DNSCheck, &kind{policy: PolicyDNS, phases: 1, build: newDNS, attempt: logDNSDown, failure: dnsFailure})
}

func logDNSDown(e *Engine, c *ckRun, o Outcome, err error) bool {
	if err != nil && o.Verdict == Down {
		msg := err.Error()
		if o.Retries > 0 {
			msg += fmt.Sprintf(" after %d retries", o.Retries)
		}
		e.log.Infof("DNS_CHECK (%s) %s", c.rs.rsKey, msg)
	}
	return false
}

func dnsFailure(rs string, err error) string {
	return fmt.Sprintf("DNS_CHECK (%s) %s", rs, err.Error())
}

// dnsTypes is keepalived's DNS_TYPE table.
var dnsTypes = map[string]uint16{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "RRSIG": 46, "DNSKEY": 48,
}

// DNSType returns the query type of a DNS_CHECK type keyword.
func DNSType(name string) (uint16, bool) {
	t, ok := dnsTypes[strings.ToUpper(name)]
	return t, ok
}

// DNSCheck is DNS_CHECK: one query over UDP; any reply with our id, the
// QR bit and RCODE 0 is a success (keepalived does not look at the answer
// section).
type DNSCheck struct {
	Conn Conn
	Type uint16
	Name string
}

func newDNS(ck *config.Checker, env Env) (Checker, error) {
	c := &DNSCheck{Conn: connOf(ck, env.RS), Type: 6, Name: "."}
	if ck.DNSOpts() != nil {
		if ck.DNSOpts().Type != "" {
			t, ok := DNSType(ck.DNSOpts().Type)
			if !ok {
				return nil, fmt.Errorf("DNS_CHECK: unknown type %q", ck.DNSOpts().Type)
			}
			c.Type = t
		}
		if ck.DNSOpts().Name != "" {
			c.Name = ck.DNSOpts().Name
		}
	}
	return c, nil
}

// DNSQuery builds keepalived's query: RD set, one question of class IN.
// The name is split on dots as written; "." is the root.
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	b := make([]byte, 12, 12+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 0x0100)
	binary.BigEndian.PutUint16(b[4:], 1)
	if name != "." {
		for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			b = append(b, byte(len(label)))
			b = append(b, label...)
		}
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	return b
}

// dnsError carries keepalived's text ("read timeout from socket", "read
// error occurred. (rcode = 3)").
type dnsError struct {
	kind error
	msg  string
}

func (e *dnsError) Error() string { return e.msg }
func (e *dnsError) Unwrap() error { return e.kind }

// Check sends the query and waits for a matching reply until ctx ends.
func (c *DNSCheck) Check(ctx context.Context) error {
	conn, err := c.Conn.dial(ctx, "udp")
	if err != nil {
		if errors.Is(err, ErrSocket) {
			return err
		}
		return &dnsError{ErrConnect, "failed to write socket."}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	id := uint16(rand.Uint32())
	q := DNSQuery(id, c.Name, c.Type)
	if n, err := conn.Write(q); err != nil || n != len(q) {
		return &dnsError{ErrConnect, "failed to write socket."}
	}
	buf := make([]byte, 1024)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if isTimeout(err) || ctx.Err() != nil {
				return &dnsError{ErrTimeout, "read timeout from socket"}
			}
			return &dnsError{ErrConnect, fmt.Sprintf("failed to read socket; %v", err)}
		}
		if n < 12 || binary.BigEndian.Uint16(buf) != id {
			continue
		}
		flags := binary.BigEndian.Uint16(buf[2:])
		if flags&0x8000 == 0 {
			continue
		}
		if rc := flags & 0xf; rc != 0 {
			return &dnsError{ErrReply, fmt.Sprintf("read error occurred. (rcode = %d)", rc)}
		}
		return nil
	}
}
