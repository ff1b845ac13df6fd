package check

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"keepalived-go/config"
	"keepalived-go/notify"
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
	// Runner runs MISC_CHECK scripts (nil: notify.ExecRunner).
	Runner notify.Runner
	// Users resolves MISC_CHECK users (nil: notify.OSUserDB).
	Users notify.UserDB
	// Log receives the lines a checker logs while it runs (the regex
	// matcher's); nil drops them.
	Log func(string)
}

// kindSpec is one row of the checker table: how to build the checker and
// which of keepalived's retry policies and attempt bounds it has.
type kindSpec struct {
	policy Policy
	// phases: how many connect_timeout periods one attempt may use
	// (keepalived arms connect_timeout per I/O step).
	phases int
	build  func(ck *config.Checker, env Env) (Checker, error)
}

// kinds is the one table of checker kinds.
var kinds = map[config.CheckerKind]kindSpec{
	config.HTTPGet:   {PolicyHTTP, 4, newHTTP},
	config.SSLGet:    {PolicyHTTP, 4, newHTTP},
	config.TCPCheck:  {PolicyTCP, 1, newTCP},
	config.SMTPCheck: {PolicySMTP, 7, newSMTP},
	config.DNSCheck:  {PolicyDNS, 1, newDNS},
	config.UDPCheck:  {PolicyUDP, 1, newUDP},
	config.PingCheck: {PolicyUDP, 1, newPing},
	config.MiscCheck: {PolicyMisc, 0, newMisc},
	config.FileCheck: {PolicyFile, 0, newFile},
}

// NewChecker builds the checker of one config block.
func NewChecker(ck *config.Checker, env Env) (Checker, error) {
	if ck.Kind == config.BFDCheck {
		name := ""
		if ck.BFD != nil {
			name = ck.BFD.Name
		}
		return nil, fmt.Errorf("BFD_CHECK %s: %w", name, ErrNotSupported)
	}
	spec, ok := kinds[ck.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, ck.Kind)
	}
	return spec.build(ck, env)
}

// TimingOf returns the scheduler timing of a checker block.
func TimingOf(ck *config.Checker) (Timing, error) {
	spec, ok := kinds[ck.Kind]
	if !ok {
		return Timing{}, fmt.Errorf("%w: %s", ErrUnknownKind, ck.Kind)
	}
	t := Timing{
		Policy:           spec.policy,
		DelayLoop:        ck.DelayLoop,
		DelayBeforeRetry: ck.DelayBeforeRetry,
		Retry:            max(ck.Retry, 0),
		Warmup:           ck.Warmup,
		Alpha:            ck.Alpha,
		Steps:            1,
		AttemptTimeout:   time.Duration(spec.phases) * ck.ConnectTimeout,
	}
	if ck.HTTP != nil {
		t.Steps = max(len(ck.HTTP.URLs), 1)
		t.FastRecovery = ck.HTTP.FastRecovery
	}
	switch ck.Kind {
	case config.MiscCheck:
		if ck.Misc != nil {
			t.AttemptTimeout = ck.Misc.Timeout
		}
		if t.AttemptTimeout <= 0 {
			t.AttemptTimeout = ck.DelayLoop
		}
	case config.FileCheck:
		// No probe: the file is re-read often (keepalived uses inotify)
		// and its state is known at once.
		t.DelayLoop, t.Warmup, t.Alpha, t.Retry = FilePollInterval, 0, false, 0
		t.AttemptTimeout = FilePollInterval
	}
	if t.AttemptTimeout <= 0 {
		t.AttemptTimeout = 5 * time.Second
	}
	return t, nil
}

// FilePollInterval is how often FILE_CHECK files are re-read.
const FilePollInterval = time.Second

// connOf resolves connect_ip/connect_port/bindto/bind_port against the real
// server.
func connOf(ck *config.Checker, rs *config.RealServer, defPort int) Conn {
	co := ck.Conn
	if co == nil {
		co = &config.Connection{}
	}
	ip := rs.Addr
	if co.ConnectIP.IsValid() {
		ip = co.ConnectIP
	}
	port := rs.Port
	if co.ConnectPort != 0 {
		port = co.ConnectPort
	} else if port == 0 {
		port = defPort
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
