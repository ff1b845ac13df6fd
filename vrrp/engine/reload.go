package engine

import (
	"container/heap"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp"
)

// applyReload is the running engine's half of Reload.
func (e *Engine) applyReload(cfg *config.Config) error {
	if err := e.reloadCheck(cfg); err != nil {
		return err
	}
	units, err := e.build(cfg)
	if err != nil {
		return err
	}
	e.firewallReload(cfg)
	e.reloadStatics(cfg)
	oldCfg := e.cfg
	oldByName := map[string]*inst{}
	for _, u := range e.units {
		for _, m := range u.members {
			oldByName[m.cfg.Name] = m
		}
	}
	sameGroup := func(a, b *config.Config, name string) bool {
		find := func(c *config.Config) *config.SyncGroup {
			for _, g := range c.SyncGroups {
				for _, m := range g.Members {
					if m == name {
						return g
					}
				}
			}
			return nil
		}
		return sameConfig(find(a), find(b))
	}
	unchanged := func(m *inst) bool {
		o := oldByName[m.cfg.Name]
		// Global settings matter through what they put in vrrp.Config
		// (multicast groups, unicast source checks ...) and the garp
		// intervals; anything else in global_defs leaves instances alone.
		return o != nil && sameConfig(o.cfg, m.cfg) && sameConfig(o.built, m.built) && sameGroup(oldCfg, cfg, m.cfg.Name)
	}
	// addressesOnly: the instance differs only in its VIP lists, routes
	// and rules, the usual reload (a VIP added); it keeps running and just
	// changes what it holds in the kernel.
	addressesOnly := func(m *inst) bool {
		o := oldByName[m.cfg.Name]
		if o == nil || !sameGroup(oldCfg, cfg, m.cfg.Name) {
			return false
		}
		oc, nc := *o.cfg, *m.cfg
		oc.VIPs, nc.VIPs, oc.ExcludedVIPs, nc.ExcludedVIPs = nil, nil, nil, nil
		oc.Routes, nc.Routes, oc.Rules, nc.Rules = nil, nil, nil, nil
		oc.RouteInterfaces, nc.RouteInterfaces, oc.StaticInterfaces, nc.StaticInterfaces = nil, nil, nil, nil
		ob, nb := o.built, m.built
		ob.VIPs, nb.VIPs, ob.ExcludedVIPs, nb.ExcludedVIPs = nil, nil, nil, nil
		ob.Routes, nb.Routes, ob.Rules, nb.Rules = nil, nil, nil, nil
		// The models were compared above, without their address lists.
		ob.Model, nb.Model = nil, nil
		return sameConfig(oc, nc) && sameConfig(ob, nb)
	}
	now := e.now()
	var keep, fresh []*unit
	kept := map[string]bool{}
	for _, u := range units {
		all := true
		for _, m := range u.members {
			all = all && (unchanged(m) || addressesOnly(m))
		}
		if !all {
			fresh = append(fresh, u)
			continue
		}
		// Carry the running unit over, with new address lists where they changed.
		ou := oldByName[u.members[0].cfg.Name].u
		for _, m := range u.members {
			o := oldByName[m.cfg.Name]
			if unchanged(m) {
				continue
			}
			for p, a := range m.addrs {
				o.addrs[p] = a
			}
			oldCfg := o.cfg
			o.cfg, o.built = m.cfg, m.built
			o.vc.VIPs, o.vc.ExcludedVIPs, o.vc.Model = m.built.VIPs, m.built.ExcludedVIPs, m.cfg
			if !sameConfig(oldCfg.VIPs, m.cfg.VIPs) || !sameConfig(oldCfg.ExcludedVIPs, m.cfg.ExcludedVIPs) {
				e.log.Infof("(%s) reload: virtual addresses changed, state kept", m.cfg.Name)
			}
			e.replaceRoutes(o, m.cfg)
			e.step(ou, o.idx, vrrp.AddressesChanged{Now: now, VIPs: m.built.VIPs, Exclude: m.built.ExcludedVIPs})
			e.restoreRoutes(o)
		}
		for _, m := range ou.members {
			kept[m.cfg.Name] = true
		}
		keep = append(keep, ou)
	}
	e.removeUnits(kept, now)
	e.cfg = cfg
	e.units = append(keep, fresh...)
	for i, u := range e.units {
		u.ord = i
		if u.index >= 0 {
			heap.Fix(&e.due, u.index)
		}
	}
	e.setupScripts(cfg, e.scripts)
	e.reloadProcs(cfg)
	e.ensureVMACs(fresh)
	e.logInitFaults()
	e.syncConns()
	e.emit(Reloaded{})
	for _, u := range fresh {
		e.startUnit(u)
	}
	e.refreshAll()
	e.addStatics()
	e.watchKernel(e.runCtx)
	return nil
}

// removeUnits stops (DELETED) the running instances a reload did not keep.
func (e *Engine) removeUnits(kept map[string]bool, now time.Duration) {
	for _, u := range e.units {
		for i, m := range u.members {
			if kept[m.cfg.Name] {
				continue
			}
			e.step(u, i, vrrp.Shutdown{Now: now, Deleted: true})
			m.removed = true
			e.removeVMAC(m)
			delete(e.byName, m.cfg.Name)
			delete(e.byKey, rxKey{m.vc.Interface, m.vc.IPv6, m.vc.VRID})
		}
		if !kept[u.members[0].cfg.Name] {
			e.unqueue(u)
		}
	}
}
