package timerfd

import (
	"testing"
	"time"
)

func TestTimerFiresAfterReset(t *testing.T) {
	tm := New()
	defer tm.Close()
	start := time.Now()
	tm.Reset(30 * time.Millisecond)
	select {
	case <-tm.C:
	case <-time.After(2 * time.Second):
		t.Fatal("no tick")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("fired after %v, before 30ms", el)
	}
}

func TestTimerRearmAndStop(t *testing.T) {
	tm := New()
	defer tm.Close()
	tm.Reset(time.Hour)
	tm.Reset(10 * time.Millisecond) // moving it earlier wins
	select {
	case <-tm.C:
	case <-time.After(2 * time.Second):
		t.Fatal("re-armed timer did not fire")
	}
	tm.Reset(20 * time.Millisecond)
	tm.Stop()
	select {
	case <-tm.C:
		t.Fatal("stopped timer fired")
	case <-time.After(100 * time.Millisecond):
	}
	tm.Reset(0) // at once
	select {
	case <-tm.C:
	case <-time.After(2 * time.Second):
		t.Fatal("Reset(0) did not fire")
	}
}

func TestCloseEndsTicks(t *testing.T) {
	tm := New()
	tm.Reset(time.Millisecond)
	tm.Close()
	tm.Reset(time.Millisecond) // no-op after Close, must not panic
}

func TestNewFuncCallsAndRearmsFromCallback(t *testing.T) {
	calls := make(chan time.Time, 8)
	var tm *Timer
	n := 0
	tm = NewFunc(func() {
		n++ // only the timer's goroutine touches n
		calls <- time.Now()
		if n < 3 {
			tm.Reset(5 * time.Millisecond)
		}
	})
	start := time.Now()
	tm.Reset(5 * time.Millisecond)
	for i := 0; i < 3; i++ {
		select {
		case <-calls:
		case <-time.After(2 * time.Second):
			t.Fatalf("call %d did not come", i+1)
		}
	}
	if el := time.Since(start); el < 15*time.Millisecond {
		t.Fatalf("three 5 ms expiries took %v", el)
	}
	select {
	case <-calls:
		t.Fatal("called again without being re-armed")
	case <-time.After(50 * time.Millisecond):
	}
	tm.Close()
	if tm.C != nil {
		t.Fatal("a func timer has a channel")
	}
}
