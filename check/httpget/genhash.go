package httpget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// GenhashMain is the genhash(1) command: argv is the whole command line,
// argv[0] the program name as invoked (it appears in the usage text). It
// returns the exit status: 1 for usage errors, 0 otherwise, even when the
// server could not be reached (keepalived 2.2.7 does the same). Canceling
// ctx (SIGINT/SIGTERM) ends the request early, still with status 0.
func GenhashMain(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	return genhash(ctx, argv, 1, true, stdout, stderr)
}

// KeepalivedGenhashMain is `keepalived -T/--genhash`: argv is keepalived's
// whole command line and optind the index of the first argument after
// -T. The usage text then reads "Usage: <argv[0]> --genhash ...".
func KeepalivedGenhashMain(ctx context.Context, argv []string, optind int, stdout, stderr io.Writer) int {
	return genhash(ctx, argv, optind, false, stdout, stderr)
}

// genhashOptions is the parsed command line.
type genhashOptions struct {
	target  Target
	verbose bool
	sni     bool
	vhost   *string
}

func genhashFlags(prog string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolP("help", "h", false, "Display this short inlined help screen.")
	fs.BoolP("verbose", "v", false, "Use verbose mode output.")
	fs.BoolP("use-ssl", "S", false, "Use SSL connection to remote server.")
	fs.BoolP("use-sni", "I", false, "Use SNI during SSL handshake (uses virtualhost setting; see -V).")
	fs.StringP("server", "s", "", "Use the specified remote server address.")
	fs.StringP("use-virtualhost", "V", "", "Use the specified virtualhost in GET query.")
	fs.StringP("port", "p", "", "Use the specified remote server port.")
	fs.StringP("url", "u", "", "Use the specified remote server url.")
	fs.StringP("fwmark", "m", "", "Use the specified FW mark.")
	fs.StringP("protocol", "P", "", "Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.")
	fs.StringP("timeout", "t", "", "Timeout in seconds")
	return fs
}

func genhashUsage(w io.Writer, prog string, amGenhash bool) {
	sub := " --genhash"
	if amGenhash {
		sub = ""
	}
	fmt.Fprintf(w, "Usage: %s%s COMMAND [OPTIONS]\n"+
		"Commands:\n"+
		"   -s server-address -p port -u url\n"+
		"   -S -s server-address -p port -u url\n"+
		"   -h\n\n", prog, sub)
	io.WriteString(w, "Options:\n"+
		"Either long or short options are allowed.\n"+
		"   --use-ssl         -S       Use SSL connection to remote server.\n"+
		"   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).\n"+
		"   --server          -s       Use the specified remote server address.\n"+
		"   --port            -p       Use the specified remote server port.\n"+
		"   --url             -u       Use the specified remote server url.\n"+
		"   --use-virtualhost -V       Use the specified virtualhost in GET query.\n"+
		"   --verbose         -v       Use verbose mode output.\n"+
		"   --help            -h       Display this short inlined help screen.\n"+
		"   --fwmark          -m       Use the specified FW mark.\n"+
		"   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.\n"+
		"                                1.0c means 1.0 with 'Connection: close'\n"+
		"   --timeout         -t       Timeout in seconds\n")
}

// defaultGenhashTimeout is keepalived's UINT_MAX microseconds: genhash
// without -t effectively waits ~71 minutes per phase.
const defaultGenhashTimeout = time.Duration(math.MaxUint32) * time.Microsecond

// parseGenhashArgs follows check_genhash_parse_cmdline. Every diagnostic
// goes to stderr; ok is false when the usage text must follow.
// unsignedArg is keepalived's strtoul reading of a numeric option: leading
// blanks skipped, the whole rest a number, no '-' (a "-0x..." wraps as in
// C); empty is accepted only when allowEmpty.
func unsignedArg(arg string, allowEmpty bool) (uint64, bool) {
	start := strings.TrimLeft(arg, " \t")
	v, end, neg := strtoul([]byte(start))
	if end != len(start) || (start == "" && !allowEmpty) || strings.HasPrefix(start, "-") {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// getoptError prints keepalived's line for an unknown option or one
// missing its parameter.
func getoptError(stderr io.Writer, g *getopt, c int, arg string) {
	short := g.optopt != 0 && argByte(arg, 1) != '-'
	switch {
	case c == getoptUnknown && short:
		fmt.Fprintf(stderr, "Unknown option -%c\n", g.optopt)
	case c == getoptUnknown:
		fmt.Fprintf(stderr, "Unknown option %s\n", arg)
	case short:
		fmt.Fprintf(stderr, "Missing parameter for option -%c\n", g.optopt)
	default:
		// keepalived reads long_options[-1] here (undefined behaviour);
		// print the option's name instead.
		fmt.Fprintf(stderr, "Missing parameter for option --%s\n", g.flag.Name)
	}
}

func parseGenhashArgs(argv []string, optind int, stderr io.Writer) (o genhashOptions, ok bool) {
	// keepalived's trivial sanity check counts the whole command line.
	if len(argv) <= 2 {
		return o, false
	}
	prog := ""
	if len(argv) > 0 {
		prog = argv[0]
	}
	fs := genhashFlags(prog)
	g := newGetopt(argv, optind, fs)
	o.target.Timeout = defaultGenhashTimeout
	var haveServer, havePort, haveURL, bad bool
	var addr netip.Addr
	var port uint16
	for {
		curind := g.optind
		c := g.next()
		if c == getoptEnd {
			break
		}
		if g.flag != nil && c != getoptUnknown && c != getoptMissing {
			// Record the value on the FlagSet too (Changed, Lookup).
			if takesArg(g.flag) {
				_ = fs.Set(g.flag.Name, g.optarg)
			} else {
				_ = fs.Set(g.flag.Name, "true")
			}
		}
		switch c {
		case 'h':
			bad = true
		case 'v':
			o.verbose = true
		case 'S':
			o.target.TLS = true
		case 'I':
			o.sni = true
		case 's':
			a, err := parseServerAddr(g.optarg)
			if err != nil {
				fmt.Fprintf(stderr, "server should be an IP, not %s\n", g.optarg)
				return o, false
			}
			addr, haveServer = a, true
		case 'V':
			v := g.optarg
			o.vhost = &v
		case 'p':
			v, end, neg := strtoul([]byte(g.optarg))
			if end != len(g.optarg) || neg || v == 0 || v > 65535 {
				fmt.Fprintf(stderr, "invalid port number '%s'\n", g.optarg)
				return o, false
			}
			port, havePort = uint16(v), true
		case 'u':
			o.target.Path, haveURL = g.optarg, true
		case 'm':
			v, ok := unsignedArg(g.optarg, true)
			if !ok {
				fmt.Fprintf(stderr, "invalid fwmark '%s'\n", g.optarg)
				return o, false
			}
			o.target.FWMark = uint32(v)
		case 'P':
			p, err := ParseProtocol(g.optarg)
			if err != nil {
				fmt.Fprintf(stderr, "invalid HTTP protocol version '%s'\n", g.optarg)
				return o, false
			}
			o.target.Protocol = p
		case 't':
			v, ok := unsignedArg(g.optarg, false)
			if !ok {
				fmt.Fprintf(stderr, "invalid timeout '%s'\n", g.optarg)
				return o, false
			}
			// (unsigned)strtoul(...) * TIMER_HZ in 32-bit arithmetic.
			usec := uint32(v) * 1000000
			o.target.Timeout = time.Duration(usec) * time.Microsecond
			if o.target.Timeout == 0 {
				// 0 means "expire at once" in keepalived, not "never".
				o.target.Timeout = time.Nanosecond
			}
		case getoptUnknown, getoptMissing:
			getoptError(stderr, g, c, argv[curind])
			bad = true
		}
	}
	if bad {
		return o, false
	}
	if g.optind < len(argv) {
		fmt.Fprintf(stderr, "Unexpected argument(s): %s\n", strings.Join(argv[g.optind:], " "))
		return o, false
	}
	if !haveServer || !havePort || !haveURL {
		return o, false
	}
	o.target.Addr = netip.AddrPortFrom(addr, port)
	if o.vhost != nil {
		o.target.VirtualHost = *o.vhost
		o.target.emptyVHost = *o.vhost == ""
		if o.sni {
			o.target.ServerName = *o.vhost
		}
	}
	return o, true
}

func argByte(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// parseServerAddr is inet_stosockaddr without a port: IPv6 if the text has
// a colon, a trailing range ("-…") or prefix ("/…") is dropped, and the
// rest must be a plain address (no zone).
func parseServerAddr(s string) (netip.Addr, error) {
	v6 := strings.Contains(s, ":")
	if i := strings.IndexByte(s, '-'); i >= 0 {
		s = s[:i]
	} else if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Is6() != v6 || a.Zone() != "" {
		return netip.Addr{}, errors.New("not an address of the expected family")
	}
	return a, nil
}

func genhash(ctx context.Context, argv []string, optind int, amGenhash bool, stdout, stderr io.Writer) int {
	prog := "genhash"
	if len(argv) > 0 {
		prog = argv[0]
	}
	o, ok := parseGenhashArgs(argv, optind, stderr)
	if !ok {
		genhashUsage(stderr, prog, amGenhash)
		return 1
	}
	start := time.Now()
	var opts []Option
	if o.verbose {
		opts = append(opts, WithTrace(stdout))
	}
	res, err := Fetch(ctx, o.target, opts...)
	var e *Error
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "%s\n", res.Digest)
	case errors.Is(err, ErrCanceled):
		// SIGINT/SIGTERM: keepalived just stops the scheduler.
	case errors.As(err, &e) && errors.Is(err, ErrNoData) && e.Msg != "SSL read error from":
		fmt.Fprintf(stderr, "no data received from remote webserver\n")
	case errors.As(err, &e):
		fmt.Fprintf(stdout, "%s\n", e.Msg)
	default:
		fmt.Fprintf(stdout, "%s\n", err)
	}
	if o.verbose {
		fmt.Fprintf(stdout, "\nGlobal response time for [%s] = %d usecs\n", o.target.Path, time.Since(start).Microseconds())
	}
	return 0
}
