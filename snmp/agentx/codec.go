package agentx

import (
	"fmt"
	"io"
)

// internetPrefix is 1.3.6.1, which an encoded OID may abbreviate with its
// n_prefix field (section 5.1).
var internetPrefix = OID{1, 3, 6, 1}

// encoder appends fields in one byte order.
type encoder struct {
	bo  order
	buf []byte
}

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = e.bo.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32) { e.buf = e.bo.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) {
	// Counter64 is one 8-octet integer in the PDU's byte order.
	e.buf = e.bo.AppendUint64(e.buf, v)
}

func (e *encoder) octets(b []byte) {
	e.u32(uint32(len(b)))
	e.buf = append(e.buf, b...)
	for len(e.buf)%4 != 0 {
		e.buf = append(e.buf, 0)
	}
}

// oid encodes o with the internet prefix compressed when it applies.
func (e *encoder) oid(o OID, include bool) {
	prefix := uint8(0)
	subs := o
	if len(o) > 4 && o.HasPrefix(internetPrefix) && o[4] != 0 && o[4] < 256 {
		prefix, subs = uint8(o[4]), o[5:]
	}
	e.u8(uint8(len(subs)))
	e.u8(prefix)
	if include {
		e.u8(1)
	} else {
		e.u8(0)
	}
	e.u8(0)
	for _, s := range subs {
		e.u32(s)
	}
}

func (e *encoder) varbind(v Varbind) {
	e.u16(uint16(v.Type))
	e.u16(0)
	e.oid(v.Name, false)
	switch v.Type {
	case Integer:
		e.u32(uint32(v.Int))
	case Counter32, Gauge32, TimeTicks:
		e.u32(uint32(v.Uint))
	case Counter64:
		e.u64(v.Uint)
	case OctetString, IPAddress, Opaque:
		e.octets(v.Bytes)
	case ObjectIdentifier:
		e.oid(v.OID, false)
	}
}

// MarshalBinary encodes p; the payload length is computed, p is not
// changed. The byte order follows p.Flags.
func (p *PDU) MarshalBinary() ([]byte, error) {
	for _, o := range p.allOIDs() {
		if len(o) > MaxSubIDs {
			return nil, ErrOIDTooLong
		}
	}
	e := &encoder{bo: byteOrder(p.Flags), buf: make([]byte, HeaderLen, 128)}
	// Only the PDUs of section 6.1.1 carry a context; on the others the
	// flag means nothing, and both directions ignore it.
	if p.hasContext() && contextAllowed(p.Type) {
		e.octets([]byte(p.Context))
	}
	if err := p.encodePayload(e); err != nil {
		return nil, err
	}
	h := e.buf[:HeaderLen]
	ver := p.Version
	if ver == 0 {
		ver = Version
	}
	h[0], h[1], h[2], h[3] = ver, uint8(p.Type), p.Flags, 0
	if p.Type == TypeRegister && p.InstanceReg {
		h[2] |= FlagInstanceRegistration
	}
	e.bo.PutUint32(h[4:], p.SessionID)
	e.bo.PutUint32(h[8:], p.TransactionID)
	e.bo.PutUint32(h[12:], p.PacketID)
	e.bo.PutUint32(h[16:], uint32(len(e.buf)-HeaderLen))
	return e.buf, nil
}

func (p *PDU) allOIDs() []OID {
	out := []OID{p.ID}
	for _, r := range p.Ranges {
		out = append(out, r.Start, r.End)
	}
	for _, v := range p.Varbinds {
		out = append(out, v.Name, v.OID)
	}
	return out
}

func (p *PDU) encodePayload(e *encoder) error {
	switch p.Type {
	case TypeOpen:
		e.u8(p.Timeout)
		e.u8(0)
		e.u8(0)
		e.u8(0)
		e.oid(p.ID, false)
		e.octets([]byte(p.Descr))
	case TypeClose:
		e.u8(uint8(p.Reason))
		e.u8(0)
		e.u8(0)
		e.u8(0)
	case TypeRegister, TypeUnregister:
		if p.Type == TypeRegister {
			e.u8(p.Timeout)
		} else {
			e.u8(0)
		}
		e.u8(p.Priority)
		e.u8(p.RangeSubID)
		e.u8(0)
		e.oid(p.ID, false)
		if p.RangeSubID != 0 {
			e.u32(p.UpperBound)
		}
	case TypeGet, TypeGetNext, TypeGetBulk:
		if p.Type == TypeGetBulk {
			e.u16(p.NonRepeaters)
			e.u16(p.MaxRepetitions)
		}
		for _, r := range p.Ranges {
			e.oid(r.Start, r.Include)
			e.oid(r.End, false)
		}
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		for _, v := range p.Varbinds {
			e.varbind(v)
		}
	case TypeCommitSet, TypeUndoSet, TypeCleanupSet, TypePing:
	case TypeAddAgentCaps:
		e.oid(p.ID, false)
		e.octets([]byte(p.Descr))
	case TypeRemoveAgentCaps:
		e.oid(p.ID, false)
	case TypeResponse:
		e.u32(p.SysUpTime)
		e.u16(uint16(p.Error))
		e.u16(p.Index)
		for _, v := range p.Varbinds {
			e.varbind(v)
		}
	default:
		return fmt.Errorf("%w: %d", ErrType, uint8(p.Type))
	}
	return nil
}

// decoder reads fields from one PDU's payload, remembering the first error
// (as netlink's AttributeDecoder does) so callers check once.
type decoder struct {
	bo  order
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail(ErrShort)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return d.bo.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return d.bo.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return d.bo.Uint64(b)
	}
	return 0
}

func (d *decoder) octets() []byte {
	n := d.u32()
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.b)) {
		d.fail(ErrShort)
		return nil
	}
	padded := (int(n) + 3) &^ 3
	if padded > len(d.b) {
		d.fail(ErrShort)
		return nil
	}
	out := append([]byte(nil), d.b[:n]...)
	d.b = d.b[padded:]
	return out
}

// oid decodes an encoded OID; a null OID (no sub-identifiers, no prefix)
// decodes as an empty, non-nil OID.
func (d *decoder) oid() (OID, bool) {
	h := d.take(4)
	if h == nil {
		return nil, false
	}
	n, prefix, include := int(h[0]), h[1], h[2]
	if include > 1 {
		d.fail(ErrInclude)
		return nil, false
	}
	total := n
	if prefix != 0 {
		total += 5
	}
	if total > MaxSubIDs {
		d.fail(ErrOIDTooLong)
		return nil, false
	}
	raw := d.take(4 * n)
	if d.err != nil {
		return nil, false
	}
	o := make(OID, 0, total)
	if prefix != 0 {
		o = append(o, 1, 3, 6, 1, uint32(prefix))
	}
	for i := 0; i < n; i++ {
		o = append(o, d.bo.Uint32(raw[4*i:]))
	}
	return o, include == 1
}

func (d *decoder) varbind() Varbind {
	t := VarType(d.u16())
	d.u16()
	name, _ := d.oid()
	v := Varbind{Name: name, Type: t}
	switch t {
	case Integer:
		v.Int = int32(d.u32())
	case Counter32, Gauge32, TimeTicks:
		v.Uint = uint64(d.u32())
	case Counter64:
		v.Uint = d.u64()
	case OctetString, Opaque:
		v.Bytes = d.octets()
	case IPAddress:
		v.Bytes = d.octets()
		if d.err == nil && len(v.Bytes) != 4 {
			d.fail(ErrValueLength)
		}
	case ObjectIdentifier:
		v.OID, _ = d.oid()
	case Null, NoSuchObject, NoSuchInstance, EndOfMIBView:
	default:
		d.fail(ErrValueType)
	}
	return v
}

func (d *decoder) varbinds() []Varbind {
	var out []Varbind
	for d.err == nil && len(d.b) > 0 {
		out = append(out, d.varbind())
	}
	return out
}

// ParseHeader decodes the 20-octet header and returns it with the payload
// length, which it checks against MaxPayload and the 4-octet alignment.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < HeaderLen {
		return Header{}, 0, ErrShort
	}
	h := Header{Version: b[0], Type: PDUType(b[1]), Flags: b[2]}
	if h.Version != Version {
		return h, 0, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	if h.Type < TypeOpen || h.Type > TypeResponse {
		return h, 0, fmt.Errorf("%w: %d", ErrType, uint8(h.Type))
	}
	bo := byteOrder(h.Flags)
	h.SessionID = bo.Uint32(b[4:])
	h.TransactionID = bo.Uint32(b[8:])
	h.PacketID = bo.Uint32(b[12:])
	n := bo.Uint32(b[16:])
	if n > MaxPayload {
		return h, 0, fmt.Errorf("%w: %d octets", ErrTooLarge, n)
	}
	if n%4 != 0 {
		return h, 0, fmt.Errorf("%w: %d is not a multiple of 4", ErrPayloadLength, n)
	}
	return h, int(n), nil
}

// Unmarshal decodes one PDU from b, which must hold exactly the header and
// its payload.
func Unmarshal(b []byte) (*PDU, error) {
	h, n, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if len(b) != HeaderLen+n {
		return nil, fmt.Errorf("%w: header says %d octets, have %d", ErrPayloadLength, n, len(b)-HeaderLen)
	}
	p := &PDU{Header: h}
	d := &decoder{bo: byteOrder(h.Flags), b: b[HeaderLen:]}
	if p.hasContext() && contextAllowed(p.Type) {
		p.Context = string(d.octets())
	}
	p.decodePayload(d)
	if d.err == nil && len(d.b) != 0 {
		d.fail(ErrTrailing)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%v PDU: %w", p.Type, d.err)
	}
	return p, nil
}

func (p *PDU) decodePayload(d *decoder) {
	switch p.Type {
	case TypeOpen:
		p.Timeout = d.u8()
		d.take(3)
		p.ID, _ = d.oid()
		p.Descr = string(d.octets())
	case TypeClose:
		p.Reason = CloseReason(d.u8())
		d.take(3)
	case TypeRegister, TypeUnregister:
		if t := d.u8(); p.Type == TypeRegister { // reserved in Unregister
			p.Timeout = t
		}
		p.Priority = d.u8()
		p.RangeSubID = d.u8()
		d.u8()
		p.ID, _ = d.oid()
		if p.RangeSubID != 0 {
			p.UpperBound = d.u32()
		}
		p.InstanceReg = p.Type == TypeRegister && p.Flags&FlagInstanceRegistration != 0
	case TypeGet, TypeGetNext, TypeGetBulk:
		if p.Type == TypeGetBulk {
			p.NonRepeaters = d.u16()
			p.MaxRepetitions = d.u16()
		}
		for d.err == nil && len(d.b) > 0 {
			var r SearchRange
			r.Start, r.Include = d.oid()
			r.End, _ = d.oid()
			p.Ranges = append(p.Ranges, r)
		}
	case TypeTestSet, TypeNotify, TypeIndexAllocate, TypeIndexDeallocate:
		p.Varbinds = d.varbinds()
	case TypeAddAgentCaps:
		p.ID, _ = d.oid()
		p.Descr = string(d.octets())
	case TypeRemoveAgentCaps:
		p.ID, _ = d.oid()
	case TypeResponse:
		p.SysUpTime = d.u32()
		p.Error = ResError(d.u16())
		p.Index = d.u16()
		p.Varbinds = d.varbinds()
	}
}

// ReadPDU reads one whole PDU from a stream: the header, then exactly the
// payload it announces (bounded by MaxPayload).
func ReadPDU(r io.Reader) (*PDU, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return nil, err
	}
	_, n, err := ParseHeader(hb[:])
	if err != nil {
		return nil, err
	}
	buf := make([]byte, HeaderLen+n)
	copy(buf, hb[:])
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return Unmarshal(buf)
}
