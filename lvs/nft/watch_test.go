package nft

import (
	"context"
	"encoding/binary"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// notif builds one nftables notification: an object message naming its
// table in attribute 1, or NEWGEN carrying id.
func notif(t *testing.T, typ int, table string, id uint32) netlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	if typ == unix.NFT_MSG_NEWGEN {
		ae.Uint32(unix.NFTA_GEN_ID, id)
		ae.Uint32(unix.NFTA_GEN_PROC_PID, 1)
	} else {
		ae.String(1, table)
		ae.String(2, "x")
	}
	data, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ)},
		Data: append([]byte{unix.AF_INET, 0, 0, 0}, data...)}
}

func TestWatchVouches(t *testing.T) {
	w := &watch{table: DefaultTable, start: 10, last: 10}
	w.cond = sync.NewCond(&w.mu)
	ctx := context.Background()
	feed := func(ms ...netlink.Message) {
		w.mu.Lock()
		for _, m := range ms {
			w.note(m)
		}
		w.mu.Unlock()
	}
	// Someone else's table (iptables-nft's "nat"): no read needed.
	feed(notif(t, unix.NFT_MSG_NEWRULE, "nat", 0), notif(t, unix.NFT_MSG_NEWGEN, "", 11))
	if !w.vouches(ctx, 10, 11, time.Second) {
		t.Fatal("a transaction in another table made the watch ask for a read")
	}
	// A generation from before the watch started is not vouched for.
	if w.vouches(ctx, 9, 11, time.Second) {
		t.Fatal("vouched for generations before the watch started")
	}
	// A set element of ours flushed at 12.
	feed(notif(t, unix.NFT_MSG_DELSETELEM, DefaultTable, 0), notif(t, unix.NFT_MSG_NEWGEN, "", 12),
		notif(t, unix.NFT_MSG_NEWTABLE, "filter", 0), notif(t, unix.NFT_MSG_NEWGEN, "", 13))
	if w.vouches(ctx, 11, 13, time.Second) {
		t.Fatal("a transaction touching our table was vouched for")
	}
	// Read back at 12 (or our own commit settled at 12): 13 is clean.
	if !w.vouches(ctx, 12, 13, time.Second) {
		t.Fatal("the transaction after the read was not vouched for")
	}
	// A generation whose notification has not arrived: wait, then no.
	start := time.Now()
	if w.vouches(ctx, 13, 14, 50*time.Millisecond) {
		t.Fatal("vouched for a generation not seen")
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("did not wait for the notification")
	}
	// ... and yes when it arrives meanwhile.
	go func() {
		time.Sleep(20 * time.Millisecond)
		feed(notif(t, unix.NFT_MSG_NEWGEN, "", 14))
		w.cond.Broadcast()
	}()
	if !w.vouches(ctx, 13, 14, 5*time.Second) {
		t.Fatal("not vouched once the notification arrived")
	}
	// Lost notifications count as touched up to the kernel's generation.
	w.mu.Lock()
	w.mark(16)
	w.advance(16)
	w.mu.Unlock()
	if w.vouches(ctx, 14, 16, time.Second) || !w.vouches(ctx, 16, 16, time.Second) {
		t.Fatal("lost notifications not counted as a change")
	}
	var nilWatch *watch
	if nilWatch.vouches(ctx, 1, 2, time.Second) {
		t.Fatal("no watch vouched")
	}
}

// TestKernelWatch: while Run follows the ruleset, someone else's
// transaction in another table costs no read of ours; one in our table
// is read back, and the next refresh repairs it.
func TestKernelWatch(t *testing.T) {
	needKernel(t)
	n := newNS(t, "watch")
	b, err := New(Options{NetNS: n.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _ = b.Run(ctx, time.Hour); close(done) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(5 * time.Second); ; {
		b.mu.Lock()
		ok := b.w != nil
		b.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not start its watch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := lvs.Table{}.Add(natService("rr"), natDests(1, 1)...)
	reconcile(t, b, want)
	reads := b.Stats().ReadBacks
	list := func() {
		t.Helper()
		got, err := b.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ops := lvs.Diff(want, got); len(ops) != 0 {
			t.Fatalf("List differs from what was programmed: %v", ops)
		}
	}
	// iptables-nft from a notify script, a firewall manager: not ours.
	n.run(t, "nft", "add table ip other; add chain ip other c { type nat hook prerouting priority dstnat; }; add rule ip other c tcp dport 81 redirect to :8080")
	list()
	if got := b.Stats().ReadBacks; got != reads {
		t.Fatalf("a transaction in another table read our tables back (%d reads, want %d)", got, reads)
	}
	// Our table touched: the service map flushed.
	n.run(t, "nft", "flush", "map", "inet", DefaultTable, "svc4")
	list()
	if got := b.Stats().ReadBacks; got != reads+1 {
		t.Fatalf("a flush of our map was not read back (%d reads, want %d)", got, reads+1)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if out := n.run(t, "nft", "list", "map", "inet", DefaultTable, "svc4"); !strings.Contains(out, vipNAT.String()) {
		t.Fatalf("the refresh after the flush did not refill svc4:\n%s", out)
	}
	if _, err := exec.LookPath("iptables"); err == nil {
		n.run(t, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "82", "-j", "REDIRECT", "--to-ports", "8080")
		list()
		if got := b.Stats().ReadBacks; got != reads+1 {
			t.Fatalf("an iptables rule read our tables back (%d reads, want %d)", got, reads+1)
		}
	}
}
