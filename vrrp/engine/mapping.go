package engine

import (
	"fmt"
	"net/netip"
	"reflect"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
)

// instanceConfig maps a vrrp_instance and global_defs onto the FSM's
// Config. SrcAddr is left unset when neither unicast_src_ip nor
// mcast_src_ip is given: the engine reads it from the interface. The FSM
// reads what it uses as configured from in itself (Config.Model); only
// what is derived is mapped here.
func instanceConfig(g *config.Global, in *config.VRRPInstance) (vrrp.Config, error) {
	c := vrrp.DefaultConfig()
	c.Model = in
	c.Name = in.Name
	c.Interface = in.Interface
	if c.Interface == "" {
		c.Interface = g.DefaultInterface
	}
	if c.Interface == "" {
		return c, fmt.Errorf("%w: (%s) no interface", vrrp.ErrConfig, in.Name)
	}
	if in.VRID < 1 || in.VRID > 255 {
		return c, fmt.Errorf("%w: (%s) virtual_router_id %d", vrrp.ErrConfig, in.Name, in.VRID)
	}
	c.VRID = uint8(in.VRID)
	c.Version = uint8(in.Version)
	c.IPv6 = in.NativeIPv6 || len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6()
	if in.Priority > 0 && in.Priority <= 255 {
		c.Priority = uint8(in.Priority)
	}
	switch {
	case in.State == config.StateMaster:
		c.InitialState = vrrp.StateMaster
	case c.Priority == packet.PriorityOwner:
		c.InitialState = vrrp.StateInit
	default:
		c.InitialState = vrrp.StateBackup
	}
	c.AdvertInt = in.AdvertInt
	c.NoPreempt = !in.Preempt
	c.PreemptDelay = in.PreemptDelay
	switch in.Auth.Type {
	case "PASS":
		c.AuthType = packet.AuthPass
	case "AH":
		c.AuthType = packet.AuthAH
	}
	c.AuthPass = in.Auth.Pass
	for _, v := range in.VIPs {
		// keepalived refuses addresses of the other family in the
		// advertised list; they are still installed like excluded ones.
		if v.Prefix.Addr().Is6() == c.IPv6 && len(c.VIPs) < 255 {
			c.VIPs = append(c.VIPs, v.Prefix)
		} else {
			c.ExcludedVIPs = append(c.ExcludedVIPs, v.Prefix)
		}
	}
	for _, v := range in.ExcludedVIPs {
		c.ExcludedVIPs = append(c.ExcludedVIPs, v.Prefix)
	}
	for _, r := range in.Routes {
		c.Routes = append(c.Routes, r)
	}
	for _, r := range in.Rules {
		c.Rules = append(c.Rules, r)
	}
	switch {
	case in.UnicastSrcIP.IsValid():
		c.SrcAddr = in.UnicastSrcIP
	case in.McastSrcIP.IsValid():
		c.SrcAddr = in.McastSrcIP
	}
	if c.SrcAddr.IsValid() && c.SrcAddr.Is6() != c.IPv6 {
		c.SrcAddr = netip.Addr{}
	}
	c.McastGroup = in.McastDstIP
	if !c.McastGroup.IsValid() || c.McastGroup.Is6() != c.IPv6 {
		c.McastGroup = g.VRRPMcastGroup4
		if c.IPv6 {
			c.McastGroup = g.VRRPMcastGroup6
		}
	}
	for _, p := range in.UnicastPeers {
		if p.Addr.Is6() == c.IPv6 {
			c.UnicastPeers = append(c.UnicastPeers, p.Addr)
			if p.MinTTL != 0 || p.MaxTTL != 255 {
				if c.UnicastPeerTTL == nil {
					c.UnicastPeerTTL = map[netip.Addr]packet.TTLRange{}
				}
				c.UnicastPeerTTL[p.Addr] = packet.TTLRange{Min: p.MinTTL, Max: p.MaxTTL}
			}
		}
	}
	// vrrp_check_packet: the global vrrp_check_unicast_src or the
	// instance's check_unicast_src (which unicast_peer min_ttl/max_ttl
	// also set).
	c.CheckUnicastSrc = g.VRRPCheckUnicastSrc || in.CheckUnicastSrc
	c.SkipCheckAdvAddr = in.SkipCheckAdvAddr || g.VRRPSkipCheckAdvAddr
	if in.DownTimerAdverts > 0 {
		c.DownTimerAdverts = in.DownTimerAdverts
	}
	return c, nil
}

// vipAddrs resolves the installable addresses of an instance as
// keepalived's vrrp_complete_instance does: an address without a dev (or
// on the configured interface) goes on the use_vmac interface when it is
// of the instance's family, else on the configured interface.
func vipAddrs(base, vmac string, v6 bool, list []config.VirtualAddress) map[netip.Prefix]netio.Addr {
	m := make(map[netip.Prefix]netio.Addr, len(list))
	for _, v := range list {
		a := kernelAddr(v)
		if a.Dev == "" || a.Dev == base {
			a.Dev = base
			if vmac != "" && v.Prefix.Addr().Is6() == v6 {
				a.Dev = vmac
			}
		}
		m[v.Prefix] = a
	}
	return m
}

// kernelAddr is a configured address as the kernel gets it.
func kernelAddr(v config.VirtualAddress) netio.Addr {
	return netio.Addr{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label, Scope: v.ScopeID, Broadcast: v.Broadcast,
		Peer: v.Peer, NoPrefixRoute: v.NoPrefixRoute, HomeAddr: v.HomeAddr, MngTmpAddr: v.MngTmpAddr,
		AutoJoin: v.AutoJoin, PreferredLft: v.PreferredLft,
		// keepalived adds IPv6 addresses with IFA_F_NODAD unless "-nodad"
		// (config's DAD) clears it.
		NoDAD: v.Prefix.Addr().Is6() && !v.DAD}
}

var (
	posType      = reflect.TypeOf(config.Pos{})
	resolvedType = reflect.TypeOf((*script.Resolved)(nil))
)

// sameConfig compares two config values ignoring where they were written.
func sameConfig(a, b any) bool { return equalNoPos(reflect.ValueOf(a), reflect.ValueOf(b)) }

func equalNoPos(a, b reflect.Value) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == posType || a.Type() == resolvedType {
		// Positions, and how a script resolved (the file system's
		// state, taken again on every load), are not configuration.
		return true
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalNoPos(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				// netip.Addr, time.Time, ...: compare as a whole.
				return reflect.DeepEqual(a.Interface(), b.Interface())
			}
		}
		for i := range a.NumField() {
			if !equalNoPos(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalNoPos(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	default:
		if a.CanInterface() {
			return reflect.DeepEqual(a.Interface(), b.Interface())
		}
		return false
	}
}
