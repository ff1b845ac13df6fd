package config

import (
	"encoding/binary"
	"syscall"
)

// linkKinds reads each interface's rtnetlink kind and, for a VRF, its table
// (IFLA_LINKINFO: IFLA_INFO_KIND, IFLA_INFO_DATA/IFLA_VRF_TABLE), which
// net.Interfaces does not give; keyed by interface index.
func linkKinds() map[int]linkKind {
	const (
		iflaLinkInfo  = 18
		iflaInfoKind  = 1
		iflaInfoData  = 2
		iflaVRFTable  = 1
		ifInfoMsgSize = 16
	)
	b, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil
	}
	out := map[int]linkKind{}
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK || len(m.Data) < ifInfoMsgSize {
			continue
		}
		index := int(int32(binary.NativeEndian.Uint32(m.Data[4:8])))
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type&0x3fff != iflaLinkInfo {
				continue
			}
			var k linkKind
			for _, n := range nestedAttrs(a.Value) {
				switch n.typ {
				case iflaInfoKind:
					k.kind = cString(n.val)
				case iflaInfoData:
					for _, d := range nestedAttrs(n.val) {
						if d.typ == iflaVRFTable && len(d.val) >= 4 {
							k.vrfTable = binary.NativeEndian.Uint32(d.val)
						}
					}
				}
			}
			out[index] = k
		}
	}
	return out
}

type nlAttr struct {
	typ uint16
	val []byte
}

// nestedAttrs splits a nested attribute's payload.
func nestedAttrs(b []byte) []nlAttr {
	var out []nlAttr
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, nlAttr{typ: binary.NativeEndian.Uint16(b[2:]) & 0x3fff, val: b[4:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return out
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
