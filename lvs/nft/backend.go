// Package nft is an lvs.Backend over nftables, for kernels without IPVS.
//
// Everything lives in two tables of ours, both named Options.Table
// (default "keepalived_lb"): an inet table for NAT services (DNAT through
// slot maps picked by numgen or jhash, persistence in dynamic maps with
// timeouts) and, for direct routing, a netdev table whose ingress chain
// picks a real server per connection by a stateless hash and rewrites the
// MACs towards it (or accepts, when the real server is this node).
//
// Each Apply writes the whole of our state in one batch (Conn.Flush), so a
// health change or reload switches atomically. The service settings and
// destinations are kept in the kernel (a comment on each service chain's
// first rule, element comments in its "_rs" set), so List after a restart
// returns what the previous daemon programmed.
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
	"github.com/google/nftables/userdata"
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
	log  *logrus.Entry
	opts Options
	conn *nftables.Conn
	res  Resolver
	nlh  *netlink.Handle

	mu     sync.Mutex
	active map[netip.Addr]bool
	hops   map[netip.Addr]Hop
	notes  map[lvs.ServiceKey]string
	// last is the table of the last commit: a neighbour change is checked
	// against it before the kernel's ruleset is read back.
	last lvs.Table
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
	conn, err := nftables.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables: %w", err)
	}
	b := &Backend{log: opts.Log, opts: opts, conn: conn, res: opts.Resolver,
		active: map[netip.Addr]bool{}, hops: map[netip.Addr]Hop{}, notes: map[lvs.ServiceKey]string{}}
	if b.res == nil {
		ns := opts.NetNS
		if !nsOpen(ns) {
			ns = netns.None()
		}
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
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

// Close releases the backend's handles; the kernel state stays.
func (b *Backend) Close() error {
	if b.nlh != nil {
		b.nlh.Close()
	}
	return nil
}

func (b *Backend) clearDispatch() error {
	tables, err := b.conn.ListTablesOfFamily(nftables.TableFamilyNetdev)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if t.Name != b.opts.Table {
			continue
		}
		sets, err := b.conn.GetSets(t)
		if err != nil {
			return fmt.Errorf("list sets of netdev %s: %w", t.Name, err)
		}
		for _, s := range sets {
			if s.Name == "dr4" || s.Name == "dr6" {
				b.conn.FlushSet(s)
			}
		}
	}
	if err := b.conn.Flush(); err != nil {
		return fmt.Errorf("clear DR dispatch: %w", err)
	}
	return nil
}

// List returns the services in our tables.
func (b *Backend) List(ctx context.Context) (lvs.Table, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.read(ctx)
	if err != nil {
		return nil, err
	}
	return o.table, nil
}

// Apply performs ops on the table our kernel state describes and commits
// the result in one transaction. An op that is invalid against the table
// (EEXIST, ESRCH, ENOENT as IPVS would answer) or that this data plane
// cannot program fails alone; a failed commit fails every op.
func (b *Backend) Apply(ctx context.Context, ops []lvs.Op) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.read(ctx)
	if err != nil {
		return fmt.Errorf("read nftables state: %w", err)
	}
	next := o.table.Clone()
	var errs []error
	var done []lvs.Op
	for _, op := range ops {
		if err := applyOp(next, op); err != nil {
			errs = append(errs, &lvs.OpError{Op: op, Err: err})
			continue
		}
		done = append(done, op)
	}
	if len(done) > 0 {
		if err := b.commit(ctx, o, next); err != nil {
			for _, op := range done {
				errs = append(errs, &lvs.OpError{Op: op, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// Flush removes our tables (lvs_flush): the whole of our state.
func (b *Backend) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, err := b.read(ctx)
	if err != nil {
		return err
	}
	if o.inetTable {
		b.conn.DelTable(&nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet})
	}
	if o.devTable {
		b.conn.DelTable(&nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyNetdev})
	}
	return b.conn.Flush()
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
	o, err := b.read(ctx)
	if err != nil {
		return fmt.Errorf("read nftables state: %w", err)
	}
	if err := b.commit(ctx, o, o.table); err != nil {
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

// Refresh resolves the DR real servers' MACs again and rewrites our state
// if any changed (a real server replaced, a server that was unreachable
// now answering). The daemon calls it on neighbour changes or a timer.
func (b *Backend) Refresh(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Reading the ruleset back costs more than the whole idle daemon
	// otherwise does; most neighbour changes move no next hop.
	if b.last != nil && maps_equal(b.resolveAll(ctx, b.last), b.hops) {
		return nil
	}
	o, err := b.read(ctx)
	if err != nil {
		return err
	}
	hops := b.resolveAll(ctx, o.table)
	if maps_equal(hops, b.hops) {
		return nil
	}
	return b.commit(ctx, o, o.table)
}

func maps_equal(a, b map[netip.Addr]Hop) bool {
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
// interval (default 30s) until ctx ends.
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
	// A timerfd, not a time.Ticker: a runtime timer makes Go's monitor
	// thread spin up around every expiry (about ten wakeups each).
	t := timerfd.New()
	defer t.Close()
	t.Reset(interval)
	for {
		select {
		case <-ctx.Done():
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

// isDest reports whether ip is a destination of the last committed table
// (true before the first commit): other neighbours do not matter.
func (b *Backend) isDest(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last == nil {
		return true
	}
	for _, vs := range b.last {
		for _, d := range vs.Dests {
			if d.Addr == a {
				return true
			}
		}
	}
	return false
}

// resolveAll finds the hop of every DR destination with weight.
func (b *Backend) resolveAll(ctx context.Context, t lvs.Table) map[netip.Addr]Hop {
	hops := map[netip.Addr]Hop{}
	for _, k := range t.Keys() {
		vs := t[k]
		if m, err := serviceMode(vs); err != nil || m != modeDR {
			continue
		}
		for _, d := range vs.SortedDests() {
			if _, ok := hops[d.Addr]; ok || d.Weight <= 0 {
				continue
			}
			h, err := b.res.Resolve(ctx, d.Addr)
			if err != nil {
				b.log.WithError(err).Warnf("nftables: real server %s unreachable for direct routing, no traffic sent to it", d.Addr)
				continue
			}
			hops[d.Addr] = h
		}
	}
	return hops
}

// commit renders t and flushes it as one batch.
func (b *Backend) commit(ctx context.Context, o *observed, t lvs.Table) error {
	hops := b.resolveAll(ctx, t)
	d := desired{hops: hops, active: b.active, masq: b.opts.Masquerade,
		keepPersist: map[lvs.ServiceKey]bool{}, carry: map[lvs.ServiceKey][]nftables.SetElement{}}
	ifaces := map[string]bool{}
	for _, k := range t.Keys() {
		vs := t[k]
		eligible := func(dst lvs.Destination) bool {
			_, ok := hops[dst.Addr]
			return ok
		}
		m, err := serviceMode(vs)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if m == modeNAT {
			eligible = nil
		}
		p, err := plan(vs, o.slots[k], eligible)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if p.Note != b.notes[k] {
			if p.Note != "" {
				b.log.Warnf("nftables: virtual server %s: %s", k, p.Note)
			}
			b.notes[k] = p.Note
		}
		if p.Mode == modeDR {
			for _, i := range p.Slots {
				if h := hops[p.Dests[i].Addr]; !h.Local {
					ifaces[h.Ifname] = true
				}
			}
		}
		if p.Mode == modeNAT && p.Service.Persistent() {
			if old, ok := o.table[k]; ok && persistCompatible(old, p) {
				d.keepPersist[k] = true
			} else if ok {
				d.carry[k] = b.carry(k, p)
			}
		}
		d.plans = append(d.plans, p)
	}
	d.ifaces = b.opts.Interfaces
	if len(d.ifaces) == 0 {
		d.ifaces = sortedKeys(ifaces)
	}
	if err := render(b.conn, b.opts.Table, o, d); err != nil {
		return err
	}
	if err := b.conn.Flush(); err != nil {
		return fmt.Errorf("nftables transaction: %w", err)
	}
	b.hops, b.last = hops, t.Clone()
	return nil
}

// carry reads the persistence entries of service k that point at a
// destination p still has, with their remaining lifetime.
func (b *Backend) carry(k lvs.ServiceKey, p svcPlan) []nftables.SetElement {
	s := &nftables.Set{Table: &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet}, Name: chainName(k) + "_persist"}
	elems, err := b.conn.GetSetElements(s)
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

// read lists our tables and decodes the services they describe.
func (b *Backend) read(ctx context.Context) (*observed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := newObserved()
	inet := &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet}
	dev := &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyNetdev}
	for _, x := range []struct {
		t      *nftables.Table
		exists *bool
		chains map[string]bool
		sets   map[string]bool
	}{{inet, &o.inetTable, o.inetChains, o.inetSets}, {dev, &o.devTable, o.devChains, o.devSets}} {
		tables, err := b.conn.ListTablesOfFamily(x.t.Family)
		if err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		for _, t := range tables {
			*x.exists = *x.exists || t.Name == x.t.Name
		}
		if !*x.exists {
			continue
		}
		chains, err := b.conn.ListChainsOfTableFamily(x.t.Family)
		if err != nil {
			return nil, fmt.Errorf("list chains: %w", err)
		}
		for _, c := range chains {
			if c.Table.Name == x.t.Name {
				x.chains[c.Name] = true
			}
		}
		sets, err := b.conn.GetSets(x.t)
		if err != nil {
			return nil, fmt.Errorf("list sets: %w", err)
		}
		for _, s := range sets {
			x.sets[s.Name] = true
		}
	}
	for _, name := range sortedKeys(o.inetChains) {
		if len(name) < 3 || name[:3] != "vs_" {
			continue
		}
		rules, err := b.conn.GetRules(inet, &nftables.Chain{Name: name, Table: inet})
		if err != nil {
			return nil, fmt.Errorf("list rules of %s: %w", name, err)
		}
		if len(rules) == 0 {
			continue // being built by someone else's batch? not ours yet
		}
		text, ok := userdata.GetString(rules[0].UserData, userdata.TypeComment)
		if !ok {
			return nil, fmt.Errorf("chain %s: %w: no comment", name, ErrBadDescriptor)
		}
		svc, err := parseDescriptor(text)
		if err != nil {
			return nil, err
		}
		vs := lvs.VirtualService{Service: svc, Dests: map[lvs.DestKey]lvs.Destination{}}
		if o.inetSets[name+"_rs"] {
			elems, err := b.conn.GetSetElements(&nftables.Set{Table: inet, Name: name + "_rs"})
			if err != nil {
				return nil, fmt.Errorf("list %s_rs: %w", name, err)
			}
			for _, e := range elems {
				k, ok := parseAddrPortKey(e.Key)
				if !ok {
					return nil, fmt.Errorf("%w: %s_rs key %x", ErrBadDescriptor, name, e.Key)
				}
				d, err := parseDest(k, e.Comment)
				if err != nil {
					return nil, err
				}
				vs.Dests[k] = d
			}
		}
		o.table[svc.ServiceKey] = vs
		if err := b.readSlots(o, svc.ServiceKey, name); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// readSlots reads the slot table of a service: from the DR verdict map's
// element comments, or the NAT map's data.
func (b *Backend) readSlots(o *observed, k lvs.ServiceKey, name string) error {
	fam := nftables.TableFamilyINet
	dr := o.devSets[name+"_slots"]
	if dr {
		fam = nftables.TableFamilyNetdev
	} else if !o.inetSets[name+"_slots"] {
		return nil
	}
	elems, err := b.conn.GetSetElements(&nftables.Set{Table: &nftables.Table{Name: b.opts.Table, Family: fam}, Name: name + "_slots"})
	if err != nil {
		return fmt.Errorf("list %s_slots: %w", name, err)
	}
	slots := make([]lvs.DestKey, len(elems))
	for _, e := range elems {
		s, ok := parseSlotKey(e.Key)
		if !ok || s >= len(slots) {
			return nil // not a table we can reuse; plan starts afresh
		}
		if dr {
			ap, err := netip.ParseAddrPort(e.Comment)
			if err != nil {
				return nil
			}
			slots[s] = lvs.DestKey{Addr: ap.Addr(), Port: ap.Port()}
			continue
		}
		if dk, ok := parseAddrPortKey(e.Val); ok {
			slots[s] = dk
		} else if a, ok := netip.AddrFromSlice(e.Val); ok {
			slots[s] = lvs.DestKey{Addr: a}
		}
	}
	o.slots[k] = slots
	return nil
}
