package snmp

import (
	"time"
)

// rfcState is vrrp_snmp_rfc_state: initialize 1, backup 2, master 3;
// anything else reads as initialize.
func rfcState(s VRRPState) int32 {
	if s >= StateInit && s <= StateMaster {
		return int32(s) + 1
	}
	return 1
}

// suitable2787: keepalived built with both RFC MIBs serves only VRRPv2
// IPv4 instances with a VIP in VRRP-MIB.
func suitable2787(in *Instance) bool {
	return in.Version == 2 && !in.IPv6 && len(in.VIPs) > 0
}

// suitable6527: Debian's build has SNMP_V3_FOR_V2, so VRRPV3-MIB shows
// every instance with a VIP, VRRPv2 ones too.
func suitable6527(in *Instance) bool { return len(in.VIPs) > 0 }

func centis(d time.Duration) uint32 { return uint32(d / (10 * time.Millisecond)) }

// running reports whether vrrpOperVirtualRouterUpTime counts.
func running(s VRRPState) bool { return s == StateBackup || s == StateMaster }

// first2787 is the only instance keepalived 2.2.7 shows in vrrpOperTable
// and vrrpRouterStatsTable: the suitable one with the lowest (ifIndex,
// VRID). Its snmp_rfcv2_header_list_table skips every instance with an
// interface once the request carries an index (the "optimization" test
// reads "ifp ? index : (0 < target[0])"), so a walk of each column gets
// the first row only, and the other rows cannot be reached.
func first2787(v *VRRP) *Instance {
	var best *Instance
	for i := range v.Instances {
		in := &v.Instances[i]
		if !suitable2787(in) {
			continue
		}
		if best == nil || in.IfIndex < best.IfIndex || in.IfIndex == best.IfIndex && in.VRID < best.VRID {
			best = in
		}
	}
	return best
}

// rfc2787 is VRRP-MIB (vrrp_rfcv2_vars).
func (t *tree) rfc2787(v *VRRP, sw Switches) {
	t.int(RFC2787OID.Append(1, 1, 0), 2)
	t.int(RFC2787OID.Append(1, 2, 0), truth(sw.Traps))
	var chk, ver, vrid uint64
	first := first2787(v)
	for i := range v.Instances {
		in := &v.Instances[i]
		if !suitable2787(in) {
			continue
		}
		chk += in.Stats.ChecksumErr
		ver += in.Stats.VersionErr
		vrid += in.Stats.VRIDErr
		idx := []uint32{uint32(in.IfIndex), uint32(in.VRID)}
		for _, a := range in.VIPs {
			b := addrBytes(a.Prefix.Addr())
			t.int(RFC2787OID.Append(1, 4, 1, 2, idx[0], idx[1], uint32(b[0]), uint32(b[1]), uint32(b[2]), uint32(b[3])), 1)
		}
		if in != first {
			continue
		}
		r := t.row(RFC2787OID.Append(1, 3, 1), idx...)
		if in.Interface != "" {
			r.octets(2, in.HWAddr)
		}
		r.int(3, rfcState(in.State))
		r.int(4, 1)
		r.int(5, in.BasePriority)
		r.int(6, int32(len(in.VIPs)))
		r.ip(7, v4(in.MasterIP))
		if in.Interface != "" {
			r.ip(8, v4(in.PrimaryIP))
		}
		r.int(9, int32(in.AuthType)+1)
		r.int(11, int32(secs(in.AdvertInt)))
		r.truth(12, in.Preempt)
		up := uint32(0)
		if running(in.State) && !in.Stats.Uptime.IsZero() {
			up = centis(in.Stats.Uptime.Sub(v.Start))
		}
		r.ticks(13, up)
		r.int(14, 1)
		r.int(15, 1)
		s := t.row(RFC2787OID.Append(2, 4, 1), idx...)
		st := in.Stats
		for c, n := range []uint64{st.BecomeMaster, st.AdvertRcvd, st.AdvertIntervalErr, st.AuthFailure, st.TTLErr,
			st.PriZeroRcvd, st.PriZeroSent, st.InvalidTypeRcvd, st.AddrListErr, st.InvalidAuthType,
			st.AuthTypeMismatch, st.PacketLenErr} {
			s.counter(uint32(c+1), n)
		}
	}
	t.counter(RFC2787OID.Append(2, 1, 0), chk)
	t.counter(RFC2787OID.Append(2, 2, 0), ver)
	t.counter(RFC2787OID.Append(2, 3, 0), vrid)
}

// rfc6527 is VRRPV3-MIB (vrrp_rfcv3_vars).
func (t *tree) rfc6527(v *VRRP, now time.Time) {
	var chk, ver, vrid uint64
	for i := range v.Instances {
		in := &v.Instances[i]
		if !suitable6527(in) {
			continue
		}
		chk += in.Stats.ChecksumErr
		ver += in.Stats.VersionErr
		vrid += in.Stats.VRIDErr
		fam := uint32(1)
		if in.IPv6 {
			fam = 2
		}
		idx := []uint32{uint32(in.IfIndex), uint32(in.VRID), fam}
		r := t.row(RFC6527OID.Append(1, 1, 1, 1), idx...)
		if in.Interface != "" {
			if in.State == StateMaster {
				r.addr(3, in.PrimaryIP)
			} else {
				r.addr(3, familyAddr(in.MasterIP, in.IPv6))
			}
			r.addr(4, in.PrimaryIP)
			r.octets(5, in.HWAddr)
		}
		r.int(6, rfcState(in.State))
		r.gauge(7, uint32(in.BasePriority))
		r.int(8, int32(len(in.VIPs)))
		r.int(9, int32(centis(in.AdvertInt)))
		r.truth(10, in.Preempt)
		r.truth(11, in.Accept)
		up := uint32(0)
		if running(in.State) && !in.Stats.Uptime.IsZero() {
			up = centis(now.Sub(in.Stats.Uptime))
		}
		r.ticks(12, up)
		r.int(13, 1)
		for _, a := range in.VIPs {
			name := RFC6527OID.Append(1, 1, 2, 1, 2)
			name = name.Append(idx...)
			for _, b := range addrBytes(a.Prefix.Addr()) {
				name = name.Append(uint32(b))
			}
			t.int(name, 1)
		}
		s := t.row(RFC6527OID.Append(1, 2, 5, 1), idx...)
		st := in.Stats
		s.counter(1, st.BecomeMaster)
		s.int(2, int32(st.MasterReason))
		s.counter64(3, st.AdvertRcvd)
		s.counter64(4, st.AdvertIntervalErr)
		s.counter64(5, st.TTLErr)
		s.int(6, int32(st.ProtoErrReason))
		s.counter64(7, st.PriZeroRcvd)
		s.counter64(8, st.PriZeroSent)
		s.counter64(9, st.InvalidTypeRcvd)
		s.counter64(10, st.AddrListErr)
		s.counter64(11, st.PacketLenErr)
		s.ticks(12, 0)
		s.gauge(13, centis(in.AdvertInt)*10)
	}
	t.counter64(RFC6527OID.Append(1, 2, 1, 0), chk)
	t.counter64(RFC6527OID.Append(1, 2, 2, 0), ver)
	t.counter64(RFC6527OID.Append(1, 2, 3, 0), vrid)
	t.ticks(RFC6527OID.Append(1, 2, 4, 0), 0)
}
