package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/config"
	"keepalived-go/vrrp"
	"keepalived-go/vrrp/iproute"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/nftfw"
)

// kernelNet is fakeNet with the interface's addresses listed (addrLister).
type kernelNet struct {
	*fakeNet
	ifAddrs map[string][]netio.IfAddr
}

func (k *kernelNet) IfAddrs(iface string) ([]netio.IfAddr, error) { return k.ifAddrs[iface], nil }

// fakeFW records the firewall calls, interleaved with the net's ops.
type fakeFW struct {
	ops    *[]string
	reload []nftfw.Settings
}

func (f *fakeFW) SetVIPs(name string, on bool) error {
	*f.ops = append(*f.ops, fmt.Sprintf("fw %s %v", name, on))
	return nil
}
func (f *fakeFW) VMACUp(name string) error { *f.ops = append(*f.ops, "fw vmac up "+name); return nil }
func (f *fakeFW) VMACDown(name string) error {
	*f.ops = append(*f.ops, "fw vmac down "+name)
	return nil
}
func (f *fakeFW) Reload(s nftfw.Settings, _ []nftfw.Instance) error {
	f.reload = append(f.reload, s)
	*f.ops = append(*f.ops, "fw reload "+s.Table)
	return nil
}
func (f *fakeFW) Stop() error  { *f.ops = append(*f.ops, "fw stop"); return nil }
func (f *fakeFW) Close() error { *f.ops = append(*f.ops, "fw close"); return nil }

// fakeRT is a RouteHandle that records requests and sets what it adds.
type fakeRT struct {
	ops    *[]string
	refuse map[string]bool // routes/rules (String) the kernel refuses
}

func (f *fakeRT) Route(r *config.Route, cmd iproute.Cmd) error {
	*f.ops = append(*f.ops, fmt.Sprintf("route %s %s", cmd, r))
	if f.refuse[r.String()] {
		return unix.EINVAL
	}
	return nil
}
func (f *fakeRT) Rule(r *config.Rule, cmd iproute.Cmd) error {
	*f.ops = append(*f.ops, fmt.Sprintf("rule %s %s", cmd, r))
	return nil
}
func (f *fakeRT) RouteList(l []*iproute.RouteState, cmd iproute.Cmd, force bool) (bool, []error) {
	var errs []error
	for _, st := range l {
		if (cmd == iproute.Del) != st.Set && !force {
			continue
		}
		err := f.Route(st.Route, cmd)
		st.Set = err == nil && cmd == iproute.Add
		if err != nil {
			errs = append(errs, err)
		}
	}
	return len(l) > 0, errs
}
func (f *fakeRT) RuleList(l []*iproute.RuleState, cmd iproute.Cmd, force bool) []error {
	for _, st := range l {
		if !force && (cmd == iproute.Add) == st.Set {
			continue
		}
		f.Rule(st.Rule, cmd)
		st.Set = cmd == iproute.Add
	}
	return nil
}
func (f *fakeRT) ReplaceRoutes(old, new []*iproute.RouteState) []error {
	*f.ops = append(*f.ops, fmt.Sprintf("replace routes %d->%d", len(old), len(new)))
	return nil
}
func (f *fakeRT) ReplaceRules(old, new []*iproute.RuleState) []error {
	*f.ops = append(*f.ops, fmt.Sprintf("replace rules %d->%d", len(old), len(new)))
	return nil
}
func (f *fakeRT) Index(string) uint32 { return 2 }
func (f *fakeRT) PID() uint32         { return 77 }
func (f *fakeRT) Close() error        { return nil }

type kernelHarness struct {
	*harness
	kn *kernelNet
	fw *fakeFW
	rt *fakeRT
}

// newKernelHarness starts conf with eth0 holding 198.51.100.11/24.
func newKernelHarness(t *testing.T, conf string, mod func(*Options)) *kernelHarness {
	t.Helper()
	kh := &kernelHarness{}
	var made *harness
	made = newHarness(t, conf, func(o *Options) {
		kn := &kernelNet{fakeNet: o.Net.(*fakeNet), ifAddrs: map[string][]netio.IfAddr{
			"eth0": {{Prefix: netip.MustParsePrefix("198.51.100.11/24")}},
		}}
		kh.kn = kn
		o.Net = kn
		kh.fw = &fakeFW{ops: &kn.ops}
		kh.rt = &fakeRT{ops: &kn.ops, refuse: map[string]bool{}}
		o.Firewall, o.Routes = kh.fw, kh.rt
		if mod != nil {
			mod(o)
		}
	})
	kh.harness = made
	return kh
}

func (h *kernelHarness) opsSince(n int) []string { return slices.Clone(h.kn.ops[n:]) }

func (h *kernelHarness) state(name string) vrrp.State { return h.inst(name).State }

const strictConf = `global_defs {
   vrrp_strict
}
vrrp_instance VI {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_ipaddress_excluded {
        2001:db8:1::5
    }
    virtual_routes {
        203.0.113.0/24 via 198.51.100.1 dev eth0
    }
    virtual_rules {
        from 203.0.113.0/24 table 100
    }
}
`

// A MASTER adds the firewall before its addresses and its routes and
// rules after them; leaving MASTER undoes it in the reverse order
// (vrrp_state_become_master, vrrp_restore_interface).
func TestKernelMasterOrder(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	n := len(h.kn.ops)
	h.advance(4 * time.Second)
	if h.state("VI") != vrrp.StateMaster {
		t.Fatalf("state %v", h.state("VI"))
	}
	got := h.opsSince(n)
	want := []string{
		"fw VI true",
		"add 198.51.100.10/24 dev eth0",
		"add 2001:db8:1::5/128 dev eth0",
		"route add prepend 203.0.113.0/24 via inet 198.51.100.1 dev eth0 proto 18",
		"rule add from 203.0.113.0/24 priority 16384 tos 0x0 protocol 18 lookup 100",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ops\n got %q\nwant %q", got, want)
	}
	is := h.inst("VI")
	if len(is.Addresses) != 2 || !is.Addresses[0].Set || !is.Addresses[1].Set || !is.Addresses[1].Excluded ||
		len(is.Routes) != 1 || !is.Routes[0].Set || len(is.Rules) != 1 || !is.Rules[0].Set {
		t.Fatalf("status %+v %+v %+v", is.Addresses, is.Routes, is.Rules)
	}
	n = len(h.kn.ops)
	h.e.shutdown()
	got = h.opsSince(n)
	want = []string{
		"rule delete from 203.0.113.0/24 priority 16384 tos 0x0 protocol 18 lookup 100",
		"route delete prepend 203.0.113.0/24 via inet 198.51.100.1 dev eth0 proto 18",
		"del 198.51.100.10/24 dev eth0",
		"del 2001:db8:1::5/128 dev eth0",
		"fw VI false",
		"fw stop",
		"fw close",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stop ops\n got %q\nwant %q", got, want)
	}
}

// A VIP deleted by hand under the MASTER: BACKUP, then MASTER again
// after Skew_Time with the address back (issue 19 finding 1).
func TestKernelVIPRemovedIsPutBack(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	h.advance(4 * time.Second)
	n := len(h.kn.ops)
	h.e.addrEvent(netio.AddrEvent{Deleted: true, Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.10/24")})
	if h.state("VI") != vrrp.StateBackup {
		t.Fatalf("state %v after the VIP went", h.state("VI"))
	}
	h.advance(414 * time.Millisecond)
	if h.state("VI") != vrrp.StateBackup {
		t.Fatal("back before Skew_Time")
	}
	h.advance(time.Millisecond)
	if h.state("VI") != vrrp.StateMaster {
		t.Fatalf("not MASTER again after Skew_Time: %v", h.state("VI"))
	}
	ops := h.opsSince(n)
	if !slices.Contains(ops, "add 198.51.100.10/24 dev eth0") {
		t.Fatalf("VIP not added back: %q", ops)
	}
	// An address of no instance, or a no_track one, changes nothing.
	h.e.addrEvent(netio.AddrEvent{Deleted: true, Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.99/24")})
	if h.state("VI") != vrrp.StateMaster {
		t.Fatal("an unrelated address moved the instance")
	}
}

// The primary address removed: FAULT (priority 0 sent); another address
// of the interface takes over without a fault; the address back: BACKUP
// (issue 19 finding 2).
func TestKernelSourceAddress(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	h.advance(4 * time.Second)
	h.kn.ifAddrs["eth0"] = []netio.IfAddr{{Prefix: netip.MustParsePrefix("198.51.100.12/24")}}
	h.e.addrEvent(netio.AddrEvent{Deleted: true, Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.11/24")})
	if is := h.inst("VI"); is.State != vrrp.StateMaster || is.SrcAddr != netip.MustParseAddr("198.51.100.12") {
		t.Fatalf("promotion: %v from %v", is.State, is.SrcAddr)
	}
	h.kn.ifAddrs["eth0"] = nil
	sent := len(h.net.sent)
	h.e.addrEvent(netio.AddrEvent{Deleted: true, Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.12/24")})
	if is := h.inst("VI"); is.State != vrrp.StateFault || !is.NoAddress || !slices.Contains(is.Faults, faultAddress) {
		t.Fatalf("no address: %v %v", is.State, is.Faults)
	}
	if len(h.net.sent) == sent || h.net.sent[len(h.net.sent)-1].b[22] != 0 {
		t.Fatal("no priority 0 advert on the way to FAULT")
	}
	// A VIP coming back is no source.
	h.e.addrEvent(netio.AddrEvent{Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.10/24")})
	if h.state("VI") != vrrp.StateFault {
		t.Fatal("a VIP was taken as the source")
	}
	h.e.addrEvent(netio.AddrEvent{Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.11/24")})
	if is := h.inst("VI"); is.State != vrrp.StateBackup || is.SrcAddr != netip.MustParseAddr("198.51.100.11") {
		t.Fatalf("address back: %v from %v", is.State, is.SrcAddr)
	}
}

// An interface without an IPv4 address: FAULT from the start, with
// keepalived's line, and never MASTER (issue 19 finding 3).
func TestKernelNoAddressAtStart(t *testing.T) {
	h := newKernelHarness(t, strictConf, func(o *Options) {
		o.Net.(*kernelNet).ifAddrs["eth0"] = []netio.IfAddr{{Prefix: netip.MustParsePrefix("fe80::1/64"), Scope: unix.RT_SCOPE_LINK}}
	})
	if !h.logged("(VI) entering FAULT state (no IPv4 address for interface)") {
		t.Fatal("keepalived's line not logged")
	}
	h.advance(10 * time.Second)
	if h.state("VI") != vrrp.StateFault || len(h.net.sent) != 0 || len(h.net.addrs) != 0 {
		t.Fatalf("state %v, sent %d, addrs %v", h.state("VI"), len(h.net.sent), h.net.addrs)
	}
	h.e.addrEvent(netio.AddrEvent{Iface: "eth0", Prefix: netip.MustParsePrefix("198.51.100.11/24")})
	if h.state("VI") != vrrp.StateBackup {
		t.Fatalf("state %v after the address came", h.state("VI"))
	}
}

// A virtual route deleted under the MASTER (the kernel's RTM_DELROUTE
// for keepalived's own route) sends it to BACKUP, and back after
// Skew_Time with the route added again.
func TestKernelRouteDeleted(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	h.advance(4 * time.Second)
	cfg := h.e.cfg.Instances[0]
	msg := iproute.RouteMessage(&cfg.Routes[0], iproute.Add, func(string) uint32 { return 2 })
	h.e.routeEvent(netlink.Message{Header: netlink.Header{Type: unix.RTM_DELROUTE}, Data: msg.Data})
	if h.state("VI") != vrrp.StateBackup || h.inst("VI").Routes[0].Set {
		t.Fatalf("state %v after the route went", h.state("VI"))
	}
	n := len(h.kn.ops)
	h.advance(time.Second)
	if h.state("VI") != vrrp.StateMaster || !slices.Contains(h.opsSince(n), "route add prepend 203.0.113.0/24 via inet 198.51.100.1 dev eth0 proto 18") {
		t.Fatalf("state %v, ops %q", h.state("VI"), h.opsSince(n))
	}
	// The notification of our own deletion (our socket's port id) is not
	// a deletion by someone else.
	h.e.routeEvent(netlink.Message{Header: netlink.Header{Type: unix.RTM_DELRULE, PID: 77}, Data: iproute.RuleMessage(&cfg.Rules[0], iproute.Add).Data})
	if h.state("VI") != vrrp.StateMaster {
		t.Fatal("our own rule deletion moved the instance")
	}
}

// Static addresses, routes and rules: set before the instances start,
// put back when removed by someone else, removed at stop.
func TestKernelStatics(t *testing.T) {
	h := newKernelHarness(t, `static_ipaddress {
    203.0.113.7/24 dev eth0 label eth0:st
}
static_routes {
    203.0.113.64/26 via 198.51.100.1 dev eth0
}
static_rules {
    from 203.0.113.7 table 200
}
`+strictConf[strings.Index(strictConf, "vrrp_instance"):], nil)
	ops := h.opsSince(0)
	want := []string{"rule delete from 203.0.113.7 priority 16384 tos 0x0 protocol 18 lookup 200", "add 203.0.113.7/24 dev eth0",
		"route add prepend 203.0.113.64/26 via inet 198.51.100.1 dev eth0 proto 18", "rule add from 203.0.113.7 priority 16384 tos 0x0 protocol 18 lookup 200"}
	if len(ops) < 4 || !slices.Equal(ops[:4], want) {
		t.Fatalf("start ops\n got %q\nwant %q...", ops, want)
	}
	n := len(h.kn.ops)
	h.e.addrEvent(netio.AddrEvent{Deleted: true, Iface: "eth0", Prefix: netip.MustParsePrefix("203.0.113.7/24")})
	if !slices.Equal(h.opsSince(n), []string{"add 203.0.113.7/24 dev eth0"}) ||
		!h.logged("Restoring deleted static address 203.0.113.7/24 dev eth0 scope global label eth0:st set") {
		t.Fatalf("not restored: %q", h.opsSince(n))
	}
	// The interface down and up again: keepalived's interface_up puts the
	// static address and route on it back (static_track_group_reinstate_config).
	h.e.linkEvent(netio.LinkEvent{Iface: "eth0", Up: false})
	n = len(h.kn.ops)
	h.e.linkEvent(netio.LinkEvent{Iface: "eth0", Up: true})
	if up := h.opsSince(n); !slices.Contains(up, "add 203.0.113.7/24 dev eth0") ||
		!slices.Contains(up, "route add prepend 203.0.113.64/26 via inet 198.51.100.1 dev eth0 proto 18") ||
		!h.logged("Restoring deleted static route prepend 203.0.113.64/26 via inet 198.51.100.1 dev eth0 proto 18") {
		t.Fatalf("link up: %q", up)
	}
	st := h.e.status()
	if len(st.StaticAddresses) != 1 || !st.StaticAddresses[0].Set || !st.StaticRoutes[0].Set || !st.StaticRules[0].Set {
		t.Fatalf("status %+v", st)
	}
	n = len(h.kn.ops)
	h.e.shutdown()
	got := h.opsSince(n)
	if !slices.Equal(got[len(got)-5:], []string{"rule delete from 203.0.113.7 priority 16384 tos 0x0 protocol 18 lookup 200",
		"route delete prepend 203.0.113.64/26 via inet 198.51.100.1 dev eth0 proto 18", "del 203.0.113.7/24 dev eth0", "fw stop", "fw close"}) {
		t.Fatalf("stop ops %q", got)
	}
}

// A reload that changes the nftables table name is refused, with
// keepalived's message; one that keeps it reaches the firewall.
func TestKernelReloadTableName(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	err := h.e.applyReload(loadConf(t, strings.Replace(strictConf, "vrrp_strict", "vrrp_strict\n   nftables other", 1)))
	if !errors.Is(err, ErrTableName) || !h.logged("Cannot change nftables table name at a reload - please restart keepalived") {
		t.Fatalf("err %v", err)
	}
	if len(h.fw.reload) != 0 {
		t.Fatal("the refused reload reached the firewall")
	}
	if err := h.e.applyReload(loadConf(t, strings.Replace(strictConf, "198.51.100.10/24", "198.51.100.20/24", 1))); err != nil {
		t.Fatal(err)
	}
	if len(h.fw.reload) != 1 || h.fw.reload[0].Table != "keepalived" {
		t.Fatalf("firewall reloads %+v", h.fw.reload)
	}
}

// A reload that changes only an instance's routes keeps its state and
// replaces the routes (clear_diff_vrrp_vroutes, restore_vrrp_state).
func TestKernelReloadRoutes(t *testing.T) {
	h := newKernelHarness(t, strictConf, nil)
	h.advance(4 * time.Second)
	n := len(h.kn.ops)
	next := strings.Replace(strictConf, "203.0.113.0/24 via", "203.0.113.128/25 via", 1)
	if err := h.e.applyReload(loadConf(t, next)); err != nil {
		t.Fatal(err)
	}
	ops := h.opsSince(n)
	if h.state("VI") != vrrp.StateMaster || !slices.Contains(ops, "replace routes 1->1") ||
		!slices.Contains(ops, "route add prepend 203.0.113.128/25 via inet 198.51.100.1 dev eth0 proto 18") {
		t.Fatalf("state %v ops %q", h.state("VI"), ops)
	}
}

// With use_vmac an address of the other family goes on the configured
// interface, not on the VMAC (vrrp_complete_instance).
func TestVMACOtherFamilyOnBase(t *testing.T) {
	h := newKernelHarness(t, strings.Replace(strictConf, "    advert_int 1\n", "    advert_int 1\n    use_vmac\n", 1), nil)
	is := h.inst("VI")
	if is.Addresses[0].Dev != "vrrp.51" || is.Addresses[1].Dev != "eth0" {
		t.Fatalf("devs %s %s", is.Addresses[0].Dev, is.Addresses[1].Dev)
	}
	if !slices.Contains(h.kn.ops, "fw vmac up VI") {
		t.Fatalf("VMACUp not called: %q", h.kn.ops)
	}
}
