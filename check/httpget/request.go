package httpget

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Protocol is the http_protocol setting of HTTP_GET/SSL_GET and genhash -P.
type Protocol int

const (
	// HTTP10 sends "HTTP/1.0" and no Connection header (the default).
	HTTP10 Protocol = iota
	// HTTP10Close sends "HTTP/1.0" with "Connection: close" (config "1.0C").
	HTTP10Close
	// HTTP11 sends "HTTP/1.1" with "Connection: close".
	HTTP11
)

// String returns the spelling keepalived uses in its config dump.
func (p Protocol) String() string {
	switch p {
	case HTTP10:
		return "1.0"
	case HTTP10Close:
		return "1.0C"
	case HTTP11:
		return "1.1"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ParseProtocol accepts the spellings keepalived 2.2.7 accepts: "1.0",
// "1.0C", "1.0c" and "1.1". There is no HTTP/0.9 mode in 2.2.7.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "1.0":
		return HTTP10, nil
	case "1.0C", "1.0c":
		return HTTP10Close, nil
	case "1.1":
		return HTTP11, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrProtocol, s)
}

// maxRequestLen is GET_BUFFER_LENGTH-1: keepalived formats the request
// with snprintf into a 2048-byte buffer, so longer requests are cut.
const maxRequestLen = 2048 - 1

// BuildRequest returns the GET request keepalived sends:
//
//	GET <path> HTTP/1.<0|1>\r\n
//	User-Agent: KeepAliveClient\r\n
//	[Connection: close\r\n]            (1.0C and 1.1)
//	Host: <vhost | ip:port | [ipv6]:port>\r\n\r\n
//
// vhost is used verbatim (no port) when hasVhost is set, even if empty;
// otherwise the Host is the destination address and port. The path is not
// escaped. Requests longer than 2047 bytes are truncated like the C code
// truncates them.
func BuildRequest(path string, proto Protocol, vhost string, hasVhost bool, dst netip.AddrPort) []byte {
	minor := byte('0')
	if proto == HTTP11 {
		minor = '1'
	}
	b := make([]byte, 0, 128+len(path)+len(vhost))
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1."...)
	b = append(b, minor)
	b = append(b, "\r\nUser-Agent: KeepAliveClient\r\n"...)
	if proto == HTTP10Close || proto == HTTP11 {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "Host: "...)
	switch {
	case hasVhost:
		b = append(b, vhost...)
	case dst.Addr().Is6():
		b = append(b, '[')
		b = append(b, FormatIP(dst.Addr())...)
		b = append(b, "]:"...)
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	default:
		b = append(b, FormatIP(dst.Addr())...)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	}
	b = append(b, "\r\n\r\n"...)
	if len(b) > maxRequestLen {
		b = b[:maxRequestLen]
	}
	return b
}

// FormatIP prints an address as glibc inet_ntop does. It differs from
// netip.Addr.String for IPv4-compatible IPv6 addresses (::a.b.c.d) and
// never prints a zone.
func FormatIP(a netip.Addr) string {
	a = a.WithZone("")
	if !a.Is6() || a.Is4In6() {
		return a.String()
	}
	b := a.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return a.String()
		}
	}
	if b[12] == 0 && b[13] == 0 {
		// ::, ::1 and ::x print in hex: the zero run is longer than six words.
		return a.String()
	}
	return "::" + netip.AddrFrom4([4]byte(b[12:])).String()
}
