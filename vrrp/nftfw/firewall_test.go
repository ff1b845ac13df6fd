package nftfw

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// recorder stands in for the kernel (google/nftables' test dial): it
// records each batch and acknowledges every message, or fails the batch
// with failNext.
type recorder struct {
	batches  [][]netlink.Message
	failNext error
}

func (r *recorder) dial(req []netlink.Message) ([]netlink.Message, error) {
	if req == nil {
		return nil, nil
	}
	r.batches = append(r.batches, req)
	fail := r.failNext
	r.failNext = nil
	var out []netlink.Message
	for _, m := range req {
		if m.Header.Flags&netlink.Acknowledge == 0 {
			continue
		}
		data := make([]byte, 4)
		if fail != nil {
			errno := -int32(unix.ENOENT)
			binary.NativeEndian.PutUint32(data, uint32(errno))
			fail = nil
		}
		out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.Error, Sequence: m.Header.Sequence, PID: m.Header.PID}, Data: data})
	}
	return out, nil
}

// describe prints a batch one message a line: "newtable ip keepalived",
// "newsetelem ip vips +2".
func describe(t *testing.T, msgs []netlink.Message) string {
	t.Helper()
	names := map[int]string{unix.NFT_MSG_NEWTABLE: "newtable", unix.NFT_MSG_DELTABLE: "deltable", unix.NFT_MSG_NEWCHAIN: "newchain",
		unix.NFT_MSG_NEWSET: "newset", unix.NFT_MSG_NEWRULE: "newrule", unix.NFT_MSG_NEWSETELEM: "newsetelem", unix.NFT_MSG_DELSETELEM: "delsetelem"}
	var lines []string
	for _, m := range msgs {
		typ := int(m.Header.Type)
		if typ == unix.NFNL_MSG_BATCH_BEGIN || typ == unix.NFNL_MSG_BATCH_END {
			lines = append(lines, map[int]string{unix.NFNL_MSG_BATCH_BEGIN: "begin", unix.NFNL_MSG_BATCH_END: "end"}[typ])
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			t.Fatal(err)
		}
		var table, name string
		n := 0
		msg := typ & 0xff
		nameAttr := uint16(2) // set, rule's chain, element's set
		if msg == unix.NFT_MSG_NEWCHAIN {
			nameAttr = unix.NFTA_CHAIN_NAME
		}
		for ad.Next() {
			switch {
			case ad.Type() == 1:
				table = ad.String()
			case ad.Type() == nameAttr && msg != unix.NFT_MSG_NEWTABLE && msg != unix.NFT_MSG_DELTABLE:
				name = ad.String()
			case ad.Type() == unix.NFTA_SET_ELEM_LIST_ELEMENTS && (msg == unix.NFT_MSG_NEWSETELEM || msg == unix.NFT_MSG_DELSETELEM):
				ed, _ := netlink.NewAttributeDecoder(ad.Bytes())
				for ed.Next() {
					n++
				}
			}
		}
		fam := Family(m.Data[0])
		line := fmt.Sprintf("%s %s %s", names[msg], fam, table)
		if name != "" {
			line += " " + name
		}
		if n > 0 {
			line += fmt.Sprintf(" %d", n)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func testFirewall(t *testing.T, s Settings, ins []Instance, index map[string]int) (*Firewall, *recorder) {
	t.Helper()
	r := &recorder{}
	f, err := New(s, ins, Options{TestDial: r.dial, IfIndex: func(name string) (int, error) {
		if i, ok := index[name]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("no interface %s", name)
	}})
	if err != nil {
		t.Fatal(err)
	}
	return f, r
}

func wantBatches(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	if len(r.batches) != len(want) {
		var got []string
		for _, b := range r.batches {
			got = append(got, describe(t, b))
		}
		t.Fatalf("%d batches, want %d:\n%s", len(r.batches), len(want), strings.Join(got, "\n--\n"))
	}
	for i, w := range want {
		if got := describe(t, r.batches[i]); got != strings.TrimSpace(w) {
			t.Errorf("batch %d:\n%s\nwant:\n%s", i, got, strings.TrimSpace(w))
		}
	}
	r.batches = nil
}

// TestOneBatchPerChange: each change is one batch, in keepalived's order
// (a previous run's tables cleared first), an event that changes nothing
// sends nothing, and Stop deletes the tables.
func TestOneBatchPerChange(t *testing.T) {
	f, r := testFirewall(t, Settings{Table: "keepalived", Priority: -1}, strictInstances(), map[string]int{"eth0": 2})
	if err := f.SetVIPs("V4", true); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
newtable ip keepalived
deltable ip keepalived
newtable ip6 keepalived
deltable ip6 keepalived
newtable ip keepalived
newchain ip keepalived out
newchain ip keepalived in
newset ip keepalived vips
newrule ip keepalived in
newrule ip keepalived out
newtable ip6 keepalived
newchain ip6 keepalived out
newchain ip6 keepalived in
newchain ip6 keepalived in_link_local
newchain ip6 keepalived out_link_local
newset ip6 keepalived vips
newset ip6 keepalived neighbor-discovery
newsetelem ip6 keepalived neighbor-discovery 2
newrule ip6 keepalived in
newrule ip6 keepalived in
newrule ip6 keepalived out
newrule ip6 keepalived out
newrule ip6 keepalived in
newrule ip6 keepalived out
newsetelem ip keepalived vips 2
newsetelem ip6 keepalived vips 1
end`)
	for _, st := range []bool{true} {
		if err := f.SetVIPs("V4", st); err != nil {
			t.Fatal(err)
		}
	}
	wantBatches(t, r)
	if err := f.SetVIPs("V6", true); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
newset ip6 keepalived vips_link_local
newrule ip6 keepalived in_link_local
newrule ip6 keepalived out_link_local
newsetelem ip6 keepalived vips 1
newsetelem ip6 keepalived vips_link_local 1
end`)
	if err := f.SetVIPs("V4", false); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
delsetelem ip keepalived vips 2
delsetelem ip6 keepalived vips 1
end`)
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
deltable ip keepalived
deltable ip6 keepalived
end`)
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r)
}

// setAttrs returns a NEWSET message's user data and whether it has a
// description.
func setAttrs(t *testing.T, m netlink.Message) (name string, ud []byte, desc bool) {
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		t.Fatal(err)
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_SET_NAME:
			name = ad.String()
		case unix.NFTA_SET_USERDATA:
			ud = ad.Bytes()
		case unix.NFTA_SET_DESC:
			desc = true
		}
	}
	return name, ud, desc
}

// TestSetDescriptions: each set is described as keepalived's setup_set
// describes it (key byte order big endian for address sets, host for the
// others; a map's data byte order host; no size).
func TestSetDescriptions(t *testing.T) {
	f, r := testFirewall(t, Settings{Table: "keepalived"}, vmacInstances(), map[string]int{"eth0": 2, "vrrp.51": 3, "lo": 1})
	for _, err := range []error{f.VMACUp("V4"), f.SetVIPs("V4", true), f.SetVIPs("V6", true)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	u32 := func(typ byte, v uint32) []byte { return binary.NativeEndian.AppendUint32([]byte{typ, 4}, v) }
	want := map[string][]byte{
		"vmac_map": append(u32(0, 1), u32(1, 1)...), "vmac_set": u32(0, 1), "vips": u32(0, 2),
		"neighbor-discovery": u32(0, 1), "vips_link_local": u32(0, 1), "vips_link_local_name": u32(0, 1),
	}
	seen := 0
	for _, b := range r.batches {
		for _, m := range b {
			if m.Header.Type != newSetType {
				continue
			}
			name, ud, desc := setAttrs(t, m)
			seen++
			if desc || string(ud) != string(want[name]) {
				t.Errorf("set %s: user data %x (want %x), description %v", name, ud, want[name], desc)
			}
		}
	}
	if seen != 8 {
		t.Errorf("%d sets written, want 8", seen)
	}
}

// TestFailedBatchRetried: a batch the kernel refuses leaves nothing
// recorded as written, and the next change writes it all.
func TestFailedBatchRetried(t *testing.T) {
	f, r := testFirewall(t, Settings{Table: "keepalived"}, []Instance{
		{Name: "A", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10")},
		{Name: "B", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.11")},
	}, nil)
	r.failNext = errors.New("refused")
	err := f.SetVIPs("A", true)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("SetVIPs: %v, want ENOENT", err)
	}
	if got := f.Ruleset().String(); got != "" {
		t.Fatalf("recorded as written after a failed batch:\n%s", got)
	}
	r.batches = nil
	if err := f.SetVIPs("B", true); err != nil {
		t.Fatal(err)
	}
	if d := describe(t, r.batches[0]); !strings.Contains(d, "newtable ip keepalived\nnewchain") || !strings.Contains(d, "newsetelem ip keepalived vips 2") {
		t.Errorf("retry batch:\n%s", d)
	}
}

// TestElementsByCachedKey: an element whose interface cannot be resolved
// is left out (and reported) and written by a later change; one whose
// interface has gone since is removed by the bytes it was written with.
func TestElementsByCachedKey(t *testing.T) {
	index := map[string]int{"eth0": 2}
	ins := []Instance{{Name: "V", IPv6: true, Iface: "vrrp.9", VMAC: "vrrp.9", VMACBase: "eth0", Block: true, VIPs: addrs("eth0", "fe80::9")}}
	f, r := testFirewall(t, Settings{Table: "keepalived"}, ins, index)
	if err := f.VMACUp("V"); err == nil || !strings.Contains(err.Error(), "vrrp.9") {
		t.Fatalf("VMACUp without the VMAC's index: %v", err)
	}
	if e := f.Ruleset().Table(IPv6).Set("vmac_map").Elems; len(e) != 0 {
		t.Fatalf("unwritten element recorded: %v", e)
	}
	index["vrrp.9"] = 9
	r.batches = nil
	if err := f.SetVIPs("V", true); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
newchain ip6 keepalived in
newchain ip6 keepalived in_link_local
newchain ip6 keepalived out_link_local
newset ip6 keepalived vips
newset ip6 keepalived neighbor-discovery
newsetelem ip6 keepalived neighbor-discovery 2
newrule ip6 keepalived in
newrule ip6 keepalived in
newrule ip6 keepalived out
newrule ip6 keepalived out
newrule ip6 keepalived in
newrule ip6 keepalived out
newset ip6 keepalived vips_link_local
newrule ip6 keepalived in_link_local
newrule ip6 keepalived out_link_local
newsetelem ip6 keepalived vmac_map 1
newsetelem ip6 keepalived vmac_set 1
newsetelem ip6 keepalived vips_link_local 1
end`)
	delete(index, "vrrp.9")
	if err := f.VMACDown("V"); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
delsetelem ip6 keepalived vmac_map 1
delsetelem ip6 keepalived vmac_set 1
end`)
}

// TestReload: a reload with the same settings writes the addresses that
// changed; other settings rewrite the tables under the new ones.
func TestReload(t *testing.T) {
	ins := []Instance{{Name: "A", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10", "198.51.100.11")}}
	f, r := testFirewall(t, Settings{Table: "keepalived"}, ins, nil)
	if err := f.SetVIPs("A", true); err != nil {
		t.Fatal(err)
	}
	r.batches = nil
	ins2 := []Instance{{Name: "A", Iface: "eth0", Block: true, VIPs: addrs("eth0", "198.51.100.10", "198.51.100.12")}}
	if err := f.Reload(Settings{Table: "keepalived"}, ins2); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
delsetelem ip keepalived vips 1
newsetelem ip keepalived vips 1
end`)
	if err := f.Reload(Settings{Table: "keepalived"}, ins2); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r)
	if err := f.Reload(Settings{Table: "fw", Priority: -3}, ins2); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
deltable ip keepalived
newtable ip fw
deltable ip fw
newtable ip6 fw
deltable ip6 fw
newtable ip fw
newchain ip fw out
newchain ip fw in
newset ip fw vips
newrule ip fw in
newrule ip fw out
newsetelem ip fw vips 2
end`)
	if c := f.Ruleset().Table(IPv4).Chain("in"); c.Priority != -3 {
		t.Errorf("priority %d after reload", c.Priority)
	}
	// An instance that is gone is unset.
	if err := f.Reload(Settings{Table: "fw", Priority: -3}, nil); err != nil {
		t.Fatal(err)
	}
	wantBatches(t, r, `
begin
delsetelem ip fw vips 2
end`)
}
