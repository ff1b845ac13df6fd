package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"keepalived-go/check/httpget"
	"keepalived-go/config"
	"keepalived-go/parser"
)

const defaultConfigFile = "/etc/keepalived/keepalived.conf"

// Version is set at build time.
var Version = "0.1.0-dev"

// options mirror `keepalived --help` of 2.2.7, flag for flag.
type options struct {
	useFile         string
	vrrpOnly        bool
	checkOnly       bool
	noBFD           bool
	all             bool
	logConsole      bool
	logDetail       bool
	logFacility     string
	noSyslog        bool
	umask           string
	umaskVal        int  // the umask in force
	umaskCmdline    bool // -u took effect
	releaseVIPs     bool
	dontReleaseVRRP bool
	dontReleaseIPVS bool
	dontRespawn     bool
	dontFork        bool
	dumpConf        bool
	pidFile         string
	vrrpPidFile     string
	checkersPidFile string
	bfdPidFile      string
	addressMonitor  bool
	snmp            bool
	snmpAgentSocket string
	namespace       string
	coreDump        bool
	coreDumpPattern string
	allConfig       bool
	configID        string
	signum          string
	configTest      string
	configTestSet   bool
	version         bool
	help            bool
	debug           string
	lvsBackend      string
	metricsListen   string
}

func newFlagSet(o *options, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("keepalived", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVarP(&o.useFile, "use-file", "f", defaultConfigFile, "Use the specified configuration file")
	fs.BoolVarP(&o.vrrpOnly, "vrrp", "P", false, "Only run with VRRP subsystem")
	fs.BoolVarP(&o.checkOnly, "check", "C", false, "Only run with Health-checker subsystem")
	fs.BoolVarP(&o.noBFD, "no_bfd", "B", false, "Don't run BFD subsystem")
	fs.BoolVar(&o.all, "all", false, "Force all child processes to run, even if have no configuration")
	fs.BoolVarP(&o.logConsole, "log-console", "l", false, "Log messages to local console")
	fs.BoolVarP(&o.logDetail, "log-detail", "D", false, "Detailed log messages")
	fs.StringVarP(&o.logFacility, "log-facility", "S", "daemon", "Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)")
	fs.BoolVarP(&o.noSyslog, "no-syslog", "G", false, "Don't log via syslog")
	fs.StringVarP(&o.umask, "umask", "u", "", "umask for file creation (in numeric form)")
	fs.BoolVarP(&o.releaseVIPs, "release-vips", "X", false, "Drop VIP on transition from signal.")
	fs.BoolVarP(&o.dontReleaseVRRP, "dont-release-vrrp", "V", false, "Don't remove VRRP VIPs and VROUTEs on daemon stop")
	fs.BoolVarP(&o.dontReleaseIPVS, "dont-release-ipvs", "I", false, "Don't remove IPVS topology on daemon stop")
	fs.BoolVarP(&o.dontRespawn, "dont-respawn", "R", false, "Don't respawn child processes")
	fs.BoolVarP(&o.dontFork, "dont-fork", "n", false, "Don't fork the daemon process")
	fs.BoolVarP(&o.dumpConf, "dump-conf", "d", false, "Dump the configuration data")
	fs.StringVarP(&o.pidFile, "pid", "p", "", "Use specified pidfile for parent process")
	fs.StringVarP(&o.vrrpPidFile, "vrrp_pid", "r", "", "Use specified pidfile for VRRP child process")
	fs.StringVarP(&o.checkersPidFile, "checkers_pid", "c", "", "Use specified pidfile for checkers child process")
	fs.BoolVarP(&o.addressMonitor, "address-monitoring", "a", false, "Report all address additions/deletions notified via netlink")
	fs.StringVarP(&o.bfdPidFile, "bfd_pid", "b", "", "Use specified pidfile for BFD child process")
	fs.BoolVarP(&o.snmp, "snmp", "x", false, "Enable SNMP subsystem")
	fs.StringVarP(&o.snmpAgentSocket, "snmp-agent-socket", "A", "", "Use the specified socket for master agent")
	fs.StringVarP(&o.namespace, "namespace", "s", "", "Run in network namespace NAME (overrides config)")
	fs.BoolVarP(&o.coreDump, "core-dump", "m", false, "Produce core dump if terminate abnormally")
	fs.StringVarP(&o.coreDumpPattern, "core-dump-pattern", "M", "", "Also set /proc/sys/kernel/core_pattern to PATN (default 'core')")
	fs.Lookup("core-dump-pattern").NoOptDefVal = "core"
	fs.BoolVarP(&o.allConfig, "all-config", "e", false, "Error if any configuration file missing (same as includet)")
	fs.StringVarP(&o.configID, "config-id", "i", "", "Skip any configuration lines beginning '@' that don't match id")
	fs.StringVar(&o.signum, "signum", "", "Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON")
	fs.StringVarP(&o.configTest, "config-test", "t", "", "Check the configuration for obvious errors, output to stderr by default")
	fs.Lookup("config-test").NoOptDefVal = "-"
	fs.BoolVarP(&o.version, "version", "v", false, "Display the version number")
	fs.BoolVarP(&o.help, "help", "h", false, "Display this help message")
	fs.StringVarP(&o.debug, "debug", "", "", "Debug options (accepted for compatibility)")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "keepalived-go: serve Prometheus metrics on host:port (overrides global_defs metrics_listen)")
	fs.StringVar(&o.lvsBackend, "lvs-backend", "", "keepalived-go: LVS data plane: auto (IPVS, else nftables), ipvs or nftables; overrides global_defs lvs_backend")
	return fs
}

// keepalived's signal numbers for --signum (SIGRTMIN-based ones as glibc defines them).
var signums = map[string]int{"STOP": 15, "RELOAD": 1, "DATA": 10, "STATS": 12, "STATS_CLEAR": 63, "JSON": 36}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-T" || args[0] == "--genhash") {
		return runGenhash(args[1:], stdout, stderr)
	}
	var o options
	fs := newFlagSet(&o, stderr)
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 1
	}
	o.configTestSet = fs.Changed("config-test")
	switch {
	case o.help:
		usage(stderr, fs)
		return 0
	case o.version:
		fmt.Fprintf(stderr, "Keepalived-go v%s (compatible with keepalived v2.2.7)\n", Version)
		return 0
	case o.signum != "":
		n, ok := signums[strings.ToUpper(o.signum)]
		if !ok {
			fmt.Fprintf(stderr, "Unknown sigfunc %s\n", o.signum)
			return 1
		}
		fmt.Fprintf(stdout, "%d\n", n)
		return 0
	}
	if o.configID == "" {
		o.configID = parser.DefaultConfigID()
	}
	loadOpts := config.Options{
		Parser:         parser.Options{ConfigID: o.configID, AllConfig: o.allConfig},
		Interfaces:     config.SystemInterfaces(),
		Namespace:      o.namespace,
		EnterNamespace: enterNamespace,
		SNMP:           o.snmp,
		SNMPSocket:     o.snmpAgentSocket,
	}
	if o.configTestSet {
		return configTest(o, loadOpts, stdout, stderr)
	}
	if o.dumpConf {
		cfg, diags := config.Load(o.useFile, loadOpts)
		if diags.Fatal() {
			fmt.Fprint(stderr, diags.String())
			return 4
		}
		cfg.Dump(stdout)
		return 0
	}
	if !o.dontFork {
		return daemonize(args, stderr)
	}
	if o.coreDump || fs.Changed("core-dump-pattern") {
		enableCoreDumps(o.coreDumpPattern, stderr)
	}
	log, err := newLogger(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	// keepalived's umask: 0177 unless -u says otherwise (or, without -u,
	// global_defs umask once the config is read).
	o.umaskVal, o.umaskCmdline = cmdlineUmask(o.umask, stderr)
	syscall.Umask(o.umaskVal)
	return newDaemon(o, log, loadOpts).run(context.Background())
}

// configTest is -t / --config-test[=LOG_FILE]: diagnostics in keepalived's
// format, exit status as keepalived 2.2.7 derives it.
func configTest(o options, opts config.Options, stdout, stderr io.Writer) int {
	out := stderr
	if o.configTest != "-" && o.configTest != "" {
		f, err := os.OpenFile(o.configTest, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "Unable to open config-test log file %s: %v\n", o.configTest, err)
			return 1
		}
		defer f.Close()
		out = f
	}
	// A config test is a one-shot read of the whole file: trade a little CPU
	// for a peak memory close to the live model (keepalived -t uses ~47 MB
	// on 10,000 services; the default GC target would double our live heap).
	// Parsing leaves little garbage, so a low target costs a few collections.
	debug.SetGCPercent(configTestGCPercent)
	opts.ConfigTest = true
	bw := bufio.NewWriterSize(out, 64*1024)
	opts.Sink = func(d parser.Diagnostic) {
		bw.WriteString(d.Keepalived())
		bw.WriteByte('\n')
	}
	cfg, diags := config.Load(o.useFile, opts)
	code := diags.ExitCode()
	// Beyond keepalived: with enable_script_security, the scripts the
	// daemon will refuse (keepalived only logs that when it starts, and
	// its -t passes) are reported with their place, exit status 6.
	if cfg != nil && cfg.Global.EnableScriptSecurity && len(cfg.InsecureScripts) > 0 {
		if bad := insecureScripts(cfg); len(bad) > 0 {
			for _, l := range bad {
				bw.WriteString(l)
				bw.WriteByte('\n')
			}
			code = 6 // keepalived's exit status for script security problems
		}
	}
	bw.Flush()
	return code
}

// configTestGCPercent is the GC target of -t (measured on 10,000 services
// against keepalived 2.2.7 in the same run: 10 gives 0.41-0.47 s and 45 MB
// peak RSS to keepalived's 0.48-0.50 s and 48.8 MB; 20 gives 48 MB, 5 costs
// 0.15 s more).
var configTestGCPercent = 10

func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

func usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: keepalived [OPTION...]\n")
	fmt.Fprint(w, fs.FlagUsages())
}

// runGenhash is `keepalived -T`: genhash with keepalived's argv conventions.
func runGenhash(args []string, stdout, stderr io.Writer) int {
	argv := append([]string{"keepalived", "--genhash"}, args...)
	return httpget.KeepalivedGenhashMain(context.Background(), argv, 2, stdout, stderr)
}
