package netio

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"keepalived-go/vrrp/packet"
)

var mac = net.HardwareAddr{0x02, 0, 0x5e, 0, 1, 10}

func TestARPFrame(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.110")
	b := ARPFrame(mac, ip)
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0x5e, 0, 1, 10, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet/IPv4 request
		0x02, 0, 0x5e, 0, 1, 10, 198, 51, 100, 110, // sender
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 198, 51, 100, 110, // target
	}
	if !bytes.Equal(b, want) {
		t.Errorf("ARP frame\n got %x\nwant %x", b, want)
	}
}

func TestNAFrame(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8::110")
	b := NAFrame(mac, ip)
	if !bytes.Equal(b[:6], []byte{0x33, 0x33, 0, 0, 0, 1}) || binary.BigEndian.Uint16(b[12:]) != 0x86dd {
		t.Fatalf("Ethernet header %x", b[:14])
	}
	h := b[14:54]
	if h[0]>>4 != 6 || h[6] != 58 || h[7] != 255 || binary.BigEndian.Uint16(h[4:]) != 32 {
		t.Fatalf("IPv6 header %x", h)
	}
	src, dst := netip.AddrFrom16([16]byte(h[8:24])), netip.AddrFrom16([16]byte(h[24:40]))
	if src != ip || dst != netip.MustParseAddr("ff02::1") {
		t.Fatalf("src %v dst %v", src, dst)
	}
	m := b[54:]
	if m[0] != 136 || m[4] != 0x20 || netip.AddrFrom16([16]byte(m[8:24])) != ip || m[24] != 2 || m[25] != 1 || !bytes.Equal(m[26:32], mac) {
		t.Fatalf("NA %x", m)
	}
	// A correct checksum sums to zero with the pseudo-header.
	var ph [40]byte
	copy(ph[0:16], h[8:24])
	copy(ph[16:32], h[24:40])
	binary.BigEndian.PutUint32(ph[32:], uint32(len(m)))
	ph[39] = 58
	if s := packet.Checksum(foldSum(ph[:]), m); s != 0 {
		t.Errorf("ICMPv6 checksum does not verify (%#04x)", s)
	}
}
