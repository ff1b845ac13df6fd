package vrrptest

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

var (
	simRuns = flag.Int("sim.runs", 3000, "seeded random runs in TestRandomRuns")
	simSeed = flag.Int64("sim.seed", -1, "run only this seed, with a trace")
)

// scenario is one random run: configs plus the knobs that decide what the
// end state must be.
type scenario struct {
	cfgs      []vrrp.Config
	noPreempt bool // some router has nopreempt: the winner is not determined
	maxDelay  time.Duration
}

func randomScenario(rng *rand.Rand) scenario {
	var s scenario
	n := 2 + rng.IntN(4)
	version := uint8(2 + rng.IntN(2))
	ipv6 := rng.IntN(4) == 0
	adv := time.Second
	if version == 2 && rng.IntN(4) == 0 {
		adv = 2 * time.Second
	}
	if version == 3 {
		adv = time.Duration(10+rng.IntN(91)) * 10 * time.Millisecond
	}
	auth := packet.AuthNone
	if version == 2 && !ipv6 {
		auth = []packet.AuthType{packet.AuthNone, packet.AuthPass, packet.AuthAH}[rng.IntN(3)]
	}
	unicast := rng.IntN(4) == 0
	owner := -1
	if rng.IntN(5) == 0 {
		owner = rng.IntN(n)
	}
	var addrs []netip.Addr
	for i := range n {
		if ipv6 {
			addrs = append(addrs, netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 0x10+i)))
		} else {
			addrs = append(addrs, netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", 10+i)))
		}
	}
	vip := netip.MustParsePrefix("203.0.113.10/24")
	if ipv6 {
		vip = netip.MustParsePrefix("2001:db8:1::10/64")
	}
	for i := range n {
		c := vrrp.DefaultConfig()
		c.Name, c.Interface, c.VRID = "VI_1", "eth0", 51
		c.Version, c.IPv6, c.AdvertInt = version, ipv6, adv
		c.SrcAddr = addrs[i]
		c.VIPs = []netip.Prefix{vip}
		c.AuthType, c.AuthPass = auth, "s3cret"
		// Few distinct values so that equal priorities (address tie-break) happen.
		c.Priority = uint8(50 * (1 + rng.IntN(4)))
		if i == owner {
			c.Priority = 255
		}
		if rng.IntN(3) == 0 {
			c.InitialState = vrrp.StateMaster
		}
		if rng.IntN(8) == 0 && c.Priority != 255 && c.InitialState != vrrp.StateMaster {
			c.NoPreempt = true
			s.noPreempt = true
		} else if rng.IntN(6) == 0 {
			c.PreemptDelay = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		c.Model.HigherPrioSendAdvert = rng.IntN(4) == 0
		c.Model.LowerPrioNoAdvert = rng.IntN(4) == 0
		c.Model.GarpMasterRefresh = time.Duration(rng.IntN(2)) * 3 * time.Second
		if unicast {
			for j, a := range addrs {
				if j != i {
					c.UnicastPeers = append(c.UnicastPeers, a)
				}
			}
			c.CheckUnicastSrc = true
		}
		s.cfgs = append(s.cfgs, c)
	}
	return s
}

// settle bounds how long a healed, loss-free network may still have more
// than one master. Worst case: nobody is master at the heal, so a backup
// takes over after its Master_Down_Interval (3 adverts plus a skew of at
// most 1 s for VRRPv2, one interval for VRRPv3); a higher priority backup
// then waits out its preempt delay and its own Master_Down_Interval before
// preempting; the deposed master needs one more advert and the wire and
// timer slack to hear it. With AH, equal-priority masters can be stuck in
// lock step (see the handover check) until jitter separates them.
func (s scenario) settle(n *Network) time.Duration {
	var d time.Duration
	for _, c := range s.cfgs {
		skew := time.Second
		if c.Version == 3 {
			skew = c.AdvertInt
		}
		d = max(d, c.PreemptDelay+2*(3*c.AdvertInt+skew))
	}
	d += s.cfgs[0].AdvertInt + 2*n.MaxDelay + n.TickJitter
	if s.cfgs[0].AuthType == packet.AuthAH {
		d += 60 * s.cfgs[0].AdvertInt
	}
	return d
}

// alwaysInvariant holds after every single step, chaos or not: only a
// MASTER holds the VIPs.
func alwaysInvariant(n *Network) error {
	for _, r := range n.Routers {
		if r.Running && r.HasVIPs != (r.Inst.State() == vrrp.StateMaster) {
			return fmt.Errorf("r%d is %v but HasVIPs=%v", r.ID, r.Inst.State(), r.HasVIPs)
		}
	}
	return nil
}

func runScenario(seed uint64, trace func(string)) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := randomScenario(rng)
	n, err := New(seed, s.cfgs...)
	if err != nil {
		return err
	}
	n.Trace = trace
	n.Check = alwaysInvariant
	adv := s.cfgs[0].AdvertInt
	for i := range n.Routers {
		if rng.IntN(4) != 0 {
			n.Start(i)
		}
	}
	// Chaos: random faults while time runs.
	for range 4 + rng.IntN(10) {
		i := rng.IntN(len(n.Routers))
		switch rng.IntN(11) {
		case 0:
			n.Start(i)
		case 1:
			n.Stop(i)
		case 2:
			n.Crash(i)
			n.Start(i)
		case 3:
			n.SetIface(i, false)
		case 4:
			n.SetIface(i, true)
		case 5:
			n.SetWeight(i, rng.IntN(101)-50)
		case 6:
			n.Cut(i, rng.IntN(len(n.Routers)))
		case 7:
			n.Isolate(i)
		case 8:
			n.Heal()
		case 9:
			n.Loss = rng.Float64() * 0.4
		case 10:
			n.MaxDelay = time.Duration(rng.Int64N(int64(adv)))
		}
		if err := n.Run(n.Now + time.Duration(rng.Int64N(int64(4*adv)))); err != nil {
			return err
		}
	}
	// Quiet: heal everything, bring the interfaces back, at least one router up.
	n.Heal()
	n.Loss, n.MaxDelay = 0, time.Millisecond
	for i := range n.Routers {
		n.SetIface(i, true)
	}
	if len(n.Healthy()) == 0 {
		n.Start(0)
	}
	if err := n.Run(n.Now + s.settle(n)); err != nil {
		return err
	}
	n.Check = func(n *Network) error {
		if err := alwaysInvariant(n); err != nil {
			return err
		}
		m := n.Masters()
		if len(m) != 1 {
			return fmt.Errorf("masters %v after settling: %s", m, n.Describe())
		}
		// Equal priorities do not preempt each other: a BACKUP accepts an
		// advert of equal priority (RFC 5798 §6.4.2, keepalived
		// vrrp_state_backup); the address only breaks ties between masters.
		if want := n.Expected(); !s.noPreempt && n.Routers[m[0]].Inst.Priority() != n.Routers[want].Inst.Priority() {
			return fmt.Errorf("master r%d, want priority of r%d (preempt): %s", m[0], want, n.Describe())
		}
		return nil
	}
	if err := n.Run(n.Now + 5*adv); err != nil {
		return err
	}

	// Handover: the master stops cleanly; its priority 0 advert must bring
	// a new master within the Skew_Time of the best remaining router.
	m := n.Masters()[0]
	n.Check = alwaysInvariant
	n.Stop(m)
	if len(n.Healthy()) == 0 {
		return nil
	}
	best := n.Routers[n.Expected()]
	limit := n.Now + best.Inst.SkewTime() + n.MaxDelay + n.TickJitter
	if err := n.Run(limit); err != nil {
		return err
	}
	if len(n.Masters()) == 0 {
		return fmt.Errorf("no master within Skew_Time %v of r%d stopping: %s", best.Inst.SkewTime(), m, n.Describe())
	}
	// With AH, two routers of equal priority that time out together both
	// send sequence number N+1, and each drops the other's as a replay
	// (keepalived's shared send/receive counter): they stay masters until
	// timer jitter moves their adverts further apart than the wire delay.
	// keepalived behaves the same; give it time.
	wait := n.MaxMasterDown() + 2*adv
	if s.cfgs[0].AuthType == packet.AuthAH {
		wait = 60 * adv
	}
	if err := n.Run(n.Now + wait); err != nil {
		return err
	}
	if got := n.Masters(); len(got) != 1 {
		return fmt.Errorf("masters %v after handover: %s", got, n.Describe())
	}
	return nil
}

// TestRandomRuns runs thousands of seeded random runs. After chaos
// (partitions, loss, delay, crashes, restarts, interface and priority
// changes) the network is healed; once it has been quiet for the slowest
// Master_Down_Interval plus preempt delay, there must be exactly one MASTER,
// holding the VIPs, and with preempt it must be the highest priority
// (ties: whoever holds it). Then the master stops: its priority 0 advert
// must produce a new master within Skew_Time, and a single one after a
// Master_Down_Interval. Reproduce a failure with -sim.seed=N.
func TestRandomRuns(t *testing.T) {
	if *simSeed >= 0 {
		var b strings.Builder
		err := runScenario(uint64(*simSeed), func(s string) { b.WriteString(s + "\n") })
		t.Log(b.String())
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	runs := *simRuns
	if testing.Short() {
		runs /= 10
	}
	failed := 0
	for seed := range runs {
		if err := runScenario(uint64(seed), nil); err != nil {
			c := randomScenario(rand.New(rand.NewPCG(uint64(seed), 7))).cfgs[0]
			t.Errorf("seed %d (v%d ipv6=%v auth=%v adv=%v unicast=%v): %v", seed, c.Version, c.IPv6, c.AuthType, c.AdvertInt, len(c.UnicastPeers) > 0, err)
			if failed++; failed > 5 {
				t.FailNow()
			}
		}
	}
}
