package parser

import (
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Severity mirrors keepalived's config_err_t, in the same order: keepalived keeps
// the numerically largest one it has seen and derives the --config-test exit code
// from it, so the order is part of the compatibility promise.
type Severity int

const (
	SevNone Severity = iota // informational: printed, never changes the exit code
	SevFileNotFound
	SevBadInterface
	SevFatal
	SevMultipleFiles
	SevUnknownKeyword
	SevUnexpectedBOB
	SevMissingBOB
	SevUnexpectedEOB
	SevMissingEOB
	SevUnmatchedQuote
	SevMissingParameter
	SevInvalidNumber
	SevGeneral
	SevWarning
	SevDeprecated
	SevSecurity
)

// Diagnostic is one finding about the configuration.
type Diagnostic struct {
	// Pos is where the finding is (the file as opened, its line); Line 0
	// means the finding has no single place (whole-config checks).
	Pos lexer.Position
	Sev Severity
	Msg string
	// KName and KLine are the place as keepalived prints it: "(KName: Line
	// KLine)" or, with no KName, "(Line KLine)"; KLine 0 prints no place.
	KName string
	KLine int
}

// Error satisfies participle's Error interface so positions stay readable by code.
func (d Diagnostic) Error() string {
	if d.Pos.Line == 0 {
		return d.Msg
	}
	return fmt.Sprintf("%s:%d: %s", d.Pos.Filename, d.Pos.Line, d.Msg)
}

// Message returns the text without position (participle.Error).
func (d Diagnostic) Message() string { return d.Msg }

// Position returns where the finding is (participle.Error).
func (d Diagnostic) Position() lexer.Position { return d.Pos }

// Keepalived renders a diagnostic the way keepalived 2.2.7 prints it,
// `(FILE: Line N) message`, so existing log alerts and scripts keep matching.
func (d Diagnostic) Keepalived() string {
	switch {
	case d.KLine == 0 && d.KName == "":
		return d.Msg
	case d.KName != "":
		return fmt.Sprintf("(%s: Line %d) %s", d.KName, d.KLine, d.Msg)
	}
	return fmt.Sprintf("(Line %d) %s", d.KLine, d.Msg)
}

// maxDiagnostics bounds what one load keeps: a broken generator can write a
// file of millions of bad lines, and every one of them would otherwise be
// held (and printed). The count of what was left out is kept.
const maxDiagnostics = 10000

// Diagnostics collects findings in the order they were made.
type Diagnostics struct {
	List []Diagnostic
	// Dropped counts findings beyond maxDiagnostics (their severity still
	// counts towards Worst).
	Dropped int
	worst   Severity
	// Abort is set when a handler ended the read as keepalived exits with
	// status 2 (a missing parameter).
	Abort bool
	// NoConfig is set when an include problem was an error: keepalived then
	// exits with KEEPALIVED_EXIT_NO_CONFIG (6) before running anything.
	NoConfig bool
	// Stopped is set when keepalived ends the run early with status 0
	// (its network namespace cannot be entered).
	Stopped bool
	// Sink, when set, receives every finding as it is made and List keeps
	// none: -t prints a file of millions of bad lines in constant memory.
	Sink func(Diagnostic)

	fatal, syntax bool
	layout        int
}

// LayoutCount counts the findings a flattened file gives (unknown keywords
// and misplaced braces).
func (ds *Diagnostics) LayoutCount() int { return ds.layout }

// Add records a finding at pos.
func (ds *Diagnostics) Add(pos lexer.Position, sev Severity, format string, args ...any) {
	ds.add(Diagnostic{Pos: pos, Sev: sev, Msg: fmt.Sprintf(format, args...)})
}

// Global records a finding with no place (keepalived's checks after a read).
func (ds *Diagnostics) Global(sev Severity, format string, args ...any) {
	ds.add(Diagnostic{Sev: sev, Msg: fmt.Sprintf(format, args...)})
}

func (ds *Diagnostics) add(d Diagnostic) {
	if d.Sev > ds.worst {
		ds.worst = d.Sev
	}
	switch d.Sev {
	case SevFileNotFound, SevBadInterface, SevFatal:
		ds.fatal = true
	case SevUnexpectedBOB, SevMissingBOB, SevUnexpectedEOB, SevMissingEOB, SevUnmatchedQuote:
		ds.syntax = true
	}
	switch d.Sev {
	case SevUnknownKeyword, SevUnexpectedBOB, SevMissingBOB, SevUnexpectedEOB, SevMissingEOB:
		ds.layout++
	}
	if ds.Sink != nil {
		ds.Sink(d)
		return
	}
	if len(ds.List) >= maxDiagnostics {
		ds.Dropped++
		return
	}
	ds.List = append(ds.List, d)
}

// report records a finding at the reader's current place.
func (ds *Diagnostics) report(r *Reader, sev Severity, format string, args ...any) {
	d := Diagnostic{Sev: sev, Msg: fmt.Sprintf(format, args...)}
	if r != nil {
		d.KName, d.KLine, _ = r.where()
		d.Pos.Filename, d.Pos.Line = r.realPos()
	}
	ds.add(d)
}

// Worst returns the severity keepalived would report: the largest seen.
func (ds *Diagnostics) Worst() Severity { return ds.worst }

// ExitCode maps the worst severity to keepalived 2.2.7's --config-test exit status.
func (ds *Diagnostics) ExitCode() int {
	if ds.Abort {
		return 2
	}
	if ds.NoConfig {
		return 6
	}
	if ds.Stopped {
		return 0
	}
	switch w := ds.Worst(); {
	case w == SevNone:
		return 0
	case w <= SevFatal:
		return 4
	case w == SevSecurity:
		return 6
	default:
		return 5
	}
}

// Fatal reports whether the configuration cannot be run at all.
func (ds *Diagnostics) Fatal() bool {
	return ds.Abort || ds.NoConfig || ds.Stopped || ds.fatal
}

// Syntax reports whether the file is malformed (braces or quotes): a reload
// must not replace a running configuration with what was read of it.
func (ds *Diagnostics) Syntax() bool { return ds.syntax }

func (ds *Diagnostics) String() string {
	var b strings.Builder
	for _, d := range ds.List {
		b.WriteString(d.Keepalived())
		b.WriteByte('\n')
	}
	if ds.Dropped > 0 {
		fmt.Fprintf(&b, "(%d more configuration findings not shown)\n", ds.Dropped)
	}
	return b.String()
}
