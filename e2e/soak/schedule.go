// Package soak runs two nodes of our daemon under continuous HTTP traffic
// through their VIP while a seeded random schedule injects faults, and
// checks keepalived's promises throughout (make soak; not part of make
// test). The schedule and the invariants are pure and tested on their own;
// TestSoak runs them against namespaces when KG_SOAK=1.
package soak

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// FaultKind names one kind of fault.
type FaultKind string

// The faults the schedule draws from.
const (
	FaultLink    FaultKind = "link"     // the node's link down, then up
	FaultAddr    FaultKind = "addr"     // the node's own address removed, then put back
	FaultVIP     FaultKind = "vip"      // the VIP removed from the node holding it, not put back
	FaultKill    FaultKind = "kill"     // SIGKILL, then the daemon started again
	FaultHUPGood FaultKind = "hup-good" // SIGHUP with another good file
	FaultHUPBad  FaultKind = "hup-bad"  // SIGHUP with a file that must be refused
	FaultLoss    FaultKind = "loss"     // a share of the node's packets dropped
	FaultDelay   FaultKind = "delay"    // the node's packets delayed
	FaultStop    FaultKind = "stop"     // SIGSTOP, then SIGCONT
)

// AllFaults is every kind, in the order of the -faults help.
var AllFaults = []FaultKind{FaultLink, FaultAddr, FaultVIP, FaultKill, FaultHUPGood, FaultHUPBad, FaultLoss, FaultDelay, FaultStop}

// DefaultFaults leaves out the address and VIP removals: surviving them
// needs the VRRP engine to follow the kernel's addresses (issue 19
// findings 1-3, another branch); enable them with -faults all.
var DefaultFaults = []FaultKind{FaultLink, FaultKill, FaultHUPGood, FaultHUPBad, FaultLoss, FaultDelay, FaultStop}

// ParseFaults reads -faults: "default", "all", or a comma list of kinds.
func ParseFaults(s string) ([]FaultKind, error) {
	switch s {
	case "", "default":
		return DefaultFaults, nil
	case "all":
		return AllFaults, nil
	}
	var out []FaultKind
	for _, f := range strings.Split(s, ",") {
		k := FaultKind(strings.TrimSpace(f))
		if !slices.Contains(AllFaults, k) {
			return nil, fmt.Errorf("unknown fault %q (known: %v, default, all)", k, AllFaults)
		}
		out = append(out, k)
	}
	return out, nil
}

// Partition reports whether a fault cuts a node off from its peer (or
// silences its daemon) while it lasts: two VIP holders are then allowed.
func (k FaultKind) Partition() bool {
	switch k {
	case FaultLink, FaultKill, FaultLoss, FaultStop:
		return true
	}
	return false
}

// Fault is one entry of the schedule.
type Fault struct {
	At     time.Duration // since the start of the soak
	Kind   FaultKind
	Target string        // "master" or "backup", resolved when it runs
	For    time.Duration // how long it lasts (the observation time of instant faults)
	Level  int           // loss in percent, delay in milliseconds
}

func (f Fault) String() string {
	s := fmt.Sprintf("+%6.1fs %-8s %-6s for %4.1fs", f.At.Seconds(), f.Kind, f.Target, f.For.Seconds())
	switch f.Kind {
	case FaultLoss:
		s += fmt.Sprintf(" loss %d%%", f.Level)
	case FaultDelay:
		s += fmt.Sprintf(" delay %d ms", f.Level)
	}
	return s
}

// Warmup is the quiet time before the first fault; Cooldown the quiet
// time after the last one ends.
const (
	Warmup   = 15 * time.Second
	Cooldown = 10 * time.Second
)

// Schedule draws the faults of a soak of length total from seed: one
// fault at a time, a quiet gap of 4-9 s after each. The same seed, length
// and kinds give the same schedule.
func Schedule(seed uint64, total time.Duration, kinds []FaultKind) []Fault {
	if len(kinds) == 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dur := func(lo, hi float64) time.Duration {
		return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Second)).Round(100 * time.Millisecond)
	}
	var out []Fault
	for t := Warmup; ; {
		f := Fault{At: t, Kind: kinds[r.IntN(len(kinds))], Target: "master"}
		if r.IntN(10) < 3 {
			f.Target = "backup"
		}
		switch f.Kind {
		case FaultLink, FaultAddr, FaultStop:
			f.For = dur(2, 6)
		case FaultKill:
			f.For = dur(1, 5)
		case FaultVIP, FaultHUPGood, FaultHUPBad:
			f.For = dur(3, 5)
		case FaultLoss:
			f.For, f.Level = dur(5, 10), 20+r.IntN(5)*10
		case FaultDelay:
			f.For, f.Level = dur(5, 10), 50+r.IntN(6)*50
		}
		if t+f.For+Cooldown > total {
			return out
		}
		out = append(out, f)
		t += f.For + dur(4, 9)
	}
}
