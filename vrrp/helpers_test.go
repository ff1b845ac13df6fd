package vrrp_test

import (
	"net/netip"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

var (
	ourAddr   = netip.MustParseAddr("198.51.100.111")
	peerLow   = netip.MustParseAddr("198.51.100.100") // lower than ours
	peerHigh  = netip.MustParseAddr("198.51.100.120") // higher than ours
	mcastAddr = netip.MustParseAddr("224.0.0.18")
	theVIP    = netip.MustParsePrefix("203.0.113.110/24")
)

// baseCfg is the seed scenario's ETH0 instance with our test addresses.
func baseCfg() vrrp.Config {
	c := vrrp.DefaultConfig()
	c.Name, c.Interface, c.VRID = "ETH0", "eth0", 10
	c.Priority = 100
	c.Model.GarpMasterDelay = 2 * time.Second
	c.AuthType, c.AuthPass = packet.AuthPass, "p@ssw0rd"
	c.VIPs = []netip.Prefix{theVIP}
	c.SrcAddr = ourAddr
	return c
}

type harness struct {
	t   *testing.T
	in  *vrrp.Instance
	cfg vrrp.Config
	now time.Duration
	seq uint32
}

func newHarness(t *testing.T, mutate func(*vrrp.Config)) *harness {
	t.Helper()
	c := baseCfg()
	if mutate != nil {
		mutate(&c)
	}
	in, err := vrrp.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, in: in, cfg: in.Config()}
}

func (h *harness) step(ev vrrp.Event) []vrrp.Action { return h.in.Step(ev) }

func (h *harness) start() []vrrp.Action { return h.step(vrrp.Start{Now: h.now}) }

// at moves the clock and ticks.
func (h *harness) at(d time.Duration) []vrrp.Action {
	h.now = d
	return h.step(vrrp.Tick{Now: d})
}

// fire ticks exactly at the next deadline.
func (h *harness) fire() []vrrp.Action {
	h.t.Helper()
	d, ok := h.in.NextDeadline()
	if !ok {
		h.t.Fatal("no deadline")
	}
	return h.at(d)
}

func (h *harness) deadline() time.Duration {
	h.t.Helper()
	d, ok := h.in.NextDeadline()
	if !ok {
		h.t.Fatal("no deadline")
	}
	return d
}

// advert builds a packet as another router with the same config would send it.
func (h *harness) advert(src netip.Addr, prio uint8) *packet.Received {
	return h.advertWith(src, prio, nil)
}

func (h *harness) advertWith(src netip.Addr, prio uint8, mutate func(*packet.Advert)) *packet.Received {
	h.t.Helper()
	c := h.cfg
	a := packet.Advert{Version: c.Version, Type: 1, VRID: c.VRID, Priority: prio, IPv6: c.IPv6}
	for _, p := range c.VIPs {
		a.Addrs = append(a.Addrs, p.Addr())
	}
	var ah *packet.AHConfig
	if c.Version == 2 {
		a.AdvertInt = uint16(c.AdvertInt / time.Second)
		a.AuthType = c.AuthType
		if c.AuthType == packet.AuthPass {
			copy(a.AuthData[:], c.AuthPass)
		}
		if c.AuthType == packet.AuthAH {
			h.seq++
			ah = &packet.AHConfig{Seq: h.seq}
			copy(ah.Key[:], c.AuthPass)
		}
	} else {
		a.AdvertInt = uint16(c.AdvertInt / (10 * time.Millisecond))
	}
	if mutate != nil {
		mutate(&a)
	}
	dst := c.McastGroup
	if c.IPv6 {
		b, err := a.Marshal(src, dst)
		if err != nil {
			h.t.Fatal(err)
		}
		r, err := packet.Parse6(b, src, dst, 255)
		if err != nil {
			h.t.Fatal(err)
		}
		return r
	}
	b, err := packet.Encode4(packet.IPv4Header{TOS: 0xc0, TTL: 255, Src: src, Dst: dst}, &a, ah)
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := packet.Parse4(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) recv(p *packet.Received) []vrrp.Action {
	return h.step(vrrp.AdvertReceived{Now: h.now, Packet: p})
}

// recvAt delivers p at time d.
func (h *harness) recvAt(d time.Duration, p *packet.Received) []vrrp.Action {
	h.now = d
	return h.recv(p)
}

func (h *harness) wantState(s vrrp.State) {
	h.t.Helper()
	if got := h.in.State(); got != s {
		h.t.Fatalf("state %v, want %v", got, s)
	}
}

func only[T vrrp.Action](acts []vrrp.Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func logs(acts []vrrp.Action) []string {
	var out []string
	for _, l := range only[vrrp.Log](acts) {
		if !l.Detail {
			out = append(out, l.Text)
		}
	}
	return out
}

func describe(acts []vrrp.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, vrrp.Describe(a))
	}
	return out
}
