package notify

import (
	"fmt"

	"keepalived-go/internal/script"
)

// VRRP states as the generic notify script and the FIFO spell them.
const (
	StateMaster  = "MASTER"
	StateBackup  = "BACKUP"
	StateFault   = "FAULT"
	StateStop    = "STOP"
	StateDeleted = "DELETED"
	StateUnknown = "{UNKNOWN}"
	// FIFO-only events.
	EventMasterRxLowerPri = "MASTER_RX_LOWER_PRI"
	EventMasterPriority   = "MASTER_PRIORITY"
	EventBackupPriority   = "BACKUP_PRIORITY"
)

// Kind distinguishes a vrrp_instance from a vrrp_sync_group in generic
// notify arguments and FIFO lines.
type Kind string

const (
	KindInstance Kind = "INSTANCE"
	KindGroup    Kind = "GROUP"
)

// GenericNotifyArgv returns the argv keepalived runs for the generic
// `notify` script: the configured argv followed by four words,
// INSTANCE|GROUP, the name (unquoted: it is a separate argv element), the
// state and the priority in decimal (0 for a group). state is one of the
// State constants; anything else becomes {UNKNOWN}.
func GenericNotifyArgv(base []string, kind Kind, name, state string, priority int) []string {
	switch state {
	case StateMaster, StateBackup, StateFault, StateStop, StateDeleted:
	default:
		state = StateUnknown
	}
	out := make([]string, 0, len(base)+4)
	out = append(out, base...)
	return append(out, string(kind), name, state, fmt.Sprintf("%d", priority))
}

// FifoScriptArgv returns the argv of a notify_fifo_script: keepalived adds
// the FIFO's path as the last argument.
func FifoScriptArgv(base []string, fifoPath string) []string {
	out := make([]string, 0, len(base)+1)
	out = append(out, base...)
	return append(out, fifoPath)
}

// Logf receives keepalived-style log lines (printf format); nil discards.
type Logf = script.Logf
