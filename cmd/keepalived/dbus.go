package main

import (
	"context"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/dbusapi"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

// dbusAgent is keepalived's VRRP DBus service (enable_dbus) in the daemon:
// it publishes the VRRP engine's instances on the system bus, signals
// their state changes, follows reloads and routes the methods to the
// daemon and the engine. It is an engine: it starts once the VRRP engine
// has started its instances, and stops after their last STOP signals.
type dbusAgent struct {
	d   *daemon
	log *logrus.Logger
	// vrrpDone is closed once the VRRP engine stopped and its last events
	// were handed out.
	vrrpDone <-chan struct{}

	mu  sync.Mutex
	cfg *config.Config // the running config
	// seen is the config the service last published (Start or Reload):
	// what a reload's removed instances are found in.
	seen *config.Config
	svc  *dbusapi.Service // nil while off
	// reloadCfg is the config a VRRP reload brought, for the Reloaded event.
	reloadCfg chan *config.Config
	wake      chan struct{}
}

func newDBusAgent(d *daemon, cfg *config.Config, vrrpDone <-chan struct{}) *dbusAgent {
	return &dbusAgent{d: d, log: d.log, vrrpDone: vrrpDone, cfg: cfg, wake: make(chan struct{}, 1)}
}

// Validate takes any config: a bus that refuses the name is logged, as
// keepalived's dbus_start does, not a reason to refuse a reload.
func (a *dbusAgent) Validate(*config.Config) error { return nil }

// Reload takes the new config; the service follows when the VRRP engine
// reports the reload (onVRRP), or starts or stops here when enable_dbus
// changed.
func (a *dbusAgent) Reload(cfg *config.Config) error {
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run starts the service when enable_dbus asks for it (after the VRRP
// engine started its instances, whose states the service publishes), and
// stops it after the VRRP engine's last state changes.
func (a *dbusAgent) Run(ctx context.Context) error {
	a.d.mu.Lock()
	v := a.d.vrrp
	a.d.mu.Unlock()
	if v != nil {
		select {
		case <-v.Ready():
		case <-ctx.Done():
		}
	}
	for running := true; running; {
		a.apply()
		select {
		case <-a.wake:
		case <-ctx.Done():
			running = false
		}
	}
	select {
	case <-a.vrrpDone:
	case <-time.After(8 * time.Second):
	}
	a.mu.Lock()
	svc := a.svc
	a.svc = nil
	a.mu.Unlock()
	if svc != nil {
		svc.Stop()
	}
	return nil
}

// apply starts or stops the service for enable_dbus, or restarts it when
// the service name or the object path prefix changed.
func (a *dbusAgent) apply() {
	a.mu.Lock()
	cfg, svc, seen := a.cfg, a.svc, a.seen
	a.mu.Unlock()
	on := cfg.Global.EnableDBus && a.d.vrrpRunning()
	if svc != nil && (!on || seen == nil || dbusName(seen) != dbusName(cfg) || dbusNaming(a.d, seen) != dbusNaming(a.d, cfg)) {
		svc.Stop()
		svc = nil
	}
	if svc == nil && on {
		svc = dbusapi.New(dbusapi.Options{ServiceName: dbusName(cfg), Naming: dbusNaming(a.d, cfg),
			Log: logrus.NewEntry(a.log), Provider: dbusInstances{a}, Commands: dbusCommands{a}})
		svc.Start()
		seen = cfg
	}
	a.mu.Lock()
	a.svc, a.seen = svc, seen
	if svc == nil {
		a.seen = nil
	}
	a.mu.Unlock()
}

func dbusName(cfg *config.Config) string { return cfg.Global.DBusServiceName }

// dbusNaming is what goes between the root and the objects: the network
// namespace (-s overrides net_namespace) and the instance name.
func dbusNaming(d *daemon, cfg *config.Config) dbusapi.Naming {
	n := dbusapi.Naming{NetNamespace: cfg.Global.NetNamespace, InstanceName: cfg.Global.InstanceName}
	if d.opts.namespace != "" {
		n.NetNamespace = d.opts.namespace
	}
	return n
}

// vrrpRunning: the DBus service belongs to keepalived's VRRP process.
func (d *daemon) vrrpRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.vrrp != nil
}

func (a *dbusAgent) service() *dbusapi.Service {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.svc
}

// dbusFamily is an instance's family as paths spell it.
func dbusFamily(ipv6 bool) dbusapi.Family {
	if ipv6 {
		return dbusapi.FamilyIPv6
	}
	return dbusapi.FamilyIPv4
}

// dbusState is keepalived's numbering of a state.
func dbusState(s vrrp.State) dbusapi.State {
	return dbusapi.State(snmpVRRPState(s))
}

// onVRRP signals an instance's state change (dbus_send_state_signal, from
// send_instance_notifies) and follows a reload where the VRRP engine
// reports it (dbus_reload after clear_diff_vrrp).
func (a *dbusAgent) onVRRP(ev vrrpengine.Event) {
	svc := a.service()
	if svc == nil {
		return
	}
	switch e := ev.(type) {
	case vrrpengine.StateChange:
		a.mu.Lock()
		cfgs := []*config.Config{a.cfg, a.seen}
		a.mu.Unlock()
		ci := findInstance(e.Instance, cfgs...)
		if ci == nil {
			return
		}
		st := dbusState(e.To)
		// keepalived still reports a deleted instance as FAULT unless
		// notify_deleted asks for DELETED.
		if e.To == vrrp.StateDeleted && !ci.NotifyDeletedSet {
			st = dbusapi.StateFault
		}
		iface := ci.Interface
		if iface == "" && cfgs[0] != nil {
			iface = cfgs[0].Global.DefaultInterface
		}
		svc.StateChanged(dbusapi.Instance{Name: ci.Name, Interface: iface, VRID: uint8(ci.VRID),
			Family: dbusFamily(ci.Family == "inet6"), State: st})
	case vrrpengine.Reloaded:
		a.mu.Lock()
		old, cur := a.seen, a.cfg
		a.seen = cur
		a.mu.Unlock()
		svc.Reload(removedInstances(old, cur))
	}
}

// findInstance is the named vrrp_instance in the first config that has it.
func findInstance(name string, cfgs ...*config.Config) *config.VRRPInstance {
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		for _, in := range c.Instances {
			if in.Name == name {
				return in
			}
		}
	}
	return nil
}

// removedInstances are the old config's instances with no counterpart in
// the new one (keepalived's vrrp_exist: same VRID, family, interface and
// unicast source).
func removedInstances(old, cur *config.Config) []string {
	if old == nil || cur == nil {
		return nil
	}
	var out []string
	for _, o := range old.Instances {
		found := false
		for _, n := range cur.Instances {
			if n.VRID == o.VRID && n.Family == o.Family && n.Interface == o.Interface && n.Unicast == o.Unicast &&
				(!n.Unicast || n.UnicastSrcIP == o.UnicastSrcIP) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, o.Name)
		}
	}
	return out
}

// dbusInstances is the service's Provider: the VRRP engine's instances.
type dbusInstances struct{ a *dbusAgent }

func (p dbusInstances) Instances() []dbusapi.Instance {
	d := p.a.d
	d.mu.Lock()
	v := d.vrrp
	d.mu.Unlock()
	if v == nil {
		return nil
	}
	var out []dbusapi.Instance
	for _, is := range v.Status().Instances {
		out = append(out, dbusapi.Instance{Name: is.Name, Interface: is.BaseInterface, VRID: is.VRID,
			Family: dbusFamily(is.IPv6), State: dbusState(is.State)})
	}
	return out
}

// dbusCommands carries out the methods.
type dbusCommands struct{ a *dbusAgent }

// PrintData is vrrp_print_data: keepalived.data, written before the reply.
func (c dbusCommands) PrintData() {
	d := c.a.d
	d.log.Info("Printing VRRP data on DBus request")
	if err := writeVRRPDump(d, "data", false); err != nil {
		d.log.Errorf("DBus PrintData: %v", err)
	}
}

// PrintStats is vrrp_print_stats, clearing the counters after with clear.
func (c dbusCommands) PrintStats(clear bool) {
	d := c.a.d
	if clear {
		d.log.Info("Printing and clearing VRRP stats on DBus request")
	} else {
		d.log.Info("Printing VRRP stats on DBus request")
	}
	if err := writeVRRPDump(d, "stats", clear); err != nil {
		d.log.Errorf("DBus PrintStats: %v", err)
	}
}

// ReloadConfig asks for a reload as keepalived's VRRP process does: it
// signals its parent (here, the daemon itself) with SIGHUP.
func (c dbusCommands) ReloadConfig() {
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		c.a.log.Errorf("DBus ReloadConfig: %v", err)
	}
}

// SendGarp is vrrp_send_link_update for the instance.
func (c dbusCommands) SendGarp(instance string) {
	d := c.a.d
	d.mu.Lock()
	v := d.vrrp
	d.mu.Unlock()
	if v == nil {
		return
	}
	if err := v.SendGarp(instance); err != nil {
		d.log.Errorf("DBus SendGarp: %v", err)
	}
}
