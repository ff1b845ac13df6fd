package check

import (
	"fmt"
	"testing"

	"keepalived-go/config"
)

// global_defs checker_log_all_failures makes every checker log each
// failed attempt, as its own log_all_failures does (keepalived's checkers
// test global_data->checker_log_all_failures || checker->log_all_failures,
// e.g. check_tcp.c tcp_epilog). Without either, the retry that fails is
// not logged, only the verdict.
func TestCheckerLogAllFailuresGlobal(t *testing.T) {
	for _, tc := range []struct {
		name           string
		global, own    bool
		wantAttemptLog bool
	}{
		{"neither", false, false, false},
		{"global", true, false, true},
		{"checker", false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModal(t)
			m.closeEach()
			ck := fastChecker(config.TCPCheck)
			ck.LogAllFailures = tc.own
			cfg := oneServer(m.addrPort(), "TCP", ck)
			cfg.Global.CheckerLogAllFailures = tc.global
			h := start(t, cfg)
			h.checked()
			m.set("refused")
			h.want(false, "refused")
			rs := fmt.Sprintf("[127.0.0.1]:tcp:%d", m.addrPort().Port())
			if !h.hasLog("TCP_CHECK on service " + rs + " failed after 1 retries.") {
				t.Fatalf("no verdict line; log:\n%s", h.logText())
			}
			if got := h.hasLog("TCP connection to " + rs + " failed."); got != tc.wantAttemptLog {
				t.Fatalf("attempt failure logged = %v, want %v; log:\n%s", got, tc.wantAttemptLog, h.logText())
			}
		})
	}
}
