package netio

import (
	"context"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkEvent reports an interface's usable state (IFF_UP and IFF_RUNNING,
// as keepalived's IF_ISUP), or that it disappeared (Up false).
type LinkEvent struct {
	Iface string
	Up    bool
}

// LinkUp reports whether iface exists and is up and running.
func LinkUp(iface string) (bool, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return false, err
	}
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0, nil
}

// WatchLinks subscribes to rtnetlink link messages and sends a LinkEvent
// for each until ctx ends. Repeated states are the caller's to filter.
func WatchLinks(ctx context.Context, out chan<- LinkEvent) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(error) {},
	}); err != nil {
		return fmt.Errorf("netio: link subscribe: %w", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-ch:
				if !ok {
					return
				}
				ev := LinkEvent{Iface: u.Attrs().Name}
				if u.Header.Type != unix.RTM_DELLINK {
					ev.Up = u.IfInfomsg.Flags&unix.IFF_UP != 0 && u.IfInfomsg.Flags&unix.IFF_RUNNING != 0
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return nil
}
