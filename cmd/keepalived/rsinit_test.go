package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
)

// global_defs rs_init_notifies: a real server alive at start runs its
// notify_up (and FIFO line) as keepalived's init_service_rs does; without
// it the initial state notifies nothing. A later change notifies either way.
func TestRSInitNotifies(t *testing.T) {
	for _, on := range []bool{false, true} {
		dir := t.TempDir()
		trace := filepath.Join(dir, "trace")
		writeScript(t, filepath.Join(dir, "up.sh"), "echo up >> "+trace)
		g := "global_defs {\n  router_id RSINIT\n}\n"
		if on {
			g = "global_defs {\n  router_id RSINIT\n  rs_init_notifies\n}\n"
		}
		conf := filepath.Join(dir, "keepalived.conf")
		os.WriteFile(conf, []byte(g+`virtual_server 198.51.100.10 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 198.51.100.11 80 {
    notify_up `+filepath.Join(dir, "up.sh")+`
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
`), 0o644)
		d := newDaemon(options{useFile: conf}, logrus.New(), config.Options{})
		cfg, err := d.load(false)
		if err != nil {
			t.Fatal(err)
		}
		n := newNotifications(d.log)
		n.configure(cfg)
		vs := cfg.VirtualServers[0]
		rs := vs.RealServers[0]
		ev := check.RealServerEvent{VS: vs, RS: rs, VSKey: vs.Name(), RSKey: vs.RealServerName(rs), Up: true, Initial: true}
		n.onRealServer(ev)
		ev.Initial = false
		n.onRealServer(ev)
		want := 1
		if on {
			want = 2
		}
		waitFor(t, "notify_up runs", func() bool {
			b, _ := os.ReadFile(trace)
			return strings.Count(string(b), "up\n") >= want
		})
		n.disp.Close(context.Background())
		if b, _ := os.ReadFile(trace); strings.Count(string(b), "up\n") != want {
			t.Errorf("rs_init_notifies %v: notify_up ran %d times, want %d", on, strings.Count(string(b), "up\n"), want)
		}
	}
}
