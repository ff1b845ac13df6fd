// Package vrrptest simulates VRRP routers on one L2 segment, deterministically:
// a fake clock, an in-flight packet queue with loss, delay and partitions,
// and a seeded RNG, in the manner of etcd raft's rafttest and the network
// type of raft_test.go. Packets go through the real codec: every advert is
// encoded with SendAdvert.Encode and framed with packet.Parse4/Parse6.
package vrrptest

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// Router is one simulated node.
type Router struct {
	ID      int
	Cfg     vrrp.Config
	Inst    *vrrp.Instance // nil while stopped
	Running bool
	// HasVIPs follows AddVIPs/DelVIPs, as the kernel would.
	HasVIPs bool
	// Actions collects everything the instance returned, when Record is set.
	Actions []vrrp.Action
	// Notifies collects Notify actions.
	Notifies []vrrp.Notify

	ifaceDown bool
	ipID      uint16
	deadline  time.Duration // last NextDeadline seen
	tickAt    time.Duration // when its Tick is delivered: deadline + jitter
}

type inflight struct {
	at    time.Duration
	seq   uint64
	from  int
	to    int
	bytes []byte
	src   netip.Addr
	dst   netip.Addr
}

type queue []*inflight

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*inflight)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Network is the simulated segment.
type Network struct {
	Now     time.Duration
	Routers []*Router
	RNG     *rand.Rand

	// Loss is the probability that one delivery is dropped.
	Loss float64
	// MinDelay..MaxDelay is the one-way delay range.
	MinDelay, MaxDelay time.Duration
	// TickJitter delays each timer by up to this much, as a real event loop
	// does. Without it, routers started at the same instant stay in exact
	// lock step, which no real network sees.
	TickJitter time.Duration
	// Record keeps every action in Router.Actions.
	Record bool
	// Trace, when set, receives one line per step.
	Trace func(string)
	// Check runs after every step; a non-nil error stops Run.
	Check func(*Network) error

	q       queue
	seq     uint64
	cut     map[[2]int]bool
	last    map[[2]int]time.Duration // last delivery time per link: a segment does not reorder
	Sent    int                      // adverts put on the wire
	Dropped int
}

// New builds a network of routers from cfgs (not started). seed fixes every
// random choice of the run.
func New(seed uint64, cfgs ...vrrp.Config) (*Network, error) {
	n := &Network{
		RNG:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		MinDelay:   100 * time.Microsecond,
		MaxDelay:   time.Millisecond,
		TickJitter: time.Millisecond,
		cut:        map[[2]int]bool{},
		last:       map[[2]int]time.Duration{},
	}
	for i, c := range cfgs {
		in, err := vrrp.New(c)
		if err != nil {
			return nil, err
		}
		n.Routers = append(n.Routers, &Router{ID: i, Cfg: c, Inst: in})
	}
	return n, nil
}

func (n *Network) trace(format string, a ...any) {
	if n.Trace != nil {
		n.Trace(fmt.Sprintf("%8.3fs ", n.Now.Seconds()) + fmt.Sprintf(format, a...))
	}
}

// Start starts router i (a fresh instance if it was stopped).
func (n *Network) Start(i int) error {
	r := n.Routers[i]
	if r.Running {
		return nil
	}
	if r.Inst == nil {
		in, err := vrrp.New(r.Cfg)
		if err != nil {
			return err
		}
		r.Inst = in
	}
	r.Running = true
	if r.ifaceDown {
		n.step(r, vrrp.IfaceDown{Now: n.Now})
	}
	n.step(r, vrrp.Start{Now: n.Now})
	return nil
}

// Stop shuts router i down cleanly (priority 0 advert if MASTER).
func (n *Network) Stop(i int) {
	r := n.Routers[i]
	if !r.Running {
		return
	}
	n.step(r, vrrp.Shutdown{Now: n.Now})
	r.Running = false
	r.Inst = nil
}

// Crash kills router i without a word: no priority 0, VIPs vanish.
func (n *Network) Crash(i int) {
	r := n.Routers[i]
	r.Running, r.Inst, r.HasVIPs = false, nil, false
	n.trace("r%d crash", i)
}

// SetIface reports router i's interface down or up.
func (n *Network) SetIface(i int, up bool) {
	r := n.Routers[i]
	r.ifaceDown = !up
	if r.Running {
		if up {
			n.step(r, vrrp.IfaceUp{Now: n.Now})
		} else {
			n.step(r, vrrp.IfaceDown{Now: n.Now})
		}
	}
}

// SetWeight sets router i's total tracking weight.
func (n *Network) SetWeight(i, w int) {
	if r := n.Routers[i]; r.Running {
		n.step(r, vrrp.PriorityChanged{Now: n.Now, Weight: w})
	}
}

// Cut drops everything between a and b, both ways.
func (n *Network) Cut(a, b int) {
	n.cut[[2]int{a, b}], n.cut[[2]int{b, a}] = true, true
}

// Isolate cuts i from everyone.
func (n *Network) Isolate(i int) {
	for j := range n.Routers {
		if j != i {
			n.Cut(i, j)
		}
	}
}

// Heal removes all cuts.
func (n *Network) Heal() { clear(n.cut) }

// Partitioned reports whether any link is cut.
func (n *Network) Partitioned() bool { return len(n.cut) > 0 }

func (n *Network) step(r *Router, ev vrrp.Event) {
	acts := r.Inst.Step(ev)
	n.trace("r%d %T", r.ID, ev)
	n.perform(r, acts)
}

func (n *Network) perform(r *Router, acts []vrrp.Action) {
	for _, a := range acts {
		if n.Record {
			r.Actions = append(r.Actions, a)
		}
		if n.Trace != nil {
			n.trace("r%d   %s", r.ID, vrrp.Describe(a))
		}
		switch a := a.(type) {
		case vrrp.SendAdvert:
			n.send(r, a)
		case vrrp.AddVIPs:
			r.HasVIPs = true
		case vrrp.DelVIPs:
			r.HasVIPs = false
		case vrrp.Notify:
			r.Notifies = append(r.Notifies, a)
		}
	}
}

func (n *Network) send(r *Router, a vrrp.SendAdvert) {
	if r.ifaceDown {
		return
	}
	for _, dst := range a.Dsts {
		r.ipID++
		b, err := a.Encode(dst, r.ipID)
		if err != nil {
			panic(fmt.Sprintf("r%d cannot encode its advert: %v", r.ID, err))
		}
		n.Sent++
		for _, to := range n.Routers {
			if to == r {
				continue
			}
			if !dst.IsMulticast() && to.Cfg.SrcAddr != dst {
				continue
			}
			if n.cut[[2]int{r.ID, to.ID}] || n.Loss > 0 && n.RNG.Float64() < n.Loss {
				n.Dropped++
				continue
			}
			d := n.MinDelay
			if n.MaxDelay > n.MinDelay {
				d += time.Duration(n.RNG.Int64N(int64(n.MaxDelay - n.MinDelay)))
			}
			at := max(n.Now+d, n.last[[2]int{r.ID, to.ID}])
			n.last[[2]int{r.ID, to.ID}] = at
			n.seq++
			heap.Push(&n.q, &inflight{at: at, seq: n.seq, from: r.ID, to: to.ID, bytes: b, src: a.Src, dst: dst})
		}
	}
}

// tickTime is when router r gets its next Tick, if it has a deadline.
func (n *Network) tickTime(r *Router) (time.Duration, bool) {
	d, ok := r.Inst.NextDeadline()
	if !ok {
		return 0, false
	}
	if d != r.deadline || r.tickAt < d {
		r.deadline, r.tickAt = d, d
		if n.TickJitter > 0 {
			r.tickAt += time.Duration(n.RNG.Int64N(int64(n.TickJitter)))
		}
	}
	return r.tickAt, true
}

// next returns the time of the next thing to happen.
func (n *Network) next() (time.Duration, bool) {
	at, ok := time.Duration(1<<62), false
	if len(n.q) > 0 {
		at, ok = n.q[0].at, true
	}
	for _, r := range n.Routers {
		if !r.Running {
			continue
		}
		if d, has := n.tickTime(r); has && d < at {
			at, ok = d, true
		}
	}
	return at, ok
}

// MaxSteps bounds the events one Run may process, so a livelock shows as
// an error instead of a hung test.
const MaxSteps = 100000

// Run processes events until the clock reaches until.
func (n *Network) Run(until time.Duration) error {
	for steps := 0; ; steps++ {
		if steps == MaxSteps {
			return fmt.Errorf("at %v: more than %d events before %v (livelock?): %s", n.Now, MaxSteps, until, n.Describe())
		}
		at, ok := n.next()
		if !ok || at > until {
			n.Now = max(n.Now, until)
			return nil
		}
		n.Now = max(n.Now, at)
		if len(n.q) > 0 && n.q[0].at <= n.Now {
			p := heap.Pop(&n.q).(*inflight)
			n.deliver(p)
		} else {
			for _, r := range n.Routers {
				if !r.Running {
					continue
				}
				if d, has := n.tickTime(r); has && d <= n.Now {
					n.step(r, vrrp.Tick{Now: n.Now})
					break
				}
			}
		}
		if n.Check != nil {
			if err := n.Check(n); err != nil {
				return fmt.Errorf("at %v: %w", n.Now, err)
			}
		}
	}
}

func (n *Network) deliver(p *inflight) {
	r := n.Routers[p.to]
	if !r.Running || r.ifaceDown || n.cut[[2]int{p.from, p.to}] {
		return
	}
	var rcv *packet.Received
	var err error
	if r.Cfg.IPv6 {
		rcv, err = packet.Parse6(p.bytes, p.src, p.dst, packet.TTL)
	} else {
		rcv, err = packet.Parse4(p.bytes)
	}
	if err != nil {
		panic(fmt.Sprintf("r%d cannot frame a packet from r%d: %v", r.ID, p.from, err))
	}
	if rcv.VRID != r.Cfg.VRID {
		return
	}
	n.step(r, vrrp.AdvertReceived{Now: n.Now, Packet: rcv})
}

// Masters lists the running routers in MASTER state.
func (n *Network) Masters() []int {
	var m []int
	for _, r := range n.Routers {
		if r.Running && r.Inst.State() == vrrp.StateMaster {
			m = append(m, r.ID)
		}
	}
	return m
}

// VIPHolders lists the routers holding the VIPs.
func (n *Network) VIPHolders() []int {
	var m []int
	for _, r := range n.Routers {
		if r.HasVIPs {
			m = append(m, r.ID)
		}
	}
	return m
}

// Describe prints every router's state on one line.
func (n *Network) Describe() string {
	var b strings.Builder
	for _, r := range n.Routers {
		if r.Running {
			fmt.Fprintf(&b, "r%d:%v/%d ", r.ID, r.Inst.State(), r.Inst.Priority())
		} else {
			fmt.Fprintf(&b, "r%d:down ", r.ID)
		}
	}
	return strings.TrimSpace(b.String())
}

// Expected is the router that should be MASTER among the running, healthy
// ones when all preempt: the highest effective priority, ties to the
// highest primary address (RFC 5798 §6.4.3, keepalived vrrp_saddr_cmp).
func (n *Network) Expected() int {
	best := -1
	for _, r := range n.Routers {
		if !r.Running || r.ifaceDown {
			continue
		}
		if best < 0 {
			best = r.ID
			continue
		}
		b := n.Routers[best]
		if p, q := r.Inst.Priority(), b.Inst.Priority(); p > q || p == q && r.Cfg.SrcAddr.Compare(b.Cfg.SrcAddr) > 0 {
			best = r.ID
		}
	}
	return best
}

// Healthy lists running routers whose interface is up.
func (n *Network) Healthy() []int {
	var h []int
	for _, r := range n.Routers {
		if r.Running && !r.ifaceDown {
			h = append(h, r.ID)
		}
	}
	return h
}

// MaxMasterDown is the largest Master_Down_Interval of the running routers.
func (n *Network) MaxMasterDown() time.Duration {
	var d time.Duration
	for _, r := range n.Routers {
		if r.Running {
			d = max(d, r.Inst.MasterDownInterval())
		}
	}
	return d
}
