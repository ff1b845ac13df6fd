package main

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"keepalived-go/config"
)

// addrMonitor is -a/--address-monitoring: every address the kernel adds
// or removes, and at start every address there is, is logged as
// keepalived's processes log it with LOG_ADDRESS_CHANGES: the VRRP
// process (keepalived_netlink.c netlink_if_address_filter) names the
// interface, the checker process (check_api.c update_checker_activity)
// does not. Each process logs only when it runs.
type addrMonitor struct {
	log         *logrus.Logger
	vrrp, check bool
	// ns is the namespace to watch (nil: the daemon's own).
	ns *netns.NsHandle
}

// newAddrMonitor watches for the processes cfg runs under the daemon's
// options (-P, -C).
func newAddrMonitor(d *daemon, cfg *config.Config) *addrMonitor {
	runVRRP := !d.opts.checkOnly || d.opts.vrrpOnly
	runCheck := !d.opts.vrrpOnly || d.opts.checkOnly
	return &addrMonitor{log: d.log, vrrp: runVRRP && len(cfg.Instances) > 0,
		check: runCheck && len(cfg.VirtualServers) > 0}
}

// Run logs address changes until ctx ends.
func (m *addrMonitor) Run(ctx context.Context) error {
	if !m.vrrp && !m.check {
		<-ctx.Done()
		return nil
	}
	h, err := m.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	opts := netlink.AddrSubscribeOptions{Namespace: m.ns, ListExisting: true,
		ErrorCallback: func(err error) {
			if ctx.Err() == nil { // not the socket closing as we stop
				m.log.Infof("address monitoring: %v", err)
			}
		}}
	if err := netlink.AddrSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("address monitoring: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-ch:
			if !ok {
				return nil
			}
			m.report(h, u)
		}
	}
}

func (m *addrMonitor) handle() (*netlink.Handle, error) {
	if m.ns != nil {
		return netlink.NewHandleAt(*m.ns)
	}
	return netlink.NewHandle()
}

// report logs one change in keepalived's words.
func (m *addrMonitor) report(h *netlink.Handle, u netlink.AddrUpdate) {
	a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
	if !ok {
		return
	}
	a = a.Unmap()
	if m.vrrp {
		name := fmt.Sprintf("%d", u.LinkIndex)
		if l, err := h.LinkByIndex(u.LinkIndex); err == nil {
			name = l.Attrs().Name
		}
		op := "removed from"
		if u.NewAddr {
			op = "added to"
		}
		m.log.Infof("Netlink reflector reports IP %s %s %s", a, op, name)
	}
	if m.check {
		op := "removed"
		if u.NewAddr {
			op = "added"
		}
		m.log.Infof("Netlink reflector reports IP %s %s", a, op)
	}
}

// Validate takes any config.
func (m *addrMonitor) Validate(*config.Config) error { return nil }

// Reload keeps watching; which processes log follows at the next start,
// as keepalived's processes open their netlink sockets at start.
func (m *addrMonitor) Reload(*config.Config) error { return nil }
