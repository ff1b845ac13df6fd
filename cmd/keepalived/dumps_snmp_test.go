package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keepalived-go/config"
)

// TestDumpSNMPDBusLines: the global dump prints the SNMP and DBus settings
// as keepalived's dump_global_data does, from the config and from -x/-A.
func TestDumpSNMPDBusLines(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "k.conf")
	body := "global_defs {\n\tenable_snmp_vrrp\n\tenable_traps\n\tsnmp_socket udp:127.0.0.1:705\n\tenable_dbus\n\tdbus_service_name org.example.K\n}\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts config.Options
		want []string
	}{
		{"config", config.Options{}, []string{" SNMP vrrp enabled", " SNMP checker disabled", " SNMP RFCv2 disabled",
			" SNMP RFCv3 disabled", " SNMP traps enabled", " SNMP socket = udp:127.0.0.1:705", " DBus enabled",
			" DBus service name = org.example.K"}},
		// -x enables every MIB; the config's snmp_socket is refused after -A.
		{"-x -A", config.Options{SNMP: true, SNMPSocket: "tcp:localhost:705"}, []string{" SNMP vrrp enabled",
			" SNMP checker enabled", " SNMP RFCv2 enabled", " SNMP RFCv3 enabled", " SNMP socket = tcp:localhost:705"}},
	} {
		cfg, diags := config.Load(conf, tc.opts)
		if diags.Fatal() {
			t.Fatal(diags.String())
		}
		out := string(globalDump(dumpEnv{cfg: cfg, now: time.Now()}, procParent))
		for _, w := range tc.want {
			if !strings.Contains(out, "\n"+w+"\n") {
				t.Errorf("%s: no line %q in:\n%s", tc.name, w, out)
			}
		}
	}
	cfg, _ := config.Load(conf, config.Options{})
	cfg.Global = config.Global{}
	out := string(globalDump(dumpEnv{cfg: cfg, now: time.Now()}, procParent))
	for _, w := range []string{" SNMP vrrp disabled", " SNMP traps disabled", " SNMP socket = default (unix:/var/agentx/master)",
		" DBus disabled", " DBus service name = "} {
		if !strings.Contains(out, "\n"+w+"\n") {
			t.Errorf("defaults: no line %q", w)
		}
	}
}
