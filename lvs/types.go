// Package lvs computes the IPVS table keepalived would program and converges
// the kernel to it.
//
// The engine never "adds a server": callers build the desired Table, the
// Reconciler lists what the kernel holds through a Backend, Diff computes the
// smallest list of Ops between the two, and the Backend applies them. Start,
// health change, reload and restart are the same operation.
//
// FromConfig maps a config.Config onto VirtualServers (kernel services plus
// a Pool of real servers keyed by RSKey). Manager is the engine the daemon
// runs: NewManager, Run, Reload, SetHealth (checker verdicts),
// SetVRRPState (sync daemon, ha_suspend), with quorum changes delivered to
// Options.OnQuorum. Health changes are diffed against what was last
// applied (no kernel dump); start and reload list the kernel first.
package lvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/cloudflare/ipvs/netmask"
)

// Protocol is the transport protocol of a non-fwmark virtual service.
// Values are the IP protocol numbers the kernel uses.
type Protocol uint16

// Protocols IPVS balances.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	case 0:
		return "none"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// Family is an address family as the kernel numbers it.
type Family uint16

// Address families.
const (
	INET  Family = 2
	INET6 Family = 10
)

func (f Family) String() string {
	switch f {
	case INET:
		return "IPv4"
	case INET6:
		return "IPv6"
	}
	return "af(" + strconv.Itoa(int(f)) + ")"
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() || a.Is4In6() {
		return INET
	}
	return INET6
}

// Forward is the packet-forwarding method of a destination (lb_kind).
// Values are the kernel's IP_VS_CONN_F_* forwarding codes.
type Forward uint8

// Forwarding methods.
const (
	NAT    Forward = 0 // masquerading
	Local  Forward = 1 // the kernel's choice when the real server is on this box
	TUN    Forward = 2
	DR     Forward = 3 // direct routing
	Bypass Forward = 4
)

// String returns the word ipvsadm prints in its Forward column.
func (f Forward) String() string {
	switch f {
	case NAT:
		return "Masq"
	case Local:
		return "Local"
	case TUN:
		return "Tunnel"
	case DR:
		return "Route"
	case Bypass:
		return "Bypass"
	}
	return "fwd(" + strconv.Itoa(int(f)) + ")"
}

// TunnelType is the encapsulation of a TUN destination.
type TunnelType uint8

// Tunnel types (kernel 5.3+ for GUE, 5.4+ for GRE).
const (
	IPIP TunnelType = 0
	GUE  TunnelType = 1
	GRE  TunnelType = 2
)

func (t TunnelType) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return "tun(" + strconv.Itoa(int(t)) + ")"
}

// TunnelFlags selects the checksum handling of GUE/GRE tunnels.
type TunnelFlags uint16

// Tunnel checksum modes (tunnel_csum).
const (
	TunnelNoCsum     TunnelFlags = 0
	TunnelCsum       TunnelFlags = 1
	TunnelRemoteCsum TunnelFlags = 2
)

func (f TunnelFlags) String() string {
	switch f {
	case TunnelNoCsum:
		return "nocsum"
	case TunnelCsum:
		return "csum"
	case TunnelRemoteCsum:
		return "remcsum"
	}
	return "tunflags(" + strconv.Itoa(int(f)) + ")"
}

// SvcFlags are the service flags a configuration may set. Persistence is not
// among them: it follows from Service.Timeout, as in keepalived.
type SvcFlags uint32

// Service flags (kernel IP_VS_SVC_F_*).
const (
	FlagOnePacket SvcFlags = 0x0004 // ops
	FlagSched1    SvcFlags = 0x0008 // sh-fallback, mh-fallback
	FlagSched2    SvcFlags = 0x0010 // sh-port, mh-port
	FlagSched3    SvcFlags = 0x0020

	// Kernel-owned bits, never part of a desired service.
	flagPersistent SvcFlags = 0x0001
	flagHashed     SvcFlags = 0x0002

	settableFlags = FlagOnePacket | FlagSched1 | FlagSched2 | FlagSched3
)

// ServiceKey is the identity of a virtual service: either Protocol+Addr+Port,
// or FWMark+Family (Addr and Port zero, Protocol zero).
type ServiceKey struct {
	Family   Family
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// ServiceAddr returns the key of a protocol/address/port service.
func ServiceAddr(p Protocol, ap netip.AddrPort) ServiceKey {
	a := ap.Addr().Unmap()
	return ServiceKey{Family: FamilyOf(a), Protocol: p, Addr: a, Port: ap.Port()}
}

// ServiceMark returns the key of a firewall-mark service.
func ServiceMark(f Family, mark uint32) ServiceKey {
	return ServiceKey{Family: f, FWMark: mark}
}

// IsFWMark reports whether k names a firewall-mark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// String prints k as ipvsadm -Ln does ("TCP  198.51.100.10:80",
// "FWM  1 IPv6") without the column padding.
func (k ServiceKey) String() string {
	if k.IsFWMark() {
		s := "FWM " + strconv.FormatUint(uint64(k.FWMark), 10)
		if k.Family == INET6 {
			s += " IPv6"
		}
		return s
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Compare orders keys: address services before fwmark ones, then by family,
// address, port, protocol, mark. Used for every canonical ordering.
func (k ServiceKey) Compare(o ServiceKey) int {
	if k.IsFWMark() != o.IsFWMark() {
		if k.IsFWMark() {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(k.Family, o.Family); c != 0 {
		return c
	}
	if c := k.Addr.Compare(o.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Port, o.Port); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Protocol, o.Protocol); c != 0 {
		return c
	}
	return cmp.Compare(k.FWMark, o.FWMark)
}

// Service is a virtual service: its identity and its settings.
type Service struct {
	ServiceKey

	Scheduler string   // lb_algo: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh
	Flags     SvcFlags // scheduler flags and one-packet scheduling

	// Timeout is the persistence timeout in seconds; zero means the
	// service is not persistent and Netmask and PEName are ignored.
	Timeout uint32
	// Netmask is the persistence granularity: an IPv4 netmask or an IPv6
	// prefix length. The zero Mask means a single client address.
	Netmask netmask.Mask
	// PEName is the persistence engine (persistence_engine), e.g. "sip".
	PEName string
}

// Persistent reports whether the service keeps clients on one destination.
func (s Service) Persistent() bool { return s.Timeout != 0 }

// normal returns s with every field the kernel treats as "default" folded
// into one representation, so that desired and observed compare equal when
// the kernel would behave the same.
func (s Service) normal() Service {
	s.Flags &= settableFlags
	if s.Timeout == 0 {
		s.Netmask = netmask.Mask{}
		s.PEName = ""
	} else if s.Netmask == fullMask(s.Family) {
		s.Netmask = netmask.Mask{}
	}
	return s
}

// EffectiveNetmask is the netmask the kernel is given for s: the persistence
// granularity when set, else all ones for the family.
func (s Service) EffectiveNetmask() netmask.Mask {
	if s.Timeout != 0 && s.Netmask.IsValid() {
		return s.Netmask
	}
	return fullMask(s.Family)
}

func fullMask(f Family) netmask.Mask {
	if f == INET6 {
		return netmask.MaskFrom(128, 128)
	}
	return netmask.MaskFrom(32, 32)
}

// sameSettings reports whether applying a to a kernel service holding b
// would change nothing.
func sameSettings(a, b Service) bool {
	return a.normal() == b.normal()
}

// DestKey is the identity of a destination within its service.
type DestKey struct {
	Addr netip.Addr
	Port uint16
}

// String prints the destination as ipvsadm -Ln does.
func (k DestKey) String() string { return netip.AddrPortFrom(k.Addr, k.Port).String() }

// Compare orders destination keys by address, then port.
func (k DestKey) Compare(o DestKey) int {
	if c := k.Addr.Compare(o.Addr); c != 0 {
		return c
	}
	return cmp.Compare(k.Port, o.Port)
}

// Destination is a real server inside a virtual service.
type Destination struct {
	DestKey

	Forward        Forward
	Weight         int // 0 keeps the destination but sends it no new connections
	UpperThreshold uint32
	LowerThreshold uint32

	// Tunnel settings, meaningful only when Forward is TUN.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags
}

// Dest returns a destination for ap with the given method and weight.
func Dest(ap netip.AddrPort, fwd Forward, weight int) Destination {
	return Destination{DestKey: DestKey{Addr: ap.Addr().Unmap(), Port: ap.Port()}, Forward: fwd, Weight: weight}
}

func (d Destination) normal() Destination {
	if d.Forward != TUN {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	if d.TunnelType == IPIP {
		d.TunnelPort, d.TunnelFlags = 0, 0
	}
	return d
}

// sameDest reports whether a kernel destination observed as o already
// satisfies the desired destination d.
func sameDest(d, o Destination) bool {
	d, o = d.normal(), o.normal()
	// The kernel rewrites the method to Local when the real server's
	// address is on this box (the seed's node balancing to itself), so an
	// observed Local satisfies any desired method.
	if o.Forward == Local {
		d.Forward = Local
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
		o.TunnelType, o.TunnelPort, o.TunnelFlags = 0, 0, 0
	}
	return d == o
}

func (d Destination) String() string {
	s := fmt.Sprintf("%s %s weight %d", d.DestKey, d.Forward, d.Weight)
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		s += fmt.Sprintf(" thresh %d-%d", d.LowerThreshold, d.UpperThreshold)
	}
	if d.Forward == TUN && d.TunnelType != IPIP {
		s += fmt.Sprintf(" %s:%d %s", d.TunnelType, d.TunnelPort, d.TunnelFlags)
	}
	return s
}
