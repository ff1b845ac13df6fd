package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/lvs"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

// vipGateWait bounds how long an instance becoming MASTER waits for the
// LVS engine to turn forwarding to its VIPs on before adding them (one
// small nftables transaction, a millisecond or two when the engine is
// idle).
const vipGateWait = 100 * time.Millisecond

// buildEngines wires the engines for a config: VRRP through its engine,
// whose events become notify scripts, FIFO lines and mails.
func buildEngines(d *daemon, cfg *config.Config) ([]namedEngine, error) {
	n := newNotifications(d.log)
	n.configure(cfg)
	sa := newSNMPAgent(d, cfg, n.vrrpDone)
	da := newDBusAgent(d, cfg, n.vrrpDone)
	out := []namedEngine{{"notify", n}, {"snmp", sa}, {"dbus", da}}
	if d.opts.addressMonitor {
		out = append(out, namedEngine{"address monitor", newAddrMonitor(d, cfg)})
	}
	// SNMP and DBus hear what keepalived's send_instance_notifies sends:
	// an instance already in its sync group's state sends nothing more.
	edges := newSyncFilter()
	// -P runs only VRRP, -C only the checkers and LVS (keepalived's child
	// processes); by default both run when the config has something for them.
	runVRRP := !d.opts.checkOnly || d.opts.vrrpOnly
	runCheck := !d.opts.vrrpOnly || d.opts.checkOnly
	var chk *check.Engine
	if len(cfg.VirtualServers) > 0 && runCheck {
		var mgr *lvs.Manager
		var err error
		chk, err = check.New(cfg, check.Options{
			Log:     logrus.NewEntry(d.log),
			OnCheck: observeCheck,
			OnEvent: func(ev check.RealServerEvent) {
				// The SNMP notification goes first: the quorum change the
				// new health causes follows it, as in keepalived.
				sa.onRealServer(ev)
				if err := mgr.SetHealth(lvs.RSKey{VS: ev.VSKey, RS: ev.RSKey}, ev.Up, ev.Weight); err != nil {
					d.log.Errorf("%v", err)
				}
				n.onRealServer(ev)
			},
		})
		if err != nil {
			return nil, err
		}
		mgr, err = lvs.NewManager(cfg, lvs.Options{
			Log:       logrus.NewEntry(d.log),
			Backend:   d.opts.lvsBackend,
			Open:      openLVSBackend(d.log),
			KeepIPVS:  d.opts.dontReleaseIPVS,
			OnQuorum:  func(ev lvs.QuorumEvent) { n.onQuorum(ev); sa.onQuorum(ev) },
			OnSuspend: func(ev lvs.SuspendEvent) { chk.Suspend(ev.VirtualServer, ev.Suspended) },
		})
		if err != nil {
			return nil, err
		}
		n.lvs = mgr
		d.lvs, d.check = mgr, chk
		out = append(out, namedEngine{"lvs", mgr}, namedEngine{"check", chk})
	}
	if (haveVRRPConfig(cfg) || d.opts.all) && runVRRP {
		// The process monitor starts first, as keepalived's VRRP process
		// sets up track_process before its instances.
		procs := startProcessMonitor(d, cfg)
		vo := vrrpengine.Options{
			Log:       logrus.NewEntry(d.log),
			LogDetail: d.opts.logDetail,
			KeepVIPs:  d.opts.dontReleaseVRRP,
			OnEvent: func(ev vrrpengine.Event) {
				n.onVRRP(ev)
				if edges.pass(ev) {
					sa.onVRRP(ev)
					da.onVRRP(ev)
				}
			},
			OnDiscard: sa.onDiscard,
			Processes: procs,
		}
		if d.lvs != nil {
			// DR forwarding of the nftables data plane switches in order
			// with the VIPs: on before they are added, off once removed.
			mgr := d.lvs
			vo.VIPsHeld = func(instance string, held bool) {
				wait := time.Duration(0)
				if held {
					wait = vipGateWait
				}
				mgr.HoldVIPs(instance, held, wait)
			}
		}
		if chk != nil {
			// Checks due within their slack start on an advert's wakeup.
			vo.OnWake = chk.Awake
		}
		v, err := vrrpengine.New(cfg, vo)
		if err != nil {
			procs.Close()
			return nil, err
		}
		d.vrrp, d.procs = v, procs
		out = append(out, namedEngine{"vrrp", &doneTracking{engine: v, done: n.vrrpDone, after: procs.Close}})
	} else {
		close(n.vrrpDone)
	}
	if !d.opts.noBFD {
		// Last, so that on reload VRRP and the checkers have their new
		// configuration before the sessions report their states again.
		b := newBFDProc(d, cfg, d.vrrp, chk)
		d.bfd = b
		out = append(out, namedEngine{"bfd", b})
	}
	return out, nil
}

// doneTracking closes done when the wrapped engine has stopped, so the
// notify side can send the STOP notifies it emitted before closing down.
type doneTracking struct {
	engine
	done chan struct{}
	// after runs once the engine has stopped (the process monitor's
	// Close), before done is closed.
	after func()
}

func (t *doneTracking) Run(ctx context.Context) error {
	defer close(t.done)
	if t.after != nil {
		defer t.after()
	}
	return t.engine.Run(ctx)
}

// openLVSBackend opens the kernel's IPVS, or the nftables data plane where
// the kernel has no IPVS (auto) or when asked for.
func openLVSBackend(log *logrus.Logger) func(kind string) (lvs.Backend, error) {
	return func(kind string) (lvs.Backend, error) {
		switch kind {
		case "ipvs":
			return lvs.OpenIPVS()
		case "auto":
			b, err := lvs.OpenIPVS()
			if err == nil {
				return b, nil
			}
			log.Infof("IPVS is not available (%v): using the nftables data plane", err)
			return openNFT(log)
		case "nftables":
			return openNFT(log)
		}
		return nil, fmt.Errorf("%w: unknown lvs backend %q", lvs.ErrBackendUnavailable, kind)
	}
}

// notifications turns engine events into keepalived's notify scripts, FIFO
// lines and mails. It is an engine itself so that it shuts down last.
type notifications struct {
	log      *logrus.Logger
	disp     *notify.Dispatcher
	vrrpDone chan struct{}

	mu         sync.Mutex
	notifier   *notify.Notifier
	mailer     *notify.Mailer
	fifos      []*notify.Fifo
	instances  map[string]*notify.VRRPNotify
	groups     map[string]*notify.VRRPNotify
	prioNotify map[string]bool
	sync       *syncFilter
	servers    map[string]*notify.RealServerNotify    // by check.RealServerEvent VSKey + " " + RSKey
	services   map[string]*notify.VirtualServerNotify // by virtual server name
	quorum     map[string]*config.VirtualServer
	// rsInitNotifies is global_defs rs_init_notifies.
	rsInitNotifies bool

	// lvs learns VRRP states for the sync daemon, ha_suspend and the
	// nftables data plane's DR gating.
	lvs *lvs.Manager
}

func newNotifications(log *logrus.Logger) *notifications {
	logf := func(format string, args ...any) { log.Infof(format, args...) }
	return &notifications{
		log:      log,
		disp:     notify.NewDispatcher(notify.DispatcherOptions{Logf: logf, OnResult: observeScript}),
		vrrpDone: make(chan struct{}),
		sync:     newSyncFilter(),
	}
}

// configure builds the per-instance notify settings, FIFOs and mailer.
func (n *notifications) configure(cfg *config.Config) {
	logf := func(format string, args ...any) { n.log.Infof(format, args...) }
	g := &cfg.Global
	instances := map[string]*notify.VRRPNotify{}
	prio := map[string]bool{}
	for _, in := range cfg.Instances {
		instances[in.Name] = &notify.VRRPNotify{
			Kind: notify.KindInstance, Name: in.Name,
			Master: runnable(in.NotifyMaster), Backup: runnable(in.NotifyBackup),
			Fault: runnable(in.NotifyFault), Stop: runnable(in.NotifyStop),
			Deleted: runnable(in.NotifyDeleted), MasterRxLowerPri: runnable(in.NotifyMasterRxLowerPri),
			Generic: runnable(in.Notify), NotifyDeleted: in.NotifyDeletedSet, SMTPAlert: in.SMTPAlert,
		}
		prio[in.Name] = in.NotifyPriorityChanges
	}
	groups := map[string]*notify.VRRPNotify{}
	for _, sg := range cfg.SyncGroups {
		groups[sg.Name] = &notify.VRRPNotify{
			Kind: notify.KindGroup, Name: sg.Name,
			Master: runnable(sg.NotifyMaster), Backup: runnable(sg.NotifyBackup),
			Fault: runnable(sg.NotifyFault), Stop: runnable(sg.NotifyStop),
			Generic: runnable(sg.Notify), SMTPAlert: sg.SMTPAlert,
		}
	}
	servers := map[string]*notify.RealServerNotify{}
	services := map[string]*notify.VirtualServerNotify{}
	quorum := map[string]*config.VirtualServer{}
	for _, vs := range cfg.VirtualServers {
		name := vs.Name()
		services[name] = &notify.VirtualServerNotify{VS: name, Up: runnable(vs.QuorumUp), Down: runnable(vs.QuorumDown), SMTPAlert: vs.SMTPAlert}
		quorum[name] = vs
		for _, rs := range vs.RealServers {
			rsName := vs.RealServerName(rs)
			servers[name+" "+rsName] = &notify.RealServerNotify{
				VS: name, RS: rsName,
				Up: runnable(rs.NotifyUp), Down: runnable(rs.NotifyDown), SMTPAlert: rs.SMTPAlert,
			}
		}
	}
	var fifos []*notify.Fifo
	var vrrpFifos, lvsFifos []notify.LineWriter
	for _, f := range []struct {
		kind notify.FifoKind
		cfg  config.FIFO
	}{{notify.FifoGlobal, g.NotifyFIFO}, {notify.FifoVRRP, g.VRRPNotifyFIFO}, {notify.FifoLVS, g.LVSNotifyFIFO}} {
		if f.cfg.Path == "" {
			continue
		}
		fc := notify.FifoConfig{Kind: f.kind, Path: f.cfg.Path}
		if s := runnable(f.cfg.Script); s != nil {
			fc.UID, fc.GID = s.UID, s.GID
			fc.Script = &script.Command{Argv: notify.FifoScriptArgv(s.Argv, f.cfg.Path), UID: s.UID, GID: s.GID}
		}
		fifo, err := notify.OpenFifo(fc, &script.ExecRunner{Logf: logf}, logf)
		if err != nil {
			n.log.Infof("Unable to open notify fifo %s: %v", f.cfg.Path, err)
			continue
		}
		fifos = append(fifos, fifo)
		if f.kind != notify.FifoLVS {
			vrrpFifos = append(vrrpFifos, fifo)
		}
		if f.kind != notify.FifoVRRP {
			lvsFifos = append(lvsFifos, fifo)
		}
	}
	mailer := n.newMailer(g)

	n.mu.Lock()
	oldFifos, oldMailer := n.fifos, n.mailer
	n.instances, n.groups, n.prioNotify, n.fifos, n.mailer = instances, groups, prio, fifos, mailer
	n.servers, n.services, n.quorum = servers, services, quorum
	n.rsInitNotifies = g.RSInitNotifies
	nt := &notify.Notifier{Scripts: n.disp, VRRPFifos: vrrpFifos, LVSFifos: lvsFifos, RouterID: g.RouterID,
		NoEmailFaults: g.NoEmailFaults}
	if mailer != nil {
		nt.Mail = mailer
	}
	n.notifier = nt
	n.mu.Unlock()
	for _, f := range oldFifos {
		f.Close()
	}
	if oldMailer != nil {
		go oldMailer.Close(context.Background())
	}
}

func (n *notifications) newMailer(g *config.Global) *notify.Mailer {
	if g.SMTPServer == "" || len(g.NotificationEmail) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server, err := notify.ResolveSMTPServer(ctx, g.SMTPServer, strconv.Itoa(g.SMTPPort), nil)
	if err != nil {
		n.log.Infof("Unable to resolve smtp_server %s: %v", g.SMTPServer, err)
		return nil
	}
	logf := func(format string, args ...any) { n.log.Infof(format, args...) }
	sender := &notify.SMTPSender{Logf: logf, Config: notify.SMTPConfig{
		Server: server, HeloName: g.SMTPHeloName, From: g.NotificationEmailFrom,
		To: g.NotificationEmail, Timeout: g.SMTPConnectTimeout,
	}}
	return notify.NewMailer(sender, notify.MailerOptions{Logf: logf})
}

// onVRRP runs on the VRRP engine's event goroutine; nothing here blocks.
func (n *notifications) onVRRP(ev vrrpengine.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e := ev.(type) {
	case vrrpengine.StateChange:
		in := n.instances[e.Instance]
		if in == nil {
			return
		}
		if !n.sync.pass(ev) {
			return
		}
		n.notifier.VRRPState(in, e.To.String(), int(e.Priority))
		if n.lvs != nil {
			if err := n.lvs.SetVRRPState(e.Instance, lvsState(e.To)); err != nil {
				n.log.Errorf("%v", err)
			}
		}
	case vrrpengine.GroupStateChange:
		n.sync.pass(ev)
		if g := n.groups[e.Group]; g != nil {
			n.notifier.VRRPState(g, e.State.String(), 0)
		}
	case vrrpengine.MasterRxLowerPri:
		if in := n.instances[e.Instance]; in != nil {
			n.notifier.VRRPEvent(in, notify.EventMasterRxLowerPri, 0)
		}
	case vrrpengine.PriorityChange:
		if in := n.instances[e.Instance]; in != nil && n.prioNotify[e.Instance] {
			ev := notify.EventBackupPriority
			if e.State == vrrp.StateMaster {
				ev = notify.EventMasterPriority
			}
			n.notifier.VRRPEvent(in, ev, int(e.Priority))
		}
	}
}

// syncFilter is send_instance_notifies' first test: an instance that
// already notified and is in the state its sync group last reported sends
// nothing more. Feed it every event, in order.
type syncFilter struct {
	notified   map[string]bool
	groupState map[string]vrrp.State
}

func newSyncFilter() *syncFilter {
	return &syncFilter{notified: map[string]bool{}, groupState: map[string]vrrp.State{}}
}

// pass reports whether ev is to be notified.
func (f *syncFilter) pass(ev vrrpengine.Event) bool {
	switch e := ev.(type) {
	case vrrpengine.StateChange:
		if e.Group != "" && f.notified[e.Instance] && f.groupState[e.Group] == e.To {
			return false
		}
		f.notified[e.Instance] = true
	case vrrpengine.GroupStateChange:
		f.groupState[e.Group] = e.State
	}
	return true
}

func lvsState(s vrrp.State) lvs.VRRPState {
	switch s {
	case vrrp.StateMaster:
		return lvs.VRRPMaster
	case vrrp.StateBackup:
		return lvs.VRRPBackup
	case vrrp.StateFault:
		return lvs.VRRPFault
	}
	return lvs.VRRPInit
}

// onRealServer runs notify_up / notify_down, the LVS FIFO line and mail.
// A real server's initial state is notified only when it starts alive
// and rs_init_notifies is set (ipwrapper.c init_service_rs).
func (n *notifications) onRealServer(ev check.RealServerEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ev.Initial && !(ev.Up && n.rsInitNotifies) {
		return
	}
	rs := n.servers[ev.VSKey+" "+ev.RSKey]
	if rs == nil {
		return
	}
	n.notifier.RealServerState(rs, ev.Up, false)
}

// onQuorum runs quorum_up / quorum_down, the FIFO line and mail.
func (n *notifications) onQuorum(ev lvs.QuorumEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.services[ev.VirtualServer]
	vs := n.quorum[ev.VirtualServer]
	if s == nil || vs == nil || ev.Init {
		return
	}
	body := notify.QuorumMailBody(ev.Up, ev.Init, uint32(vs.Quorum), uint32(vs.Hysteresis), int64(ev.Threshold), int64(ev.LiveWeight))
	n.notifier.QuorumState(s, ev.Up, false, body)
}

// Run waits for the end, then for the VRRP engine's STOP notifies to be
// queued, and lets scripts and mails finish within a bound.
func (n *notifications) Run(ctx context.Context) error {
	<-ctx.Done()
	select {
	case <-n.vrrpDone:
	case <-time.After(8 * time.Second):
	}
	done, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n.disp.Close(done)
	n.mu.Lock()
	fifos, mailer := n.fifos, n.mailer
	n.mu.Unlock()
	if mailer != nil {
		mailer.Close(done)
	}
	for _, f := range fifos {
		f.Close()
	}
	return nil
}

// Validate takes any config: scripts that may not run and FIFOs that
// cannot be opened are logged and left out, as keepalived does.
func (n *notifications) Validate(*config.Config) error { return nil }

// Reload rebuilds scripts, FIFOs and mail settings from the new config.
func (n *notifications) Reload(cfg *config.Config) error {
	n.configure(cfg)
	return nil
}

// haveVRRPConfig is keepalived's have_vrrp_config: a vrrp_instance or a
// static_ipaddress, static_routes or static_rules block starts the VRRP
// process (vrrp_parser.c), which installs the static ones even without
// an instance.
func haveVRRPConfig(cfg *config.Config) bool {
	return len(cfg.Instances)+len(cfg.StaticAddresses)+len(cfg.StaticRoutes)+len(cfg.StaticRules) > 0
}
