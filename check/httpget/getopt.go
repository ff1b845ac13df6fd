package httpget

import (
	"strings"

	"github.com/spf13/pflag"
)

// getopt walks argv the way glibc's getopt_long does with an optstring
// that starts with ':' (no messages of its own, ':' for a missing
// argument): clustered short options, attached or separate arguments,
// unambiguous abbreviations of long options, and permutation of
// non-options to the end. genhash's error messages print argv[curind]
// after permutation, so the permutation itself must match.
//
// pflag cannot do this alone: it stops at the first error (genhash reports
// every bad option) and has no abbreviations. The options are still
// declared on a pflag.FlagSet, which supplies names, shorthands and
// whether a flag takes a value, and receives the parsed values.
type getopt struct {
	argv     []string
	fs       *pflag.FlagSet
	optind   int
	nextchar string

	firstNonopt, lastNonopt int

	optarg string
	optopt byte
	flag   *pflag.Flag // flag of the option just returned
}

const (
	getoptEnd     = -1
	getoptUnknown = '?'
	getoptMissing = ':'
)

func newGetopt(argv []string, optind int, fs *pflag.FlagSet) *getopt {
	return &getopt{argv: argv, fs: fs, optind: optind, firstNonopt: optind, lastNonopt: optind}
}

func isNonOption(s string) bool { return len(s) < 2 || s[0] != '-' }

func takesArg(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

// exchange moves the skipped non-options [firstNonopt, lastNonopt) after
// the options [lastNonopt, optind) that followed them.
func (g *getopt) exchange() {
	block := append([]string(nil), g.argv[g.firstNonopt:g.lastNonopt]...)
	opts := g.argv[g.lastNonopt:g.optind]
	copy(g.argv[g.firstNonopt:], opts)
	copy(g.argv[g.firstNonopt+len(opts):], block)
	g.firstNonopt += g.optind - g.lastNonopt
	g.lastNonopt = g.optind
}

// next returns the next option's shorthand byte, getoptUnknown,
// getoptMissing or getoptEnd.
func (g *getopt) next() int {
	g.optarg, g.flag = "", nil
	argc := len(g.argv)
	if g.nextchar == "" {
		g.lastNonopt = min(g.lastNonopt, g.optind)
		g.firstNonopt = min(g.firstNonopt, g.optind)
		if g.firstNonopt != g.lastNonopt && g.lastNonopt != g.optind {
			g.exchange()
		} else if g.lastNonopt != g.optind {
			g.firstNonopt = g.optind
		}
		for g.optind < argc && isNonOption(g.argv[g.optind]) {
			g.optind++
		}
		g.lastNonopt = g.optind
		if g.optind != argc && g.argv[g.optind] == "--" {
			g.optind++
			if g.firstNonopt != g.lastNonopt && g.lastNonopt != g.optind {
				g.exchange()
			} else if g.firstNonopt == g.lastNonopt {
				g.firstNonopt = g.optind
			}
			g.lastNonopt = argc
			g.optind = argc
		}
		if g.optind == argc {
			if g.firstNonopt != g.lastNonopt {
				g.optind = g.firstNonopt
			}
			return getoptEnd
		}
		if arg := g.argv[g.optind]; arg[1] == '-' {
			return g.long(arg[2:])
		}
		g.nextchar = g.argv[g.optind][1:]
	}

	c := g.nextchar[0]
	g.nextchar = g.nextchar[1:]
	if g.nextchar == "" {
		g.optind++
	}
	f := g.fs.ShorthandLookup(string(c))
	if f == nil {
		g.optopt = c
		return getoptUnknown
	}
	g.flag = f
	if takesArg(f) {
		switch {
		case g.nextchar != "":
			g.optarg = g.nextchar
			g.optind++
		case g.optind == argc:
			g.optopt = c
			g.nextchar = ""
			return getoptMissing
		default:
			g.optarg = g.argv[g.optind]
			g.optind++
		}
		g.nextchar = ""
	}
	return int(c)
}

func (g *getopt) long(arg string) int {
	name, value, hasValue := strings.Cut(arg, "=")
	var found *pflag.Flag
	ambiguous := false
	g.fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == name {
			found, ambiguous = f, false
		}
	})
	if found == nil {
		g.fs.VisitAll(func(f *pflag.Flag) {
			if strings.HasPrefix(f.Name, name) {
				if found == nil {
					found = f
				} else {
					ambiguous = true
				}
			}
		})
	}
	g.optind++
	if found == nil || ambiguous {
		g.optopt = 0
		return getoptUnknown
	}
	c := found.Shorthand[0]
	g.flag = found
	switch {
	case hasValue && takesArg(found):
		g.optarg = value
	case hasValue:
		g.optopt = c
		return getoptUnknown
	case takesArg(found):
		if g.optind >= len(g.argv) {
			g.optopt = c
			return getoptMissing
		}
		g.optarg = g.argv[g.optind]
		g.optind++
	}
	return int(c)
}
