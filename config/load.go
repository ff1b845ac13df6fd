package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"keepalived-go/parser"
)

// Options adjust loading to the machine it runs on and to how keepalived was
// started.
type Options struct {
	Parser parser.Options
	// Hostname is used for keepalived's hostname-derived defaults (router_id,
	// notification_email_from, smtp_helo_name); empty means os.Hostname.
	Hostname string
	// ConfigTest is keepalived's -t: a few messages and value rules differ
	// (numbers with trailing junk are rejected instead of used with a
	// "WARNING - " prefix).
	ConfigTest bool
	// Interfaces, when set, lists the machine's interfaces (keepalived reads
	// them over netlink before validating); nil skips the interface checks
	// (tests, foreign hosts).
	Interfaces InterfaceLister
	// LookupUser and LookupGroup replace the system's user database (tests).
	LookupUser  func(name string) (uid, gid int, ok bool)
	LookupGroup func(name string) (gid int, ok bool)
	// SNMP is -x: every SNMP subtree enabled from the start.
	SNMP bool
	// Namespace is -s: it overrides net_namespace.
	Namespace string
	// EnterNamespace is called with the network namespace the configuration
	// runs in (net_namespace or -s), as keepalived enters it before
	// validating: it returns that namespace's interfaces, or an error when
	// it cannot be entered (keepalived then stops, with status 0 even
	// under -t). nil: the namespace is taken to exist, with Interfaces.
	EnterNamespace func(name string) (InterfaceLister, error)
	// SNMPSocket is -A.
	SNMPSocket string
	// Sink, when set, receives the findings as they are made instead of the
	// returned Diagnostics keeping them (-t on a huge file).
	Sink func(parser.Diagnostic)
}

// InterfaceLister answers what keepalived asks the kernel about interfaces
// (it reads them all over netlink before validating a configuration).
type InterfaceLister interface {
	Interface(name string) (Interface, bool)
}

// Interface is what keepalived knows of an interface when it validates.
type Interface struct {
	Name     string
	Index    int
	MTU      int
	Loopback bool
	Up       bool
	// Multicast is IFF_MULTICAST.
	Multicast bool
	HWAddr    []byte
	Addrs     []netip.Prefix
	// Kind is the rtnetlink link kind ("" for a plain device, "macvlan",
	// "vlan", "bridge", "vrf", ...), when known.
	Kind string
	// VRFTable is a VRF's routing table (IFLA_VRF_TABLE).
	VRFTable uint32
}

// InterfaceSet is an InterfaceLister over a fixed set.
type InterfaceSet map[string]Interface

// Interface looks name up.
func (s InterfaceSet) Interface(name string) (Interface, bool) {
	i, ok := s[name]
	return i, ok
}

// Names makes an InterfaceSet of plain up interfaces (tests).
func Names(names ...string) InterfaceSet {
	s := InterfaceSet{}
	for i, n := range names {
		s[n] = Interface{Name: n, Index: i + 2, MTU: 1500, Up: true, Loopback: n == "lo", Multicast: n != "lo"}
	}
	return s
}

// SystemInterfaces reads the machine's interfaces (net.Interfaces).
func SystemInterfaces() InterfaceSet {
	s := InterfaceSet{}
	ifs, err := net.Interfaces()
	if err != nil {
		return s
	}
	kinds := linkKinds()
	for _, i := range ifs {
		it := Interface{Name: i.Name, Index: i.Index, MTU: i.MTU, HWAddr: i.HardwareAddr,
			Loopback: i.Flags&net.FlagLoopback != 0, Up: i.Flags&net.FlagUp != 0,
			Multicast: i.Flags&net.FlagMulticast != 0,
			Kind:      kinds[i.Index].kind, VRFTable: kinds[i.Index].vrfTable}
		if addrs, err := i.Addrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						ones, _ := n.Mask.Size()
						it.Addrs = append(it.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
					}
				}
			}
		}
		s[i.Name] = it
	}
	return s
}

// linkKind is what rtnetlink tells of a link's type.
type linkKind struct {
	kind     string
	vrfTable uint32
}

// loader holds one load's state across keepalived's passes: the parent
// process's read (global_defs), then the checker's, the VRRP process's and
// the BFD process's reads of the consolidated copy, in that order, as
// keepalived -t runs them (main.c: read_config_file, validate_config).
type loader struct {
	opts  Options
	diags *parser.Diagnostics
	cfg   *Config
	p     *parser.Parser // the current pass's parser
	pass  pass

	users *userDB
	g     globalState
	tf    trackFileState
	// checkTrackFiles are the track_file blocks the checker pass read.
	checkTrackFiles []*TrackFile
	// bfdEvents is keepalived's specified_event_processes.
	bfdEvents bfdEventBits
	vrrp      *vrrpState
	check     *checkState
	bfd       *bfdState

	// recover reads the file with layout recovery (parser/recover.go).
	recover   bool
	recovered parser.Recovery
}

type pass int

const (
	passParent pass = iota
	passChecker
	passVRRP
	passBFD
)

// Load reads and validates the configuration at path as keepalived 2.2.7 does
// when it starts (and, with opts.ConfigTest, for -t). The returned Config is
// usable whenever diags is not Fatal; a reload must keep the running config
// when it is.
func Load(path string, opts Options) (*Config, *parser.Diagnostics) {
	diags := &parser.Diagnostics{Sink: opts.Sink}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	l := &loader{opts: opts, diags: diags, cfg: &Config{Files: []string{path}, loaded: true}}
	l.users = newUserDB(opts)
	l.run(path)
	if diags.LayoutCount() == 0 {
		return l.cfg, diags
	}
	// The file reads badly the way keepalived reads it: if it is a
	// flattened configuration, read it as the operator meant it.
	rd := &parser.Diagnostics{}
	r := &loader{opts: opts, diags: rd, cfg: &Config{Files: []string{path}, loaded: true}, recover: true}
	r.users = newUserDB(opts)
	r.run(path)
	if r.recovered.Splits+len(r.recovered.Comments) == 0 || rd.Fatal() || rd.LayoutCount() >= diags.LayoutCount() {
		return l.cfg, diags
	}
	diags.Global(parser.SevWarning, "%s", r.recovered.Message())
	r.cfg.Recovered = true
	return r.cfg, diags
}

func (l *loader) run(path string) {
	if !l.checkConfFile(path) {
		if !l.opts.ConfigTest {
			l.diags.NoConfig = true
		}
		return
	}
	l.cfg.Global = defaultGlobal(l.opts)
	l.g.init(l)
	r := parser.OpenFiles(path, l.opts.Parser, l.diags)
	if !l.runPass(passParent, r) {
		return
	}
	if r.FileError() {
		// keepalived exits with KEEPALIVED_EXIT_NO_CONFIG before anything else.
		l.diags.NoConfig = true
		return
	}
	l.initGlobalData()
	if l.opts.Namespace != "" {
		if ns := l.cfg.Global.NetNamespace; ns != "" {
			l.logMessage("Overriding config net_namespace '%s' with command line namespace '%s'", ns, l.opts.Namespace)
		}
		l.cfg.Global.NetNamespace = l.opts.Namespace
	}
	if g := &l.cfg.Global; g.NetNamespace != "" || g.InstanceName != "" {
		// main.c's make_syslog_ident, logged (the daemon switches).
		id := "Keepalived"
		for _, s := range []string{g.NetNamespace, g.InstanceName} {
			if s != "" {
				id += "_" + s
			}
		}
		l.logMessage("Changing syslog ident to %s", id)
	}
	if ns := l.cfg.Global.NetNamespace; ns != "" && l.opts.EnterNamespace != nil {
		ifs, err := l.opts.EnterNamespace(ns)
		if err != nil {
			// set_namespaces' line, then main's.
			l.logMessage("%v", err)
			l.logMessage("Unable to set network namespace %s - exiting", ns)
			l.diags.Stopped = true
			return
		}
		l.opts.Interfaces = ifs
	}
	l.startStopScripts()
	copy := r.Copy(path)
	defer copy.Close()

	l.check = newCheckState(l)
	if !l.runPass(passChecker, parser.OpenCopy(copy, l.opts.Parser, l.diags)) {
		return
	}
	l.check.validate()
	// The checker's parse state is no longer read: the model holds what it
	// kept (about a third of the heap on 10,000 services).
	l.check = nil

	l.vrrp = newVRRPState(l)
	if !l.runPass(passVRRP, parser.OpenCopy(copy, l.opts.Parser, l.diags)) {
		return
	}
	l.vrrp.complete()

	l.bfd = newBFDState(l)
	if !l.runPass(passBFD, parser.OpenCopy(copy, l.opts.Parser, l.diags)) {
		return
	}
	l.bfd.complete()
	l.finalScriptUser()
}

// runPass reads the configuration once with the keyword tables of one
// keepalived process. It returns false when a handler ended the read (keepalived
// exits with status 2 there, even under -t).
func (l *loader) runPass(ps pass, r *parser.Reader) bool {
	l.pass = ps
	r.Recover = l.recover
	l.p = parser.NewParser(r)
	ok := l.p.Run(l.rootKeywords(ps))
	l.p = nil
	if l.recover {
		rc := &r.Recovered
		if l.recovered.FirstLine == 0 && rc.FirstLine != 0 {
			l.recovered.FirstName, l.recovered.FirstLine, l.recovered.Prev, l.recovered.Kw = rc.FirstName, rc.FirstLine, rc.Prev, rc.Kw
		}
		l.recovered.Splits += rc.Splits
		l.recovered.Comments = append(l.recovered.Comments, rc.Comments...)
	}
	if !ok {
		l.diags.Abort = true
	}
	return ok
}

// rootKeywords installs the top-level keywords the way each keepalived
// process does (global_init_keywords, check_init_keywords,
// vrrp_init_keywords, bfd_init_keywords): every area's keywords are known
// everywhere, but only the process's own are active. The order matters: the
// first keyword of a name wins.
func (l *loader) rootKeywords(ps pass) []*parser.Keyword {
	var kws []*parser.Keyword
	switch ps {
	case passParent:
		kws = append(kws, l.globalKeywords(true)...)
		kws = append(kws, l.vrrpKeywords(false)...)
		kws = append(kws, l.checkKeywords(false)...)
		kws = append(kws, l.bfdKeywords(false, bfdForParent)...)
		kws = append(kws, l.trackFileKeywords(false)...)
	case passChecker:
		kws = append(kws, l.globalKeywords(false)...)
		kws = append(kws, l.checkKeywords(true)...)
		kws = append(kws, l.vrrpKeywords(false)...)
		kws = append(kws, l.bfdKeywords(true, bfdForChecker)...)
		kws = append(kws, l.trackFileKeywords(true)...)
	case passVRRP:
		kws = append(kws, l.globalKeywords(false)...)
		kws = append(kws, l.vrrpKeywords(true)...)
		kws = append(kws, l.checkKeywords(false)...)
		kws = append(kws, l.bfdKeywords(true, bfdForVRRP)...)
		kws = append(kws, l.trackFileKeywords(true)...)
	case passBFD:
		kws = append(kws, l.globalKeywords(false)...)
		kws = append(kws, l.bfdKeywords(true, bfdForBFD)...)
		kws = append(kws, l.checkKeywords(false)...)
		kws = append(kws, l.vrrpKeywords(false)...)
		kws = append(kws, l.trackFileKeywords(false)...)
	}
	return kws
}

// report is keepalived's report_config_error at the current line (or with
// no place once a pass is over).
func (l *loader) report(sev parser.Severity, format string, args ...any) {
	if l.p != nil {
		l.p.Report(sev, format, args...)
		return
	}
	l.diags.Global(sev, format, args...)
}

// logMessage is keepalived's log_message while it reads the file: a line
// for the daemon's log (Config.LoadLog), which -t does not print.
func (l *loader) logMessage(format string, args ...any) {
	l.cfg.LoadLog = append(l.cfg.LoadLog, fmt.Sprintf(format, args...))
}

// pos is where the current line is (for the model's positions).
func (l *loader) pos() Pos {
	if l.p == nil {
		return Pos{}
	}
	f, n := l.p.Pos()
	return Pos{File: f, Line: int32(n)}
}

// checkConfFile is keepalived's check_conf_file: the main file must match
// exactly one readable file.
func (l *loader) checkConfFile(path string) bool {
	m, ok := parser.CheckConfFile(path, l.opts.Parser, l.diags)
	_ = m
	return ok
}
