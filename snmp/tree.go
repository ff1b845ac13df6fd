package snmp

import (
	"net/netip"
	"time"

	"keepalived-go/snmp/agentx"
)

// The MIB roots.
var (
	KeepalivedOID = agentx.MustOID("1.3.6.1.4.1.9586.100.5")
	GlobalOID     = KeepalivedOID.Append(1)
	VRRPOID       = KeepalivedOID.Append(2)
	CheckOID      = KeepalivedOID.Append(3)
	RFC2787OID    = agentx.MustOID("1.3.6.1.2.1.68")
	RFC6527OID    = agentx.MustOID("1.3.6.1.2.1.207")
	snmpTrapOID   = agentx.MustOID("1.3.6.1.6.3.1.1.4.1.0")
	routerIDOID   = GlobalOID.Append(2, 0)
)

// tree collects varbinds; agentx.NewTable sorts them. Their names are
// cut from one growing buffer: one allocation per few hundred OIDs.
type tree struct {
	vbs []agentx.Varbind
	buf []uint32
}

// oid returns base followed by subs, carved from t.buf.
func (t *tree) oid(base agentx.OID, subs ...uint32) agentx.OID {
	n := len(base) + len(subs)
	if cap(t.buf)-len(t.buf) < n {
		t.buf = make([]uint32, 0, 8192)
	}
	start := len(t.buf)
	t.buf = append(append(t.buf, base...), subs...)
	return agentx.OID(t.buf[start : start+n : start+n])
}

// row emits the columns of one table row: base.col.index...
type row struct {
	t     *tree
	base  agentx.OID
	index []uint32
}

func (t *tree) row(base agentx.OID, index ...uint32) row { return row{t, base, index} }

func (r row) name(col uint32) agentx.OID {
	n := r.t.oid(r.base, col)
	if len(r.index) == 0 {
		return n
	}
	return r.t.oid(n, r.index...)
}

func (r row) add(v agentx.Varbind) { r.t.vbs = append(r.t.vbs, v) }

func (t *tree) add(v agentx.Varbind)             { t.vbs = append(t.vbs, v) }
func (t *tree) str(n agentx.OID, s string)       { t.add(agentx.Str(n, s)) }
func (t *tree) octets(n agentx.OID, b []byte)    { t.add(agentx.Octets(n, b)) }
func (t *tree) int(n agentx.OID, v int32)        { t.add(agentx.Int(n, v)) }
func (t *tree) gauge(n agentx.OID, v uint32)     { t.add(agentx.Gauge(n, v)) }
func (t *tree) counter(n agentx.OID, v uint64)   { t.add(agentx.Counter(n, uint32(v))) }
func (t *tree) counter64(n agentx.OID, v uint64) { t.add(agentx.Counter64Of(n, v)) }
func (t *tree) ticks(n agentx.OID, v uint32)     { t.add(agentx.Ticks(n, v)) }
func (t *tree) ip(n agentx.OID, a netip.Addr)    { t.add(agentx.IP(n, a)) }

func (r row) str(col uint32, s string)       { r.t.str(r.name(col), s) }
func (r row) octets(col uint32, b []byte)    { r.t.octets(r.name(col), b) }
func (r row) int(col uint32, v int32)        { r.t.int(r.name(col), v) }
func (r row) gauge(col uint32, v uint32)     { r.t.gauge(r.name(col), v) }
func (r row) counter(col uint32, v uint64)   { r.t.counter(r.name(col), v) }
func (r row) counter64(col uint32, v uint64) { r.t.counter64(r.name(col), v) }
func (r row) ticks(col uint32, v uint32)     { r.t.ticks(r.name(col), v) }
func (r row) ip(col uint32, a netip.Addr)    { r.t.ip(r.name(col), a) }

// optStr emits s unless it is empty (keepalived leaves unset strings out).
func (r row) optStr(col uint32, s string) {
	if s != "" {
		r.str(col, s)
	}
}

// script emits a notify script's command line when it is configured.
func (r row) script(col uint32, argv []string) {
	if argv != nil {
		r.str(col, CmdString(argv))
	}
}

// truth emits a TruthValue: 1 true, 2 false.
func (r row) truth(col uint32, b bool) { r.int(col, truth(b)) }

// addr emits an address's raw octets (4 or 16).
func (r row) addr(col uint32, a netip.Addr) { r.octets(col, addrBytes(a)) }

func truth(b bool) int32 {
	if b {
		return 1
	}
	return 2
}

// addrType is keepalived's SNMP_InetAddressType: 1 for IPv4, else 2
// (an unset address is 2 as well).
func addrType(a netip.Addr) int32 {
	if a.Is4() || a.Is4In6() {
		return 1
	}
	return 2
}

// addrBytes is the address as keepalived copies it out of a sockaddr: 16
// octets for IPv6, else 4 (zeros when unset).
func addrBytes(a netip.Addr) []byte {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		return b[:]
	}
	if !a.IsValid() {
		return []byte{0, 0, 0, 0}
	}
	b := a.Unmap().As4()
	return b[:]
}

// scope maps a Linux address scope to an InetScopeType (snmp_scope).
func scope(s int) int32 {
	switch s {
	case 0:
		return 14
	case 254:
		return 1
	case 253:
		return 2
	case 200:
		return 5
	}
	return 0
}

// secs is whole seconds, as keepalived divides its microsecond timers by
// TIMER_HZ.
func secs(d time.Duration) uint32 { return uint32(d / time.Second) }

// v4 is a for an IpAddress value: 0.0.0.0 when unset or not IPv4.
func v4(a netip.Addr) netip.Addr {
	if a.Is4() || a.Is4In6() {
		return a.Unmap()
	}
	return netip.IPv4Unspecified()
}

// familyAddr is a, or the zero address of the instance's family.
func familyAddr(a netip.Addr, ipv6 bool) netip.Addr {
	if a.IsValid() {
		return a
	}
	if ipv6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}
