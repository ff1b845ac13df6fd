// Package dbusapi is keepalived's VRRP DBus service (vrrp_dbus.c in
// keepalived 2.2.7) on godbus: the name org.keepalived.Vrrp1 (or
// dbus_service_name) on the system bus, the object /org/keepalived/Vrrp1/Vrrp
// with PrintData, PrintStats, PrintStatsClear, ReloadConfig and the signals
// VrrpStarted, VrrpReloaded, VrrpStopped, and one object per instance at
// /org/keepalived/Vrrp1/Instance/<interface>/<vrid>/<IPv4|IPv6> with
// SendGarp, the properties Name and State and the signal VrrpStatusChange.
// The standard interfaces (Introspectable, Properties, Peer) answer as GDBus
// answers them for keepalived, down to the introspection text and the error
// messages, so clients and policy files see no difference.
//
// The package knows nothing of the VRRP engine: it reads instances through a
// Provider and hands method calls to Commands. One goroutine owns the bus
// connection and the registrations; Start, StateChanged, Reload and Stop
// queue work for it and never wait on the bus.
package dbusapi

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/sirupsen/logrus"
)

// Provider gives the instances as the engine has them now, in config order.
// It is called from the service's goroutines, never from the caller's.
type Provider interface {
	Instances() []Instance
}

// Commands carries out what a caller asks on the bus. Each runs on a bus
// goroutine and should return once done (keepalived answers PrintData after
// the file is written); ReloadConfig only asks for a reload (keepalived
// answers first, then signals its parent).
type Commands interface {
	PrintData()
	PrintStats(clear bool)
	ReloadConfig()
	SendGarp(instance string)
}

// Options configure a Service.
type Options struct {
	ServiceName string // dbus_service_name; "" is org.keepalived.Vrrp1
	Naming
	// Address of the bus; "" is the system bus as GLib finds it
	// (DBUS_SYSTEM_BUS_ADDRESS, else /var/run/dbus/system_bus_socket).
	Address  string
	Log      *logrus.Entry
	Provider Provider
	Commands Commands
}

// Service is the running DBus service. Start, StateChanged, Reload and
// Stop are called from one goroutine (the engine's owner).
type Service struct {
	name     string
	naming   Naming
	address  string
	log      *logrus.Entry
	provider Provider
	cmds     Commands

	mu  sync.RWMutex // guards reg
	reg *registry

	idMu    sync.Mutex
	idCache string

	// connected is keepalived's global_connection != NULL, read by the
	// caller of StateChanged: set once the bus is connected, cleared when
	// the name is lost or the service stops.
	connected atomic.Bool

	inbox   chan func()
	done    chan struct{}
	started bool // touched by the caller's goroutine only

	// Owned by the run goroutine.
	conn     *dbus.Conn
	lost     bool
	insts    []Instance // the instances as of the last Start/Reload
	stopping bool
}

// inboxSize bounds the work queued behind a stuck bus.
const inboxSize = 1024

// New makes a Service; nothing touches the bus before Start.
func New(o Options) *Service {
	if o.ServiceName == "" {
		o.ServiceName = DefaultServiceName
	}
	if o.Log == nil {
		o.Log = logrus.NewEntry(logrus.StandardLogger())
	}
	s := &Service{name: o.ServiceName, naming: o.Naming, address: o.Address, log: o.Log,
		provider: o.Provider, cmds: o.Commands, inbox: make(chan func(), inboxSize), done: make(chan struct{})}
	s.reg = newRegistry(o.Naming, s.log.Infof)
	return s
}

// Start connects and takes the name in the background (dbus_start and
// on_bus_acquired): the Vrrp object, one object per instance, VrrpStarted
// and each instance's state when there are instances, then the name.
func (s *Service) Start() {
	if s.started {
		return
	}
	s.started = true
	go s.run()
	s.inbox <- s.acquire
}

// StateChanged is dbus_send_state_signal: VrrpStatusChange(state) on the
// instance's path, whether or not an object is exported there. As in
// keepalived, a change before the bus is connected is not sent (the states
// at connection are, by Start), nor one after the name is lost. Dropped
// (and logged) when the queue is full.
func (s *Service) StateChanged(in Instance) {
	if !s.started || !s.connected.Load() {
		return
	}
	select {
	case s.inbox <- func() { s.emitState(in) }:
	default:
		s.log.Infof("DBus queue full - VrrpStatusChange for %s not sent", in.Name)
	}
}

// Reload follows a config reload: removed are the old instances that have
// no counterpart in the new config (clear_diff_vrrp's dbus_remove_object),
// then the new instances from the Provider get or keep objects
// (dbus_reload) and VrrpReloaded is sent. Call it after the engine has the
// new config, and after the removed instances' last state changes.
func (s *Service) Reload(removed []string) {
	if !s.started {
		return
	}
	s.inbox <- func() { s.reload(removed) }
}

// Stop is dbus_stop: the objects go, VrrpStopped is sent, the name is
// released. It waits up to a second.
func (s *Service) Stop() {
	if !s.started {
		return
	}
	s.started = false
	s.inbox <- s.stop
	select {
	case <-s.done:
		s.log.Info("Released DBus")
	case <-time.After(time.Second):
		s.log.Info("DBus thread termination timed out")
	}
}

func (s *Service) run() {
	defer close(s.done)
	for !s.stopping {
		var closed <-chan struct{}
		if s.conn != nil && !s.lost {
			closed = s.conn.Context().Done()
		}
		select {
		case f := <-s.inbox:
			f()
		case <-closed:
			s.nameLost()
		}
	}
}

func (s *Service) connect() (*dbus.Conn, error) {
	opts := []dbus.ConnOption{
		dbus.WithHandler(handler{s}),
		dbus.WithIncomingInterceptor(markPeerCalls),
		dbus.WithOutgoingInterceptor(gdbusReplies),
	}
	if s.address != "" {
		return dbus.Connect(s.address, opts...)
	}
	return dbus.ConnectSystemBus(opts...)
}

// acquire is on_bus_acquired then the name request (g_bus_own_name with no
// flags: anything but becoming the primary owner counts as losing it).
func (s *Service) acquire() {
	conn, err := s.connect()
	if err != nil {
		s.conn = nil
		s.nameLost()
		return
	}
	s.conn = conn
	s.connected.Store(true)
	s.log.Infof("Acquired DBus bus %s", s.name)
	s.insts = s.provider.Instances()
	s.mu.Lock()
	any := s.reg.start(s.insts)
	s.mu.Unlock()
	if any {
		s.emit(s.naming.VrrpPath(), VrrpInterface, "VrrpStarted")
		for _, in := range s.insts {
			s.emitState(in)
		}
	}
	reply, err := conn.RequestName(s.name, 0)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		s.nameLost()
		return
	}
	s.log.Infof("Acquired the name %s on the session bus", s.name)
}

// nameLost is on_name_lost: every object goes and nothing more is sent.
func (s *Service) nameLost() {
	if s.lost {
		return
	}
	s.log.Infof("Lost the name %s on the session bus", s.name)
	s.connected.Store(false)
	s.mu.Lock()
	s.reg.clear()
	s.mu.Unlock()
	s.lost = true
}

func (s *Service) live() bool { return s.conn != nil && !s.lost }

func (s *Service) reload(removed []string) {
	if !s.live() {
		return
	}
	cur := s.provider.Instances()
	s.mu.Lock()
	for _, name := range removed {
		s.reg.removeObject(name)
	}
	s.reg.reload(s.insts, cur)
	s.mu.Unlock()
	s.insts = cur
	s.emit(s.naming.VrrpPath(), VrrpInterface, "VrrpReloaded")
}

func (s *Service) stop() {
	s.stopping = true
	s.connected.Store(false)
	if s.conn == nil {
		return
	}
	if !s.lost {
		s.mu.Lock()
		s.reg.clear()
		s.mu.Unlock()
		s.emit(s.naming.VrrpPath(), VrrpInterface, "VrrpStopped")
		s.conn.ReleaseName(s.name)
	}
	s.conn.Close()
}

func (s *Service) emitState(in Instance) {
	s.emit(s.naming.InstancePath(in.Interface, in.VRID, in.Family), InstanceInterface,
		"VrrpStatusChange", uint32(in.State))
}

// emit sends a signal as GDBus does (no destination, NO_REPLY_EXPECTED);
// nothing is sent before the bus is acquired, after the name is lost, or on
// a malformed path (GDBus refuses those silently).
func (s *Service) emit(path dbus.ObjectPath, iface, member string, body ...any) {
	if !s.live() || !path.IsValid() {
		return
	}
	msg := &dbus.Message{Type: dbus.TypeSignal, Flags: dbus.FlagNoReplyExpected, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface),
		dbus.FieldMember:    dbus.MakeVariant(member),
	}, Body: body}
	if len(body) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	if call := s.conn.Send(msg, nil); call.Err != nil {
		s.log.Infof("Emitting DBus signal %s.%s on %s failed: %s", iface, member, path, call.Err)
	}
}
