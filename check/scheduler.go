package check

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// ID names a checker inside a Scheduler.
type ID int

// Attempt is one probe the scheduler wants run now.
type Attempt struct {
	ID ID
	// Step is the url index for HTTP checkers, 0 otherwise.
	Step int
	// Start is the instant the attempt was due; Deadline bounds it (zero:
	// no bound, Timing.AttemptTimeout).
	Start, Deadline time.Time
}

// Scheduler is the pure timing core shared by every checker of a config:
// it holds each checker's keepalived retry state and the instant of its
// next attempt. It does no I/O and reads no clock: callers pass now, so
// tests replay exact timelines. At most one attempt per checker is in
// flight; a checker is not due again before its attempt is Done.
//
// It is not safe for concurrent use; the Engine owns one from a single
// goroutine.
type Scheduler struct {
	rng       *rand.Rand
	bootstrap time.Duration
	byID      map[ID]*entry
	queue     entryHeap
	seq       uint64
}

type entry struct {
	id       ID
	m        *machine
	next     time.Time
	started  time.Time
	inFlight bool
	index    int // in queue, -1 when not queued
	seq      uint64
	// slack is how much earlier than next Pull may start the attempt;
	// early is how much earlier it did, which the next delay makes up.
	slack, early time.Duration
}

// MaxSlack bounds how early Pull starts an attempt: a check never runs
// more than this ahead of its time, nor more than half its delay.
const MaxSlack = time.Second

// slackFor is the pull window of an attempt delay after the previous one.
func slackFor(delay time.Duration) time.Duration { return min(delay/2, MaxSlack) }

// NewScheduler returns an empty scheduler. rng draws the warmup delays
// (keepalived: random() * warmup / RAND_MAX); bootstrap is the fixed delay
// before every first attempt (keepalived: BootstrapDelay).
func NewScheduler(rng *rand.Rand, bootstrap time.Duration) *Scheduler {
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &Scheduler{rng: rng, bootstrap: bootstrap, byID: map[ID]*entry{}}
}

// Add registers a checker whose first attempt is due at
// now + bootstrap + a uniform random part of t.Warmup: that spread is what
// keeps thousands of checkers from firing in the same millisecond.
// Adding an existing ID replaces it.
func (s *Scheduler) Add(id ID, t Timing, now time.Time) {
	s.Remove(id)
	first := now.Add(s.bootstrap)
	if t.Warmup > 0 {
		first = first.Add(time.Duration(s.rng.Int64N(int64(t.Warmup) + 1)))
	}
	e := &entry{id: id, m: newMachine(t), next: first, index: -1}
	s.byID[id] = e
	s.push(e)
}

// Remove forgets a checker; a result for its in-flight attempt is ignored.
func (s *Scheduler) Remove(id ID) {
	e, ok := s.byID[id]
	if !ok {
		return
	}
	if e.index >= 0 {
		heap.Remove(&s.queue, e.index)
	}
	delete(s.byID, id)
}

// Len is the number of checkers.
func (s *Scheduler) Len() int { return len(s.byID) }

// Up reports a checker's current state.
func (s *Scheduler) Up(id ID) (up, ok bool) {
	e, ok := s.byID[id]
	if !ok {
		return false, false
	}
	return e.m.up, true
}

// NextDue is the instant of the earliest attempt not yet started.
func (s *Scheduler) NextDue() (time.Time, bool) {
	if len(s.queue) == 0 {
		return time.Time{}, false
	}
	return s.queue[0].next, true
}

// Due pops every attempt due at or before now, in due order, and marks
// them in flight.
func (s *Scheduler) Due(now time.Time, dst []Attempt) []Attempt {
	for len(s.queue) > 0 && !s.queue[0].next.After(now) {
		dst = begin(heap.Pop(&s.queue).(*entry), now, dst)
	}
	return dst
}

// begin marks e's attempt in flight from now and appends it to dst.
func begin(e *entry, now time.Time, dst []Attempt) []Attempt {
	e.inFlight = true
	// The attempt starts when it is run, which is now or a bit later
	// than planned; timings chain from the real start like keepalived's
	// timer threads do.
	e.started = now
	a := Attempt{ID: e.id, Step: e.m.step, Start: now}
	if e.m.t.AttemptTimeout > 0 {
		a.Deadline = now.Add(e.m.t.AttemptTimeout)
	}
	return append(dst, a)
}

// PullFrom is the earliest instant at which Pull would start the next
// attempt: its due time less its slack.
func (s *Scheduler) PullFrom() (time.Time, bool) {
	if len(s.queue) == 0 {
		return time.Time{}, false
	}
	return s.queue[0].next.Add(-s.queue[0].slack), true
}

// Pull pops, as Due does, up to limit attempts that are due within their
// slack of now. A caller that is awake anyway (the VRRP engine just sent
// or took an advert) starts them at once instead of waking up for each:
// an idle daemon then wakes once per advert, not once per advert and
// once per check. The attempt after a pulled one is due as if the
// pulled one had started on time, so the rate of checks stays that of
// keepalived and only its phase moves, by at most the slack.
func (s *Scheduler) Pull(now time.Time, limit int, dst []Attempt) []Attempt {
	var held []*entry
	for n := 0; len(s.queue) > 0 && n < limit && len(held) < limit; {
		e := s.queue[0]
		if e.next.Add(-MaxSlack).After(now) {
			break
		}
		heap.Pop(&s.queue)
		if e.next.Add(-e.slack).After(now) {
			held = append(held, e)
			continue
		}
		n++
		e.early = max(e.next.Sub(now), 0)
		dst = begin(e, now, dst)
	}
	for _, e := range held {
		heap.Push(&s.queue, e)
	}
	return dst
}

// Done records the result of id's attempt, finished at now, and schedules
// the next one. ok=false for an unknown or idle id.
func (s *Scheduler) Done(id ID, success bool, now time.Time) (Outcome, bool) {
	e, found := s.byID[id]
	if !found || !e.inFlight {
		return Outcome{}, false
	}
	e.inFlight = false
	o := e.m.result(success)
	base := now
	if o.FromStart {
		base = e.started
	}
	e.after(base, o.Delay)
	if !e.next.After(now) && o.FromStart {
		// keepalived never schedules a script check in the past.
		e.next = now.Add(time.Microsecond)
	}
	s.push(e)
	return o, true
}

// Skip reschedules an attempt that could not run (socket setup failed, or
// the checker is suspended) after delay_loop, without counting a result,
// as keepalived does for "Rescheduling." cases.
func (s *Scheduler) Skip(id ID, now time.Time) {
	e, found := s.byID[id]
	if !found || !e.inFlight {
		return
	}
	e.inFlight = false
	e.after(now, e.m.t.DelayLoop)
	s.push(e)
}

// after sets e's next attempt delay after base, plus what a pulled
// attempt started early, so that pulling never raises the check rate.
func (e *entry) after(base time.Time, delay time.Duration) {
	e.next = base.Add(delay + e.early)
	e.early, e.slack = 0, slackFor(delay)
}

func (s *Scheduler) push(e *entry) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.queue, e)
}

type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if h[i].next.Equal(h[j].next) {
		return h[i].seq < h[j].seq
	}
	return h[i].next.Before(h[j].next)
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
