package packet

import (
	"errors"
	"net/netip"
	"testing"
)

var (
	srcA  = netip.MustParseAddr("198.51.100.12")
	mcast = netip.MustParseAddr("224.0.0.18")
	vip   = netip.MustParseAddr("203.0.113.110")
)

func expectV2() *Expect {
	return &Expect{Name: "ETH0", Interface: "eth0", Version: 2, VRID: 10, AuthType: AuthPass, AuthData: pass,
		AdvertInt: 1, VIPs: []netip.Addr{vip}, CheckVIPs: true}
}

func advV2() *Advert {
	return &Advert{Version: 2, Type: 1, VRID: 10, Priority: 100, AuthType: AuthPass, AdvertInt: 1,
		Addrs: []netip.Addr{vip}, AuthData: pass}
}

func enc4(t *testing.T, h IPv4Header, a *Advert, ah *AHConfig) []byte {
	t.Helper()
	b, err := Encode4(h, a, ah)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hdr() IPv4Header { return IPv4Header{TOS: IPv4TOS, ID: 1, TTL: 255, Src: srcA, Dst: mcast} }

func TestCheckAccepts(t *testing.T) {
	b := enc4(t, hdr(), advV2(), nil)
	if Checksum(0, b[:IPv4HeaderLen]) != 0 {
		t.Fatal("bad IPv4 header checksum")
	}
	r, err := Parse4(b)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Check(r, expectV2())
	if err != nil {
		t.Fatal(err)
	}
	if a.Priority != 100 || a.Addrs[0] != vip {
		t.Fatalf("decoded %+v", a)
	}

	// VRRPv3 over IPv4 and IPv6.
	a3 := &Advert{Version: 3, Type: 1, VRID: 10, Priority: 100, AdvertInt: 100, Addrs: []netip.Addr{vip}}
	r, _ = Parse4(enc4(t, hdr(), a3, nil))
	e3 := &Expect{Name: "V3", Version: 3, VRID: 10, VIPs: []netip.Addr{vip}, CheckVIPs: true}
	if _, err := Check(r, e3); err != nil {
		t.Fatal(err)
	}
	v6 := netip.MustParseAddr("2001:db8::1")
	a6 := &Advert{Version: 3, Type: 1, VRID: 10, Priority: 100, AdvertInt: 100, IPv6: true, Addrs: []netip.Addr{v6}}
	src6, dst6 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::12")
	m, _ := a6.Marshal(src6, dst6)
	r, err = Parse6(m, src6, dst6, 255)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(r, &Expect{Name: "V6", Version: 3, VRID: 10, IPv6: true, VIPs: []netip.Addr{v6}, CheckVIPs: true}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckDiscards covers one discard reason per row, with keepalived's text.
func TestCheckDiscards(t *testing.T) {
	other := [8]byte{'x'}
	for _, tc := range []struct {
		name   string
		mutate func(h *IPv4Header, a *Advert, e *Expect)
		raw    func(b []byte) []byte
		want   error
		text   string
	}{
		{name: "vrid", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.VRID = 11 },
			want: ErrVRID, text: "Unknown VRID(11) received on interface(eth0). ignoring..."},
		{name: "ttl", mutate: func(h *IPv4Header, a *Advert, e *Expect) { h.TTL = 64 },
			want: ErrTTL, text: "(ETH0) invalid TTL/HL. Received 64 and expect 255"},
		{name: "ttl-unicast-ok", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.TTL = 64
			h.Dst = netip.MustParseAddr("198.51.100.13")
			e.Unicast = true
		}},
		{name: "version", mutate: func(h *IPv4Header, a *Advert, e *Expect) { e.Version = 3 },
			want: ErrVersion, text: "(ETH0) wrong version. Received 2 and expect 3"},
		{name: "long", raw: func(b []byte) []byte { return append(b, 0) },
			want: ErrLength, text: "(ETH0) vrrp packet too long, length 41 and expect 40"},
		{name: "short", raw: func(b []byte) []byte { return b[:len(b)-1] },
			want: ErrLength, text: "(ETH0) vrrp packet too short, length 39 and expect 40"},
		{name: "tot-len", raw: func(b []byte) []byte { b[3]++; return b },
			want: ErrAuth, text: "(ETH0) received an invalid passwd!"},
		{name: "invalid-auth-type", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.AuthType = 7 },
			want: ErrAuthType, text: "(ETH0) Invalid auth type: 7"},
		{name: "auth-type", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.AuthType = AuthNone },
			want: ErrAuthType, text: "(ETH0) received a 0 auth, expecting 1!"},
		{name: "no-ah", mutate: func(h *IPv4Header, a *Advert, e *Expect) { e.AuthType = AuthAH },
			want: ErrAuthType, text: "(ETH0) No AH header but auth type is AH"},
		{name: "passwd", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.AuthData = other },
			want: ErrAuth, text: "(ETH0) received an invalid passwd!"},
		{name: "interval", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.AdvertInt = 2 },
			want: ErrInterval, text: "(ETH0) advertisement interval mismatch mine=1 sec rcv'd=2 sec"},
		{name: "type", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.Type = 2 },
			want: ErrType, text: "(ETH0) Invalid packet type. 2 and expect 1"},
		{name: "count", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.Addrs = append(a.Addrs, srcA) },
			want: ErrAddrList, text: "(ETH0) received an unexpected ip number count 2, expected 1!"},
		{name: "count-unchecked", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			a.Addrs = append(a.Addrs, srcA)
			e.CheckVIPs = false
		}},
		{name: "checksum", raw: func(b []byte) []byte { b[IPv4HeaderLen+6] ^= 1; return b },
			want: ErrChecksum, text: "(ETH0) Invalid VRRPv2 checksum"},
		{name: "unicast-to-mcast", mutate: func(h *IPv4Header, a *Advert, e *Expect) { e.Unicast = true },
			want: ErrDestination, text: "(ETH0) Expected unicast packet but received multicast packet"},
		{name: "vip-missing", mutate: func(h *IPv4Header, a *Advert, e *Expect) { a.Addrs = []netip.Addr{srcA} },
			want: ErrAddrList, text: "(ETH0) ip address associated with VRID 10 not present in MASTER advert: 203.0.113.110"},
		{name: "peer", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.Dst = netip.MustParseAddr("198.51.100.13")
			e.Unicast, e.CheckPeer = true, true
			e.Peers = []netip.Addr{netip.MustParseAddr("198.51.100.14")}
		}, want: ErrPeer, text: "(ETH0) unicast source address 198.51.100.12 not a unicast peer"},
		// unicast_peer min_ttl/max_ttl (vrrp_check_packet after the peer
		// matched).
		{name: "peer-ttl-low", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.Dst, h.TTL = netip.MustParseAddr("198.51.100.13"), 63
			e.Unicast, e.CheckPeer = true, true
			e.Peers = []netip.Addr{srcA}
			e.PeerTTL = map[netip.Addr]TTLRange{srcA: {64, 255}}
		}, want: ErrTTL, text: "(ETH0) TTL/HL 63 not in range 64 - 255"},
		{name: "peer-ttl-high", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.Dst, h.TTL = netip.MustParseAddr("198.51.100.13"), 255
			e.Unicast, e.CheckPeer = true, true
			e.Peers = []netip.Addr{srcA}
			e.PeerTTL = map[netip.Addr]TTLRange{srcA: {1, 254}}
		}, want: ErrTTL, text: "(ETH0) TTL/HL 255 not in range 1 - 254"},
		{name: "peer-ttl-in-range", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.Dst, h.TTL = netip.MustParseAddr("198.51.100.13"), 64
			e.Unicast, e.CheckPeer = true, true
			e.Peers = []netip.Addr{srcA}
			e.PeerTTL = map[netip.Addr]TTLRange{srcA: {64, 64}}
		}},
		{name: "peer-ttl-unchecked", mutate: func(h *IPv4Header, a *Advert, e *Expect) {
			h.Dst, h.TTL = netip.MustParseAddr("198.51.100.13"), 63
			e.Unicast = true
			e.Peers = []netip.Addr{srcA}
			e.PeerTTL = map[netip.Addr]TTLRange{srcA: {64, 255}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, a, e := hdr(), advV2(), expectV2()
			if tc.mutate != nil {
				tc.mutate(&h, a, e)
			}
			b := enc4(t, h, a, nil)
			if tc.raw != nil {
				b = tc.raw(b)
			}
			r, err := Parse4(b)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Check(r, e)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var de *DiscardError
			if !errors.As(err, &de) || de.Text != tc.text {
				t.Fatalf("text %q, want %q", err, tc.text)
			}
		})
	}
}

func TestCheckV3Checksum(t *testing.T) {
	a3 := &Advert{Version: 3, Type: 1, VRID: 10, Priority: 100, AdvertInt: 100, Addrs: []netip.Addr{vip}}
	b := enc4(t, hdr(), a3, nil)
	b[16] = 239 // different destination: pseudo-header no longer matches
	r, _ := Parse4(b)
	_, err := Check(r, &Expect{Name: "V3", Version: 3, VRID: 10, VIPs: []netip.Addr{vip}, CheckVIPs: true})
	if !errors.Is(err, ErrChecksum) || err.Error() != "(V3) Invalid VRRPv3 checksum" {
		t.Fatalf("got %v", err)
	}
}

func TestParseShort(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 20), append([]byte{0x45}, make([]byte, 26)...)} {
		if _, err := Parse4(b); !errors.Is(err, ErrLength) {
			t.Errorf("%d bytes: %v", len(b), err)
		}
	}
	b := make([]byte, 40)
	b[0], b[9] = 0x45, ProtoAH
	if _, err := Parse4(b); !errors.Is(err, ErrLength) || err.Error() != "IPv4 VRRP packet with AH too short - 40 bytes" {
		t.Errorf("AH: %v", err)
	}
	b[9] = 6
	if _, err := Parse4(b); !errors.Is(err, ErrNotVRRP) {
		t.Errorf("TCP: %v", err)
	}
	if _, err := Parse6(make([]byte, 7), srcA, mcast, 255); !errors.Is(err, ErrLength) {
		t.Errorf("IPv6: %v", err)
	}
}

func TestAH(t *testing.T) {
	key := pass
	a := advV2()
	a.AuthType, a.AuthData = AuthAH, [8]byte{}
	e := expectV2()
	e.AuthType, e.AuthData = AuthAH, key

	good := enc4(t, hdr(), a, &AHConfig{Key: key, Seq: 42})
	if len(good) != IPv4HeaderLen+AHLen+HeaderLen+4+AuthDataLen {
		t.Fatalf("length %d", len(good))
	}
	r, err := Parse4(good)
	if err != nil {
		t.Fatal(err)
	}
	if r.AH == nil || r.AH.Seq != 42 || r.AH.NextHeader != ProtoVRRP || r.AH.PayloadLen != 4 || r.AH.SPI != 0xc633640c {
		t.Fatalf("AH %+v", r.AH)
	}
	if _, err := Check(r, e); err != nil {
		t.Fatal(err)
	}

	// TOS is mutable in transit, so it is left out of the ICV.
	b := append([]byte(nil), good...)
	b[1] = 0
	r, _ = Parse4(b)
	if _, err := Check(r, e); err != nil {
		t.Fatalf("TOS change: %v", err)
	}

	for name, mut := range map[string]func([]byte){
		"id":       func(b []byte) { b[5]++ },
		"priority": func(b []byte) { b[IPv4HeaderLen+AHLen+2]++ },
		"seq":      func(b []byte) { b[IPv4HeaderLen+11]++ },
		"icv":      func(b []byte) { b[IPv4HeaderLen+23]++ },
	} {
		b := append([]byte(nil), good...)
		mut(b)
		r, _ := Parse4(b)
		_, err := Check(r, e)
		if !errors.Is(err, ErrAuth) || err.Error() != "(ETH0) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !" {
			t.Errorf("%s: %v", name, err)
		}
	}

	wrong := *e
	wrong.AuthData = [8]byte{'n', 'o'}
	r, _ = Parse4(good)
	if _, err := Check(r, &wrong); !errors.Is(err, ErrAuth) {
		t.Errorf("wrong key: %v", err)
	}
	plain := *e
	plain.AuthType = AuthPass
	if _, err := Check(r, &plain); !errors.Is(err, ErrAuthType) || err.Error() != "(ETH0) Received AH header but auth type not AH" {
		t.Errorf("unexpected AH: %v", err)
	}

	// Unicast: TTL is excluded from the ICV.
	uh := hdr()
	uh.Dst = netip.MustParseAddr("198.51.100.13")
	u := enc4(t, uh, a, &AHConfig{Key: key, Seq: 1, Unicast: true})
	u[8] = 60
	binaryFixIPChecksum(u)
	ue := *e
	ue.Unicast = true
	r, _ = Parse4(u)
	if _, err := Check(r, &ue); err != nil {
		t.Errorf("unicast TTL change: %v", err)
	}
}

func binaryFixIPChecksum(b []byte) {
	b[10], b[11] = 0, 0
	c := Checksum(0, b[:IPv4HeaderLen])
	b[10], b[11] = byte(c>>8), byte(c)
}
