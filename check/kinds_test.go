package check

import (
	"testing"
	"time"

	"keepalived-go/config"
)

// Every checker kind the configuration knows has its row in the engine's
// table, and the table has no row the configuration cannot produce.
func TestKindsCoverConfig(t *testing.T) {
	known := map[config.CheckerKind]bool{}
	for _, k := range config.CheckerKinds() {
		known[k] = true
		row := kinds[k]
		if row == nil || row.build == nil {
			t.Errorf("%s: no row in check's kind table", k)
		}
	}
	for k := range kinds {
		if !known[k] {
			t.Errorf("%s: a row for a kind config does not parse", k)
		}
	}
}

// The words of a row are keepalived's, formatted with the real server,
// the virtual server and the retries.
func TestKindLogWords(t *testing.T) {
	cases := []struct {
		kind config.CheckerKind
		line func(*kind) string
		want string
	}{
		{config.TCPCheck, func(k *kind) string { return k.success }, "TCP connection to RS success."},
		{config.TCPCheck, func(k *kind) string { return k.downAfter }, "TCP_CHECK on service RS failed after 3 retries."},
		{config.PingCheck, func(k *kind) string { return k.downAfter }, "ICMP CHECK on service RS of VS failed after 3 retries."},
		{config.HTTPGet, func(k *kind) string { return k.down }, "HTTP_CHECK on service RS failed."},
		{config.SMTPCheck, func(k *kind) string { return k.success }, "Remote SMTP server RS succeed on service."},
	}
	for _, c := range cases {
		if got := fmtLine(c.line(kinds[c.kind]), "RS", "VS", 3); got != c.want {
			t.Errorf("%s: %q, want %q", c.kind, got, c.want)
		}
	}
}

// The kinds whose every I/O step has connect_timeout of its own have no
// bound on the whole attempt (keepalived re-arms connection_to per step);
// the one-step kinds are bounded by connect_timeout, MISC_CHECK by
// misc_timeout.
func TestAttemptBounds(t *testing.T) {
	const ct = 3 * time.Second
	cases := map[config.CheckerKind]time.Duration{
		config.HTTPGet: 0, config.SSLGet: 0, config.TCPCheck: 0, config.SMTPCheck: 0,
		config.DNSCheck: ct, config.UDPCheck: ct, config.PingCheck: ct, config.MiscCheck: 7 * time.Second,
	}
	for k, want := range cases {
		ck := &config.Checker{Kind: k, ConnectTimeout: ct, DelayLoop: 10 * time.Second, Options: &config.MiscOptions{Timeout: 7 * time.Second}}
		tm, err := TimingOf(ck)
		if err != nil {
			t.Fatal(err)
		}
		if tm.AttemptTimeout != want {
			t.Errorf("%s: attempt bound %v, want %v", k, tm.AttemptTimeout, want)
		}
	}
}
