package lvs

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
)

// cloudflare/ipvs neither sends nor decodes IPVS_SVC_ATTR_PE_NAME, so a
// service with a persistence engine (persistence_engine sip) is created and
// updated by our own request on the same generic netlink family, and List
// reads the engine names back with one extra dump.

const (
	cmdNewService = 1
	cmdSetService = 2
	cmdGetService = 4

	cmdAttrService = 1

	svcAttrAF        = 1
	svcAttrProtocol  = 2
	svcAttrAddr      = 3
	svcAttrPort      = 4
	svcAttrFWMark    = 5
	svcAttrSchedName = 6
	svcAttrFlags     = 7
	svcAttrTimeout   = 8
	svcAttrNetmask   = 9
	svcAttrPEName    = 11

	peNameMax = 32 // IP_VS_PENAME_MAXLEN
)

// encodeService packs s as the nested IPVS_CMD_ATTR_SERVICE the kernel
// parses, with the same layout cloudflare/ipvs uses for the attributes it
// knows, plus the persistence engine.
func encodeService(s Service) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
		n.Uint16(svcAttrAF, uint16(s.Family))
		n.String(svcAttrSchedName, s.Scheduler)
		flags := uint32(s.Flags & settableFlags)
		if s.Persistent() {
			flags |= uint32(flagPersistent)
		}
		fb := make([]byte, 8)
		binary.NativeEndian.PutUint32(fb, flags)
		binary.NativeEndian.PutUint32(fb[4:], 0xffffffff)
		n.Bytes(svcAttrFlags, fb)
		n.Uint32(svcAttrTimeout, s.Timeout)
		m := s.EffectiveNetmask()
		if m.Is4() {
			n.Bytes(svcAttrNetmask, m.AsSlice())
		} else {
			b := make([]byte, 4)
			nlenc.PutUint32(b, uint32(m.Bits()))
			n.Bytes(svcAttrNetmask, b)
		}
		if s.IsFWMark() {
			n.Uint32(svcAttrFWMark, s.FWMark)
		} else {
			n.Uint16(svcAttrProtocol, uint16(s.Protocol))
			n.Bytes(svcAttrAddr, s.Addr.AsSlice())
			pb := make([]byte, 2)
			binary.BigEndian.PutUint16(pb, s.Port)
			n.Bytes(svcAttrPort, pb)
		}
		if s.Persistent() && s.PEName != "" {
			n.String(svcAttrPEName, s.PEName)
		}
		return nil
	})
	return ae.Encode()
}

// applyPE creates or updates a service that has a persistence engine.
func (b *IPVS) applyPE(ctx context.Context, op Op) error {
	if len(op.Service.PEName) >= peNameMax {
		return fmt.Errorf("persistence_engine %q: name too long", op.Service.PEName)
	}
	data, err := encodeService(op.Service)
	if err != nil {
		return err
	}
	cmd := uint8(cmdNewService)
	if op.Kind == UpdateService {
		cmd = cmdSetService
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.writes.Add(1)
	_, err = b.genl.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: genlVersion},
		Data:   data,
	}, b.family.ID, netlink.Request|netlink.Acknowledge)
	return err
}

// peNames dumps the services and returns the persistence engine of each
// service that has one.
func (b *IPVS) peNames(ctx context.Context) (map[ServiceKey]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.reads.Add(1)
	msgs, err := b.genl.Execute(genetlink.Message{
		Header: genetlink.Header{Command: cmdGetService, Version: genlVersion},
	}, b.family.ID, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, fmt.Errorf("list persistence engines: %w", err)
	}
	out := map[ServiceKey]string{}
	for _, m := range msgs {
		k, pe, err := decodeServicePE(m.Data)
		if err != nil {
			return nil, fmt.Errorf("list persistence engines: %w", err)
		}
		if pe != "" {
			out[k] = pe
		}
	}
	return out, nil
}

// decodeServicePE reads the identity and persistence engine of one
// service from an IPVS_CMD_NEW_SERVICE dump message.
func decodeServicePE(b []byte) (k ServiceKey, pe string, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return k, "", err
	}
	for ad.Next() {
		if ad.Type() != cmdAttrService {
			continue
		}
		ad.Nested(func(n *netlink.AttributeDecoder) error {
			var addr []byte
			for n.Next() {
				switch n.Type() {
				case svcAttrAF:
					k.Family = Family(n.Uint16())
				case svcAttrProtocol:
					k.Protocol = Protocol(n.Uint16())
				case svcAttrAddr:
					addr = n.Bytes()
				case svcAttrPort:
					if p := n.Bytes(); len(p) == 2 {
						k.Port = binary.BigEndian.Uint16(p)
					}
				case svcAttrFWMark:
					k.FWMark = n.Uint32()
				case svcAttrPEName:
					pe = n.String()
				}
			}
			if k.FWMark != 0 {
				k.Protocol, k.Port = 0, 0
				return nil
			}
			if k.Family == INET && len(addr) >= 4 {
				addr = addr[:4]
			}
			a, ok := netip.AddrFromSlice(addr)
			if !ok {
				return fmt.Errorf("bad service address attribute (%d bytes)", len(addr))
			}
			k.Addr = a.Unmap()
			return nil
		})
	}
	return k, pe, ad.Err()
}
