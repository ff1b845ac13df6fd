package check

import (
	"context"
	"crypto/tls"
	"net/netip"
	"time"

	"keepalived-go/config"
	"keepalived-go/internal/script"
)

// Checker probes a real server once. ctx carries the only deadline.
type Checker interface {
	Check(ctx context.Context) error
}

// StepChecker is a checker whose keepalived schedule walks several steps,
// one per attempt: the urls of HTTP_GET/SSL_GET.
type StepChecker interface {
	Checker
	Steps() int
	CheckStep(ctx context.Context, step int) error
}

// WeightChecker is a checker that also sets a dynamic weight (MISC_CHECK
// misc_dynamic, FILE_CHECK): the returned delta is added to the real
// server's configured weight. keepalived keeps the last delta when the
// check fails, and drops it when the checker goes down.
type WeightChecker interface {
	Checker
	CheckWeight(ctx context.Context) (delta int, err error)
}

// Env is what a checker needs beyond its own config block.
type Env struct {
	VS     *config.VirtualServer
	RS     *config.RealServer
	Config *config.Config
	// TLS is the client config for SSL_GET (nil: default, no verify).
	TLS *tls.Config
	// Runner runs MISC_CHECK scripts (nil: script.ExecRunner).
	Runner script.Runner
	// Log receives the lines a checker logs while it runs (the regex
	// matcher's); nil drops them.
	Log func(string)
}

// FilePollInterval is how often FILE_CHECK files are re-read.
const FilePollInterval = time.Second

// connOf resolves connect_ip/connect_port/bindto/bind_port against the real
// server. There is no per-kind default port (keepalived 2.2.7 has none):
// a checker connects where its conn_opts say, port 0 included.
func connOf(ck *config.Checker, rs *config.RealServer) Conn {
	co := ck.Conn
	if co == nil {
		co = &config.Connection{}
	}
	ip := rs.Addr
	if co.ConnectIP.IsValid() {
		ip = co.ConnectIP
	}
	port := rs.Port
	switch {
	case co.ConnectPortZero:
		port = 0
	case co.ConnectPort != 0:
		port = co.ConnectPort
	}
	c := Conn{Dst: netip.AddrPortFrom(ip, uint16(port)), BindIf: co.BindIf, FWMark: co.FWMark}
	if co.BindTo.IsValid() || co.BindPort != 0 {
		c.Bind = netip.AddrPortFrom(co.BindTo, uint16(co.BindPort))
	}
	return c
}

// setBuf fills b with keepalived's filler ("keepalived check - " repeated),
// used as UDP and ICMP payload.
func setBuf(b []byte) []byte {
	const s = "keepalived check - "
	for i := range b {
		b[i] = s[i%len(s)]
	}
	return b
}
