package nft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNoNeighbour is returned when a real server's MAC address cannot be
// learnt: it is down, or not on a directly attached network.
var ErrNoNeighbour = errors.New("no neighbour entry")

// Hop is how a DR packet reaches a real server: out of Ifname, from our
// MAC to its MAC. Local means the real server is this node.
type Hop struct {
	Local   bool
	Ifname  string
	Ifindex int
	OwnMAC  net.HardwareAddr
	MAC     net.HardwareAddr
}

func (h Hop) String() string {
	if h.Local {
		return "local"
	}
	return fmt.Sprintf("%s %s -> %s", h.Ifname, h.OwnMAC, h.MAC)
}

// Resolver finds the Hop of a real server. The default one asks the
// kernel (routes, addresses, neighbour table); tests supply a fake.
type Resolver interface {
	Resolve(ctx context.Context, dst netip.Addr) (Hop, error)
}

// batchResolver is an optional Resolver capability: resolving many
// addresses at once (one dump of addresses and neighbours, the unknown
// probed together and waited for once) instead of one by one.
type batchResolver interface {
	ResolveAll(ctx context.Context, dsts []netip.Addr) (map[netip.Addr]Hop, map[netip.Addr]error)
}

// netlinkResolver resolves through a netlink handle in the backend's
// network namespace.
type netlinkResolver struct {
	h  *netlink.Handle
	ns netns.NsHandle // -1: the current namespace
	// probes bounds the wait for an ARP/ND answer after a probe.
	probes int
	every  time.Duration
}

func (r *netlinkResolver) Resolve(ctx context.Context, dst netip.Addr) (Hop, error) {
	fam := netlink.FAMILY_V4
	if dst.Is6() && !dst.Is4In6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := r.h.AddrList(nil, fam)
	if err != nil {
		return Hop{}, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == dst {
			return Hop{Local: true}, nil
		}
	}
	routes, err := r.h.RouteGet(dst.AsSlice())
	if err != nil || len(routes) == 0 {
		return Hop{}, fmt.Errorf("route to %s: %w", dst, errors.Join(err, ErrNoNeighbour))
	}
	rt := routes[0]
	if rt.Type == unix.RTN_LOCAL {
		return Hop{Local: true}, nil
	}
	if rt.Gw != nil {
		// DR rewrites only the MAC: the real server must be on-link.
		return Hop{}, fmt.Errorf("%s is behind gateway %s, not on a local network: %w", dst, rt.Gw, ErrNoNeighbour)
	}
	link, err := r.h.LinkByIndex(rt.LinkIndex)
	if err != nil {
		return Hop{}, fmt.Errorf("link %d: %w", rt.LinkIndex, err)
	}
	attrs := link.Attrs()
	hop := Hop{Ifname: attrs.Name, Ifindex: attrs.Index, OwnMAC: attrs.HardwareAddr}
	for try := 0; ; try++ {
		if mac := r.lookup(attrs.Index, fam, dst); mac != nil {
			hop.MAC = mac
			return hop, nil
		}
		if try >= r.probes {
			return Hop{}, fmt.Errorf("%s on %s: %w", dst, attrs.Name, ErrNoNeighbour)
		}
		if try == 0 {
			r.probe(dst)
		}
		t := time.NewTimer(r.every)
		select {
		case <-ctx.Done():
			t.Stop()
			return Hop{}, ctx.Err()
		case <-t.C:
		}
	}
}

func (r *netlinkResolver) lookup(ifindex, fam int, dst netip.Addr) net.HardwareAddr {
	neighs, err := r.h.NeighList(ifindex, fam)
	if err != nil {
		return nil
	}
	const usable = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT | unix.NUD_NOARP
	for _, n := range neighs {
		ip, ok := netip.AddrFromSlice(n.IP)
		if ok && ip.Unmap() == dst && n.State&usable != 0 && len(n.HardwareAddr) == 6 {
			return n.HardwareAddr
		}
	}
	return nil
}

// probe makes the kernel resolve dst by sending it one UDP datagram to
// the discard port from inside our namespace; the reply, if any, is an
// ICMP error nobody reads.
func (r *netlinkResolver) probe(dst netip.Addr) {
	send := func() {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("keepalived-go neighbour probe"))
		c.Close()
	}
	if !nsOpen(r.ns) {
		send()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// This thread changes namespace; it is never unlocked, so the
		// runtime discards it instead of reusing it elsewhere.
		runtime.LockOSThread()
		if err := netns.Set(r.ns); err != nil {
			return
		}
		send()
	}()
	<-done
}

// ResolveAll resolves dsts with one listing of our addresses, links and
// neighbours and one route lookup each; the real servers without a
// neighbour entry are probed together, and the neighbours listed again
// until all answered or the probe time is up.
func (r *netlinkResolver) ResolveAll(ctx context.Context, dsts []netip.Addr) (map[netip.Addr]Hop, map[netip.Addr]error) {
	hops, errs := map[netip.Addr]Hop{}, map[netip.Addr]error{}
	local := map[netip.Addr]bool{}
	if addrs, err := r.h.AddrList(nil, netlink.FAMILY_ALL); err == nil {
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				local[ip.Unmap()] = true
			}
		}
	}
	links := map[int]netlink.Link{}
	pending := map[netip.Addr]Hop{} // on-link, MAC not known yet
	for _, dst := range dsts {
		if local[dst] {
			hops[dst] = Hop{Local: true}
			continue
		}
		hop, err := r.route(dst, links)
		switch {
		case err != nil:
			errs[dst] = err
		case hop.Local:
			hops[dst] = hop
		default:
			pending[dst] = hop
		}
	}
	for try := 0; len(pending) > 0; try++ {
		macs := r.neighbours()
		for dst, hop := range pending {
			if mac, ok := macs[neighKey{hop.Ifindex, dst}]; ok {
				hop.MAC = mac
				hops[dst] = hop
				delete(pending, dst)
			}
		}
		if len(pending) == 0 || try >= r.probes {
			break
		}
		if try == 0 {
			for dst := range pending {
				r.probe(dst)
			}
		}
		t := time.NewTimer(r.every)
		select {
		case <-ctx.Done():
			t.Stop()
			for dst := range pending {
				errs[dst] = ctx.Err()
			}
			return hops, errs
		case <-t.C:
		}
	}
	for dst, hop := range pending {
		errs[dst] = fmt.Errorf("%s on %s: %w", dst, hop.Ifname, ErrNoNeighbour)
	}
	return hops, errs
}

// route finds the link a real server is reached on (links caches them).
func (r *netlinkResolver) route(dst netip.Addr, links map[int]netlink.Link) (Hop, error) {
	routes, err := r.h.RouteGet(dst.AsSlice())
	if err != nil || len(routes) == 0 {
		return Hop{}, fmt.Errorf("route to %s: %w", dst, errors.Join(err, ErrNoNeighbour))
	}
	rt := routes[0]
	if rt.Type == unix.RTN_LOCAL {
		return Hop{Local: true}, nil
	}
	if rt.Gw != nil {
		return Hop{}, fmt.Errorf("%s is behind gateway %s, not on a local network: %w", dst, rt.Gw, ErrNoNeighbour)
	}
	link, ok := links[rt.LinkIndex]
	if !ok {
		if link, err = r.h.LinkByIndex(rt.LinkIndex); err != nil {
			return Hop{}, fmt.Errorf("link %d: %w", rt.LinkIndex, err)
		}
		links[rt.LinkIndex] = link
	}
	a := link.Attrs()
	return Hop{Ifname: a.Name, Ifindex: a.Index, OwnMAC: a.HardwareAddr}, nil
}

type neighKey struct {
	ifindex int
	addr    netip.Addr
}

// neighbours lists the usable neighbour entries of every link.
func (r *netlinkResolver) neighbours() map[neighKey]net.HardwareAddr {
	out := map[neighKey]net.HardwareAddr{}
	const usable = unix.NUD_REACHABLE | unix.NUD_STALE | unix.NUD_DELAY | unix.NUD_PROBE | unix.NUD_PERMANENT | unix.NUD_NOARP
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		neighs, err := r.h.NeighList(0, fam)
		if err != nil {
			continue
		}
		for _, n := range neighs {
			ip, ok := netip.AddrFromSlice(n.IP)
			if ok && n.State&usable != 0 && len(n.HardwareAddr) == 6 {
				out[neighKey{n.LinkIndex, ip.Unmap()}] = n.HardwareAddr
			}
		}
	}
	return out
}
