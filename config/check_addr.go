package config

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Address helpers of the checker's configuration: keepalived's
// inet_stosockaddr on a sockaddr_t, inet_stor, the ranges and masks of
// alloc_vsg_entry, inet_aton (getaddrinfo with AI_NUMERICHOST), and the
// names keepalived prints (format_vs, format_rs, format_vsge,
// inet_sockaddrtotrio).

// stoSockaddr is inet_stosockaddr(ip, port, sa): it returns true on error,
// as keepalived's does, and leaves sa's family unset then. Without a port
// (hasPort false, keepalived's NULL) the port already in sa is kept.
func (l *loader) stoSockaddr(ip, port string, hasPort bool, sa *sockaddr) bool {
	v6 := strings.Contains(ip, ":")
	sa.fam = famInet
	if v6 {
		sa.fam = famInet6
	}
	if hasPort {
		n, ok := l.readUnsigned(port, 1, 65535, true)
		if !ok {
			sa.fam = famUnspec
			return true
		}
		sa.port = uint16(n)
	}
	if i := strings.IndexByte(ip, '-'); i >= 0 {
		ip = ip[:i]
	} else if i := strings.IndexByte(ip, '/'); i >= 0 {
		ip = ip[:i]
	}
	a, ok := inetPton(v6, ip)
	if !ok {
		sa.fam = famUnspec
		return true
	}
	sa.ip = a
	return false
}

// vsgRangeEnd is the end of an alloc_vsg_entry address: a /mask, a full
// address after '-', or the last byte (IPv4) or 16-bit group (IPv6) after
// '-' (inet_stor). ok false drops the entry, keepalived's messages given.
func (s *checkState) vsgRangeEnd(addrStr, port string, hasPort bool, addr sockaddr) (sockaddr, bool) {
	l := s.l
	if i := strings.IndexByte(addrStr, '/'); i >= 0 {
		mask, rest, _ := cnum.Strtoul(addrStr[i+1:], 10)
		if rest != "" || mask == 0 || (addr.fam == famInet && mask > 32) || (addr.fam == famInet6 && mask > 128) {
			l.report(parser.SevGeneral, "Invalid netmask - %s - skipping", addrStr)
			return sockaddr{}, false
		}
		end, bad := maskEnd(addr, int(mask))
		if bad {
			l.report(parser.SevGeneral, "Address mask bits not empty - %s - skipping", addrStr)
			return sockaddr{}, false
		}
		return end, true
	}
	if i := strings.IndexByte(addrStr, '-'); i >= 0 {
		tail := addrStr[i+1:]
		if (addr.fam == famInet && strings.Contains(tail, ".")) || (addr.fam == famInet6 && strings.Contains(tail, ":")) {
			var end sockaddr
			if l.stoSockaddr(tail, port, hasPort, &end) {
				l.report(parser.SevGeneral, "Invalid range end %s - skipping", addrStr)
				return sockaddr{}, false
			}
			if end.fam != addr.fam {
				l.report(parser.SevGeneral, "Range address families do not match %s - skipping", addrStr)
				return sockaddr{}, false
			}
			if end.ip.Less(addr.ip) {
				l.report(parser.SevGeneral, "Address range end is less than address range start - %s - skipping", addrStr)
				return sockaddr{}, false
			}
			return end, true
		}
	}
	rng, ok := l.inetStor(addrStr)
	if !ok {
		return sockaddr{}, false
	}
	end := addr
	if rng == unsetU32 {
		return end, true
	}
	b := addr.ip.AsSlice()
	var start uint32
	if addr.fam == famInet {
		start = uint32(b[3])
		b[3] = byte(rng)
	} else {
		start = uint32(binary.BigEndian.Uint16(b[14:]))
		binary.BigEndian.PutUint16(b[14:], uint16(rng))
	}
	if start >= rng {
		l.report(parser.SevGeneral, "Address range end is not greater than address range start - %s - skipping", addrStr)
		return sockaddr{}, false
	}
	end.ip, _ = netip.AddrFromSlice(b)
	return end, true
}

// maskEnd is the last address of addr/mask; bad when addr has host bits
// set. An IPv4 /32 and an IPv6 /128 are the address itself.
func maskEnd(addr sockaddr, mask int) (sockaddr, bool) {
	b := addr.ip.AsSlice()
	bits := len(b) * 8
	if mask >= bits {
		return addr, false
	}
	bad := false
	for i := mask; i < bits; i++ {
		bit := byte(0x80) >> (i % 8)
		if b[i/8]&bit != 0 {
			bad = true
		}
		b[i/8] |= bit
	}
	end := addr
	end.ip, _ = netip.AddrFromSlice(b)
	return end, bad
}

// inetStor is keepalived's inet_stor: the number after '-' (hex for IPv6);
// unsetU32 when there is none.
func (l *loader) inetStor(addr string) (uint32, bool) {
	i := strings.IndexByte(addr, '-')
	if i < 0 {
		return unsetU32, true
	}
	v6 := strings.Contains(addr, ":")
	base := 10
	if v6 {
		base = 16
	}
	rng, rest, erange := cnum.Strtoul(addr[i+1:], base)
	warn := ""
	if !l.opts.ConfigTest {
		warn = "WARNING - "
	}
	switch {
	case rest != "":
		l.report(parser.SevInvalidNumber, "%sVirtual server group range '%s' has extra characters at end '%s'", warn, addr, rest)
	case erange || (v6 && rng > 0xffff) || (!v6 && rng > 255):
		l.report(parser.SevInvalidNumber, "Virtual server group range '%s' end '%s' too large", addr, addr[i+1:])
		return uint32(rng), false
	default:
		return uint32(rng), true
	}
	return uint32(rng), !l.opts.ConfigTest
}

// inetAton is glibc's inet_aton_end as getaddrinfo(AI_NUMERICHOST,
// AF_INET) uses it (__inet_aton_exact): one to four parts read with
// strtoul(base 0), the last part filling the remaining bytes; nothing may
// follow.
func inetAton(s string) ([4]byte, bool) {
	var b [4]byte
	n := 0
	var val uint64
	for {
		if s == "" || s[0] < '0' || s[0] > '9' {
			return b, false
		}
		v, rest, erange := cnum.Strtoul(s, 0)
		if erange || v > 0xffffffff {
			return b, false
		}
		val, s = v, rest
		if s != "" && s[0] == '.' {
			if n > 2 || val > 0xff {
				return b, false
			}
			b[n] = byte(val)
			n++
			s = s[1:]
			continue
		}
		break
	}
	if s != "" || val > uint64(0xffffffff)>>(8*n) {
		return b, false
	}
	var tail [4]byte
	binary.BigEndian.PutUint32(tail[:], uint32(val))
	for i := range b {
		b[i] |= tail[i]
	}
	return b, true
}

// sockaddrString is inet_sockaddrtos.
func sockaddrString(sa sockaddr) string {
	if sa.fam == famUnspec || !sa.ip.IsValid() {
		return ""
	}
	return sa.ip.String()
}

// trio is inet_sockaddrtotrio: [addr]:proto:port.
func trio(sa sockaddr, proto uint8) string {
	p := "?"
	switch proto {
	case protoTCP:
		p = "tcp"
	case protoUDP:
		p = "udp"
	case protoSCTP:
		p = "sctp"
	case 0:
		p = "none"
	}
	return "[" + sockaddrString(sa) + "]:" + p + ":" + itoa(int(sa.port))
}

// fmtVS is format_vs (FMT_VS).
func fmtVS(vs *vsState) string {
	switch {
	case vs.vsgname != nil:
		return "[" + *vs.vsgname + "]:" + itoa(int(vs.addr.port))
	case vs.fwmark != 0:
		return "FWM " + uitoa(uint64(vs.fwmark))
	}
	return trio(vs.addr, vs.proto)
}

// fmtRS is format_rs (FMT_RS).
func fmtRS(rs *rsState, vs *vsState) string { return trio(rs.sa(), vs.proto) }

// fmtVSGE is format_vsge.
func fmtVSGE(e *VSGEntry) string {
	switch {
	case e.IsMark:
		return "FWM " + uitoa(uint64(e.FWMark))
	case e.First != e.Last:
		return e.First.String() + "-" + e.Last.String() + "," + itoa(e.Port)
	}
	return e.First.String() + "," + itoa(e.Port)
}

func uitoa(n uint64) string { return sprintf("%d", n) }

// cNull is how glibc's printf shows a NULL string.
func cNull(p *string) string {
	if p == nil {
		return "(null)"
	}
	return *p
}
