// Package check runs keepalived's health checkers for the real servers of
// a config.
//
// The timing core (Scheduler, and the per-checker machine in timing.go) is
// pure: it reproduces keepalived 2.2.7's delay_loop, warmup, retry,
// delay_before_retry and alpha rules, which differ from one checker kind to
// the next (see Policy), and takes the current time as an argument, so the
// tests replay exact timelines. Checkers are small types with one probe
// (Check, CheckStep for HTTP urls, CheckWeight for dynamic weights) whose
// only deadline is the ctx. The Engine is the I/O shell: it runs the probes,
// at most one in flight per checker, logs keepalived's texts, and reports
// real server changes as RealServerEvent values through a callback that
// never blocks the checks. It never touches IPVS or runs notify scripts.
package check
