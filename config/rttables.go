package config

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"

	"keepalived-go/internal/cnum"
	"keepalived-go/parser"
)

// Routing names: a port of keepalived 2.2.7's lib/rttables.c. Each lookup
// takes a number first (strtoul, any base), then a name from the iproute2
// file, the file read once per load with keepalived's defaults added for ids
// the file does not name.

// iproute2Dir is keepalived's IPROUTE2_DIR (a seam for tests).
var iproute2Dir = "/etc/iproute2/"

// Route types (RTN_*) and rule actions (FR_ACT_*) of <linux/rtnetlink.h> and
// <linux/fib_rules.h>.
const (
	RTNUnspec      uint8 = 0
	RTNUnicast     uint8 = 1
	RTNLocal       uint8 = 2
	RTNBroadcast   uint8 = 3
	RTNAnycast     uint8 = 4
	RTNMulticast   uint8 = 5
	RTNBlackhole   uint8 = 6
	RTNUnreachable uint8 = 7
	RTNProhibit    uint8 = 8
	RTNThrow       uint8 = 9
	RTNNat         uint8 = 10
	RTNXResolve    uint8 = 11

	FRActUnspec      uint8 = 0
	FRActToTable     uint8 = 1
	FRActGoto        uint8 = 2
	FRActNop         uint8 = 3
	FRActBlackhole   uint8 = 6
	FRActUnreachable uint8 = 7
	FRActProhibit    uint8 = 8

	// RTProtKeepalived is RTPROT_KEEPALIVED: the protocol keepalived marks
	// (and recognises) its tracked routes and rules with.
	RTProtKeepalived uint8 = 18

	RTTableUnspec  uint32 = 0
	RTTableDefault uint32 = 253
	RTTableMain    uint32 = 254
	RTTableLocal   uint32 = 255

	RTScopeUniverse uint8 = 0
	RTScopeSite     uint8 = 200
	RTScopeLink     uint8 = 253
	RTScopeHost     uint8 = 254
	RTScopeNowhere  uint8 = 255
)

type rtEntry struct {
	id   uint32
	name string
}

// rtntypes is keepalived's rtntypes table (names, in its order).
var rtntypes = []rtEntry{
	{uint32(RTNLocal), "local"}, {uint32(RTNNat), "nat"}, {uint32(RTNBroadcast), "broadcast"},
	{uint32(RTNBroadcast), "brd"}, {uint32(RTNAnycast), "anycast"}, {uint32(RTNMulticast), "multicast"},
	{uint32(RTNProhibit), "prohibit"}, {uint32(RTNUnreachable), "unreachable"}, {uint32(RTNBlackhole), "blackhole"},
	{uint32(RTNXResolve), "xresolve"}, {uint32(RTNUnicast), "unicast"}, {uint32(RTNThrow), "throw"},
}

var rtprotDefault = []rtEntry{
	{0, "none"}, {1, "redirect"}, {2, "kernel"}, {3, "boot"}, {4, "static"},
	{8, "gated"}, {9, "ra"}, {10, "mrt"}, {11, "zebra"}, {12, "bird"}, {42, "babel"},
	{13, "dnrouted"}, {14, "xorp"}, {15, "ntk"}, {16, "dhcp"},
}

var rttableDefault = []rtEntry{{RTTableDefault, "default"}, {RTTableMain, "main"}, {RTTableLocal, "local"}}

var rtscopeDefault = []rtEntry{
	{uint32(RTScopeUniverse), "global"}, {uint32(RTScopeNowhere), "nowhere"}, {uint32(RTScopeHost), "host"},
	{uint32(RTScopeLink), "link"}, {uint32(RTScopeSite), "site"},
}

// rtNames holds the lists one process has read (keepalived's static lists).
type rtNames struct {
	lists map[string][]rtEntry
}

// maxRTBuf is keepalived's MAX_RT_BUF: fgets reads lines in pieces of 127.
const maxRTBuf = 128

// readRTFile is read_file: lines of exactly two words, a number (no sign,
// at most max) and a name.
func readRTFile(name string, max uint32) []rtEntry {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []rtEntry
	r := bufio.NewReader(f)
	for {
		line, err := fgets(r, maxRTBuf)
		if line == "" && err != nil {
			break
		}
		w := parser.SplitWords(line)
		if len(w) != 2 {
			continue
		}
		num := strings.TrimLeft(w[0], " \t")
		id, rest, _ := cnum.Strtoul(num, 0)
		if strings.HasPrefix(num, "-") || len(rest) == len(num) || rest != "" || id > uint64(max) {
			continue
		}
		out = append(out, rtEntry{uint32(id), w[1]})
	}
	return out
}

// fgets reads up to size-1 bytes, stopping after a newline.
func fgets(r *bufio.Reader, size int) (string, error) {
	var b strings.Builder
	for b.Len() < size-1 {
		c, err := r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		b.WriteByte(c)
		if c == '\n' {
			break
		}
	}
	return b.String(), nil
}

// list is initialise_list: the file, then the defaults whose ids it lacks.
func (n *rtNames) list(file string, defaults []rtEntry, max uint32) []rtEntry {
	if n.lists == nil {
		n.lists = map[string][]rtEntry{}
	}
	if l, ok := n.lists[file]; ok && len(l) > 0 {
		return l
	}
	l := readRTFile(iproute2Dir+file, max)
	for _, d := range defaults {
		found := false
		for _, e := range l {
			if e.id == d.id {
				found = true
				break
			}
		}
		if !found {
			l = append(l, d)
		}
	}
	n.lists[file] = l
	return l
}

// find is find_entry: a number (any base, truncated to 32 bits as keepalived
// stores it) no larger than max, else a name from the list.
func (n *rtNames) find(name string, file string, defaults []rtEntry, max uint32) (uint32, bool) {
	v, rest, erange := cnum.Strtoul(name, 0)
	if erange {
		v = math.MaxUint64
	}
	id := uint32(v)
	if len(rest) != len(name) && rest == "" {
		return id, id <= max
	}
	for _, e := range n.list(file, defaults, max) {
		if e.name == name {
			return e.id, true
		}
	}
	return id, false
}

// table is find_rttables_table.
func (n *rtNames) table(name string) (uint32, bool) {
	return n.find(name, "rt_tables", rttableDefault, math.MaxUint32)
}

// dsfield is find_rttables_dsfield.
func (n *rtNames) dsfield(name string) (uint8, bool) {
	v, ok := n.find(name, "rt_dsfield", nil, 255)
	return uint8(v), ok
}

// group is find_rttables_group.
func (n *rtNames) group(name string) (uint32, bool) {
	return n.find(name, "group", nil, math.MaxInt32)
}

// realms is find_rttables_realms.
func (n *rtNames) realms(name string) (uint32, bool) {
	return n.find(name, "rt_realms", nil, 255)
}

// proto is find_rttables_proto.
func (n *rtNames) proto(name string) (uint8, bool) {
	v, ok := n.find(name, "rt_protos", rtprotDefault, 255)
	return uint8(v), ok
}

// scope is find_rttables_scope.
func (n *rtNames) scope(name string) (uint8, bool) {
	v, ok := n.find(name, "rt_scopes", rtscopeDefault, 255)
	return uint8(v), ok
}

// findRTNType is find_rttables_rtntype: a type name, else a number 0-255
// (an empty string is 0, as strtoul gives it).
func findRTNType(s string) (uint8, bool) {
	for _, e := range rtntypes {
		if e.name == s {
			return uint8(e.id), true
		}
	}
	v, rest, erange := cnum.Strtoul(s, 0)
	if rest != "" || erange || v > 255 || strings.HasPrefix(s, "-") {
		return 0, false
	}
	return uint8(v), true
}

// RTNTypeName is get_rttables_rtntype: the first name of a route type, else
// its number.
func RTNTypeName(t uint8) string {
	for _, e := range rtntypes {
		if e.id == uint32(t) {
			return e.name
		}
	}
	return itoa(int(t))
}

// ScopeName is get_rttables_scope: the name /etc/iproute2/rt_scopes (or
// keepalived's defaults) gives an address scope, else its number.
func ScopeName(id uint8) string {
	var n rtNames
	for _, e := range n.list("rt_scopes", rtscopeDefault, 255) {
		if e.id == uint32(id) {
			return e.name
		}
	}
	return strconv.Itoa(int(id))
}
