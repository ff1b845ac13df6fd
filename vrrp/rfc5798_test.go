package vrrp_test

// Tests in this file each check one statement of RFC 5798 §6.4 (VRRPv3) or
// RFC 3768 §6.4 (VRRPv2), in the style of etcd raft's raft_paper_test.go.
// Where keepalived 2.2.7 deviates, the test says so and checks keepalived.

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"keepalived-go/vrrp"
	"keepalived-go/vrrp/packet"
)

func v3(c *vrrp.Config) {
	c.Version, c.AuthType, c.AuthPass = 3, packet.AuthNone, ""
}

// RFC 5798 §6.4.1: "If the Priority = 255 (i.e., the router owns the IPvX
// address(es) associated with the virtual router), then it MUST: Send an
// ADVERTISEMENT; broadcast a gratuitous ARP request / send an Unsolicited
// Neighbor Advertisement; Set the Adver_Timer to Advertisement_Interval;
// Transition to the {Master} state".
func TestRFC5798_6_4_1_OwnerStartsMaster(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { v3(c); c.Priority = 255 })
	acts := h.start()
	h.wantState(vrrp.StateMaster)
	want := []string{
		"send-advert prio=255 to=[224.0.0.18]",
		"log (ETH0) Entering MASTER STATE",
		"add-vips [203.0.113.110/24]",
		"garp [203.0.113.110] x5",
		"notify INIT->MASTER (owner) prio=255",
	}
	if got := describe(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("actions\n got %q\nwant %q", got, want)
	}
	if d := h.deadline(); d != time.Second {
		t.Fatalf("Adver_Timer %v, want 1s", d)
	}
}

// RFC 5798 §6.4.1: "else ... Set Master_Adver_Interval to
// Advertisement_Interval; Set the Master_Down_Timer to Master_Down_Interval;
// Transition to the {Backup} state". Master_Down_Interval = 3 *
// Master_Adver_Interval + Skew_Time, Skew_Time = ((256 - priority) *
// Master_Adver_Interval) / 256 (§6.1).
func TestRFC5798_6_4_1_OthersStartBackup(t *testing.T) {
	for _, tc := range []struct {
		adv  time.Duration
		prio uint8
		want time.Duration
	}{
		{time.Second, 100, 3*time.Second + 609375*time.Microsecond},
		{500 * time.Millisecond, 200, 1500*time.Millisecond + 109375*time.Microsecond},
		{10 * time.Millisecond, 254, 30*time.Millisecond + 78*time.Microsecond}, // 2*1*625/16 = 78 µs (integer)
	} {
		h := newHarness(t, func(c *vrrp.Config) { v3(c); c.AdvertInt, c.Priority = tc.adv, tc.prio })
		acts := h.start()
		h.wantState(vrrp.StateBackup)
		if got := logs(acts); !reflect.DeepEqual(got, []string{"(ETH0) Entering BACKUP STATE (init)"}) {
			t.Fatalf("logs %q", got)
		}
		if d := h.deadline(); d != tc.want {
			t.Errorf("adv %v prio %d: Master_Down_Timer %v, want %v", tc.adv, tc.prio, d, tc.want)
		}
	}
}

// keepalived 2.2.7 deviation: "state MASTER" below priority 255 starts as
// BACKUP with the full Master_Down_Timer (vrrp_init_state), it does not
// take over at once.
func TestKeepalivedStateMasterNonOwnerStartsBackup(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.InitialState, c.Priority = vrrp.StateMaster, 200 })
	h.start()
	h.wantState(vrrp.StateBackup)
	if d := h.deadline(); d != 3*time.Second+218750*time.Microsecond {
		t.Fatalf("down timer %v", d)
	}
}

// RFC 3768 §6.1 (VRRPv2): Skew_Time = (256 - Priority) / 256 seconds, not
// scaled by the advertisement interval.
func TestRFC3768_6_1_SkewInSeconds(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.AdvertInt = 3 * time.Second })
	h.start()
	if d := h.deadline(); d != 9*time.Second+609375*time.Microsecond {
		t.Fatalf("down timer %v", d)
	}
}

// RFC 5798 §6.4.2: "If the Master_Down_Timer fires, then: Send an
// ADVERTISEMENT; broadcast a gratuitous ARP ...; Set the Adver_Timer to
// Advertisement_Interval; Transition to the {Master} state".
func TestRFC5798_6_4_2_MasterDownTimerFires(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	acts := h.fire()
	h.wantState(vrrp.StateMaster)
	if a := only[vrrp.SendAdvert](acts); len(a) != 1 || a[0].Advert.Priority != 100 {
		t.Fatalf("adverts %v", describe(acts))
	}
	if g := only[vrrp.SendGratuitous](acts); len(g) != 1 || g[0].Repeat != 5 {
		t.Fatalf("garp %v", describe(acts))
	}
	if d := h.deadline(); d != h.now+time.Second {
		t.Fatalf("Adver_Timer %v", d)
	}
	n := only[vrrp.Notify](acts)
	if len(n) != 1 || n[0].From != vrrp.StateBackup || n[0].To != vrrp.StateMaster || n[0].Reason != vrrp.ReasonMasterDown {
		t.Fatalf("notify %+v", n)
	}
}

// RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then:
// Set the Master_Down_Timer to Skew_Time".
func TestRFC5798_6_4_2_PriorityZeroSetsSkewTime(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	h.recvAt(time.Second, h.advert(peerHigh, 200))
	h.recvAt(2*time.Second, h.advert(peerHigh, 0))
	if d := h.deadline(); d != 2*time.Second+609375*time.Microsecond {
		t.Fatalf("Master_Down_Timer %v, want now + Skew_Time", d)
	}
	acts := h.fire()
	h.wantState(vrrp.StateMaster)
	if n := only[vrrp.Notify](acts); n[0].Reason != vrrp.ReasonPriorityZero {
		t.Fatalf("reason %v", n[0].Reason)
	}
}

// RFC 5798 §6.4.2: "Else if Preempt_Mode is False, or if the Priority in the
// ADVERTISEMENT is greater than or equal to the local Priority, then: Set
// Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT;
// Recompute the Master_Down_Interval; Reset the Master_Down_Timer to
// Master_Down_Interval".
func TestRFC5798_6_4_2_HigherOrEqualResetsTimerAndLearnsInterval(t *testing.T) {
	for _, prio := range []uint8{100, 200} {
		h := newHarness(t, v3)
		h.start()
		p := h.advertWith(peerLow, prio, func(a *packet.Advert) { a.AdvertInt = 50 }) // 0.5 s
		h.recvAt(2*time.Second, p)
		h.wantState(vrrp.StateBackup)
		want := 2*time.Second + 1500*time.Millisecond + 304687*time.Microsecond // 156*50*625/16
		if d := h.deadline(); d != want {
			t.Fatalf("prio %d: Master_Down_Timer %v, want %v", prio, d, want)
		}
	}
}

// RFC 5798 §6.4.2: Preempt_Mode False accepts a lower priority master.
func TestRFC5798_6_4_2_NoPreemptAcceptsLower(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.NoPreempt = true; c.Priority = 200 })
	h.start()
	for s := 1; s <= 20; s++ {
		if acts := h.recvAt(time.Duration(s)*time.Second, h.advert(peerLow, 50)); len(acts) != 0 {
			t.Fatalf("actions %q", describe(acts))
		}
		h.at(h.now)
	}
	h.wantState(vrrp.StateBackup)
}

// RFC 5798 §6.4.2: "Else (Priority less than local Priority and Preempt_Mode
// True): Discard the ADVERTISEMENT". The timer keeps running, so we take over.
func TestRFC5798_6_4_2_PreemptDiscardsLower(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Priority = 200 })
	h.start()
	d0 := h.deadline()
	acts := h.recvAt(time.Second, h.advert(peerLow, 50))
	if got := logs(acts); !reflect.DeepEqual(got, []string{"(ETH0) received lower priority (50) advert from 198.51.100.100 - discarding"}) {
		t.Fatalf("logs %q", got)
	}
	if d := h.deadline(); d != d0 {
		t.Fatalf("timer moved from %v to %v", d0, d)
	}
	h.fire()
	h.wantState(vrrp.StateMaster)
}

// keepalived preempt_delay: lower priority adverts are accepted as if from
// a higher priority master until preempt_delay after the first one.
func TestKeepalivedPreemptDelay(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Priority = 200; c.PreemptDelay = 5 * time.Second })
	h.start()
	var last []vrrp.Action
	for s := 1; s <= 8; s++ {
		h.at(time.Duration(s) * time.Second)
		last = h.recv(h.advert(peerLow, 50))
		h.wantState(vrrp.StateBackup)
		if (s >= 6) != (len(logs(last)) == 1) {
			t.Fatalf("at %ds: logs %q", s, logs(last))
		}
	}
	// The advert at 5 s was the last accepted (delay ends at 1+5 s).
	if d := h.deadline(); d != 5*time.Second+3218750*time.Microsecond {
		t.Fatalf("down timer %v", d)
	}
	h.fire()
	h.wantState(vrrp.StateMaster)
}

// RFC 5798 §6.4.2: "If a Shutdown event is received, then: Cancel the
// Master_Down_Timer; Transition to the {Initialize} state" (keepalived: STOP).
func TestRFC5798_6_4_2_ShutdownInBackup(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	acts := h.step(vrrp.Shutdown{Now: time.Second})
	if len(only[vrrp.SendAdvert](acts)) != 0 {
		t.Fatal("backup sent an advert on shutdown")
	}
	if n := only[vrrp.Notify](acts); len(n) != 1 || n[0].To != vrrp.StateStop {
		t.Fatalf("notify %+v", n)
	}
	if _, ok := h.in.NextDeadline(); ok {
		t.Fatal("timer still running")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func masterHarness(t *testing.T, mutate func(*vrrp.Config)) *harness {
	t.Helper()
	h := newHarness(t, mutate)
	h.start()
	h.fire()
	h.wantState(vrrp.StateMaster)
	return h
}

// RFC 5798 §6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT;
// Reset the Adver_Timer to Advertisement_Interval".
func TestRFC5798_6_4_3_AdverTimer(t *testing.T) {
	h := masterHarness(t, func(c *vrrp.Config) { v3(c); c.AdvertInt = 250 * time.Millisecond })
	for range 5 {
		at := h.deadline()
		acts := h.fire()
		if a := only[vrrp.SendAdvert](acts); len(a) != 1 || a[0].Advert.AdvertInt != 25 {
			t.Fatalf("%q", describe(acts))
		}
		if d := h.deadline(); d != at+250*time.Millisecond {
			t.Fatalf("next %v after %v", d, at)
		}
	}
}

// RFC 5798 §6.4.3: "If a Shutdown event is received, then: Cancel the
// Adver_Timer; Send an ADVERTISEMENT with Priority = 0; Transition to the
// {Initialize} state".
func TestRFC5798_6_4_3_ShutdownSendsPriorityZero(t *testing.T) {
	h := masterHarness(t, nil)
	acts := h.step(vrrp.Shutdown{Now: h.now + time.Millisecond})
	want := []string{
		"send-advert prio=0 to=[224.0.0.18]",
		"log-detail (ETH0) sent 0 priority",
		"del-vips [203.0.113.110/24]",
		"notify MASTER->STOP (shutdown) prio=100",
	}
	if got := describe(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	if acts := h.at(h.now + time.Hour); len(acts) != 0 {
		t.Fatalf("stopped instance acted: %q", describe(acts))
	}
}

// RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then:
// Send an ADVERTISEMENT; Reset the Adver_Timer to Advertisement_Interval".
func TestRFC5798_6_4_3_PriorityZeroAnswered(t *testing.T) {
	h := masterHarness(t, nil)
	acts := h.recvAt(h.now+300*time.Millisecond, h.advert(peerHigh, 0))
	if a := only[vrrp.SendAdvert](acts); len(a) != 1 || a[0].Advert.Priority != 100 {
		t.Fatalf("%q", describe(acts))
	}
	if d := h.deadline(); d != h.now+time.Second {
		t.Fatalf("Adver_Timer %v", d)
	}
	h.wantState(vrrp.StateMaster)
}

// RFC 5798 §6.4.3: "Else if the Priority in the ADVERTISEMENT is greater
// than the local Priority, or the Priority in the ADVERTISEMENT is equal to
// the local Priority and the primary IPvX Address of the sender is greater
// than the local primary IPvX Address, then: Cancel Adver_Timer; Set
// Master_Adver_Interval ...; Set Master_Down_Timer to Master_Down_Interval;
// Transition to the {Backup} state".
func TestRFC5798_6_4_3_HigherPriorityOrAddressWins(t *testing.T) {
	for _, tc := range []struct {
		src  string
		prio uint8
		log  string
	}{
		{"198.51.100.100", 150, "(ETH0) Master received advert from 198.51.100.100 with higher priority 150, ours 100"},
		{"198.51.100.120", 100, "(ETH0) Master received advert from 198.51.100.120 with same priority 100 but higher IP address than ours"},
	} {
		h := masterHarness(t, nil)
		p := h.advert(mustAddr(tc.src), tc.prio)
		acts := h.recvAt(h.now+100*time.Millisecond, p)
		h.wantState(vrrp.StateBackup)
		want := []string{tc.log, "(ETH0) Entering BACKUP STATE"}
		if got := logs(acts); !reflect.DeepEqual(got, want) {
			t.Fatalf("\n got %q\nwant %q", got, want)
		}
		if len(only[vrrp.DelVIPs](acts)) != 1 || len(only[vrrp.SendAdvert](acts)) != 0 {
			t.Fatalf("%q", describe(acts))
		}
		if d := h.deadline(); d != h.now+3*time.Second+609375*time.Microsecond {
			t.Fatalf("down timer %v", d)
		}
	}
}

// RFC 5798 §6.4.3: "Else (lower priority, or equal with lower address):
// Discard the ADVERTISEMENT". keepalived deviates: it answers with an advert
// at once ("forcing new election") unless lower_prio_no_advert, repeats
// GARPs (garp_lower_prio_repeat) and raises notify_master_rx_lower_pri.
func TestRFC5798_6_4_3_LowerDiscardedKeepalivedAnswers(t *testing.T) {
	h := masterHarness(t, nil)
	acts := h.recvAt(h.now+100*time.Millisecond, h.advert(peerLow, 100))
	h.wantState(vrrp.StateMaster)
	want := []string{
		"log (ETH0) Received advert from 198.51.100.100 with lower priority 100, ours 100, forcing new election",
		"send-advert prio=100 to=[224.0.0.18]",
		"garp [203.0.113.110] x5",
		"notify master-rx-lower-pri from 198.51.100.100",
	}
	if got := describe(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	// Second GARP burst after garp_lower_prio_delay (5 s).
	at := h.now
	acts = h.at(at + 5*time.Second)
	if g := only[vrrp.SendGratuitous](acts); len(g) == 0 {
		t.Fatalf("no delayed lower-prio garp: %q", describe(acts))
	}

	h = masterHarness(t, func(c *vrrp.Config) { c.Model.LowerPrioNoAdvert = true; c.Model.GarpLowerPrioRepeat = 0 })
	acts = h.recvAt(h.now+100*time.Millisecond, h.advert(peerLow, 50))
	if len(only[vrrp.SendAdvert](acts)) != 0 || len(only[vrrp.SendGratuitous](acts)) != 0 {
		t.Fatalf("lower_prio_no_advert: %q", describe(acts))
	}
}

// keepalived higher_prio_send_advert: before yielding, send one advert.
func TestKeepalivedHigherPrioSendAdvert(t *testing.T) {
	h := masterHarness(t, func(c *vrrp.Config) { c.Model.HigherPrioSendAdvert = true })
	acts := h.recvAt(h.now+100*time.Millisecond, h.advert(peerLow, 200))
	if a := only[vrrp.SendAdvert](acts); len(a) != 1 || a[0].Advert.Priority != 100 {
		t.Fatalf("%q", describe(acts))
	}
	h.wantState(vrrp.StateBackup)
}

// keepalived: two address owners is a configuration error; the one that
// notices drops to 254 and yields.
func TestKeepalivedTwoOwners(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Priority = 255 })
	h.start()
	acts := h.recvAt(100*time.Millisecond, h.advert(peerLow, 255))
	want := []string{
		"(ETH0) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority",
		"(ETH0) Master received advert from 198.51.100.100 with higher priority 255, ours 254",
		"(ETH0) Entering BACKUP STATE",
	}
	if got := logs(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

// RFC 5798 §7.1 / RFC 3768 §7.1: invalid adverts are discarded, counted and
// logged with keepalived's text, and change nothing.
func TestRFC5798_7_1_DiscardedAdvertsChangeNothing(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.Priority = 50 })
	h.start()
	d0 := h.deadline()
	bad := h.advertWith(peerHigh, 200, func(a *packet.Advert) { a.AuthData = [8]byte{'x'} })
	acts := h.recvAt(time.Second, bad)
	if got := logs(acts); !reflect.DeepEqual(got, []string{"(ETH0) received an invalid passwd!"}) {
		t.Fatalf("%q", got)
	}
	if h.deadline() != d0 {
		t.Fatal("discarded advert moved the timer")
	}
	if n := h.in.Stats().Discards[packet.ErrAuth]; n != 1 {
		t.Fatalf("ErrAuth count %d", n)
	}
}

// keepalived AH: the anti-replay counter drops a sequence number already
// seen (vrrp_in_chk_ipsecah).
func TestKeepalivedAHReplay(t *testing.T) {
	h := newHarness(t, func(c *vrrp.Config) { c.AuthType = packet.AuthAH })
	h.start()
	p := h.advert(peerHigh, 200)
	if acts := h.recvAt(time.Second, p); len(logs(acts)) != 0 {
		t.Fatalf("%q", logs(acts))
	}
	acts := h.recvAt(2*time.Second, p)
	want := []string{"(ETH0) IPSEC-AH : sequence number 1 already processed. Packet dropped. Local(1)"}
	if got := logs(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q", got)
	}
	if h.in.Stats().Discards[packet.ErrReplay] != 1 {
		t.Fatal("replay not counted")
	}
	// Our own adverts continue the sequence we learned.
	acts = h.at(10 * time.Second)
	a := only[vrrp.SendAdvert](acts)
	if len(a) != 1 || a[0].AH == nil || a[0].AH.Seq != 2 {
		t.Fatalf("%q", describe(acts))
	}
	b, err := a[0].Encode(mcastAddr, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := packet.Parse4(b)
	e := packet.Expect{Name: "X", Version: 2, VRID: 10, AuthType: packet.AuthAH, AdvertInt: 1}
	copy(e.AuthData[:], "p@ssw0rd")
	if _, err := packet.Check(r, &e); err != nil && !errors.Is(err, packet.ErrAddrList) {
		t.Fatalf("our AH advert does not verify: %v", err)
	}
}
