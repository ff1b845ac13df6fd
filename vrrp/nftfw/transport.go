package nftfw

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// transport carries google/nftables' batches to the kernel and makes each
// new set's description what keepalived's setup_set sends, which
// google/nftables v0.3.0 cannot express: the user data holds the key byte
// order (big endian for address sets, host for the others, constant sets
// included) and, for a map, the data byte order (host), and there is no
// NFTA_SET_DESC. nft reads the byte orders to print elements: without the
// data byte order a VMAC map's interfaces print as numbers.
//
// It is plugged in through google/nftables' WithTestDial, the library's
// message-level seam: each batch is rewritten, sent on a real netlink
// socket (or to next, in tests), and the kernel's replies are handed back
// one Receive at a time.
type transport struct {
	conn *netlink.Conn
	next nltest.Func
}

var newSetType = netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSET)

func (t *transport) dial(req []netlink.Message) ([]netlink.Message, error) {
	if req != nil {
		out := make([]netlink.Message, len(req))
		for i, m := range req {
			out[i] = m
			if m.Header.Type == newSetType {
				data, err := keepalivedSet(m.Data)
				if err != nil {
					return nil, err
				}
				out[i].Data = data
				out[i].Header.Length = 0 // recomputed on send
			}
		}
		if t.next != nil {
			return t.next(out)
		}
		_, err := t.conn.SendMessages(out)
		return nil, err
	}
	// A Receive with nothing queued: the kernel's next reply.
	if t.next != nil {
		return t.next(nil)
	}
	return t.conn.Receive()
}

// keepalivedSet rewrites a NEWSET message body (nfgenmsg + attributes).
func keepalivedSet(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("nftfw: short NEWSET message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return nil, err
	}
	ad.ByteOrder = binary.BigEndian
	var attrs []netlink.Attribute
	var keyType, flags uint32
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_DESC, unix.NFTA_SET_USERDATA:
			continue
		case unix.NFTA_SET_KEY_TYPE:
			keyType = ad.Uint32()
		case unix.NFTA_SET_FLAGS:
			flags = ad.Uint32()
		}
		attrs = append(attrs, netlink.Attribute{Type: ad.TypeFlags() | ad.Type(), Data: ad.Bytes()})
	}
	if err := ad.Err(); err != nil {
		return nil, err
	}
	const bigEndian, hostEndian = 2, 1 // nftables' enum byteorder
	order := uint32(hostEndian)
	if keyType == uint32(TypeIPv4Addr) || keyType == uint32(TypeIPv6Addr) {
		order = bigEndian
	}
	ud := udataU32(nil, userdata.NFTNL_UDATA_SET_KEYBYTEORDER, order)
	if flags&unix.NFT_SET_MAP != 0 {
		ud = udataU32(ud, userdata.NFTNL_UDATA_SET_DATABYTEORDER, hostEndian)
	}
	attrs = append(attrs, netlink.Attribute{Type: unix.NFTA_SET_USERDATA, Data: ud})
	enc, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(nil), b[:4]...), enc...), nil
}

// udataU32 appends a libnftnl user data u32 (type, length, value in host
// order, as nftnl_udata_put_u32 writes it).
func udataU32(b []byte, typ userdata.Type, v uint32) []byte {
	return binary.NativeEndian.AppendUint32(append(b, byte(typ), 4), v)
}
