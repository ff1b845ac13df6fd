package agentx

import (
	"net"
	"time"
)

// handle acts on one PDU from the master.
func (a *Agent) handle(conn net.Conn, p *PDU) {
	switch p.Type {
	case TypeResponse:
		a.mu.Lock()
		ch := a.pending[p.PacketID]
		delete(a.pending, p.PacketID)
		a.mu.Unlock()
		if ch != nil {
			ch <- p
		}
	case TypeGet, TypeGetNext, TypeGetBulk:
		a.requests.Add(1)
		if p.hasContext() {
			a.respond(p.Header, nil, UnsupportedContext, 0)
			return
		}
		a.respond(p.Header, Answer(a.cfg.View(), p), NoError, 0)
	case TypeTestSet:
		a.setTx, a.setVBs = p.TransactionID, nil
		e, idx := ErrNotWritable, 1
		if a.cfg.TestSet != nil {
			e, idx = a.cfg.TestSet(p.Varbinds)
		}
		if e == NoError {
			a.setVBs, idx = p.Varbinds, 0
		}
		a.respond(p.Header, nil, e, uint16(idx))
	case TypeCommitSet:
		e := NoError
		if a.setTx == p.TransactionID && a.setVBs != nil && a.cfg.CommitSet != nil {
			if err := a.cfg.CommitSet(a.setVBs); err != nil {
				a.cfg.Log.Warnf("SNMP: set: %v", err)
				e = ErrCommitFailed
			}
		}
		a.setVBs = nil
		a.respond(p.Header, nil, e, 0)
	case TypeUndoSet:
		a.respond(p.Header, nil, NoError, 0)
	case TypeClose:
		conn.Close()
	case TypeCleanupSet:
		a.setVBs = nil
	default:
		a.respond(p.Header, nil, ProcessingError, 0)
	}
}

// respond writes a Response to the PDU with header h.
func (a *Agent) respond(h Header, vbs []Varbind, e ResError, index uint16) {
	r := &PDU{Header: Header{Version: Version, Type: TypeResponse, Flags: FlagNetworkByteOrder,
		SessionID: h.SessionID, TransactionID: h.TransactionID, PacketID: h.PacketID},
		SysUpTime: uint32(time.Since(a.start) / (10 * time.Millisecond)), Error: e, Index: index, Varbinds: vbs}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil {
		if err := a.writeLocked(r); err != nil {
			a.cfg.Log.Debugf("SNMP: AgentX response: %v", err)
		}
	}
}

// Answer computes the varbinds of a Get, GetNext or GetBulk from v
// (RFC 2741 sections 7.2.3.1 to 7.2.3.3).
func Answer(v View, p *PDU) []Varbind {
	switch p.Type {
	case TypeGet:
		out := make([]Varbind, len(p.Ranges))
		for i, r := range p.Ranges {
			out[i] = v.Get(r.Start)
			out[i].Name = r.Start
		}
		return out
	case TypeGetNext:
		out := make([]Varbind, len(p.Ranges))
		for i, r := range p.Ranges {
			out[i] = next(v, r)
		}
		return out
	case TypeGetBulk:
		return bulk(v, p)
	}
	return nil
}

// next is one GetNext search: the first object in [start, end).
func next(v View, r SearchRange) Varbind {
	vb, ok := v.Next(r.Start, r.Include)
	if !ok || (len(r.End) > 0 && vb.Name.Compare(r.End) >= 0) {
		return Varbind{Name: r.Start, Type: EndOfMIBView}
	}
	return vb
}

// bulk answers a GetBulk: the non-repeaters once, then max-repetitions
// rounds of the others, each round continuing from the last; it stops
// early once every repeater has reached the end of the view.
func bulk(v View, p *PDU) []Varbind {
	nr := int(p.NonRepeaters)
	if nr > len(p.Ranges) {
		nr = len(p.Ranges)
	}
	var out []Varbind
	for _, r := range p.Ranges[:nr] {
		out = append(out, next(v, r))
	}
	rep := append([]SearchRange(nil), p.Ranges[nr:]...)
	for round := 0; round < int(p.MaxRepetitions) && len(rep) > 0; round++ {
		ended := 0
		for i, r := range rep {
			vb := next(v, r)
			out = append(out, vb)
			if vb.Type == EndOfMIBView {
				ended++
			} else {
				rep[i].Start, rep[i].Include = vb.Name, false
			}
		}
		if ended == len(rep) {
			break
		}
	}
	return out
}
