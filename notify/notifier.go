package notify

import (
	"sync"
	"time"

	"keepalived-go/internal/script"
)

// Script is a configured, checked script: argv (as config.ResolveScripts
// resolved it, script.Resolved) and the user it runs as.
type Script struct {
	Argv     []string
	UID, GID uint32
}

func (s *Script) command(argv []string) script.Command {
	return script.Command{Argv: argv, UID: s.UID, GID: s.GID}
}

// VRRPNotify holds the notify settings of one vrrp_instance (Kind
// KindInstance) or vrrp_sync_group (KindGroup). nil scripts are absent.
type VRRPNotify struct {
	Kind                        Kind
	Name                        string
	Master, Backup, Fault, Stop *Script
	Deleted                     *Script // instances only
	MasterRxLowerPri            *Script // instances only
	Generic                     *Script // `notify`
	NotifyDeleted               bool    // `notify_deleted` given: DELETED is reported as such, not as FAULT
	SMTPAlert                   bool
}

// RealServerNotify holds a real server's notify_up / notify_down. VS and
// RS are keepalived's names (config's VirtualServer.Name and
// RealServerName).
type RealServerNotify struct {
	VS, RS    string
	Up, Down  *Script
	SMTPAlert bool
}

// VirtualServerNotify holds a virtual server's quorum_up / quorum_down; VS
// is its name (config's VirtualServer.Name).
type VirtualServerNotify struct {
	VS        string
	Up, Down  *Script
	SMTPAlert bool
}

// Submitter queues scripts (a *Dispatcher).
type Submitter interface{ Submit(Job) error }

// LineWriter takes FIFO lines (a *Fifo).
type LineWriter interface{ WriteLine(string) error }

// MailSubmitter queues mail (a *Mailer).
type MailSubmitter interface{ Submit(Mail) error }

// Notifier turns VRRP and checker events into scripts, FIFO lines and
// mails, in keepalived's order: the specific notify_* script, then the
// generic notify, then the FIFO line, then the mail. Scripts of one
// instance, group or server share a Dispatcher key so they run in that
// order. Nothing here blocks.
type Notifier struct {
	Scripts Submitter
	// VRRPFifos get instance/group lines (notify_fifo and
	// vrrp_notify_fifo); LVSFifos get VS/RS lines (notify_fifo and
	// lvs_notify_fifo). nil entries are skipped.
	VRRPFifos, LVSFifos []LineWriter
	Mail                MailSubmitter // nil: no mail
	RouterID            string
	NoEmailFaults       bool // no_email_faults
	// ScriptTimeout for ordinary notify scripts (0: the dispatcher's
	// default); STOP notifies always get StopScriptTimeout.
	ScriptTimeout time.Duration

	mu        sync.Mutex
	lastEmail map[string]string
}

func vrrpKey(n *VRRPNotify) string { return "vrrp " + string(n.Kind) + " " + n.Name }

func (nt *Notifier) submit(key, name string, s *Script, argv []string, timeout time.Duration) {
	if nt.Scripts == nil || s == nil {
		return
	}
	_ = nt.Scripts.Submit(Job{Key: key, Name: name, Command: s.command(argv), Timeout: timeout})
}

func writeAll(ws []LineWriter, line string) {
	for _, w := range ws {
		if w != nil {
			_ = w.WriteLine(line)
		}
	}
}

// VRRPState reports that an instance or sync group entered state (a State
// constant) with the given effective priority (ignored for groups). The
// caller keeps keepalived's rule of not notifying an instance whose sync
// group already notified that state.
func (nt *Notifier) VRRPState(n *VRRPNotify, state string, priority int) {
	if n.Kind == KindGroup {
		priority = 0
	} else if state == StateDeleted && !n.NotifyDeleted {
		state = StateFault
	}
	var specific *Script
	kw := ""
	switch state {
	case StateMaster:
		specific, kw = n.Master, "notify_master"
	case StateBackup:
		specific, kw = n.Backup, "notify_backup"
	case StateFault:
		specific, kw = n.Fault, "notify_fault"
	case StateStop:
		specific, kw = n.Stop, "notify_stop"
	case StateDeleted:
		specific, kw = n.Deleted, "notify_deleted"
	}
	timeout := nt.ScriptTimeout
	if state == StateStop {
		timeout = StopScriptTimeout
	}
	key := vrrpKey(n)
	if specific != nil {
		nt.submit(key, n.Name+" "+kw, specific, specific.Argv, timeout)
	}
	if n.Generic != nil {
		nt.submit(key, n.Name+" notify", n.Generic, GenericNotifyArgv(n.Generic.Argv, n.Kind, n.Name, state, priority), timeout)
	}
	writeAll(nt.VRRPFifos, InstanceFifoLine(n.Kind, n.Name, state, priority))
	if !n.SMTPAlert || nt.Mail == nil || (nt.NoEmailFaults && state == StateFault) {
		return
	}
	nt.mu.Lock()
	if nt.lastEmail == nil {
		nt.lastEmail = map[string]string{}
	}
	if nt.lastEmail[key] == state {
		nt.mu.Unlock()
		return
	}
	var m Mail
	var ok bool
	if n.Kind == KindGroup {
		m, ok = VRRPGroupMail(nt.RouterID, n.Name, state)
	} else {
		m, ok = VRRPInstanceMail(nt.RouterID, n.Name, state)
	}
	if ok {
		nt.lastEmail[key] = state
	}
	nt.mu.Unlock()
	if ok {
		_ = nt.Mail.Submit(m)
	}
}

// VRRPEvent reports MASTER_RX_LOWER_PRI (runs notify_master_rx_lower_pri,
// without extra arguments) or a priority change (EventMasterPriority /
// EventBackupPriority, FIFO only; the caller checks
// vrrp_notify_priority_changes).
func (nt *Notifier) VRRPEvent(n *VRRPNotify, event string, priority int) {
	if event == EventMasterRxLowerPri && n.MasterRxLowerPri != nil {
		nt.submit(vrrpKey(n), n.Name+" notify_master_rx_lower_pri", n.MasterRxLowerPri, n.MasterRxLowerPri.Argv, nt.ScriptTimeout)
	}
	writeAll(nt.VRRPFifos, InstanceFifoLine(n.Kind, n.Name, event, priority))
}

// RealServerState reports a real server going up or down: its
// notify_up/notify_down and the RS FIFO line. Checkers send their own mail
// (RealServerMail) since the text depends on the checker; stopping selects
// the 1 s shutdown timeout.
func (nt *Notifier) RealServerState(n *RealServerNotify, up, stopping bool) {
	s, kw := n.Down, "notify_down"
	if up {
		s, kw = n.Up, "notify_up"
	}
	timeout := nt.ScriptTimeout
	if stopping {
		timeout = StopScriptTimeout
	}
	if s != nil {
		nt.submit("rs "+n.RS+" "+n.VS, n.RS+" "+kw, s, s.Argv, timeout)
	}
	writeAll(nt.LVSFifos, RSFifoLine(n.VS, n.RS, up))
}

// SendMail queues a mail built by the caller (checker alerts).
func (nt *Notifier) SendMail(m Mail) {
	if nt.Mail != nil {
		_ = nt.Mail.Submit(m)
	}
}

// QuorumState reports a virtual server's quorum change: quorum_up or
// quorum_down, the VS FIFO line and, with smtp_alert, the mail whose body
// QuorumMailBody builds (or "=> Shutting down <=").
func (nt *Notifier) QuorumState(n *VirtualServerNotify, up, stopping bool, mailBody string) {
	s, kw := n.Down, "quorum_down"
	if up {
		s, kw = n.Up, "quorum_up"
	}
	timeout := nt.ScriptTimeout
	if stopping {
		timeout = StopScriptTimeout
	}
	if s != nil {
		nt.submit("vs "+n.VS, n.VS+" "+kw, s, s.Argv, timeout)
	}
	writeAll(nt.LVSFifos, VSFifoLine(n.VS, up))
	if n.SMTPAlert {
		nt.SendMail(VirtualServerMail(nt.RouterID, n.VS, up, mailBody))
	}
}
