package check

import (
	"errors"
	"time"

	"keepalived-go/config"
)

// CheckStat is one finished attempt, for the metrics hook. Labels are
// fixed and low-cardinality: the checker kind and the result class; the
// real server is given for logs, not meant as a metric label.
type CheckStat struct {
	Kind     config.CheckerKind
	Result   string // one of the Result* constants
	Duration time.Duration
	VS, RS   string
}

// Result classes of CheckStat.
const (
	ResultOK      = "ok"
	ResultTimeout = "timeout"
	ResultConnect = "connect"
	ResultReply   = "reply"
	ResultSocket  = "socket"
	ResultOther   = "other"
)

// MetricNames are the Prometheus names the daemon is expected to use for
// CheckStat, kept here so their spelling is linted with the package.
var MetricNames = struct {
	Checks, Latency string
}{
	Checks:  "keepalived_check_attempts_total",   // labels: kind, result
	Latency: "keepalived_check_duration_seconds", // labels: kind
}

func resultClass(err error) string {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, ErrSocket):
		return ResultSocket
	case errors.Is(err, ErrTimeout), isHTTPKind(err, "timeout"):
		return ResultTimeout
	case errors.Is(err, ErrConnect), isHTTPKind(err, "connect"):
		return ResultConnect
	case errors.Is(err, ErrReply), errors.Is(err, ErrScript), errors.Is(err, ErrFault), isHTTPKind(err, "reply"):
		return ResultReply
	}
	return ResultOther
}
