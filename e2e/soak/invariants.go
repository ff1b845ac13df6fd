package soak

import (
	"fmt"
	"time"
)

// Sample is who held the VIP at one instant of the soak.
type Sample struct {
	At      time.Duration // since the start
	Holders []string      // nodes with the VIP on their interface
	// Partition: a fault that cuts a node off (or silences its daemon)
	// is in force, so two holders are allowed.
	Partition bool
}

// Limits are the invariants' bounds.
type Limits struct {
	// Dual bounds how long two nodes may hold the VIP outside a
	// partition: one advert interval (plus the sampling period).
	Dual time.Duration
	// None bounds how long no node may hold it: the backup's
	// Master_Down_Interval plus one second (plus the sampling period).
	None time.Duration
}

// LimitsFor are the bounds for advert interval adv, the backup's
// priority and the sampling period.
func LimitsFor(adv time.Duration, backupPrio int, sampling time.Duration) Limits {
	skew := adv * time.Duration(256-backupPrio) / 256
	return Limits{Dual: adv + sampling, None: 3*adv + skew + time.Second + sampling}
}

// Violation is one broken invariant.
type Violation struct {
	At   time.Duration // when the bound was passed
	What string
}

func (v Violation) String() string { return fmt.Sprintf("+%.1fs %s", v.At.Seconds(), v.What) }

// Invariants follows the samples and records every run of two holders or
// of none that outlasts its bound, once per run, and the longest runs.
type Invariants struct {
	lim                  Limits
	dualSince, noneSince time.Duration
	dualTold, noneTold   bool
	MaxDual, MaxNone     time.Duration
	Violations           []Violation
}

// NewInvariants starts with nothing seen.
func NewInvariants(lim Limits) *Invariants {
	return &Invariants{lim: lim, dualSince: -1, noneSince: -1}
}

// Add takes the next sample (in time order).
func (iv *Invariants) Add(s Sample) {
	if len(s.Holders) >= 2 && !s.Partition {
		if iv.dualSince < 0 {
			iv.dualSince, iv.dualTold = s.At, false
		}
		run := s.At - iv.dualSince
		iv.MaxDual = max(iv.MaxDual, run)
		if run > iv.lim.Dual && !iv.dualTold {
			iv.dualTold = true
			iv.Violations = append(iv.Violations, Violation{s.At, fmt.Sprintf("%v held the VIP together for more than %v outside a partition", s.Holders, iv.lim.Dual)})
		}
	} else {
		iv.dualSince = -1
	}
	if len(s.Holders) == 0 {
		if iv.noneSince < 0 {
			iv.noneSince, iv.noneTold = s.At, false
		}
		run := s.At - iv.noneSince
		iv.MaxNone = max(iv.MaxNone, run)
		if run > iv.lim.None && !iv.noneTold {
			iv.noneTold = true
			iv.Violations = append(iv.Violations, Violation{s.At, fmt.Sprintf("no node held the VIP for more than %v", iv.lim.None)})
		}
	} else {
		iv.noneSince = -1
	}
}
