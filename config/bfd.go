package config

import (
	"net/netip"
	"strings"
	"time"

	"github.com/alecthomas/participle/v2/lexer"
	"keepalived-go/parser"
)

// BFD limits and defaults of keepalived 2.2.7 (bfd.h). Intervals are read
// in milliseconds with microsecond resolution.
const (
	BFDMinRxDefault       = 10 * time.Millisecond
	BFDMinTxDefault       = 10 * time.Millisecond
	BFDIdleTxDefault      = 1000 * time.Millisecond
	BFDMultiplierDefault  = 5
	BFDTTLDefault         = 255 // IPv4 TTL sent
	BFDHopLimitDefault    = 64  // IPv6 hop limit sent
	BFDNameMax            = 31  // BFD_INAME_MAX - 1
	bfdIntervalMaxMs      = 4294967
	bfdIntervalSensibleMs = 10000
	bfdWeightMax          = 253
)

// BFDInstance is one bfd_instance block. keepalived reads the block in
// three processes that each keep or drop it by their own rules, so a block
// that one refused may still matter to the others.
type BFDInstance struct {
	Pos  Pos
	Name string
	// Session: keepalived's BFD process runs a session for it. A block the
	// BFD process refused (no or malformed neighbour, source of the other
	// family, an address pair already used) has Session false; VRRP and
	// the checkers still know its name and see it Down for good.
	Session bool
	// VRRP: track_bfd may name it, and its events go to VRRP. False for a
	// name too long, or with `checker` and no `vrrp` in the block.
	VRRP bool
	// Checker: BFD_CHECK may name it, and its events go to the checkers.
	// False with `vrrp` and no `checker` in the block.
	Checker bool

	Neighbor netip.Addr
	Source   netip.Addr // invalid when unset
	// MinRx, MinTx, IdleTx: min_rx, min_tx, idle_tx (µs resolution).
	MinRx, MinTx, IdleTx time.Duration
	Multiplier           int
	Passive              bool
	// TTL is ttl/hoplimit: sent, and the base of the received check
	// (255 for IPv4, 64 for IPv6 when unset).
	TTL int
	// MaxHops is how far below TTL a received TTL may be; 255 disables
	// the check. -1 reads as 255, and any value above TTL becomes TTL.
	MaxHops int
	// Weight and WeightReverse are the default of track_bfd entries that
	// give none (the VRRP process's `weight <-253..253> [reverse]`).
	Weight        int
	WeightReverse bool
	// Notes are lines keepalived logs (not config errors) while reading
	// the block: values above what it deems sensible.
	Notes []string `dump:"-"`
}

// TrackBFD is one track_bfd entry of a vrrp_instance or vrrp_sync_group.
type TrackBFD struct {
	Pos     Pos
	Name    string
	Weight  int
	Reverse bool
}

// BFDOptions holds BFD_CHECK settings; alpha is Checker.Alpha.
type BFDOptions struct {
	Name string
}

// bfdBlock is the state of one bfd_instance while its keywords are read:
// keepalived's list_last_entry plus its specified_event_processes.
type bfdBlock struct {
	bi                *BFDInstance
	vrrpSet, checkSet bool // `vrrp` / `checker` keywords seen
	ttlSet            bool
	skip              bool // the BFD process skips the rest of the block
}

// bfdInstance reads a bfd_instance block as keepalived's checker, VRRP and
// BFD processes each do (bfd_checker_handler, bfd_vrrp_handler, bfd_handler
// and their end handlers), reporting in that order.
func (b *builder) bfdInstance(st *parser.Stmt) {
	name := firstArg(st)
	bi := &BFDInstance{Pos: toPos(st.Pos), Name: name, MinRx: BFDMinRxDefault, MinTx: BFDMinTxDefault,
		IdleTx: BFDIdleTxDefault, Multiplier: BFDMultiplierDefault}
	blk := &bfdBlock{bi: bi}
	if len(st.Args) == 0 {
		// keepalived 2.2.7 dereferences the missing name and crashes.
		b.report(st, parser.SevMissingParameter, "*** Configuration line starting `bfd_instance` is missing a parameter after keyword `bfd_instance` at word position 2")
		return
	}
	// Checker process: duplicate names only.
	if b.findBFD(name, func(o *BFDInstance) bool { return o.Checker }) != nil {
		b.report(st, parser.SevGeneral, "BFD %s already specified", name)
	} else {
		bi.Checker = true
	}
	// VRRP process (alloc_vrrp_tracked_bfd).
	switch {
	case len(name) > BFDNameMax:
		b.report(st, parser.SevGeneral, "BFD name %s too long", name)
	case b.findBFD(name, func(o *BFDInstance) bool { return o.VRRP }) != nil:
		b.report(st, parser.SevGeneral, "BFD %s already specified", name)
	default:
		bi.VRRP = true
		for _, c := range st.Children() {
			switch c.Name() {
			case "weight":
				b.bfdWeight(c, bi)
			}
		}
	}
	for _, c := range st.Children() {
		switch c.Name() {
		case "vrrp":
			blk.vrrpSet = true
		case "checker":
			blk.checkSet = true
		}
	}
	if blk.vrrpSet || blk.checkSet {
		// bfd_vrrp_end_handler / bfd_checker_end_handler.
		bi.VRRP = bi.VRRP && blk.vrrpSet
		bi.Checker = bi.Checker && blk.checkSet
	}
	b.bfdSession(st, blk)
	if bi.Session || bi.VRRP || bi.Checker {
		b.cfg.BFDInstances = append(b.cfg.BFDInstances, bi)
	}
}

// bfdSession is the BFD process's reading of the block (bfd_handler,
// alloc_bfd, the keyword handlers, bfd_end_handler).
func (b *builder) bfdSession(st *parser.Stmt, blk *bfdBlock) {
	bi := blk.bi
	switch {
	case len(bi.Name) > BFDNameMax:
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s name too long (maximum length is %d characters) - ignoring", bi.Name, BFDNameMax)
		return
	case b.findBFD(bi.Name, func(o *BFDInstance) bool { return o.Session }) != nil:
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s already configured - ignoring", bi.Name)
		return
	}
	for _, c := range st.Children() {
		if h := bfdKeywords[c.Name()]; h != nil {
			h(b, c, blk)
		}
		if blk.skip {
			return
		}
	}
	end := st.Pos
	if st.Block != nil {
		end = st.Block.EndPos
	}
	bi.Session = b.bfdEnd(end, blk)
}

// bfdKeywords are the BFD process's handlers of bfd_instance keywords
// (init_bfd_keywords); weight, vrrp and checker are other processes'.
var bfdKeywords = map[string]func(*builder, *parser.Stmt, *bfdBlock){
	"neighbor_ip":  (*builder).bfdNeighbor,
	"neighbour_ip": (*builder).bfdNeighbor,
	"source_ip":    (*builder).bfdSource,
	"min_rx":       (*builder).bfdMinRx,
	"min_tx":       (*builder).bfdMinTx,
	"idle_tx":      (*builder).bfdIdleTx,
	"multiplier":   (*builder).bfdMultiplier,
	"passive":      func(_ *builder, _ *parser.Stmt, blk *bfdBlock) { blk.bi.Passive = true },
	"ttl":          (*builder).bfdTTL,
	"hoplimit":     (*builder).bfdTTL,
	"max_hops":     (*builder).bfdMaxHops,
}

// findBFD returns the earlier bfd_instance named name that keep holds.
func (b *builder) findBFD(name string, keep func(*BFDInstance) bool) *BFDInstance {
	for _, o := range b.cfg.BFDInstances {
		if o.Name == name && keep(o) {
			return o
		}
	}
	return nil
}

// kaAddr is inet_stosockaddr: the family from a ':', anything from the
// first '-' or '/' dropped, then inet_pton (no zone).
func kaAddr(s string) (netip.Addr, bool) {
	if i := strings.IndexAny(s, "-/"); i >= 0 {
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is6() != strings.Contains(s, ":") {
		return netip.Addr{}, false
	}
	return a, true
}

// bfdNeighbor is bfd_nbrip_handler: a malformed address drops the
// instance and the rest of its block.
func (b *builder) bfdNeighbor(st *parser.Stmt, blk *bfdBlock) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	a, ok := kaAddr(v)
	if !ok {
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s has malformed neighbor address %s, ignoring instance", blk.bi.Name, v)
		blk.skip = true
		return
	}
	blk.bi.Neighbor = a
}

// bfdSource is bfd_srcip_handler: a malformed address is ignored.
func (b *builder) bfdSource(st *parser.Stmt, blk *bfdBlock) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	a, ok := kaAddr(v)
	if !ok {
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s has malformed source address %s, ignoring", blk.bi.Name, v)
		return
	}
	blk.bi.Source = a
}

// bfdInterval reads min_rx, min_tx or idle_tx (bfd_minrx_handler and
// siblings): ms with µs resolution in [minMs, 4294967].
func (b *builder) bfdInterval(st *parser.Stmt, blk *bfdBlock, what string, minMs uint64, dst *time.Duration) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	n, ok := b.kaDecimal(st, v, minMs*1000, bfdIntervalMaxMs*1000, 3)
	if !ok {
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s %s value %s is not valid (must be in range [%d-%d]), ignoring",
			blk.bi.Name, what, v, minMs, bfdIntervalMaxMs)
		return
	}
	*dst = time.Duration(n) * time.Microsecond
	if n > bfdIntervalSensibleMs*1000 {
		blk.bi.Notes = append(blk.bi.Notes, "Configuration warning: BFD instance "+blk.bi.Name+" "+what+" value "+v+
			" is larger than max sensible (10000)")
	}
}

func (b *builder) bfdMinRx(st *parser.Stmt, blk *bfdBlock) {
	b.bfdInterval(st, blk, "min_rx", 1, &blk.bi.MinRx)
}

func (b *builder) bfdMinTx(st *parser.Stmt, blk *bfdBlock) {
	b.bfdInterval(st, blk, "min_tx", 1, &blk.bi.MinTx)
}

func (b *builder) bfdIdleTx(st *parser.Stmt, blk *bfdBlock) {
	b.bfdInterval(st, blk, "idle_tx", 1000, &blk.bi.IdleTx)
}

// bfdMultiplier is bfd_multiplier_handler: [1-255].
func (b *builder) bfdMultiplier(st *parser.Stmt, blk *bfdBlock) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	if n, ok := b.kaUnsigned(st, v, 1, 255); ok {
		blk.bi.Multiplier = int(n)
		return
	}
	b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s multiplier value %s not valid (must be in range [1-255]), ignoring", blk.bi.Name, v)
}

// bfdTTL is bfd_ttl_handler (ttl and hoplimit): [1-255].
func (b *builder) bfdTTL(st *parser.Stmt, blk *bfdBlock) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	if n, ok := b.kaUnsigned(st, v, 1, 255); ok {
		blk.bi.TTL, blk.ttlSet = int(n), true
		return
	}
	b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s ttl/hoplimit value %s not valid (must be in range [1-255]), ignoring", blk.bi.Name, v)
}

// bfdMaxHops is bfd_maxhops_handler: [-1-255], stored in a byte, so -1 is
// 255.
func (b *builder) bfdMaxHops(st *parser.Stmt, blk *bfdBlock) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		blk.skip = true
		return
	}
	if n, ok := b.kaInt(st, v, -1, 255); ok {
		blk.bi.MaxHops = int(uint8(n))
		return
	}
	b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s max_hops value %s not valid (must be in range [-1-255]), ignoring", blk.bi.Name, v)
}

// bfdWeight is the VRRP process's bfd_vrrp_weight_handler.
func (b *builder) bfdWeight(st *parser.Stmt, bi *BFDInstance) {
	v, ok := b.kaArg(st, 0)
	if !ok {
		return
	}
	if n, ok := b.kaInt(st, v, -bfdWeightMax, bfdWeightMax); ok {
		bi.Weight = n
	} else {
		b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s weight value %s not valid (must be in range [-253-253]), ignoring", bi.Name, v)
	}
	if len(st.Args) >= 2 {
		if o := st.Args[1].Value(); o != "reverse" {
			b.report(st, parser.SevGeneral, "Configuration error: BFD instance %s unknown weight option %s", bi.Name, o)
		} else {
			bi.WeightReverse = true
		}
	}
}

// bfdEnd is bfd_end_handler, reporting at the block's closing brace. It
// says whether the BFD process keeps the instance.
func (b *builder) bfdEnd(end lexer.Position, blk *bfdBlock) bool {
	bi := blk.bi
	if !bi.Neighbor.IsValid() {
		b.diags.Add(end, parser.SevGeneral, "Configuration error: BFD instance %s has no neighbor address set, disabling instance", bi.Name)
		return false
	}
	if bi.Source.IsValid() && bi.Source.Is4() != bi.Neighbor.Is4() {
		// keepalived formats both with one static buffer: the source
		// address is printed twice.
		b.diags.Add(end, parser.SevGeneral, "Configuration error: BFD instance %s source address %s and neighbor address %s are not of the same family, disabling instance",
			bi.Name, bi.Source, bi.Source)
		return false
	}
	for _, o := range b.cfg.BFDInstances {
		if !o.Session || o.Neighbor != bi.Neighbor || o.Source.IsValid() && bi.Source.IsValid() && o.Source != bi.Source {
			continue
		}
		if bi.Source.IsValid() {
			b.diags.Add(end, parser.SevGeneral, "Configuration error: BFD instance %s has duplicate source/neighbor address %s/%s, ignoring instance", bi.Name, bi.Source, bi.Neighbor)
		} else {
			b.diags.Add(end, parser.SevGeneral, "Configuration error: BFD instance %s has duplicate neighbor address %s, ignoring instance", bi.Name, bi.Neighbor)
		}
		return false
	}
	if !blk.ttlSet {
		bi.TTL = BFDTTLDefault
		if bi.Neighbor.Is6() {
			bi.TTL = BFDHopLimitDefault
		}
	}
	if bi.MaxHops > bi.TTL {
		b.diags.Add(end, parser.SevGeneral, "BFD instance %s: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit", bi.Name)
		bi.MaxHops = bi.TTL
	}
	return true
}

// trackBFD reads a track_bfd block of vrrp_instance or vrrp_sync_group
// `owner` (alloc_track_bfd): each line a name known to VRRP, optionally
// `weight <-253..253> [reverse|noreverse]`, the default being the
// bfd_instance's own weight.
func (b *builder) trackBFD(st *parser.Stmt, owner string) []TrackBFD {
	var out []TrackBFD
	for _, c := range st.Children() {
		if t, ok := b.trackBFDEntry(c, owner, out); ok {
			out = append(out, t)
		}
	}
	return out
}

func (b *builder) trackBFDEntry(c *parser.Stmt, owner string, have []TrackBFD) (TrackBFD, bool) {
	w := c.Line()
	name := w[0]
	bi := b.findBFD(name, func(o *BFDInstance) bool { return o.VRRP })
	if bi == nil {
		b.report(c, parser.SevGeneral, "(%s) track bfd %s not found, ignoring...", owner, name)
		return TrackBFD{}, false
	}
	for _, h := range have {
		if h.Name == name {
			b.report(c, parser.SevGeneral, "(%s) duplicate track_bfd %s - ignoring", owner, name)
			return TrackBFD{}, false
		}
	}
	t := TrackBFD{Pos: toPos(c.Pos), Name: name, Weight: bi.Weight, Reverse: bi.WeightReverse}
	if len(w) < 2 {
		return t, true
	}
	if w[1] != "weight" {
		b.report(c, parser.SevGeneral, "(%s) unknown track bfd %s option %s - ignoring", owner, name, w[1])
		return TrackBFD{}, false
	}
	if len(w) == 2 {
		b.report(c, parser.SevGeneral, "(%s) weight without value specified for track bfd %s - ignoring", owner, name)
		return TrackBFD{}, false
	}
	if n, ok := b.kaInt(c, w[2], -bfdWeightMax, bfdWeightMax); ok {
		t.Weight = n
	} else {
		b.report(c, parser.SevGeneral, "(%s) weight for track bfd %s must be in [-253..253] inclusive. Ignoring...", owner, name)
	}
	if len(w) >= 4 {
		switch w[3] {
		case "reverse":
			t.Reverse = true
		case "noreverse":
			t.Reverse = false
		default:
			b.report(c, parser.SevGeneral, "(%s) unknown track bfd %s weight option %s - ignoring", owner, name, w[3])
			return TrackBFD{}, false
		}
	}
	return t, true
}

// bfdCheckName is BFD_CHECK's `name` (check_bfd.c bfd_name_handler) for the
// real server rs (keepalived's FMT_RS text) whose BFD_CHECKs already name
// tracked. On false keepalived drops the checker.
func (b *builder) bfdCheckName(st *parser.Stmt, rs string, opts *BFDOptions, tracked []string) bool {
	w := st.Line()
	var name string
	if len(w) >= 2 {
		name = w[1]
	}
	switch {
	case len(w) != 2:
		b.report(st, parser.SevGeneral, "(%s) BFD_CHECK - No or too many names specified - skipping checker", rs)
	case b.findBFD(name, func(o *BFDInstance) bool { return o.Checker }) == nil:
		b.report(st, parser.SevGeneral, "(%s) BFD_CHECK - BFD %s not configured", rs, name)
	case opts.Name != "":
		b.report(st, parser.SevGeneral, "(%s) BFD_CHECK - BFD %s already specified as %s", rs, name, opts.Name)
	case len(name) > BFDNameMax:
		b.report(st, parser.SevGeneral, "(%s) BFD_CHECK - BFD name %s too long", rs, name)
	default:
		for _, t := range tracked {
			if t == name {
				b.report(st, parser.SevGeneral, "(%s) BFD_CHECK - RS already monitoring %s", rs, name)
				return false
			}
		}
		opts.Name = name
		return true
	}
	return false
}

// bfdCheckEnd is BFD_CHECK's end handler: a checker without a name is
// dropped. end is the block's closing brace.
func (b *builder) bfdCheckEnd(end lexer.Position, rs string, opts *BFDOptions) bool {
	if opts.Name == "" {
		b.diags.Add(end, parser.SevGeneral, "(%s) No name has been specified for BFD_CHECKER - skipping", rs)
		return false
	}
	return true
}
