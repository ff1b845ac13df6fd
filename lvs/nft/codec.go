package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/cloudflare/ipvs/netmask"

	"keepalived-go/lvs"
)

// ErrBadDescriptor is returned when a comment in our table does not parse:
// the table was edited by hand or written by an incompatible version.
var ErrBadDescriptor = errors.New("bad service descriptor")

// chainName is the name of a service's chain (and the prefix of its sets):
// "vs_tcp_198.51.100.10_80", "vs_fwm4_1". Names are for people and for
// references; identity is read back from the descriptor comment.
func chainName(k lvs.ServiceKey) string {
	if k.IsFWMark() {
		fam := "4"
		if k.Family == lvs.INET6 {
			fam = "6"
		}
		return "vs_fwm" + fam + "_" + strconv.FormatUint(uint64(k.FWMark), 10)
	}
	return "vs_" + strings.ToLower(k.Protocol.String()) + "_" + addrName(k.Addr) + "_" + strconv.Itoa(int(k.Port))
}

// rsChainName names the DR chain that delivers to one real server.
func rsChainName(a netip.Addr) string { return "rs_" + addrName(a) }

func addrName(a netip.Addr) string { return strings.ReplaceAll(a.String(), ":", ".") }

// describe prints the service settings as the comment of its first rule,
// in the words of ipvsadm where there is one:
// "TCP 198.51.100.10:80 rr persistent 600 mask 255.255.255.0 flags 0x8 pe sip".
func describe(s lvs.Service) string {
	var b strings.Builder
	if s.IsFWMark() {
		fmt.Fprintf(&b, "FWM %d %s", s.FWMark, s.Family)
	} else {
		b.WriteString(s.ServiceKey.String())
	}
	sched := s.Scheduler
	if sched == "" {
		sched = "-"
	}
	b.WriteString(" " + sched)
	if s.Timeout != 0 {
		fmt.Fprintf(&b, " persistent %d", s.Timeout)
		if s.Netmask.IsValid() {
			b.WriteString(" mask " + s.Netmask.String())
		}
		if s.PEName != "" {
			b.WriteString(" pe " + s.PEName)
		}
	}
	if s.Flags != 0 {
		fmt.Fprintf(&b, " flags %#x", uint32(s.Flags))
	}
	return b.String()
}

// parseDescriptor is the inverse of describe.
func parseDescriptor(text string) (lvs.Service, error) {
	bad := func(why string) (lvs.Service, error) {
		return lvs.Service{}, fmt.Errorf("%w %q: %s", ErrBadDescriptor, text, why)
	}
	f := strings.Fields(text)
	var s lvs.Service
	switch {
	case len(f) >= 4 && f[0] == "FWM":
		m, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || m == 0 {
			return bad("mark")
		}
		fam := lvs.INET
		switch f[2] {
		case "IPv4":
		case "IPv6":
			fam = lvs.INET6
		default:
			return bad("family")
		}
		s.ServiceKey = lvs.ServiceMark(fam, uint32(m))
		f = f[3:]
	case len(f) >= 3:
		var p lvs.Protocol
		switch f[0] {
		case "TCP":
			p = lvs.TCP
		case "UDP":
			p = lvs.UDP
		case "SCTP":
			p = lvs.SCTP
		default:
			return bad("protocol")
		}
		ap, err := netip.ParseAddrPort(f[1])
		if err != nil {
			return bad("address")
		}
		s.ServiceKey = lvs.ServiceAddr(p, ap)
		f = f[2:]
	default:
		return bad("too short")
	}
	if f[0] != "-" {
		s.Scheduler = f[0]
	}
	f = f[1:]
	for len(f) > 0 {
		if len(f) < 2 {
			return bad("dangling " + f[0])
		}
		v := f[1]
		switch f[0] {
		case "persistent":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return bad("timeout")
			}
			s.Timeout = uint32(n)
		case "mask":
			if err := s.Netmask.UnmarshalText([]byte(v)); err != nil {
				return bad("mask")
			}
		case "pe":
			s.PEName = v
		case "flags":
			n, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return bad("flags")
			}
			s.Flags = lvs.SvcFlags(n)
		default:
			return bad("unknown word " + f[0])
		}
		f = f[2:]
	}
	if s.Timeout == 0 {
		// describe writes these only for persistent services.
		s.Netmask, s.PEName = netmask.Mask{}, ""
	}
	return s, nil
}

// describeDest prints a destination's settings as its element comment:
// "Route 100", with "thresh L U" and "tunnel T P F" when set.
func describeDest(d lvs.Destination) string {
	s := fmt.Sprintf("%s %d", d.Forward, d.Weight)
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		s += fmt.Sprintf(" thresh %d %d", d.LowerThreshold, d.UpperThreshold)
	}
	if d.Forward == lvs.TUN {
		s += fmt.Sprintf(" tunnel %d %d %d", d.TunnelType, d.TunnelPort, d.TunnelFlags)
	}
	return s
}

var forwards = map[string]lvs.Forward{"Masq": lvs.NAT, "Local": lvs.Local, "Tunnel": lvs.TUN, "Route": lvs.DR, "Bypass": lvs.Bypass}

// parseDest is the inverse of describeDest for the destination key k.
func parseDest(k lvs.DestKey, text string) (lvs.Destination, error) {
	bad := fmt.Errorf("%w: destination %s %q", ErrBadDescriptor, k, text)
	f := strings.Fields(text)
	if len(f) < 2 {
		return lvs.Destination{}, bad
	}
	fwd, ok := forwards[f[0]]
	w, err := strconv.Atoi(f[1])
	if !ok || err != nil {
		return lvs.Destination{}, bad
	}
	d := lvs.Destination{DestKey: k, Forward: fwd, Weight: w}
	f = f[2:]
	num := func(s string, bits int) uint64 {
		n, e := strconv.ParseUint(s, 10, bits)
		if e != nil {
			err = bad
		}
		return n
	}
	for len(f) > 0 {
		switch {
		case f[0] == "thresh" && len(f) >= 3:
			d.LowerThreshold, d.UpperThreshold = uint32(num(f[1], 32)), uint32(num(f[2], 32))
			f = f[3:]
		case f[0] == "tunnel" && len(f) >= 4:
			d.TunnelType, d.TunnelPort, d.TunnelFlags = lvs.TunnelType(num(f[1], 8)), uint16(num(f[2], 16)), lvs.TunnelFlags(num(f[3], 16))
			f = f[4:]
		default:
			return lvs.Destination{}, bad
		}
	}
	return d, err
}

// Key encodings. nftables pads each field of a concatenation to 4 bytes;
// numgen and hash results are host-endian integers.

func padded(b []byte) []byte {
	if r := len(b) % 4; r != 0 {
		b = append(b, make([]byte, 4-r)...)
	}
	return b
}

func portBytes(p uint16) []byte { return padded(binary.BigEndian.AppendUint16(nil, p)) }

// addrPortKey is "ipv4_addr . inet_service" (or ipv6).
func addrPortKey(a netip.Addr, port uint16) []byte {
	return append(a.AsSlice(), portBytes(port)...)
}

func parseAddrPortKey(b []byte) (lvs.DestKey, bool) {
	var a netip.Addr
	switch len(b) {
	case 8:
		a = netip.AddrFrom4([4]byte(b[:4]))
	case 20:
		a = netip.AddrFrom16([16]byte(b[:16]))
	default:
		return lvs.DestKey{}, false
	}
	n := len(b) - 4
	return lvs.DestKey{Addr: a, Port: binary.BigEndian.Uint16(b[n : n+2])}, true
}

// serviceKeyBytes is "ipv4_addr . inet_proto . inet_service".
func serviceKeyBytes(k lvs.ServiceKey) []byte {
	b := k.Addr.AsSlice()
	b = append(b, padded([]byte{byte(k.Protocol)})...)
	return append(b, portBytes(k.Port)...)
}

func slotKey(s int) []byte { return binary.NativeEndian.AppendUint32(nil, uint32(s)) }

func parseSlotKey(b []byte) (int, bool) {
	if len(b) != 4 {
		return 0, false
	}
	return int(binary.NativeEndian.Uint32(b)), true
}

// maskBytes returns the persistence granularity of s as a byte mask of
// the family's address length.
func maskBytes(s lvs.Service) []byte {
	m := s.EffectiveNetmask()
	b := m.AsSlice()
	n := 4
	if s.Family == lvs.INET6 {
		n = 16
	}
	if len(b) != n {
		b = netmask.MaskFrom(n*8, n*8).AsSlice()
	}
	return b
}

func allOnes(b []byte) bool {
	for _, x := range b {
		if x != 0xff {
			return false
		}
	}
	return true
}
