package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/cloudflare/ipvs/netmask"

	"keepalived-go/lvs"
)

func svc(p lvs.Protocol, ap, sched string) lvs.Service {
	return lvs.Service{ServiceKey: lvs.ServiceAddr(p, netip.MustParseAddrPort(ap)), Scheduler: sched}
}

func dst(ap string, fwd lvs.Forward, w int) lvs.Destination {
	return lvs.Dest(netip.MustParseAddrPort(ap), fwd, w)
}

// featureTable holds one service per feature the backend must map onto
// the kernel: every scheduler and its flags, each protocol, fwmark (v4 and
// v6), IPv6, persistence with granularity, NAT/DR/TUN with tunnel types,
// thresholds.
func featureTable() lvs.Table {
	t := lvs.Table{}
	s := svc(lvs.TCP, "198.51.100.20:80", "wrr")
	t.Add(s,
		lvs.Destination{DestKey: dst("198.51.100.41:8080", lvs.NAT, 0).DestKey, Forward: lvs.NAT, Weight: 3, UpperThreshold: 100, LowerThreshold: 10},
		dst("198.51.100.42:8080", lvs.NAT, 2))
	s = svc(lvs.UDP, "198.51.100.20:53", "lc")
	s.Flags = lvs.FlagOnePacket
	t.Add(s, dst("198.51.100.41:53", lvs.DR, 1))
	t.Add(svc(lvs.SCTP, "198.51.100.20:3868", "wlc"), dst("198.51.100.43:3868", lvs.TUN, 1))
	s = svc(lvs.TCP, "198.51.100.21:443", "lblc")
	s.Timeout, s.Netmask = 600, netmask.MaskFrom(24, 32)
	t.Add(s, dst("198.51.100.41:443", lvs.DR, 1))
	s = svc(lvs.TCP, "198.51.100.21:8443", "rr")
	s.Timeout = 300
	t.Add(s, dst("198.51.100.42:8443", lvs.DR, 1))
	t.Add(svc(lvs.TCP, "198.51.100.21:8080", "lblcr"), dst("198.51.100.41:8080", lvs.DR, 1))
	for i, sched := range []string{"dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		s := svc(lvs.TCP, fmt.Sprintf("198.51.100.22:%d", 80+i), sched)
		switch sched {
		case "sh":
			s.Flags = lvs.FlagSched1 | lvs.FlagSched2
		case "mh":
			s.Flags = lvs.FlagSched2
		}
		t.Add(s, dst(fmt.Sprintf("198.51.100.44:%d", 80+i), lvs.DR, 1+i))
	}
	s = svc(lvs.TCP, "[2001:db8::10]:80", "rr")
	s.Timeout, s.Netmask = 300, netmask.MaskFrom(64, 128)
	t.Add(s, dst("[2001:db8::11]:80", lvs.DR, 100), dst("[2001:db8::12]:8080", lvs.NAT, 50))
	t.Add(lvs.Service{ServiceKey: lvs.ServiceMark(lvs.INET, 1), Scheduler: "rr"},
		dst("198.51.100.45:0", lvs.DR, 1), dst("198.51.100.46:0", lvs.DR, 1))
	t.Add(lvs.Service{ServiceKey: lvs.ServiceMark(lvs.INET6, 2), Scheduler: "wlc"}, dst("[2001:db8::31]:80", lvs.NAT, 1))
	gue := dst("198.51.100.47:80", lvs.TUN, 1)
	gue.TunnelType, gue.TunnelPort, gue.TunnelFlags = lvs.GUE, 6080, lvs.TunnelCsum
	gre := dst("198.51.100.48:80", lvs.TUN, 1)
	gre.TunnelType, gre.TunnelFlags = lvs.GRE, lvs.TunnelRemoteCsum
	t.Add(svc(lvs.TCP, "198.51.100.23:80", "rr"), gue, gre)
	return t
}

// features programs featureTable, checks the kernel's view diffs to
// nothing and prints both views.
func features() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := lvs.OpenIPVS()
	if err != nil {
		return err
	}
	defer b.Close()
	r := lvs.NewReconciler(b)
	want := featureTable()
	before := b.Counters()
	ops, err := r.Reconcile(ctx, want)
	if err != nil {
		return err
	}
	section("features-start", fmt.Sprintf("ops %d writes %d\n", len(ops), b.Counters().Writes-before.Writes))
	before = b.Counters()
	ops, err = r.Reconcile(ctx, want)
	if err != nil {
		return err
	}
	section("features-steady", fmt.Sprintf("%swrites %d\n", opsText(ops), b.Counters().Writes-before.Writes))
	got, err := b.List(ctx)
	if err != nil {
		return err
	}
	section("features-list", got.String())
	section("features-desired", want.String())
	ipvsadm("features-ipvsadm", "-Ln")
	ipvsadm("features-tun", "-Ln", "--tun-info")
	before = b.Counters()
	if _, err := r.Release(ctx); err != nil {
		return err
	}
	section("features-release", fmt.Sprintf("writes %d\n", b.Counters().Writes-before.Writes))
	ipvsadm("features-empty", "-Ln")
	return nil
}
