package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"keepalived-go/bfd"
	bfdengine "keepalived-go/bfd/engine"
	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/internal/outbox"
	vrrpengine "keepalived-go/vrrp/engine"
)

// bfdProc is keepalived's BFD child process: it runs the bfd_instances in
// a bfd engine and hands each session state change to VRRP (track_bfd)
// and the checkers (BFD_CHECK), where the bfd_instance sends it
// (bfd_event_send: its vrrp / checker keywords). keepalived starts that
// process when the configuration has BFD (or with --all), at start or on
// the first reload that brings some, unless -B; so does bfdProc. Once
// started it stays, taking every reload, as keepalived's child does.
type bfdProc struct {
	log       *logrus.Logger
	logDetail bool
	all       bool // --all: run even without bfd_instances
	pidFile   string
	// vrrp and chk take the events; either may be nil (-C, -P, no
	// instances or virtual servers).
	vrrp *vrrpengine.Engine
	chk  *check.Engine
	// listen overrides the engine's input socket (tests); zero: 3784.
	listen bfdengine.Options

	mu      sync.Mutex
	cfg     *config.Config // the config to start with
	runCtx  context.Context
	eng     *bfdengine.Engine
	engDone chan struct{} // closed when eng.Run returned
	failed  chan error    // the engine's Run ended with an error
}

// wantsBFD is keepalived's running_bfd: -B aside, BFD runs when the
// configuration has bfd_instances, or with --all.
func wantsBFD(cfg *config.Config, all bool) bool {
	return all || len(cfg.BFDInstances) > 0
}

// bfdPidPath is -b/--bfd_pid, else keepalived_bfd.pid next to the others.
func bfdPidPath(o options) string {
	if o.bfdPidFile != "" {
		return o.bfdPidFile
	}
	dir := "/run"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = "/var/run"
	}
	return filepath.Join(dir, "keepalived_bfd.pid")
}

func newBFDProc(d *daemon, cfg *config.Config, v *vrrpengine.Engine, chk *check.Engine) *bfdProc {
	return &bfdProc{log: d.log, logDetail: d.opts.logDetail, all: d.opts.all, pidFile: bfdPidPath(d.opts),
		vrrp: v, chk: chk, cfg: cfg, failed: make(chan error, 1)}
}

// Run starts the engine if the configuration wants it and serves until
// ctx ends. An engine that cannot run (no listening socket) ends the
// daemon, as keepalived's parent terminates on its BFD child's fatal exit.
func (p *bfdProc) Run(ctx context.Context) error {
	p.mu.Lock()
	p.runCtx = ctx
	if wantsBFD(p.cfg, p.all) {
		p.startLocked(p.cfg)
	}
	p.mu.Unlock()
	var err error
	select {
	case <-ctx.Done():
	case err = <-p.failed:
	}
	p.mu.Lock()
	eng, done := p.eng, p.engDone
	p.mu.Unlock()
	if eng != nil {
		// The engine ends with ctx; events still queued are dropped, as
		// keepalived's processes stop reading their pipes when they stop.
		<-done
		os.Remove(p.pidFile)
	}
	return err
}

// startLocked runs a new engine for cfg; p.mu is held.
func (p *bfdProc) startLocked(cfg *config.Config) {
	opts := p.listen
	opts.Log = logrus.NewEntry(p.log)
	if p.logDetail {
		opts.LogDetail = bfd.LogDetail
	}
	eng, done := bfdengine.New(cfg, opts), make(chan struct{})
	p.eng, p.engDone = eng, done
	if err := writePidFile(p.pidFile, os.Getpid()); err != nil {
		p.log.Infof("pidfile_write : Cannot open %s pidfile", p.pidFile)
	}
	p.log.Infof("Starting BFD child process, pid=%d", os.Getpid())
	go p.forward(eng, eng.Epoch())
	go func() {
		defer close(done)
		if err := eng.Run(p.runCtx); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Infof("pid %d exited with permanent error FATAL. Terminating", os.Getpid())
			p.failed <- err
		}
	}()
}

// forward hands every event to the engines the bfd_instance names, in
// order for each: keepalived's two pipes, one per process. Each engine
// has its own queue, so neither waits for the other to take an event.
func (p *bfdProc) forward(eng *bfdengine.Engine, start time.Time) {
	var toVRRP *outbox.Outbox[vrrpengine.BFDState]
	var toCheck *outbox.Outbox[check.BFDState]
	if p.vrrp != nil {
		toVRRP = outbox.New(p.vrrp.SetBFD)
		toVRRP.Start()
		defer toVRRP.Close()
	}
	if p.chk != nil {
		toCheck = outbox.New(p.chk.SetBFD)
		toCheck.Start()
		defer toCheck.Close()
	}
	for ev := range eng.Events() {
		sent := start.Add(ev.At)
		if ev.VRRP {
			toVRRP.Push(vrrpengine.BFDState{Name: ev.Name, Up: ev.Up, Sent: sent})
		}
		if ev.Checker {
			toCheck.Push(check.BFDState{Name: ev.Name, Up: ev.Up, Sent: sent})
		}
	}
}

// Validate takes any config: bfd_instances were checked when it loaded,
// and a session the engine cannot open is logged, as keepalived's BFD
// child does, without refusing the reload.
func (p *bfdProc) Validate(*config.Config) error { return nil }

// Reload hands the engine the new configuration; a configuration that
// brings the first bfd_instances starts it (keepalived's start_bfd_child
// on reload).
func (p *bfdProc) Reload(cfg *config.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	switch {
	case p.eng != nil:
		return p.eng.Reload(cfg)
	case p.runCtx != nil && p.runCtx.Err() == nil && wantsBFD(cfg, p.all):
		p.startLocked(cfg)
	}
	return nil
}

// Status is the running engine's, or errBFDNotRunning.
func (p *bfdProc) Status() (bfdengine.Status, *config.Config, error) {
	p.mu.Lock()
	eng, cfg := p.eng, p.cfg
	p.mu.Unlock()
	if eng == nil {
		return bfdengine.Status{}, nil, errBFDNotRunning
	}
	st, err := eng.Status()
	if err != nil {
		return st, nil, fmt.Errorf("bfd: %w", err)
	}
	return st, cfg, nil
}

// errBFDNotRunning: no BFD engine runs (no bfd_instance, or -B).
var errBFDNotRunning = errors.New("BFD is not running")

// epoch is the running engine's clock zero (zero time when none runs).
func (p *bfdProc) epoch() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.eng == nil {
		return time.Time{}
	}
	return p.eng.Epoch()
}
