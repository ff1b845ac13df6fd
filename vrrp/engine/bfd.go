package engine

import (
	"time"

	"keepalived-go/config"
)

// track_bfd: the VRRP side of keepalived 2.2.7's BFD (vrrp_scheduler.c
// vrrp_handle_bfd_event, vrrp_track.c initialise_track_bfd_state,
// vrrp.c add_vrrp_to_track_bfd). The BFD engine runs the sessions; its
// events reach this engine through SetBFD, wired in cmd/keepalived.

// TrackBFD is the kind of a track_bfd entry in TrackStatus.
const TrackBFD TrackKind = "bfd"

// BFDState is a BFD session's state as the BFD process reports it to
// VRRP (keepalived's bfd_event_t): Up, or not Up. Sent is when the
// session changed (for the delivery time keepalived logs with -D); zero
// when unknown.
type BFDState struct {
	Name string
	Up   bool
	Sent time.Time
}

// SetBFD takes a BFD session's state: the instances tracking it (their
// own track_bfd and their sync group's) go to FAULT or leave it, or
// change priority by the weight, as keepalived's vrrp_handle_bfd_event
// does. A state equal to the one known changes nothing. Until the first
// report every session is Down (keepalived's bfd_up starts false); a
// reload keeps what was reported (clear_diff_bfd). Safe from any
// goroutine, before, during and after Run.
func (e *Engine) SetBFD(s BFDState) {
	e.own.Do(func() { e.setBFD(s) })
}

func (e *Engine) setBFD(s BFDState) {
	if e.opts.LogDetail {
		state := "Down"
		if s.Up {
			state = "Up"
		}
		var us int64
		if !s.Sent.IsZero() {
			us = max(time.Since(s.Sent).Microseconds(), 0)
		}
		e.log.Infof("Received BFD event: instance %s is in state %s (delivered in %d usec)", s.Name, state, us)
	}
	if e.bfdUp[s.Name] == s.Up {
		return
	}
	if e.bfdUp == nil {
		e.bfdUp = map[string]bool{}
	}
	// Every session the BFD engine reports to VRRP is kept, tracked or
	// not, so a reload that starts tracking one knows its state.
	e.bfdUp[s.Name] = s.Up
	if e.stopped || len(e.byName) == 0 {
		// No instance started: the state is what startUnit finds.
		return
	}
	word := "DOWN"
	if s.Up {
		word = "UP"
	}
	now := e.now()
	for _, u := range e.units {
		for _, m := range u.members {
			if m.removed || !tracksBFD(e.bfdRefs(m), s.Name) {
				continue
			}
			e.log.Infof("VRRP_Instance(%s) Tracked BFD instance %s is %s", m.cfg.Name, s.Name, word)
			e.refreshTracking(m, now)
		}
	}
}

func tracksBFD(refs []config.TrackRef, name string) bool {
	for _, r := range refs {
		if r.Name == name {
			return true
		}
	}
	return false
}

// bfdRefs are the sessions m tracks with the weight it applies: its own
// track_bfd, then its sync group's (add_vrrp_to_track_bfd: a session in
// both takes the group's weight unless the instance's is 0).
func (e *Engine) bfdRefs(m *inst) []config.TrackRef {
	out := append([]config.TrackRef(nil), m.cfg.TrackBFDs...)
	g := e.groupOf(m)
	if g == nil {
		return out
	}
next:
	for _, r := range g.TrackBFDs {
		for i := range out {
			if out[i].Name != r.Name {
				continue
			}
			if key := "bfd both " + m.cfg.Name + " " + r.Name; !e.warned[key] {
				e.warned[key] = true
				e.log.Infof("(%s) track_bfd %s is configured on VRRP instance and sync group. Remove vrrp instance config", m.cfg.Name, r.Name)
			}
			if out[i].Weight != 0 {
				out[i].Weight, out[i].Reverse = r.Weight, r.Reverse
			}
			continue next
		}
		out = append(out, r)
	}
	return out
}

// bfdWeight is what one track_bfd adds to the total priority, as
// keepalived keeps it: weight x (reverse ? -1 : 1), counted while the
// session is Up for a positive weight and while it is Down for a
// negative one (initialise_track_bfd_state, vrrp_handle_bfd_event).
func bfdWeight(r config.TrackRef, up bool) int {
	m := 1
	if r.Reverse {
		m = -1
	}
	if r.Weight > 0 && up || r.Weight < 0 && !up {
		return r.Weight * m
	}
	return 0
}

// bfdTrack adds m's track_bfd to the faults and the weight trackState
// computes: unweighted, a session Down (Up with reverse) holds the
// instance in FAULT.
func (e *Engine) bfdTrack(m *inst, faults map[string]bool, weight *int) {
	for _, r := range e.bfdRefs(m) {
		up := e.bfdUp[r.Name]
		if r.Weight == 0 {
			if up == r.Reverse {
				faults["bfd:"+r.Name] = true
			}
			continue
		}
		*weight += bfdWeight(r, up)
	}
}

// bfdTracking lists m's track_bfd for Status.
func (e *Engine) bfdTracking(m *inst) []TrackStatus {
	var out []TrackStatus
	for _, r := range e.bfdRefs(m) {
		out = append(out, TrackStatus{Kind: TrackBFD, Name: r.Name, Weight: r.Weight, Reverse: r.Reverse, Known: true, Up: e.bfdUp[r.Name]})
	}
	return out
}

// BFDStates are the sessions reported to VRRP and whether each is Up
// (keepalived's vrrp_tracked_bfd bfd_up), for the dumps.
func (e *Engine) BFDStates() map[string]bool {
	out := map[string]bool{}
	e.own.Do(func() {
		for k, v := range e.bfdUp {
			out[k] = v
		}
	})
	return out
}
