// Command kagofw runs the VRRP engine on a keepalived.conf with the
// nftables firewall of package nftfw following it, for the namespace test
// that compares the kernel's ruleset with Debian's keepalived's (the
// daemon proper, cmd/keepalived, does not wire the firewall yet). State
// changes reach the firewall through the engine's OnEvent, and the VMAC's
// creation through a Net that wraps the engine's own; it stops on
// SIGTERM/SIGINT (the tables go, as keepalived's firewall_fini does).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/nftfw"
)

// fwNet is the engine's Linux Net; a VMAC that is made or removed is
// reported to the firewall (keepalived's firewall_add_vmac and
// firewall_remove_vmac, called from netlink_link_add_vmac and
// netlink_link_del_vmac).
type fwNet struct {
	*engine.Linux
	fw     *nftfw.Firewall
	byVMAC map[string]string // VMAC name -> instance
	log    *logrus.Entry
}

func (n *fwNet) EnsureVMAC(base, name string, vrid uint8) error {
	if err := n.Linux.EnsureVMAC(base, name, vrid); err != nil {
		return err
	}
	if in, ok := n.byVMAC[name]; ok {
		if err := n.fw.VMACUp(in); err != nil {
			n.log.Errorf("(%s) firewall: %v", in, err)
		}
	}
	return nil
}

func (n *fwNet) RemoveVMAC(name string) error {
	err := n.Linux.RemoveVMAC(name)
	if in, ok := n.byVMAC[name]; ok {
		if ferr := n.fw.VMACDown(in); ferr != nil {
			n.log.Errorf("(%s) firewall: %v", in, ferr)
		}
	}
	return err
}

func main() {
	conf := flag.String("f", "/etc/keepalived/keepalived.conf", "configuration file")
	detail := flag.Bool("D", false, "log detail")
	flag.Parse()

	lg := logrus.New()
	lg.SetOutput(os.Stderr)
	lg.SetFormatter(&logrus.TextFormatter{DisableQuote: true, FullTimestamp: true, TimestampFormat: "15:04:05.000000"})
	log := logrus.NewEntry(lg)
	cfg, diags := config.Load(*conf, config.Options{})
	if diags.Fatal() {
		log.Fatalf("%s: %v", *conf, diags)
	}
	settings, instances := nftfw.FromConfig(cfg)
	fw, err := nftfw.New(settings, instances, nftfw.Options{Log: log})
	if err != nil {
		log.Fatal(err)
	}
	net := &fwNet{Linux: &engine.Linux{}, fw: fw, byVMAC: map[string]string{}, log: log}
	for _, in := range instances {
		if in.VMAC != "" {
			net.byVMAC[in.VMAC] = in.Name
		}
	}
	e, err := engine.New(cfg, engine.Options{Log: log, LogDetail: *detail, Net: net,
		OnEvent: func(ev engine.Event) {
			if sc, ok := ev.(engine.StateChange); ok {
				if err := fw.SetState(sc.Instance, sc.To); err != nil {
					log.Errorf("(%s) firewall: %v", sc.Instance, err)
				}
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sigs; cancel() }()
	if err := e.Run(ctx); err != nil {
		log.Error(err)
	}
	if err := fw.Stop(); err != nil {
		log.Errorf("firewall: %v", err)
	}
	fw.Close()
	fmt.Fprintln(os.Stderr, "Stopped")
}
