// Package outbox hands an engine's events to their consumer in order, on
// a goroutine of its own, so the engine's owner never waits for the
// consumer (a notify script dispatcher, the LVS engine's kernel writes).
// The VRRP, checker and LVS engines all report through one.
package outbox

import "sync"

// Outbox delivers what Push is given to deliver, one at a time, in order.
type Outbox[T any] struct {
	deliver func(T)

	mu      sync.Mutex
	q       []T
	wake    chan struct{}
	closed  bool
	done    chan struct{}
	started bool
}

// New returns an Outbox for deliver; nil deliver drops everything.
func New[T any](deliver func(T)) *Outbox[T] {
	return &Outbox[T]{deliver: deliver, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push queues v; it never blocks. After Close it drops v.
func (o *Outbox[T]) Push(v T) {
	if o == nil || o.deliver == nil {
		return
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.q = append(o.q, v)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Start begins delivery on a new goroutine (once).
func (o *Outbox[T]) Start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.started {
		return
	}
	o.started = true
	go o.run()
}

func (o *Outbox[T]) run() {
	defer close(o.done)
	for {
		o.mu.Lock()
		q, closed := o.q, o.closed
		o.q = nil
		o.mu.Unlock()
		if o.deliver != nil {
			for _, v := range q {
				o.deliver(v)
			}
		}
		if len(q) > 0 {
			continue
		}
		if closed {
			return
		}
		<-o.wake
	}
}

// Close delivers what was pushed before it, then stops; it waits for the
// delivery goroutine (when Start ran).
func (o *Outbox[T]) Close() {
	o.mu.Lock()
	already, started := o.closed, o.started
	o.closed = true
	if !started {
		o.q = nil
	}
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
	_ = already
	if started {
		<-o.done
	}
}

// Take returns what waits without delivering it, for an owner that polls
// its outbox instead of starting it (tests driving an engine by hand).
func (o *Outbox[T]) Take() []T {
	o.mu.Lock()
	defer o.mu.Unlock()
	q := o.q
	o.q = nil
	return q
}
