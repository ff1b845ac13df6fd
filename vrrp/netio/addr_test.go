package netio

import (
	"encoding/hex"
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// AddrMessage builds what keepalived 2.2.7's netlink_ipaddress sends
// (bytes for a little-endian host, as keepalived's own build would).
func TestAddrMessage(t *testing.T) {
	lft0 := uint32(0)
	for _, tc := range []struct {
		name string
		a    Addr
		add  bool
		want string
	}{
		{
			// ifaddrmsg{AF_INET, 24, 0, scope 0, index 7}, IFA_LOCAL only:
			// no IFA_ADDRESS and no broadcast unless configured.
			name: "v4 add plain",
			a:    Addr{Prefix: netip.MustParsePrefix("198.51.100.10/24")},
			add:  true,
			want: "02180000" + "07000000" + "08000200" + "c633640a",
		},
		{
			name: "v4 add brd label scope",
			a: Addr{Prefix: netip.MustParsePrefix("198.51.100.10/24"), Broadcast: "198.51.100.255",
				Label: "eth0:v", Scope: 253},
			add: true,
			want: "021800fd" + "07000000" + "08000200" + "c633640a" + "08000400" + "c63364ff" +
				"0b000300" + "657468303a760000",
		},
		{
			// Deleting names the address twice (IFA_LOCAL, IFA_ADDRESS).
			name: "v4 del",
			a:    Addr{Prefix: netip.MustParsePrefix("198.51.100.10/24"), Broadcast: "+"},
			want: "02180000" + "07000000" + "08000200" + "c633640a" + "08000100" + "c633640a",
		},
		{
			// A /128 is "deprecated" (preferred_lft 0) and nodad.
			name: "v6 add deprecated nodad",
			a:    Addr{Prefix: netip.MustParsePrefix("2001:db8::10/128"), NoDAD: true, PreferredLft: &lft0},
			add:  true,
			want: "0a800000" + "07000000" + "14000600" + "00000000ffffffff0000000000000000" +
				"14000200" + "20010db8000000000000000000000010" + "08000800" + "02000000",
		},
		{
			name: "v4 peer noprefixroute",
			a: Addr{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Peer: netip.MustParseAddr("198.51.100.1"),
				NoPrefixRoute: true},
			add: true,
			want: "02200000" + "07000000" + "08000200" + "c633640a" + "08000800" + "00020000" +
				"08000100" + "c6336401",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, b, err := AddrMessage(tc.a, tc.add, 7)
			if err != nil {
				t.Fatal(err)
			}
			wantTyp := uint16(unix.RTM_DELADDR)
			if tc.add {
				wantTyp = unix.RTM_NEWADDR
			}
			if typ != wantTyp || hex.EncodeToString(b) != tc.want {
				t.Fatalf("type %d body\n got %s\nwant %s", typ, hex.EncodeToString(b), tc.want)
			}
		})
	}
}

// ParseAddr reads back what the kernel sends about an address.
func TestParseAddr(t *testing.T) {
	_, b, _ := AddrMessage(Addr{Prefix: netip.MustParsePrefix("2001:db8::5/64"), NoDAD: true}, true, 1)
	ev, ok := ParseAddr(netlink.Message{Header: netlink.Header{Type: unix.RTM_DELADDR, PID: 42}, Data: b})
	if !ok || !ev.Deleted || ev.Prefix != netip.MustParsePrefix("2001:db8::5/64") || ev.Index != 1 ||
		ev.Flags != unix.IFA_F_NODAD || ev.PID != 42 {
		t.Fatalf("%+v %v", ev, ok)
	}
	if _, ok := ParseAddr(netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWADDR}, Data: b[:5]}); ok {
		t.Fatal("a short message parsed")
	}
}
