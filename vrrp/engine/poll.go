package engine

import (
	"time"

	"golang.org/x/sys/unix"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// A BACKUP needs an advert only before its Master_Down_Timer can fire,
// and the timer runs from the advert's arrival (the kernel's receive
// stamp), not from when the engine reads it. So a socket on which no
// instance is MASTER is not watched: the owner reads it every half
// Skew_Time (the shortest wait a BACKUP has: a priority 0 advert cuts its
// timer to Skew_Time) and before any timer it handles. Every deadline
// comes out as if each advert had been read at once, and a node backing
// up hundreds of instances wakes tens of times a second instead of once
// per advert. A socket that brings fewer than pollGain adverts a period
// is watched (polling would wake more often than the adverts do), and so
// is one with any instance MASTER on it (it answers adverts: lower
// priority ones, priority 0).
// Counters and logs of a polled socket lag by up to the period; Status
// reads the sockets first.
const (
	maxPoll = 50 * time.Millisecond // bounds the lag of logs and counters
	minPoll = 2 * time.Millisecond  // shorter: watch instead
	// pollPackets is how many adverts a period may bring per socket:
	// well inside the default receive buffer (208 KiB, about 1 KiB per
	// queued datagram), so polling never drops one.
	pollPackets = 100
	// pollGain: poll only when a period brings at least this many adverts
	// on average; with fewer, waking per advert wakes less often (an
	// idle pair at advert_int 1 would wake 20 times a second to read one).
	pollGain = 2
)

// updatePolling decides, after a state change or a socket change, which
// sockets are polled and how often.
func (e *Engine) updatePolling() {
	if !e.pollDirty || e.loop == nil || e.stopping {
		return
	}
	e.pollDirty = false
	period, rate := map[connKey]time.Duration{}, map[connKey]float64{}
	for _, u := range e.units {
		for _, m := range u.members {
			if !m.removed {
				e.pollNeeds(m, period, rate)
			}
		}
	}
	every := time.Duration(0)
	for k, c := range e.conns {
		pc, ok := c.(PollConn)
		if !ok {
			continue
		}
		p, ok := period[k]
		if ok && rate[k] > 0 {
			p = min(p, time.Duration(float64(pollPackets)/rate[k]*float64(time.Second)))
		}
		poll := ok && p >= minPoll && rate[k]*p.Seconds() >= pollGain
		switch {
		case poll && !e.polled[k]:
			e.loop.Remove(pc.FD())
			e.polled[k] = true
		case !poll && e.polled[k]:
			if err := e.loop.Add(pc.FD(), unix.EPOLLIN, func(uint32) { e.readConn(pc) }); err != nil {
				e.log.Errorf("VRRP socket on %s: %v", k.iface, err)
				continue
			}
			delete(e.polled, k)
		}
		if poll && (every == 0 || p < every) {
			every = p
		}
	}
	e.pollEvery = every
	switch now := e.now(); {
	case every == 0:
		e.pollAt = 0
	case e.pollAt == 0 || e.pollAt > now+every:
		e.pollAt = now + every
	}
}

// pollNeeds records what instance m asks of its sockets: a period of
// half its Skew_Time while BACKUP, no polling (-1) while MASTER or with
// AH (whose replay window wants adverts in order of arrival), and the
// adverts per second it expects.
func (e *Engine) pollNeeds(m *inst, period map[connKey]time.Duration, rate map[connKey]float64) {
	keys := []connKey{{m.vc.Interface, m.vc.IPv6, packet.ProtoVRRP}}
	ah := m.vc.AuthType == packet.AuthAH
	if ah {
		keys = append(keys, connKey{m.vc.Interface, false, packet.ProtoAH})
	}
	st := m.fsm.Status()
	for _, k := range keys {
		p, seen := period[k]
		if !seen {
			p = maxPoll
		}
		switch {
		case ah || st.State == vrrp.StateMaster:
			p = -1
		case st.State == vrrp.StateBackup && p >= 0:
			p = min(p, m.fsm.SkewTime()/2)
		}
		period[k] = p
		if st.MasterAdvertInt > 0 {
			rate[k] += float64(time.Second) / float64(st.MasterAdvertInt)
		}
	}
}

// drainPolled reads what waits on the polled sockets, when their time
// came or always (before a timer is handled, and for Status).
func (e *Engine) drainPolled() {
	if len(e.polled) == 0 {
		return
	}
	for k := range e.polled {
		pc, ok := e.conns[k].(PollConn)
		if !ok {
			continue
		}
		for range 10 * pollPackets {
			p, err := pc.Receive()
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				p.Err = err
			}
			e.receive(p)
			if err != nil {
				break
			}
		}
	}
	if e.pollEvery > 0 {
		e.pollAt = e.now() + e.pollEvery
	}
}
