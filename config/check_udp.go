package config

import (
	"strings"

	"keepalived-go/parser"
)

// UDP_CHECK: check/check_udp.c's configuration (install_udp_check_keyword
// and its handlers, udp_check_end_handler).

// UDPCheck is the UDP_CHECK block.
const UDPCheck CheckerKind = "UDP_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: UDPCheck, order: 5, keywords: (*checkState).udpKeywords,
		start: (*checkState).udpStart, end: (*checkState).udpEnd, retry: 1, dbr: timerHz})
}

// UDPOptions holds UDP_CHECK settings.
type UDPOptions struct {
	Payload      []byte
	RequireReply bool
	ReplyPattern []byte
	// ReplyMask has a 0x0f for each wildcard nibble (x) of ReplyPattern;
	// nil without wildcards.
	ReplyMask      []byte
	MinReplyLength int
	MaxReplyLength int
}

func (*UDPOptions) isCheckerOptions() {}

// UDPOpts are a UDP_CHECK's settings (nil for another kind).
func (c *Checker) UDPOpts() *UDPOptions {
	o, _ := c.Options.(*UDPOptions)
	return o
}

func (s *checkState) udpStart(parser.Strvec) {
	c := s.queueChecker(UDPCheck, true)
	c.m.Options = &UDPOptions{MaxReplyLength: 255}
}

func (s *checkState) udpKeywords() []*parser.Keyword {
	udp := func(f func(*UDPOptions, parser.Strvec)) func(parser.Strvec) {
		return func(v parser.Strvec) {
			if c := s.cur(); c != nil && c.m.UDPOpts() != nil {
				f(c.m.UDPOpts(), v)
			}
		}
	}
	return append(s.commonKeywords(true),
		kw("payload", udp(func(u *UDPOptions, v parser.Strvec) {
			if v.Len() == 1 {
				s.l.report(parser.SevGeneral, "UDP_CHECK payload requires a payload")
				return
			}
			data, _, n := readHexStr(strings.Join(v.W[1:], " "), false)
			if n == 0 {
				s.l.report(parser.SevGeneral, "Invalid hex string for UDP_CHECK payload")
				u.Payload = nil
				return
			}
			u.Payload = data
		})),
		kw("require_reply", udp(func(u *UDPOptions, v parser.Strvec) {
			u.RequireReply = true
			if v.Len() == 1 {
				return
			}
			data, mask, n := readHexStr(strings.Join(v.W[1:], " "), true)
			if n == 0 {
				s.l.report(parser.SevGeneral, "Invalid hex string for UDP_CHECK reply")
				u.ReplyPattern = nil
				return
			}
			u.ReplyPattern = data
			if mask != nil {
				u.ReplyMask = mask
			}
		})),
		kw("min_reply_length", udp(func(u *UDPOptions, v parser.Strvec) { s.udpLength(v, &u.MinReplyLength, "min") })),
		kw("max_reply_length", udp(func(u *UDPOptions, v parser.Strvec) { s.udpLength(v, &u.MaxReplyLength, "max") })),
	)
}

// udpLength is min_length_handler and max_length_handler.
func (s *checkState) udpLength(v parser.Strvec, dst *int, which string) {
	n, ok := s.l.readUnsigned(v.Slot(1), 0, 65535, false)
	if !ok {
		s.l.report(parser.SevGeneral, "UDP_CHECK %s length %s not valid - must be between 0 & %d", which, v.Slot(1), 65535)
		return
	}
	*dst = int(n)
}

// udpEnd is udp_check_end_handler.
func (s *checkState) udpEnd() {
	c := s.cur()
	if !s.checkConn(c) {
		s.dequeue()
		return
	}
	if c == nil {
		return
	}
	if u := c.m.UDPOpts(); u != nil && u.MinReplyLength > u.MaxReplyLength {
		s.l.report(parser.SevGeneral, "UDP_CHECK min_reply length %d > max_reply_length %d - will always fail",
			u.MinReplyLength, u.MaxReplyLength)
	}
}

// readHexStr is read_hex_str: hex digits, optionally separated by spaces
// or tabs between octets; with a mask, x or X is a wildcard nibble (mask nil
// when there is none). n is 0 for an invalid or empty string.
func readHexStr(str string, allowMask bool) (data, mask []byte, n int) {
	hexv := func(c byte) byte {
		switch {
		case c >= '0' && c <= '9':
			return c - '0'
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10
		case allowMask && (c == 'x' || c == 'X'):
			return 0xfe
		}
		return 0xff
	}
	using := false
	var val byte
	p := 0
	for {
		for p < len(str) && (str[p] == ' ' || str[p] == '\t') {
			p++
		}
		if p >= len(str) {
			break
		}
		val = hexv(str[p])
		p++
		if val == 0xff {
			break
		}
		var m byte
		if val == 0xfe {
			m, val, using = 0x0f, 0, true
		}
		if p < len(str) && str[p] != ' ' {
			hi := val << 4
			m <<= 4
			val = hexv(str[p])
			p++
			if val == 0xff {
				break
			}
			if val == 0xfe {
				m |= 0x0f
				val = 0
				using = true
			}
			val |= hi
		}
		data = append(data, val)
		mask = append(mask, m)
	}
	if val == 0xff || len(data) == 0 {
		return nil, nil, 0
	}
	if !using {
		mask = nil
	}
	return data, mask, len(data)
}
