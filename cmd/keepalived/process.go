package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
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
