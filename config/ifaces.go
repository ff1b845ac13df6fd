package config

import "os"

// The VRRP process's interface table (vrrp/vrrp_if.c: if_get_by_ifname):
// the interfaces the kernel has when the configuration is read, plus the
// placeholders dynamic_interfaces creates for names that do not exist yet.

type ifLookup int

const (
	ifNoCreate        ifLookup = iota // IF_NO_CREATE
	ifCreateIfDynamic                 // IF_CREATE_IF_DYNAMIC
	ifCreateAlways                    // IF_CREATE_ALWAYS
)

// ifEntry is one interface_t as far as configuration checks look at it.
type ifEntry struct {
	Interface
	exists bool // in the kernel (keepalived: ifindex != 0)
	// For VMAC/ipvlan placeholders keepalived creates while checking.
	ours     bool
	macvlan  bool
	baseName string
	garpSet  bool
	upDown   bool
}

// ifTable is the interface queue of one VRRP read.
type ifTable struct {
	l       *loader
	entries map[string]*ifEntry
	order   []*ifEntry
	// nonExistent is keepalived's non_existent_interface_specified.
	nonExistent bool
}

func newIfTable(l *loader) *ifTable {
	return &ifTable{l: l, entries: map[string]*ifEntry{}}
}

// get is if_get_by_ifname.
func (t *ifTable) get(name string, mode ifLookup) *ifEntry {
	if e, ok := t.entries[name]; ok {
		return e
	}
	if it, ok := t.lookup(name); ok {
		e := &ifEntry{Interface: it, exists: true}
		t.entries[name] = e
		t.order = append(t.order, e)
		return e
	}
	if mode == ifNoCreate || (mode == ifCreateIfDynamic && !t.l.cfg.Global.DynamicInterfaces) {
		if mode == ifCreateIfDynamic {
			t.nonExistent = true
		}
		return nil
	}
	// keepalived logs "Configuration specifies interface %s which doesn't
	// currently exist - will use if created" for dynamic interfaces.
	e := &ifEntry{Interface: Interface{Name: name}}
	t.entries[name] = e
	t.order = append(t.order, e)
	return e
}

func (t *ifTable) lookup(name string) (Interface, bool) {
	if t.l.opts.Interfaces == nil {
		// No interface information (tests): every name exists.
		return Interface{Name: name, Index: 1, MTU: 1500, Up: true, Loopback: name == "lo", Multicast: name != "lo"}, true
	}
	return t.l.opts.Interfaces.Interface(name)
}

// statFile is os.Stat (a seam for tests).
var statFile = os.Stat
