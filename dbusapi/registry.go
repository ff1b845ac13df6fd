package dbusapi

import (
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Instance is what the bus shows of one vrrp_instance.
type Instance struct {
	Name string // the vrrp_instance name (keepalived's iname)
	// Interface is the configured interface (a VMAC's parent, not the
	// VMAC); "" when the instance has none.
	Interface string
	VRID      uint8
	Family    Family
	State     State
}

func (in Instance) ifname() string {
	if in.Interface == "" {
		return noInterface
	}
	return in.Interface
}

// registry is the exported-object state: GDBus's table of exported paths
// (in GLib's order, for introspection) with the interface each carries, and
// keepalived's table of its objects keyed by instance name. Pure; the
// Service guards it with a lock.
type registry struct {
	naming   Naming
	eo       *strTable
	exported map[string]*ifaceDef
	objects  map[string]string // instance name (or vrrpObjectKey) -> path
	logf     func(format string, args ...any)
}

func newRegistry(n Naming, logf func(string, ...any)) *registry {
	return &registry{naming: n, eo: newStrTable(), exported: map[string]*ifaceDef{},
		objects: map[string]string{}, logf: logf}
}

// errInvalidPath stands for GDBus refusing a malformed path without an
// error message (a g_return_val_if_fail): keepalived logs nothing then.
var errInvalidPath = fmt.Errorf("invalid object path")

// register is g_dbus_connection_register_object for one interface.
func (r *registry) register(path string, d *ifaceDef) error {
	if !dbus.ObjectPath(path).IsValid() {
		return errInvalidPath
	}
	if _, ok := r.exported[path]; ok {
		return fmt.Errorf("An object is already exported for the interface %s at %s", d.Name, path)
	}
	r.exported[path] = d
	r.eo.insert(path)
	return nil
}

func (r *registry) unregister(path string) {
	if _, ok := r.exported[path]; ok {
		delete(r.exported, path)
		r.eo.remove(path)
	}
}

// children is g_dbus_connection_list_registered_unlocked: the next path
// element of every exported path below path, each once, in GLib's order.
func (r *registry) children(path string) []string {
	n := len(path)
	if n > 1 {
		n++
	}
	set := newStrTable()
	r.eo.each(func(p string) {
		if !strings.HasPrefix(p, path) || len(p) <= n || p[n-1] != '/' {
			return
		}
		child := p[n:]
		if i := strings.IndexByte(child, '/'); i >= 0 {
			child = child[:i]
		}
		set.insert(child)
	})
	return set.keysList()
}

// createObject is dbus_create_object_params.
func (r *registry) createObject(name, ifname string, vrid uint8, fam Family) {
	if _, ok := r.objects[name]; ok {
		r.logf("An object for instance %s already exists", name)
		return
	}
	path := string(r.naming.InstancePath(ifname, vrid, fam))
	if err := r.register(path, instanceIface); err != nil {
		if err != errInvalidPath {
			r.logf("Registering DBus object on %s failed: %s", path, err)
		}
		return
	}
	r.objects[name] = path
}

// start registers the objects of on_bus_acquired: the Vrrp object, then one
// per instance. It reports whether there were instances (keepalived returns
// early, before VrrpStarted, when there are none).
func (r *registry) start(insts []Instance) bool {
	path := string(r.naming.VrrpPath())
	if err := r.register(path, vrrpIface); err != nil {
		if err != errInvalidPath {
			r.logf("Registering VRRP object on %s failed: %s", path, err)
		}
	} else {
		r.objects[vrrpObjectKey] = path
	}
	if len(insts) == 0 {
		return false
	}
	for _, in := range insts {
		r.createObject(in.Name, in.Interface, in.VRID, in.Family)
	}
	return true
}

// removeObject is dbus_remove_object / dbus_unregister_object.
func (r *registry) removeObject(name string) {
	path, ok := r.objects[name]
	if !ok {
		return
	}
	delete(r.objects, name)
	r.unregister(path)
	r.logf("Deleted DBus object for instance %s", name)
}

// reload is dbus_reload: an instance of the new config keeps the object of
// an old one with the same VRID, family and interface name (the object
// follows a rename); any other gets a new object.
func (r *registry) reload(old, cur []Instance) {
	for _, n := range cur {
		matched := false
		for _, o := range old {
			if n.VRID != o.VRID || n.Family != o.Family || n.ifname() != o.ifname() {
				continue
			}
			matched = true
			if n.Name != o.Name {
				if path, ok := r.objects[o.Name]; ok {
					delete(r.objects, o.Name)
					r.objects[n.Name] = path
				}
			}
			break
		}
		if !matched {
			r.createObject(n.Name, n.Interface, n.VRID, n.Family)
		}
	}
}

// clear unregisters every object keepalived holds (dbus_stop, on_name_lost).
func (r *registry) clear() {
	for name, path := range r.objects {
		delete(r.objects, name)
		r.unregister(path)
	}
}

// lookup returns the interface exported at path.
func (r *registry) lookup(path string) *ifaceDef { return r.exported[path] }
