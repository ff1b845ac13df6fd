// Command kagofw runs the VRRP engine on a keepalived.conf, for the
// namespace test that compares the kernel's ruleset with Debian's
// keepalived's. The engine wires this package's firewall itself
// (vrrp/engine/firewall.go: SetVIPs around the addresses, VMACUp/VMACDown,
// Stop at the end), so the test sees exactly what the daemon does; it
// stops on SIGTERM/SIGINT (the tables go, as keepalived's firewall_fini
// does).
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
)

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
	e, err := engine.New(cfg, engine.Options{Log: log, LogDetail: *detail})
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
	fmt.Fprintln(os.Stderr, "Stopped")
}
