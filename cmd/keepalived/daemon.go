package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/parser"
	vrrpengine "keepalived-go/vrrp/engine"
)

// keepalived's banner; operators and their tooling grep for it.
const banner = "Keepalived v2.2.7 (01/16,2022)"

// Signals keepalived 2.2.7 uses beyond the standard ones (glibc SIGRTMIN is 34).
const (
	sigJSON       = syscall.Signal(36) // SIGRTMIN+2
	sigStatsClear = syscall.Signal(63) // SIGRTMAX
)

// engine is what the daemon needs from vrrp, check and lvs: run until the
// context ends (cleaning up as keepalived does on stop) and take a new
// config, applying only the difference.
type engine interface {
	Run(ctx context.Context) error
	Reload(cfg *config.Config) error
}

// namedEngine is an engine with the name used in log lines.
type namedEngine struct {
	name string
	engine
}

// daemon owns the live configuration; one loop handles signals and engine
// exits, so reloads never race each other.
type daemon struct {
	opts     options
	log      *logrus.Logger
	loadOpts config.Options
	pids     pidFiles
	cfg      *config.Config
	engines  []namedEngine
	// build makes the engines for a config (wiring.go).
	build func(d *daemon, cfg *config.Config) ([]namedEngine, error)
	// reported holds keywords already reported as not supported yet.
	reported map[string]bool
	// stopTimeout bounds how long engines get to clean up on stop.
	stopTimeout time.Duration
	// vrrp is the running VRRP engine, for dumps and metrics (nil without instances).
	vrrp *vrrpengine.Engine
	// lvs and check are the LVS and checker engines (nil without virtual servers).
	lvs   *lvs.Manager
	check *check.Engine
	// linkWatch follows link messages for the data dump (nil when
	// netlink cannot be read).
	linkWatch *linkWatch
	// mu guards cfg and the engine pointers for readers outside the loop
	// (metrics scrapes).
	mu sync.Mutex
}

func newDaemon(o options, log *logrus.Logger, loadOpts config.Options) *daemon {
	return &daemon{
		opts: o, log: log, loadOpts: loadOpts, pids: defaultPidFiles(o),
		build: buildEngines, reported: map[string]bool{}, stopTimeout: 10 * time.Second,
	}
}

// logDiags writes config findings to the log as keepalived does.
func (d *daemon) logDiags(diags *parser.Diagnostics) {
	for _, x := range diags.List {
		d.log.Info(x.Keepalived())
	}
}

// reportUnsupported names, once per keyword, what the config asks for that
// this build parses but does not act on yet. Never silent.
func (d *daemon) reportUnsupported(cfg *config.Config) {
	var seen []string
	add := func(list []config.Setting) {
		for _, s := range list {
			if s.Keyword == "umask" {
				continue // applied by applyConfigUmask
			}
			k := s.Block + " " + s.Keyword
			if s.Block == "" {
				k = s.Keyword
			}
			if !d.reported[k] {
				d.reported[k] = true
				seen = append(seen, fmt.Sprintf("%s (%s:%d)", k, s.Pos.File, s.Pos.Line))
			}
		}
	}
	add(cfg.Other)
	for _, in := range cfg.Instances {
		add(in.Other)
	}
	for _, sg := range cfg.SyncGroups {
		add(sg.Other)
	}
	for _, tp := range cfg.TrackProcesses {
		if !d.reported["vrrp_track_process"] {
			d.reported["vrrp_track_process"] = true
			seen = append(seen, fmt.Sprintf("vrrp_track_process %s (%s:%d)", tp.Name, tp.Pos.File, tp.Pos.Line))
		}
	}
	for _, b := range cfg.BFDInstances {
		if !d.reported["bfd_instance"] {
			d.reported["bfd_instance"] = true
			seen = append(seen, fmt.Sprintf("bfd_instance %s (%s:%d)", b.Name, b.Pos.File, b.Pos.Line))
		}
	}
	sort.Strings(seen)
	for _, s := range seen {
		d.log.Warnf("not supported yet, ignored: %s", s)
	}
	for flag, set := range map[string]bool{
		"SNMP (-x/-A)":            d.opts.snmp || d.opts.snmpAgentSocket != "",
		"-X/--release-vips":       d.opts.releaseVIPs,
		"-a/--address-monitoring": d.opts.addressMonitor,
	} {
		if set && !d.reported[flag] {
			d.reported[flag] = true
			d.log.Warnf("not supported yet, ignored: %s", flag)
		}
	}
}

// load reads the config file; a config that cannot run is an error, and on
// reload (strict) so is a malformed one.
func (d *daemon) load(strict bool) (*config.Config, error) {
	if _, err := os.Stat(d.opts.useFile); err != nil {
		return nil, fmt.Errorf("Configuration file '%s' not found: %w", d.opts.useFile, err)
	}
	cfg, diags := config.Load(d.opts.useFile, d.loadOpts)
	d.logDiags(diags)
	if diags.Fatal() {
		return nil, errors.New("configuration cannot be run")
	}
	if strict && diags.Syntax() {
		return nil, errors.New("configuration has syntax errors")
	}
	for _, l := range cfg.LoadLog {
		d.log.Info(l)
	}
	for _, l := range resolveScripts(cfg) {
		d.log.Info(l)
	}
	return cfg, nil
}

// run is the daemon's life: start, serve signals, stop.
func (d *daemon) run(ctx context.Context) int {
	d.log.Infof("Starting %s", banner)
	d.log.Infof("Command line: '%s'", strings.Join(os.Args, "' '"))
	d.log.Infof("Configuration file %s", d.opts.useFile)
	cfg, err := d.load(false)
	if err != nil {
		d.log.Errorf("%v - exiting", err)
		return 1
	}
	sizeProcs(cfg, d.log)
	d.applyConfigUmask(cfg)
	if err := d.pids.write(d.log); err != nil {
		d.log.Errorf("%v", err)
		return 1
	}
	defer d.pids.remove()
	d.reportUnsupported(cfg)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.linkWatch = startLinkWatch(runCtx)
	engines, err := d.build(d, cfg)
	if err != nil {
		d.log.Errorf("cannot start: %v", err)
		return 1
	}
	d.mu.Lock()
	d.cfg, d.engines = cfg, engines
	d.mu.Unlock()
	if addr := d.metricsAddr(cfg); addr != "" {
		engines = append(engines, namedEngine{"metrics", newMetricsServer(d, addr)})
	}
	var wg sync.WaitGroup
	exited := make(chan error, len(engines))
	for _, e := range engines {
		wg.Add(1)
		go func(e namedEngine) {
			defer wg.Done()
			if err := e.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				exited <- fmt.Errorf("%s: %w", e.name, err)
			}
		}(e)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, sigJSON, sigStatsClear)
	defer signal.Stop(sigs)
	sdNotify("READY=1")
	d.log.Info("Startup complete")

	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-exited:
			d.log.Errorf("%v - stopping", err)
			code = 1
			break loop
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				d.reload()
			case syscall.SIGTERM, syscall.SIGINT:
				break loop
			case syscall.SIGUSR1, syscall.SIGUSR2, sigJSON, sigStatsClear:
				d.dump(s)
			}
		}
	}
	sdNotify("STOPPING=1")
	d.log.Info("Stopping")
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.stopTimeout):
		d.log.Warn("engines did not stop in time")
	}
	d.log.Infof("Stopped %s", banner)
	return code
}

// metricsAddr is --metrics-listen, else global_defs metrics_listen.
func (d *daemon) metricsAddr(cfg *config.Config) string {
	if d.opts.metricsListen != "" {
		return d.opts.metricsListen
	}
	return cfg.Global.MetricsListen
}

// sizeProcs sets GOMAXPROCS to the work the config asks for, unless the
// operator chose it. An explicit value also stops the Go runtime's
// once-a-second CPU affinity check; with one processor an idle daemon
// wakes half as often (futex/epoll between threads), and a few VRRP
// instances and checkers never need more. Thousands of checkers do.
func sizeProcs(cfg *config.Config, log *logrus.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	checkers := 0
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			checkers += len(rs.Checkers)
		}
	}
	n := min(runtime.NumCPU(), 1+checkers/1000)
	runtime.GOMAXPROCS(n)
	log.Debugf("using %d processor(s) for %d checkers", n, checkers)
}

// reload parses the file again and swaps it in only when it can run; on any
// error the running config stays, untouched.
func (d *daemon) reload() {
	sdNotify(reloadingState())
	defer sdNotify("READY=1")
	d.log.Info("Reloading ...")
	cfg, err := d.load(true)
	if err != nil {
		d.log.Errorf("Reload failed, keeping the running configuration: %v", err)
		return
	}
	d.reportUnsupported(cfg)
	d.applyConfigUmask(cfg)
	for _, e := range d.engines {
		if err := e.Reload(cfg); err != nil {
			d.log.Errorf("Reload of %s failed, it keeps its previous configuration: %v", e.name, err)
		}
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	d.log.Info("Reload finished")
}

// dump answers the data/stats/json signals (dumps.go).
func (d *daemon) dump(s os.Signal) {
	if err := writeDump(d, s); err != nil {
		d.log.Errorf("dump on %v: %v", s, err)
	}
}

// daemonize re-executes us detached (keepalived forks; Go cannot), with
// --dont-fork so the child runs the daemon, and returns in the parent.
func daemonize(args []string, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "cannot find own executable: %v\n", err)
		return 1
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	defer null.Close()
	cmd := exec.Command(self, append(append([]string{}, args...), "--dont-fork")...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "cannot start daemon: %v\n", err)
		return 1
	}
	return 0
}
