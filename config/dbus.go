package config

import "keepalived-go/parser"

// DBus is the VRRP DBus service's part of global_defs (keepalived's
// global_data enable_dbus and dbus_service_name).
type DBus struct {
	Enable bool
	// ServiceName is dbus_service_name; "" means org.keepalived.Vrrp1.
	ServiceName string
}

// dbusKeyword handles the global_defs DBus keywords as global_parser.c's
// enable_dbus_handler and dbus_service_name_handler do; it reports whether
// st was one of them.
func (b *builder) dbusKeyword(st *parser.Stmt, d *DBus) bool {
	switch st.Name() {
	case "enable_dbus":
		// Arguments are ignored, as keepalived ignores them.
		d.Enable = true
	case "dbus_service_name":
		if len(st.Args) < 1 {
			b.report(st, parser.SevGeneral, "dbus_service_name missing - ignoring")
			return true
		}
		// The first word only; a later one replaces an earlier one.
		d.ServiceName = st.Args[0].Value()
	default:
		return false
	}
	return true
}
