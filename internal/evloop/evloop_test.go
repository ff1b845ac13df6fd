package evloop

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// serve runs l on a goroutine of its own and returns a stop function.
func serve(t *testing.T, l *Loop, onTimer, after func()) func() {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.Run(onTimer, after) }()
	return func() {
		l.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
		l.Close()
	}
}

func newLoop(t *testing.T) *Loop {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Posted functions run in order, all of them before Run returns; after
// Stop nothing more is taken.
func TestPostOrderAndStop(t *testing.T) {
	l := newLoop(t)
	var got []int
	for i := range 100 {
		if err := l.Post(func() { got = append(got, i) }); err != nil {
			t.Fatal(err)
		}
	}
	stop := serve(t, l, nil, nil)
	stop()
	if len(got) != 100 {
		t.Fatalf("%d of 100 posted functions ran", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("order %v", got)
		}
	}
	if err := l.Post(func() {}); err != ErrClosed {
		t.Fatalf("Post after Stop: %v", err)
	}
}

// The timer never fires before the time armed; arming later does not move
// it, arming earlier does.
func TestArm(t *testing.T) {
	l := newLoop(t)
	fired := make(chan time.Duration, 4)
	stop := serve(t, l, func() { fired <- l.Now() }, nil)
	defer stop()
	at := l.Now() + 80*time.Millisecond
	l.Post(func() {
		l.Arm(at)
		l.Arm(at + time.Hour) // later: ignored
	})
	select {
	case f := <-fired:
		if f < at {
			t.Fatalf("fired %v before the deadline", at-f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}
	early := l.Now() + 30*time.Millisecond
	l.Post(func() {
		l.Arm(early + time.Hour)
		l.Arm(early) // earlier: takes over
	})
	select {
	case f := <-fired:
		if f < early || f > early+time.Hour/2 {
			t.Fatalf("fired at %v for %v", f, early)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("earlier arming did not fire")
	}
}

// A descriptor's handler runs on the owner when it is readable.
func TestAddHandler(t *testing.T) {
	l := newLoop(t)
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	got := make(chan uint64, 1)
	if err := l.Add(efd, unix.EPOLLIN, func(uint32) {
		var b [8]byte
		if n, _ := unix.Read(efd, b[:]); n == 8 {
			got <- uint64(b[0])
		}
	}); err != nil {
		t.Fatal(err)
	}
	stop := serve(t, l, nil, nil)
	defer stop()
	unix.Write(efd, []byte{3, 0, 0, 0, 0, 0, 0, 0})
	select {
	case v := <-got:
		if v != 3 {
			t.Fatalf("read %d", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler not called")
	}
}

// Owner.Do runs on the caller before Serve and after Done, on the loop in
// between, and never on two goroutines at once.
func TestOwner(t *testing.T) {
	var o Owner
	var onLoop atomic.Bool
	ran := 0
	o.Do(func() { ran++ })
	l := newLoop(t)
	o.Serve(l)
	stop := serve(t, l, nil, nil)
	l.Post(func() { onLoop.Store(true) })
	inside := false
	o.Do(func() { ran++; inside = onLoop.Load() })
	if !inside {
		t.Error("Do did not run on the loop while it served")
	}
	stop()
	o.Done()
	o.Do(func() { ran++ })
	if ran != 3 {
		t.Fatalf("ran %d of 3", ran)
	}
}

// Set moves the timer later as well as earlier, and disarms it.
func TestSet(t *testing.T) {
	l := newLoop(t)
	fired := make(chan time.Duration, 4)
	stop := serve(t, l, func() { fired <- l.Now() }, nil)
	defer stop()
	soon := l.Now() + 20*time.Millisecond
	later := l.Now() + 150*time.Millisecond
	l.Post(func() {
		l.Set(soon)
		l.Set(later) // moved later: nothing at soon
	})
	select {
	case f := <-fired:
		if f < later {
			t.Fatalf("fired at %v, set for %v", f, later)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}
	l.Post(func() {
		l.Set(l.Now() + 20*time.Millisecond)
		l.Set(0)
	})
	select {
	case <-fired:
		t.Fatal("a disarmed timer fired")
	case <-time.After(200 * time.Millisecond):
	}
}
