package nftfw

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The expressions of keepalived's rules, field for field as its
// setup_rule, setup_rule_if, setup_rule_icmpv6, setup_rule_range_goto,
// setup_rule_move_igmp and setup_rule_drop_router_solicit build them
// (registers, offsets, lookups), so that nft lists the same rules.

const (
	reg1 = unix.NFT_REG_1
	reg2 = unix.NFT_REG_2

	metaOIFKIND  = 27 // NFT_META_OIFKIND
	icmpv6MLD2   = 143
	icmpv6RS     = 133
	igmpProtocol = 2
	icmpv6Proto  = 58
)

var macvlanKind = func() []byte { b := make([]byte, 16); copy(b, "macvlan"); return b }()

// addrPayload loads the IPv4/IPv6 source or destination address into reg1.
func addrPayload(f Family, src bool) *expr.Payload {
	off, n := uint32(16), uint32(4)
	switch {
	case f == IPv6 && src:
		off, n = 8, 16
	case f == IPv6:
		off, n = 24, 16
	case src:
		off = 12
	}
	return &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}
}

func tail(r *Rule, v expr.VerdictKind, chain string) []expr.Any {
	var out []expr.Any
	if r.Counter {
		out = append(out, &expr.Counter{})
	}
	return append(out, &expr.Verdict{Kind: v, Chain: chain})
}

func cmpEq(reg uint32, data []byte) *expr.Cmp {
	return &expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: data}
}

// ruleExprs returns r's expressions.
func ruleExprs(r *Rule) ([]expr.Any, error) {
	var e []expr.Any
	switch r.Kind {
	case RuleAddrSet:
		e = append(e, addrPayload(r.Family, r.Source),
			&expr.Lookup{SourceRegister: reg1, SetName: r.Set})
		return append(e, tail(r, expr.VerdictDrop, "")...), nil
	case RuleAddrIfSet:
		key := map[[2]bool]expr.MetaKey{
			{false, false}: expr.MetaKeyIIF, {false, true}: expr.MetaKeyIIFNAME,
			{true, false}: expr.MetaKeyOIF, {true, true}: expr.MetaKeyOIFNAME,
		}[[2]bool{r.Source, r.ByName}]
		e = append(e, addrPayload(IPv6, r.Source), &expr.Meta{Key: key, Register: reg2},
			&expr.Lookup{SourceRegister: reg1, SetName: r.Set})
		return append(e, tail(r, expr.VerdictDrop, "")...), nil
	case RuleNDAccept:
		e = append(e,
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 6, Len: 1},
			cmpEq(reg1, []byte{icmpv6Proto}),
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Lookup{SourceRegister: reg1, SetName: r.Set})
		return append(e, tail(r, expr.VerdictAccept, "")...), nil
	case RuleLinkLocalGoto:
		mask, prefix := make([]byte, 16), make([]byte, 16)
		mask[0], mask[1] = 0xff, 0xc0
		prefix[0], prefix[1] = 0xfe, 0x80
		e = append(e, addrPayload(IPv6, r.Source),
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 16, Mask: mask, Xor: make([]byte, 16)},
			cmpEq(reg1, prefix))
		return append(e, tail(r, expr.VerdictGoto, r.Goto)...), nil
	case RuleIGMPDup:
		if r.Family == IPv6 {
			e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1}, cmpEq(reg1, []byte{icmpv6Proto}),
				&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
				cmpEq(reg1, []byte{icmpv6MLD2}))
		} else {
			e = append(e, &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
				cmpEq(reg1, []byte{igmpProtocol}))
		}
		e = append(e, addrPayload(r.Family, false),
			&expr.Meta{Key: metaOIFKIND, Register: reg2}, cmpEq(reg2, macvlanKind),
			&expr.Meta{Key: expr.MetaKeyOIF, Register: reg2},
			&expr.Lookup{SourceRegister: reg2, DestRegister: reg2, IsDestRegSet: true, SetName: r.Set, SetID: 1},
			&expr.Dup{RegAddr: reg1, RegDev: reg2, IsRegDevSet: true})
		return append(e, tail(r, expr.VerdictDrop, "")...), nil
	case RuleRouterSolicitDrop:
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1}, cmpEq(reg1, []byte{icmpv6Proto}),
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			cmpEq(reg1, []byte{icmpv6RS}),
			&expr.Meta{Key: metaOIFKIND, Register: reg2}, cmpEq(reg2, macvlanKind),
			&expr.Meta{Key: expr.MetaKeyOIF, Register: reg2},
			&expr.Lookup{SourceRegister: reg2, SetName: r.Set, SetID: 1})
		return append(e, tail(r, expr.VerdictDrop, "")...), nil
	}
	return nil, fmt.Errorf("nftfw: unknown rule kind %d", r.Kind)
}

// setType is the datatype keepalived gives a set's key (concatenated
// fields shifted by 6 bits each, as nft numbers them), with its length.
// keepalived sends no concatenation flag and no field sizes.
func setType(keys []KeyType) nftables.SetDatatype {
	var magic, n uint32
	var name string
	for i, k := range keys {
		magic = magic<<nftables.SetConcatTypeBits | uint32(k)
		n += k.Size()
		if i > 0 {
			name += " . "
		}
		name += k.String()
	}
	dt := nftables.SetDatatype{Name: name, Bytes: n}
	dt.SetNFTMagic(magic)
	return dt
}

// gSet is the google/nftables description of s in table t.
func gSet(t *nftables.Table, s *Set) *nftables.Set {
	gs := &nftables.Set{Table: t, Name: s.Name, KeyType: setType(s.Key), Constant: s.Constant}
	// keepalived's set user data: key byte order big endian for plain
	// address sets, host for the others.
	gs.KeyByteOrder = nativeOrder
	if len(s.Key) == 1 && (s.Key[0] == TypeIPv4Addr || s.Key[0] == TypeIPv6Addr) {
		gs.KeyByteOrder = bigOrder
	}
	if s.Data != 0 {
		gs.IsMap = true
		gs.DataType = setType([]KeyType{s.Data})
	}
	return gs
}

// elemKey is the bytes of e under s's key (and its data), interface names
// resolved to indexes by index.
func elemKey(s *Set, e Elem, index func(string) (int, error)) (nftables.SetElement, error) {
	var out nftables.SetElement
	for _, k := range s.Key {
		switch k {
		case TypeIPv4Addr, TypeIPv6Addr:
			out.Key = append(out.Key, e.Addr.AsSlice()...)
		case TypeICMPv6Type:
			out.Key = append(out.Key, e.ICMPv6)
		case TypeIfName:
			b := make([]byte, 16)
			copy(b, e.Iface)
			out.Key = append(out.Key, b...)
		case TypeIfIndex:
			i, err := index(e.Iface)
			if err != nil {
				return out, err
			}
			out.Key = binary.NativeEndian.AppendUint32(out.Key, uint32(i))
		}
	}
	if s.Data == TypeIfIndex {
		i, err := index(e.To)
		if err != nil {
			return out, err
		}
		out.Val = binary.NativeEndian.AppendUint32(nil, uint32(i))
	}
	return out, nil
}
