package snmp

import (
	"keepalived-go/snmp/agentx"
)

// served says which subtrees keepalived registers for a state: the VRRP
// process registers the VRRP subtree and the RFC MIBs when it runs with
// their switches; the checker process registers the checker subtree; the
// global scalars come from the checker process when it runs with SNMP,
// else from the VRRP process with enable_snmp_vrrp (vrrp_handles_global_oid).
type served struct {
	global, vrrp, rfcv2, rfcv3, check bool
}

func whatServed(st *State, sw Switches) served {
	vrrp := st.VRRP != nil
	chk := st.Checker != nil && sw.Checker
	return served{
		global: chk || (vrrp && sw.VRRP),
		vrrp:   vrrp && sw.VRRP,
		rfcv2:  vrrp && sw.RFCv2,
		rfcv3:  vrrp && sw.RFCv3,
		check:  chk,
	}
}

// Build turns a state into the table the agent serves: the union of the
// MIBs the switches enable.
func Build(st *State, sw Switches) *agentx.Table {
	t := &tree{}
	s := whatServed(st, sw)
	if s.global {
		t.global(st.Global, sw)
	}
	if s.vrrp {
		t.vrrp(st.VRRP)
	}
	if s.rfcv2 {
		t.rfc2787(st.VRRP, sw)
	}
	if s.rfcv3 {
		t.rfc6527(st.VRRP, st.Now)
	}
	if s.check {
		t.check(st.Checker, st.Global)
	}
	tb := agentx.NewTable(t.vbs, nil)
	tb.ObjectOf = objectOf
	return tb
}

// tableEntries are the conceptual rows of every table; an OID under one
// of them names column entry.col, the rest is the index.
var tableEntries = []agentx.OID{
	GlobalOID.Append(3, 5, 1),
	VRRPOID.Append(1, 1), VRRPOID.Append(2, 1), VRRPOID.Append(3, 1), VRRPOID.Append(4, 1),
	VRRPOID.Append(5, 1), VRRPOID.Append(6, 1), VRRPOID.Append(7, 1), VRRPOID.Append(8, 1),
	VRRPOID.Append(9, 1), VRRPOID.Append(11, 1), VRRPOID.Append(12, 1), VRRPOID.Append(13, 1),
	VRRPOID.Append(14, 1), VRRPOID.Append(15, 1), VRRPOID.Append(16, 1), VRRPOID.Append(17, 1),
	VRRPOID.Append(18, 1), VRRPOID.Append(19, 1),
	CheckOID.Append(1, 1), CheckOID.Append(2, 1), CheckOID.Append(3, 1), CheckOID.Append(4, 1),
	RFC2787OID.Append(1, 3, 1), RFC2787OID.Append(1, 4, 1), RFC2787OID.Append(2, 4, 1),
	RFC6527OID.Append(1, 1, 1, 1), RFC6527OID.Append(1, 1, 2, 1), RFC6527OID.Append(1, 2, 5, 1),
}

// objectOf names the object type (column or scalar) of an OID, so that
// a Get of a missing row is noSuchInstance as in keepalived, where each
// column is registered on its own.
func objectOf(name agentx.OID) agentx.OID {
	for _, e := range tableEntries {
		if len(name) > len(e)+1 && name.HasPrefix(e) {
			return name[:len(e)+1]
		}
	}
	if len(name) > 0 {
		return name[:len(name)-1] // a scalar's .0
	}
	return nil
}

// Registrations are the subtrees to register with the master for the
// switches (all that may be served; what is empty answers nothing).
func Registrations(sw Switches) []agentx.Registration {
	var out []agentx.Registration
	if sw.VRRP || sw.Checker {
		out = append(out, agentx.Registration{Subtree: GlobalOID})
	}
	if sw.VRRP {
		out = append(out, agentx.Registration{Subtree: VRRPOID})
	}
	if sw.Checker {
		out = append(out, agentx.Registration{Subtree: CheckOID})
	}
	if sw.RFCv2 {
		out = append(out, agentx.Registration{Subtree: RFC2787OID})
	}
	if sw.RFCv3 {
		out = append(out, agentx.Registration{Subtree: RFC6527OID})
	}
	return out
}

// AgentCaps are the sysORTable entries keepalived adds (snmp_register_mib:
// "The MIB module for NAME").
func AgentCaps(sw Switches) []agentx.AgentCap {
	var out []agentx.AgentCap
	add := func(o agentx.OID, name string) {
		out = append(out, agentx.AgentCap{ID: o, Descr: "The MIB module for " + name})
	}
	if sw.VRRP || sw.Checker {
		add(GlobalOID, "Keepalived")
	}
	if sw.VRRP {
		add(VRRPOID, "KEEPALIVED-VRRP")
	}
	if sw.RFCv2 {
		add(RFC2787OID, "VRRP")
	}
	if sw.RFCv3 {
		add(RFC6527OID, "VRRPV3")
	}
	if sw.Checker {
		add(CheckOID, "Healthchecker")
	}
	return out
}
