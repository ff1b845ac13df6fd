// Command vmprog drives package lvs against a real kernel inside the
// test VM (see lvs/vm_test.go). It programs the seed scenario's virtual
// server through the IPVS backend and reconciler, changes one weight,
// starts and stops the sync daemon and releases its services, printing
// each result between "=== BEGIN x ===" / "=== END x ===" markers for the
// Go test to assert on. It runs ipvsadm itself between steps so that one
// reconciler (and its ownership of services) lives through the scenario.
package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"keepalived-go/lvs"
)

func main() {
	steps := run
	if len(os.Args) > 1 {
		switch args := os.Args[2:]; os.Args[1] {
		case "features":
			steps = features
		case "configs":
			steps = func() error { return configs(args[0]) }
		case "health":
			steps = func() error { return healthScenario(args[0]) }
		case "reload":
			steps = func() error { return reloadScenario(args[0], args[1]) }
		case "bench":
			steps = func() error { return bench(args) }
		}
	}
	if err := steps(); err != nil {
		fmt.Println("vmprog: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("vmprog: OK")
}

func section(name, body string) {
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	fmt.Printf("=== BEGIN %s ===\n%s=== END %s ===\n", name, body, name)
}

func ipvsadm(name string, args ...string) {
	out, err := exec.Command("ipvsadm", args...).CombinedOutput()
	if err != nil {
		out = append(out, fmt.Sprintf("ipvsadm error: %v\n", err)...)
	}
	section(name, string(out))
}

func seed(w2 int) lvs.Table {
	return lvs.Table{}.Add(
		lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.MustParseAddrPort("198.51.100.10:80")), Scheduler: "rr"},
		lvs.Dest(netip.MustParseAddrPort("198.51.100.11:80"), lvs.DR, 100),
		lvs.Dest(netip.MustParseAddrPort("198.51.100.12:80"), lvs.DR, w2),
	)
}

func opsText(ops []lvs.Op) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString(o.String() + "\n")
	}
	return b.String()
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := lvs.OpenIPVS()
	if err != nil {
		return err
	}
	defer b.Close()
	r := lvs.NewReconciler(b)

	step := func(name string, desired lvs.Table) error {
		before := b.Counters()
		ops, err := r.Reconcile(ctx, desired)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		section(name, fmt.Sprintf("%swrites %d\n", opsText(ops), b.Counters().Writes-before.Writes))
		return nil
	}

	if err := step("start", seed(100)); err != nil {
		return err
	}
	ipvsadm("ipvsadm-start", "-Ln")
	if err := step("steady", seed(100)); err != nil {
		return err
	}
	if err := step("reload", seed(50)); err != nil {
		return err
	}
	ipvsadm("ipvsadm-reload", "-Ln")

	observed, err := b.List(ctx)
	if err != nil {
		return err
	}
	section("list", observed.String())

	d := lvs.SyncDaemon{State: lvs.SyncMaster, Interface: "dummy0", SyncID: 10}
	if err := b.SetSyncState(ctx, d); err != nil {
		return err
	}
	ipvsadm("daemon-master", "-L", "--daemon")
	d.State = lvs.SyncBackup
	if err := b.SetSyncState(ctx, d); err != nil {
		return err
	}
	ipvsadm("daemon-backup", "-L", "--daemon")
	ds, err := b.Daemons(ctx)
	if err != nil {
		return err
	}
	var dl strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&dl, "%s\n", d)
	}
	section("daemons", dl.String())
	if err := b.StopSync(ctx, 10); err != nil {
		return err
	}
	ipvsadm("daemon-stopped", "-L", "--daemon")

	prev, err := b.SetTimeouts(ctx, lvs.Timeouts{TCP: 7200, UDP: 60})
	if err != nil {
		return err
	}
	ipvsadm("timeouts-set", "-L", "--timeout")
	if _, err := b.SetTimeouts(ctx, prev); err != nil {
		return err
	}
	ipvsadm("timeouts-restored", "-L", "--timeout")

	before := b.Counters()
	ops, err := r.Release(ctx)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	section("release", fmt.Sprintf("%swrites %d\n", opsText(ops), b.Counters().Writes-before.Writes))
	return nil
}
