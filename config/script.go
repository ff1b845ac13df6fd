package config

import (
	"os"
	"os/user"
	"strconv"
	"strings"

	"keepalived-go/internal/script"
	"keepalived-go/parser"
)

// Scripts as keepalived reads them (lib/notify.c: notify_script_init,
// set_script_params_array, set_script_uid_gid, get_default_script_user,
// set_default_script_user): the command line is split with quotes and
// escapes, the user and group are resolved when the file is read, and a
// script whose user cannot be resolved is dropped.

// userDB is keepalived's user/group resolution with its default script user
// state (kept across the passes of one load, as in keepalived's process).
type userDB struct {
	lookupUser  func(string) (int, int, bool)
	lookupGroup func(string) (int, bool)

	defaultSet  bool
	defaultFail bool
	defaultUID  int
	defaultGID  int
	// security is enable_script_security (keepalived's script_security).
	security bool
}

func newUserDB(opts Options) *userDB {
	db := &userDB{lookupUser: opts.LookupUser, lookupGroup: opts.LookupGroup}
	if db.lookupUser == nil {
		db.lookupUser = systemUser
	}
	if db.lookupGroup == nil {
		db.lookupGroup = systemGroup
	}
	return db
}

func systemUser(name string) (int, int, bool) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, false
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, true
}

func systemGroup(name string) (int, bool) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, false
	}
	gid, _ := strconv.Atoi(g.Gid)
	return gid, true
}

// setUIDGID is keepalived's set_uid_gid: false when the user or group does
// not exist (keepalived logs "Script user '%s' does not exist" and the like).
func (db *userDB) setUIDGID(username, groupname string, hasGroup bool) (uid, gid int, ok bool) {
	uid, gid, ok = db.lookupUser(username)
	if !ok {
		return 0, 0, false
	}
	if hasGroup {
		g, ok := db.lookupGroup(groupname)
		if !ok {
			return 0, 0, false
		}
		gid = g
	}
	return uid, gid, true
}

// setDefault is keepalived's set_default_script_user (script_user).
func (l *loader) setDefaultScriptUser(username, groupname string, hasGroup bool) bool {
	db := l.users
	db.defaultSet = true
	uid, gid, ok := db.setUIDGID(username, groupname, hasGroup)
	if !ok {
		db.defaultFail = true
	} else {
		db.defaultUID, db.defaultGID = uid, gid
	}
	return db.defaultFail
}

// defaultScriptUser is keepalived's get_default_script_user: keepalived_script
// if it exists, else our own uid/gid; with script security a missing
// keepalived_script user is an error, reported once.
func (l *loader) defaultScriptUser() (uid, gid int, ok bool) {
	db := l.users
	if db.defaultFail {
		return 0, 0, false
	}
	if !db.defaultSet {
		db.defaultSet = true
		db.defaultUID, db.defaultGID = os.Getuid(), os.Getgid()
		u, g, found := db.setUIDGID("keepalived_script", "", false)
		if found {
			db.defaultUID, db.defaultGID = u, g
		} else if db.security {
			l.report(parser.SevGeneral, "Unable to set default user %s for script", "keepalived_script")
			db.defaultFail = true
			return 0, 0, false
		}
	}
	return db.defaultUID, db.defaultGID, true
}

// finalScriptUser records the default script user as keepalived's dump
// asks for it (get_default_script_user once the file is read): the one
// resolved, else keepalived_script, else our own ids; none when it failed.
func (l *loader) finalScriptUser() {
	db := l.users
	if db.defaultFail {
		return
	}
	uid, gid := db.defaultUID, db.defaultGID
	if !db.defaultSet {
		uid, gid = os.Getuid(), os.Getgid()
		if u, g, found := db.setUIDGID("keepalived_script", "", false); found {
			uid, gid = u, g
		} else if db.security {
			return
		}
	}
	l.cfg.ScriptUser = &script.DefaultUser{UID: uint32(uid), GID: uint32(gid)}
}

// scriptUIDGID is keepalived's set_script_uid_gid on words[off:].
func (l *loader) scriptUIDGID(words []string, off int) (uid, gid int, ok bool) {
	if off >= len(words) {
		l.p.Strvec(words).Slot(off) // strvec_slot: missing parameter, exit 2
	}
	group, hasGroup := "", false
	if len(words) > off+1 {
		group, hasGroup = words[off+1], true
	}
	return l.users.setUIDGID(words[off], group, hasGroup)
}

// notifyScript is keepalived's notify_script_init: the current line is read
// again with quotes and escapes; its second word is the command line (split
// once more into arguments), optionally followed by a user and group. It
// returns nil where keepalived drops the script.
func (l *loader) notifyScript(extraParams int, typ string) *Script {
	line := l.p.Line()
	words, ok := parser.SplitQuotedEscaped(line, l.report)
	if !ok {
		// keepalived logs "Unable to parse notify script"
		return nil
	}
	if len(words) < 2 {
		// set_script_params_array leaves no args and keepalived's message
		// reads strvec_slot(strvec_qe, 1): a missing parameter, exit 2
		l.p.Strvec(words).Slot(1)
		return nil
	}
	args, ok := parser.SplitQuotedEscaped(words[1], l.report)
	if !ok {
		// keepalived logs "Unable to parse script '%s' - ignoring"
		return nil
	}
	s := &Script{Pos: l.pos(), Raw: rawAfterKeyword(line), Args: args, Command: words[1]}
	if len(words) > 2 {
		uid, gid, ok := l.scriptUIDGID(words, 2)
		if !ok {
			// keepalived logs "Invalid user/group for %s script %s - ignoring"
			return nil
		}
		s.User = words[2]
		if len(words) > 3 {
			s.Group = words[3]
		}
		s.UID, s.GID, s.UserSet = uid, gid, true
	} else {
		uid, gid, ok := l.defaultScriptUser()
		if !ok {
			// keepalived logs "Failed to set default user for %s script %s - ignoring"
			return nil
		}
		s.UID, s.GID = uid, gid
	}
	_ = extraParams
	_ = typ
	return s
}

// rawAfterKeyword is the text after the first word of a line.
func rawAfterKeyword(line string) string {
	line = strings.TrimLeft(line, whiteSpace)
	i := strings.IndexAny(line, whiteSpace)
	if i < 0 {
		return ""
	}
	return strings.TrimLeft(line[i:], whiteSpace)
}

// Spec is the script as configured: the text after its keyword split as
// keepalived splits it (script.Parse), or, for a Script built in code
// without that text, its Command split into argv.
func (s *Script) Spec() (script.Spec, error) {
	if s.Raw != "" {
		return script.Parse(s.Raw)
	}
	argv, err := script.SplitQuotedEscaped(s.Command)
	return script.Spec{Argv: argv, User: s.User, Group: s.Group}, err
}

// Resolved is how the script runs, as ResolveScripts decided; a script
// that was never resolved may not run (its Err says so).
func (s *Script) Resolved() *script.Resolved {
	if s.Cmd != nil {
		return s.Cmd
	}
	spec, _ := s.Spec()
	return script.Unresolved(spec)
}

// ResolveScripts decides how each script runs where the load did not:
// a configuration read by Load has every script's argv, user and group
// resolved as keepalived resolves them when it reads the file, and the
// security pass's verdict on those keepalived checks; the others (and every
// script of a Config built in code) get argv, user and group from r, and
// r's security check. It returns keepalived's messages about the default
// script user when r decided it (none for a loaded configuration, whose
// load reported them).
func (c *Config) ResolveScripts(r *script.Resolver) []string {
	var lines []string
	if !c.loaded {
		c.ScriptUser = nil
		def, err := r.Default()
		if err == nil {
			c.ScriptUser = &def
		}
		lines = append(def.Messages, def.ConfigErrors...)
	}
	resolve := func(s *Script, user, group string) {
		if s.Cmd != nil {
			return
		}
		if s.Args != nil {
			// read by Load, not checked by keepalived's security pass
			s.Cmd = &script.Resolved{Spec: script.Spec{Argv: s.Args, User: s.User, Group: s.Group},
				Cmd: script.Command{Argv: s.Args, UID: uint32(s.UID), GID: uint32(s.GID)}}
			return
		}
		spec, err := s.Spec()
		if err != nil {
			s.Cmd = &script.Resolved{Err: err, Messages: []string{err.Error()}}
			return
		}
		if user != "" {
			spec.User, spec.Group = user, group
		}
		s.Cmd = r.ResolveSpec(spec)
	}
	for _, vs := range c.Scripts {
		if vs.Script != nil {
			resolve(vs.Script, vs.User, vs.Group)
		}
	}
	for s := range c.AllScripts() {
		if s.Raw != "" || s.Command != "" || s.Args != nil {
			resolve(s, "", "")
		}
	}
	return lines
}
