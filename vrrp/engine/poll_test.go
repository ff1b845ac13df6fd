package engine

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
)

// pollNet hands out sockets the engine reads itself (PollConn), fed
// through a datagram socketpair.
type pollNet struct {
	*fakeNet
	feed int // write end
	conn *pollConn
}

type pollConn struct {
	*fakeConn
	fd  int
	buf [2048]byte
}

func (c *pollConn) FD() int { return c.fd }

func (c *pollConn) Receive() (netio.Packet, error) {
	n, err := unix.Read(c.fd, c.buf[:])
	if err != nil {
		return netio.Packet{Iface: "eth0"}, err
	}
	return netio.Packet{Iface: "eth0", Data: c.buf[:n], HopLimit: -1, Arrived: time.Now()}, nil
}

func (n *pollNet) Listen(iface string, v6 bool, proto int, deliver func(netio.Packet)) (Conn, error) {
	fc, _ := n.fakeNet.Listen(iface, v6, proto, deliver)
	return n.conn.with(fc.(*fakeConn)), nil
}

func (c *pollConn) with(fc *fakeConn) *pollConn { c.fakeConn = fc; return c }

// v3advert is a VRRPv3 advert from 198.51.100.12 at priority 200 for vrid,
// advert_int 0.1 s.
func v3advert(t *testing.T, vrid uint8) []byte {
	t.Helper()
	a := packet.Advert{Version: 3, Type: packet.TypeAdvertisement, VRID: vrid, Priority: 200, AdvertInt: 10,
		Addrs: []netip.Addr{netip.AddrFrom4([4]byte{198, 51, 100, 100 + vrid})}}
	b, err := packet.Encode4(packet.IPv4Header{TOS: packet.IPv4TOS, TTL: 255, Src: netip.MustParseAddr("198.51.100.12"),
		Dst: netip.MustParseAddr("224.0.0.18")}, &a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Twenty BACKUPs at advert_int 0.1 on one socket: it is polled, not
// watched (more than pollGain adverts a period), and yet no master-down
// timer fires while adverts arrive; once none come every instance takes
// over on time and the socket is watched again.
func TestPolledBackupSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	pn := &pollNet{fakeNet: newFakeNet(), feed: fds[1], conn: &pollConn{fd: fds[0]}}
	var conf strings.Builder
	for v := 1; v <= 20; v++ {
		fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n state BACKUP\n interface eth0\n virtual_router_id %d\n version 3\n"+
			" priority 100\n advert_int 0.1\n virtual_ipaddress {\n  198.51.100.%d/24\n }\n}\n", v, v, 100+v)
	}
	e, err := New(loadConf(t, conf.String()), Options{Net: pn, OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	polled := func() (p bool) {
		e.own.Do(func() { p = len(e.polled) > 0 })
		return p
	}
	adverts := make([][]byte, 20)
	for v := range adverts {
		adverts[v] = v3advert(t, uint8(v+1))
	}
	// The master at priority 200 advertises every 0.1 s for 3 s: ten
	// times the 0.36 s master-down interval.
	sawPolled := false
	for range 30 {
		for _, a := range adverts {
			if _, err := unix.Write(pn.feed, a); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		sawPolled = sawPolled || polled()
	}
	for _, is := range e.Status().Instances {
		if is.State != vrrp.StateBackup || is.Counters.AdvertRcvd != 30 {
			t.Fatalf("%s: %v with %d adverts counted after 3 s of adverts from a higher priority master, want BACKUP and 30",
				is.Name, is.State, is.Counters.AdvertRcvd)
		}
	}
	if !sawPolled {
		t.Error("the BACKUPs' socket was never polled")
	}
	// The master goes silent: every instance takes over.
	deadline := time.Now().Add(3 * time.Second)
	for {
		masters := 0
		for _, is := range e.Status().Instances {
			if is.State == vrrp.StateMaster {
				masters++
			}
		}
		if masters == 20 {
			if polled() {
				t.Error("a MASTER's socket is still polled")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 took over 3 s after the last advert", masters)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
