package config

import (
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"time"
)

// Dump writes the model in a stable, readable form (keepalived -d): every
// field that differs from its zero value, defaults included, positions left
// out so that dumps compare across file layouts.
func (c *Config) Dump(w io.Writer) {
	d := dumper{w: w}
	d.value("", reflect.ValueOf(*c), 0)
}

type dumper struct{ w io.Writer }

var (
	durationType = reflect.TypeOf(time.Duration(0))
	addrType     = reflect.TypeOf(netip.Addr{})
	prefixType   = reflect.TypeOf(netip.Prefix{})
	posType      = reflect.TypeOf(Pos{})
)

func (d dumper) line(indent int, name, val string) {
	fmt.Fprintf(d.w, "%s%s: %s\n", strings.Repeat("  ", indent), name, val)
}

func scalar(v reflect.Value) (string, bool) {
	switch v.Type() {
	case durationType:
		return fmtSeconds(time.Duration(v.Int())) + "s", true
	case addrType:
		return v.Interface().(netip.Addr).String(), true
	case prefixType:
		return v.Interface().(netip.Prefix).String(), true
	}
	switch v.Kind() {
	case reflect.String:
		return fmt.Sprintf("%q", v.String()), true
	case reflect.Bool:
		return fmt.Sprint(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprint(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprint(v.Uint()), true
	}
	return "", false
}

func (d dumper) value(name string, v reflect.Value, indent int) {
	if v.Kind() == reflect.Interface {
		// Checker.Options: dumped under its type's name less "Options"
		// (HTTPOptions: HTTP), as when the model had one field per kind.
		if v.IsNil() {
			return
		}
		v = v.Elem()
		name = strings.TrimSuffix(reflect.Indirect(v).Type().Name(), "Options")
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type() == posType || v.IsZero() {
		return
	}
	if s, ok := scalar(v); ok {
		d.line(indent, name, s)
		return
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			d.line(indent, name, fmt.Sprintf("%x", v.Bytes()))
			return
		}
		if s, ok := scalarList(v); ok {
			d.line(indent, name, s)
			return
		}
		for i := 0; i < v.Len(); i++ {
			d.line(indent, name, "")
			d.value("", v.Index(i), indent+1)
		}
	case reflect.Struct:
		if name != "" {
			d.line(indent, name, "")
			indent++
		}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("dump") != "-" {
				d.value(t.Field(i).Name, v.Field(i), indent)
			}
		}
	}
}

func scalarList(v reflect.Value) (string, bool) {
	var parts []string
	for i := 0; i < v.Len(); i++ {
		s, ok := scalar(v.Index(i))
		if !ok {
			return "", false
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]", true
}
