package lvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sync/atomic"

	"github.com/cloudflare/ipvs"
	"github.com/mdlayher/genetlink"
)

// ErrUnsupported is returned for settings the IPVS backend cannot program.
var ErrUnsupported = errors.New("not supported by the ipvs backend")

// IPVS is the Backend over the kernel's IPVS. Services and destinations go
// through github.com/cloudflare/ipvs; what that library does not send (the
// sync daemon, flush) goes over our own generic netlink connection to the
// same "IPVS" family.
type IPVS struct {
	c      ipvs.Client
	genl   *genetlink.Conn
	family genetlink.Family

	writes, reads atomic.Uint64
}

// OpenIPVS connects to the kernel's IPVS. It fails when the ip_vs module
// is not loaded (the family does not exist).
func OpenIPVS() (*IPVS, error) {
	c, err := ipvs.New()
	if err != nil {
		return nil, fmt.Errorf("open ipvs: %w", err)
	}
	conn, err := genetlink.Dial(nil)
	if err != nil {
		closeClient(c)
		return nil, fmt.Errorf("open generic netlink: %w", err)
	}
	b, err := NewIPVS(c, conn)
	if err != nil {
		closeClient(c)
		conn.Close()
		return nil, err
	}
	return b, nil
}

// NewIPVS builds the backend from a service client and a generic netlink
// connection (genltest.Dial in tests). It takes ownership of both.
func NewIPVS(c ipvs.Client, conn *genetlink.Conn) (*IPVS, error) {
	f, err := conn.GetFamily(genlName)
	if err != nil {
		return nil, fmt.Errorf("resolve generic netlink family %q: %w", genlName, err)
	}
	return &IPVS{c: c, genl: conn, family: f}, nil
}

// Close releases both connections. ipvs.Client does not declare Close,
// but its implementation is an io.Closer.
func (b *IPVS) Close() error {
	return errors.Join(closeClient(b.c), b.genl.Close())
}

func closeClient(c ipvs.Client) error {
	if cl, ok := c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// Counters reports how many netlink requests the backend has sent:
// writes change the kernel table or daemons, reads list them. One Op is
// exactly one write.
type Counters struct {
	Writes, Reads uint64
}

// Counters returns the requests sent so far.
func (b *IPVS) Counters() Counters {
	return Counters{Writes: b.writes.Load(), Reads: b.reads.Load()}
}

// List dumps every service and its destinations.
func (b *IPVS) List(ctx context.Context) (Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.reads.Add(1)
	svcs, err := b.c.Services()
	if errors.Is(err, fs.ErrNotExist) {
		// The library reports an empty dump as "not exist".
		return Table{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	t := make(Table, len(svcs))
	persistent := false
	for _, se := range svcs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		svc := fromIPVSService(se.Service)
		b.reads.Add(1)
		dests, err := b.c.Destinations(se.Service)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("list dests of %s: %w", svc.ServiceKey, err)
		}
		ds := make([]Destination, 0, len(dests))
		for _, de := range dests {
			ds = append(ds, fromIPVSDest(de.Destination))
		}
		t.Add(svc, ds...)
		persistent = persistent || svc.Persistent()
	}
	if persistent {
		pes, err := b.peNames(ctx)
		if err != nil {
			return nil, err
		}
		for k, pe := range pes {
			if vs, ok := t[k]; ok && vs.Service.Persistent() {
				vs.Service.PEName = pe
				t[k] = vs
			}
		}
	}
	return t, nil
}

// Apply sends one request per op, carrying on past failures.
func (b *IPVS) Apply(ctx context.Context, ops []Op) error {
	var errs []error
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := b.apply(ctx, op); err != nil {
			errs = append(errs, &OpError{Op: op, Err: err})
		}
	}
	return errors.Join(errs...)
}

func (b *IPVS) apply(ctx context.Context, op Op) error {
	if (op.Kind == AddService || op.Kind == UpdateService) && op.Service.Persistent() && op.Service.PEName != "" {
		return b.applyPE(ctx, op)
	}
	svc, err := toIPVSService(op.Service)
	if err != nil {
		return err
	}
	var dst ipvs.Destination
	if op.Kind.IsDest() {
		if dst, err = toIPVSDest(op.Dest); err != nil {
			return err
		}
	}
	b.writes.Add(1)
	switch op.Kind {
	case AddService:
		return b.c.CreateService(svc)
	case UpdateService:
		return b.c.UpdateService(svc)
	case DelService:
		return b.c.RemoveService(svc)
	case AddDest:
		return b.c.CreateDestination(svc, dst)
	case UpdateDest:
		return b.c.UpdateDestination(svc, dst)
	case DelDest:
		return b.c.RemoveDestination(svc, dst)
	}
	return fmt.Errorf("unknown op kind %d", op.Kind)
}

// toIPVSService maps s for the library. The persistence engine is not
// carried: services that have one are created and updated by applyPE, and
// the library's requests for them (destinations, removal) only need the
// identity.
func toIPVSService(s Service) (ipvs.Service, error) {
	out := ipvs.Service{
		Family:    ipvs.AddressFamily(s.Family),
		Scheduler: s.Scheduler,
		Flags:     ipvs.Flags(s.Flags & settableFlags),
		Netmask:   s.EffectiveNetmask(),
	}
	if s.Persistent() {
		out.Flags |= ipvs.ServicePersistent
		out.Timeout = s.Timeout
	}
	if s.IsFWMark() {
		out.FWMark = s.FWMark
	} else {
		out.Protocol = ipvs.Protocol(s.Protocol)
		out.Address = s.Addr
		out.Port = s.Port
	}
	return out, nil
}

func fromIPVSService(s ipvs.Service) Service {
	out := Service{
		ServiceKey: ServiceKey{Family: Family(s.Family), FWMark: s.FWMark},
		Scheduler:  s.Scheduler,
		Flags:      SvcFlags(s.Flags) & settableFlags,
	}
	if s.FWMark == 0 {
		out.Protocol = Protocol(s.Protocol)
		out.Addr = s.Address.Unmap()
		out.Port = s.Port
	}
	if s.Flags&ipvs.ServicePersistent != 0 {
		out.Timeout = s.Timeout
		out.Netmask = s.Netmask
	}
	return out
}

func toIPVSDest(d Destination) (ipvs.Destination, error) {
	if d.Weight < 0 || d.Weight > math.MaxInt32 {
		return ipvs.Destination{}, fmt.Errorf("weight %d out of range", d.Weight)
	}
	if !d.Addr.IsValid() {
		return ipvs.Destination{}, fmt.Errorf("invalid destination address")
	}
	d = d.normal()
	return ipvs.Destination{
		Address:        d.Addr,
		Port:           d.Port,
		Family:         ipvs.AddressFamily(FamilyOf(d.Addr)),
		FwdMethod:      ipvs.ForwardType(d.Forward),
		Weight:         uint32(d.Weight),
		UpperThreshold: d.UpperThreshold,
		LowerThreshold: d.LowerThreshold,
		TunnelType:     ipvs.TunnelType(d.TunnelType),
		TunnelPort:     d.TunnelPort,
		TunnelFlags:    ipvs.TunnelFlags(d.TunnelFlags),
	}, nil
}

func fromIPVSDest(d ipvs.Destination) Destination {
	return Destination{
		DestKey:        DestKey{Addr: d.Address.Unmap(), Port: d.Port},
		Forward:        Forward(d.FwdMethod),
		Weight:         int(d.Weight),
		UpperThreshold: d.UpperThreshold,
		LowerThreshold: d.LowerThreshold,
		TunnelType:     TunnelType(d.TunnelType),
		TunnelPort:     d.TunnelPort,
		TunnelFlags:    TunnelFlags(d.TunnelFlags),
	}
}

// Timeouts are the IPVS connection timeouts in seconds (lvs_timeouts).
// A zero field means "leave as is".
type Timeouts struct {
	TCP, TCPFin, UDP uint32
}

// Merge returns t with its zero fields taken from cur: keepalived sends
// all three values and keeps the current ones for those not configured.
func (t Timeouts) Merge(cur Timeouts) Timeouts {
	if t.TCP == 0 {
		t.TCP = cur.TCP
	}
	if t.TCPFin == 0 {
		t.TCPFin = cur.TCPFin
	}
	if t.UDP == 0 {
		t.UDP = cur.UDP
	}
	return t
}

// Timeouts reads the current timeouts (IPVS_CMD_GET_CONFIG).
func (b *IPVS) Timeouts(ctx context.Context) (Timeouts, error) {
	if err := ctx.Err(); err != nil {
		return Timeouts{}, err
	}
	b.reads.Add(1)
	c, err := b.c.Config()
	if err != nil {
		return Timeouts{}, fmt.Errorf("get ipvs timeouts: %w", err)
	}
	return Timeouts{TCP: c.TCPTimeout, TCPFin: c.TCPFinTimeout, UDP: c.UDPTimeout}, nil
}

// SetTimeouts sets the configured timeouts (IPVS_CMD_SET_CONFIG), keeping
// the current value of every zero field. It returns the timeouts that were
// in force before, for restoring them on stop as keepalived does.
func (b *IPVS) SetTimeouts(ctx context.Context, t Timeouts) (Timeouts, error) {
	cur, err := b.Timeouts(ctx)
	if err != nil {
		return Timeouts{}, err
	}
	if t == (Timeouts{}) {
		return cur, nil
	}
	m := t.Merge(cur)
	b.writes.Add(1)
	if err := b.c.SetConfig(ipvs.Config{TCPTimeout: m.TCP, TCPFinTimeout: m.TCPFin, UDPTimeout: m.UDP}); err != nil {
		return cur, fmt.Errorf("set ipvs timeouts tcp %d tcpfin %d udp %d: %w", m.TCP, m.TCPFin, m.UDP, err)
	}
	return cur, nil
}
