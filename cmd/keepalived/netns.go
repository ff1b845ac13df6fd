package main

import (
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
)

// netnsDir is where named network namespaces live (keepalived's netns_dir).
const netnsDir = "/run/netns/"

// pidDir is keepalived's KEEPALIVED_PID_DIR.
const pidDir = "/run/keepalived"

// The daemon's move into its network namespace (net_namespace, or -s):
// a Go process cannot move its threads into another namespace, so, where
// keepalived calls setns() (main.c, set_namespaces), ours executes
// `ip netns exec NAME` with its own command line, in place (the pid
// stays): ip enters the namespace and a mount namespace of its own, and
// starts us again inside. These variables carry what the first run did to
// the second.
const (
	// nsEnv is the namespace the daemon was moved into.
	nsEnv = "KEEPALIVED_GO_NAMESPACE"
	// identEnv is the syslog ident keepalived changed to before moving.
	identEnv = "KEEPALIVED_GO_SYSLOG_IDENT"
	// rootNetNSEnv is the descriptor of the namespace the daemon started
	// in: keepalived opens its process-events socket before setns(), since
	// the kernel's connector answers only in the initial namespace.
	rootNetNSEnv = "KEEPALIVED_GO_ROOT_NETNS"
)

// enterNamespace gives config.Load the interfaces of the network namespace
// a configuration runs in (net_namespace or -s), as keepalived reads them
// after entering it; an error when the namespace cannot be opened.
func enterNamespace(name string) (config.InterfaceLister, error) {
	if os.Getenv(nsEnv) == name {
		return config.SystemInterfaces(), nil // already inside
	}
	target, err := netns.GetFromPath(netnsDir + name)
	if err != nil {
		return nil, fmt.Errorf("Failed to open %s%s", netnsDir, name) //nolint:staticcheck // keepalived's text
	}
	defer target.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		return nil, err
	}
	ifs := config.SystemInterfaces()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked and is discarded with this goroutine.
		return ifs, nil
	}
	return ifs, nil
}

// insideNamespace says the daemon already runs in the configuration's
// namespace (it was moved there), or needs none.
func insideNamespace(cfg *config.Config) bool {
	ns := cfg.Global.NetNamespace
	return ns == "" || os.Getenv(nsEnv) == ns
}

// syslogIdent is make_syslog_ident: Keepalived, then _NAMESPACE and
// _INSTANCE when set.
func syslogIdent(g *config.Global) string {
	id := "Keepalived"
	if g.NetNamespace != "" {
		id += "_" + g.NetNamespace
	}
	if g.InstanceName != "" {
		id += "_" + g.InstanceName
	}
	return id
}

// changeIdent is main.c's syslog ident change for net_namespace and
// instance (the configuration logged it): the syslog hook is reopened
// with the new ident.
func (d *daemon) changeIdent(cfg *config.Config) {
	g := &cfg.Global
	if g.NetNamespace == "" && g.InstanceName == "" || os.Getenv(identEnv) != "" {
		return
	}
	setSyslogIdent(d.log, d.opts, syslogIdent(g))
}

// setSyslogIdent replaces the logger's syslog hook by one with ident.
func setSyslogIdent(l *logrus.Logger, o options, ident string) {
	hooks := logrus.LevelHooks{}
	had := false
	for lvl, hs := range l.Hooks {
		for _, h := range hs {
			if _, ok := h.(syslogHook); ok {
				had = true
				continue
			}
			hooks[lvl] = append(hooks[lvl], h)
		}
	}
	if !had {
		return
	}
	l.ReplaceHooks(hooks)
	fac, err := parseFacility(o.logFacility)
	if err != nil {
		return
	}
	if w, err := syslog.New(fac|syslog.LOG_INFO, ident); err == nil {
		l.AddHook(syslogHook{w})
	}
}

// moveToNamespace is set_namespaces for a daemon outside its namespace:
// it runs itself again inside through `ip netns exec`, keeping its pid.
// It returns only when that cannot be done, with keepalived's lines.
func (d *daemon) moveToNamespace(cfg *config.Config) int {
	ns := cfg.Global.NetNamespace
	fail := func(why string) int {
		d.log.Infof("%s", why)
		d.log.Errorf("Unable to set network namespace %s - exiting", ns)
		d.log.Infof("Stopped %s", banner)
		return 0
	}
	if _, err := os.Stat(netnsDir + ns); err != nil {
		return fail("Failed to open " + netnsDir + ns)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fail("cannot enter network namespace " + ns + ": ip(8) from iproute2 is needed")
	}
	self, err := os.Executable()
	if err != nil {
		return fail(err.Error())
	}
	// Not close-on-exec: it goes through ip into the daemon inside.
	root, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY, 0)
	if err != nil {
		return fail(fmt.Sprintf("cannot keep the initial network namespace: %v", err))
	}
	env := append(os.Environ(), nsEnv+"="+ns, rootNetNSEnv+"="+strconv.Itoa(root), identEnv+"="+syslogIdent(&cfg.Global))
	argv := append([]string{"ip", "netns", "exec", ns, self}, os.Args[1:]...)
	err = syscall.Exec(ip, argv, env)
	unix.Close(root)
	return fail(fmt.Sprintf("setns() failed: %v", err))
}

// rootNamespace is the initial namespace's descriptor the daemon was
// moved with (0 when it was not).
func rootNamespace() int {
	fd, err := strconv.Atoi(os.Getenv(rootNetNSEnv))
	if err != nil || fd <= 2 {
		return 0
	}
	unix.CloseOnExec(fd) // scripts do not inherit it
	return fd
}

// usePidDir is keepalived's use_pid_dir: use_pid_dir, net_namespace or
// instance.
func usePidDir(g *config.Global) bool {
	return g.UsePidDir || g.NetNamespace != "" || g.InstanceName != ""
}

// configPidFiles are the pid files for cfg: -p/-r/-c when given, else in
// /run/keepalived with use_pid_dir (keepalived[_INSTANCE].pid,
// vrrp[_INSTANCE].pid, checkers[_INSTANCE].pid), else in /run.
func configPidFiles(o options, cfg *config.Config) pidFiles {
	g := &cfg.Global
	if !usePidDir(g) {
		return defaultPidFiles(o)
	}
	name := func(flag, base string) string {
		if flag != "" {
			return flag
		}
		if g.InstanceName != "" {
			base += "_" + g.InstanceName
		}
		return filepath.Join(pidDir, base+".pid")
	}
	return pidFiles{name(o.pidFile, "keepalived"), name(o.vrrpPidFile, "vrrp"), name(o.checkersPidFile, "checkers")}
}

// runDir is keepalived's pid directory: create_pid_dir, and in a
// namespace set_run_mount (/run/keepalived/NAMESPACE mounted over
// /run/keepalived, in the daemon's own mount namespace). undo is
// unmount_run and remove_pid_dir.
func (d *daemon) runDir(cfg *config.Config) (undo func()) {
	g := &cfg.Global
	if !usePidDir(g) {
		return func() {}
	}
	old := syscall.Umask(0o022)
	err := os.Mkdir(pidDir, 0o755)
	created := err == nil
	if err != nil && !errors.Is(err, os.ErrExist) {
		d.log.Infof("Unable to create directory %s", pidDir)
	}
	mounted, sub := false, ""
	if g.NetNamespace != "" && os.Getenv(nsEnv) == g.NetNamespace {
		sub = filepath.Join(pidDir, g.NetNamespace)
		if err := os.Mkdir(sub, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			d.log.Infof("Unable to create directory %s", sub)
			sub = ""
		} else if err := unix.Mount(sub, pidDir, "", unix.MS_BIND, ""); err != nil {
			d.log.Infof("Mount failed, error (%d) '%s'", err, err)
		} else {
			mounted = true
		}
	}
	syscall.Umask(old)
	return func() {
		if mounted {
			if err := unix.Unmount(pidDir, 0); err != nil {
				d.log.Infof("unmount of %s failed - errno %d", pidDir, err)
			}
		}
		if sub != "" {
			if err := os.Remove(sub); err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) {
				d.log.Infof("unlink of %s failed - error (%d) '%v'", sub, err, err)
			}
		}
		if created {
			os.Remove(pidDir)
		}
	}
}
