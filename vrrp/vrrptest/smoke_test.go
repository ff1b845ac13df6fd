package vrrptest

import (
	"net/netip"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

func seedCfg(name string, state vrrp.State, prio uint8, src string) vrrp.Config {
	c := vrrp.DefaultConfig()
	c.Name, c.Interface, c.VRID = name, "eth0", 10
	c.InitialState, c.Priority = state, prio
	c.Model.GarpMasterDelay = 2 * time.Second
	c.AuthType, c.AuthPass = packet.AuthPass, "p@ssw0rd"
	c.VIPs = []netip.Prefix{netip.MustParsePrefix("203.0.113.110/24")}
	c.SrcAddr = netip.MustParseAddr(src)
	return c
}

func TestSmoke(t *testing.T) {
	n, err := New(1, seedCfg("ETH0", vrrp.StateMaster, 200, "198.51.100.111"), seedCfg("ETH0", vrrp.StateBackup, 100, "198.51.100.112"))
	if err != nil {
		t.Fatal(err)
	}
	n.Trace = func(s string) { t.Log(s) }
	n.Start(0)
	n.Run(time.Second)
	n.Start(1)
	n.Run(10 * time.Second)
	n.Stop(0)
	n.Run(15 * time.Second)
	t.Log(n.Describe())
}
