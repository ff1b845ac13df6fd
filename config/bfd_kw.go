package config

import "keepalived-go/parser"

// bfdState is the BFD process's read (bfd/bfd_parser.c).
type bfdState struct {
	l *loader
}

func newBFDState(l *loader) *bfdState { return &bfdState{l: l} }

// bfdFor says which process reads bfd_instance: keepalived installs a
// different handler for each (bfd_handler, bfd_vrrp_handler,
// bfd_checker_handler).
type bfdFor int

const (
	bfdForParent bfdFor = iota
	bfdForChecker
	bfdForVRRP
	bfdForBFD
)

// bfdKeywords is init_bfd_keywords.
func (l *loader) bfdKeywords(active bool, who bfdFor) []*parser.Keyword {
	if active && who == bfdForChecker {
		return l.check.bfdCheckerKeywords()
	}
	return []*parser.Keyword{{Name: "bfd_instance", Inactive: !active}}
}

// complete is start_bfd after the read.
func (s *bfdState) complete() {}
