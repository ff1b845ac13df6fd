package snmp

import "keepalived-go/snmp/agentx"

func tristate(b *bool) int32 {
	switch {
	case b == nil:
		return 3
	case *b:
		return 1
	}
	return 2
}

// global is KEEPALIVED-MIB's global subtree (core/snmp.c snmp_scalar and
// snmp_mail, with Debian's build options: VRRP, LVS, 64-bit IPVS stats,
// DBus).
func (t *tree) global(g Global, sw Switches) {
	at := func(sub ...uint32) []uint32 { return append(sub, 0) }
	n := func(sub []uint32) agentx.OID { return GlobalOID.Append(sub...) }
	t.str(n(at(1)), g.Version)
	if g.RouterID != "" {
		t.str(n(at(2)), g.RouterID)
	}
	t.int(n(at(3, 1)), addrType(g.SMTPServer))
	t.octets(n(at(3, 2)), addrBytes(g.SMTPServer))
	t.gauge(n(at(3, 3)), secs(g.SMTPTimeout))
	if g.EmailFrom != "" {
		t.str(n(at(3, 4)), g.EmailFrom)
	}
	for i, e := range g.Emails {
		t.row(GlobalOID.Append(3, 5, 1), uint32(i+1)).str(2, e)
	}
	t.gauge(n(at(3, 6)), uint32(g.SMTPPort))
	t.int(n(at(3, 7)), truth(g.EmailFaults))
	t.int(n(at(3, 8)), tristate(g.SMTPAlert))
	t.int(n(at(3, 9)), tristate(g.SMTPAlertVRRP))
	t.int(n(at(3, 10)), tristate(g.SMTPAlertChecker))
	t.int(n(at(4)), truth(sw.Traps))
	if g.LinkbeatPolling {
		t.int(n(at(5)), 2)
	} else {
		t.int(n(at(5)), 1)
	}
	t.int(n(at(6)), truth(g.LVSFlush))
	t.int(n(at(7)), 1) // 64-bit IPVS stats: Debian's build has them
	t.str(n(at(8)), g.NetNamespace)
	t.int(n(at(9)), truth(g.DBus))
	t.int(n(at(10)), truth(g.DynamicInterfaces))
	switch g.LVSFlushOnStop {
	case "all", "full":
		t.int(n(at(11)), 1)
	case "vs", "VS":
		t.int(n(at(11)), 3)
	default:
		t.int(n(at(11)), 2)
	}
}
