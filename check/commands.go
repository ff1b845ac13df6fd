package check

import (
	"errors"
	"fmt"
)

// ErrNoRealServer is returned by SetWeight for a real server the engine
// does not run.
var ErrNoRealServer = errors.New("check: no such real server")

// SetWeight is keepalived's SNMP Set of realServerWeight
// (check_snmp_realserver_weight, then update_svr_wgt): the real server's
// effective weight becomes w, logged as keepalived logs it, and a
// RealServerEvent carries it to the LVS engine, which edits the
// destination and the quorum. A checker's later dynamic weight change
// moves the weight on from there (keepalived starts again from the
// configured weight then).
func (e *Engine) SetWeight(vsKey, rsKey string, w int) error {
	if w < 0 {
		return fmt.Errorf("check: weight %d", w)
	}
	var err error
	e.own.Do(func() {
		r := e.servers[vsKey+" "+rsKey]
		if r == nil {
			err = fmt.Errorf("%w: %s of VS %s", ErrNoRealServer, rsKey, vsKey)
			return
		}
		old := max(r.rs.Weight+r.dyn, 0)
		r.dyn = w - r.rs.Weight
		if w == old {
			return
		}
		in := ""
		if !r.alive {
			in = "in"
		}
		e.log.Infof("Changing weight from %d to %d for %sactive service %s of VS %s", old, w, in, r.rsKey, r.vsKey)
		e.events.Push(e.event(r, "", "SNMP"))
	})
	return err
}
