package vrrp_test

import (
	"fmt"
	"net/netip"
	"time"

	"keepalived-go/vrrp"
)

// A shell owns the clock and the sockets: it feeds events, performs the
// returned actions in order, and sleeps until NextDeadline.
func Example() {
	cfg := vrrp.DefaultConfig()
	cfg.Name, cfg.Interface, cfg.VRID, cfg.Priority = "VI_1", "eth0", 51, 150
	cfg.SrcAddr = netip.MustParseAddr("198.51.100.10")
	cfg.VIPs = []netip.Prefix{netip.MustParsePrefix("198.51.100.100/24")}
	in, err := vrrp.New(cfg)
	if err != nil {
		panic(err)
	}
	show := func(acts []vrrp.Action) {
		for _, a := range acts {
			fmt.Println(vrrp.Describe(a))
		}
	}
	show(in.Step(vrrp.Start{Now: 0}))
	at, _ := in.NextDeadline()
	fmt.Println("next tick at", at)
	show(in.Step(vrrp.Tick{Now: at}))
	show(in.Step(vrrp.Shutdown{Now: at + time.Second}))
	// Output:
	// log (VI_1) Entering BACKUP STATE (init)
	// notify INIT->BACKUP (init) prio=150
	// next tick at 3.414062s
	// log-detail (VI_1) Receive advertisement timeout
	// send-advert prio=150 to=[224.0.0.18]
	// log (VI_1) Entering MASTER STATE
	// add-vips [198.51.100.100/24]
	// garp [198.51.100.100] x5
	// notify BACKUP->MASTER (master-down) prio=150
	// send-advert prio=0 to=[224.0.0.18]
	// log-detail (VI_1) sent 0 priority
	// del-vips [198.51.100.100/24]
	// notify MASTER->STOP (shutdown) prio=150
}
