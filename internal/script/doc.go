// Package script is how keepalived runs a configured command, for every
// part of the daemon that runs one (notify scripts, vrrp_script, MISC_CHECK,
// the notify FIFO scripts): a leaf below the engines, so that none of them
// imports another to run a script.
//
// The pure parts reproduce keepalived 2.2.7: how a configured script string
// becomes argv and its optional user and group (Parse, SplitQuotedEscaped),
// how a command is shown in logs and dumps (CmdString), the "</file" test
// form (IsFileTest), who runs a script that names no user
// (ResolveDefaultUser) and the security walk with its log texts
// (CheckSecurity, SecurityViolation). Resolver puts them together: one
// configured script in, one Resolved out (argv after the security check,
// uid, gid, flags, keepalived's messages, and whether it may run); the
// configuration resolves each of its scripts once (config.ResolveScripts)
// and the engines read the result.
//
// ExecRunner runs a Command as keepalived's system_call_script does: no
// shell, a process group of its own, the script's uid and gid, killed with
// its group when the context ends.
package script
