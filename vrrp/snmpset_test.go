package vrrp_test

import (
	"errors"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

// A Set of vrrpInstanceBasePriority keeps the tracking weights: effective
// = new base + weight, clamped to 1..254 (vrrp_snmp_instance_priority then
// vrrp_set_effective_priority).
func TestSetBasePriorityKeepsWeights(t *testing.T) {
	h := newHarness(t, nil)
	h.step(vrrp.PriorityChanged{Weight: -20})
	h.start()
	if got := h.in.Priority(); got != 80 {
		t.Fatalf("effective %d, want 80", got)
	}
	acts := h.step(vrrp.SetBasePriority{Now: h.now, Priority: 200})
	if st := h.in.Status(); st.BasePriority != 200 || st.EffectivePriority != 180 {
		t.Fatalf("base %d effective %d, want 200 180", st.BasePriority, st.EffectivePriority)
	}
	if l := logs(acts); len(l) != 1 || l[0] != "(ETH0) Changing effective priority from 80 to 180" {
		t.Fatalf("logs %q", l)
	}
	h.step(vrrp.SetBasePriority{Now: h.now, Priority: 250})
	if got := h.in.Priority(); got != 230 {
		t.Fatalf("effective %d, want 230", got)
	}
	h.step(vrrp.PriorityChanged{Now: h.now, Weight: 50})
	if got := h.in.Priority(); got != 254 {
		t.Fatalf("effective %d, want 254 (clamped)", got)
	}
	// 0 is refused before it gets here (wrongValue); the FSM ignores it.
	h.step(vrrp.SetBasePriority{Now: h.now, Priority: 0})
	if st := h.in.Status(); st.BasePriority != 250 {
		t.Fatalf("base %d after 0", st.BasePriority)
	}
	// Raised to 255: an owner's effective priority is not touched.
	h.step(vrrp.SetBasePriority{Now: h.now, Priority: 255})
	if st := h.in.Status(); st.BasePriority != 255 || st.EffectivePriority != 254 {
		t.Fatalf("base %d effective %d, want 255 254", st.BasePriority, st.EffectivePriority)
	}
}

// A backup whose priority is raised above the master's preempts it on the
// next advert; turned off by SetPreempt it does not.
func TestSetBasePriorityAndPreempt(t *testing.T) {
	for _, preempt := range []bool{true, false} {
		h := newHarness(t, func(c *vrrp.Config) { c.Priority = 100 })
		h.start()
		h.recv(h.advert(peerHigh, 150))
		h.wantState(vrrp.StateBackup)
		h.step(vrrp.SetPreempt{Now: h.now, Preempt: preempt})
		if h.in.Config().NoPreempt == preempt {
			t.Fatalf("NoPreempt %v after SetPreempt(%v)", h.in.Config().NoPreempt, preempt)
		}
		h.step(vrrp.SetBasePriority{Now: h.now, Priority: 200})
		// The master keeps advertising 150 every second: with preempt
		// the backup, now 200, takes over when its down timer expires;
		// without preempt each advert resets the timer.
		for sec := 1; sec <= 10 && h.in.State() == vrrp.StateBackup; sec++ {
			next := time.Duration(sec) * time.Second
			for d, ok := h.in.NextDeadline(); ok && d <= next && h.in.State() == vrrp.StateBackup; d, ok = h.in.NextDeadline() {
				h.at(d)
			}
			if h.in.State() == vrrp.StateBackup {
				h.recvAt(next, h.advert(peerHigh, 150))
			}
		}
		want := vrrp.StateBackup
		if preempt {
			want = vrrp.StateMaster
		}
		h.wantState(want)
	}
}

// Discarded adverts are reported with their reason and sender only when
// asked, and the TTL/version/checksum ones set the RFC 6527 reason.
func TestDiscardedAndProtoErrReason(t *testing.T) {
	for _, report := range []bool{false, true} {
		h := newHarness(t, func(c *vrrp.Config) { c.ReportDiscards = report })
		h.start()
		p := h.advertWith(peerHigh, 150, func(a *packet.Advert) { a.AuthData[0] ^= 1 })
		acts := h.recv(p)
		d := only[vrrp.Discarded](acts)
		if !report {
			if len(d) != 0 {
				t.Fatalf("discards reported without ReportDiscards: %v", d)
			}
			continue
		}
		if len(d) != 1 || !errors.Is(d[0].Reason, packet.ErrAuth) || d[0].Src != peerHigh {
			t.Fatalf("discard actions %q", describe(acts))
		}
		if r := h.in.Status().ProtoErrReason; r != vrrp.ProtoErrNone {
			t.Fatalf("auth failure set proto error reason %d", r)
		}
		bad := h.advert(peerHigh, 150)
		bad.TTL = 64
		acts = h.recv(bad)
		d = only[vrrp.Discarded](acts)
		if len(d) != 1 || !errors.Is(d[0].Reason, packet.ErrTTL) {
			t.Fatalf("TTL discard %q", describe(acts))
		}
		if r := h.in.Status().ProtoErrReason; r != vrrp.ProtoErrTTL {
			t.Fatalf("proto error reason %d, want ipTtlError", r)
		}
		v3 := h.advertWith(peerHigh, 150, func(a *packet.Advert) { a.Version = 3 })
		h.recv(v3)
		if r := h.in.Status().ProtoErrReason; r != vrrp.ProtoErrVersion {
			t.Fatalf("proto error reason %d, want versionError", r)
		}
	}
}
