package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
)

// fakeEngine records the two phases of a reload; it refuses a config whose
// router_id is refuse.
type fakeEngine struct {
	name   string
	refuse string
	calls  *[]string
	cfg    *config.Config
}

func (f *fakeEngine) Run(ctx context.Context) error { <-ctx.Done(); return nil }

func (f *fakeEngine) Validate(cfg *config.Config) error {
	*f.calls = append(*f.calls, "validate "+f.name)
	if f.refuse != "" && cfg.Global.RouterID == f.refuse {
		return errors.New("(VI_1) no interface")
	}
	return nil
}

func (f *fakeEngine) Reload(cfg *config.Config) error {
	*f.calls = append(*f.calls, "reload "+f.name)
	f.cfg = cfg
	return nil
}

// reloadDaemon is a daemon over fakeEngines with the config file conf
// loaded as the running one.
func reloadDaemon(t *testing.T, conf string, engines ...*fakeEngine) (*daemon, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	d := newDaemon(options{useFile: conf}, log, config.Options{})
	cfg, err := d.load(false)
	if err != nil {
		t.Fatal(err)
	}
	d.cfg = cfg
	for _, e := range engines {
		d.engines = append(d.engines, namedEngine{e.name, e})
	}
	return d, &buf
}

const atomicConf = "global_defs {\n    router_id %s\n    umask %s\n}\n"

func writeAtomic(t *testing.T, conf, routerID, umask string) {
	t.Helper()
	s := strings.Replace(strings.Replace(atomicConf, "%s", routerID, 1), "%s", umask, 1)
	if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Finding 7 of issue 19: a reload that one engine refuses changes nothing,
// in no engine and not in the daemon's own settings (router_id for the
// dumps, the umask), and logs a failure, not "Reload finished". A config
// every engine takes reaches all of them, after all have validated it.
func TestReloadAllOrNothing(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	writeAtomic(t, conf, "RUNNING", "0177")
	var calls []string
	vrrp := &fakeEngine{name: "vrrp", refuse: "REJECTED", calls: &calls}
	lvs := &fakeEngine{name: "lvs", calls: &calls}
	d, log := reloadDaemon(t, conf, lvs, vrrp)
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)

	writeAtomic(t, conf, "REJECTED", "0022")
	d.reload()
	if got := strings.Join(calls, ", "); got != "validate lvs, validate vrrp" {
		t.Errorf("phases of a refused reload: %s", got)
	}
	if d.cfg.Global.RouterID != "RUNNING" {
		t.Errorf("running router_id after a refused reload: %s", d.cfg.Global.RouterID)
	}
	if u := syscall.Umask(0o177); u != 0o177 {
		t.Errorf("umask after a refused reload: %#o", u)
	}
	if s := log.String(); strings.Contains(s, "Reload finished") ||
		!strings.Contains(s, "Reload failed, keeping the running configuration: vrrp: (VI_1) no interface") {
		t.Errorf("log of a refused reload:\n%s", s)
	}

	calls = nil
	log.Reset()
	writeAtomic(t, conf, "ACCEPTED", "0177")
	d.reload()
	if got := strings.Join(calls, ", "); got != "validate lvs, validate vrrp, reload lvs, reload vrrp" {
		t.Errorf("phases of an accepted reload: %s", got)
	}
	if d.cfg.Global.RouterID != "ACCEPTED" || lvs.cfg != d.cfg || vrrp.cfg != d.cfg {
		t.Errorf("accepted reload: running %s, engines got %p %p, daemon has %p", d.cfg.Global.RouterID, lvs.cfg, vrrp.cfg, d.cfg)
	}
	if !strings.Contains(log.String(), "Reload finished") {
		t.Errorf("log of an accepted reload:\n%s", log.String())
	}
}

// With global_defs reload_check_config, keepalived runs its config test on
// the new file first, writes the findings to that file and refuses the
// reload unless the test passes; ours does the same, and an engine's
// refusal is written there too.
func TestReloadCheckConfig(t *testing.T) {
	dir := t.TempDir()
	conf, check := filepath.Join(dir, "keepalived.conf"), filepath.Join(dir, "check.log")
	good := "global_defs {\n    router_id RUNNING\n    reload_check_config " + check + "\n}\n"
	os.WriteFile(conf, []byte(good), 0o644)
	var calls []string
	vrrp := &fakeEngine{name: "vrrp", refuse: "REFUSED", calls: &calls}
	d, log := reloadDaemon(t, conf, vrrp)
	os.WriteFile(check, []byte("stale\n"), 0o644)

	// A finding keepalived's config test fails on (exit status 5): refused
	// before any engine is asked.
	os.WriteFile(conf, []byte(strings.Replace(good, "RUNNING", "TESTED", 1)+
		"vrrp_instance VI_1 {\n    virtual_router_id 51\n    virtual_ipaddress {\n        198.51.100.10/24\n    }\n}\n"), 0o644)
	d.reload()
	b, _ := os.ReadFile(check)
	if string(b) != "(VI_1) Unknown interface!\n" {
		t.Errorf("check log: %q", b)
	}
	if len(calls) != 0 || d.cfg.Global.RouterID != "RUNNING" {
		t.Errorf("refused by the config test: engines asked %v, running router_id %s", calls, d.cfg.Global.RouterID)
	}
	want := "New config failed validation, see " + check + " for details"
	if !strings.Contains(log.String(), want) || strings.Contains(log.String(), "Reload finished") {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}

	// A clean file an engine refuses: the refusal is in the check log.
	log.Reset()
	os.WriteFile(conf, []byte(strings.Replace(good, "RUNNING", "REFUSED", 1)), 0o644)
	d.reload()
	b, _ = os.ReadFile(check)
	if string(b) != "vrrp: (VI_1) no interface\n" || d.cfg.Global.RouterID != "RUNNING" {
		t.Errorf("check log %q, running router_id %s", b, d.cfg.Global.RouterID)
	}
	if !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}

	// A clean file every engine takes: the check log is left empty.
	log.Reset()
	os.WriteFile(conf, []byte(strings.Replace(good, "RUNNING", "NEXT", 1)), 0o644)
	d.reload()
	b, _ = os.ReadFile(check)
	if len(b) != 0 || d.cfg.Global.RouterID != "NEXT" || !strings.Contains(log.String(), "Reload finished") {
		t.Errorf("accepted: check log %q, running router_id %s\n%s", b, d.cfg.Global.RouterID, log.String())
	}
}
