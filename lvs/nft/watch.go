package nft

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// watch follows the ruleset's change notifications (what `nft monitor`
// prints) so that a transaction of someone else's that leaves our tables
// alone (iptables-nft adding a NAT rule from a notify script, a firewall
// manager) costs nothing: without it, every foreign commit made the next
// sync read our tables back and the next change refill all of them.
//
// It keeps no events, only three generations: the one it started at, the
// last one whose notification it has seen, and the last one whose
// transaction touched a table named ours, or whose notifications were
// lost (ENOBUFS), which counts as touched.
type watch struct {
	table string
	conn  *netlink.Conn
	// gen reads the ruleset's generation on a socket of its own.
	gen func() (uint32, error)

	mu   sync.Mutex
	cond *sync.Cond
	// start: generations up to it were not watched.
	start uint32
	// last is the latest NEWGEN seen.
	last uint32
	// touched is the latest generation that changed something in a table
	// of our name, or lost notifications; has says there is one.
	touched uint32
	has     bool
	// pending: the transaction being received touched ours.
	pending bool
	// err ends the watch: it vouches for nothing after.
	err error
}

// openWatch starts the watch of b's namespace; nil (and the reason) when
// the kernel or a test socket does not allow it: every foreign
// transaction then makes the next sync read back, as before.
func (b *Backend) openWatch() (*watch, error) {
	if b.opts.TestDial != nil {
		return nil, nil
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(max(b.opts.NetNS, 0))})
	if err != nil {
		return nil, err
	}
	w, err := startWatch(conn, b.opts.Table, b.genID)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

// startWatch joins the nftables notification group on conn and follows
// it until conn is closed.
func startWatch(conn *netlink.Conn, table string, gen func() (uint32, error)) (*watch, error) {
	w := &watch{table: table, conn: conn, gen: gen}
	w.cond = sync.NewCond(&w.mu)
	if err := conn.JoinGroup(unix.NFNLGRP_NFTABLES); err != nil {
		return nil, err
	}
	// A buffer for a few thousand notifications: a large transaction of
	// our own would overflow the default and cost a read back.
	if rc, err := conn.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = setBuf(int(fd), unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, 4<<20) })
	}
	g, err := gen()
	if err != nil {
		return nil, err
	}
	w.start, w.last = g, g
	go w.run()
	return w, nil
}

func (w *watch) run() {
	for {
		msgs, err := w.conn.Receive()
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				// Notifications were dropped: every transaction up to
				// the kernel's generation now may have touched ours.
				g, gerr := w.gen()
				w.mu.Lock()
				if gerr == nil {
					w.mark(g)
					w.advance(g)
				} else {
					w.err = gerr
				}
				w.mu.Unlock()
				w.cond.Broadcast()
				if gerr == nil {
					continue
				}
				return
			}
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			w.cond.Broadcast()
			return
		}
		w.mu.Lock()
		for _, m := range msgs {
			w.note(m)
		}
		w.mu.Unlock()
		w.cond.Broadcast()
	}
}

// note takes one notification. Every nftables object message names its
// table in attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE,
// NFTA_SET_ELEM_LIST_TABLE, NFTA_RULE_TABLE, NFTA_OBJ_TABLE,
// NFTA_FLOWTABLE_TABLE); NEWGEN closes a transaction.
func (w *watch) note(m netlink.Message) {
	if m.Header.Type>>8 != unix.NFNL_SUBSYS_NFTABLES || len(m.Data) < 4 {
		return
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[4:])
	if err != nil {
		w.pending = true // cannot tell: count it as ours
		return
	}
	ad.ByteOrder = binary.BigEndian
	if m.Header.Type&0xff == unix.NFT_MSG_NEWGEN {
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				g := ad.Uint32()
				if w.pending {
					w.mark(g)
					w.pending = false
				}
				w.advance(g)
				return
			}
		}
		w.pending = true
		return
	}
	for ad.Next() {
		if ad.Type() == 1 {
			if string(bytes.TrimRight(ad.Bytes(), "\x00")) == w.table {
				w.pending = true
			}
			return
		}
	}
}

func (w *watch) mark(g uint32) {
	if !w.has || after(g, w.touched) {
		w.touched, w.has = g, true
	}
}

func (w *watch) advance(g uint32) {
	if after(g, w.last) {
		w.last = g
	}
}

// after reports whether generation a is later than b (wrapping).
func after(a, b uint32) bool { return int32(a-b) > 0 }

// vouches reports whether no transaction after generation from, up to
// generation to (the kernel's now), touched our tables: the kernel holds
// what it held at from. It waits, up to wait, for the notifications of to
// (the kernel answers a generation query before it has sent them).
func (w *watch) vouches(ctx context.Context, from, to uint32, wait time.Duration) bool {
	if w == nil {
		return false
	}
	deadline := time.Now().Add(wait)
	stop := context.AfterFunc(ctx, w.cond.Broadcast)
	defer stop()
	timer := time.AfterFunc(wait, w.cond.Broadcast)
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && after(to, w.last) && time.Now().Before(deadline) && ctx.Err() == nil {
		w.cond.Wait()
	}
	if w.err != nil || after(to, w.last) || after(w.start, from) {
		return false
	}
	return !w.has || !after(w.touched, from)
}

// pause leaves the notification group for a transaction of ours: the
// kernel then builds no notification at all for it (with no listener in
// the namespace), where a daemon programming 50,000 real servers would
// otherwise have it build and us parse one per element (1.8 s became
// 4.5 s). resume must follow.
func (w *watch) pause() {
	if w != nil {
		_ = w.conn.LeaveGroup(unix.NFNLGRP_NFTABLES)
	}
}

// resume joins the group again after a transaction of ours. The
// generations up to the one read after joining were not watched; settle
// vouches for our own (the generation after it is the next one, or the
// state is read back).
func (w *watch) resume() {
	if w == nil {
		return
	}
	err := w.conn.JoinGroup(unix.NFNLGRP_NFTABLES)
	var g uint32
	if err == nil {
		g, err = w.gen()
	}
	w.mu.Lock()
	if err != nil {
		w.err = err
	} else {
		w.start = g
		w.advance(g)
	}
	w.mu.Unlock()
	w.cond.Broadcast()
}

// close ends the watch.
func (w *watch) close() {
	if w != nil {
		w.conn.Close()
	}
}
