package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDBusKeywords checks enable_dbus and dbus_service_name against what
// keepalived 2.2.7's handlers do with the same lines (`keepalived -t`
// prints "(Line 3) dbus_service_name missing - ignoring" and exits 5 for
// the bare keyword, and says nothing of extra words).
func TestDBusKeywords(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       DBus
		diags      []string
	}{
		{"off", "router_id x\n", DBus{}, nil},
		{"on", "enable_dbus\n", DBus{Enable: true}, nil},
		{"extra words ignored", "enable_dbus yes please\n", DBus{Enable: true}, nil},
		{"name", "enable_dbus\ndbus_service_name org.example.Vrrp1\n", DBus{true, "org.example.Vrrp1"}, nil},
		{"first word, last wins", "dbus_service_name a.b c\ndbus_service_name d.e\n", DBus{ServiceName: "d.e"}, nil},
		{"missing", "enable_dbus\ndbus_service_name\n", DBus{Enable: true},
			[]string{"(Line 3) dbus_service_name missing - ignoring"}},
		{"missing keeps earlier", "dbus_service_name a.b\ndbus_service_name\n", DBus{ServiceName: "a.b"},
			[]string{"(Line 3) dbus_service_name missing - ignoring"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.conf")
			if err := os.WriteFile(path, []byte("global_defs {\n"+tc.body+"}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, diags := Load(path, Options{Hostname: "h"})
			if cfg.Global.DBus != tc.want {
				t.Errorf("DBus = %+v, want %+v", cfg.Global.DBus, tc.want)
			}
			var got []string
			for _, d := range diags.List {
				got = append(got, d.Keepalived())
			}
			if !slices.Equal(got, tc.diags) {
				t.Errorf("diagnostics %q, want %q", got, tc.diags)
			}
			for _, o := range cfg.Global.Other {
				if o.Keyword == "enable_dbus" || o.Keyword == "dbus_service_name" {
					t.Errorf("%s left among the unsupported keywords", o.Keyword)
				}
			}
		})
	}
}
