package agentx

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The AgentX header (RFC 2741 section 6.1), 20 octets, then the payload:
//
//	+---------------+---------------+---------------+---------------+
//	|   h.version   |    h.type     |    h.flags    |  <reserved>   |
//	+---------------+---------------+---------------+---------------+
//	|                          h.sessionID                          |
//	+---------------------------------------------------------------+
//	|                        h.transactionID                        |
//	+---------------------------------------------------------------+
//	|                          h.packetID                           |
//	+---------------------------------------------------------------+
//	|                        h.payload_length                       |
//	+---------------------------------------------------------------+
//
// The four 32-bit fields, and every integer in the payload, are in the
// byte order the NETWORK_BYTE_ORDER flag says (big endian when set).
const HeaderLen = 20

// Version is the only AgentX protocol version (h.version).
const Version = 1

// MaxPayload bounds what the decoder accepts from a peer; net-snmp never
// sends PDUs this large, and a hostile peer cannot make us allocate more.
const MaxPayload = 1 << 20

// PDUType is h.type (section 6.1).
type PDUType uint8

// The PDU types of section 6.1.
const (
	TypeOpen            PDUType = 1
	TypeClose           PDUType = 2
	TypeRegister        PDUType = 3
	TypeUnregister      PDUType = 4
	TypeGet             PDUType = 5
	TypeGetNext         PDUType = 6
	TypeGetBulk         PDUType = 7
	TypeTestSet         PDUType = 8
	TypeCommitSet       PDUType = 9
	TypeUndoSet         PDUType = 10
	TypeCleanupSet      PDUType = 11
	TypeNotify          PDUType = 12
	TypePing            PDUType = 13
	TypeIndexAllocate   PDUType = 14
	TypeIndexDeallocate PDUType = 15
	TypeAddAgentCaps    PDUType = 16
	TypeRemoveAgentCaps PDUType = 17
	TypeResponse        PDUType = 18
)

var typeNames = [...]string{"", "Open", "Close", "Register", "Unregister", "Get", "GetNext", "GetBulk",
	"TestSet", "CommitSet", "UndoSet", "CleanupSet", "Notify", "Ping", "IndexAllocate",
	"IndexDeallocate", "AddAgentCaps", "RemoveAgentCaps", "Response"}

func (t PDUType) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("PDUType(%d)", uint8(t))
}

// Header flags (h.flags).
const (
	FlagInstanceRegistration = 0x01
	FlagNewIndex             = 0x02
	FlagAnyIndex             = 0x04
	FlagNonDefaultContext    = 0x08
	FlagNetworkByteOrder     = 0x10
)

// CloseReason is the reason of a Close-PDU (section 6.2.2).
type CloseReason uint8

// Close reasons.
const (
	ReasonOther         CloseReason = 1
	ReasonParseError    CloseReason = 2
	ReasonProtocolError CloseReason = 3
	ReasonTimeouts      CloseReason = 4
	ReasonShutdown      CloseReason = 5
	ReasonByManager     CloseReason = 6
)

// ResError is res.error of a Response-PDU (section 6.2.16): the SNMP
// error-status values plus AgentX's own from 256 up.
type ResError uint16

// Response errors.
const (
	NoError               ResError = 0
	ErrGenErr             ResError = 5
	ErrNoSuchName         ResError = 2
	ErrNoAccess           ResError = 6
	ErrWrongType          ResError = 7
	ErrWrongLength        ResError = 8
	ErrWrongValue         ResError = 10
	ErrCommitFailed       ResError = 14
	ErrNotWritable        ResError = 17
	OpenFailed            ResError = 256
	NotOpen               ResError = 257
	IndexWrongType        ResError = 258
	IndexAlreadyAllocated ResError = 259
	IndexNoneAvailable    ResError = 260
	IndexNotAllocated     ResError = 261
	UnsupportedContext    ResError = 262
	DuplicateRegistration ResError = 263
	UnknownRegistration   ResError = 264
	UnknownAgentCaps      ResError = 265
	ParseError            ResError = 266
	RequestDenied         ResError = 267
	ProcessingError       ResError = 268
)

func (e ResError) Error() string {
	names := map[ResError]string{NoError: "noError", ErrGenErr: "genErr", ErrNoSuchName: "noSuchName",
		ErrNoAccess: "noAccess", ErrWrongType: "wrongType", ErrWrongLength: "wrongLength",
		ErrWrongValue: "wrongValue", ErrCommitFailed: "commitFailed",
		ErrNotWritable: "notWritable", OpenFailed: "openFailed", NotOpen: "notOpen",
		IndexWrongType: "indexWrongType", IndexAlreadyAllocated: "indexAlreadyAllocated",
		IndexNoneAvailable: "indexNoneAvailable", IndexNotAllocated: "indexNotAllocated",
		UnsupportedContext: "unsupportedContext", DuplicateRegistration: "duplicateRegistration",
		UnknownRegistration: "unknownRegistration", UnknownAgentCaps: "unknownAgentCaps",
		ParseError: "parseError", RequestDenied: "requestDenied", ProcessingError: "processingError"}
	if n, ok := names[e]; ok {
		return "agentx: " + n
	}
	return fmt.Sprintf("agentx: error %d", uint16(e))
}

// Decoding errors. Each decode failure wraps exactly one of them.
var (
	ErrShort         = errors.New("agentx: truncated PDU")
	ErrVersion       = errors.New("agentx: unsupported version")
	ErrType          = errors.New("agentx: unknown PDU type")
	ErrPayloadLength = errors.New("agentx: bad payload length")
	ErrTooLarge      = errors.New("agentx: payload too large")
	ErrOIDTooLong    = errors.New("agentx: OID longer than 128 sub-identifiers")
	ErrInclude       = errors.New("agentx: bad OID include field")
	ErrValueType     = errors.New("agentx: unknown varbind type")
	ErrValueLength   = errors.New("agentx: bad value length")
	ErrTrailing      = errors.New("agentx: bytes after the PDU's fields")
)

// Header is a PDU's header without the payload length, which encoding
// computes.
type Header struct {
	Version       uint8
	Type          PDUType
	Flags         uint8
	SessionID     uint32
	TransactionID uint32
	PacketID      uint32
}

// SearchRange is a Get/GetNext/GetBulk range (section 5.2): Start (with
// its include flag) up to End, exclusive; an empty End is unbounded.
type SearchRange struct {
	Start   OID
	Include bool
	End     OID
}

// PDU is any AgentX PDU. Which fields matter depends on Type; the rest
// stay zero. Context is present when FlagNonDefaultContext is set.
type PDU struct {
	Header
	Context string

	Timeout     uint8  // Open, Register (seconds; 0 = default)
	Priority    uint8  // Register, Unregister (lower is better; 0 = default 127)
	RangeSubID  uint8  // Register, Unregister
	UpperBound  uint32 // Register, Unregister when RangeSubID != 0
	ID          OID    // Open (agent id), Register/Unregister (subtree), Add/RemoveAgentCaps
	InstanceReg bool   // Register: FlagInstanceRegistration
	Descr       string // Open, AddAgentCaps

	Reason CloseReason // Close

	NonRepeaters   uint16 // GetBulk
	MaxRepetitions uint16 // GetBulk
	Ranges         []SearchRange

	Varbinds []Varbind // TestSet, Notify, Index*, Response

	SysUpTime uint32   // Response
	Error     ResError // Response
	Index     uint16   // Response
}

func (p *PDU) hasContext() bool { return p.Flags&FlagNonDefaultContext != 0 }

// contextTypes may carry a non-default context (section 6.1.1).
func contextAllowed(t PDUType) bool {
	switch t {
	case TypeRegister, TypeUnregister, TypeGet, TypeGetNext, TypeGetBulk, TypeTestSet,
		TypeNotify, TypePing, TypeIndexAllocate, TypeIndexDeallocate, TypeAddAgentCaps, TypeRemoveAgentCaps:
		return true
	}
	return false
}

// order is a byte order that can both read and append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

func byteOrder(flags uint8) order {
	if flags&FlagNetworkByteOrder != 0 {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
