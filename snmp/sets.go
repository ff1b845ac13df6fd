package snmp

import (
	"fmt"

	"keepalived-go/snmp/agentx"
)

// Setter applies the Sets keepalived accepts (vrrp_snmp_instance_priority,
// vrrp_snmp_instance_preempt, check_snmp_realserver_weight). The daemon
// implements it by commanding the engines.
type Setter interface {
	SetBasePriority(instance string, priority uint8) error
	SetPreempt(instance string, preempt bool) error
	// SetRealServerWeight changes rs of vs (both as the state showed them).
	SetRealServerWeight(vs *VirtualServer, rs *RealServer, weight uint32) error
}

// setOp is one checked Set.
type setOp func(Setter) error

// lowByte is what keepalived reads of an INTEGER it is given: the first
// octet of the long in memory (*var_val), the low byte on x86.
func lowByte(v agentx.Varbind) uint8 { return uint8(v.Int) }

// checkSets validates a Set's varbinds against the state as keepalived's
// RESERVE1/RESERVE2 phases do and returns what to apply, or the error and
// the 1-based index of the first varbind at fault.
func checkSets(st *State, sw Switches, vbs []agentx.Varbind) ([]setOp, agentx.ResError, int) {
	s := whatServed(st, sw)
	var ops []setOp
	for i, v := range vbs {
		var op setOp
		e := agentx.ErrNotWritable
		switch {
		case s.vrrp && len(v.Name) == len(VRRPOID)+4 && v.Name.HasPrefix(VRRPOID.Append(3, 1)):
			op, e = instanceSet(st.VRRP, v)
		case s.check && len(v.Name) == len(CheckOID)+5 && v.Name.HasPrefix(CheckOID.Append(4, 1, 7)):
			op, e = weightSet(st.Checker, v)
		}
		if e != agentx.NoError {
			return nil, e, i + 1
		}
		ops = append(ops, op)
	}
	return ops, agentx.NoError, 0
}

func instanceSet(v *VRRP, vb agentx.Varbind) (setOp, agentx.ResError) {
	col, idx := vb.Name[len(vb.Name)-2], int(vb.Name[len(vb.Name)-1])
	if idx < 1 || idx > len(v.Instances) {
		return nil, agentx.ErrNotWritable
	}
	in := v.Instances[idx-1]
	switch col {
	case 7: // vrrpInstanceBasePriority
		if vb.Type != agentx.Integer {
			return nil, agentx.ErrWrongType
		}
		p := lowByte(vb)
		if p == 0 {
			return nil, agentx.ErrWrongValue
		}
		return func(s Setter) error { return s.SetBasePriority(in.Name, p) }, agentx.NoError
	case 13: // vrrpInstancePreempt
		if vb.Type != agentx.Integer {
			return nil, agentx.ErrWrongType
		}
		switch lowByte(vb) {
		case 1:
			return func(s Setter) error { return s.SetPreempt(in.Name, true) }, agentx.NoError
		case 2:
			return func(s Setter) error { return s.SetPreempt(in.Name, false) }, agentx.NoError
		}
		return nil, agentx.ErrWrongValue
	case 27: // vrrpInstanceAccept: writable only for VRRPv3, and refused
		if in.Version == 3 {
			return nil, agentx.ErrNoAccess
		}
	}
	return nil, agentx.ErrNotWritable
}

func weightSet(c *Checker, vb agentx.Varbind) (setOp, agentx.ResError) {
	vi, ri := int(vb.Name[len(vb.Name)-2]), int(vb.Name[len(vb.Name)-1])
	if vi < 1 || vi > len(c.VirtualServers) {
		return nil, agentx.ErrNotWritable
	}
	if vb.Type != agentx.Integer {
		return nil, agentx.ErrWrongType
	}
	vs := c.VirtualServers[vi-1]
	if vs.Sorry != nil {
		if ri == 1 {
			// The sorry server's row has no write method (keepalived
			// serves its weight column without one): notWritable.
			return nil, agentx.ErrNotWritable
		}
		ri--
	}
	if ri < 1 || ri > len(vs.RealServers) {
		return nil, agentx.ErrNotWritable // no such row: nothing to write
	}
	rs := vs.RealServers[ri-1]
	w := uint32(lowByte(vb))
	return func(s Setter) error { return s.SetRealServerWeight(&vs, &rs, w) }, agentx.NoError
}

// applySets runs checked Sets in order.
func applySets(s Setter, ops []setOp) error {
	for _, op := range ops {
		if err := op(s); err != nil {
			return fmt.Errorf("snmp set: %w", err)
		}
	}
	return nil
}
