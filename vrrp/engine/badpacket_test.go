package engine_test

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"keepalived-go/vrrp/packet"
)

// rawSender is an IP_HDRINCL socket created inside a namespace (a socket
// keeps the namespace it was made in, whatever thread later uses it).
func rawSender(t *testing.T, ns string) int {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		t.Fatal(err)
	}
	fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_RAW, packet.ProtoVRRP)
	if serr == nil {
		serr = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_HDRINCL, 1)
	}
	if serr == nil {
		serr = unix.BindToDevice(fd, "eth0")
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("cannot return to the test's namespace: %v", err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// TestNetnsBadPackets injects malformed adverts (each with priority 254,
// so that one accepted by mistake would demote the master) from a third
// node: the state stays as it was and each is counted under its reason.
func TestNetnsBadPackets(t *testing.T) {
	t.Parallel()
	l := newLab(t, 3)
	a, b, c := l.nodes[0], l.nodes[1], l.nodes[2]
	pa := a.start(seedConf("MASTER", 200, ""))
	pb := b.start(seedConf("BACKUP", 100, ""))
	l.waitHolder(vip, 0, 6*time.Second)
	fd := rawSender(t, c.ns)

	src := netip.MustParseAddr(c.ip4)
	group := netip.MustParseAddr("224.0.0.18")
	var pass [packet.AuthDataLen]byte
	copy(pass[:], "p@ssw0rd")
	advert := func(prio uint8) packet.Advert {
		return packet.Advert{Version: 2, Type: packet.TypeAdvertisement, VRID: 10, Priority: prio, AuthType: packet.AuthPass,
			AdvertInt: 1, Addrs: []netip.Addr{netip.MustParseAddr(vip)}, AuthData: pass}
	}
	hdr := packet.IPv4Header{TOS: packet.IPv4TOS, TTL: packet.TTL, Src: src, Dst: group}
	encode := func(h packet.IPv4Header, a packet.Advert) []byte {
		t.Helper()
		b, err := packet.Encode4(h, &a, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send := func(b []byte) {
		t.Helper()
		if err := unix.Sendto(fd, b, 0, &unix.SockaddrInet4{Addr: group.As4()}); err != nil {
			t.Fatal(err)
		}
	}

	// The injector's baseline is right: a well-formed lower-priority
	// advert is accepted (and answered) by the master.
	send(encode(hdr, advert(50)))
	waitFor(t, "the control advert to be accepted", 2*time.Second, func() bool {
		return strings.Contains(pa.logText(), "Received advert from 198.51.100.13 with lower priority 50, ours 200")
	})
	waitFor(t, "the control advert in the counters", time.Second, func() bool {
		return pa.readStats(t).Instances["ETH0"].AdvertsReceived == 1
	})
	base := uint64(1)

	cases := badPackets(hdr, advert, encode)
	const n = 3
	for range n {
		for _, b := range cases {
			send(b)
		}
	}
	want := func(s statsFile, reason string) uint64 {
		return s.Instances["ETH0"].Discards[reason] + s.Discards[reason]
	}
	waitFor(t, "every bad packet counted", 3*time.Second, func() bool {
		s := pa.readStats(t)
		for r := range cases {
			if want(s, r) < n {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // let stragglers be counted too
	for _, p := range []*proc{pa, pb} {
		checkDiscards(t, p, cases, n)
	}
	if s := pa.readStats(t).Instances["ETH0"]; s.State != "MASTER" || s.AdvertsReceived != base {
		t.Errorf("master changed: %+v (received before %d)", s, base)
	}
	if s := pb.readStats(t).Instances["ETH0"]; s.State != "BACKUP" {
		t.Errorf("backup changed: %+v", s)
	}
	l.holdSteady(vip, 0, 500*time.Millisecond)
	if strings.Contains(pa.logText(), "Entering BACKUP STATE\n") {
		t.Error("the master left MASTER")
	}
}

// badPackets are adverts broken in one way each, by the discard sentinel
// (its text) they must be counted under.
func badPackets(hdr packet.IPv4Header, advert func(uint8) packet.Advert, encode func(packet.IPv4Header, packet.Advert) []byte) map[string][]byte {
	cases := map[string][]byte{}
	{
		b := encode(hdr, advert(254))
		// Keep 4 bytes of the VRRP message; the kernel fixes tot_len.
		cases["vrrp: bad packet length"] = b[:packet.IPv4HeaderLen+4]
	}
	{
		h := hdr
		h.TTL = 64
		cases["vrrp: bad TTL/hop limit"] = encode(h, advert(254))
	}
	{
		b := encode(hdr, advert(254))
		b[packet.IPv4HeaderLen+6] ^= 0xff
		cases["vrrp: bad checksum"] = b
	}
	{
		ad := advert(254)
		copy(ad.AuthData[:], "wrongpwd")
		cases["vrrp: authentication failure"] = encode(hdr, ad)
	}
	{
		ad := advert(254)
		ad.VRID = 11
		cases["vrrp: unknown VRID"] = encode(hdr, ad)
	}
	{
		ad := advert(254)
		ad.Version, ad.AuthType, ad.AuthData, ad.AdvertInt = 3, 0, [8]byte{}, 100
		cases["vrrp: bad version"] = encode(hdr, ad)
	}
	return cases
}

// checkDiscards requires n discards under each case's reason, and no other.
func checkDiscards(t *testing.T, p *proc, cases map[string][]byte, n int) {
	t.Helper()
	s := p.readStats(t)
	for r := range cases {
		if got := s.Instances["ETH0"].Discards[r] + s.Discards[r]; got != uint64(n) {
			t.Errorf("%s counted %d under %q, want %d (%+v)", p.stats, got, r, n, s)
		}
	}
	total := uint64(0)
	for _, v := range s.Instances["ETH0"].Discards {
		total += v
	}
	for _, v := range s.Discards {
		total += v
	}
	if total != uint64(n*len(cases)) {
		t.Errorf("%d discards in all, want %d: %+v", total, n*len(cases), s)
	}
}
