package nftfw_test

import (
	"fmt"
	"net/netip"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/nftfw"
)

// A no_accept instance becomes MASTER: keepalived's table appears, with
// its VIP in the drop set; back to BACKUP, the set empties and the table
// stays until the daemon stops.
func ExampleCore() {
	c := nftfw.NewCore(nftfw.Settings{Table: "keepalived", Priority: -1}, []nftfw.Instance{{
		Name: "VI_1", Iface: "eth0", Block: true,
		VIPs: []nftfw.Addr{{Addr: netip.MustParseAddr("198.51.100.10"), Iface: "eth0"}},
	}})
	c.SetState("VI_1", vrrp.StateMaster)
	fmt.Print(c.Ruleset())
	c.SetState("VI_1", vrrp.StateBackup)
	fmt.Println(c.Ruleset().Table(nftfw.IPv4).Set("vips").Elems)
	// Output:
	// table ip keepalived {
	// 	set vips {
	// 		type ipv4_addr
	// 		elements = { 198.51.100.10 }
	// 	}
	//
	// 	chain out {
	// 		type filter hook output priority -1; policy accept;
	// 		ip saddr @vips drop
	// 	}
	//
	// 	chain in {
	// 		type filter hook input priority -1; policy accept;
	// 		ip daddr @vips drop
	// 	}
	// }
	// []
}
