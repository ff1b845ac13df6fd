package nft

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"keepalived-go/lvs"
)

// genID asks the kernel for the ruleset's generation id, which every
// committed transaction (anyone's) increments.
func (b *Backend) genID() (uint32, error) {
	var c *netlink.Conn
	var err error
	if b.opts.TestDial != nil {
		c = nltest.Dial(b.opts.TestDial)
	} else {
		c, err = netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: int(max(b.opts.NetNS, 0))})
		if err != nil {
			return 0, err
		}
	}
	defer c.Close()
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	}
	msgs, err := c.Execute(req)
	if err != nil {
		return 0, fmt.Errorf("nftables generation: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return 0, err
		}
		ad.ByteOrder = binary.BigEndian
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				return ad.Uint32(), nil
			}
		}
	}
	return 0, errors.New("nftables generation: no id in the answer")
}

// read lists our tables and decodes the services they describe, at a
// consistent generation (a dump interleaved with someone's commit is read
// again). A table is read until two readings agree: the kernel resizes a
// large set's hash table in the background after it grew, and a dump
// taken meanwhile can miss elements (seen right after programming 50,000
// real servers in one set).
func (b *Backend) read(ctx context.Context) (*kstate, error) {
	b.stat.readBack()
	var prev *kstate
	for try := 0; ; try++ {
		g1, gerr := b.genID()
		st, err := b.readOnce(ctx)
		if err != nil {
			return nil, err
		}
		g2, gerr2 := b.genID()
		st.genid = g1
		st.stale = gerr != nil || gerr2 != nil || g1 != g2
		agree := prev != nil && !prev.stale && !st.stale && prev.genid == st.genid && sameRead(prev, st)
		if agree || len(st.table) == 0 && !st.stale || try == 5 {
			if !agree && len(st.table) > 0 {
				st.stale = true // read again before the next change
			}
			return st, nil
		}
		prev = st
		if try > 0 {
			t := time.NewTimer(time.Duration(try) * 50 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
	}
}

// sameRead reports whether two readings of our tables agree.
func sameRead(a, b *kstate) bool {
	if len(a.table) != len(b.table) || len(lvs.Diff(a.table, b.table)) != 0 || len(a.slots) != len(b.slots) {
		return false
	}
	for k, s := range a.slots {
		if !slices.Equal(s, b.slots[k]) {
			return false
		}
	}
	return maps.Equal(a.chains, b.chains) && maps.Equal(a.sets, b.sets)
}

func (b *Backend) readOnce(ctx context.Context) (*kstate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := newKState()
	inet := &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet}
	dev := &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyNetdev}
	for _, x := range []struct {
		t      *nftables.Table
		exists *bool
	}{{inet, &st.inet}, {dev, &st.dev}} {
		tables, err := b.rconn.ListTablesOfFamily(x.t.Family)
		if err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		for _, t := range tables {
			*x.exists = *x.exists || t.Name == x.t.Name
		}
		if !*x.exists {
			continue
		}
		chains, err := b.rconn.ListChainsOfTableFamily(x.t.Family)
		if err != nil {
			return nil, fmt.Errorf("list chains: %w", err)
		}
		for _, c := range chains {
			if c.Table.Name == x.t.Name {
				st.note(objName{x.t.Family, c.Name}, true)
			}
		}
		sets, err := b.rconn.GetSets(x.t)
		if err != nil {
			return nil, fmt.Errorf("list sets: %w", err)
		}
		for _, s := range sets {
			st.note(objName{x.t.Family, s.Name}, false)
		}
	}
	for _, n := range sortedObjNamesOf(st.chains) {
		if n.fam != nftables.TableFamilyINet || len(n.name) < 3 || n.name[:3] != "vs_" {
			continue
		}
		if err := b.readService(ctx, st, n.name); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// note records an object read back, and whether it is someone else's.
func (st *kstate) note(n objName, chain bool) {
	if !ours(n.name) {
		st.foreign[n.fam] = true
		return
	}
	if chain {
		st.chains[n] = true
	} else {
		st.sets[n] = true
	}
}

// readService decodes the service of chain name: its descriptor rule,
// destinations and slot table.
func (b *Backend) readService(ctx context.Context, st *kstate, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	inet := &nftables.Table{Name: b.opts.Table, Family: nftables.TableFamilyINet}
	rules, err := b.rconn.GetRules(inet, &nftables.Chain{Name: name, Table: inet})
	if err != nil {
		return fmt.Errorf("list rules of %s: %w", name, err)
	}
	if len(rules) == 0 {
		return nil // being built by someone else's batch? not ours yet
	}
	text, ok := userdata.GetString(rules[0].UserData, userdata.TypeComment)
	if !ok {
		return fmt.Errorf("chain %s: %w: no comment", name, ErrBadDescriptor)
	}
	svc, err := parseDescriptor(text)
	if err != nil {
		return err
	}
	vs := lvs.VirtualService{Service: svc, Dests: map[lvs.DestKey]lvs.Destination{}}
	if st.sets[inetName(name+"_rs")] {
		elems, err := b.rconn.GetSetElements(&nftables.Set{Table: inet, Name: name + "_rs"})
		if err != nil {
			return fmt.Errorf("list %s_rs: %w", name, err)
		}
		for _, e := range elems {
			k, ok := parseAddrPortKey(e.Key)
			if !ok {
				return fmt.Errorf("%w: %s_rs key %x", ErrBadDescriptor, name, e.Key)
			}
			d, err := parseDest(k, e.Comment)
			if err != nil {
				return err
			}
			vs.Dests[k] = d
		}
	}
	st.table[svc.ServiceKey] = vs
	return b.readSlots(st, svc.ServiceKey, name)
}

// readSlots reads the slot table of a service: from the DR verdict map's
// element comments, or the NAT map's data.
func (b *Backend) readSlots(st *kstate, k lvs.ServiceKey, name string) error {
	fam := nftables.TableFamilyINet
	dr := st.sets[devName(name+"_slots")]
	if dr {
		fam = nftables.TableFamilyNetdev
	} else if !st.sets[inetName(name+"_slots")] {
		return nil
	}
	elems, err := b.rconn.GetSetElements(&nftables.Set{Table: &nftables.Table{Name: b.opts.Table, Family: fam}, Name: name + "_slots"})
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
	st.slots[k] = slots
	return nil
}
