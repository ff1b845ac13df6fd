package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"keepalived-go/config"
)

// enableCoreDumps is -m / -M: an unlimited core size, and optionally the
// kernel's core_pattern.
func enableCoreDumps(pattern string, stderr io.Writer) {
	lim := syscall.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &lim); err != nil {
		fmt.Fprintf(stderr, "Failed to set core file size: %v\n", err)
	}
	if pattern != "" {
		if err := os.WriteFile("/proc/sys/kernel/core_pattern", []byte(pattern), 0o644); err != nil {
			fmt.Fprintf(stderr, "Failed to set core_pattern: %v\n", err)
		}
	}
}

// defaultUmask is keepalived's umask_val (S_IXUSR|S_IRWXG|S_IRWXO): files
// it creates (notify FIFOs, dumps) are 0600 unless asked otherwise.
const defaultUmask = 0o177

// cmdlineUmask is keepalived's set_umask() for -u/--umask: a number
// (strtol base 0) of permission bits only; anything else is reported on
// stderr and the default stays. ok says the option took effect (then the
// config's umask keyword is ignored).
func cmdlineUmask(opt string, stderr io.Writer) (mask int, ok bool) {
	if opt == "" {
		return defaultUmask, false
	}
	n, err := strconv.ParseInt(opt, 0, 64)
	if err != nil || n < 0 || n&^0o777 != 0 {
		fmt.Fprintf(stderr, "Invalid --umask option %s", opt)
		return defaultUmask, false
	}
	return int(n), true
}

// applyConfigUmask sets the process umask from global_defs umask unless
// -u was given, as keepalived does when it reads the config.
func (d *daemon) applyConfigUmask(cfg *config.Config) {
	if cfg.Global.Umask == nil {
		return
	}
	if d.opts.umaskCmdline {
		d.log.Info("umask command line option specified, ignoring config option")
		return
	}
	d.opts.umaskVal = int(*cfg.Global.Umask)
	syscall.Umask(d.opts.umaskVal)
}
