package main

import (
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// Issue 19 findings 1-3: ours and Debian's keepalived 2.2.7 through the
// same fault, on a pair each (a: the implementation under test, priority
// 150; b: keepalived, priority 100), with the same outcome; the times are
// printed side by side.

const pairConf = `global_defs {
    router_id A
}
vrrp_instance VI {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    notify @NOTIFY@
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`

const pairVIP = "198.51.100.10"

// pairPeer is b's configuration: the same instance, BACKUP, priority 100.
var pairPeer = strings.NewReplacer("router_id A", "router_id B", "state MASTER", "state BACKUP",
	"priority 150", "priority 100").Replace(pairConf)

// holders watches who holds the VIP.
type holders struct{ a, b *nettest.AddrWatcher }

func watchPair(l *klab) holders { return holders{l.a.Watch("eth0"), l.b.Watch("eth0")} }

// until polls every 5 ms until cond holds; it returns how long that took,
// or fails after within.
func until(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	return untilFrom(t, time.Now(), what, within, cond)
}

// untilFrom is until timed from start (when the fault was made, before
// the command that made it returned).
func untilFrom(t *testing.T, start time.Time, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// startPair starts the subject, lets it become MASTER, then the peer.
func startPair(t *testing.T, l *klab) holders {
	h := watchPair(l)
	subj := l.start(l.a, l.impl, pairConf)
	subj.waitState(t, "MASTER", 15*time.Second)
	l.subj = subj
	l.peer = l.start(l.b, implKA, pairPeer)
	l.peer.waitState(t, "BACKUP", 10*time.Second)
	return h
}

// faultOutcome is what one implementation did through a fault.
type faultOutcome struct {
	Outcome string
	Times   map[string]time.Duration
}

func sideBySide(t *testing.T, name string, ours, theirs faultOutcome) {
	t.Helper()
	for k, v := range theirs.Times {
		t.Logf("%s: %-40s keepalived %8.3fs | ours %8.3fs", name, k, v.Seconds(), ours.Times[k].Seconds())
	}
	if ours.Outcome != theirs.Outcome {
		t.Errorf("%s: outcome\n ours       %s\n keepalived %s", name, ours.Outcome, theirs.Outcome)
	}
	t.Logf("%s: outcome (both): %s", name, ours.Outcome)
}

// Finding 1: a VIP deleted by hand on the MASTER is put back (keepalived:
// BACKUP, then MASTER again after Skew_Time); the BACKUP never takes it.
func TestFaultVIPDeleted(t *testing.T) {
	ours, theirs := bothImpls(t, func(t *testing.T, l *klab) faultOutcome {
		h := startPair(t, l)
		peerTook := false
		t0 := time.Now()
		l.a.MustExec("ip", "addr", "del", pairVIP+"/24", "dev", "eth0")
		back := untilFrom(t, t0, "VIP back on a", 5*time.Second, func() bool {
			peerTook = peerTook || h.b.Has(pairVIP)
			return h.a.Has(pairVIP)
		})
		time.Sleep(2 * time.Second)
		return faultOutcome{
			Outcome: strings.Join([]string{"a holds=" + yes(h.a.Has(pairVIP)), "b holds=" + yes(h.b.Has(pairVIP)),
				"b took it meanwhile=" + yes(peerTook), "a=" + l.subj.state(), "b=" + l.peer.state()}, " "),
			Times: map[string]time.Duration{"VIP deleted -> back on the MASTER": back},
		}
	})
	if t.Failed() {
		return
	}
	sideBySide(t, "finding 1", ours, theirs)
	if ours.Outcome != "a holds=yes b holds=no b took it meanwhile=no a=MASTER b=BACKUP" {
		t.Errorf("ours: %s", ours.Outcome)
	}
}

// Finding 2: the MASTER's primary address removed: FAULT, the BACKUP
// takes over; the address back: the MASTER preempts again.
func TestFaultPrimaryAddressRemoved(t *testing.T) {
	ours, theirs := bothImpls(t, func(t *testing.T, l *klab) faultOutcome {
		h := startPair(t, l)
		t0 := time.Now()
		l.a.MustExec("ip", "addr", "del", "198.51.100.11/24", "dev", "eth0")
		takeover := untilFrom(t, t0, "b takes the VIP", 5*time.Second, func() bool { return h.b.Has(pairVIP) })
		l.subj.waitState(t, "FAULT", 3*time.Second)
		time.Sleep(500 * time.Millisecond)
		during := "a holds=" + yes(h.a.Has(pairVIP)) + " b holds=" + yes(h.b.Has(pairVIP)) + " a=" + l.subj.state()
		t1 := time.Now()
		l.a.MustExec("ip", "addr", "add", "198.51.100.11/24", "dev", "eth0")
		recovered := untilFrom(t, t1, "a takes the VIP back", 10*time.Second, func() bool { return h.a.Has(pairVIP) && !h.b.Has(pairVIP) })
		time.Sleep(time.Second)
		return faultOutcome{
			Outcome: "during: " + during + "; after: a holds=" + yes(h.a.Has(pairVIP)) + " b holds=" + yes(h.b.Has(pairVIP)) +
				" a=" + l.subj.state() + " b=" + l.peer.state(),
			Times: map[string]time.Duration{"address removed -> BACKUP holds the VIP": takeover,
				"address back -> MASTER holds it again": recovered},
		}
	})
	if t.Failed() {
		return
	}
	sideBySide(t, "finding 2", ours, theirs)
	if ours.Outcome != "during: a holds=no b holds=yes a=FAULT; after: a holds=yes b holds=no a=MASTER b=BACKUP" {
		t.Errorf("ours: %s", ours.Outcome)
	}
}

// Finding 3: an interface without an IPv4 address: FAULT with
// keepalived's "no IPv4 address for interface", never MASTER; the peer
// alone holds the VIP; an address added: the instance comes up and
// preempts.
func TestFaultNoIPv4Address(t *testing.T) {
	ours, theirs := bothImpls(t, func(t *testing.T, l *klab) faultOutcome {
		h := watchPair(l)
		l.a.MustExec("ip", "addr", "del", "198.51.100.11/24", "dev", "eth0")
		l.peer = l.start(l.b, implKA, pairPeer)
		l.peer.waitState(t, "MASTER", 10*time.Second)
		l.subj = l.start(l.a, l.impl, pairConf)
		l.subj.waitState(t, "FAULT", 5*time.Second)
		aTook := false
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			aTook = aTook || h.a.Has(pairVIP)
			time.Sleep(10 * time.Millisecond)
		}
		logged := strings.Contains(l.subj.out.String(), "(VI) entering FAULT state (no IPv4 address for interface)")
		during := "a took the VIP=" + yes(aTook) + " b holds=" + yes(h.b.Has(pairVIP)) + " a=" + l.subj.state() +
			" b=" + l.peer.state() + " logged=" + yes(logged)
		t1 := time.Now()
		l.a.MustExec("ip", "addr", "add", "198.51.100.11/24", "dev", "eth0")
		up := untilFrom(t, t1, "a preempts", 10*time.Second, func() bool { return h.a.Has(pairVIP) && !h.b.Has(pairVIP) })
		time.Sleep(time.Second)
		return faultOutcome{
			Outcome: "during: " + during + "; after: a=" + l.subj.state() + " b=" + l.peer.state(),
			Times:   map[string]time.Duration{"address added -> MASTER holds the VIP": up},
		}
	})
	if t.Failed() {
		return
	}
	sideBySide(t, "finding 3", ours, theirs)
	if ours.Outcome != "during: a took the VIP=no b holds=yes a=FAULT b=MASTER logged=yes; after: a=MASTER b=BACKUP" {
		t.Errorf("ours: %s", ours.Outcome)
	}
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
