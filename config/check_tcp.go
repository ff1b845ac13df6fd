package config

import "keepalived-go/parser"

// TCP_CHECK: check/check_tcp.c's configuration (install_tcp_check_keyword:
// the common keywords only; tcp_check_end_handler).

// TCPCheck is the TCP_CHECK block. It has no options of its own.
const TCPCheck CheckerKind = "TCP_CHECK"

func init() {
	registerCheckerKind(checkerKind{name: TCPCheck, order: 3,
		keywords: func(s *checkState) []*parser.Keyword { return s.commonKeywords(true) },
		start:    func(s *checkState, _ parser.Strvec) { s.queueChecker(TCPCheck, true) },
		end:      (*checkState).connEnd, retry: 1, dbr: timerHz})
}
