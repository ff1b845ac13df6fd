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
	"runtime/debug"
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
	"keepalived-go/vrrp/trackproc"
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
// config in two phases. Validate says whether the engine would take cfg
// and changes nothing; Reload, called only once every engine has
// validated cfg, applies the difference. An error from Reload is one of
// applying (a kernel refusing, retried by the engine), not a refusal: the
// engine runs the new config from then on.
type engine interface {
	Run(ctx context.Context) error
	Validate(cfg *config.Config) error
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
	// procs is the VRRP engine's track_process monitor (nil without it).
	procs *trackproc.Monitor
	// loaded: the configuration was read once.
	loaded bool
	// rootNetNS is the network namespace the daemon started in (an open
	// descriptor; 0 when it runs where it started): track_process listens
	// there, as keepalived opens its socket before entering net_namespace.
	rootNetNS int
	// lvs and check are the LVS and checker engines (nil without virtual servers).
	lvs   *lvs.Manager
	check *check.Engine
	// linkWatch follows link messages for the data dump (nil when
	// netlink cannot be read).
	linkWatch *linkWatch
	// bfd runs the bfd_instances (nil with -B).
	bfd *bfdProc
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

// load reads the config file; a config that cannot run is an error, and on
// reload (strict) so is a malformed one.
func (d *daemon) load(strict bool) (*config.Config, error) {
	return d.loadWith(strict, nil)
}

// loadWith is load with one more verdict on the findings (nil: none).
func (d *daemon) loadWith(strict bool, verdict func(*parser.Diagnostics) error) (*config.Config, error) {
	if _, err := os.Stat(d.opts.useFile); err != nil {
		return nil, fmt.Errorf("Configuration file '%s' not found: %w", d.opts.useFile, err)
	}
	cfg, diags := config.Load(d.opts.useFile, d.loadOpts)
	// A daemon moved into its namespace logged its first read before.
	quiet := os.Getenv(nsEnv) != "" && !d.loaded
	d.loaded = true
	if !quiet {
		d.logDiags(diags)
		if cfg != nil {
			for _, l := range cfg.LoadLog {
				d.log.Info(l)
			}
		}
	}
	if diags.Stopped {
		return nil, errStopped
	}
	var checked error
	if verdict != nil {
		checked = verdict(diags)
	}
	if diags.Fatal() {
		return nil, errors.New("configuration cannot be run")
	}
	if strict && diags.Syntax() {
		return nil, errors.New("configuration has syntax errors")
	}
	if checked != nil {
		return nil, checked
	}
	for _, l := range resolveScripts(cfg) {
		d.log.Info(l)
	}
	return cfg, nil
}

// errStopped: keepalived ends the run early, with status 0 (a namespace
// it cannot enter).
var errStopped = errors.New("stopped")

// run is the daemon's life: start, serve signals, stop.
func (d *daemon) run(ctx context.Context) int {
	if os.Getenv(nsEnv) == "" {
		// Moved into its namespace, the daemon said this already.
		d.log.Infof("Starting %s", banner)
		d.log.Infof("Command line: '%s'", strings.Join(os.Args, "' '"))
		d.log.Infof("Configuration file %s", d.opts.useFile)
	}
	cfg, err := d.load(false)
	if errors.Is(err, errStopped) {
		d.log.Infof("Stopped %s", banner)
		return 0
	}
	if err != nil {
		d.log.Errorf("%v - exiting", err)
		return 1
	}
	d.changeIdent(cfg)
	if !insideNamespace(cfg) {
		return d.moveToNamespace(cfg)
	}
	d.rootNetNS = rootNamespace()
	d.pids = configPidFiles(d.opts, cfg)
	defer d.runDir(cfg)()
	sizeProcs(cfg, d.log)
	d.applyConfigUmask(cfg)
	if !d.opts.noBFD && processRunning(bfdPidPath(d.opts), d.log) {
		d.log.Errorf("%v", errRunning)
		return 1
	}
	if err := d.pids.write(d.log); err != nil {
		d.log.Errorf("%v", err)
		return 1
	}
	defer d.pids.remove()
	d.reportUnsupported(cfg)
	// Signals wait in sigs while the startup script runs.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGUSR2, sigJSON, sigStatsClear)
	defer signal.Stop(sigs)
	d.runStartStop(cfg, true)

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
	sdNotify("READY=1")
	d.log.Info("Startup complete")
	settleMemory()

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
	d.mu.Lock()
	last := d.cfg
	d.mu.Unlock()
	d.runStartStop(last, false)
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

// reload parses the file again and swaps it in only when every engine
// takes it: each validates the new config first, and only then does any
// of them, or the daemon's own settings (global_defs, umask, what dumps
// show), change. On any error the running config stays, untouched.
func (d *daemon) reload() {
	sdNotify(reloadingState())
	defer sdNotify("READY=1")
	d.log.Info("Reloading ...")
	checkLog := d.reloadCheckLog()
	cfg, err := d.loadForReload(checkLog)
	if err == nil {
		err = d.validate(cfg)
		checkLog.add(err)
	}
	checkLog.close(d.log)
	if err != nil {
		if checkLog != nil {
			// keepalived's words when its reload_check_config child
			// refuses a file (main.c reload_check_child_thread).
			d.log.Infof("New config failed validation, see %s for details", checkLog.path)
		}
		d.log.Errorf("Reload failed, keeping the running configuration: %v", err)
		return
	}
	d.reportUnsupported(cfg)
	d.applyConfigUmask(cfg)
	fifoStates := d.fifoStatesOnReload(cfg)
	for _, e := range d.engines {
		if err := e.Reload(cfg); err != nil {
			d.log.Errorf("Reload of %s: %v", e.name, err)
		}
	}
	fifoStates()
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	d.log.Info("Reload finished")
	settleMemory()
}

// settleMemory gives the kernel back, once the engines have settled, the
// heap that loading and starting left free: the parse tree, keyword
// tables and first programming are garbage by then, and the runtime would
// otherwise keep their pages resident for minutes in a daemon that
// allocates little afterwards. One GC, a few seconds after start or
// reload.
func settleMemory() {
	time.AfterFunc(settleMemoryAfter, debug.FreeOSMemory)
}

const settleMemoryAfter = 5 * time.Second

// validate is the first phase of a reload: every engine is asked whether
// it takes cfg; the first refusal names the engine.
func (d *daemon) validate(cfg *config.Config) error {
	for _, e := range d.engines {
		if err := e.Validate(cfg); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
	}
	return nil
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
