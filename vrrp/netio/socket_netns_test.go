package netio

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
	"keepalived-go/vrrp/packet"
)

// Two Conns on a bridge exchange IPv4 adverts, multicast and unicast (as
// unicast_peer sends them). The receiving socket gets them; the sending
// socket, which as a raw socket of protocol 112 would get a copy of each
// unicast one, keeps none.
func TestConnSendReceive4(t *testing.T) {
	lan := nettest.NewLAN(t)
	a := lan.AddNode("a", "198.51.100.11/24")
	b := lan.AddNode("b", "198.51.100.12/24")
	group := netip.MustParseAddr("224.0.0.18")
	open := func(n *nettest.Node, rx chan Packet) *Conn {
		var c *Conn
		if err := n.Do(func() (err error) { c, err = Listen("eth0", false, packet.ProtoVRRP, rx); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Join(group); err != nil {
			t.Fatal(err)
		}
		return c
	}
	rxA, rxB := make(chan Packet, 64), make(chan Packet, 64)
	ca, cb := open(a, rxA), open(b, rxB)
	src := netip.MustParseAddr("198.51.100.11")
	adv := packet.Advert{Version: 2, Type: packet.TypeAdvertisement, VRID: 10, Priority: 200, AdvertInt: 1,
		Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.10")}}
	const n = 8
	for i := 0; i < n; i++ {
		dst := group
		if i%2 == 1 {
			dst = netip.MustParseAddr("198.51.100.12")
		}
		b, err := packet.Encode4(packet.IPv4Header{TOS: 0xc0, ID: ca.NextID(), TTL: packet.TTL, Src: src, Dst: dst}, &adv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ca.Send(b, src, dst); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		select {
		case p := <-rxB:
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			r, err := packet.Parse4(p.Data)
			if err != nil || r.VRID != 10 || r.Src != src {
				t.Fatalf("advert %d: %+v, %v", i, r, err)
			}
			if lag := time.Since(p.Arrived); p.Arrived.IsZero() || lag < 0 || lag > 5*time.Second {
				t.Fatalf("advert %d: receive stamp %v (%v ago)", i, p.Arrived, lag)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("b got %d of %d adverts", i, n)
		}
	}
	select {
	case p := <-rxA:
		t.Fatalf("the sender got its own advert back: %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	// b's /proc/net/raw (of this thread's namespace): every protocol 112 socket's receive queue is
	// empty (the receiving one was read; the sending one kept nothing).
	var raw []byte
	if err := b.Do(func() (err error) { raw, err = os.ReadFile("/proc/thread-self/net/raw"); return err }); err != nil {
		t.Fatal(err)
	}
	sockets := 0
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasSuffix(f[1], ":0070") { // local "address:protocol", 0x70 = 112
			continue
		}
		sockets++
		queues := strings.SplitN(f[4], ":", 2) // tx_queue:rx_queue
		if rxq, _ := strconv.ParseUint(queues[1], 16, 64); rxq != 0 {
			t.Errorf("a protocol 112 socket holds %d bytes:\n%s", rxq, raw)
		}
	}
	if sockets != 2 {
		t.Fatalf("want b's two VRRP sockets in /proc/net/raw, found %d:\n%s", sockets, raw)
	}
	cb.Close()
	if err := cb.Send([]byte{0}, src, group); err != ErrClosed {
		t.Fatalf("Send after Close: %v", err)
	}
}
