// Package nft is an lvs.Backend over nftables, for kernels without IPVS.
//
// Everything lives in two tables of ours, both named Options.Table
// (default "keepalived_lb"): an inet table for NAT services (DNAT through
// slot maps picked by numgen or jhash, persistence in dynamic maps with
// timeouts) and, for direct routing, a netdev table whose ingress chain
// picks a real server per connection by a stateless hash and rewrites the
// MACs towards it (or accepts, when the real server is this node).
//
// Each Apply is one transaction (one netlink batch, all or nothing), so a
// health change or reload switches atomically, at any table size: the
// socket is sized to the batch. The backend keeps what it programmed and
// writes only the difference: one real server's change rewrites a few
// elements of its service's maps. The ruleset's generation id tells
// whether anyone else changed the ruleset since, and, while Run runs, the
// ruleset's notifications tell whether that change touched our tables;
// then (or when it cannot tell), and after a start, the tables are read
// back and the next change refills all of them.
//
// The service settings and destinations are kept in the kernel (a comment
// on each service chain's first rule, element comments in its "_rs"
// set), so List after a restart returns what the previous daemon
// programmed. When no service is left, the tables are deleted.
//
// DR rules forward only for VIPs made active with SetActive, which the
// daemon calls from VRRP state changes; a new Backend starts with none.
package nft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/mdlayher/netlink/nltest"
	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"keepalived-go/internal/timerfd"
	"keepalived-go/lvs"
)

// ErrUnsupported is returned for settings this data plane cannot program
// (tunnel forwarding, DR with fwmark services).
var ErrUnsupported = errors.New("not supported by the nftables backend")

var nativeOrder = binaryutil.NativeEndian

// DefaultTable is the name of our tables.
const DefaultTable = "keepalived_lb"

// Options configure a Backend.
type Options struct {
	Log *logrus.Entry
	// Table names our inet and netdev tables; default DefaultTable.
	Table string
	// Interfaces are where DR traffic for the VIPs arrives (the ingress
	// hooks). Empty: the interfaces that reach the remote real servers.
	Interfaces []string
	// Masquerade source-NATs connections to NAT real servers, for
	// topologies where the real servers do not route back through us.
	Masquerade bool
	// NetNS, when open, is the network namespace to program (tests);
	// the zero value means the current one.
	NetNS netns.NsHandle
	// Resolver finds DR next hops; default: the kernel's neighbour table.
	Resolver Resolver
	// ResolveTimeout bounds the wait for a real server's MAC after a
	// probe; default 1s.
	ResolveTimeout time.Duration
	// TestDial, when set, replaces the kernel (google/nftables'
	// WithTestDial): message-level tests.
	TestDial nltest.Func
}

// nsOpen: the zero NsHandle means "the current namespace", not fd 0.
func nsOpen(h netns.NsHandle) bool { return h > 0 }

// Backend is the nftables lvs.Backend. It is safe for concurrent use.
type Backend struct {
	log   *logrus.Entry
	opts  Options
	copts []nftables.ConnOption
	// rconn reads (dumps) over one lasting socket; each transaction
	// opens its own, sized to it.
	rconn *nftables.Conn
	res   Resolver
	nlh   *netlink.Handle
	stat  statRecorder
	// closed ends Run when the backend is closed.
	closed    chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	active map[netip.Addr]bool
	notes  map[lvs.ServiceKey]string
	// st is what our tables hold; nil until first read.
	st *kstate
	// w follows the ruleset's notifications while Run runs.
	w *watch
}

var (
	_ lvs.Backend = (*Backend)(nil)
	_ lvs.Flusher = (*Backend)(nil)
)

// Available reports whether the kernel has nftables with NAT and netdev
// support (it lists tables of both families).
func Available() bool {
	c, err := nftables.New()
	if err != nil {
		return false
	}
	if _, err := c.ListTablesOfFamily(nftables.TableFamilyINet); err != nil {
		return false
	}
	_, err = c.ListTablesOfFamily(nftables.TableFamilyNetdev)
	return err == nil
}

// New returns a backend. It clears the DR dispatch of a previous run so
// that nothing is forwarded until SetActive says this node holds a VIP.
func New(opts Options) (*Backend, error) {
	if opts.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		opts.Log = logrus.NewEntry(l)
	}
	if opts.Table == "" {
		opts.Table = DefaultTable
	}
	if opts.ResolveTimeout <= 0 {
		opts.ResolveTimeout = time.Second
	}
	var copts []nftables.ConnOption
	switch {
	case opts.TestDial != nil:
		copts = append(copts, nftables.WithTestDial(opts.TestDial))
	case nsOpen(opts.NetNS):
		copts = append(copts, nftables.WithNetNSFd(int(opts.NetNS)))
	}
	rconn, err := nftables.New(append(slices.Clone(copts), nftables.AsLasting())...)
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	b := &Backend{log: opts.Log, opts: opts, copts: copts, rconn: rconn, res: opts.Resolver, closed: make(chan struct{}),
		active: map[netip.Addr]bool{}, notes: map[lvs.ServiceKey]string{}}
	if b.res == nil {
		ns := opts.NetNS
		if !nsOpen(ns) {
			ns = netns.None()
		}
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			rconn.CloseLasting()
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		b.nlh = h
		every := 50 * time.Millisecond
		b.res = &netlinkResolver{h: h, ns: ns, probes: int(opts.ResolveTimeout / every), every: every}
	}
	if opts.TestDial == nil {
		if err := b.clearDispatch(); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Close releases the backend's handles and ends Run; the kernel state
// stays.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		close(b.closed)
		if b.nlh != nil {
			b.nlh.Close()
		}
		err = b.rconn.CloseLasting()
	})
	return err
}

func (b *Backend) clearDispatch() error {
	tables, err := b.rconn.ListTablesOfFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	c, err := nftables.New(b.copts...)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if t.Name != b.opts.Table {
			continue
		}
		sets, err := b.rconn.GetSets(t)
		if err != nil {
			return fmt.Errorf("list sets of netdev %s: %w", t.Name, err)
		}
		for _, s := range sets {
			if s.Name == "dr4" || s.Name == "dr6" {
				c.FlushSet(s)
			}
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("clear DR dispatch: %w", err)
	}
	return nil
}

// sync makes b.st what the kernel holds: kept when the ruleset's
// generation is the one it was programmed or read at, read back
// otherwise.
func (b *Backend) sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.st != nil && !b.st.stale {
		g, err := b.genID()
		if err == nil && g == b.st.genid {
			return nil
		}
		// Someone else's transactions: a read only if one touched ours.
		if err == nil && b.w.vouches(ctx, b.st.genid, g, 200*time.Millisecond) {
			b.st.genid = g
			return nil
		}
	}
	st, err := b.read(ctx)
	if err != nil {
		return err
	}
	b.st = st
	return nil
}

// settle records the generation after a transaction: the next one when
// only ours happened (or, after a failure, the same one), else the state
// is stale and read again before the next change.
func (b *Backend) settle(before uint32, committed bool) {
	g, err := b.genID()
	want := before
	if committed {
		want++
	}
	if err != nil || g != want {
		b.st.stale = true
		return
	}
	b.st.genid = g
}

// List returns the services in our tables.
func (b *Backend) List(ctx context.Context) (lvs.Table, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		return nil, err
	}
	return b.st.table.Clone(), nil
}

// Apply performs ops on the table our kernel state describes and commits
// the result in one transaction. An op that is invalid against the table
// (EEXIST, ESRCH, ENOENT as IPVS would answer) or that this data plane
// cannot program fails alone; a failed commit fails every op, reported
// as one error naming the first.
func (b *Backend) Apply(ctx context.Context, ops []lvs.Op) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		return fmt.Errorf("read nftables state: %w", err)
	}
	sub := lvs.Table{}
	var keys []lvs.ServiceKey
	seen := map[lvs.ServiceKey]bool{}
	for _, op := range ops {
		k := op.Service.ServiceKey
		if seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
		if vs, ok := b.st.table[k]; ok {
			sub[k] = vs
		}
	}
	var errs []error
	var done []lvs.Op
	ed := newEditor(sub)
	for _, op := range ops {
		if err := ed.apply(op); err != nil {
			errs = append(errs, &lvs.OpError{Op: op, Err: err})
			continue
		}
		done = append(done, op)
	}
	if len(done) > 0 {
		if err := b.commitSettled(ctx, change{sub: sub, keys: keys}); err != nil {
			// Every op failed with the transaction: one error names the
			// first and counts the others (a reload's thousands of ops
			// would otherwise make one log line of megabytes).
			if len(done) > 1 {
				err = fmt.Errorf("%w (and %d more changes in the same transaction)", err, len(done)-1)
			}
			errs = append(errs, &lvs.OpError{Op: done[0], Err: err})
		}
	}
	return errors.Join(errs...)
}

// commitSettled commits and records the generation it leaves.
func (b *Backend) commitSettled(ctx context.Context, ch change) error {
	before := b.st.genid
	b.w.pause()
	err := b.commit(ctx, ch)
	b.w.resume()
	b.settle(before, err == nil)
	return err
}

// Flush removes our tables (lvs_flush): the whole of our state.
func (b *Backend) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		return err
	}
	bt := newBatch(nil)
	if b.st.inet {
		bt.delTables = append(bt.delTables, nftables.TableFamilyINet)
	}
	if b.st.dev {
		bt.delTables = append(bt.delTables, nftables.TableFamilyNetdev)
	}
	err := b.transact(bt.filler(b.opts.Table))
	b.st = nil
	return err
}

// SetActive turns DR forwarding for vip on (this node holds it: VRRP
// MASTER) or off (BACKUP, FAULT, stop). NAT services are not affected:
// their traffic only reaches the node that holds the VIP anyway.
func (b *Backend) SetActive(vip netip.Addr, active bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	vip = vip.Unmap()
	if b.active[vip] == active {
		return nil
	}
	if active {
		b.active[vip] = true
	} else {
		delete(b.active, vip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second+b.opts.ResolveTimeout)
	defer cancel()
	if err := b.sync(ctx); err != nil {
		return fmt.Errorf("read nftables state: %w", err)
	}
	var keys []lvs.ServiceKey
	for k, vs := range b.st.table {
		if m, err := serviceMode(vs); err == nil && m == modeDR && k.Addr == vip {
			keys = append(keys, k)
		}
	}
	if b.st.known && len(keys) == 0 {
		b.st.x.active = copyActive(b.active)
		return nil
	}
	if err := b.commitSettled(ctx, change{sub: b.st.table, keys: keys, known: true}); err != nil {
		return fmt.Errorf("set %s %s: %w", vip, map[bool]string{true: "active", false: "inactive"}[active], err)
	}
	return nil
}

// Active returns the VIPs DR forwarding is on for, sorted.
func (b *Backend) Active() []netip.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []netip.Addr
	for a := range b.active {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// Refresh resolves the DR real servers' MACs again and rewrites their
// chains if any changed (a real server replaced, a server that was
// unreachable now answering). The daemon calls it on neighbour changes
// or a timer. Resolving may wait the probe time for a server that does
// not answer; it runs without the lock, so SetActive (VRRP becoming
// MASTER) and Apply never wait behind it.
func (b *Backend) Refresh(ctx context.Context) error {
	b.mu.Lock()
	err := b.sync(ctx)
	var want []netip.Addr
	if err == nil {
		_, want = b.drDests()
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	hops := b.resolve(ctx, want)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.sync(ctx); err != nil {
		return err
	}
	keys, now := b.drDests()
	if !slices.Equal(now, want) {
		// The services changed meanwhile: resolve what they are now.
		hops = b.resolve(ctx, now)
	}
	if b.st.known && hopsEqual(hops, b.st.x.hops) {
		return nil
	}
	return b.commitSettled(ctx, change{sub: b.st.table, keys: keys, hops: hops})
}

// drDests returns the DR services and their real servers that may take
// traffic, in a stable order.
func (b *Backend) drDests() (keys []lvs.ServiceKey, addrs []netip.Addr) {
	seen := map[netip.Addr]bool{}
	for _, k := range b.st.table.Keys() {
		vs := b.st.table[k]
		if m, err := serviceMode(vs); err != nil || m != modeDR {
			continue
		}
		keys = append(keys, k)
		for _, d := range vs.SortedDests() {
			if d.Weight > 0 && !seen[d.Addr] {
				seen[d.Addr] = true
				addrs = append(addrs, d.Addr)
			}
		}
	}
	return keys, addrs
}

func hopsEqual(a, b map[netip.Addr]Hop) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok || x.String() != y.String() || x.Ifindex != y.Ifindex {
			return false
		}
	}
	return true
}

// Run refreshes on every neighbour change in our namespace and every
// interval (default 30s) until ctx ends or the backend is closed.
func (b *Backend) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	ch := make(chan netlink.NeighUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	ns := b.opts.NetNS
	if !nsOpen(ns) {
		ns = netns.None()
	}
	if err := netlink.NeighSubscribeWithOptions(ch, done, netlink.NeighSubscribeOptions{Namespace: &ns}); err != nil {
		return fmt.Errorf("subscribe to neighbour changes: %w", err)
	}
	if w, err := b.openWatch(); err != nil {
		b.log.WithError(err).Info("nftables: cannot follow ruleset changes; any other program's change will make us read our tables back")
	} else if w != nil {
		b.mu.Lock()
		b.w = w
		b.mu.Unlock()
		defer func() {
			b.mu.Lock()
			b.w = nil
			b.mu.Unlock()
			w.close()
		}()
	}
	// A timerfd, not a time.Ticker: a runtime timer makes Go's monitor
	// thread spin up around every expiry (about ten wakeups each).
	t := timerfd.New()
	defer t.Close()
	t.Reset(interval)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-b.closed:
			return nil
		case u := <-ch:
			if !b.isDest(u.IP) {
				continue
			}
		case <-t.C:
			t.Reset(interval)
		}
		if err := b.Refresh(ctx); err != nil && ctx.Err() == nil {
			b.log.WithError(err).Warn("nftables: refresh of DR next hops failed")
		}
	}
}

// isDest reports whether ip is a DR destination held (true before the
// first read): other neighbours do not matter.
func (b *Backend) isDest(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st == nil {
		return true
	}
	for _, vs := range b.st.table {
		for _, d := range vs.Dests {
			if d.Forward == lvs.NAT {
				break // a NAT service has no DR destination
			}
			if d.Addr == a {
				return true
			}
		}
	}
	return false
}

// resolve finds the hops of addrs; the unreachable are left out (they
// get no traffic) and logged.
func (b *Backend) resolve(ctx context.Context, addrs []netip.Addr) map[netip.Addr]Hop {
	if br, ok := b.res.(batchResolver); ok && len(addrs) > 1 {
		hops, errs := br.ResolveAll(ctx, addrs)
		for _, a := range addrs {
			if err := errs[a]; err != nil {
				b.log.WithError(err).Warnf("nftables: real server %s unreachable for direct routing, no traffic sent to it", a)
			}
		}
		return hops
	}
	hops := map[netip.Addr]Hop{}
	for _, a := range addrs {
		h, err := b.res.Resolve(ctx, a)
		if err != nil {
			b.log.WithError(err).Warnf("nftables: real server %s unreachable for direct routing, no traffic sent to it", a)
			continue
		}
		hops[a] = h
	}
	return hops
}

// carry reads the persistence entries of service k that point at a
// destination p still has, with their remaining lifetime.
func (b *Backend) carry(ctx context.Context, k lvs.ServiceKey, p svcPlan) []nftables.SetElement {
	if ctx.Err() != nil {
		return nil
	}
	s := &nftables.Set{Table: &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet}, Name: chainName(k) + "_persist"}
	elems, err := b.rconn.GetSetElements(s)
	if err != nil {
		return nil
	}
	live := map[string]bool{}
	for _, d := range p.Dests {
		live[string(addrPortKey(d.Addr, d.Port))] = true
		live[string(d.Addr.AsSlice())] = true
	}
	var out []nftables.SetElement
	for _, e := range elems {
		if live[string(e.Val)] && e.Expires > 0 {
			out = append(out, nftables.SetElement{Key: e.Key, Val: e.Val, Timeout: e.Expires})
		}
	}
	return out
}

// Stats returns the transaction figures.
func (b *Backend) Stats() Stats { return b.stat.get() }

// BackendStatus reports what the kernel holds: the services and
// destinations as last programmed or read back, and whether the last
// transaction failed.
func (b *Backend) BackendStatus() lvs.BackendStatus {
	s := b.stat.get()
	out := lvs.BackendStatus{Kind: "nftables", Commits: s.Commits, Failures: s.Failures,
		LastError: s.LastError, LastErrorAt: s.LastErrorAt,
		LastBatchMessages: s.Last.Messages, LastBatchBytes: s.Last.Bytes, LargestBatchBytes: s.Largest.Bytes}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != nil {
		out.Services, out.Dests = len(b.st.table), b.st.dests()
	}
	return out
}
