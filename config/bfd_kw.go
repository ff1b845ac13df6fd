package config

import (
	"net/netip"
	"time"

	"keepalived-go/parser"
)

// bfd_instance as each keepalived process reads it: a port of keepalived
// 2.2.7's bfd/bfd_parser.c (init_bfd_keywords, bfd_handler and the VRRP and
// checker variants) and bfd_data.c's alloc_bfd.

// BFDInstance is bfd_instance.
type BFDInstance struct {
	Pos        Pos
	Name       string
	Neighbor   netip.Addr
	Source     netip.Addr
	MinRx      time.Duration
	MinTx      time.Duration
	IdleTx     time.Duration
	Multiplier int
	Passive    bool
	TTL        int
	MaxHops    int
	// VRRP and Checker say which processes hear about the session
	// (the vrrp / checker keywords; both when neither is given).
	VRRP, Checker bool
}

// bfdState is the BFD pass's state (and bfd_instance as the VRRP and
// checker passes see it).
type bfdState struct {
	l       *loader
	events  uint // specified_event_processes: 1 VRRP, 2 checker
	cur     *BFDInstance
	nbrWord string // "neighbor" or "neighbour" (keepalived's neighbor_str)
}

func newBFDState(l *loader) *bfdState { return &bfdState{l: l, nbrWord: "neighbor"} }

// bfdFor says which process reads bfd_instance.
type bfdFor int

const (
	bfdForParent bfdFor = iota
	bfdForChecker
	bfdForVRRP
	bfdForBFD
)

// bfdKeywords is init_bfd_keywords.
func (l *loader) bfdKeywords(active bool, who bfdFor) []*parser.Keyword {
	root := &parser.Keyword{Name: "bfd_instance", Inactive: !active}
	if !active {
		return []*parser.Keyword{root}
	}
	ignore := func(parser.Strvec) {}
	want := who == bfdForBFD
	cond := func(name string, h func(parser.Strvec), use bool) *parser.Keyword {
		if !use {
			h = ignore
		}
		return &parser.Keyword{Name: name, Handler: h}
	}
	var b *bfdState
	switch who {
	case bfdForBFD:
		b = l.bfd
		root.Handler, root.Close = b.bfdHandler, b.bfdEnd
	case bfdForVRRP:
		root.Handler, root.Close = l.bfdVRRPHandler, l.bfdVRRPEnd
	case bfdForChecker:
		return l.check.bfdCheckerKeywords()
	}
	if b == nil {
		b = &bfdState{l: l}
	}
	root.Sub = []*parser.Keyword{
		cond("source_ip", b.srcIP, want),
		cond("neighbor_ip", b.nbrIP, want),
		cond("neighbour_ip", b.nbrIP, want),
		cond("min_rx", func(v parser.Strvec) { b.interval(v, "min_rx", 1, 4294967, &b.cur.MinRx) }, want),
		cond("min_tx", func(v parser.Strvec) { b.interval(v, "min_tx", 1, 4294967, &b.cur.MinTx) }, want),
		cond("idle_tx", func(v parser.Strvec) { b.interval(v, "idle_tx", 1000, 4294967, &b.cur.IdleTx) }, want),
		cond("multiplier", b.multiplier, want),
		cond("passive", func(parser.Strvec) { b.cur.Passive = true }, want),
		cond("ttl", b.ttl, want),
		cond("hoplimit", b.ttl, want),
		cond("max_hops", b.maxHops, want),
		cond("weight", l.bfdVRRPWeight, who == bfdForVRRP),
		{Name: "vrrp", Handler: func(parser.Strvec) { l.bfdEvents |= bfdEventVRRP }},
		{Name: "checker", Handler: func(parser.Strvec) { l.bfdEvents |= bfdEventChecker }},
	}
	return []*parser.Keyword{root}
}

// bfdHandler is bfd_handler with alloc_bfd.
func (b *bfdState) bfdHandler(v parser.Strvec) {
	if v.Nil() {
		return
	}
	name := v.At(1)
	b.cur = nil
	if len(name) >= 32 {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s name too long (maximum length is %d characters) - ignoring", name, 31)
		b.l.p.SkipBlock(true)
		return
	}
	for _, o := range b.l.cfg.BFDInstances {
		if o.Name == name {
			b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s already configured - ignoring", name)
			b.l.p.SkipBlock(true)
			return
		}
	}
	b.cur = &BFDInstance{Pos: b.l.pos(), Name: name, MinRx: 10 * time.Millisecond, MinTx: 10 * time.Millisecond,
		IdleTx: time.Second, Multiplier: 5}
	b.l.cfg.BFDInstances = append(b.l.cfg.BFDInstances, b.cur)
	b.l.bfdEvents = 0
}

func (b *bfdState) drop(bi *BFDInstance) {
	list := b.l.cfg.BFDInstances
	for i, o := range list {
		if o == bi {
			b.l.cfg.BFDInstances = append(list[:i:i], list[i+1:]...)
			break
		}
	}
}

func (b *bfdState) nbrIP(v parser.Strvec) {
	if v.At(1) == "neighbour_ip" {
		b.nbrWord = "neighbour"
	}
	a, _, ok := b.l.inetStosockaddr(v.Slot(1), "3784")
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s has malformed %s address %s, ignoring instance", b.cur.Name, b.nbrWord, v.Slot(1))
		b.drop(b.cur)
		b.l.p.SkipBlock(false)
		return
	}
	b.cur.Neighbor = a
}

func (b *bfdState) srcIP(v parser.Strvec) {
	a, _, ok := b.l.inetStosockaddr(v.Slot(1), "")
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s has malformed source address %s, ignoring", b.cur.Name, v.Slot(1))
		return
	}
	b.cur.Source = a
}

// interval reads min_rx / min_tx / idle_tx (milliseconds, 3 decimals).
func (b *bfdState) interval(v parser.Strvec, name string, min, max uint64, dst *time.Duration) {
	n, ok := b.l.readDecimal(v.Slot(1), min*1000, max*1000, 3, false)
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s %s value %s is not valid (must be in range [%d-%d]), ignoring", b.cur.Name, name, v.Slot(1), min, max)
		return
	}
	*dst = time.Duration(n) * time.Microsecond
}

func (b *bfdState) multiplier(v parser.Strvec) {
	n, ok := b.l.readUnsigned(v.Slot(1), 1, 255, false)
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s multiplier value %s not valid (must be in range [%d-%d]), ignoring", b.cur.Name, v.Slot(1), 1, 255)
		return
	}
	b.cur.Multiplier = int(n)
}

func (b *bfdState) ttl(v parser.Strvec) {
	n, ok := b.l.readUnsigned(v.Slot(1), 1, 255, false)
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s ttl/hoplimit value %s not valid (must be in range [1-%d]), ignoring", b.cur.Name, v.Slot(1), 255)
		return
	}
	b.cur.TTL = int(n)
}

func (b *bfdState) maxHops(v parser.Strvec) {
	n, ok := b.l.readInt(v.Slot(1), -1, 255, false)
	if !ok {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s max_hops value %s not valid (must be in range [-1-%d]), ignoring", b.cur.Name, v.Slot(1), 255)
		return
	}
	// bfd_t.max_hops is a uint8_t: -1 is 255 (no check), and an IPv6
	// hop limit below it then clips it with the message in bfdEnd.
	b.cur.MaxHops = int(uint8(n))
}

// bfdEnd is bfd_end_handler.
func (b *bfdState) bfdEnd() {
	bi := b.cur
	if bi == nil {
		return
	}
	if !bi.Neighbor.IsValid() {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s has no %s address set, disabling instance", bi.Name, b.nbrWord)
		b.drop(bi)
		return
	}
	if bi.Source.IsValid() && bi.Source.Is4() != bi.Neighbor.Is4() {
		b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s source address %s and %s address %s are not of the same family, disabling instance", bi.Name, bi.Source, b.nbrWord, bi.Neighbor)
		b.drop(bi)
		return
	}
	for _, o := range b.l.cfg.BFDInstances {
		if o == bi || o.Neighbor != bi.Neighbor {
			continue
		}
		if !o.Source.IsValid() || !bi.Source.IsValid() || o.Source == bi.Source {
			if bi.Source.IsValid() {
				b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s has duplicate source/%s address %s/%s, ignoring instance", bi.Name, b.nbrWord, bi.Source, bi.Neighbor)
			} else {
				b.l.report(parser.SevGeneral, "Configuration error: BFD instance %s has duplicate %s address %s, ignoring instance", bi.Name, b.nbrWord, bi.Neighbor)
			}
			b.drop(bi)
			return
		}
	}
	if bi.TTL == 0 {
		bi.TTL = 255
		if bi.Neighbor.Is6() {
			bi.TTL = 64
		}
	}
	if bi.MaxHops > bi.TTL {
		b.l.report(parser.SevGeneral, "BFD instance %s: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit", bi.Name)
		bi.MaxHops = bi.TTL
	}
	ev := b.l.bfdEvents
	bi.VRRP = ev == 0 || ev&bfdEventVRRP != 0
	bi.Checker = ev == 0 || ev&bfdEventChecker != 0
}

// bfdVRRPHandler is bfd_vrrp_handler with alloc_vrrp_tracked_bfd.
func (l *loader) bfdVRRPHandler(v parser.Strvec) {
	if v.Nil() {
		return
	}
	name := v.Slot(1)
	s := l.vrrp
	if len(name) >= 32 {
		l.report(parser.SevGeneral, "BFD name %s too long", name)
		l.p.SkipBlock(true)
		return
	}
	for _, t := range s.trackBFDs {
		if t.name == name {
			l.report(parser.SevGeneral, "BFD %s already specified", name)
			l.p.SkipBlock(true)
			return
		}
	}
	s.trackBFDs = append(s.trackBFDs, &vrrpTrackedBFD{name: name})
	l.bfdEvents = 0
}

func (l *loader) bfdVRRPWeight(v parser.Strvec) {
	s := l.vrrp
	t := s.trackBFDs[len(s.trackBFDs)-1]
	if n, ok := l.readInt(v.Slot(1), -253, 253, true); !ok {
		l.report(parser.SevGeneral, "Configuration error: BFD instance %s weight value %s not valid (must be in range [%d-%d]), ignoring", t.name, v.Slot(1), -253, 253)
	} else {
		t.weight = n
	}
	if v.Len() >= 3 {
		if v.Slot(2) != "reverse" {
			l.report(parser.SevGeneral, "Configuration error: BFD instance %s unknown weight option %s", t.name, v.Slot(2))
		} else {
			t.reverse = true
		}
	}
}

// bfdVRRPEnd is bfd_vrrp_end_handler.
func (l *loader) bfdVRRPEnd() {
	s := l.vrrp
	if l.bfdEvents != 0 && l.bfdEvents&bfdEventVRRP == 0 && len(s.trackBFDs) > 0 {
		s.trackBFDs = s.trackBFDs[:len(s.trackBFDs)-1]
	}
}

// complete is start_bfd after the read (bfd_complete_init is not run under -t).
func (s *bfdState) complete() {}
