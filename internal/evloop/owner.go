package evloop

import "sync"

// Owner decides who runs an engine's code: the loop's goroutine while it
// serves, otherwise the caller of Do, one at a time. Engines expose their
// methods (Reload, Status, SetHealth ...) through Do, so they work the
// same before Run, during it and after it, and the state has one owner
// at any moment. Its mutex is only taken by Do's callers, never on the
// loop's own path (packets, timers).
type Owner struct {
	mu     sync.Mutex
	loop   *Loop
	served chan struct{}
}

// Serve hands the state to l: from now on Do posts to it. Call it from
// the goroutine that will run l.Run, before it does.
func (o *Owner) Serve(l *Loop) {
	o.mu.Lock()
	o.loop, o.served = l, make(chan struct{})
	o.mu.Unlock()
}

// Done takes the state back from the loop, once its Run returned.
func (o *Owner) Done() {
	o.mu.Lock()
	if o.loop != nil {
		o.loop = nil
		close(o.served)
	}
	o.mu.Unlock()
}

// Do runs f as the owner and returns once it ran: on the loop while it
// serves, else on the calling goroutine. f must not call Do.
func (o *Owner) Do(f func()) {
	for {
		o.mu.Lock()
		l, served := o.loop, o.served
		if l == nil {
			f()
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		done := make(chan struct{})
		if l.Post(func() { f(); close(done) }) == nil {
			<-done
			return
		}
		// The loop stopped: wait until Run gives the state back.
		<-served
	}
}
