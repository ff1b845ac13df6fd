package notify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"keepalived-go/internal/script"
)

// InstanceFifoLine is the line keepalived writes to notify_fifo and
// vrrp_notify_fifo on a state change or event of a vrrp_instance
// (KindInstance) or sync group (KindGroup, priority 0):
//
//	INSTANCE "VI_1" MASTER 100
//
// state is a State or Event constant; others become {UNKNOWN}.
func InstanceFifoLine(kind Kind, name, state string, priority int) string {
	switch state {
	case StateMaster, StateBackup, StateFault, StateStop, StateDeleted,
		EventMasterRxLowerPri, EventMasterPriority, EventBackupPriority:
	default:
		state = StateUnknown
	}
	return fmt.Sprintf("%s \"%s\" %s %d\n", kind, name, state, priority)
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

// VSFifoLine is the notify_fifo / lvs_notify_fifo line for a virtual
// server's quorum change: `VS [198.51.100.10]:tcp:80 UP`. vs is keepalived's
// name of the virtual server (config's VirtualServer.Name).
func VSFifoLine(vs string, up bool) string {
	return fmt.Sprintf("VS %s %s\n", vs, upDown(up))
}

// RSFifoLine is the notify_fifo / lvs_notify_fifo line for a real server
// going up or down: `RS [198.51.100.11]:tcp:80 [198.51.100.10]:tcp:80 DOWN`
// (rs from config's VirtualServer.RealServerName).
func RSFifoLine(vs, rs string, up bool) string {
	return fmt.Sprintf("RS %s %s %s\n", rs, vs, upDown(up))
}

// FifoKind prefixes FIFO log lines and keywords as keepalived does.
type FifoKind string

const (
	FifoGlobal FifoKind = ""      // notify_fifo
	FifoVRRP   FifoKind = "vrrp_" // vrrp_notify_fifo
	FifoLVS    FifoKind = "lvs_"  // lvs_notify_fifo
)

// FifoConfig describes one notify FIFO.
type FifoConfig struct {
	Kind     FifoKind
	Path     string
	UID, GID uint32 // owner given to a FIFO we create (the fifo's user)
	// Script, when set, is the notify_fifo_script's command with the FIFO
	// path already appended (FifoScriptArgv). It runs without timeout
	// until the FIFO is closed.
	Script *script.Command
}

// Fifo is an open notify FIFO. Writes never block: when the reader lags
// and the pipe is full the line is dropped, as keepalived drops it.
type Fifo struct {
	cfg     FifoConfig
	f       *os.File
	created bool
	logf    Logf

	cancel     context.CancelFunc
	scriptDone chan struct{}
	mu         sync.Mutex
	closed     bool
}

// OpenFifo creates the FIFO if missing (mode 0644 before umask, owned by
// the fifo's user), starts its script with runner, then opens it
// read-write and non-blocking, as keepalived's fifo_open() does. runner
// may be nil when there is no script.
func OpenFifo(cfg FifoConfig, runner script.Runner, logf Logf) (*Fifo, error) {
	ff := &Fifo{cfg: cfg, logf: logf}
	err := syscall.Mkfifo(cfg.Path, syscall.S_IRUSR|syscall.S_IWUSR|syscall.S_IRGRP|syscall.S_IROTH)
	switch {
	case err == nil:
		ff.created = true
		if cfg.UID != uint32(os.Geteuid()) || cfg.GID != uint32(os.Getegid()) {
			uid, gid := -1, -1
			if cfg.UID != uint32(os.Geteuid()) {
				uid = int(cfg.UID)
			}
			if cfg.GID != uint32(os.Getegid()) {
				gid = int(cfg.GID)
			}
			if os.Chown(cfg.Path, uid, gid) != nil {
				logf.Printf("Failed to set uid:gid for fifo %s", cfg.Path)
			}
		}
	case errors.Is(err, syscall.EEXIST):
	default:
		logf.Printf("Unable to create %snotify fifo %s", cfg.Kind, cfg.Path)
		return nil, fmt.Errorf("mkfifo %s: %w", cfg.Path, err)
	}

	if cfg.Script != nil && runner != nil {
		ctx, cancel := context.WithCancel(context.Background())
		ff.cancel = cancel
		ff.scriptDone = make(chan struct{})
		go func() {
			defer close(ff.scriptDone)
			_ = runner.Run(ctx, *cfg.Script)
			switch cfg.Kind {
			case FifoVRRP:
				logf.Printf("vrrp notify fifo script terminated")
			case FifoLVS:
				logf.Printf("lvs notify fifo script terminated")
			}
		}()
	}

	fd, err := syscall.Open(cfg.Path, syscall.O_RDWR|syscall.O_CLOEXEC|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		errno := syscall.Errno(0)
		errors.As(err, &errno)
		logf.Printf("Unable to open %snotify fifo %s - errno %d", cfg.Kind, cfg.Path, int(errno))
		if ff.created {
			_ = os.Remove(cfg.Path)
		}
		ff.stopScript()
		return nil, fmt.Errorf("open fifo %s: %w", cfg.Path, err)
	}
	ff.f = os.NewFile(uintptr(fd), cfg.Path)
	return ff, nil
}

// Path is the FIFO's path.
func (f *Fifo) Path() string { return f.cfg.Path }

// WriteLine writes one line (built by the *FifoLine functions). An error
// (typically EAGAIN: pipe full) means the line was dropped.
func (f *Fifo) WriteLine(line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return os.ErrClosed
	}
	_, err := syscall.Write(int(f.f.Fd()), []byte(line))
	return err
}

func (f *Fifo) stopScript() {
	if f.cancel != nil {
		f.cancel()
		<-f.scriptDone
	}
}

// Close unlinks a FIFO we created first (so a reader looping on reopen
// cannot find it again), closes it, and kills the FIFO script.
func (f *Fifo) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	if f.created {
		_ = os.Remove(f.cfg.Path)
	}
	err := f.f.Close()
	f.mu.Unlock()
	f.stopScript()
	return err
}
