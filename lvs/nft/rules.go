package nft

import (
	"encoding/binary"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// Registers. nftables has four 16-byte registers (1-4) that alias sixteen
// 4-byte ones (8-23): register 2 is 4-byte registers 12-15. Fields of a
// concatenation sit in consecutive 4-byte registers.
const (
	reg1 = unix.NFT_REG_1
	reg2 = unix.NFT_REG_2
)

func reg32(n uint32) uint32 { return unix.NFT_REG32_00 + n }

// Set data types.
var (
	svcKey4   = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	svcKey6   = nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeInetProto, nftables.TypeInetService)
	addrPort4 = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
	addrPort6 = nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeInetService)
)

func is6(f lvs.Family) bool { return f == lvs.INET6 }

func addrLen(f lvs.Family) uint32 {
	if is6(f) {
		return 16
	}
	return 4
}

func nfproto(f lvs.Family) byte {
	if is6(f) {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// loadAddr loads the source or destination address into reg.
func loadAddr(f lvs.Family, src bool, reg uint32) *expr.Payload {
	off := uint32(16) // IPv4 daddr
	switch {
	case is6(f) && src:
		off = 8
	case is6(f):
		off = 24
	case src:
		off = 12
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: addrLen(f)}
}

// loadPort loads the transport source or destination port into reg.
func loadPort(src bool, reg uint32) *expr.Payload {
	off := uint32(2)
	if src {
		off = 0
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}
}

// dispatch matches "daddr . l4proto . dport" of family f against the
// verdict map set: "ip daddr . meta l4proto . th dport vmap @set".
func dispatch(f lvs.Family, set *nftables.Set) []expr.Any {
	n := addrLen(f) / 4
	return []expr.Any{
		loadAddr(f, false, reg1),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32(n)},
		loadPort(false, reg32(n+1)),
		&expr.Lookup{SourceRegister: reg1, SetName: set.Name, DestRegister: 0, IsDestRegSet: true},
	}
}

func matchNFProto(f lvs.Family) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{nfproto(f)}},
	}
}

// matchEtherType is the dependency a netdev chain needs before reading
// the network header: "meta protocol ip".
func matchEtherType(f lvs.Family) []expr.Any {
	et := uint16(unix.ETH_P_IP)
	if is6(f) {
		et = unix.ETH_P_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.BigEndian.AppendUint16(nil, et)},
	}
}

// matchPktHost keeps a DR chain to frames sent to our own MAC, so that a
// flooded frame meant for another node is never forwarded again.
func matchPktHost() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyPKTTYPE, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.PACKET_HOST}},
	}
}

// hashSeed is fixed so that a restarted daemon hashes connections to the
// same slots as before.
const hashSeed = 0x6b61676f

// pickExprs leaves the slot number of the packet in reg1.
func pickExprs(p svcPlan) []expr.Any {
	n := uint32(len(p.Slots))
	if p.Pick == pickNumgen {
		return []expr.Any{&expr.Numgen{Register: reg1, Modulus: n, Type: unix.NFT_NG_INCREMENTAL}}
	}
	f := p.Service.Family
	var e []expr.Any
	length := addrLen(f)
	switch p.Key {
	case keySrc:
		e = append(e, loadAddr(f, true, reg1))
		if p.Service.Persistent() {
			if m := maskBytes(p.Service); !allOnes(m) {
				e = append(e, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: length, Mask: m, Xor: make([]byte, length)})
			}
		}
	case keySrcPort:
		e = append(e, loadAddr(f, true, reg1), loadPort(true, reg32(length/4)))
		length += 4
	case keyDst:
		e = append(e, loadAddr(f, false, reg1))
	}
	return append(e, &expr.Hash{SourceRegister: reg1, DestRegister: reg1, Length: length, Modulus: n, Seed: hashSeed, Type: expr.HashTypeJenkins})
}

// natTarget is where the slot and persistence maps put the chosen server
// (reg2) and the DNAT that uses it.
func natTarget(p svcPlan, withPort bool) *expr.NAT {
	f := p.Service.Family
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(nfproto(f)), RegAddrMin: reg2}
	if withPort {
		// The port follows the address: 4-byte register 12+len/4.
		nat.RegProtoMin = reg32(4 + addrLen(f)/4)
	}
	return nat
}

// persistKey loads the client's address, masked to the persistence
// granularity, into reg1.
func persistKey(s lvs.Service) []expr.Any {
	f := s.Family
	e := []expr.Any{loadAddr(f, true, reg1)}
	if m := maskBytes(s); !allOnes(m) {
		e = append(e, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: addrLen(f), Mask: m, Xor: make([]byte, addrLen(f))})
	}
	return e
}

func refresh(s lvs.Service, persist *nftables.Set) *expr.Dynset {
	return &expr.Dynset{SrcRegKey: reg1, SrcRegData: reg2, SetName: persist.Name,
		Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: time.Duration(s.Timeout) * time.Second}
}

// natRules are the rules of a NAT service chain after its descriptor:
// a persistent client first goes back to its server (refreshing the
// entry), else a slot is picked (and remembered when persistent).
func natRules(p svcPlan, slots, persist *nftables.Set, withPort bool) [][]expr.Any {
	var rules [][]expr.Any
	if persist != nil {
		r := persistKey(p.Service)
		r = append(r,
			&expr.Lookup{SourceRegister: reg1, SetName: persist.Name, DestRegister: reg2, IsDestRegSet: true},
			refresh(p.Service, persist),
			natTarget(p, withPort))
		rules = append(rules, r)
	}
	if len(p.Slots) == 0 {
		return rules
	}
	r := pickExprs(p)
	r = append(r, &expr.Lookup{SourceRegister: reg1, SetName: slots.Name, DestRegister: reg2, IsDestRegSet: true})
	if persist != nil {
		r = append(r, persistKey(p.Service)...)
		r = append(r, refresh(p.Service, persist))
	}
	return append(rules, append(r, natTarget(p, withPort)))
}

// drRule picks the slot and jumps through the verdict map to the chain
// of the real server: "jhash ... mod N vmap @slots".
func drRule(p svcPlan, slots *nftables.Set) []expr.Any {
	r := pickExprs(p)
	return append(r, &expr.Lookup{SourceRegister: reg1, SetName: slots.Name, DestRegister: 0, IsDestRegSet: true})
}

// forwardRule sends the frame to a remote real server as IPVS's DR does:
// our MAC as source (so switches learn nothing wrong), the server's as
// destination, out of the interface that reaches it.
//
// google/nftables v0.3.0 has no "fwd" expression (and its expression
// interface is sealed), so this is "dup to <if>" and "drop", which the
// kernel's netdev dup implements as fwd plus a cheap skb clone.
func forwardRule(h Hop) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: []byte(h.OwnMAC)},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg1, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Immediate{Register: reg1, Data: []byte(h.MAC)},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg1, Base: expr.PayloadBaseLLHeader, Offset: 0, Len: 6},
		&expr.Immediate{Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, uint32(h.Ifindex))},
		&expr.Dup{RegDev: reg1, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// masqRule source-NATs replies' counterpart: connections we DNATed to a
// real server of a NAT service leave with our address, so real servers
// that do not route back through us still answer us.
func masqRule(f lvs.Family, set *nftables.Set) []expr.Any {
	r := []expr.Any{
		&expr.Ct{Register: reg1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
	}
	r = append(r, matchNFProto(f)...)
	n := addrLen(f) / 4
	return append(r,
		loadAddr(f, false, reg1),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32(n)},
		loadPort(false, reg32(n+1)),
		&expr.Lookup{SourceRegister: reg1, SetName: set.Name},
		&expr.Masq{},
	)
}

// ipsDstNAT is IPS_DST_NAT of the conntrack status bits.
const ipsDstNAT = 1 << 5
