package main

import (
	"strconv"
	"time"

	"keepalived-go/config"
	vrrpengine "keepalived-go/vrrp/engine"
)

// garpDelay is keepalived's garp_delay_t: a garp_group block, or the
// default delay keepalived gives an interface an instance uses when
// vrrp_garp_interval or vrrp_gna_interval is set globally.
type garpDelay struct {
	group     int
	garp, gna *time.Duration
}

// garpDelayList is keepalived's garp_delay list and each interface's
// garp_delay.
type garpDelayList struct {
	list  []*garpDelay
	iface map[string]*garpDelay
}

// garpDelays is the garp_group blocks (parsed in order) and then, with a
// global interval set, set_default_garp_delay: a delay of its own for the
// base interface of each instance and of each of its VIPs and eVIPs
// that has none yet.
func garpDelays(cfg *config.Config, snap vrrpengine.Status, links linkTable) garpDelayList {
	d := garpDelayList{iface: map[string]*garpDelay{}}
	for _, g := range cfg.GarpGroups {
		gd := &garpDelay{group: g.AggregationGroup, garp: g.GarpInterval, gna: g.GnaInterval}
		d.list = append(d.list, gd)
		for _, n := range g.Interfaces {
			d.iface[n] = gd
		}
	}
	gl := &cfg.Global
	if gl.GarpInterval == 0 && gl.GnaInterval == 0 {
		return d
	}
	def := garpDelay{}
	if gl.GarpInterval != 0 {
		v := gl.GarpInterval
		def.garp = &v
	}
	if gl.GnaInterval != 0 {
		v := gl.GnaInterval
		def.gna = &v
	}
	set := func(name string) {
		if base := links.base(name); base != "" {
			name = base
		}
		if name == "" || d.iface[name] != nil {
			return
		}
		gd := def
		d.list = append(d.list, &gd)
		d.iface[name] = &gd
	}
	for i := range snap.Instances {
		is := &snap.Instances[i]
		set(is.Interface)
		for _, v := range append(append([]config.VirtualAddress(nil), is.Config.VIPs...), is.Config.ExcludedVIPs...) {
			dev := v.Dev
			if dev == "" {
				dev = is.Interface
			}
			set(dev)
		}
	}
	return d
}

// writeGarpDelays is dump_garp_delay_list. The next times are when the
// group may send again; the engine sends its gratuitous packets without
// holding one, which keepalived shows as 0.
func writeGarpDelays(c *confWriter, d garpDelayList, order []string) {
	if len(d.list) == 0 {
		return
	}
	c.f("------< Gratuitous ARP delays >------")
	zero := time.Unix(0, 0).Format("Mon Jan _2 15:04:05")
	for _, gd := range d.list {
		c.f("------< GARP delay group %d >------", gd.group)
		if gd.garp != nil {
			c.f(" GARP interval = %s", strconv.FormatFloat(gd.garp.Seconds(), 'g', 6, 64))
			c.f(" GARP next time 0.000000 (%s.000000)", zero)
		}
		if gd.gna != nil {
			c.f(" GNA interval = %s", strconv.FormatFloat(gd.gna.Seconds(), 'g', 6, 64))
			c.f(" GNA next time 0.000000 (%s.000000)", zero)
		} else if gd.garp == nil {
			c.f(" No configuration")
		}
		c.f(" Interfaces")
		for _, n := range order {
			if d.iface[n] == gd {
				c.f("  %s", n)
			}
		}
	}
}

// writeIfaceGarp is dump_if's garp_delay part.
func writeIfaceGarp(c *confWriter, gd *garpDelay) {
	if gd == nil {
		return
	}
	if gd.garp != nil {
		c.f("   Gratuitous ARP interval %dms", gd.garp.Milliseconds())
	}
	if gd.gna != nil {
		c.f("   Gratuitous NA interval %dms", gd.gna.Milliseconds())
	}
	if gd.group != 0 {
		c.f("   Gratuitous ARP aggregation group %d", gd.group)
	}
}
