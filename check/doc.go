// Package check runs keepalived's health checkers for the real servers of
// a config.
//
// The timing core (Scheduler, and the per-checker machine in timing.go) is
// pure: it reproduces keepalived 2.2.7's delay_loop, warmup, retry,
// delay_before_retry and alpha rules, which differ from one checker kind to
// the next (see Policy), and takes the current time as an argument, so the
// tests replay exact timelines. Checkers are small types with one probe
// (Check, CheckStep for HTTP urls, CheckWeight for dynamic weights) whose
// only deadline is the ctx. Everything the engine knows of a checker kind
// is one row of the table in kinds.go (how its block becomes a Checker, its
// retry policy and attempt bound, the words of its log lines), keyed by
// config.CheckerKind as config's own table of the kind's keywords is.
//
// The Engine is the I/O shell, owned by one goroutine (Run, on an
// evloop.Loop): it runs the probes, at most one in flight per checker (plain
// HTTP_GET and TCP_CHECK on the loop's own sockets, others on goroutines of
// their own that post their results back), logs keepalived's texts, pauses
// the checkers of an ha_suspend virtual server (Suspend), answers Status,
// and reports real server changes as RealServerEvent values through an
// outbox that never blocks the checks. It never touches IPVS or runs notify
// scripts.
package check
