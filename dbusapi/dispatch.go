package dbusapi

import (
	"fmt"
	"os"
	"strings"

	"github.com/godbus/dbus/v5"
)

// D-Bus names GDBus answers with.
const (
	ifaceProperties    = "org.freedesktop.DBus.Properties"
	ifaceIntrospection = "org.freedesktop.DBus.Introspectable"
	ifacePeer          = "org.freedesktop.DBus.Peer"
	errUnknownMethod   = "org.freedesktop.DBus.Error.UnknownMethod"
	errInvalidArgs     = "org.freedesktop.DBus.Error.InvalidArgs"
	errFailed          = "org.freedesktop.DBus.Error.Failed"
)

// request is one incoming method call.
type request struct {
	Path      string
	Interface string
	HasIface  bool
	Member    string
	Signature string
	Body      []any
}

// response is the reply body or the error.
type response struct {
	Body []any
	Err  *dbus.Error
}

func fail(name, format string, args ...any) response {
	return response{Err: dbus.NewError(name, []any{fmt.Sprintf(format, args...)})}
}

// Property values are structs, not bare strings: keepalived's getter hands
// GDBus g_variant_new("(s)") and ("(us)"), so Get answers a variant holding
// a one-field tuple for Name, although Name is declared "s".
type nameValue struct{ Name string }

type stateValue struct {
	State uint32
	Text  string
}

// orderedDict is an a{sv} whose entries keep their order: godbus writes Go
// maps in random order and GDBus writes properties in declaration order.
// It encodes as a(sv), byte for byte what a{sv} is on the wire; the
// outgoing interceptor sets the signature.
type orderedDict []dictEntry

type dictEntry struct {
	Key   string
	Value dbus.Variant
}

// dispatch answers a method call as GDBus's distribute_method_call does for
// keepalived's registrations: a registered interface first (method lookup,
// argument type check, then keepalived's handler), then Introspectable and
// Properties on exported objects, then Introspect/Ping/GetMachineId on any
// path, else UnknownMethod.
func (s *Service) dispatch(req request) response {
	s.mu.RLock()
	iface := s.reg.lookup(req.Path)
	s.mu.RUnlock()
	objectFound := false
	if iface != nil {
		if req.HasIface && req.Interface == iface.Name {
			return s.callMethod(iface, req)
		}
		objectFound = req.HasIface
		if r, ok := s.objectCall(iface, req); ok {
			return r
		}
	}
	if r, ok := s.genericCall(req); ok {
		return r
	}
	if objectFound {
		return fail(errUnknownMethod, "No such interface “%s” on object at path %s", req.Interface, req.Path)
	}
	return fail(errUnknownMethod, "Object does not exist at path “%s”", req.Path)
}

// objectCall is obj_message_func's standard interfaces.
func (s *Service) objectCall(iface *ifaceDef, req request) (response, bool) {
	switch {
	case req.Interface == ifaceIntrospection && req.Member == "Introspect" && req.Signature == "":
		s.mu.RLock()
		children := s.reg.children(req.Path)
		s.mu.RUnlock()
		return response{Body: []any{introspectXML(iface, children)}}, true
	case req.Interface == ifaceProperties && req.Member == "Get" && req.Signature == "ss":
		return s.getProperty(iface, req.Path, req.Body[0].(string), req.Body[1].(string)), true
	case req.Interface == ifaceProperties && req.Member == "Set" && req.Signature == "ssv":
		ifname, prop := req.Body[0].(string), req.Body[1].(string)
		if ifname != iface.Name {
			return fail(errInvalidArgs, "No such interface “%s”", ifname), true
		}
		if iface.property(prop) == nil {
			return fail(errInvalidArgs, "No such property “%s”", prop), true
		}
		return fail(errInvalidArgs, "Property “%s” is not writable", prop), true
	case req.Interface == ifaceProperties && req.Member == "GetAll" && req.Signature == "s":
		return s.getAll(iface, req.Path, req.Body[0].(string)), true
	}
	return response{}, false
}

// genericCall is handle_generic_unlocked: what GDBus answers on any path.
func (s *Service) genericCall(req request) (response, bool) {
	if req.Signature != "" {
		return response{}, false
	}
	switch {
	case req.Interface == ifaceIntrospection && req.Member == "Introspect":
		s.mu.RLock()
		children := s.reg.children(req.Path)
		s.mu.RUnlock()
		return response{Body: []any{introspectXML(nil, children)}}, true
	case req.Interface == ifacePeer && req.Member == "Ping":
		return response{}, true
	case req.Interface == ifacePeer && req.Member == "GetMachineId":
		id, err := s.machineID()
		if err != nil {
			return fail(errFailed, "%s", err), true
		}
		return response{Body: []any{id}}, true
	}
	return response{}, false
}

// callMethod is validate_and_maybe_schedule_method_call, then keepalived's
// handle_method_call.
func (s *Service) callMethod(iface *ifaceDef, req request) response {
	m := iface.method(req.Member)
	if m == nil {
		return fail(errUnknownMethod, "No such method “%s”", req.Member)
	}
	if got, want := "("+req.Signature+")", "("+m.inSignature()+")"; got != want {
		return fail(errInvalidArgs, "Type of message, “%s”, does not match expected type “%s”", got, want)
	}
	switch req.Member {
	case "PrintData":
		s.log.Info("Printing VRRP data on DBus request")
		s.cmds.PrintData()
	case "PrintStats":
		s.log.Info("Printing VRRP stats on DBus request")
		s.cmds.PrintStats(false)
	case "PrintStatsClear":
		s.log.Info("Printing and clearing VRRP stats on DBus request")
		s.cmds.PrintStats(true)
	case "ReloadConfig":
		s.cmds.ReloadConfig()
	case "SendGarp":
		in, ifname, vrid, fam, ok := s.instanceAt(req.Path)
		if !ok {
			return fail(errInvalidArgs, "Instance '%s/%d/%s' not found", ifname, vrid, fam)
		}
		s.log.Infof("Sending garps on %s on DBus request", in.Name)
		s.cmds.SendGarp(in.Name)
	}
	return response{}
}

// instanceAt is get_interface_ids + get_vrrp_instance: the first instance
// with an interface whose path-valid name, VRID and family are the path's.
func (s *Service) instanceAt(path string) (Instance, string, uint8, Family, bool) {
	ifname, vrid, fam := s.naming.instanceIDs(dbus.ObjectPath(path))
	for _, in := range s.provider.Instances() {
		if in.Interface != "" && in.VRID == vrid && in.Family == fam && pathNameMatches(in.Interface, ifname) {
			return in, ifname, vrid, fam, true
		}
	}
	return Instance{}, ifname, vrid, fam, false
}

// propertyValue is handle_get_property's answer for one property.
func (s *Service) propertyValue(path, prop string) (dbus.Variant, *dbus.Error) {
	in, ifname, vrid, fam, ok := s.instanceAt(path)
	if !ok {
		return dbus.Variant{}, dbus.NewError(errInvalidArgs,
			[]any{fmt.Sprintf("Instance '%s/%d/%s' not found", ifname, vrid, fam)})
	}
	if prop == "Name" {
		return dbus.MakeVariant(nameValue{in.Name}), nil
	}
	return dbus.MakeVariant(stateValue{uint32(in.State), in.State.String()}), nil
}

func (s *Service) getProperty(iface *ifaceDef, path, ifname, prop string) response {
	if ifname != iface.Name {
		return fail(errInvalidArgs, "No such interface “%s”", ifname)
	}
	if iface.property(prop) == nil {
		return fail(errInvalidArgs, "No such property “%s”", prop)
	}
	v, err := s.propertyValue(path, prop)
	if err != nil {
		return response{Err: err}
	}
	return response{Body: []any{v}}
}

// getAll leaves out what fails, as GDBus does.
func (s *Service) getAll(iface *ifaceDef, path, ifname string) response {
	if ifname != iface.Name {
		return fail(errInvalidArgs, "No such interface “%s”", ifname)
	}
	d := orderedDict{}
	for _, p := range iface.Properties {
		if v, err := s.propertyValue(path, p.Name); err == nil {
			d = append(d, dictEntry{p.Name, v})
		}
	}
	return response{Body: []any{d}}
}

// Where GLib reads the machine ID (LOCALSTATEDIR is /var on Debian).
var machineIDFiles = [2]string{"/var/lib/dbus/machine-id", "/etc/machine-id"}

// machineID is _g_dbus_get_machine_id, cached once read as GDBus caches it
// per connection.
func (s *Service) machineID() (string, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if s.idCache != "" {
		return s.idCache, nil
	}
	b, err := os.ReadFile(machineIDFiles[0])
	if err != nil {
		var err2 error
		if b, err2 = os.ReadFile(machineIDFiles[1]); err2 != nil {
			return "", fmt.Errorf("Unable to load %s or %s: Failed to open file “%s”: %s",
				machineIDFiles[0], machineIDFiles[1], machineIDFiles[0], errnoText(err))
		}
	}
	id := string(b)
	if !validMachineID(id) {
		return "", fmt.Errorf("Invalid machine ID in %s or %s", machineIDFiles[0], machineIDFiles[1])
	}
	s.idCache = id[:32]
	return s.idCache, nil
}

// validMachineID: 32 lowercase hex digits, not all zero, one newline.
func validMachineID(id string) bool {
	if len(id) != 33 || id[32] != '\n' {
		return false
	}
	nonZero := false
	for i := 0; i < 32; i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
		nonZero = nonZero || c != '0'
	}
	return nonZero
}

func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		msg := pe.Err.Error()
		return strings.ToUpper(msg[:1]) + msg[1:]
	}
	return err.Error()
}
