package engine

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"keepalived-go/config"
	"keepalived-go/internal/nettest"
)

var benchRuns = flag.Int("bfd.runs", 3, "cuts measured by TestDetectionBench (bench/bfd.sh uses 20)")

const benchVIP = "198.51.100.100"

// keepalived watches the same peer, and its VRRP instance tracks the
// session unweighted: BFD Down is FAULT, which removes the VIP.
const kaBenchConf = `global_defs {
    router_id kabench
    vrrp_version 3
    vrrp_garp_master_delay 0
}
bfd_instance peer {
    neighbor_ip 198.51.100.2
    source_ip 198.51.100.3
    min_rx 50
    min_tx 50
    multiplier 3
}
vrrp_instance VB {
    interface eth0
    virtual_router_id 211
    priority 100
    advert_int 0.1
    virtual_ipaddress {
        ` + benchVIP + `/24
    }
    track_bfd {
        peer
    }
}
`

// vipWatch reports, from netlink, when the VIP leaves or joins a node.
type vipWatch struct {
	del, add chan time.Time
	has      func() bool
}

func watchVIP(t *testing.T, node *nettest.Node) *vipWatch {
	t.Helper()
	h, err := netns.GetFromPath("/var/run/netns/" + node.NS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{Namespace: &h}); err != nil {
		t.Fatal(err)
	}
	w := &vipWatch{del: make(chan time.Time, 16), add: make(chan time.Time, 16), has: func() bool { return node.HasAddr(benchVIP) }}
	vip := net.ParseIP(benchVIP)
	go func() {
		for u := range ch {
			at := time.Now()
			if !u.LinkAddress.IP.Equal(vip) {
				continue
			}
			if u.NewAddr {
				w.add <- at
			} else {
				w.del <- at
			}
		}
	}()
	return w
}

// kaNegotiated: keepalived's session came Up since it last went Down, and
// the last detection time it logged is 150 ms (keepalived logs it before
// the transition when one packet does both).
func kaNegotiated(out string) bool {
	if d := strings.LastIndex(out, "(peer) Entering Down state"); !strings.Contains(out[max(d, 0):], "(peer) Entering Up state") {
		return false
	}
	i := strings.LastIndex(out, "Detection time is ")
	return i >= 0 && strings.HasPrefix(out[i:], "Detection time is 150000 us")
}

var expiredRE = regexp.MustCompile(`\((\w+)\) Expired after \d+ ms \((\d+) usec overdue\)`)

// overdues are the "usec overdue" of every expiry of session name logged
// in text, in order.
func overdues(text, name string) []time.Duration {
	var out []time.Duration
	for _, m := range expiredRE.FindAllStringSubmatch(text, -1) {
		if m[1] == name {
			us, _ := strconv.Atoi(m[2])
			out = append(out, time.Duration(us)*time.Microsecond)
		}
	}
	return out
}

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1)*p + 0.5)
	return s[i]
}

func ms3(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// TestDetectionBench: FRR's bfdd is the peer of ours and of Debian's
// keepalived at once; its cable is cut, both notice the same cut. Ours is
// timed when the engine emits its Down event (engine clock; "delivered"
// is when a reader of Events got it), keepalived at the removal of its
// VIP (its VRRP instance tracks the session and goes FAULT). Each also logs how late its
// detection timer fired ("usec overdue"). Every run of ours must be within
// min_rx x multiplier (150 ms) + 10 ms of the cut. bench/bfd.sh runs 20
// cuts (-bfd.runs) and prints the table.
func TestDetectionBench(t *testing.T) {
	need(t, bfddPath, "vtysh", "keepalived")
	lan := nettest.NewLAN(t)
	us := lan.AddNode("us", "198.51.100.1/24")
	peer := lan.AddNode("frr", "198.51.100.2/24")
	kn := lan.AddNode("ka", "198.51.100.3/24")
	startBfdd(t, peer, 50, 50, 3, "198.51.100.1 local-address 198.51.100.2", "198.51.100.3 local-address 198.51.100.2")
	w := watchVIP(t, kn)
	ka := startKeepalived(t, kn, kaBenchConf)
	mod := func(bi *config.BFDInstance) {
		bi.MinRx, bi.MinTx, bi.Multiplier = 50*time.Millisecond, 50*time.Millisecond, 3
	}
	r := startEngine(t, Options{Net: nsNet{us.NS}}, inst("peer", "198.51.100.2", "198.51.100.1", mod))
	const bound = 160 * time.Millisecond

	// ours: detection, the engine's clock at the Down event; delivered:
	// when the event reached this goroutine (two goroutine hops later).
	var ours, delivered, theirs []time.Duration
	for i := 0; i < *benchRuns; i++ {
		waitNegotiated(t, r, "peer", 150*time.Millisecond)
		nettest.WaitFor(t, 10*time.Second, "keepalived MASTER with the VIP", w.has)
		nettest.WaitFor(t, 5*time.Second, "keepalived's detection time 150 ms", func() bool {
			return kaNegotiated(ka.Output())
		})
		r.drain()
		for len(w.del)+len(w.add) > 0 {
			select {
			case <-w.del:
			case <-w.add:
			}
		}
		time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
		if err := peer.Cable(false); err != nil {
			t.Fatal(err)
		}
		cut := time.Now()
		ev := r.waitEvent(t, "peer", false, 3*time.Second)
		var gone time.Time
		select {
		case gone = <-w.del:
		case <-time.After(3 * time.Second):
			t.Fatalf("run %d: keepalived kept its VIP\n%s", i, ka.Output())
		}
		if err := peer.Cable(true); err != nil {
			t.Fatal(err)
		}
		ours = append(ours, r.e.start.Add(ev.At).Sub(cut))
		delivered = append(delivered, ev.Seen.Sub(cut))
		theirs = append(theirs, gone.Sub(cut))
		if ours[i] > bound {
			t.Errorf("run %d: ours Down %v after the cut, more than 150 ms + 10 ms", i, ours[i])
		}
		r.waitEvent(t, "peer", true, 5*time.Second)
	}
	r.log.mu.Lock()
	ourLog := strings.Join(r.log.lines, "\n")
	r.log.mu.Unlock()
	oo, ko := overdues(ourLog, "peer"), overdues(ka.Output(), "peer")
	var b strings.Builder
	fmt.Fprintf(&b, "BFD detection, FRR bfdd peer cut, min_rx 50 ms x 3 = 150 ms, %d runs\n", len(ours))
	fmt.Fprintf(&b, "%-4s %10s %14s %16s\n", "run", "ours ms", "delivered ms", "keepalived ms")
	for i := range ours {
		fmt.Fprintf(&b, "%-4d %10s %14s %16s\n", i+1, ms3(ours[i]), ms3(delivered[i]), ms3(theirs[i]))
	}
	fmt.Fprintf(&b, "from the cut      p50 ours %s ms  keepalived %s ms  ratio %.3f\n",
		ms3(pct(ours, .5)), ms3(pct(theirs, .5)), float64(pct(ours, .5))/float64(pct(theirs, .5)))
	fmt.Fprintf(&b, "                  p99 ours %s ms  keepalived %s ms  ratio %.3f\n",
		ms3(pct(ours, .99)), ms3(pct(theirs, .99)), float64(pct(ours, .99))/float64(pct(theirs, .99)))
	fmt.Fprintf(&b, "ours delivered    p50 %s ms  p99 %s ms\n", ms3(pct(delivered, .5)), ms3(pct(delivered, .99)))
	if len(oo) > 0 && len(ko) > 0 {
		fmt.Fprintf(&b, "timer overdue     p50 ours %d us  keepalived %d us; p99 ours %d us  keepalived %d us (%d/%d expiries)\n",
			pct(oo, .5).Microseconds(), pct(ko, .5).Microseconds(), pct(oo, .99).Microseconds(), pct(ko, .99).Microseconds(), len(oo), len(ko))
	}
	t.Logf("overdue ours %v keepalived %v", oo, ko)
	t.Log("\n" + b.String())
}
