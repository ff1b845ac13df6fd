package engine

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
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

// A BACKUP's socket is polled, not watched, and yet the master-down timer
// never fires while adverts arrive; once none come the instance takes over
// on time and its socket is watched again.
func TestPolledBackupSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	pn := &pollNet{fakeNet: newFakeNet(), feed: fds[1], conn: &pollConn{fd: fds[0]}}
	h := &harness{t: t, net: pn.fakeNet}
	conf := `vrrp_instance ETH0 {
    state BACKUP
    interface eth0
    virtual_router_id 10
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass p@ssw0rd
    }
    virtual_ipaddress {
        198.51.100.110/24
    }
}
`
	e, err := New(loadConf(t, conf), Options{Net: pn, OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	state := func() (vrrp.State, bool) {
		var polled bool
		e.own.Do(func() { polled = len(e.polled) > 0 })
		return e.Status().Instances[0].State, polled
	}
	// A master at priority 200 advertises every second for 5 s: longer
	// than the 3.6 s master-down interval.
	advert := h.advert("198.51.100.12", 10, 200, 255).Data
	sawPolled := false
	for i := range 6 {
		if _, err := unix.Write(pn.feed, advert); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		st, polled := state()
		if st != vrrp.StateBackup {
			t.Fatalf("%v after %d s of adverts from a higher priority master", st, i+1)
		}
		sawPolled = sawPolled || polled
	}
	if !sawPolled {
		t.Error("the BACKUP's socket was never polled")
	}
	if got := e.Status().Instances[0].Counters.AdvertRcvd; got != 6 {
		t.Errorf("%d adverts counted, want 6", got)
	}
	// The master goes silent: takeover within the down interval.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, polled := state()
		if st == vrrp.StateMaster {
			if polled {
				t.Error("a MASTER's socket is still polled")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no takeover 5 s after the last advert")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
