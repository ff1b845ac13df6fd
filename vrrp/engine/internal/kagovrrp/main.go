// Command kagovrrp runs the VRRP engine alone on a keepalived.conf, for
// the namespace tests and the failover benchmark (the daemon proper is
// cmd/keepalived). It logs keepalived's lines to stderr, stops on
// SIGTERM/SIGINT (priority 0, VIPs released), reloads on SIGHUP and, with
// -stats, keeps a JSON snapshot of the counters in a file.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp/engine"
)

type instStats struct {
	State           string            `json:"state"`
	Priority        uint8             `json:"priority"`
	AdvertsReceived uint64            `json:"adverts_received"`
	AdvertsSent     uint64            `json:"adverts_sent"`
	Discards        map[string]uint64 `json:"discards"`
}

type stats struct {
	Instances    map[string]instStats `json:"instances"`
	Discards     map[string]uint64    `json:"discards"`
	ActionErrors uint64               `json:"action_errors"`
}

func main() {
	conf := flag.String("f", "/etc/keepalived/keepalived.conf", "configuration file")
	statsPath := flag.String("stats", "", "write counters as JSON to this file every 100ms")
	detail := flag.Bool("D", false, "log detail")
	keep := flag.Bool("V", false, "keep VIPs on exit")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile until exit")
	flag.Parse()
	if os.Getenv("GOMAXPROCS") == "" {
		// As the daemon sizes itself (cmd/keepalived sizeProcs) for a
		// configuration without checkers: one processor. With two, the
		// runtime's idle processor spins and hands packets between
		// threads, a quarter more CPU for the same adverts.
		runtime.GOMAXPROCS(1)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}

	lg := logrus.New()
	lg.SetOutput(os.Stderr)
	lg.SetFormatter(&logrus.TextFormatter{DisableQuote: true, FullTimestamp: true, TimestampFormat: "15:04:05.000000"})
	log := logrus.NewEntry(lg)
	load := func() (*config.Config, error) {
		cfg, diags := config.Load(*conf, config.Options{})
		if diags.Fatal() {
			return nil, fmt.Errorf("%s: %v", *conf, diags)
		}
		g := &cfg.Global
		cfg.ResolveScripts(script.NewResolver(nil, g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity))
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		log.Fatal(err)
	}
	e, err := engine.New(cfg, engine.Options{Log: log, LogDetail: *detail, KeepVIPs: *keep,
		OnEvent: func(ev engine.Event) { log.Debugf("event %+v", ev) }})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			if s != syscall.SIGHUP {
				cancel()
				return
			}
			if c, err := load(); err != nil {
				log.Error(err)
			} else if err := e.Reload(c); err != nil {
				log.Error(err)
			} else {
				log.Info("Reloaded")
			}
		}
	}()
	if *statsPath != "" {
		go func() {
			for ctx.Err() == nil {
				writeStats(*statsPath, e.Status())
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	if err := e.Run(ctx); err != nil {
		log.Error(err)
	}
	if *statsPath != "" {
		writeStats(*statsPath, e.Status())
	}
	log.Info("Stopped")
}

func writeStats(path string, s engine.Status) {
	out := stats{Instances: map[string]instStats{}, Discards: map[string]uint64{}, ActionErrors: s.ActionErrors}
	for k, v := range s.Discards {
		out.Discards[k.Error()] = v
	}
	for _, is := range s.Instances {
		d := map[string]uint64{}
		for k, v := range is.Discards {
			d[k.Error()] = v
		}
		out.Instances[is.Name] = instStats{State: is.State.String(), Priority: is.EffectivePriority,
			AdvertsReceived: is.Counters.AdvertRcvd, AdvertsSent: is.Counters.AdvertSent, Discards: d}
	}
	b, _ := json.Marshal(out)
	tmp := path + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		os.Rename(tmp, path)
	}
}
