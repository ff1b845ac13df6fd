package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
)

// buildEngines wires the engines for a config: VRRP through its engine,
// whose events become notify scripts, FIFO lines and mails.
func buildEngines(d *daemon, cfg *config.Config) ([]namedEngine, error) {
	if len(cfg.VirtualServers) > 0 {
		return nil, fmt.Errorf("virtual_server: the health checker and LVS engines are not wired into the daemon in this build")
	}
	n := newNotifications(d.log)
	n.configure(cfg)
	out := []namedEngine{{"notify", n}}
	if len(cfg.Instances) > 0 {
		v, err := vrrpengine.New(cfg, vrrpengine.Options{
			Log:       logrus.NewEntry(d.log),
			LogDetail: d.opts.logDetail,
			KeepVIPs:  d.opts.dontReleaseVRRP,
			OnEvent:   n.onVRRP,
		})
		if err != nil {
			return nil, err
		}
		d.vrrp = v
		out = append(out, namedEngine{"vrrp", &doneTracking{engine: v, done: n.vrrpDone}})
	} else {
		close(n.vrrpDone)
	}
	return out, nil
}

// doneTracking closes done when the wrapped engine has stopped, so the
// notify side can send the STOP notifies it emitted before closing down.
type doneTracking struct {
	engine
	done chan struct{}
}

func (t *doneTracking) Run(ctx context.Context) error {
	defer close(t.done)
	return t.engine.Run(ctx)
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
	groupState map[string]vrrp.State
	notified   map[string]bool
}

func newNotifications(log *logrus.Logger) *notifications {
	logf := func(format string, args ...any) { log.Infof(format, args...) }
	return &notifications{
		log:        log,
		disp:       notify.NewDispatcher(notify.DispatcherOptions{Logf: logf}),
		vrrpDone:   make(chan struct{}),
		groupState: map[string]vrrp.State{},
		notified:   map[string]bool{},
	}
}

// configure builds the per-instance notify settings, FIFOs and mailer.
func (n *notifications) configure(cfg *config.Config) {
	logf := func(format string, args ...any) { n.log.Infof(format, args...) }
	g := &cfg.Global
	res := newScriptResolver(n.log, g)
	instances := map[string]*notify.VRRPNotify{}
	prio := map[string]bool{}
	for _, in := range cfg.Instances {
		instances[in.Name] = &notify.VRRPNotify{
			Kind: notify.KindInstance, Name: in.Name,
			Master: res.resolve(in.NotifyMaster), Backup: res.resolve(in.NotifyBackup),
			Fault: res.resolve(in.NotifyFault), Stop: res.resolve(in.NotifyStop),
			Deleted: res.resolve(in.NotifyDeleted), MasterRxLowerPri: res.resolve(in.NotifyMasterRxLowerPri),
			Generic: res.resolve(in.Notify), NotifyDeleted: in.NotifyDeleted != nil, SMTPAlert: in.SMTPAlert,
		}
		prio[in.Name] = in.NotifyPriorityChanges
	}
	groups := map[string]*notify.VRRPNotify{}
	for _, sg := range cfg.SyncGroups {
		groups[sg.Name] = &notify.VRRPNotify{
			Kind: notify.KindGroup, Name: sg.Name,
			Master: res.resolve(sg.NotifyMaster), Backup: res.resolve(sg.NotifyBackup),
			Fault: res.resolve(sg.NotifyFault), Stop: res.resolve(sg.NotifyStop),
			Generic: res.resolve(sg.Notify), SMTPAlert: sg.SMTPAlert,
		}
	}
	var fifos []*notify.Fifo
	var vrrpFifos []notify.LineWriter
	for _, f := range []struct {
		kind notify.FifoKind
		cfg  config.FIFO
	}{{notify.FifoGlobal, g.NotifyFIFO}, {notify.FifoVRRP, g.VRRPNotifyFIFO}} {
		if f.cfg.Path == "" {
			continue
		}
		fc := notify.FifoConfig{Kind: f.kind, Path: f.cfg.Path}
		if s := res.resolve(f.cfg.Script); s != nil {
			fc.UID, fc.GID = s.UID, s.GID
			fc.Script = &notify.Command{Argv: notify.FifoScriptArgv(s.Argv, f.cfg.Path), UID: s.UID, GID: s.GID}
		}
		fifo, err := notify.OpenFifo(fc, &notify.ExecRunner{Logf: logf}, logf)
		if err != nil {
			n.log.Infof("Unable to open notify fifo %s: %v", f.cfg.Path, err)
			continue
		}
		fifos = append(fifos, fifo)
		vrrpFifos = append(vrrpFifos, fifo)
	}
	mailer := n.newMailer(g)

	n.mu.Lock()
	oldFifos, oldMailer := n.fifos, n.mailer
	n.instances, n.groups, n.prioNotify, n.fifos, n.mailer = instances, groups, prio, fifos, mailer
	nt := &notify.Notifier{Scripts: n.disp, VRRPFifos: vrrpFifos, RouterID: g.RouterID}
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
		// keepalived: an instance already in the state its sync group
		// reported sends nothing more.
		if e.Group != "" && n.notified[e.Instance] && n.groupState[e.Group] == e.To {
			return
		}
		n.notified[e.Instance] = true
		n.notifier.VRRPState(in, e.To.String(), int(e.Priority))
	case vrrpengine.GroupStateChange:
		n.groupState[e.Group] = e.State
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

// Reload rebuilds scripts, FIFOs and mail settings from the new config.
func (n *notifications) Reload(cfg *config.Config) error {
	n.configure(cfg)
	return nil
}
