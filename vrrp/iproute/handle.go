package iproute

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/vrrp/netio"
)

// Handle sends route and rule requests to one network namespace's kernel
// (keepalived's nl_cmd socket).
type Handle struct {
	conn *netlink.Conn
}

// Open dials rtnetlink in the network namespace at nsPath ("" for the
// caller's).
func Open(nsPath string) (*Handle, error) {
	cfg := &netlink.Config{}
	if nsPath != "" {
		f, err := os.Open(nsPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, fmt.Errorf("iproute: dial rtnetlink: %w", err)
	}
	return &Handle{conn: c}, nil
}

// Close closes the socket.
func (h *Handle) Close() error { return h.conn.Close() }

// PID is the socket's netlink port id: the kernel's notifications of the
// changes this Handle makes carry it (Tracker.OwnPID).
func (h *Handle) PID() uint32 { return netio.PortID(h.conn) }

// talk is netlink_talk: the request with NLM_F_ACK, and the kernel's
// answer as an error (unix.Errno inside, errors.Is works).
func (h *Handle) talk(m Message) error {
	_, err := h.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(m.Type), Flags: netlink.HeaderFlags(m.Flags) | netlink.Acknowledge},
		Data:   m.Data,
	})
	return err
}

// Index is the interface's index now (0 if it does not exist), read over
// the same socket (RTM_GETLINK by IFLA_IFNAME).
func (h *Handle) Index(name string) uint32 {
	body := make([]byte, unix.SizeofIfInfomsg)
	body = appendAttr(body, unix.IFLA_IFNAME, append([]byte(name), 0))
	msgs, err := h.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   body,
	})
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK && len(m.Data) >= unix.SizeofIfInfomsg {
			return binary.NativeEndian.Uint32(m.Data[4:8])
		}
	}
	return 0
}

// Route sends netlink_route's request for r. A nil error is keepalived's
// success; an error is what the kernel answered.
func (h *Handle) Route(r *config.Route, cmd Cmd) error {
	if err := h.talk(RouteMessage(r, cmd, h.Index)); err != nil {
		return fmt.Errorf("iproute: %s route %s: %w", cmd, r, err)
	}
	return nil
}

// Rule sends netlink_rule's request for r.
func (h *Handle) Rule(r *config.Rule, cmd Cmd) error {
	if err := h.talk(RuleMessage(r, cmd)); err != nil {
		return fmt.Errorf("iproute: %s rule %s: %w", cmd, r, err)
	}
	return nil
}

// RouteState is a route with what keepalived keeps of it at run time
// (ip_route_t's set and configured_ifindex).
type RouteState struct {
	Route *config.Route
	// Set is whether keepalived believes the route is installed.
	Set bool
	// ConfiguredIfindex is the interface the kernel reported the route on
	// when it was added (RTA_OIF of its RTM_NEWROUTE).
	ConfiguredIfindex uint32
}

// RuleState is a rule with ip_rule_t's set.
type RuleState struct {
	Rule *config.Rule
	Set  bool
}

// NewRouteStates wraps a list of routes.
func NewRouteStates(rs []config.Route) []*RouteState {
	out := make([]*RouteState, len(rs))
	for i := range rs {
		out[i] = &RouteState{Route: &rs[i]}
	}
	return out
}

// NewRuleStates wraps a list of rules.
func NewRuleStates(rs []config.Rule) []*RuleState {
	out := make([]*RuleState, len(rs))
	for i := range rs {
		out[i] = &RuleState{Rule: &rs[i]}
	}
	return out
}

// RouteList is netlink_rtlist: adds the routes not set (Add) or deletes
// those set (Del); force sends every one. It returns the kernel's refusals
// (keepalived logs them); false when the list is empty.
func (h *Handle) RouteList(l []*RouteState, cmd Cmd, force bool) (bool, []error) {
	if len(l) == 0 {
		return false, nil
	}
	var errs []error
	for _, st := range l {
		if (cmd == Del) != st.Set && !force {
			continue
		}
		// A failed delete leaves the route unset (for an expiring route
		// keepalived counts it as deleted: the same).
		err := h.Route(st.Route, cmd)
		switch {
		case err == nil:
			st.Set = cmd == Add
		case cmd != Add:
			st.Set = false
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return true, errs
}

// RuleList is netlink_rulelist.
func (h *Handle) RuleList(l []*RuleState, cmd Cmd, force bool) []error {
	var errs []error
	for _, st := range l {
		if !force && !(cmd == Add && !st.Set) && !(cmd == Del && st.Set) {
			continue
		}
		err := h.Rule(st.Rule, cmd)
		st.Set = err == nil && cmd == Add
		if err != nil && !(force && cmd == Del && errors.Is(err, unix.ENOENT)) {
			errs = append(errs, err)
		}
	}
	return errs
}

// ReplaceRoutes is clear_diff_routes on a reload: routes of old that are
// set and gone from new are deleted; those still there are replaced by
// their new version (when the replacement fails they are deleted and the
// new one left to be added later).
func (h *Handle) ReplaceRoutes(old, new []*RouteState) []error {
	var errs []error
	if len(old) == 0 {
		return nil
	}
	if len(new) == 0 {
		_, errs = h.RouteList(old, Del, false)
		return errs
	}
	for _, o := range old {
		if !o.Set {
			continue
		}
		n := routeExist(new, o)
		if n == nil {
			if err := h.Route(o.Route, Del); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if err := h.Route(n.Route, Replace); err != nil {
			if !errors.Is(err, unix.EINVAL) {
				errs = append(errs, err)
			}
			if err := h.Route(o.Route, Del); err != nil {
				errs = append(errs, err)
			}
			n.Set = false
		}
	}
	return errs
}

// ReplaceRules is clear_diff_rules: rules of old that are set and not in
// new are deleted.
func (h *Handle) ReplaceRules(old, new []*RuleState) []error {
	if len(old) == 0 {
		return nil
	}
	if len(new) == 0 {
		return h.RuleList(old, Del, false)
	}
	var errs []error
	for _, o := range old {
		if ruleExist(new, o) || !o.Set {
			continue
		}
		if err := h.Rule(o.Rule, Del); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// RoutePresent reports whether the kernel holds r now, recognised as
// route_is_ours recognises an instance's route (table, family, prefix,
// metric, tos, interface, destination) with the protocol it was added with.
func (h *Handle) RoutePresent(st *RouteState) (bool, error) {
	body := make([]byte, unix.SizeofRtMsg)
	body[0] = uint8(st.Route.Family)
	msgs, err := h.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request | netlink.Dump},
		Data:   body,
	})
	if err != nil {
		return false, fmt.Errorf("iproute: dump routes: %w", err)
	}
	proto := config.RTProtKeepalived
	if st.Route.Has&config.RouteProtocol != 0 {
		proto = st.Route.Protocol
	}
	t := &Tracker{Instances: []*InstanceRoutes{{Routes: []*RouteState{st}}}, Index: h.Index}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg || m.Data[5] != proto {
			continue
		}
		if _, got := t.routeIsOurs(m.Data, attrs(m.Data, unix.SizeofRtMsg)); got != nil {
			return true, nil
		}
	}
	return false, nil
}

// RulePresent reports whether the kernel holds r now (compare_rule).
func (h *Handle) RulePresent(r *config.Rule) (bool, error) {
	body := make([]byte, 12)
	body[0] = uint8(r.Family)
	msgs, err := h.conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETRULE, Flags: netlink.Request | netlink.Dump},
		Data:   body,
	})
	if err != nil {
		return false, fmt.Errorf("iproute: dump rules: %w", err)
	}
	tracked := *r
	tracked.NoTrack = false
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWRULE && len(m.Data) >= 12 && CompareRule(m.Data, attrs(m.Data, 12), &tracked) {
			return true, nil
		}
	}
	return false, nil
}
