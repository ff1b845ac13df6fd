package nft

import (
	"cmp"
	"fmt"
	"slices"

	"keepalived-go/lvs"
)

// mode is the data plane a service is programmed in.
type mode uint8

const (
	// modeNAT: DNAT in the inet table's nat hooks; conntrack keeps every
	// established connection on the server it was given.
	modeNAT mode = iota
	// modeDR: a stateless pick in the netdev ingress hook, MAC rewrite and
	// forward; the pick must be a function of the packet alone.
	modeDR
)

func (m mode) String() string {
	if m == modeDR {
		return "dr"
	}
	return "nat"
}

// pick is how a slot is chosen for a new connection.
type pick uint8

const (
	// pickNumgen: numgen inc over the slots, an exact (weighted) round robin.
	pickNumgen pick = iota
	// pickHash: jhash of packet fields over a fixed-size slot table.
	pickHash
)

// hashKey names the packet fields a pickHash service hashes.
type hashKey uint8

const (
	keySrc     hashKey = iota // source address (sh, mh, persistence)
	keySrcPort                // source address and port: one connection
	keyDst                    // destination address (dh, lblc, lblcr)
)

func (k hashKey) String() string {
	return [...]string{"saddr", "saddr . sport", "daddr"}[k]
}

// Slot table sizes. Hash-picked services use a fixed table so that a
// health change reassigns only the slots of the servers that changed;
// numgen-picked ones use exactly the weighted cycle.
const (
	hashSlots    = 256
	maxCycle     = 1024
	maxHashSlots = 1 << 16
)

// svcPlan is what the kernel must hold for one virtual service. It is
// computed by plan, a pure function, and emitted by render.
type svcPlan struct {
	Service lvs.Service
	// Dests are all destinations, sorted, including weight 0 ones (they
	// are kept, as IPVS keeps a quiescent destination, but get no slot).
	Dests []lvs.Destination
	Mode  mode
	Pick  pick
	Key   hashKey
	// Slots maps a slot number to an index into Dests. Its length is the
	// modulus of the pick; empty when no destination can take traffic.
	Slots []int
	// Note explains an approximation of the configured scheduler.
	Note string
}

// serviceMode decides the data plane from the destinations' forwarding
// methods: any direct-routing destination makes it a DR service.
func serviceMode(vs lvs.VirtualService) (mode, error) {
	m := modeNAT
	for _, d := range vs.Dests {
		switch d.Forward {
		case lvs.DR:
			m = modeDR
		case lvs.NAT, lvs.Local:
		default:
			return 0, fmt.Errorf("lb_kind %s: %w", d.Forward, ErrUnsupported)
		}
	}
	if m == modeDR {
		for _, d := range vs.Dests {
			if d.Forward == lvs.NAT {
				return 0, fmt.Errorf("NAT and DR destinations in one service: %w", ErrUnsupported)
			}
		}
		if vs.Service.IsFWMark() {
			return 0, fmt.Errorf("fwmark service in DR mode (no mark exists at ingress): %w", ErrUnsupported)
		}
	}
	return m, nil
}

// schedule maps an IPVS scheduler onto what a stateless (or conntrack
// only) data plane can do. The note is empty when the mapping is exact.
func schedule(s lvs.Service, m mode) (p pick, k hashKey, note string) {
	p, k = pickNumgen, keySrcPort
	switch s.Scheduler {
	case "rr", "wrr", "":
	case "sh", "mh":
		p, k = pickHash, keySrc
		if s.Flags&lvs.FlagSched2 != 0 { // sh-port / mh-port
			k = keySrcPort
		}
	case "dh":
		p, k = pickHash, keyDst
	case "lblc", "lblcr":
		p, k, note = pickHash, keyDst, "locality-based balancing approximated by a destination hash"
	case "fo", "ovf":
		// Exact while nothing overflows: every new connection goes to the
		// highest-weight available server.
		if s.Scheduler == "ovf" {
			note = "ovf without connection thresholds: behaves as fo"
		}
	default: // lc, wlc, sed, nq: need live connection counts
		note = s.Scheduler + " needs connection counts: weighted round robin instead"
	}
	if s.Persistent() && p == pickNumgen && m == modeDR {
		// No state at ingress: a hash of the client (granularity applied
		// by the caller's mask) keeps it on one server while the set of
		// servers is unchanged, which is what persistence promises.
		k = keySrc
	}
	if m == modeDR {
		p = pickHash
	}
	return p, k, note
}

// weights returns the share each destination gets; 0 means no slot.
// eligible reports whether a destination can take traffic (a DR server
// whose MAC is unknown cannot).
func weights(s lvs.Service, dests []lvs.Destination, eligible func(lvs.Destination) bool) []int {
	w := make([]int, len(dests))
	best := -1
	for i, d := range dests {
		if d.Weight <= 0 || (eligible != nil && !eligible(d)) {
			continue
		}
		w[i] = d.Weight
		if best < 0 || d.Weight > dests[best].Weight {
			best = i
		}
	}
	if s.Scheduler == "rr" || s.Scheduler == "dh" || s.Scheduler == "" {
		// Unweighted schedulers: every server that may take traffic
		// gets the same share, as in IPVS.
		for i := range w {
			w[i] = min(w[i], 1)
		}
	}
	if (s.Scheduler == "fo" || s.Scheduler == "ovf") && best >= 0 {
		for i := range w {
			w[i] = 0
		}
		w[best] = 1
	}
	return w
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// cycleShares returns each server's number of slots in the round robin
// cycle over w: the weights reduced by their gcd, scaled down when the
// cycle would be longer than maxCycle (every server keeps a slot).
func cycleShares(w []int) []int {
	g := 0
	for _, x := range w {
		if x > 0 {
			g = gcd(g, x)
		}
	}
	if g == 0 {
		return nil
	}
	norm := make([]int, len(w))
	total := 0
	for i, x := range w {
		norm[i] = x / g
		total += norm[i]
	}
	if total > maxCycle {
		sum := total
		for i, x := range norm {
			if x > 0 {
				norm[i] = max(1, x*maxCycle/sum)
			}
		}
	}
	return norm
}

// cycle returns a weighted round robin over w as slot -> index, smoothly
// interleaved (nginx's smooth weighted round robin) so that any window of
// the cycle is close to the weights, not only the whole cycle.
func cycle(w []int) []int {
	norm := cycleShares(w)
	total := 0
	for _, x := range norm {
		total += x
	}
	out := make([]int, 0, total)
	cur := make([]int, len(norm))
	for range total {
		bi := -1
		for i, x := range norm {
			if x == 0 {
				continue
			}
			cur[i] += x
			if bi < 0 || cur[i] > cur[bi] {
				bi = i
			}
		}
		cur[bi] -= total
		out = append(out, bi)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// smoothCycle is the longest cycle interleaved smoothly and recomputed
// afresh on every change (the smooth interleave costs cycle length times
// servers); a longer one is interleaved in turns and keeps its slots in
// place (stableCycle).
const smoothCycle = 64

// stableCycle is the round robin over w for a service whose slot table
// is prev (slot -> index, -1 for none): a cycle longer than smoothCycle
// keeps every slot whose server is still under its share, so one
// server's change rewrites only its slots (and the last one, when the
// cycle shrinks), not the interleaving of thousands.
func stableCycle(w []int, prev []int) []int {
	norm := cycleShares(w)
	total := 0
	for _, x := range norm {
		total += x
	}
	if total <= smoothCycle {
		return cycle(w)
	}
	return fillSlots(norm, total, prev)
}

// fillSlots makes a table of n slots where server i has q[i] of them,
// keeping each slot of prev whose server is under its share and handing
// the free slots out in turn to the servers below it.
func fillSlots(q []int, n int, prev []int) []int {
	out := make([]int, n)
	have := make([]int, len(q))
	for s := range out {
		out[s] = -1
		if s < len(prev) {
			if i := prev[s]; i >= 0 && i < len(q) && have[i] < q[i] {
				out[s] = i
				have[i]++
			}
		}
	}
	next := 0
	for s := range out {
		if out[s] >= 0 {
			continue
		}
		for range len(q) {
			i := next
			next = (next + 1) % len(q)
			if have[i] < q[i] {
				out[s] = i
				have[i]++
				break
			}
		}
	}
	if len(out) > 0 && out[0] < 0 {
		return nil // no weight at all
	}
	return out
}

// quotas splits n slots in proportion to w by largest remainder, ties to
// the lower index, so the result is deterministic.
func quotas(w []int, n int) []int {
	sum := 0
	for _, x := range w {
		sum += x
	}
	q := make([]int, len(w))
	if sum == 0 {
		return q
	}
	type rem struct{ i, r int }
	var rems []rem
	given := 0
	for i, x := range w {
		q[i] = x * n / sum
		given += q[i]
		if x > 0 {
			rems = append(rems, rem{i, x * n % sum})
		}
	}
	slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
	for j := 0; given < n; j++ {
		q[rems[j%len(rems)].i]++
		given++
	}
	return q
}

// hashTable fills a fixed table of size n in proportion to w, keeping
// every slot of prev (slot -> index, -1 for none) whose server is still
// under its quota. A health change thus moves only the connections of
// the servers that changed: the hash of a packet does not change, and
// neither does the slot it lands in. Free slots are handed out in turn
// to the servers below their quota, which interleaves a fresh table.
func hashTable(w []int, n int, prev []int) []int {
	if len(prev) != n {
		prev = nil // another modulus: no slot means the same
	}
	return fillSlots(quotas(w, n), n, prev)
}

// hashSize is the slot table size for n servers: large enough that the
// shares stay close to the weights.
func hashSize(n int) int {
	size := hashSlots
	for size < 8*n && size < maxHashSlots {
		size <<= 1
	}
	return size
}

// plan computes the kernel state for one service. prev is the slot table
// the kernel holds now (slot -> destination key), used to keep hash slots
// in place; eligible filters destinations that cannot take traffic.
func plan(vs lvs.VirtualService, prev []lvs.DestKey, eligible func(lvs.Destination) bool) (svcPlan, error) {
	m, err := serviceMode(vs)
	if err != nil {
		return svcPlan{}, err
	}
	p := svcPlan{Service: vs.Service, Dests: vs.SortedDests(), Mode: m}
	p.Pick, p.Key, p.Note = schedule(vs.Service, m)
	w := weights(vs.Service, p.Dests, eligible)
	idx := make(map[lvs.DestKey]int, len(p.Dests))
	for i, d := range p.Dests {
		idx[d.DestKey] = i
	}
	old := make([]int, len(prev))
	for s, k := range prev {
		old[s] = -1
		if i, ok := idx[k]; ok {
			old[s] = i
		}
	}
	if p.Pick == pickNumgen {
		p.Slots = stableCycle(w, old)
		return p, nil
	}
	p.Slots = hashTable(w, hashSize(len(p.Dests)), old)
	return p, nil
}
