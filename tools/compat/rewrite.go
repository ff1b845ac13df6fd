package main

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Before a daemon starts on a corpus config, the config is rewritten so the
// daemon can only touch its own namespace and folder (the project's network
// rule: no address outside 198.51.100.0/24, 203.0.113.0/24 and
// 2001:db8::/32, not even in a config a test starts):
//
//   - every IPv4 address is mapped into 198.51.100.0/24 or 203.0.113.0/24:
//     the n-th distinct /24 of the file goes to the first or the second of
//     them alternately and keeps its last octet (so ranges like 10.0.0.5-9
//     and network/broadcast addresses keep their meaning); a collision
//     takes the next free octet. Loopback, 0.0.0.0, multicast and netmasks
//     (255.x) are kept;
//   - every IPv6 address is mapped into 2001:db8::/32: the n-th distinct /64
//     becomes 2001:db8:0:n::/64 and keeps its interface identifier.
//     Loopback, ::, link-local and multicast are kept;
//   - prefix lengths are kept; the mapping is a function of the file alone
//     (first appearance order), so both daemons see the same text;
//   - scripts (notify*, script, misc_path, quorum_up/down, startup and
//     shutdown scripts, fifo scripts) become /bin/true;
//   - files a daemon writes (fifos, track files, reload and save files)
//     move into the daemon's own folder;
//   - what reaches outside the namespace is commented out: net_namespace,
//     instance, use_pid_dir (pid files), enable_dbus (the system bus),
//     SNMP (the host's agentx socket), realtime priorities.

// addrMapper maps addresses of one file.
type addrMapper struct {
	net4  map[string]int // first three octets -> index of the /24
	used4 map[string]string
	map4  map[string]string
	net6  map[netip.Prefix]int
	map6  map[netip.Addr]netip.Addr
}

func newAddrMapper() *addrMapper {
	return &addrMapper{net4: map[string]int{}, used4: map[string]string{}, map4: map[string]string{},
		net6: map[netip.Prefix]int{}, map6: map[netip.Addr]netip.Addr{}}
}

var testNets4 = []string{"198.51.100", "203.0.113"}

// reserved4 are the host parts the harness gives the namespace's
// interfaces (203.0.113.200-254): config addresses avoid them.
func reserved4(a string) bool {
	if !strings.HasPrefix(a, "203.0.113.") {
		return false
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(a, "203.0.113."))
	return n >= 200 && n < 255
}

func keep4(a netip.Addr) bool {
	b := a.As4()
	return a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() || b[0] == 255 || (b[0] >= 240)
}

func (m *addrMapper) map4addr(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || keep4(a) {
		return s
	}
	if v, ok := m.map4[s]; ok {
		return v
	}
	b := a.As4()
	key := fmt.Sprintf("%d.%d.%d", b[0], b[1], b[2])
	idx, ok := m.net4[key]
	if !ok {
		idx = len(m.net4)
		m.net4[key] = idx
	}
	host := int(b[3])
	for try := 0; try < 512; try++ {
		net := testNets4[(idx+try/256)%2]
		h := (host + try) % 256
		if try > 0 && (h == 0 || h == 255) {
			continue
		}
		cand := fmt.Sprintf("%s.%d", net, h)
		if _, taken := m.used4[cand]; taken || reserved4(cand) {
			continue
		}
		m.used4[cand] = s
		m.map4[s] = cand
		return cand
	}
	return s
}

func keep6(a netip.Addr) bool {
	return a.IsLoopback() || a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.Is4In6()
}

func (m *addrMapper) map6addr(a netip.Addr) netip.Addr {
	if keep6(a) {
		return a
	}
	if v, ok := m.map6[a]; ok {
		return v
	}
	p, _ := a.Prefix(64)
	idx, ok := m.net6[p]
	if !ok {
		idx = len(m.net6) + 1
		m.net6[p] = idx
	}
	b := a.As16()
	out := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(idx >> 8), byte(idx)}
	copy(out[8:], b[8:])
	v := netip.AddrFrom16(out)
	m.map6[a] = v
	return v
}

var (
	ip4TokRe = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	ip6TokRe = regexp.MustCompile(`[0-9A-Fa-f]*:[0-9A-Fa-f:.]*[0-9A-Fa-f:]`)
)

// ip4Tokens returns the [start, end) of every dotted quad in l that is not
// part of a longer run of digits and dots.
func ip4Tokens(l string) [][2]int {
	var out [][2]int
	for _, loc := range ip4TokRe.FindAllStringIndex(l, -1) {
		if loc[0] > 0 && strings.ContainsRune("0123456789.", rune(l[loc[0]-1])) {
			continue
		}
		if loc[1] < len(l) && strings.ContainsRune("0123456789", rune(l[loc[1]])) {
			continue
		}
		out = append(out, [2]int{loc[0], loc[1]})
	}
	return out
}

// mapAddresses rewrites every address of a line.
func (m *addrMapper) mapAddresses(l string) string {
	toks := ip4Tokens(l)
	mapped := make([]string, len(toks))
	for i, t := range toks {
		mapped[i] = m.map4addr(l[t[0]:t[1]])
	}
	for i := len(toks) - 1; i >= 0; i-- {
		l = l[:toks[i][0]] + mapped[i] + l[toks[i][1]:]
	}
	return ip6TokRe.ReplaceAllStringFunc(l, func(s string) string {
		if strings.Count(s, ":") < 2 {
			return s
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return s
		}
		return m.map6addr(a).String()
	})
}

// Keywords whose value is a command to run.
var scriptKeywords = map[string]bool{
	"script": true, "notify": true, "notify_master": true, "notify_backup": true, "notify_fault": true,
	"notify_stop": true, "notify_deleted": true, "notify_master_rx_lower_pri": true, "notify_up": true,
	"notify_down": true, "misc_path": true, "quorum_up": true, "quorum_down": true, "startup_script": true,
	"shutdown_script": true, "notify_fifo_script": true, "vrrp_notify_fifo_script": true, "lvs_notify_fifo_script": true,
}

// Keywords whose first value is a file the daemon creates or writes.
var fileKeywords = map[string]bool{
	"notify_fifo": true, "vrrp_notify_fifo": true, "lvs_notify_fifo": true, "file": true,
	"reload_time_file": true, "reload_file": true, "config_save_dir": true, "tmp_config_directory": true,
	"reload_check_config": true,
}

// Keywords that reach outside the namespace or the machine's fair share.
var droppedKeywords = map[string]bool{
	"net_namespace": true, "net_namespace_ipvs": true, "instance": true, "use_pid_dir": true,
	"enable_dbus": true, "enable_snmp_vrrp": true, "enable_snmp_checker": true, "enable_snmp_rfc": true,
	"enable_snmp_rfcv2": true, "enable_snmp_rfcv3": true, "enable_snmp_keepalived": true, "enable_traps": true,
	"snmp_socket": true, "vrrp_rt_priority": true, "checker_rt_priority": true, "bfd_rt_priority": true,
	"vrrp_rlimit_rttime": true, "checker_rlimit_rttime": true, "bfd_rlimit_rttime": true,
}

var condPrefixRe = regexp.MustCompile(`^(\s*(?:@\^?\S+\s+)?)(\S+)(.*)$`)

// rewriteConfig applies the rules above to one file's text. dir is the
// daemon's own folder (for files it writes); m is shared by the files of
// one config (a file and what it includes).
func rewriteConfig(text, dir string, m *addrMapper) string {
	var out []string
	nfile := 0
	for _, l := range strings.Split(text, "\n") {
		code, comment := splitComment(l)
		if sm := condPrefixRe.FindStringSubmatch(code); sm != nil && droppedKeywords[sm[2]] {
			out = append(out, "# compat: dropped: "+m.mapAddresses(strings.TrimSpace(l)))
			continue
		}
		code = rewriteValues(code, func(kw string) string {
			if scriptKeywords[kw] {
				return "/bin/true"
			}
			nfile++
			return fmt.Sprintf("%s/file%d", dir, nfile)
		})
		out = append(out, m.mapAddresses(code+comment))
	}
	return strings.Join(out, "\n")
}

// rewriteValues replaces the value of every script or file keyword in a
// line: the rest of the line when the keyword starts it, else (a flattened
// line) the one word or quoted string after it.
func rewriteValues(code string, repl func(kw string) string) string {
	toks := lineTokens(code)
	for i := len(toks) - 1; i >= 0; i-- {
		kw := code[toks[i][0]:toks[i][1]]
		if !scriptKeywords[kw] && !fileKeywords[kw] || i+1 >= len(toks) {
			continue
		}
		next := code[toks[i+1][0]:toks[i+1][1]]
		if next == "{" || next == "}" {
			continue
		}
		first := i == 0 || (i == 1 && strings.HasPrefix(code[toks[0][0]:toks[0][1]], "@"))
		end := toks[i+1][1]
		if first {
			end = len(strings.TrimRight(code, " \t"))
		}
		code = code[:toks[i+1][0]] + repl(kw) + code[end:]
	}
	return code
}

// lineTokens splits a line into words, a quoted string being one word.
func lineTokens(l string) [][2]int {
	var out [][2]int
	i := 0
	for i < len(l) {
		for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			i++
		}
		if i >= len(l) {
			break
		}
		start := i
		if q := l[i]; q == '"' || q == '\'' {
			i++
			for i < len(l) && l[i] != q {
				i++
			}
			if i < len(l) {
				i++
			}
		} else {
			for i < len(l) && l[i] != ' ' && l[i] != '\t' {
				i++
			}
		}
		out = append(out, [2]int{start, i})
	}
	return out
}

// splitComment separates a line's code from a trailing # or ! comment
// (outside quotes).
func splitComment(l string) (string, string) {
	inQ := byte(0)
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case inQ != 0:
			if c == inQ {
				inQ = 0
			}
		case c == '"' || c == '\'':
			inQ = c
		case c == '#' || c == '!':
			return l[:i], l[i:]
		}
	}
	return l, ""
}

// Keywords followed by an interface name, and blocks whose lines start with
// one.
var (
	ifaceAfter  = map[string]bool{"interface": true, "lvs_sync_daemon_interface": true, "lvs_sync_daemon": true, "default_interface": true, "bind_if": true, "dev": true, "iif": true, "oif": true}
	ifaceBlocks = map[string]bool{"track_interface": true, "interfaces": true, "linkbeat_interfaces": true, "interface_up_down_delays": true}
	missingIfRe = regexp.MustCompile(`(?:interface|Interface) (\S+?)(?:,)? .*(?:doesn't exist|does not exist|not found)`)
)

// interfacesOf lists the interface names a config uses (sorted, eth0
// always), from its keywords and from keepalived's complaints about missing
// interfaces in its recorded -t output.
func interfacesOf(text string, recorded []string) []string {
	set := map[string]bool{"eth0": true}
	var stack []string
	for _, l := range strings.Split(text, "\n") {
		code, _ := splitComment(l)
		f := strings.Fields(code)
		for len(f) > 0 && strings.HasPrefix(f[0], "@") {
			f = f[1:]
		}
		if len(f) == 0 {
			continue
		}
		if len(stack) > 0 && ifaceBlocks[stack[len(stack)-1]] && f[0] != "}" && f[0] != "{" {
			set[f[0]] = true
		}
		for i := 0; i+1 < len(f); i++ {
			if ifaceAfter[f[i]] {
				set[f[i+1]] = true
			}
		}
		for _, t := range f {
			switch {
			case t == "{":
				stack = append(stack, f[0])
			case strings.HasSuffix(t, "{") && t != "{":
				stack = append(stack, strings.TrimSuffix(t, "{"))
			case t == "}":
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
	for _, l := range recorded {
		if sm := missingIfRe.FindStringSubmatch(l); sm != nil {
			set[sm[1]] = true
		}
	}
	var out []string
	for n := range set {
		n = strings.Trim(n, `"'`)
		if validIfName(n) && !strings.ContainsAny(n, "${}") && !strings.HasPrefix(n, "kgp") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// ifAddr is an address a config expects on one of the host's interfaces.
type ifAddr struct {
	Iface string
	Addr  netip.Addr
}

// srcAddrsOf lists each vrrp_instance's unicast_src_ip with the instance's
// interface: a config is written for a host that holds its unicast source
// address, and keepalived cannot bind its unicast socket (the instance
// goes to FAULT) where it does not. The namespace gets them, so that the
// dump compares the configuration as it is meant to run.
func srcAddrsOf(text string) []ifAddr {
	var out []ifAddr
	var iface string
	var src netip.Addr
	flush := func() {
		if iface != "" && src.IsValid() && validIfName(iface) {
			out = append(out, ifAddr{iface, src})
		}
		iface, src = "", netip.Addr{}
	}
	for _, l := range strings.Split(text, "\n") {
		code, _ := splitComment(l)
		f := strings.Fields(code)
		for len(f) > 0 && strings.HasPrefix(f[0], "@") {
			f = f[1:]
		}
		for i, t := range f {
			switch {
			case t == "vrrp_instance":
				flush()
			case t == "interface" && i+1 < len(f):
				iface = strings.Trim(f[i+1], `"'`)
			case t == "unicast_src_ip" && i+1 < len(f):
				a, err := netip.ParseAddr(strings.Trim(f[i+1], `"'`))
				if err == nil {
					src = a
				}
			}
		}
	}
	flush()
	return out
}
