package lvs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// VirtualService is a service with its destinations.
type VirtualService struct {
	Service Service
	Dests   map[DestKey]Destination
}

// Table is a set of virtual services: the desired state the configuration
// and health call for, or the state a Backend observed in the kernel.
type Table map[ServiceKey]VirtualService

// Add puts svc with dests into t, replacing any service with the same key,
// and returns t so tables can be built in one expression.
func (t Table) Add(svc Service, dests ...Destination) Table {
	vs := VirtualService{Service: svc, Dests: make(map[DestKey]Destination, len(dests))}
	for _, d := range dests {
		vs.Dests[d.DestKey] = d
	}
	t[svc.ServiceKey] = vs
	return t
}

// Keys returns the service keys of t in canonical order.
func (t Table) Keys() []ServiceKey {
	return slices.SortedFunc(maps.Keys(t), ServiceKey.Compare)
}

// SortedDests returns the destinations of vs in canonical order.
func (vs VirtualService) SortedDests() []Destination {
	keys := slices.SortedFunc(maps.Keys(vs.Dests), DestKey.Compare)
	out := make([]Destination, len(keys))
	for i, k := range keys {
		out[i] = vs.Dests[k]
	}
	return out
}

// Clone returns a deep copy of t.
func (t Table) Clone() Table {
	out := make(Table, len(t))
	for k, vs := range t {
		dests := maps.Clone(vs.Dests)
		if dests == nil {
			dests = map[DestKey]Destination{}
		}
		out[k] = VirtualService{Service: vs.Service, Dests: dests}
	}
	return out
}

// Only returns the services of t whose keys keep accepts.
func (t Table) Only(keep func(ServiceKey) bool) Table {
	out := make(Table)
	for k, vs := range t {
		if keep(k) {
			out[k] = vs
		}
	}
	return out
}

// String prints t in the layout of `ipvsadm -Ln` without its three header
// lines: one line per service, then one per destination with its method
// and weight (connection counters are not part of a Table). Output is
// sorted so it can be compared with golden files.
func (t Table) String() string {
	var b strings.Builder
	for _, k := range t.Keys() {
		vs := t[k]
		b.WriteString(describeService(vs.Service))
		b.WriteByte('\n')
		for _, d := range vs.SortedDests() {
			fmt.Fprintf(&b, "  -> %-28s %-7s %-6d\n", d.DestKey, d.Forward, d.Weight)
		}
	}
	return b.String()
}

// describeService prints the service line as ipvsadm -Ln does.
func describeService(s Service) string {
	var b strings.Builder
	if s.IsFWMark() {
		id := fmt.Sprint(s.FWMark)
		if s.Family == INET6 {
			id += " IPv6"
		}
		fmt.Fprintf(&b, "FWM  %s %s", id, s.Scheduler)
	} else {
		fmt.Fprintf(&b, "%-4s %s %s", s.Protocol, DestKey{s.Addr, s.Port}, s.Scheduler)
	}
	for _, f := range flagNames(s) {
		b.WriteString(" " + f)
	}
	if s.Persistent() {
		fmt.Fprintf(&b, " persistent %d", s.Timeout)
		if m := s.normal().Netmask; m.IsValid() {
			if m.Is6() {
				fmt.Fprintf(&b, " mask %d", m.Bits())
			} else {
				fmt.Fprintf(&b, " mask %s", m)
			}
		}
		if s.PEName != "" {
			b.WriteString(" pe " + s.PEName)
		}
	}
	if s.Flags&FlagOnePacket != 0 {
		b.WriteString(" ops")
	}
	return b.String()
}

// flagNames prints scheduler flags with the names ipvsadm uses for the
// schedulers that define them, flag-N otherwise.
func flagNames(s Service) []string {
	var names [3]string
	switch s.Scheduler {
	case "sh":
		names = [3]string{"sh-fallback", "sh-port", "flag-3"}
	case "mh":
		names = [3]string{"mh-fallback", "mh-port", "flag-3"}
	default:
		names = [3]string{"flag-1", "flag-2", "flag-3"}
	}
	var out []string
	for i, f := range []SvcFlags{FlagSched1, FlagSched2, FlagSched3} {
		if s.Flags&f != 0 {
			out = append(out, names[i])
		}
	}
	if len(out) == 0 {
		return nil
	}
	return []string{"(" + strings.Join(out, ",") + ")"}
}
