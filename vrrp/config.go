package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp/packet"
)

// Config is what one vrrp_instance needs to run. It is plain data; start
// from DefaultConfig, which holds keepalived 2.2.7's defaults.
//
// A configured value the FSM uses as written (garp_*, lower_prio_no_advert,
// notify_priority_changes ...) is read from Model, the instance's model;
// the fields here are what is derived from it: combined with global_defs,
// converted, family-filtered, or corrected by normalize.
type Config struct {
	// Model is the vrrp_instance as configured, shared read-only: the FSM
	// never writes it, and whoever builds a Config must not change it
	// while an Instance runs on it.
	Model *config.VRRPInstance

	Name      string // vrrp_instance name, used in log texts
	Interface string
	VRID      uint8 // 1..255
	Version   uint8 // 2 or 3
	IPv6      bool
	// Priority is the base priority, 1..255. 0 derives it as keepalived
	// does: 255 if InitialState is MASTER, else 100.
	Priority uint8
	// AdvertInt: VRRPv2 uses whole seconds, VRRPv3 centiseconds (up to 40.95 s).
	AdvertInt time.Duration
	// InitialState is StateInit (derive from priority), StateBackup or StateMaster.
	InitialState State
	NoPreempt    bool
	PreemptDelay time.Duration
	AuthType     packet.AuthType // VRRPv2 over IPv4 only
	AuthPass     string          // truncated to 8 bytes, like keepalived
	VIPs         []netip.Prefix  // virtual_ipaddress, listed in adverts
	ExcludedVIPs []netip.Prefix  // virtual_ipaddress_excluded, not listed
	// Routes and Rules are opaque to the FSM and handed back in
	// AddVIPs/DelVIPs for the shell to install.
	Routes []any
	Rules  []any
	// SrcAddr is the address adverts are sent from (mcast_src_ip or the
	// interface's primary address); equal priorities are broken on it.
	SrcAddr netip.Addr
	// McastGroup defaults to 224.0.0.18 / ff02::12.
	McastGroup      netip.Addr
	UnicastPeers    []netip.Addr
	CheckUnicastSrc bool
	// UnicastPeerTTL are the peers' min_ttl/max_ttl (checked with
	// CheckUnicastSrc).
	UnicastPeerTTL   map[netip.Addr]packet.TTLRange
	SkipCheckAdvAddr bool

	DownTimerAdverts int // adverts missed before the master is declared down
	// ReportDiscards emits a Discarded action for every advert dropped
	// (the SNMP notifications need them).
	ReportDiscards bool
}

// DefaultConfig returns keepalived 2.2.7's defaults (global_data.c,
// vrrp_data.c, vrrp.h): VRRPv2, advert_int 1, 3 adverts, and a fresh Model
// holding an instance's defaults (DefaultModel).
func DefaultConfig() Config {
	return Config{
		Model:            DefaultModel(),
		Version:          2,
		AdvertInt:        time.Second,
		DownTimerAdverts: 3,
	}
}

// DefaultModel is a vrrp_instance with nothing but keepalived 2.2.7's
// defaults, as vrrp_complete_instance leaves it without global_defs:
// garp_master_delay 5 with 5 repeats, a refresh repeat of 1, the
// lower-priority GARP settings equal to the master ones, preempt on.
func DefaultModel() *config.VRRPInstance {
	return &config.VRRPInstance{
		Version:                 2,
		AdvertInt:               time.Second,
		Preempt:                 true,
		GarpMasterDelay:         5 * time.Second,
		GarpMasterRepeat:        5,
		GarpMasterRefreshRepeat: 1,
		GarpLowerPrioDelay:      5 * time.Second,
		GarpLowerPrioRepeat:     5,
		DownTimerAdverts:        3,
	}
}

// ErrConfig is wrapped by every error New returns.
var ErrConfig = errors.New("vrrp: invalid config")

// normalize checks c and applies keepalived's silent corrections
// (vrrp_complete_instance); the parser reports them as warnings.
func (c *Config) normalize() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: (%s) %s", ErrConfig, c.Name, fmt.Sprintf(f, a...))
	}
	if c.Model == nil {
		return bad("no instance model")
	}
	if c.VRID == 0 {
		return bad("virtual_router_id must be 1..255")
	}
	if c.Version != 2 && c.Version != 3 {
		return bad("version %d is not 2 or 3", c.Version)
	}
	if c.InitialState != StateInit && c.InitialState != StateBackup && c.InitialState != StateMaster {
		return bad("initial state %v", c.InitialState)
	}
	if c.AdvertInt <= 0 {
		return bad("advert_int must be positive")
	}
	if c.Version == 2 {
		if c.AdvertInt%time.Second != 0 || c.AdvertInt > 255*time.Second {
			return bad("VRRPv2 advert_int %v is not 1..255 whole seconds", c.AdvertInt)
		}
	} else if c.AdvertInt%(10*time.Millisecond) != 0 || c.AdvertInt > 4095*10*time.Millisecond {
		return bad("VRRPv3 advert_int %v is not 0.01..40.95 s in centiseconds", c.AdvertInt)
	}
	if c.DownTimerAdverts < 1 || c.DownTimerAdverts > 100 {
		return bad("down_timer_adverts %d is not 1..100", c.DownTimerAdverts)
	}
	if c.SrcAddr.IsValid() && c.SrcAddr.Is6() != c.IPv6 {
		return bad("source address %v does not match the instance family", c.SrcAddr)
	}
	for _, p := range c.VIPs {
		if p.Addr().Is6() != c.IPv6 {
			return bad("VIP %v does not match the instance family", p)
		}
	}
	if len(c.VIPs) > 255 {
		return bad("%d VIPs do not fit an advert", len(c.VIPs))
	}
	if c.Priority == 0 {
		c.Priority = 100
		if c.InitialState == StateMaster {
			c.Priority = packet.PriorityOwner
		}
	}
	if c.InitialState == StateInit {
		c.InitialState = StateBackup
		if c.Priority == packet.PriorityOwner {
			c.InitialState = StateMaster
		}
	}
	if c.Priority == packet.PriorityOwner || c.InitialState == StateMaster {
		c.NoPreempt = false
	}
	if c.InitialState == StateMaster || c.NoPreempt {
		c.PreemptDelay = 0
	}
	if c.Version == 3 || c.IPv6 && c.AuthType == packet.AuthAH || c.AuthPass == "" {
		c.AuthType = packet.AuthNone
	}
	if !c.McastGroup.IsValid() {
		c.McastGroup = netip.MustParseAddr("224.0.0.18")
		if c.IPv6 {
			c.McastGroup = netip.MustParseAddr("ff02::12")
		}
	}
	return nil
}
