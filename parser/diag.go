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

// Diagnostic is one positioned finding about the configuration.
type Diagnostic struct {
	Pos lexer.Position // Line 0 means the finding has no single place (whole-config checks)
	Sev Severity
	Msg string
	// NoFile renders as keepalived does for global_defs: "(Line N)" only.
	NoFile bool
}

// Error satisfies participle's Error interface so positions stay readable by code.
func (d Diagnostic) Error() string {
	if d.Pos.Line == 0 {
		return d.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.Pos.Filename, d.Pos.Line, d.Pos.Column, d.Msg)
}

// Message returns the text without position (participle.Error).
func (d Diagnostic) Message() string { return d.Msg }

// Position returns where the finding is (participle.Error).
func (d Diagnostic) Position() lexer.Position { return d.Pos }

// Keepalived renders a diagnostic the way keepalived 2.2.7 prints it with -t,
// `(FILE: Line N) message`, so existing log alerts and scripts keep matching.
func (d Diagnostic) Keepalived() string {
	if d.Pos.Line == 0 {
		return d.Msg
	}
	if d.NoFile {
		return fmt.Sprintf("(Line %d) %s", d.Pos.Line, d.Msg)
	}
	return fmt.Sprintf("(%s: Line %d) %s", d.Pos.Filename, d.Pos.Line, d.Msg)
}

// Diagnostics collects findings in the order they were made.
type Diagnostics struct {
	List []Diagnostic
}

func (ds *Diagnostics) Add(pos lexer.Position, sev Severity, format string, args ...any) {
	ds.List = append(ds.List, Diagnostic{Pos: pos, Sev: sev, Msg: fmt.Sprintf(format, args...)})
}

// Worst returns the severity keepalived would report: the largest seen.
func (ds *Diagnostics) Worst() Severity {
	w := SevNone
	for _, d := range ds.List {
		if d.Sev > w {
			w = d.Sev
		}
	}
	return w
}

// ExitCode maps the worst severity to keepalived 2.2.7's --config-test exit status.
func (ds *Diagnostics) ExitCode() int {
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
	for _, d := range ds.List {
		if d.Sev >= SevFileNotFound && d.Sev <= SevFatal {
			return true
		}
	}
	return false
}

// Syntax reports whether the file is malformed (braces or quotes): a reload
// must not replace a running configuration with what was read of it.
func (ds *Diagnostics) Syntax() bool {
	for _, d := range ds.List {
		switch d.Sev {
		case SevUnexpectedBOB, SevMissingBOB, SevUnexpectedEOB, SevMissingEOB, SevUnmatchedQuote:
			return true
		}
	}
	return false
}

func (ds *Diagnostics) String() string {
	var b strings.Builder
	for _, d := range ds.List {
		b.WriteString(d.Keepalived())
		b.WriteByte('\n')
	}
	return b.String()
}
