package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"keepalived-go/vrrp"
)

// Validate, the first phase of the daemon's all-or-nothing reload, refuses
// what Reload would refuse and changes nothing, on the running loop too.
func TestValidateChangesNothing(t *testing.T) {
	lg, _ := test.NewNullLogger()
	e, err := New(loadConf(t, seed), Options{Log: logrus.NewEntry(lg), Net: newFakeNet()})
	if err != nil {
		t.Fatal(err)
	}
	noIface := strings.Replace(seed, "interface eth0", "", 1)
	added := seed + `
vrrp_instance NEW {
    interface eth0
    virtual_router_id 12
    virtual_ipaddress {
        198.51.100.112/24
    }
}
`
	check := func(when string) {
		t.Helper()
		if err := e.Validate(loadConf(t, noIface)); !errors.Is(err, vrrp.ErrConfig) {
			t.Errorf("%s: Validate of an instance without interface: %v", when, err)
		}
		if err := e.Validate(loadConf(t, added)); err != nil {
			t.Errorf("%s: Validate of a good config: %v", when, err)
		}
		if n := len(e.Status().Instances); n != 1 {
			t.Errorf("%s: %d instances after Validate, want the running 1", when, n)
		}
	}
	check("before Run")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	check("while running")
	if err := e.Reload(loadConf(t, noIface)); !errors.Is(err, vrrp.ErrConfig) {
		t.Errorf("Reload of what Validate refuses: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(loadConf(t, seed)); !errors.Is(err, ErrStopped) {
		t.Errorf("Validate after Run: %v", err)
	}
}
