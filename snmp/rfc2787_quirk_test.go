package snmp

import (
	"net/netip"
	"strings"
	"testing"

	"keepalived-go/snmp/agentx"
)

// keepalived 2.2.7 shows only the lowest (ifIndex, VRID) instance in
// vrrpOperTable and vrrpRouterStatsTable (recorded against it by
// cmd/keepalived's TestSNMPDaemonMatchesKeepalived), every instance's
// addresses in vrrpAssoIpAddrTable, and answers a Get in those two tables
// with noSuchInstance.
func TestRFC2787OnlyFirstRow(t *testing.T) {
	inst := func(name string, vrid uint8, vip string) Instance {
		return Instance{Name: name, VRID: vrid, Version: 2, IfIndex: 2, State: StateBackup,
			VIPs: []Address{{Prefix: netip.MustParsePrefix(vip)}}}
	}
	st := &State{VRRP: &VRRP{Instances: []Instance{inst("B", 53, "198.51.100.12/24"), inst("A", 51, "198.51.100.10/24")}}}
	tb := Build(st, Switches{RFCv2: true})
	var rows, assoc []string
	for _, vb := range tb.Varbinds() {
		s := vb.Name.String()
		switch {
		case strings.HasPrefix(s, RFC2787OID.Append(1, 3, 1, 3).String()+"."), strings.HasPrefix(s, RFC2787OID.Append(2, 4, 1, 1).String()+"."):
			rows = append(rows, strings.TrimPrefix(s, RFC2787OID.String()))
		case strings.HasPrefix(s, RFC2787OID.Append(1, 4, 1, 2).String()+"."):
			assoc = append(assoc, strings.TrimPrefix(s, RFC2787OID.String()))
		}
	}
	if got := strings.Join(rows, " "); got != ".1.3.1.3.2.51 .2.4.1.1.2.51" {
		t.Errorf("oper/stats rows %s, want VRID 51's only", got)
	}
	if got := strings.Join(assoc, " "); got != ".1.4.1.2.2.51.198.51.100.10 .1.4.1.2.2.53.198.51.100.12" {
		t.Errorf("associated addresses %s", got)
	}
	v := rfc2787Gets{tb}
	for _, name := range []agentx.OID{RFC2787OID.Append(1, 3, 1, 3, 2, 51), RFC2787OID.Append(2, 4, 1, 1, 2, 53)} {
		if vb := v.Get(name); vb.Type != agentx.NoSuchInstance {
			t.Errorf("Get %v: %v, want noSuchInstance", name, vb)
		}
	}
	if vb, ok := v.Next(RFC2787OID.Append(1, 3, 1, 3), false); !ok || vb.Name.Compare(RFC2787OID.Append(1, 3, 1, 3, 2, 51)) != 0 {
		t.Errorf("GetNext of the column: %v %v", vb, ok)
	}
	if vb := v.Get(RFC2787OID.Append(1, 1, 0)); vb.Type != agentx.Integer {
		t.Errorf("vrrpNodeVersion: %v", vb)
	}
}
