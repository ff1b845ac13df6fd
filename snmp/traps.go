package snmp

import (
	"keepalived-go/snmp/agentx"
)

// Trap varbinds, built as keepalived builds them. Each function returns
// nil when keepalived would send nothing. The first varbind is always
// snmpTrapOID.0; the master agent puts sysUpTime.0 in front.

func trap(oid agentx.OID, vbs ...agentx.Varbind) []agentx.Varbind {
	return append([]agentx.Varbind{agentx.ObjectID(snmpTrapOID, oid)}, vbs...)
}

// trapState is the state a trap carries: INIT to FAULT as they are, STOP
// 5, DELETED 6, anything else 4.
func trapState(s VRRPState, deleted bool) int32 {
	switch {
	case s >= StateInit && s <= StateFault:
		return int32(s)
	case s == StateStop:
		return 5
	case s == StateDeleted && deleted:
		return 6
	}
	return 4
}

// InstanceStateTrap is vrrpInstanceStateChange (vrrp_snmp_instance_trap),
// sent on every state change of an instance. The columns carry no index.
func InstanceStateTrap(sw Switches, routerID string, in *Instance) []agentx.Varbind {
	if !sw.Traps || !sw.VRRP {
		return nil
	}
	return trap(VRRPOID.Append(10, 0, 2),
		agentx.Str(VRRPOID.Append(3, 1, 2), in.Name),
		agentx.Int(VRRPOID.Append(3, 1, 4), trapState(in.State, true)),
		agentx.Int(VRRPOID.Append(3, 1, 5), int32(in.InitialState)),
		agentx.Str(routerIDOID, routerID))
}

// GroupStateTrap is vrrpSyncGroupStateChange (vrrp_snmp_group_trap).
func GroupStateTrap(sw Switches, routerID string, g *SyncGroup) []agentx.Varbind {
	if !sw.Traps || !sw.VRRP {
		return nil
	}
	return trap(VRRPOID.Append(10, 0, 1),
		agentx.Str(VRRPOID.Append(1, 1, 2), g.Name),
		agentx.Int(VRRPOID.Append(1, 1, 3), trapState(g.State, false)),
		agentx.Str(routerIDOID, routerID))
}

// RFC2787NewMasterTrap is vrrpTrapNewMaster, sent on becoming master.
func RFC2787NewMasterTrap(sw Switches, in *Instance) []agentx.Varbind {
	if !sw.Traps || !sw.RFCv2 || !suitable2787(in) {
		return nil
	}
	return trap(RFC2787OID.Append(0, 1),
		agentx.IP(RFC2787OID.Append(1, 3, 1, 7, uint32(in.IfIndex), uint32(in.VRID)), v4(in.SourceIP)))
}

// RFC 2787 vrrpTrapAuthErrorType values.
const (
	InvalidAuthType  = 1
	AuthTypeMismatch = 2
	AuthFailure      = 3
)

// RFC2787AuthFailureTrap is vrrpTrapAuthFailure for an advert from src.
// ifIndex is the receiving interface's own index (keepalived's IF_INDEX,
// the VMAC's for a VMAC instance).
func RFC2787AuthFailureTrap(sw Switches, in *Instance, ifIndex int, src agentx.Varbind, errType int32) []agentx.Varbind {
	if !sw.Traps || !sw.RFCv2 || !suitable2787(in) {
		return nil
	}
	src.Name = RFC2787OID.Append(1, 5, uint32(ifIndex), uint32(in.VRID))
	return trap(RFC2787OID.Append(0, 2), src,
		agentx.Int(RFC2787OID.Append(1, 6, uint32(ifIndex), uint32(in.VRID)), errType))
}

func family(in *Instance) uint32 {
	if in.IPv6 {
		return 2
	}
	return 1
}

// RFC6527NewMasterTrap is vrrpv3NotifyNewMaster.
func RFC6527NewMasterTrap(sw Switches, in *Instance) []agentx.Varbind {
	if !sw.Traps || !sw.RFCv3 || !suitable6527(in) {
		return nil
	}
	idx := []uint32{uint32(in.IfIndex), uint32(in.VRID), family(in)}
	return trap(RFC6527OID.Append(0, 1),
		agentx.Octets(RFC6527OID.Append(1, 1, 1, 1, 3).Append(idx...), addrBytes(familyAddr(in.SourceIP, in.IPv6))),
		agentx.Int(RFC6527OID.Append(1, 2, 5, 1, 2).Append(idx...), int32(in.Stats.MasterReason)))
}

// RFC6527ProtoErrorTrap is vrrpv3NotifyProtoError; ifIndex as for
// RFC2787AuthFailureTrap.
func RFC6527ProtoErrorTrap(sw Switches, in *Instance, ifIndex int) []agentx.Varbind {
	if !sw.Traps || !sw.RFCv3 || !suitable6527(in) {
		return nil
	}
	return trap(RFC6527OID.Append(0, 2),
		agentx.Int(RFC6527OID.Append(1, 2, 5, 1, 6, uint32(ifIndex), uint32(in.VRID), family(in)), int32(in.Stats.ProtoErrReason)))
}

// StateChangeTraps are the traps of one instance state change, in
// keepalived's order (send_instance_notifies): the instance trap, then on
// becoming master the two RFC new-master notifications.
func StateChangeTraps(sw Switches, routerID string, in *Instance) [][]agentx.Varbind {
	var out [][]agentx.Varbind
	add := func(vbs []agentx.Varbind) {
		if vbs != nil {
			out = append(out, vbs)
		}
	}
	add(InstanceStateTrap(sw, routerID, in))
	if in.State == StateMaster {
		add(RFC2787NewMasterTrap(sw, in))
		add(RFC6527NewMasterTrap(sw, in))
	}
	return out
}

// RealServerTrap is realServerStateChange (check_snmp_rs_trap with a real
// server) for rs of vs.
func RealServerTrap(sw Switches, routerID string, vs *VirtualServer, rs *RealServer) []agentx.Varbind {
	return checkerTrap(sw, routerID, vs, rs, false)
}

// QuorumTrap is virtualServerQuorumStateChange; stopping reports the
// shutdown state (3).
func QuorumTrap(sw Switches, routerID string, vs *VirtualServer, stopping bool) []agentx.Varbind {
	return checkerTrap(sw, routerID, vs, nil, stopping)
}

func checkerTrap(sw Switches, routerID string, vs *VirtualServer, rs *RealServer, stopping bool) []agentx.Varbind {
	if !sw.Traps || !sw.Checker {
		return nil
	}
	n := uint32(1)
	if rs == nil {
		n = 2
	}
	var vbs []agentx.Varbind
	if rs != nil {
		vbs = append(vbs,
			agentx.Int(CheckOID.Append(4, 1, 3), addrType(rs.Addr)),
			agentx.Octets(CheckOID.Append(4, 1, 4), addrBytes(rs.Addr)),
			agentx.Gauge(CheckOID.Append(4, 1, 5), uint32(rs.Port)),
			agentx.Int(CheckOID.Append(4, 1, 6), truth(rs.Alive)))
	}
	switch {
	case vs.Group != "":
		vbs = append(vbs, agentx.Int(CheckOID.Append(3, 1, 2), 3), agentx.Str(CheckOID.Append(3, 1, 3), vs.Group))
	case vs.FWMark != 0:
		vbs = append(vbs, agentx.Int(CheckOID.Append(3, 1, 2), 1), agentx.Gauge(CheckOID.Append(3, 1, 4), vs.FWMark))
	default:
		vbs = append(vbs, agentx.Int(CheckOID.Append(3, 1, 2), 2),
			agentx.Int(CheckOID.Append(3, 1, 5), addrType(vs.Addr)),
			agentx.Octets(CheckOID.Append(3, 1, 6), addrBytes(vs.Addr)),
			agentx.Gauge(CheckOID.Append(3, 1, 7), uint32(vs.Port)))
	}
	// keepalived sends TruthValue(TCP) here, not the protocol number.
	vbs = append(vbs, agentx.Int(CheckOID.Append(3, 1, 8), truth(vs.Protocol == "TCP")))
	if rs == nil {
		q := int32(2)
		switch {
		case stopping:
			q = 3
		case vs.QuorumUp:
			q = 1
		}
		vbs = append(vbs, agentx.Int(CheckOID.Append(3, 1, 23), q), agentx.Gauge(CheckOID.Append(3, 1, 22), vs.Quorum))
	}
	up := uint32(0)
	for _, r := range vs.RealServers {
		if r.Alive {
			up++
		}
	}
	vbs = append(vbs, agentx.Gauge(CheckOID.Append(3, 1, 21), up),
		agentx.Gauge(CheckOID.Append(3, 1, 20), uint32(len(vs.RealServers))),
		agentx.Str(routerIDOID, routerID))
	return trap(CheckOID.Append(5, 0, n), vbs...)
}
