package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func loadSNMP(t *testing.T, global string, opts Options) (SNMP, []string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "k.conf")
	if err := os.WriteFile(p, []byte("global_defs {\n"+global+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Hostname = "node1"
	cfg, diags := Load(p, opts)
	var msgs []string
	for _, d := range diags.List {
		msgs = append(msgs, d.Msg)
	}
	return cfg.Global.SNMP, msgs
}

// The SNMP keywords set what keepalived's global_parser.c handlers set,
// with their messages for bad snmp_socket lines.
func TestSNMPKeywords(t *testing.T) {
	long := strings.Repeat("x", 4096)
	for _, tc := range []struct {
		name   string
		global string
		opts   Options
		want   SNMP
		msgs   []string
	}{
		{"none", "router_id a", Options{}, SNMP{}, nil},
		{"vrrp", "enable_snmp_vrrp", Options{}, SNMP{VRRP: true}, nil},
		{"deprecated keepalived", "enable_snmp_keepalived", Options{}, SNMP{VRRP: true}, nil},
		{"rfc sets both", "enable_snmp_rfc", Options{}, SNMP{RFCv2: true, RFCv3: true}, nil},
		{"each", "enable_snmp_rfcv2\nenable_snmp_rfcv3\nenable_snmp_checker\nenable_traps", Options{},
			SNMP{Checker: true, RFCv2: true, RFCv3: true, Traps: true}, nil},
		{"socket", "snmp_socket tcp:localhost:705", Options{}, SNMP{Socket: "tcp:localhost:705"}, nil},
		{"socket twice", "snmp_socket unix:/a\nsnmp_socket unix:/b", Options{}, SNMP{Socket: "unix:/a"},
			[]string{"SNMP socket already set to unix:/a - ignoring"}},
		{"socket two words", "snmp_socket a b", Options{}, SNMP{},
			[]string{"Too many parameters specified for snmp_socket - ignoring"}},
		{"socket too long", "snmp_socket " + long, Options{}, SNMP{},
			[]string{"SNMP error : snmp socket name too long - ignored"}},
		{"-x sets the MIBs, not traps", "", Options{SNMPAll: true}, SNMP{VRRP: true, Checker: true, RFCv2: true, RFCv3: true}, nil},
		{"-A then snmp_socket", "snmp_socket unix:/b", Options{SNMPSocket: "unix:/a"}, SNMP{Socket: "unix:/a"},
			[]string{"SNMP socket already set to unix:/a - ignoring"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, msgs := loadSNMP(t, tc.global, tc.opts)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			var snmpMsgs []string
			for _, m := range msgs {
				if strings.Contains(m, "SNMP") || strings.Contains(m, "snmp") {
					snmpMsgs = append(snmpMsgs, m)
				}
			}
			if !reflect.DeepEqual(snmpMsgs, tc.msgs) {
				t.Errorf("messages %q, want %q (all: %q)", snmpMsgs, tc.msgs, msgs)
			}
		})
	}
}
