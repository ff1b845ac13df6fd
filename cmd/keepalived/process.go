package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"keepalived-go/config"
)

// nsEnv marks the child started inside the -s namespace.
const nsEnv = "KEEPALIVED_GO_NAMESPACE"

// reexecInNamespace runs the same command line inside network namespace
// name (/run/netns/NAME, made with `ip netns add` when missing).
func reexecInNamespace(name string, args []string, stderr io.Writer) int {
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			fmt.Fprintf(stderr, "cannot create network namespace %s: %v %s\n", name, err, out)
			return 1
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", name, self}, args...)...)
	cmd.Env = append(os.Environ(), nsEnv+"="+name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "cannot run in network namespace %s (needs iproute2): %v\n", name, err)
		return 1
	}
	return 0
}

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

// configUmask is keepalived's umask_handler() for global_defs umask: a
// number, or permission bit names joined by '|' (IRUSR|IWGRP ...). A bad
// value gives keepalived's message instead.
func configUmask(args []string) (int, string) {
	if len(args) == 0 {
		return 0, "Missing parameter(s) to umask option"
	}
	if c := args[0][0]; c >= '0' && c <= '9' {
		if len(args) != 1 {
			return 0, "Extra parameter(s) to umask option"
		}
		n, err := strconv.ParseInt(args[0], 0, 64)
		if err != nil || n < 0 || n&^0o777 != 0 {
			return 0, "invalid umask value " + args[0]
		}
		return int(n), ""
	}
	bits := map[string]int{"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o40, "IWGRP": 0o20,
		"IXGRP": 0o10, "IROTH": 0o4, "IWOTH": 0o2, "IXOTH": 0o1}
	mask, needOr := 0, false
	for _, a := range args {
		for p := a; p != ""; {
			if needOr {
				if p[0] != '|' {
					return 0, "Unknown umask bit " + p
				}
				needOr, p = false, p[1:]
				continue
			}
			if len(p) < 5 || bits[p[:5]] == 0 {
				return 0, "Unknown umask bit " + p
			}
			mask |= bits[p[:5]]
			p, needOr = p[5:], true
		}
	}
	if !needOr {
		return 0, "umask missing bit value"
	}
	return mask, ""
}

// applyConfigUmask sets the process umask from global_defs umask unless
// -u was given, as keepalived does when it reads the config.
func (d *daemon) applyConfigUmask(cfg *config.Config) {
	for _, s := range append(append([]config.Setting(nil), cfg.Other...), cfg.Global.Other...) {
		if s.Keyword != "umask" {
			continue
		}
		if d.opts.umaskCmdline {
			d.log.Info("umask command line option specified, ignoring config option")
			return
		}
		m, msg := configUmask(s.Args)
		if msg != "" {
			d.log.Infof("%s:%d: %s", s.Pos.File, s.Pos.Line, msg)
			return
		}
		d.opts.umaskVal = m
		syscall.Umask(m)
	}
}
