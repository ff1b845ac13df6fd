package nftfw

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"github.com/sirupsen/logrus"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"keepalived-go/vrrp"
)

var (
	nativeOrder = binaryutil.NativeEndian
	bigOrder    = binaryutil.BigEndian
)

// Options configure a Firewall.
type Options struct {
	Log *logrus.Entry
	// NetNS, when open (> 0), is the network namespace to program; the
	// zero value is the current one.
	NetNS netns.NsHandle
	// IfIndex resolves an interface name to its index; default: a netlink
	// lookup in NetNS.
	IfIndex func(name string) (int, error)
	// TestDial replaces the kernel (google/nftables' WithTestDial).
	TestDial nltest.Func
}

// Firewall keeps the kernel's tables equal to its Core's ruleset: each
// event that changes the ruleset is written as one nftables batch (all of
// it or nothing), the difference from what was written before. It is safe
// for concurrent use; the VRRP engine's owner goroutine is meant to call
// it synchronously where keepalived does (see SetVIPs).
type Firewall struct {
	mu      sync.Mutex
	log     *logrus.Entry
	core    *Core
	conn    *nftables.Conn
	tr      *transport
	index   func(string) (int, error)
	nlh     *vnl.Handle
	applied *Ruleset
	// set is the settings applied was written with.
	set Settings
	// keys are the element bytes as written, so an element whose
	// interface has gone (a deleted VMAC) can still be removed.
	keys map[elemRef]nftables.SetElement
}

// New opens the firewall for the instances; nothing is written until an
// instance needs it.
func New(s Settings, instances []Instance, opts Options) (*Firewall, error) {
	if opts.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		opts.Log = logrus.NewEntry(l)
	}
	tr := &transport{next: opts.TestDial}
	if tr.next == nil {
		var err error
		if tr.conn, err = netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: max(int(opts.NetNS), 0)}); err != nil {
			return nil, fmt.Errorf("nftfw: open nftables: %w", err)
		}
	}
	conn, err := nftables.New(nftables.WithTestDial(tr.dial))
	if err != nil {
		return nil, fmt.Errorf("nftfw: open nftables: %w", err)
	}
	f := &Firewall{log: opts.Log, core: NewCore(s, instances), conn: conn, tr: tr, index: opts.IfIndex,
		applied: &Ruleset{}, keys: map[elemRef]nftables.SetElement{}}
	if f.index == nil {
		ns := opts.NetNS
		if ns <= 0 {
			ns = netns.None()
		}
		h, err := vnl.NewHandleAt(ns)
		if err != nil {
			return nil, fmt.Errorf("nftfw: open netlink: %w", err)
		}
		f.nlh = h
		f.index = func(name string) (int, error) {
			l, err := h.LinkByName(name)
			if err != nil {
				return 0, fmt.Errorf("interface %s: %w", name, err)
			}
			return l.Attrs().Index, nil
		}
	}
	return f, nil
}

// Close releases the handles; the kernel's tables stay (Stop removes them).
func (f *Firewall) Close() error {
	if f.nlh != nil {
		f.nlh.Close()
	}
	if f.tr.conn != nil {
		return f.tr.conn.Close()
	}
	return nil
}

// SetState is SetVIPs(name, s == MASTER).
func (f *Firewall) SetState(name string, s vrrp.State) error {
	return f.SetVIPs(name, s == vrrp.StateMaster)
}

// SetVIPs follows keepalived's vrrp_handle_accept_mode: call it with true
// just before an instance's VIPs are added (becoming MASTER) and with
// false just after they are removed (leaving MASTER, or at shutdown).
func (f *Firewall) SetVIPs(name string, on bool) error {
	return f.do(func() (bool, error) { return f.core.SetVIPs(name, on) })
}

// VMACUp is firewall_add_vmac: call it once the instance's VMAC exists.
func (f *Firewall) VMACUp(name string) error {
	return f.do(func() (bool, error) { return f.core.VMACUp(name) })
}

// VMACDown is firewall_remove_vmac: the instance's VMAC is gone.
func (f *Firewall) VMACDown(name string) error {
	return f.do(func() (bool, error) { return f.core.VMACDown(name) })
}

// Reload takes a reloaded configuration (see Core.Reload).
func (f *Firewall) Reload(s Settings, instances []Instance) error {
	return f.do(func() (bool, error) { return f.core.Reload(s, instances), nil })
}

// Stop is firewall_fini: the tables go, whatever -V says.
func (f *Firewall) Stop() error {
	return f.do(func() (bool, error) { return f.core.Stop(), nil })
}

// Ruleset returns the ruleset last written.
func (f *Firewall) Ruleset() *Ruleset {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied.Clone()
}

// Resync writes whatever the last write left out (a failed batch).
func (f *Firewall) Resync() error {
	return f.do(func() (bool, error) { return true, nil })
}

func (f *Firewall) do(ev func() (bool, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed, err := ev()
	if err != nil || !changed {
		return err
	}
	return f.apply(f.core.Ruleset())
}

// apply writes the difference between what was written and next in one
// batch. If the batch fails nothing of it holds, and the next apply
// retries it.
func (f *Firewall) apply(next *Ruleset) error {
	prev := f.applied
	set := f.core.Settings()
	name := set.Table
	keys := map[elemRef]nftables.SetElement{}
	if set != f.set && len(prev.Tables) > 0 {
		// New settings (a reload): the old tables go, the new ones are
		// written whole.
		for _, t := range prev.Tables {
			f.conn.DelTable(&nftables.Table{Name: t.Name, Family: nftables.TableFamily(t.Family)})
		}
		prev = &Ruleset{}
	} else {
		for k, v := range f.keys {
			keys[k] = v
		}
	}
	if len(prev.Tables) == 0 && len(next.Tables) > 0 {
		// check_and_delete_tables: a previous run's tables go first.
		for _, fam := range []Family{IPv4, IPv6} {
			t := &nftables.Table{Name: name, Family: nftables.TableFamily(fam)}
			f.conn.AddTable(t)
			f.conn.DelTable(t)
		}
	}
	for _, t := range prev.Tables {
		if next.Table(t.Family) == nil {
			f.conn.DelTable(&nftables.Table{Name: t.Name, Family: nftables.TableFamily(t.Family)})
		}
	}
	var errs []error
	for _, o := range newObjects(prev, next) {
		if err := f.create(o); err != nil {
			errs = append(errs, err)
		}
	}
	applied := next.Clone()
	for _, t := range next.Tables {
		gt := &nftables.Table{Name: t.Name, Family: nftables.TableFamily(t.Family)}
		for _, s := range t.Sets {
			skipped, err := f.elements(gt, prev.Table(t.Family), s, keys)
			if err != nil {
				errs = append(errs, err)
			}
			// What could not be written is not recorded as written: the
			// next change retries it.
			as := applied.Table(t.Family).Set(s.Name)
			as.Elems = slices.DeleteFunc(as.Elems, func(e Elem) bool { return slices.Contains(skipped, e) })
		}
	}
	if err := f.conn.Flush(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("nftfw: write table %s: %w", name, err))...)
	}
	if len(next.Tables) == 0 {
		keys = map[elemRef]nftables.SetElement{}
	}
	f.applied, f.keys, f.set = applied, keys, set
	return errors.Join(errs...)
}

// object is a table, chain, set or rule to create.
type object struct {
	seq   int
	table *Table
	chain *Chain
	set   *Set
	rule  *Rule
}

// newObjects lists what next has and prev has not, in creation order.
// Objects are only ever appended, so a chain's new rules are those past
// the rules it had.
func newObjects(prev, next *Ruleset) []object {
	var out []object
	for _, t := range next.Tables {
		pt := prev.Table(t.Family)
		if pt == nil {
			out = append(out, object{seq: t.Seq, table: t})
			pt = &Table{}
		}
		for _, s := range t.Sets {
			if pt.Set(s.Name) == nil {
				out = append(out, object{seq: s.Seq, table: t, set: s})
			}
		}
		for _, c := range t.Chains {
			pc := pt.Chain(c.Name)
			if pc == nil {
				out = append(out, object{seq: c.Seq, table: t, chain: c})
				pc = &Chain{}
			}
			for _, r := range c.Rules[len(pc.Rules):] {
				out = append(out, object{seq: r.Seq, table: t, chain: c, rule: r})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (f *Firewall) create(o object) error {
	t := &nftables.Table{Name: o.table.Name, Family: nftables.TableFamily(o.table.Family)}
	switch {
	case o.rule != nil:
		e, err := ruleExprs(o.rule)
		if err != nil {
			return err
		}
		f.conn.AddRule(&nftables.Rule{Table: t, Chain: &nftables.Chain{Name: o.chain.Name, Table: t}, Exprs: e})
	case o.chain != nil:
		c := &nftables.Chain{Name: o.chain.Name, Table: t}
		if o.chain.Hook != "" {
			c.Type = nftables.ChainTypeFilter
			c.Hooknum = nftables.ChainHookInput
			if o.chain.Hook == "output" {
				c.Hooknum = nftables.ChainHookOutput
			}
			c.Priority = nftables.ChainPriorityRef(nftables.ChainPriority(o.chain.Priority))
			c.Policy = new(nftables.ChainPolicy)
			*c.Policy = nftables.ChainPolicyAccept
		}
		f.conn.AddChain(c)
	case o.set != nil:
		var vals []nftables.SetElement
		if o.set.Constant {
			// A constant set gets its elements with its creation.
			for _, e := range o.set.Elems {
				k, err := elemKey(o.set, e, f.index)
				if err != nil {
					return err
				}
				vals = append(vals, k)
			}
		}
		if err := f.conn.AddSet(gSet(t, o.set), vals); err != nil {
			return fmt.Errorf("nftfw: set %s %s: %w", o.table.Family, o.set.Name, err)
		}
	default:
		f.conn.AddTable(t)
	}
	return nil
}

// elements queues s's element changes against the same set in prev; it
// returns the elements it could not add (an interface without an index).
func (f *Firewall) elements(t *nftables.Table, prev *Table, s *Set, keys map[elemRef]nftables.SetElement) ([]Elem, error) {
	if s.Constant {
		return nil, nil
	}
	had := map[Elem]bool{}
	if prev != nil {
		if ps := prev.Set(s.Name); ps != nil {
			for _, e := range ps.Elems {
				had[e] = true
			}
		}
	}
	want := map[Elem]bool{}
	var add []nftables.SetElement
	var skipped []Elem
	var errs []error
	for _, e := range s.Elems {
		want[e] = true
		if had[e] {
			continue
		}
		k, err := elemKey(s, e, f.index)
		if err != nil {
			errs = append(errs, fmt.Errorf("nftfw: %s %s element %s: %w", Family(t.Family), s.Name, s.renderElem(e), err))
			skipped = append(skipped, e)
			continue
		}
		keys[elemRef{Family(t.Family), s.Name, e}] = k
		add = append(add, k)
	}
	var del []nftables.SetElement
	for e := range had {
		ref := elemRef{Family(t.Family), s.Name, e}
		if k, ok := keys[ref]; ok && !want[e] {
			del = append(del, k)
			delete(keys, ref)
		}
	}
	gs := gSet(t, s)
	if len(del) > 0 {
		errs = append(errs, f.conn.SetDeleteElements(gs, del))
	}
	if len(add) > 0 {
		errs = append(errs, f.conn.SetAddElements(gs, add))
	}
	return skipped, errors.Join(errs...)
}
