package check

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// res is one scripted attempt: success or failure after dur. A dur past the
// attempt's deadline is cut at the deadline and fails, which is how a
// connect_timeout plays out.
type res struct {
	ok  bool
	dur time.Duration
}

func okIn(d time.Duration) res   { return res{true, d} }
func failIn(d time.Duration) res { return res{false, d} }

var hang = failIn(time.Hour) // never answers: ends at the deadline

const s = time.Second

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// simulate drives a Scheduler holding one checker through script on a
// fake clock and returns the timeline: "@<t> try" for every attempt start,
// "@<t> up|down[ after N]" for every decided transition that changed state
// (and "confirm up|down" on a first run that did not).
func simulate(t *testing.T, tm Timing, seed uint64, script []res) []string {
	t.Helper()
	t0 := time.Unix(1000, 0)
	sch := NewScheduler(rand.New(rand.NewPCG(seed, seed)), BootstrapDelay)
	sch.Add(1, tm, t0)
	var out []string
	at := func(x time.Time) string { return x.Sub(t0).String() }
	var buf []Attempt
	for _, r := range script {
		next, ok := sch.NextDue()
		if !ok {
			t.Fatal("nothing scheduled")
		}
		buf = sch.Due(next, buf[:0])
		if len(buf) != 1 {
			t.Fatalf("due at %s: %d attempts", at(next), len(buf))
		}
		a := buf[0]
		if want := a.Start.Add(tm.AttemptTimeout); !a.Deadline.Equal(want) {
			t.Fatalf("deadline %s, want %s", at(a.Deadline), at(want))
		}
		out = append(out, "@"+at(a.Start)+" try")
		// A second Due before Done must not start the same checker again.
		if again := sch.Due(a.Start.Add(time.Hour), nil); len(again) != 0 {
			t.Fatalf("checker due twice while in flight")
		}
		end, ok2 := a.Start.Add(r.dur), r.ok
		if end.After(a.Deadline) {
			end, ok2 = a.Deadline, false
		}
		o, found := sch.Done(a.ID, ok2, end)
		if !found {
			t.Fatal("Done: unknown attempt")
		}
		if o.Verdict != Same {
			word := o.Verdict.String()
			if !o.Changed {
				word = "confirm " + word
			}
			if o.Retries > 0 {
				word += fmt.Sprintf(" after %d", o.Retries)
			}
			out = append(out, "@"+at(end)+" "+word)
		}
	}
	return out
}

func TestSchedulerTimeline(t *testing.T) {
	seed := Timing{DelayLoop: 3 * s, DelayBeforeRetry: 3 * s, Retry: 3, AttemptTimeout: 3 * s}
	tests := []struct {
		name   string
		timing func(Timing) Timing
		script []res
		want   string
	}{{
		// The seed scenario: HTTP_GET, delay_loop 3, nb_get_retry 3,
		// delay_before_retry 3, connect_timeout 3; Apache is stopped
		// after two good checks (refused at once) and restarted.
		name:   "http seed refused",
		timing: func(t Timing) Timing { t.Policy = PolicyHTTP; return t },
		script: []res{okIn(ms(2)), okIn(ms(2)), failIn(0), failIn(0), failIn(0), failIn(0), failIn(0), okIn(ms(2)), okIn(ms(2)), okIn(0)},
		want: "@1s try|@1.002s confirm up|@4.002s try|@7.004s try|@10.004s try|@13.004s try|@16.004s try|@16.004s down after 3|" +
			// down: one attempt per max(delay_loop, delay_before_retry);
			// recovery needs the failed url, then a full pass.
			"@19.004s try|@22.004s try|@25.006s try|@25.008s up|@28.008s try",
	}, {
		name:   "http seed connect timeout",
		timing: func(t Timing) Timing { t.Policy = PolicyHTTP; return t },
		script: []res{okIn(ms(1)), hang, hang, hang, hang, hang},
		want:   "@1s try|@1.001s confirm up|@4.001s try|@10.001s try|@16.001s try|@22.001s try|@25.001s down after 3|@28.001s try",
	}, {
		name:   "http first check fails: down at once",
		timing: func(t Timing) Timing { t.Policy = PolicyHTTP; return t },
		script: []res{failIn(0), failIn(0), okIn(0), okIn(0)},
		want:   "@1s try|@1s down after 3|@4s try|@7s try|@10s try|@10s up",
	}, {
		name: "http two urls, dbr > delay_loop",
		timing: func(t Timing) Timing {
			t.Policy, t.Steps, t.DelayLoop, t.DelayBeforeRetry, t.Retry = PolicyHTTP, 2, 2*s, 5*s, 1
			return t
		},
		// url1 ok, url2 ok (up confirmed after the pass), url1 fails,
		// retried once, down; failed url back, then both again.
		script: []res{okIn(0), okIn(0), failIn(0), failIn(0), failIn(0), okIn(0), okIn(0), okIn(0)},
		want:   "@1s try|@3s try|@3s confirm up|@5s try|@10s try|@10s down after 1|@15s try|@20s try|@22s try|@24s try|@24s up",
	}, {
		name: "http fast_recovery",
		timing: func(t Timing) Timing {
			t.Policy, t.FastRecovery, t.Alpha = PolicyHTTP, true, true
			return t
		},
		// alpha: starts down; each success while not known failed is
		// followed at once by the next url/pass.
		script: []res{okIn(ms(5)), okIn(ms(5))},
		want:   "@1s try|@1.005s up|@4.005s try",
	}, {
		name:   "tcp retries then down, up at once",
		timing: func(t Timing) Timing { t.DelayBeforeRetry, t.Retry, t.AttemptTimeout = 2*s, 2, s; return t },
		script: []res{okIn(ms(100)), hang, hang, hang, okIn(ms(100)), okIn(0)},
		want:   "@1s try|@1.1s confirm up|@4.1s try|@7.1s try|@10.1s try|@11.1s down after 2|@14.1s try|@14.2s up|@17.2s try",
	}, {
		name:   "tcp keeps retrying while down",
		timing: func(t Timing) Timing { t.DelayBeforeRetry, t.Retry = ms(500), 2; return t },
		script: []res{failIn(0), failIn(0), failIn(0), failIn(0), failIn(0), okIn(0)},
		want:   "@1s try|@1s down|@4s try|@4.5s try|@5s try|@8s try|@8.5s try|@8.5s up",
	}, {
		name:   "tcp alpha starts down",
		timing: func(t Timing) Timing { t.Alpha = true; return t },
		script: []res{failIn(0), okIn(0), okIn(0)},
		want:   "@1s try|@1s confirm down|@4s try|@4s up|@7s try",
	}, {
		name:   "udp no retries while down",
		timing: func(t Timing) Timing { t.Policy, t.DelayBeforeRetry, t.Retry = PolicyUDP, ms(500), 1; return t },
		script: []res{okIn(0), failIn(0), failIn(0), failIn(0), failIn(0), okIn(0)},
		want:   "@1s try|@1s confirm up|@4s try|@4.5s try|@4.5s down after 1|@7.5s try|@10.5s try|@13.5s try|@13.5s up",
	}, {
		name:   "dns",
		timing: func(t Timing) Timing { t.Policy, t.DelayBeforeRetry, t.Retry = PolicyDNS, s, 2; return t },
		script: []res{okIn(0), hang, failIn(0), failIn(0), failIn(0), okIn(0)},
		want:   "@1s try|@1s confirm up|@4s try|@8s try|@9s try|@9s down after 2|@12s try|@15s try|@15s up",
	}, {
		name:   "smtp retries from the first cycle",
		timing: func(t Timing) Timing { t.Policy, t.DelayBeforeRetry, t.Retry = PolicySMTP, s, 1; return t },
		script: []res{failIn(0), failIn(0), failIn(0), okIn(0), failIn(0), failIn(0)},
		want:   "@1s try|@2s try|@2s down|@5s try|@6s try|@6s up|@9s try|@10s try|@10s down",
	}, {
		name: "misc runs measured from start",
		timing: func(t Timing) Timing {
			t.Policy, t.DelayLoop, t.DelayBeforeRetry, t.Retry, t.AttemptTimeout = PolicyMisc, 5*s, s, 1, 4*s
			return t
		},
		script: []res{okIn(2 * s), failIn(2 * s), failIn(ms(100)), hang, okIn(ms(300))},
		want:   "@1s try|@3s confirm up|@6s try|@8.000001s try|@8.100001s down after 1|@13.000001s try|@18.000001s try|@18.300001s up",
	}, {
		name:   "retry 0",
		timing: func(t Timing) Timing { t.Retry = 0; return t },
		script: []res{okIn(0), failIn(0), okIn(0)},
		want:   "@1s try|@1s confirm up|@4s try|@4s down|@7s try|@7s up",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(simulate(t, tc.timing(seed), 1, tc.script), "|")
			if got != tc.want {
				t.Errorf("timeline\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestSchedulerWarmup(t *testing.T) {
	tm := Timing{DelayLoop: 10 * s, DelayBeforeRetry: s, Retry: 1, Warmup: 7 * s, AttemptTimeout: s}
	for seed := uint64(1); seed < 5; seed++ {
		want := BootstrapDelay + time.Duration(rand.New(rand.NewPCG(seed, seed)).Int64N(int64(7*s)+1))
		got := simulate(t, tm, seed, []res{okIn(0), okIn(0)})
		if exp := fmt.Sprintf("@%s try", want); got[0] != exp {
			t.Errorf("seed %d: first attempt %s, want %s", seed, got[0], exp)
		}
		if exp := fmt.Sprintf("@%s try", want+10*s); got[2] != exp {
			t.Errorf("seed %d: second attempt %s, want %s", seed, got[2], exp)
		}
	}
}

// TestSchedulerSpread: 10,000 checkers with the default warmup (= delay_loop)
// start spread over the whole delay_loop, not in a burst.
func TestSchedulerSpread(t *testing.T) {
	t0 := time.Unix(0, 0)
	sch := NewScheduler(rand.New(rand.NewPCG(7, 7)), 0)
	for i := range 10000 {
		sch.Add(ID(i), Timing{DelayLoop: s, Warmup: s, DelayBeforeRetry: s, AttemptTimeout: s}, t0)
	}
	perMS := map[int64]int{}
	var first, last time.Duration = time.Hour, 0
	for {
		next, ok := sch.NextDue()
		if !ok {
			break
		}
		for _, a := range sch.Due(next, nil) {
			d := a.Start.Sub(t0)
			perMS[int64(d/time.Millisecond)]++
			first, last = min(first, d), max(last, d)
			sch.Remove(a.ID)
		}
	}
	peak := 0
	for _, n := range perMS {
		peak = max(peak, n)
	}
	if peak > 40 || last-first < 990*time.Millisecond {
		t.Errorf("start spread: peak %d per ms, span %s", peak, last-first)
	}
}

func TestSchedulerOrderAndSkip(t *testing.T) {
	t0 := time.Unix(0, 0)
	sch := NewScheduler(nil, 0)
	sch.Add(1, Timing{DelayLoop: 2 * s, AttemptTimeout: s}, t0)
	sch.Add(2, Timing{DelayLoop: 3 * s, AttemptTimeout: s}, t0)
	due := sch.Due(t0, nil)
	if len(due) != 2 || due[0].ID != 1 || due[1].ID != 2 {
		t.Fatalf("due %+v", due)
	}
	sch.Skip(1, t0)
	if _, ok := sch.Done(2, true, t0.Add(ms(10))); !ok {
		t.Fatal("done 2")
	}
	if _, ok := sch.Done(2, true, t0.Add(ms(10))); ok {
		t.Fatal("Done twice accepted")
	}
	if n, _ := sch.NextDue(); !n.Equal(t0.Add(2 * s)) {
		t.Fatalf("next %v", n.Sub(t0))
	}
	sch.Remove(1)
	if n, _ := sch.NextDue(); !n.Equal(t0.Add(3*s + ms(10))) {
		t.Fatalf("next after remove %v", n.Sub(t0))
	}
	if up, ok := sch.Up(2); !up || !ok {
		t.Fatal("Up(2)")
	}
}

// Pull starts an attempt early only within its slack, and the next one is
// due as if the pulled one had started on time.
func TestSchedulerPull(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tm := Timing{Policy: PolicyTCP, DelayLoop: 3 * s, AttemptTimeout: s}
	sch := NewScheduler(rand.New(rand.NewPCG(1, 1)), 0)
	sch.Add(1, tm, t0)
	sch.Add(2, Timing{Policy: PolicyTCP, DelayLoop: 400 * time.Millisecond, AttemptTimeout: s}, t0.Add(ms(100)))
	// A first attempt has no slack.
	if got := sch.Pull(t0.Add(-ms(1)), 8, nil); len(got) != 0 {
		t.Fatalf("pulled a first attempt: %+v", got)
	}
	run := func(at time.Time, pull bool) []Attempt {
		var got []Attempt
		if pull {
			got = sch.Pull(at, 8, nil)
		} else {
			got = sch.Due(at, nil)
		}
		for _, a := range got {
			if _, ok := sch.Done(a.ID, true, at.Add(ms(2))); !ok {
				t.Fatalf("done %d", a.ID)
			}
		}
		return got
	}
	if got := run(t0.Add(ms(100)), false); len(got) != 2 {
		t.Fatalf("first attempts: %+v", got)
	}
	// Checker 1 is due at 3.102 s with 1 s of slack, checker 2 at
	// 0.502 s with 0.2 s.
	if from, _ := sch.PullFrom(); !from.Equal(t0.Add(ms(302))) {
		t.Fatalf("PullFrom %v", from.Sub(t0))
	}
	if got := run(t0.Add(ms(250)), true); len(got) != 0 {
		t.Fatalf("pulled outside the slack: %+v", got)
	}
	if got := run(t0.Add(ms(350)), true); len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("at 350 ms: %+v, want checker 2", got)
	}
	// 152 ms early, ended at 352 ms: due as if run at 502 ms, 400 ms
	// after its end at 504 ms.
	if next, _ := sch.NextDue(); !next.Equal(t0.Add(ms(904))) {
		t.Fatalf("checker 2 next due %v, want 904ms", next.Sub(t0))
	}
	sch.Remove(2)
	if got := run(t0.Add(ms(2000)), true); len(got) != 0 {
		t.Fatalf("pulled checker 1 1.1 s early: %+v", got)
	}
	if got := run(t0.Add(ms(2200)), true); len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("at 2.2 s: %+v, want checker 1", got)
	}
	// Checker 1 started 0.902 s early and ended at 2.202 s: its next
	// attempt is 3 s after it would have ended, on time.
	for {
		next, _ := sch.NextDue()
		a := sch.Due(next, nil)
		if len(a) == 1 && a[0].ID == 1 {
			if want := t0.Add(ms(2202 + 902 + 3000)); !next.Equal(want) {
				t.Fatalf("after a pulled attempt, next due %v, want %v", next.Sub(t0), want.Sub(t0))
			}
			break
		}
		for _, x := range a {
			sch.Done(x.ID, true, next)
		}
	}
	// The limit holds.
	many := NewScheduler(rand.New(rand.NewPCG(1, 1)), 0)
	for i := range 20 {
		many.Add(ID(i), tm, t0)
	}
	for _, a := range many.Due(t0, nil) {
		many.Done(a.ID, true, t0)
	}
	if got := many.Pull(t0.Add(2500*time.Millisecond), 8, nil); len(got) != 8 {
		t.Fatalf("pulled %d of 20, want the limit of 8", len(got))
	}
}
