package engine

import (
	"keepalived-go/bfd"
	"keepalived-go/config"
)

// reload applies a new configuration (keepalived's reload_bfd_thread): a
// session whose name, neighbour and source are unchanged keeps its state,
// discriminator, timers and socket (reopened only for a new TTL) and takes
// the new timers, polling when min_rx or min_tx changed; others are
// closed, and new ones start without the immediate first packet. Every
// session reports its state again.
func (e *Engine) reload(cfg *config.Config) {
	now := e.now()
	next := sessionsOf(cfg)
	keep := map[string]bool{}
	for _, bi := range next {
		if s := e.sessions[bi.Name]; s != nil && s.cfg.Neighbor == bi.Neighbor && s.cfg.Source == bi.Source {
			keep[bi.Name] = true
		}
	}
	for name, s := range e.sessions {
		if !keep[name] {
			s.close()
			delete(e.sessions, name)
			if e.byDiscr[s.discr] == s {
				delete(e.byDiscr, s.discr)
			}
		}
	}
	e.cfg = next
	for _, bi := range next {
		s := e.sessions[bi.Name]
		if s == nil {
			s = e.newSession(bi)
			e.openOutput(s, now)
			e.perform(s, s.fsm.Step(bfd.Start{Now: now, Reload: true}), now)
			continue
		}
		if s.cfg.TTL != bi.TTL {
			s.close()
		}
		s.cfg = bi
		e.openOutput(s, now)
		e.perform(s, s.fsm.Step(bfd.Reconfigure{Now: now, Config: fsmConfig(bi)}), now)
	}
}
