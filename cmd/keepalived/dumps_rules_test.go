package main

import (
	"path/filepath"
	"strings"
	"testing"

	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

func linesWith(out, prefix string) []string {
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if strings.HasPrefix(s, prefix) {
			l = append(l, s)
		}
	}
	return l
}

// Each notify FIFO's script as keepalived 2.2.7 dumps it (recorded with
// testdata/configs/04-global-notify-fifo.conf under -P): the parent shows
// every script as configured; the VRRP process shows the global and VRRP
// ones checked (path resolved) with the FIFO's name appended, and the LVS
// one as configured. Startup and shutdown scripts are the parent's only.
func TestGlobalFIFOScriptsPerProcess(t *testing.T) {
	dir := t.TempDir()
	cfg := loadBFDConf(t, `global_defs {
    script_user root
    notify_fifo `+dir+`/file1
    notify_fifo_script /bin/true
    vrrp_notify_fifo `+dir+`/file2
    vrrp_notify_fifo_script /bin/true
    lvs_notify_fifo `+dir+`/file3
    lvs_notify_fifo_script /bin/true
    startup_script /bin/true
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        198.51.100.52/24
    }
}
`)
	real, err := filepath.EvalSymlinks("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	env := dumpEnv{cfg: cfg, opts: options{vrrpOnly: true}}
	parent := string(globalDump(env, procParent))
	want := []string{
		" Global notify fifo script = '/bin/true', uid:gid 0:0",
		" VRRP notify fifo script = '/bin/true', uid:gid 0:0",
		" LVS notify fifo script = '/bin/true', uid:gid 0:0",
	}
	if got := linesWith(parent, " "+"Global notify fifo script"); len(got) != 1 || got[0] != want[0] {
		t.Errorf("parent: %q", got)
	}
	for _, w := range want {
		if !strings.Contains(parent, w+"\n") {
			t.Errorf("parent lacks %q:\n%s", w, parent)
		}
	}
	if len(linesWith(parent, " Startup script = ")) != 1 {
		t.Errorf("parent lacks the startup script:\n%s", parent)
	}
	vrrp := string(globalDump(env, procVRRP))
	for _, w := range []string{
		" Global notify fifo script = '" + real + "' '" + dir + "/file1', uid:gid 0:0",
		" VRRP notify fifo script = '" + real + "' '" + dir + "/file2', uid:gid 0:0",
		" LVS notify fifo script = '/bin/true', uid:gid 0:0",
	} {
		if !strings.Contains(vrrp, w+"\n") {
			t.Errorf("VRRP process lacks %q:\n%s", w, vrrp)
		}
	}
	if strings.Contains(vrrp, " Startup script") {
		t.Errorf("the VRRP process dumps the startup script")
	}
	// With the checker process running, the VRRP process has no global
	// FIFO script (the checker runs it).
	cfg.VirtualServers = append(cfg.VirtualServers, &config.VirtualServer{})
	env.opts.vrrpOnly = false
	if vrrp := string(globalDump(env, procVRRP)); strings.Contains(vrrp, " Global notify fifo script") {
		t.Errorf("VRRP process kept the global FIFO script with the checker running")
	}
}

// format_iproute's suffix for a static route keepalived set: without a
// tracked route of its family the RTM_NEWROUTE is not listened to and the
// recorded index stays 0 (recorded from 06-static-addresses-routes-rules).
func TestRouteInstalledSuffix(t *testing.T) {
	cfg := loadBFDConf(t, `track_group TG {
    group {
        VI_1
    }
}
static_routes {
    203.0.113.128/25 via 198.51.100.1 dev eth0
    2001:db8:20::/48 via 2001:db8:10::1 dev eth0 track_group TG
    203.0.113.240/28 via 198.51.100.1 dev eth0 no_track
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        198.51.100.52/24
    }
}
`)
	r := cfg.StaticRoutes
	if len(r) != 3 {
		t.Fatalf("routes: %d", len(r))
	}
	for i, want := range []string{" [installed ifindex 0]", "", ""} {
		if got := routeInstalled(cfg, &r[i], true); got != want {
			t.Errorf("route %d: %q, want %q", i, got, want)
		}
	}
	if got := routeInstalled(cfg, &r[0], false); got != "" {
		t.Errorf("unset route: %q", got)
	}
}

// vrrp_create_sockpool's receive buffer per instance.
func TestRxBufSize(t *testing.T) {
	base := func(policy string) *config.Config {
		return loadBFDConf(t, `global_defs {
    vrrp_rx_bufs_policy `+policy+`
    vrrp_rx_bufs_multiplier 4
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        198.51.100.52/24
        198.51.100.53/24
    }
}
`)
	}
	for _, c := range []struct {
		policy string
		want   int
	}{{"ADVERT", 4 * (8 + 8 + 2*4 + 20)}, {"1234", 1234}} {
		cfg := base(c.policy)
		is := &vrrpengine.InstanceStatus{Config: cfg.Instances[0], Interface: "eth0", Version: 2}
		if got := rxBufSize(dumpEnv{cfg: cfg}, is); got != c.want {
			t.Errorf("%s: %d, want %d", c.policy, got, c.want)
		}
	}
	cfg := base("ADVERT")
	cfg.Instances[0].KernelRxBufSize = 999
	is := &vrrpengine.InstanceStatus{Config: cfg.Instances[0], Interface: "eth0", Version: 2}
	if got := rxBufSize(dumpEnv{cfg: cfg}, is); got != 999 {
		t.Errorf("kernel_rx_buf_size: %d", got)
	}
}

// init_global_data's name for a reload_file given without one.
func TestReloadFileName(t *testing.T) {
	for _, c := range []struct {
		g    config.Global
		want string
	}{
		{config.Global{ReloadFile: "DEFAULT"}, "/run/keepalived.reload"},
		{config.Global{ReloadFile: "DEFAULT", UsePidDir: true}, "/run/keepalived/keepalived.reload"},
		{config.Global{ReloadFile: "DEFAULT", InstanceName: "x"}, "/run/keepalived/keepalived_x.reload"},
		{config.Global{ReloadFile: "/tmp/r"}, "/tmp/r"},
	} {
		if got := reloadFileName(&c.g); got != c.want {
			t.Errorf("%+v: %q, want %q", c.g, got, c.want)
		}
	}
}
