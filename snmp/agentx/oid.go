// Package agentx is an AgentX (RFC 2741) codec and subagent session: the
// protocol keepalived speaks, through net-snmp, to the master agent
// (snmpd) to serve its MIBs and send its traps.
//
// The codec decodes every PDU a master can send and encodes every PDU a
// subagent sends, in either byte order (the NETWORK_BYTE_ORDER flag); the
// decoder checks each length before it slices and fails with the sentinel
// errors below. The session (Agent) connects to the master's socket, opens
// a session, registers subtrees, answers Get/GetNext/GetBulk from a View,
// sends Notify PDUs and reconnects with backoff when the master goes away.
package agentx

import (
	"errors"
	"strconv"
	"strings"
)

// OID is an object identifier, one sub-identifier per element.
type OID []uint32

// MaxSubIDs is RFC 2741's limit on an OID's length (section 5.1).
const MaxSubIDs = 128

// ParseOID reads a dotted OID ("1.3.6.1", with or without a leading dot).
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return OID{}, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) > MaxSubIDs {
		return nil, ErrOIDTooLong
	}
	o := make(OID, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, errors.New("agentx: bad OID " + strconv.Quote(s))
		}
		o[i] = uint32(n)
	}
	return o, nil
}

// MustOID is ParseOID for constants; it panics on a malformed OID.
func MustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String gives the dotted form with a leading dot, as net-snmp prints -On.
func (o OID) String() string {
	var b strings.Builder
	for _, n := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(n), 10))
	}
	return b.String()
}

// Compare orders OIDs lexicographically (RFC 2741 section 5.1).
func (o OID) Compare(p OID) int {
	for i := 0; i < len(o) && i < len(p); i++ {
		switch {
		case o[i] < p[i]:
			return -1
		case o[i] > p[i]:
			return 1
		}
	}
	switch {
	case len(o) < len(p):
		return -1
	case len(o) > len(p):
		return 1
	}
	return 0
}

// HasPrefix reports whether p is a prefix of o (or equal to it).
func (o OID) HasPrefix(p OID) bool {
	if len(p) > len(o) {
		return false
	}
	for i := range p {
		if o[i] != p[i] {
			return false
		}
	}
	return true
}

// Append returns a new OID: o followed by subs.
func (o OID) Append(subs ...uint32) OID {
	out := make(OID, 0, len(o)+len(subs))
	return append(append(out, o...), subs...)
}
