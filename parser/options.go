package parser

import (
	"os"
	"strings"
)

// Options are the command-line settings that change how a file is read.
type Options struct {
	// ConfigID selects @id / @^id lines (-i) and is $_INSTANCE; keepalived
	// defaults it to the node name up to its first '.'.
	ConfigID string
	// AllConfig makes every include problem an error (-e / --all-config).
	AllConfig bool
	// Dir is the working directory relative file names start from (default:
	// the process's).
	Dir string
	// Random replaces ${_RANDOM} (tests).
	Random func(lo, hi int64) int64
	// MaxOpenedFiles bounds the configuration files one read opens (0: the
	// default, 20,000); further opens fail as at keepalived's descriptor
	// limit. The fuzzer sets it low to keep each input fast.
	MaxOpenedFiles int
}

// DefaultConfigID is keepalived's default config id: the node name up to the
// first '.'.
func DefaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	if i := strings.IndexByte(h, '.'); i >= 0 {
		h = h[:i]
	}
	return h
}
