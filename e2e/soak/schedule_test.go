package soak

import (
	"slices"
	"testing"
	"time"
)

// The schedule is a function of the seed, the length and the kinds: one
// fault at a time, within the soak, after the warmup and before the
// cooldown, each of a kind asked for.
func TestScheduleReplays(t *testing.T) {
	a := Schedule(42, 20*time.Minute, DefaultFaults)
	b := Schedule(42, 20*time.Minute, DefaultFaults)
	if !slices.Equal(a, b) || len(a) < 60 {
		t.Fatalf("seed 42 gave %d then %d faults (or differing ones)", len(a), len(b))
	}
	if c := Schedule(43, 20*time.Minute, DefaultFaults); slices.Equal(a, c) {
		t.Error("seeds 42 and 43 gave the same schedule")
	}
	end := Warmup
	seen := map[FaultKind]bool{}
	for _, f := range a {
		if f.At < end || f.For <= 0 || f.At+f.For+Cooldown > 20*time.Minute || !slices.Contains(DefaultFaults, f.Kind) {
			t.Errorf("fault %v overlaps the previous one, the warmup or the cooldown, or is not asked for", f)
		}
		end = f.At + f.For
		seen[f.Kind] = true
	}
	if len(seen) != len(DefaultFaults) {
		t.Errorf("20 minutes drew only %v", seen)
	}
	if s := Schedule(1, 10*time.Second, AllFaults); len(s) != 0 {
		t.Errorf("a soak shorter than warmup and cooldown has faults: %v", s)
	}
}

func TestParseFaults(t *testing.T) {
	if k, err := ParseFaults("all"); err != nil || len(k) != len(AllFaults) {
		t.Errorf("all: %v %v", k, err)
	}
	if k, err := ParseFaults("vip, addr"); err != nil || !slices.Equal(k, []FaultKind{FaultVIP, FaultAddr}) {
		t.Errorf("vip, addr: %v %v", k, err)
	}
	if _, err := ParseFaults("link,flood"); err == nil {
		t.Error("unknown fault accepted")
	}
}

// Two holders are allowed for one advert interval outside a partition and
// for any time inside one; none for Master_Down_Interval plus a second.
func TestInvariants(t *testing.T) {
	lim := LimitsFor(time.Second, 100, 50*time.Millisecond)
	if want := 3*time.Second + 609375*time.Microsecond + time.Second + 50*time.Millisecond; lim.None != want {
		t.Errorf("none bound %v, want %v", lim.None, want)
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	iv := NewInvariants(lim)
	feed := func(from, to int, holders []string, partition bool) {
		for at := from; at < to; at += 50 {
			iv.Add(Sample{At: ms(at), Holders: holders, Partition: partition})
		}
	}
	ab := []string{"a", "b"}
	feed(0, 1000, []string{"a"}, false)
	feed(1000, 9000, ab, true)  // a partition: allowed
	feed(9000, 9900, ab, false) // healed, settled within the interval
	feed(9900, 10000, []string{"b"}, false)
	feed(10000, 14000, nil, false) // a failover: under the bound
	feed(14000, 15000, []string{"b"}, false)
	if len(iv.Violations) != 0 {
		t.Fatalf("violations on a good run: %v", iv.Violations)
	}
	feed(15000, 17000, ab, false)  // two holders for 2 s outside a partition
	feed(17000, 23000, nil, false) // no holder for 6 s
	if len(iv.Violations) != 2 || iv.Violations[0].At != ms(16100) || iv.Violations[1].At != ms(21700) {
		t.Errorf("violations %v, want one dual at +16.1s and one none at +21.7s", iv.Violations)
	}
	if iv.MaxDual != ms(1950) || iv.MaxNone != ms(5950) {
		t.Errorf("longest runs %v %v", iv.MaxDual, iv.MaxNone)
	}
}

// Growth compares the first and last thirds of a process's readings.
func TestGrowth(t *testing.T) {
	life := func(f func(i int) Usage) Life {
		l := Life{}
		for i := 0; i < 12; i++ {
			l.Samples = append(l.Samples, f(i))
		}
		return l
	}
	steady := life(func(i int) Usage { return Usage{FDs: 12 + i%2, Goroutines: 20 + i%3, RSS: 16<<20 + int64(i%4)<<20} })
	if g := steady.Growth(); !g.Judged || !g.Within {
		t.Errorf("steady: %v", g)
	}
	leak := life(func(i int) Usage { return Usage{FDs: 12 + i, Goroutines: 20, RSS: 16 << 20} })
	if g := leak.Growth(); !g.Judged || g.Within || g.FDs != 8 {
		t.Errorf("a descriptor a reading: %v", g)
	}
	if g := (Life{Samples: steady.Samples[:MinSamples-1]}).Growth(); g.Judged {
		t.Errorf("judged %d readings", MinSamples-1)
	}
}
