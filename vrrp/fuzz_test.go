package vrrp_test

import (
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// FuzzStep drives one instance with an arbitrary event sequence (including
// arbitrary packet bytes) and checks what must always hold: no panic, VIPs
// installed exactly while MASTER, a Tick handles everything due, no timer in
// FAULT/STOP.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 2, 200, 1, 3, 4, 1, 5, 6})
	f.Add([]byte{0, 1, 2, 0, 1, 1, 7, 1})
	f.Fuzz(func(t *testing.T, prog []byte) {
		h := newHarness(t, func(c *vrrp.Config) {
			if len(prog) > 0 && prog[0]&1 == 1 {
				c.AuthType = packet.AuthAH
			}
		})
		now := time.Duration(0)
		vips := false
		for i := 0; i+1 < len(prog); i += 2 {
			op, arg := prog[i], prog[i+1]
			now += time.Duration(arg) * 37 * time.Millisecond
			h.now = now
			var ev vrrp.Event
			switch op % 9 {
			case 0:
				ev = vrrp.Start{Now: now}
			case 1:
				if d, ok := h.in.NextDeadline(); ok && d > now {
					now = d
				}
				ev = vrrp.Tick{Now: now}
			case 2:
				src := peerLow
				if arg&1 == 1 {
					src = peerHigh
				}
				ev = vrrp.AdvertReceived{Now: now, Packet: h.advert(src, arg)}
			case 3:
				ev = vrrp.IfaceDown{Now: now}
			case 4:
				ev = vrrp.IfaceUp{Now: now}
			case 5:
				ev = vrrp.PriorityChanged{Now: now, Weight: int(int8(arg))}
			case 6:
				ev = vrrp.TrackFault{Now: now, Name: "s", Fault: arg&1 == 1}
			case 7:
				// Garbage on the wire.
				if r, err := packet.Parse4(prog[i:]); err == nil {
					ev = vrrp.AdvertReceived{Now: now, Packet: r}
				} else {
					continue
				}
			case 8:
				ev = vrrp.Shutdown{Now: now, Deleted: arg&1 == 1}
			}
			for _, a := range h.in.Step(ev) {
				switch a.(type) {
				case vrrp.AddVIPs:
					vips = true
				case vrrp.DelVIPs:
					vips = false
				}
			}
			st := h.in.State()
			if vips != (st == vrrp.StateMaster) {
				t.Fatalf("after %T: state %v, VIPs %v", ev, st, vips)
			}
			d, ok := h.in.NextDeadline()
			if _, tick := ev.(vrrp.Tick); tick && ok && d <= now {
				t.Fatalf("a tick at %v left a deadline due at %v", now, d)
			}
			if ok && st != vrrp.StateMaster && st != vrrp.StateBackup {
				t.Fatalf("timer running in %v", st)
			}
		}
	})
}
