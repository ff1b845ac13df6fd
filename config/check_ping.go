package config

import "keepalived-go/parser"

// PING_CHECK: check/check_ping.c's configuration
// (install_ping_check_keyword: the common keywords only;
// ping_check_end_handler).

// PingCheck is the PING_CHECK block. It has no options of its own.
const PingCheck CheckerKind = "PING_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: PingCheck, order: 4,
		keywords: func(s *checkState) []*parser.Keyword { return s.commonKeywords(true) },
		start:    func(s *checkState, _ parser.Strvec) { s.queueChecker(PingCheck, true) },
		end:      (*checkState).connEnd, retry: 1, dbr: timerHz})
}
