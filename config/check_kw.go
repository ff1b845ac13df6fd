package config

import "keepalived-go/parser"

// checkState is the checker process's read (check/check_parser.c and the
// checkers' parsers) and its validation (check_data.c: validate_check_config).
type checkState struct {
	l *loader
}

func newCheckState(l *loader) *checkState { return &checkState{l: l} }

// checkKeywords is init_check_keywords.
func (l *loader) checkKeywords(active bool) []*parser.Keyword {
	var kws []*parser.Keyword
	for _, n := range []string{"SSL", "virtual_server_group", "virtual_server"} {
		kws = append(kws, &parser.Keyword{Name: n, Inactive: !active})
	}
	return kws
}

// validate is start_check after the read: link_vsg_to_vs, then
// validate_check_config.
func (s *checkState) validate() {}
