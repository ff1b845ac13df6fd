package engine

import (
	"context"
	"net/netip"
	"sync"

	"keepalived-go/vrrp/netio"
)

// Net is the I/O the engine needs; Linux is the real one, tests use fakes.
type Net interface {
	// Listen opens a raw socket for proto (112, or 51 for IPv4 AH) on
	// iface. A Conn that is a PollConn is read by the engine's owner
	// when its descriptor is readable; any other hands what it reads to
	// deliver, from any goroutine, until it is closed.
	Listen(iface string, v6 bool, proto int, deliver func(netio.Packet)) (Conn, error)
	AddAddr(netio.Addr) error
	DelAddr(netio.Addr) error
	HasAddr(netio.Addr) (bool, error)
	PrimaryAddr(iface string, v6 bool) (netip.Addr, error)
	LinkUp(iface string) (bool, error)
	// WatchLinks calls on for each link change, from any goroutine,
	// until ctx ends.
	WatchLinks(ctx context.Context, on func(netio.LinkEvent)) error
	// Gratuitous sends one gratuitous ARP (IPv4) or unsolicited NA (IPv6).
	Gratuitous(iface string, addr netip.Addr) error
	// EnsureVMAC creates the use_vmac macvlan name on base (IPv4);
	// RemoveVMAC deletes it.
	EnsureVMAC(base, name string, vrid uint8) error
	RemoveVMAC(name string) error
}

// Conn is one raw VRRP socket.
type Conn interface {
	Join(group netip.Addr) error
	NextID() uint16
	Send(b []byte, src, dst netip.Addr) error
	Close() error
}

// PollConn is a Conn whose receiving descriptor the engine's owner waits
// on in its epoll set (netio.Conn from Open): Receive reads one datagram
// without blocking, unix.EAGAIN when none waits, and its Data stays valid
// until the next Receive.
type PollConn interface {
	Conn
	FD() int
	Receive() (netio.Packet, error)
}

// Linux is Net on the host's (or the current network namespace's) kernel.
type Linux struct {
	mu    sync.Mutex
	garp  map[string]*netio.Gratuitous
	vmacs map[string]*netio.VMAC
	// ac stays open: a takeover adds its VIPs without setting up
	// netlink sockets first.
	ac *netio.AddrConn
}

func (l *Linux) addrConn() (*netio.AddrConn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ac == nil {
		c, err := netio.OpenAddrConn()
		if err != nil {
			return nil, err
		}
		l.ac = c
	}
	return l.ac, nil
}

func (l *Linux) EnsureVMAC(base, name string, vrid uint8) error {
	v, err := netio.EnsureVMAC(base, name, vrid)
	if v != nil {
		l.mu.Lock()
		if l.vmacs == nil {
			l.vmacs = map[string]*netio.VMAC{}
		}
		if l.vmacs[name] == nil {
			l.vmacs[name] = v
		}
		l.mu.Unlock()
	}
	return err
}

func (l *Linux) RemoveVMAC(name string) error {
	l.mu.Lock()
	v := l.vmacs[name]
	delete(l.vmacs, name)
	l.mu.Unlock()
	if v == nil {
		return nil
	}
	return v.Remove()
}

var _ Net = (*Linux)(nil)

// Listen opens the socket for the engine's own epoll set (a PollConn).
func (l *Linux) Listen(iface string, v6 bool, proto int, _ func(netio.Packet)) (Conn, error) {
	return netio.Open(iface, v6, proto)
}

// AddAddr adds a with exactly keepalived's attributes (netio.AddrMessage).
func (l *Linux) AddAddr(a netio.Addr) error {
	c, err := l.addrConn()
	if err != nil {
		return err
	}
	return c.Add(a)
}

// DelAddr removes a.
func (l *Linux) DelAddr(a netio.Addr) error {
	c, err := l.addrConn()
	if err != nil {
		return err
	}
	return c.Del(a)
}

func (l *Linux) HasAddr(a netio.Addr) (bool, error) { return netio.HasAddr(a) }
func (l *Linux) LinkUp(iface string) (bool, error)  { return netio.LinkUp(iface) }
func (l *Linux) PrimaryAddr(iface string, v6 bool) (netip.Addr, error) {
	return netio.PrimaryAddr(iface, v6, nil)
}
func (l *Linux) WatchLinks(ctx context.Context, on func(netio.LinkEvent)) error {
	ch := make(chan netio.LinkEvent, 64)
	if err := netio.WatchLinks(ctx, ch); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case le := <-ch:
				on(le)
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (l *Linux) Gratuitous(iface string, addr netip.Addr) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	g, err := l.garpFor(iface)
	if err != nil {
		return err
	}
	if err := g.Send(addr); err != nil {
		// The interface may have been recreated: reopen next time.
		g.Close()
		delete(l.garp, iface)
		return err
	}
	return nil
}

// garpFor is iface's gratuitous ARP / NA socket, opened on first use.
// Callers hold l.mu.
func (l *Linux) garpFor(iface string) (*netio.Gratuitous, error) {
	if l.garp == nil {
		l.garp = map[string]*netio.Gratuitous{}
	}
	g := l.garp[iface]
	if g == nil {
		var err error
		if g, err = netio.OpenGratuitous(iface); err != nil {
			return nil, err
		}
		l.garp[iface] = g
	}
	return g, nil
}

// Prepare opens ahead what a takeover on iface needs (the netlink handle,
// the gratuitous ARP socket), so the first takeover does not pay for it:
// that took the first failover 0.4 ms longer than the later ones. A
// failure here is retried at the takeover.
func (l *Linux) Prepare(iface string) {
	l.addrConn()
	l.mu.Lock()
	l.garpFor(iface)
	l.mu.Unlock()
}

// Close releases the gratuitous ARP sockets.
func (l *Linux) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, g := range l.garp {
		g.Close()
		delete(l.garp, k)
	}
	if l.ac != nil {
		l.ac.Close()
		l.ac = nil
	}
	return nil
}
