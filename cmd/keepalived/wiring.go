package main

import (
	"fmt"

	"keepalived-go/config"
)

// buildEngines wires the engines for a config. Engines land one by one; the
// daemon refuses to start rather than run a config it would silently ignore.
func buildEngines(d *daemon, cfg *config.Config) ([]namedEngine, error) {
	var out []namedEngine
	if len(cfg.Instances) > 0 {
		return nil, fmt.Errorf("vrrp_instance: the VRRP engine is not wired into the daemon in this build")
	}
	if len(cfg.VirtualServers) > 0 {
		return nil, fmt.Errorf("virtual_server: the health checker and LVS engines are not wired into the daemon in this build")
	}
	return out, nil
}
