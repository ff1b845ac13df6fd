package outbox

import (
	"sync"
	"testing"
)

// Everything pushed before Close is delivered, in order, on one goroutine;
// what is pushed after it is dropped.
func TestOrderAndClose(t *testing.T) {
	var mu sync.Mutex
	var got []int
	o := New(func(v int) { mu.Lock(); got = append(got, v); mu.Unlock() })
	o.Start()
	for i := range 1000 {
		o.Push(i)
	}
	o.Close()
	o.Push(-1)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1000 {
		t.Fatalf("%d of 1000 delivered", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("out of order at %d: %d", i, v)
		}
	}
}

// Take hands over what waits without delivering it; an Outbox never
// started delivers nothing.
func TestTakeWithoutStart(t *testing.T) {
	delivered := 0
	o := New(func(int) { delivered++ })
	o.Push(1)
	o.Push(2)
	if got := o.Take(); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("Take = %v", got)
	}
	o.Push(3)
	o.Close()
	if delivered != 0 {
		t.Fatalf("delivered %d without Start", delivered)
	}
	var nilBox *Outbox[int]
	nilBox.Push(1) // a nil Outbox drops
}
