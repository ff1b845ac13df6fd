package engine

import (
	"container/heap"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/netio"
	"keepalived-go/vrrp/packet"
)

// onTimer is the loop's timer expiry: the polled sockets are read, then
// whatever is due runs.
func (e *Engine) onTimer() {
	if e.stopping {
		return
	}
	e.drainPolled()
	e.tick()
	e.woke = true
}

// afterWake ends each of the loop's wakeups: OnWake when the wakeup was
// a packet or an expiry, and the timer pointed at the next deadline.
func (e *Engine) afterWake() {
	if e.woke {
		e.woke = false
		if e.opts.OnWake != nil {
			e.opts.OnWake()
		}
	}
	e.updatePolling()
	e.arm()
}

// arm points the loop's timer at the next deadline.
func (e *Engine) arm() {
	if e.loop != nil && !e.stopping {
		e.loop.Arm(max(e.nextDeadline()+e.loopOffset, 1))
	}
}

// unitQueue orders units by their next deadline (a heap), so finding
// what is due costs the same with 2,000 instances as with one.
type unitQueue []*unit

func (q unitQueue) Len() int { return len(q) }
func (q unitQueue) Less(i, j int) bool {
	return q[i].at < q[j].at || q[i].at == q[j].at && q[i].ord < q[j].ord
}
func (q unitQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *unitQueue) Push(x any) {
	u := x.(*unit)
	u.index = len(*q)
	*q = append(*q, u)
}
func (q *unitQueue) Pop() any {
	old := *q
	u := old[len(old)-1]
	old[len(old)-1] = nil
	u.index = -1
	*q = old[:len(old)-1]
	return u
}

// reschedule queues u for its next deadline, or takes it out of the
// queue when it has none (INIT, FAULT, stopped).
func (e *Engine) reschedule(u *unit) {
	at, ok := u.deadline()
	switch {
	case ok && u.index >= 0:
		u.at = at
		heap.Fix(&e.due, u.index)
	case ok:
		u.at = at
		heap.Push(&e.due, u)
	case u.index >= 0:
		heap.Remove(&e.due, u.index)
	}
}

func (e *Engine) unqueue(u *unit) {
	if u.index >= 0 {
		heap.Remove(&e.due, u.index)
	}
}

// syncConns opens the sockets the instances need and closes the others.
func (e *Engine) syncConns() {
	e.pollDirty = true
	want := map[connKey][]netip.Addr{}
	for _, u := range e.units {
		for _, m := range u.members {
			k := connKey{m.vc.Interface, m.vc.IPv6, packet.ProtoVRRP}
			if len(m.vc.UnicastPeers) == 0 {
				want[k] = append(want[k], m.vc.McastGroup)
			} else if _, ok := want[k]; !ok {
				want[k] = nil
			}
			if m.vc.AuthType == packet.AuthAH {
				ka := connKey{m.vc.Interface, false, packet.ProtoAH}
				want[ka] = append(want[ka], want[k]...)
			}
		}
	}
	for k, c := range e.conns {
		if _, ok := want[k]; !ok {
			e.closeConn(k, c)
		}
	}
	for k, groups := range want {
		c := e.conns[k]
		if c == nil {
			var err error
			if c, err = e.listen(k); err != nil {
				e.warnOnce("listen "+k.iface+fmt.Sprint(k.v6, k.proto), "Unable to open VRRP socket on %s: %v", k.iface, err)
				continue
			}
			e.conns[k] = c
		}
		for _, g := range groups {
			if err := c.Join(g); err != nil {
				e.warnOnce("join "+k.iface+g.String(), "cant do IP%s_ADD_MEMBERSHIP on %s: %v", map[bool]string{true: "V6"}[k.v6], k.iface, err)
			}
		}
	}
}

// listen opens the socket of k: one the loop waits on itself, or one
// that delivers its packets to the owner.
func (e *Engine) listen(k connKey) (Conn, error) {
	c, err := e.net.Listen(k.iface, k.v6, k.proto, func(p netio.Packet) {
		e.post(func() {
			e.receive(p)
			e.woke = true
		})
	})
	if err != nil {
		return nil, err
	}
	if pc, ok := c.(PollConn); ok && e.loop != nil {
		if err := e.loop.Add(pc.FD(), unix.EPOLLIN, func(uint32) { e.readConn(pc) }); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (e *Engine) closeConn(k connKey, c Conn) {
	if pc, ok := c.(PollConn); ok && e.loop != nil {
		e.loop.Remove(pc.FD())
	}
	c.Close()
	delete(e.conns, k)
	delete(e.polled, k)
}

// readConn takes one datagram from a socket the loop found readable; the
// loop calls again while more wait.
func (e *Engine) readConn(c PollConn) {
	p, err := c.Receive()
	if err == unix.EAGAIN {
		return
	}
	if err != nil {
		p.Err = err
	}
	e.receive(p)
	e.woke = true
}

// knownSentinels are the packet errors a discard is counted under.
var knownSentinels = []error{
	packet.ErrLength, packet.ErrTTL, packet.ErrVersion, packet.ErrType, packet.ErrVRID, packet.ErrChecksum,
	packet.ErrAddrList, packet.ErrAuthType, packet.ErrAuth, packet.ErrReplay, packet.ErrInterval,
	packet.ErrDestination, packet.ErrPeer, packet.ErrNotVRRP,
}

func sentinel(err error) error {
	for _, s := range knownSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func (e *Engine) receive(p netio.Packet) {
	if p.Err != nil {
		e.warnOnce("read "+p.Iface, "VRRP socket read error on %s: %v", p.Iface, p.Err)
		return
	}
	var r *packet.Received
	var err error
	if p.IPv6 {
		r, err = packet.Parse6(p.Data, p.Src, p.Dst, p.HopLimit)
	} else {
		r, err = packet.Parse4(p.Data)
	}
	if err != nil {
		e.discards[sentinel(err)]++
		e.logDiscard(err)
		return
	}
	m := e.byKey[rxKey{p.Iface, p.IPv6, r.VRID}]
	if m == nil || m.removed {
		e.discards[packet.ErrVRID]++
		return
	}
	e.step(m.u, m.idx, vrrp.AdvertReceived{Now: e.rxTime(p), Packet: r})
}

// rxTime is when p arrived, by the kernel's stamp, on the engine's clock:
// the master-down timer runs from the advert's arrival, not from when the
// reader and this loop got to it (a tenth of a millisecond idle, more
// under load). Never before the last tick or receive, so the time the
// instances see does not go backwards; the engine's own clock where the
// stamp is missing, implausible or the clock is a test's.
func (e *Engine) rxTime(p netio.Packet) time.Duration {
	now := e.now()
	if p.Arrived.IsZero() || e.opts.Now != nil {
		return now
	}
	// Arrived carries no monotonic reading: both ends are wall clock.
	lag := time.Since(p.Arrived)
	if lag <= 0 || lag > time.Second {
		return now
	}
	at := max(now-lag, e.floor)
	e.floor = at
	return at
}

func (e *Engine) logDiscard(err error) {
	var de *packet.DiscardError
	if errors.As(err, &de) {
		e.log.Info(de.Text)
		return
	}
	e.log.Info(err.Error())
}

func (e *Engine) nextDeadline() time.Duration {
	at := e.now() + time.Hour
	if len(e.due) > 0 {
		at = min(at, e.due[0].at)
	}
	for _, s := range e.scripts {
		if !s.running && !s.bad {
			at = min(at, s.next)
		}
	}
	for _, g := range e.garpQ {
		at = min(at, g.at)
	}
	if e.pollAt > 0 {
		at = min(at, e.pollAt)
	}
	return at
}

func (e *Engine) tick() {
	now := e.now()
	e.floor = now
	// Every unit due, in configuration order among equal deadlines; a
	// group's members each get their own Tick when theirs is due.
	var due []*unit
	for len(e.due) > 0 && e.due[0].at <= now {
		due = append(due, heap.Pop(&e.due).(*unit))
	}
	slices.SortFunc(due, func(a, b *unit) int { return a.ord - b.ord })
	for _, u := range due {
		for i := range u.members {
			if d, ok := u.members[i].fsm.NextDeadline(); ok && d <= now {
				e.run(u, u.stepFSM(i, vrrp.Tick{Now: now}))
			}
		}
		e.reschedule(u)
	}
	for _, s := range e.scripts {
		if !s.running && s.next <= now {
			e.runScript(s, now)
		}
	}
	e.flushGarp(now)
}
