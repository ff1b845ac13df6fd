package nftfw

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// rawDump lists every table, chain, set, set element and rule of the
// namespace as the kernel reports them, attribute by attribute, so two
// rulesets can be compared below what nft prints (set user data, flags,
// key types and lengths, each expression's attributes). Handles, use
// counts, set IDs and counter values are masked; elements are sorted.
func rawDump(t *testing.T, ns string) []string {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []string
	for _, typ := range []uint16{unix.NFT_MSG_GETTABLE, unix.NFT_MSG_GETCHAIN, unix.NFT_MSG_GETSET, unix.NFT_MSG_GETRULE} {
		msgs := dump(t, c, typ, nil)
		for _, m := range msgs {
			out = append(out, fmt.Sprintf("%s %s", msgName(typ), renderAttrs(typ, m.Data[4:], 0)))
			if typ == unix.NFT_MSG_GETSET {
				out = append(out, elements(t, c, m)...)
			}
		}
	}
	return out
}

func msgName(typ uint16) string {
	return map[uint16]string{unix.NFT_MSG_GETTABLE: "table", unix.NFT_MSG_GETCHAIN: "chain",
		unix.NFT_MSG_GETSET: "set", unix.NFT_MSG_GETSETELEM: "elem", unix.NFT_MSG_GETRULE: "rule"}[typ]
}

func dump(t *testing.T, c *netlink.Conn, typ uint16, attrs []byte) []netlink.Message {
	t.Helper()
	return dumpFamily(t, c, typ, unix.NFPROTO_UNSPEC, attrs)
}

func dumpFamily(t *testing.T, c *netlink.Conn, typ uint16, fam byte, attrs []byte) []netlink.Message {
	t.Helper()
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ), Flags: netlink.Request | netlink.Dump},
		Data:   append([]byte{fam, unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	msgs, err := c.Execute(req)
	if err != nil {
		t.Fatalf("dump %s: %v", msgName(typ), err)
	}
	return msgs
}

// elements dumps the elements of the set in m, sorted.
func elements(t *testing.T, c *netlink.Conn, m netlink.Message) []string {
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		t.Fatal(err)
	}
	var table, set string
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_TABLE:
			table = ad.String()
		case unix.NFTA_SET_NAME:
			set = ad.String()
		}
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NFTA_SET_ELEM_LIST_TABLE, table)
	ae.String(unix.NFTA_SET_ELEM_LIST_SET, set)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, em := range dumpFamily(t, c, unix.NFT_MSG_GETSETELEM, m.Data[0], b) {
		out = append(out, fmt.Sprintf("elem %d %s", m.Data[0], renderAttrs(unix.NFT_MSG_GETSETELEM, em.Data[4:], 0)))
	}
	sort.Strings(out)
	return out
}

// masked attributes per message type: handles, use counts, set IDs, and
// the elements list (rendered element by element, sorted, instead).
var masked = map[uint16]map[uint16]bool{
	unix.NFT_MSG_GETTABLE: {nftaTableHandle: true, unix.NFTA_TABLE_USE: true},
	unix.NFT_MSG_GETCHAIN: {unix.NFTA_CHAIN_HANDLE: true, unix.NFTA_CHAIN_USE: true},
	unix.NFT_MSG_GETSET:   {nftaSetHandle: true, unix.NFTA_SET_ID: true},
	unix.NFT_MSG_GETRULE:  {unix.NFTA_RULE_HANDLE: true, unix.NFTA_RULE_POSITION: true},
}

func renderAttrs(typ uint16, b []byte, depth int) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return "!" + hex.EncodeToString(b)
	}
	var parts []string
	counter := false
	for ad.Next() {
		at := ad.Type()
		if depth == 0 && masked[typ][at] {
			continue
		}
		data := ad.Bytes()
		if at == unix.NFTA_EXPR_NAME && string(data) == "counter\x00" {
			counter = true
		}
		switch {
		case typ == unix.NFT_MSG_GETSETELEM && depth == 0 && at == unix.NFTA_SET_ELEM_LIST_ELEMENTS:
			// One element per nested attribute, in hash order: sorted.
			ed, err := netlink.NewAttributeDecoder(data)
			if err != nil {
				return "!" + hex.EncodeToString(data)
			}
			var els []string
			for ed.Next() {
				els = append(els, "{"+renderAttrs(typ, ed.Bytes(), depth+2)+"}")
			}
			sort.Strings(els)
			parts = append(parts, fmt.Sprintf("%d:[%s]", at, strings.Join(els, " ")))
		case typ == unix.NFT_MSG_GETRULE && depth == 0 && at == unix.NFTA_RULE_EXPRESSIONS:
			// Each expression: its name and its attributes, a counter's
			// values masked.
			ed, err := netlink.NewAttributeDecoder(data)
			if err != nil {
				return "!" + hex.EncodeToString(data)
			}
			var exprs []string
			for ed.Next() {
				exprs = append(exprs, "{"+renderAttrs(typ, ed.Bytes(), depth+1)+"}")
			}
			parts = append(parts, fmt.Sprintf("%d:[%s]", at, strings.Join(exprs, " ")))
		case counter && at == unix.NFTA_EXPR_DATA:
			parts = append(parts, fmt.Sprintf("%d:<counter>", at))
		case ad.TypeFlags()&netlink.Nested != 0:
			parts = append(parts, fmt.Sprintf("%d:{%s}", at, renderAttrs(typ, data, depth+1)))
		case typ == unix.NFT_MSG_GETRULE && depth > 0 && at == unix.NFTA_EXPR_DATA:
			parts = append(parts, fmt.Sprintf("%d:{%s}", at, renderAttrs(typ, data, depth+1)))
		default:
			parts = append(parts, fmt.Sprintf("%d:%s", at, printable(data)))
		}
	}
	return strings.Join(parts, " ")
}

func printable(b []byte) string {
	s := strings.TrimRight(string(b), "\x00")
	if len(s) > 0 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_-.0123456789") == "" && len(b) > 1 {
		return fmt.Sprintf("%q", s)
	}
	if len(b) == 4 {
		return fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(b))
	}
	return hex.EncodeToString(b)
}

// Attribute numbers x/sys/unix lacks (linux/netfilter/nf_tables.h).
const (
	nftaTableHandle = 4
	nftaSetHandle   = 16
)
