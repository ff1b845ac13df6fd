package config

import (
	"os"

	"keepalived-go/internal/script"
)

// scriptFlags are keepalived's SC_* results of check_script_secure.
type scriptFlags uint

const (
	scInsecure   scriptFlags = 0x01
	scIsScript   scriptFlags = 0x02
	scInhibit    scriptFlags = 0x04
	scNotFound   scriptFlags = 0x08
	scExecutable scriptFlags = 0x10
	scExecable   scriptFlags = 0x20
	scSystem     scriptFlags = 0x40
)

// checkScriptSecure is keepalived's check_script_secure on one script: the
// command is looked up (PATH for a bare name), resolved (Args[0] becomes the
// resolved path, as keepalived's replace_cmd_name does) and its path checked.
// Its messages are keepalived's log lines, not configuration errors.
func (l *loader) checkScriptSecure(s *Script) scriptFlags {
	if s == nil || len(s.Args) == 0 {
		return 0
	}
	rep := script.CheckSecurity(script.SecurityCheck{
		Argv: s.Args, UID: uint32(s.UID), GID: uint32(s.GID),
		OurUID: uint32(os.Geteuid()), OurGID: uint32(os.Getegid()),
		ScriptSecurity: l.users.security,
	})
	if len(rep.Argv) > 0 {
		s.Args = rep.Argv
	}
	s.Flags = uint(rep.Flags)
	if rep.Flags&script.FlagInsecure != 0 {
		l.cfg.InsecureScripts = append(l.cfg.InsecureScripts, s)
	}
	s.Cmd = &script.Resolved{Spec: script.Spec{Argv: s.Args, User: s.User, Group: s.Group},
		Cmd:   script.Command{Argv: s.Args, UID: uint32(s.UID), GID: uint32(s.GID)},
		Flags: rep.Flags, Messages: rep.Messages, Err: rep.Err()}
	return scriptFlags(rep.Flags)
}

// usable is check_notify_script_secure's test: a notify script that is
// inhibited, missing or not executable is dropped.
func (f scriptFlags) usable() bool {
	if f&scSystem != 0 {
		return true
	}
	return f&(scInhibit|scNotFound) == 0 && f&scExecutable != 0
}
