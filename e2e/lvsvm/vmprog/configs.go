package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"keepalived-go/config"
	"keepalived-go/lvs"
)

// loadConfig loads a keepalived.conf with the config package, as the
// daemon does.
func loadConfig(path string) (*config.Config, error) {
	cfg, diags := config.Load(path, config.Options{Hostname: "vm"})
	if diags.Fatal() {
		return nil, fmt.Errorf("load %s: %v", path, diags)
	}
	return cfg, nil
}

// startManager runs an lvs.Manager on cfg until the returned stop is
// called; stop returns Run's error.
func startManager(cfg *config.Config, opts lvs.Options) (*lvs.Manager, func() error, error) {
	m, err := lvs.NewManager(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		return nil, nil, fmt.Errorf("manager did not start: %w", err)
	case <-time.After(20 * time.Second):
		cancel()
		return nil, nil, errors.New("manager did not start within 20s")
	}
	return m, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("manager did not stop within 20s")
		}
	}, nil
}

func ipvsadmOut(args ...string) string {
	out, err := exec.Command("ipvsadm", args...).CombinedOutput()
	if err != nil {
		out = append(out, fmt.Sprintf("ipvsadm error: %v\n", err)...)
	}
	return string(out)
}

// tableViews is what we compare for each configuration: the plain table,
// thresholds and tunnel settings.
func tableViews() string {
	return ipvsadmOut("-Ln") + "--- thresholds\n" + ipvsadmOut("-Ln", "--thresholds") +
		"--- tun-info\n" + ipvsadmOut("-Ln", "--tun-info")
}

// services counts the service lines of ipvsadm -Ln.
func services(tbl string) int {
	n := 0
	for _, l := range strings.Split(tbl, "\n") {
		if l != "" && l[0] != ' ' && !strings.HasPrefix(l, "IP Virtual") && !strings.HasPrefix(l, "Prot ") {
			n++
		}
	}
	return n
}

// configs programs every *.conf in dir, first with our Manager, then with
// Debian's keepalived (checker process only), printing both tables.
func configs(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		if err := oursOn(f, name); err != nil {
			return fmt.Errorf("%s: ours: %w", name, err)
		}
		if err := keepalivedOn(f, name); err != nil {
			return fmt.Errorf("%s: keepalived: %w", name, err)
		}
	}
	return nil
}

func oursOn(path, name string) error {
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	_, stop, err := startManager(cfg, lvs.Options{})
	if err != nil {
		return err
	}
	section("ours "+name, tableViews())
	if err := stop(); err != nil {
		return err
	}
	if n := services(ipvsadmOut("-Ln")); n != 0 {
		return fmt.Errorf("%d services left after stop", n)
	}
	return nil
}

// keepalivedOn runs Debian's keepalived on the file until its table is
// stable, prints it and stops keepalived (which removes its services).
func keepalivedOn(path, name string) error {
	cmd := exec.Command("/usr/sbin/keepalived", "--check", "--dont-fork", "--log-console",
		"-f", path, "-p", "/run/ka.pid", "-c", "/run/ka-check.pid")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var last string
	stable := 0
	deadline := time.Now().Add(15 * time.Second)
	for stable < 3 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("table not stable in 15s; last:\n%s\nlog:\n%s", last, log.String())
		}
		select {
		case err := <-exited:
			return fmt.Errorf("keepalived exited: %v\nlog:\n%s", err, log.String())
		case <-time.After(150 * time.Millisecond):
		}
		cur := tableViews()
		if cur == last && services(cur) > 0 {
			stable++
		} else {
			stable = 0
		}
		last = cur
	}
	section("keepalived "+name, last)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("keepalived did not stop; log:\n%s", log.String())
	}
	if os.Getenv("VMPROG_KALOG") != "" {
		section("keepalived-log "+name, log.String())
	}
	if n := services(ipvsadmOut("-Ln")); n != 0 {
		exec.Command("ipvsadm", "-C").Run()
		return fmt.Errorf("keepalived left %d services", n)
	}
	return nil
}
