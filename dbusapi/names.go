package dbusapi

import (
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Names on the bus, as keepalived 2.2.7 (vrrp_dbus.c) spells them.
const (
	DefaultServiceName = "org.keepalived.Vrrp1"
	VrrpInterface      = "org.keepalived.Vrrp1.Vrrp"
	InstanceInterface  = "org.keepalived.Vrrp1.Instance"
	objectRoot         = "/org/keepalived/Vrrp1"
	// vrrpObjectKey is the key keepalived files its Vrrp object under in
	// the same table as the instances (so an instance of that name
	// "already exists").
	vrrpObjectKey = "__Vrrp__"
	// noInterface names an instance without an interface in its path.
	noInterface = "none"
)

// Family is an instance's address family as it appears in object paths.
type Family uint8

// Families.
const (
	FamilyNone Family = iota
	FamilyIPv4
	FamilyIPv6
)

// String is keepalived's family_str.
func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "IPv4"
	case FamilyIPv6:
		return "IPv6"
	}
	return "None"
}

// State is keepalived's numeric instance state (vrrp.h VRRP_STATE_*), the
// value VrrpStatusChange carries and State reports.
type State uint32

// States.
const (
	StateInit    State = 0
	StateBackup  State = 1
	StateMaster  State = 2
	StateFault   State = 3
	StateDeleted State = 97
	StateStop    State = 98
)

// String is keepalived's state_str for the State property.
func (s State) String() string {
	switch s {
	case StateInit:
		return "Init"
	case StateBackup:
		return "Backup"
	case StateMaster:
		return "Master"
	case StateFault:
		return "Fault"
	case StateStop:
		return "Stop"
	case StateDeleted:
		return "Deleted"
	}
	return "Unknown"
}

// Naming holds what keepalived puts between the root and the object names:
// the top-level keywords net_namespace (or -s/--namespace) and instance.
// A name that makes a malformed path (instance lb-1) leaves keepalived with
// no objects at all (GLib refuses them); so does this package.
type Naming struct {
	NetNamespace string
	InstanceName string
}

func (n Naming) prefix() string {
	var b strings.Builder
	b.WriteString(objectRoot)
	if n.NetNamespace != "" {
		b.WriteString("/" + n.NetNamespace)
	}
	if n.InstanceName != "" {
		b.WriteString("/" + n.InstanceName)
	}
	return b.String()
}

// VrrpPath is dbus_object_create_path_vrrp.
func (n Naming) VrrpPath() dbus.ObjectPath { return dbus.ObjectPath(n.prefix() + "/Vrrp") }

// InstancePath is dbus_object_create_path_instance: the interface name with
// every byte that is not an ASCII letter or digit turned into '_', the VRID
// in decimal and the family. An empty interface is "none".
func (n Naming) InstancePath(ifname string, vrid uint8, fam Family) dbus.ObjectPath {
	if ifname == "" {
		ifname = noInterface
	}
	return dbus.ObjectPath(n.prefix() + "/Instance/" + validPath(ifname) + "/" +
		strconv.Itoa(int(vrid)) + "/" + fam.String())
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// validPath is set_valid_path: only [A-Za-z0-9_] are valid in a path element.
func validPath(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// pathNameMatches is the negation of keepalived's valid_path_cmp: name (an
// interface name) becomes elem once made path-valid.
func pathNameMatches(name, elem string) bool {
	if len(name) != len(elem) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isAlnum(name[i]) {
			if elem[i] != '_' {
				return false
			}
		} else if name[i] != elem[i] {
			return false
		}
	}
	return true
}

// instanceIDs is get_interface_ids: the last three of a fixed number of
// '/'-separated fields (8, plus one each for a namespace and an instance
// name) are the interface, the VRID (strtoul, truncated to 8 bits) and the
// family.
func (n Naming) instanceIDs(path dbus.ObjectPath) (ifname string, vrid uint8, fam Family) {
	fields := 8
	if n.NetNamespace != "" {
		fields++
	}
	if n.InstanceName != "" {
		fields++
	}
	dirs := strings.SplitN(string(path), "/", fields)
	for len(dirs) < fields {
		dirs = append(dirs, "")
	}
	ifname = dirs[fields-3]
	num := dirs[fields-2]
	end := 0
	for end < len(num) && num[end] >= '0' && num[end] <= '9' {
		end++
	}
	v, _ := strconv.ParseUint(num[:end], 10, 64)
	vrid = uint8(v)
	switch dirs[fields-1] {
	case "IPv4":
		fam = FamilyIPv4
	case "IPv6":
		fam = FamilyIPv6
	}
	return ifname, vrid, fam
}
