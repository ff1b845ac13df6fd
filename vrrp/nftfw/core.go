// Package nftfw is keepalived 2.2.7's VRRP firewall on nftables: the
// rules that drop traffic to and from the VIPs of a MASTER that is not in
// accept mode (no_accept, or vrrp_strict without accept), and the VMAC
// rules that move IGMP/MLD reports off macvlans (use_vmac).
//
// Core is the pure part (keepalived's vrrp_nftables.c, vrrp_firewall.c and
// their callers in vrrp.c): instance changes in, the Ruleset out. Like
// keepalived it builds its tables lazily: nothing exists until the first
// blocking instance becomes MASTER (or the first VMAC comes up), objects
// are only ever appended, in keepalived's order, and everything goes at
// Stop. Firewall is the shell: it diffs successive Rulesets and writes
// each change to the kernel in one nftables batch (google/nftables).
//
// Where the VRRP engine calls it, as keepalived does: SetVIPs(name, true)
// right before an AddVIPs action's addresses are added
// (vrrp_state_become_master), SetVIPs(name, false) right after a DelVIPs
// action's addresses are removed (vrrp_restore_interface); VMACUp once the
// instance's VMAC has been made, VMACDown when it is removed; Reload with
// FromConfig of a reloaded configuration; Stop when the engine has shut
// down, also with --dont-release-vrrp (firewall_fini).
package nftfw

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"keepalived-go/vrrp"
)

// Settings are global_defs' nftables keywords, resolved as keepalived
// resolves them.
type Settings struct {
	// Table is the table name of both tables (nftables; "keepalived" when
	// vrrp_iptables, no_accept, strict mode or use_vmac ask for one); ""
	// means no firewall at all.
	Table string
	// Priority is both base chains' priority (nftables_priority, -1).
	Priority int32
	// Ifindex is nftables_ifindex: link-local VIPs always keyed by ifindex.
	Ifindex bool
	// Counters is nftables_counters: a counter on every rule.
	Counters bool
	// DisableLocalIGMP is vrrp_disable_local_igmp: no IGMP rule for IPv4
	// VMACs (the kernel is told not to send the reports instead).
	DisableLocalIGMP bool
}

// Addr is a VIP or eVIP with the interface it is added to (keepalived's
// ip_address_t ifp: its dev, else the VMAC for an address of the
// instance's family, else the configured interface).
type Addr struct {
	Addr    netip.Addr
	Iface   string
	NoTrack bool // no_track
}

// Instance is what the firewall needs of a vrrp_instance.
type Instance struct {
	Name string
	IPv6 bool // the instance's family
	// Iface is keepalived's vrrp->ifp: the VMAC with use_vmac, else the
	// interface.
	Iface string
	// Block is keepalived's test in vrrp_handle_accept_mode: the instance
	// is not the address owner (priority 255) and not in accept mode.
	Block            bool
	DontTrackPrimary bool
	VIPs, EVIPs      []Addr
	// VMAC and VMACBase name the use_vmac macvlan and its parent ("" no
	// VMAC).
	VMAC, VMACBase string
}

// otherFamily is VRRP_FLAG_EVIP_OTHER_FAMILY.
func (in *Instance) otherFamily() bool {
	for _, a := range in.EVIPs {
		if a.Addr.Is6() != in.IPv6 {
			return true
		}
	}
	return false
}

// setup records which of keepalived's lazily built pieces exist
// (vrrp_nftables.c's ipv4_table_setup, ipv4_vips_setup, ...).
type setup struct {
	table, vips, igmp map[Family]bool
	llName, llIndex   bool
}

// Core computes keepalived's firewall ruleset from instance events. It is
// not safe for concurrent use.
type Core struct {
	set   Settings
	insts map[string]*Instance
	order []string
	// on holds the instances whose addresses are in the sets (keepalived's
	// firewall_rules_set, i.e. vipset of a blocking instance); vmacs the
	// instances whose VMAC elements are in.
	on, vmacs map[string]bool
	// refs counts the holders of each element (two instances may list the
	// same address).
	refs map[elemRef]int
	st   setup
	rs   Ruleset
	seq  int
}

type elemRef struct {
	fam Family
	set string
	e   Elem
}

// NewCore returns a Core for the instances, with nothing set.
func NewCore(s Settings, instances []Instance) *Core {
	c := &Core{set: s, insts: map[string]*Instance{}}
	for i := range instances {
		in := instances[i]
		c.insts[in.Name] = &in
		c.order = append(c.order, in.Name)
	}
	c.reset()
	return c
}

func (c *Core) reset() {
	c.on, c.vmacs, c.refs = map[string]bool{}, map[string]bool{}, map[elemRef]int{}
	c.st = setup{table: map[Family]bool{}, vips: map[Family]bool{}, igmp: map[Family]bool{}}
	c.rs = Ruleset{}
}

// Settings returns the settings in use.
func (c *Core) Settings() Settings { return c.set }

// Ruleset returns a copy of the ruleset keepalived would hold now.
func (c *Core) Ruleset() *Ruleset { return c.rs.Clone() }

// SetState is SetVIPs for a state: the addresses are set in MASTER only.
func (c *Core) SetState(name string, s vrrp.State) (bool, error) {
	return c.SetVIPs(name, s == vrrp.StateMaster)
}

// SetVIPs follows an instance's VIPs: on when it becomes MASTER (keepalived
// vrrp_state_become_master, before the addresses are added), off when they
// are removed (vrrp_restore_interface). It reports whether the ruleset
// changed. An instance that does not block, or no table, changes nothing.
func (c *Core) SetVIPs(name string, on bool) (bool, error) {
	in := c.insts[name]
	if in == nil {
		return false, fmt.Errorf("nftfw: no instance %q", name)
	}
	if !in.Block || c.set.Table == "" || c.on[name] == on {
		return false, nil
	}
	c.on[name] = on
	for _, a := range slices.Concat(in.VIPs, in.EVIPs) {
		c.address(in, a, on)
	}
	return true, nil
}

// address is nft_update_ipv4_address / nft_update_ipv6_address: the
// pieces an address needs are built first, then it joins (or leaves) its
// set.
func (c *Core) address(in *Instance, a Addr, on bool) {
	if a.Addr.Is4() {
		c.ensureVIPs(IPv4)
		c.element(IPv4, "vips", Elem{Addr: a.Addr}, on)
		return
	}
	c.ensureVIPs(IPv6)
	if !a.Addr.IsLinkLocalUnicast() {
		c.element(IPv6, "vips", Elem{Addr: a.Addr}, on)
		return
	}
	byName := !c.set.Ifindex && in.DontTrackPrimary && (a.Iface == in.Iface || a.NoTrack)
	c.ensureLinkLocal(byName)
	set := "vips_link_local"
	if byName {
		set = "vips_link_local_name"
	}
	c.element(IPv6, set, Elem{Addr: a.Addr, Iface: a.Iface}, on)
}

func (c *Core) element(f Family, set string, e Elem, on bool) {
	k := elemRef{f, set, e}
	s := c.rs.Table(f).Set(set)
	if on {
		c.refs[k]++
		if c.refs[k] == 1 {
			s.Elems = append(s.Elems, e)
		}
		return
	}
	if c.refs[k] == 0 {
		return
	}
	c.refs[k]--
	if c.refs[k] == 0 {
		delete(c.refs, k)
		s.Elems = slices.DeleteFunc(s.Elems, func(x Elem) bool { return x == e })
	}
}

// VMACUp is firewall_add_vmac, called when the instance's VMAC has been
// created (keepalived: netlink_link_add_vmac, for IPv6 instances and for
// IPv4 ones unless vrrp_disable_local_igmp). It reports whether the
// ruleset changed.
func (c *Core) VMACUp(name string) (bool, error) { return c.vmac(name, true) }

// VMACDown is firewall_remove_vmac: the VMAC was deleted or went away.
func (c *Core) VMACDown(name string) (bool, error) { return c.vmac(name, false) }

func (c *Core) vmac(name string, up bool) (bool, error) {
	in := c.insts[name]
	if in == nil {
		return false, fmt.Errorf("nftfw: no instance %q", name)
	}
	if in.VMAC == "" || c.set.Table == "" || (!in.IPv6 && c.set.DisableLocalIGMP) || c.vmacs[name] == up {
		return false, nil
	}
	c.vmacs[name] = up
	fams := []Family{IPv4, IPv6}
	if in.IPv6 {
		fams = []Family{IPv6, IPv4}
	}
	if !in.otherFamily() {
		fams = fams[:1]
	}
	for _, f := range fams {
		c.ensureIGMP(f)
		c.element(f, "vmac_map", Elem{Iface: in.VMAC, To: in.VMACBase}, up)
		if f == IPv6 {
			c.element(f, "vmac_set", Elem{Iface: in.VMAC}, up)
		}
	}
	return true, nil
}

// Reload takes a new configuration's settings and instances. Instances
// that stay keep their state: those whose VIPs were set are set again with
// their new addresses (keepalived's clear_diff_vrrp_vip and
// restore_vrrp_state), so the ruleset changes by the addresses that
// changed; instances that went are unset. It reports whether the ruleset
// changed.
//
// keepalived 2.2.7 refuses a reload that changes the table name ("Cannot
// change nftables table name at a reload - please restart keepalived",
// main.c), so the daemon must refuse it first; with other settings anyway
// (a new priority, counters, nftables_ifindex, which keepalived would only
// apply to pieces it had not built yet) the ruleset is built anew.
func (c *Core) Reload(s Settings, instances []Instance) bool {
	before := c.rs.String()
	on, vmacs, old := maps.Clone(c.on), maps.Clone(c.vmacs), c.order
	if s != c.set {
		c.set = s
		c.reset()
	} else {
		for _, name := range old {
			if on[name] {
				c.SetVIPs(name, false)
			}
			if vmacs[name] {
				c.VMACDown(name)
			}
		}
	}
	c.insts, c.order = map[string]*Instance{}, nil
	for i := range instances {
		in := instances[i]
		c.insts[in.Name] = &in
		c.order = append(c.order, in.Name)
	}
	for _, name := range c.order {
		if vmacs[name] {
			c.VMACUp(name)
		}
	}
	for _, name := range c.order {
		if on[name] {
			c.SetVIPs(name, true)
		}
	}
	return c.rs.String() != before
}

// Stop is firewall_fini: both tables go.
func (c *Core) Stop() bool {
	had := len(c.rs.Tables) > 0
	c.reset()
	return had
}

// Instances returns the instances' names in configuration order.
func (c *Core) Instances() []string { return slices.Clone(c.order) }
