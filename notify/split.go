package notify

import (
	"errors"
	"fmt"
	"strings"

	"keepalived-go/internal/strvec"
)

// Sentinel errors of the script string parser (see strvec).
var (
	// ErrUnmatchedQuote: a ' or " is not closed before the end of the string.
	ErrUnmatchedQuote = strvec.ErrUnmatchedQuote
	// ErrTrailingEscape: the string ends with a lone backslash.
	ErrTrailingEscape = strvec.ErrTrailingEscape
	// ErrEmptyScript: the string holds no word at all.
	ErrEmptyScript = strvec.ErrEmptyScript
)

// SplitError carries the exact text keepalived logs for a string it cannot
// split, and wraps one of the sentinel errors above.
type SplitError = strvec.SplitError

// SplitQuotedEscaped splits s into words as keepalived's
// alloc_strvec_quoted_escaped() does (strvec.SplitQuotedEscaped).
func SplitQuotedEscaped(s string) ([]string, error) { return strvec.SplitQuotedEscaped(s) }

// ScriptSpec is a parsed script keyword: the command's argv and the optional
// user and group given after it (empty when absent).
type ScriptSpec struct {
	Argv  []string
	User  string
	Group string
}

// ParseScript parses the text that follows a script keyword on its config
// line (notify_master, notify, notify_up, quorum_up, notify_fifo_script,
// startup_script ...; for vrrp_script's `script` and MISC_CHECK's
// `misc_path` use only Argv). Pass the text as written, quotes and
// backslashes intact, after the config reader removed comments: keepalived
// splits that raw text once (the command string is the first word, the user
// and group the next two, further words are ignored) and then splits the
// command string again, so escapes and quotes are processed twice.
//
//	notify_master "/etc/keepalived/redirect.sh del 10.30.6.110"
//	  -> Argv [/etc/keepalived/redirect.sh del 10.30.6.110]
//	notify "/bin/x 'a b' c\\ d" nobody nogroup
//	  -> Argv [/bin/x, a b, c d], User nobody, Group nogroup
func ParseScript(rest string) (ScriptSpec, error) {
	outer, err := SplitQuotedEscaped(rest)
	if err != nil {
		return ScriptSpec{}, err
	}
	argv, err := SplitQuotedEscaped(outer[0])
	if err != nil {
		if errors.Is(err, ErrEmptyScript) {
			return ScriptSpec{}, &SplitError{Src: outer[0], Err: ErrEmptyScript,
				Msg: fmt.Sprintf("Unable to parse script '%s' - ignoring", outer[0])}
		}
		return ScriptSpec{}, err
	}
	spec := ScriptSpec{Argv: argv}
	if len(outer) > 1 {
		spec.User = outer[1]
	}
	if len(outer) > 2 {
		spec.Group = outer[2]
	}
	return spec, nil
}

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

// CmdString renders argv as keepalived's cmd_str() does for its log lines
// and for the commands it hands to /bin/sh: every word in single quotes,
// except a first word starting with < or >, which is left bare.
func CmdString(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		bare := i == 0 && a != "" && (a[0] == '<' || a[0] == '>')
		if !bare {
			b.WriteByte('\'')
		}
		b.WriteString(a)
		if !bare {
			b.WriteByte('\'')
		}
	}
	return b.String()
}

// IsFileTest reports whether argv is keepalived's special file-existence
// form "</path" (optionally with blanks between < and /): such a command is
// never exec'd directly but given to /bin/sh -c as CmdString(argv).
func IsFileTest(argv []string) bool {
	if len(argv) == 0 || len(argv[0]) < 2 || argv[0][0] != '<' {
		return false
	}
	rest := strings.TrimLeft(argv[0][1:], " \t")
	return strings.HasPrefix(rest, "/")
}
