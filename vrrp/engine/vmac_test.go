package engine

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/vrrp/netio"
)

// create_vmac_name's sequence.
func TestVMACName(t *testing.T) {
	for _, c := range []struct {
		prefix string
		vrid   uint8
		v6     bool
		used   []string
		want   string
	}{
		{"vrrp", 60, false, nil, "vrrp.60"},
		{"vrrp", 60, false, []string{"vrrp.60"}, "vrrp1.60"},
		{"vrrp", 60, false, []string{"vrrp.60", "vrrp1.60"}, "vrrp2.60"},
		{"vrrp", 60, true, []string{"vrrp.60"}, "vrrp6.60"},
		{"vrrp", 60, true, []string{"vrrp.60", "vrrp6.60"}, "vrrp1.60"},
		{"vrrp", 60, true, []string{"vrrp.60", "vrrp6.60", "vrrp1.60", "vrrp2.60", "vrrp3.60", "vrrp4.60", "vrrp5.60"}, "vrrp7.60"},
		{"averylongprefix", 255, false, nil, "averylongpr.255"},
		{"averylongprefix", 255, true, []string{"averylongpr.255"}, "averylongp6.255"},
	} {
		used := map[string]bool{}
		for _, u := range c.used {
			used[u] = true
		}
		if got := vmacName(c.prefix, c.vrid, c.v6, func(n string) bool { return used[n] }); got != c.want {
			t.Errorf("vmacName(%s, %d, %v, %v) = %s, want %s", c.prefix, c.vrid, c.v6, c.used, got, c.want)
		}
	}
}

// linkNet is fakeNet that makes links (a linkMaker), with existing
// interfaces of the given kinds.
type linkNet struct {
	*fakeNet
	kinds map[string]string
	vmacs map[string]string // base+MAC -> name of an existing VMAC
	made  []netio.LinkSpec
}

func (l *linkNet) EnsureLink(s netio.LinkSpec) (bool, error) {
	l.made = append(l.made, s)
	l.kinds[s.Name] = "macvlan"
	return true, nil
}
func (l *linkNet) RemoveLink(name string) error {
	l.ops = append(l.ops, "rmlink "+name)
	delete(l.kinds, name)
	return nil
}
func (l *linkNet) FindVMAC(base string, mac net.HardwareAddr) string {
	return l.vmacs[base+mac.String()]
}
func (l *linkNet) LinkKind(name string) (string, bool) {
	k, ok := l.kinds[name]
	return k, ok
}
func (l *linkNet) LinkLocal(string) (netip.Addr, error) {
	return netip.MustParseAddr("fe80::1"), nil
}

const vmacPlanConf = `
global_defs {
    vmac_prefix kg
    vmac_addr_prefix kga
}
vrrp_instance A4 {
    interface eth0
    use_vmac
    virtual_router_id 50
    virtual_ipaddress {
        198.51.100.10/24
    }
    virtual_ipaddress_excluded {
        2001:db8::10/64
    }
}
vrrp_instance A6 {
    interface eth0
    use_vmac
    vmac_xmit_base
    virtual_router_id 50
    virtual_ipaddress {
        2001:db8::20/64
    }
    virtual_ipaddress_excluded {
        198.51.100.20/24 use_vmac
        198.51.100.21/24 dev eth1
    }
}
vrrp_instance N {
    interface eth0
    use_vmac taken0
    virtual_router_id 52
    virtual_ipaddress {
        198.51.100.30/24
    }
}
vrrp_instance M {
    interface eth0
    use_vmac wrongname
    virtual_router_id 53
    virtual_ipaddress {
        198.51.100.40/24
    }
}
`

// The names, devices and links keepalived's vrrp_complete_instance would
// give: kg.50 for the IPv4 instance and kg6.50 for the IPv6 one of the
// same VRID, a name the configuration refused replaced, an existing
// matching VMAC taken over under its own name, other-family addresses on
// the configured interface, a use_vmac address on a VMAC of its own.
func TestPlanLinks(t *testing.T) {
	ln := &linkNet{fakeNet: newFakeNet(), kinds: map[string]string{"taken0": "veth", "eth1": "veth"},
		vmacs: map[string]string{"eth0" + netio.VMACAddr(53, false).String(): "oldvmac"}}
	eth := func(name string, mac byte) config.Interface {
		return config.Interface{Name: name, Index: int(mac), MTU: 1500, Up: true, Multicast: true, Kind: "veth",
			HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, mac}, Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}}
	}
	ifs := config.InterfaceSet{"eth0": eth("eth0", 1), "eth1": eth("eth1", 2), "taken0": eth("taken0", 3)}
	h := newHarnessCfg(t, loadConfWith(t, vmacPlanConf, ifs), func(o *Options) { o.Net = ln })
	var got []string
	for _, s := range ln.made {
		got = append(got, fmt.Sprintf("%s on %s v6=%v ll=%v", s.Name, s.Base, s.IPv6, s.LinkLocal))
	}
	want := []string{
		"kg.50 on eth0 v6=false ll=invalid IP",
		"kg6.50 on eth0 v6=true ll=invalid IP", // xmit_base: no link-local
		"kga.50 on eth0 v6=false ll=invalid IP",
		"kg.52 on eth0 v6=false ll=invalid IP",
		"oldvmac on eth0 v6=false ll=invalid IP",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("links made:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	devs := map[string]string{}
	for _, name := range []string{"A4", "A6"} {
		m := h.e.byName[name]
		for p, a := range m.addrs {
			devs[p.String()] = a.Dev
		}
	}
	for addr, dev := range map[string]string{
		"198.51.100.10/24": "kg.50", "2001:db8::10/64": "eth0", // other family: the configured interface
		"2001:db8::20/64": "kg6.50", "198.51.100.20/24": "kga.50", "198.51.100.21/24": "eth1",
	} {
		if devs[addr] != dev {
			t.Errorf("%s on %s, want %s", addr, devs[addr], dev)
		}
	}
	if is := h.inst("A6"); is.Interface != "eth0" || is.VMAC != "kg6.50" {
		t.Errorf("xmit_base: adverts on %s, VMAC %s", is.Interface, is.VMAC)
	}
	for _, l := range []string{
		"(M) Found matching interface oldvmac",
		"(M) vmac name mismatch wrongname <=> oldvmac. changing to oldvmac.",
	} {
		if !h.logged(l) {
			t.Errorf("not logged: %q", l)
		}
	}
	// A missing VMAC puts the instance in FAULT (it tracks its link).
	ln.links["kg.50"] = true // fakeNet: down
	h.e.linkEvent(netio.LinkEvent{Iface: "kg.50", Up: false})
	if h.inst("A4").State.String() != "FAULT" {
		t.Errorf("A4 with its VMAC down: %v", h.inst("A4").State)
	}
	h.e.shutdown()
	for _, n := range []string{"kg.50", "kga.50", "kg6.50", "kg.52", "oldvmac"} {
		if _, ok := ln.kinds[n]; ok {
			t.Errorf("%s not removed at stop: %v", n, ln.ops)
		}
	}
}

func loadConfWith(t *testing.T, text string, ifs config.InterfaceSet) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.Load(p, config.Options{Hostname: "test", Interfaces: ifs})
	if diags.Fatal() {
		t.Fatalf("config: %v", diags)
	}
	cfg.ResolveScripts(script.NewResolver(nil, "", "", false))
	return cfg
}

// newHarnessCfg is newHarness on a loaded configuration.
func newHarnessCfg(t *testing.T, cfg *config.Config, mod func(*Options)) *harness {
	t.Helper()
	lg, hook := test.NewNullLogger()
	h := &harness{t: t, net: newFakeNet(), logs: hook, posted: make(chan func(), 16)}
	opts := Options{Log: logrus.NewEntry(lg), Net: h.net, Now: func() time.Duration { return h.now }, OnEvent: func(Event) {}}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.post = func(f func()) { h.posted <- f }
	h.e = e
	e.begin(context.Background())
	return h
}
