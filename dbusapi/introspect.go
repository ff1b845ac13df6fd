package dbusapi

import (
	"fmt"
	"strings"
)

// The interfaces keepalived 2.2.7 exports, as Debian builds it (DBUS, no
// DBUS_CREATE_INSTANCE: `keepalived -v` lists no such option, so the Vrrp
// interface has no CreateInstance/DestroyInstance). These definitions are
// the source of the introspection data; nothing is read from XML files.

type arg struct {
	Name, Type string
}

type method struct {
	Name    string
	In, Out []arg
}

type signal struct {
	Name string
	Args []arg
}

type property struct {
	Name, Type string
}

type ifaceDef struct {
	Name       string
	Methods    []method
	Signals    []signal
	Properties []property // all read-only
}

var vrrpIface = &ifaceDef{
	Name: VrrpInterface,
	Methods: []method{
		{Name: "PrintData"},
		{Name: "PrintStats"},
		{Name: "PrintStatsClear"},
		{Name: "ReloadConfig"},
	},
	Signals: []signal{{Name: "VrrpStarted"}, {Name: "VrrpReloaded"}, {Name: "VrrpStopped"}},
}

var instanceIface = &ifaceDef{
	Name:       InstanceInterface,
	Methods:    []method{{Name: "SendGarp"}},
	Signals:    []signal{{Name: "VrrpStatusChange", Args: []arg{{Name: "status", Type: "u"}}}},
	Properties: []property{{Name: "Name", Type: "s"}, {Name: "State", Type: "(us)"}},
}

func (d *ifaceDef) method(name string) *method {
	for i := range d.Methods {
		if d.Methods[i].Name == name {
			return &d.Methods[i]
		}
	}
	return nil
}

func (d *ifaceDef) property(name string) *property {
	for i := range d.Properties {
		if d.Properties[i].Name == name {
			return &d.Properties[i]
		}
	}
	return nil
}

func (m *method) inSignature() string {
	var b strings.Builder
	for _, a := range m.In {
		b.WriteString(a.Type)
	}
	return b.String()
}

// gdbusVersion is the GLib that Debian 12's keepalived runs on; GDBus puts
// it in a comment at the top of every introspection document.
const gdbusVersion = "2.74.6"

const introspectHeader = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
                      "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<!-- GDBus ` + gdbusVersion + ` -->
<node>
`

// The standard interfaces GDBus describes on every exported object.
const introspectStandard = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
`

// writeXML renders d as GDBus renders interface info it parsed from XML
// (g_dbus_interface_info_generate_xml): parsed elements always carry an
// (empty) annotation list, so each is written with an opening and a
// closing tag, never as <x/>.
func (d *ifaceDef) writeXML(b *strings.Builder) {
	fmt.Fprintf(b, "  <interface name=\"%s\">\n", d.Name)
	for _, m := range d.Methods {
		fmt.Fprintf(b, "    <method name=\"%s\">\n", m.Name)
		for _, a := range m.In {
			fmt.Fprintf(b, "      <arg type=\"%s\" name=\"%s\" direction=\"in\">\n      </arg>\n", a.Type, a.Name)
		}
		for _, a := range m.Out {
			fmt.Fprintf(b, "      <arg type=\"%s\" name=\"%s\" direction=\"out\">\n      </arg>\n", a.Type, a.Name)
		}
		b.WriteString("    </method>\n")
	}
	for _, s := range d.Signals {
		fmt.Fprintf(b, "    <signal name=\"%s\">\n", s.Name)
		for _, a := range s.Args {
			fmt.Fprintf(b, "      <arg type=\"%s\" name=\"%s\">\n      </arg>\n", a.Type, a.Name)
		}
		b.WriteString("    </signal>\n")
	}
	for _, p := range d.Properties {
		fmt.Fprintf(b, "    <property type=\"%s\" name=\"%s\" access=\"read\">\n    </property>\n", p.Type, p.Name)
	}
	b.WriteString("  </interface>\n")
}

// introspectXML is the document GDBus returns for a path: the standard
// interfaces and iface when an object is exported there (handle_introspect),
// only the children otherwise (handle_generic_introspect_unlocked).
func introspectXML(iface *ifaceDef, children []string) string {
	var b strings.Builder
	b.WriteString(introspectHeader)
	if iface != nil {
		b.WriteString(introspectStandard)
		iface.writeXML(&b)
	}
	for _, c := range children {
		fmt.Fprintf(&b, "  <node name=\"%s\"/>\n", c)
	}
	b.WriteString("</node>\n")
	return b.String()
}
