package agentx

import (
	"fmt"
	"net"
	"strings"
)

// DefaultSocket is net-snmp's (and so keepalived's) default master agent
// socket.
const DefaultSocket = "unix:/var/agentx/master"

// defaultPort is AgentX's registered TCP/UDP port.
const defaultPort = "705"

// Address is a parsed master agent address: a Go network ("unix", "tcp",
// "tcp6", "udp", "udp6") and an address for net.Dial.
type Address struct {
	Network string
	Addr    string
}

func (a Address) String() string { return a.Network + ":" + a.Addr }

// Datagram reports whether PDUs travel one per datagram.
func (a Address) Datagram() bool { return strings.HasPrefix(a.Network, "udp") }

// ParseAddress reads a master agent address the way net-snmp reads
// keepalived's snmp_socket and -A value (a transport specifier):
//
//	"" (the default)           unix:/var/agentx/master
//	/path, unix:/path          a Unix stream socket
//	tcp:host:port, tcp:port    TCP (host defaults to localhost, port to 705)
//	udp:host:port              UDP, one PDU per datagram
//	tcp6:[::1]:705, udp6:...   the same over IPv6 (ipv6: is udp6:)
//	host:port                  without a prefix: TCP, as net-snmp falls
//	                           back to after the Unix domain
func ParseAddress(s string) (Address, error) {
	if s == "" {
		s = DefaultSocket
	}
	if strings.HasPrefix(s, "/") {
		return Address{"unix", s}, nil
	}
	domain, rest, found := strings.Cut(s, ":")
	if !found {
		domain, rest = "", s
	}
	switch strings.ToLower(domain) {
	case "unix":
		if rest == "" {
			return Address{}, fmt.Errorf("agentx: %q: empty socket path", s)
		}
		return Address{"unix", rest}, nil
	case "tcp", "udp":
		return inetAddress(strings.ToLower(domain), rest, s)
	case "tcp6", "udp6", "ipv6", "udpv6", "udpipv6", "tcpv6", "tcpipv6":
		n := "udp6"
		if strings.HasPrefix(strings.ToLower(domain), "tcp") {
			n = "tcp6"
		}
		return inetAddress(n, rest, s)
	default:
		// No known domain: the whole string is host[:port] over TCP.
		return inetAddress("tcp", s, s)
	}
}

func inetAddress(network, rest, orig string) (Address, error) {
	host, port := "localhost", defaultPort
	switch {
	case rest == "":
	case allDigits(rest):
		port = rest
	default:
		if h, p, err := net.SplitHostPort(rest); err == nil {
			host, port = h, p
		} else {
			host = strings.Trim(rest, "[]")
		}
	}
	if host == "" {
		host = "localhost"
	}
	if !allDigits(port) {
		return Address{}, fmt.Errorf("agentx: %q: bad port %q", orig, port)
	}
	return Address{network, net.JoinHostPort(host, port)}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
