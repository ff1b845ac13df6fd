package soak

import (
	"fmt"
	"slices"
	"time"
)

// Usage is one reading of a daemon's resources.
type Usage struct {
	At         time.Duration
	FDs        int   // /proc/PID/fd entries
	Goroutines int   // go_goroutines from the metrics endpoint
	RSS        int64 // bytes, VmRSS from /proc/PID/status
}

// Life is the readings of one daemon process, from its start to its end.
type Life struct {
	Node    string
	PID     int
	Samples []Usage
}

// MinSamples is how many readings a process needs to be judged: a minute
// of them at the soak's pace.
const MinSamples = 6

// Growth is what a process gained between the first and the last third
// of its life (medians of each), and whether that is within bounds:
// three descriptors, ten goroutines, a quarter of its memory plus 4 MiB
// (the garbage collector's float). ok is false for a life too short.
type Growth struct {
	FDs, Goroutines int
	RSS             int64
	Base            Usage
	Judged, Within  bool
}

func (g Growth) String() string {
	if !g.Judged {
		return "too short to judge"
	}
	v := "no growth"
	if !g.Within {
		v = "GROWTH"
	}
	return fmt.Sprintf("%s: fds %d%+d, goroutines %d%+d, rss %.1f%+.1f MiB", v,
		g.Base.FDs, g.FDs, g.Base.Goroutines, g.Goroutines, float64(g.Base.RSS)/(1<<20), float64(g.RSS)/(1<<20))
}

// Growth judges l.
func (l Life) Growth() Growth {
	n := len(l.Samples)
	if n < MinSamples {
		return Growth{}
	}
	first, last := median(l.Samples[:n/3]), median(l.Samples[n-n/3:])
	g := Growth{FDs: last.FDs - first.FDs, Goroutines: last.Goroutines - first.Goroutines, RSS: last.RSS - first.RSS, Base: first, Judged: true}
	g.Within = g.FDs <= 3 && g.Goroutines <= 10 && g.RSS <= first.RSS/4+4<<20
	return g
}

// median is the field-wise median of us.
func median(us []Usage) Usage {
	pick := func(f func(Usage) int64) int64 {
		v := make([]int64, len(us))
		for i, u := range us {
			v[i] = f(u)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return Usage{
		FDs:        int(pick(func(u Usage) int64 { return int64(u.FDs) })),
		Goroutines: int(pick(func(u Usage) int64 { return int64(u.Goroutines) })),
		RSS:        pick(func(u Usage) int64 { return u.RSS }),
	}
}
