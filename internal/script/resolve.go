package script

import (
	"errors"
	"fmt"
	"os"
)

// Resolved is one configured script as the daemon will run it, decided
// once when the configuration is loaded (Resolver.Resolve).
type Resolved struct {
	// Spec is the script as configured: argv as split, and the user and
	// group it names ("" for the default user).
	Spec Spec
	// Cmd is what runs: argv with argv[0] as the security check resolved
	// it (PATH search, real path), and the uid and gid.
	Cmd Command
	// Flags is the security check's verdict (zero when it did not run).
	Flags Flags
	// Messages are keepalived's log lines about this script, in its order:
	// user lookup failures and the security check's findings.
	Messages []string
	// Err is nil when the script may run; otherwise it wraps why not:
	// a SplitError, ErrUnknownUser or ErrUnknownGroup, ErrNoDefaultUser,
	// or one of ErrNotFound, ErrInsecure, ErrNotExecutable.
	Err error
}

// Usable reports whether the script may run.
func (r *Resolved) Usable() bool { return r != nil && r.Err == nil }

// Insecure reports whether the security check found a path element a
// non-root user could change (keepalived's SC_INSECURE), whether or not
// the script may still run.
func (r *Resolved) Insecure() bool { return r != nil && r.Flags&FlagInsecure != 0 }

// Resolver resolves configured scripts the way keepalived does at start:
// the default script user once (global script_user, else
// keepalived_script, else keepalived's own user), then per script its
// user and group and the security check. It is not safe for concurrent use.
type Resolver struct {
	users    UserDB
	security bool
	ourUID   uint32
	ourGID   uint32
	def      DefaultUser
	defErr   error
	cache    map[resolveKey]*Resolved
}

type resolveKey struct {
	argv0, args, user, group string
}

// NewResolver resolves the default script user from global_defs'
// script_user/script_group and enable_script_security. users nil is
// OSUserDB.
func NewResolver(users UserDB, scriptUser, scriptGroup string, security bool) *Resolver {
	if users == nil {
		users = OSUserDB{}
	}
	r := &Resolver{users: users, security: security, ourUID: uint32(os.Geteuid()), ourGID: uint32(os.Getegid()),
		cache: map[resolveKey]*Resolved{}}
	r.def, r.defErr = ResolveDefaultUser(users, scriptUser, scriptGroup, security, r.ourUID, r.ourGID)
	return r
}

// Default is the user of scripts that name none, with keepalived's
// messages and config errors about it; the error is set when there is
// none (those scripts cannot run).
func (r *Resolver) Default() (DefaultUser, error) { return r.def, r.defErr }

// Resolve parses raw, the text after a script keyword as written (see
// Parse), and resolves it. A parse failure is a Resolved with Err set.
func (r *Resolver) Resolve(raw string) *Resolved {
	spec, err := Parse(raw)
	if err != nil {
		return &Resolved{Err: err, Messages: []string{err.Error()}}
	}
	return r.ResolveSpec(spec)
}

// ResolveSpec resolves an already split script: its user (the default
// one when spec names none), then keepalived's security check for that
// user. Identical specs share one Resolved.
func (r *Resolver) ResolveSpec(spec Spec) *Resolved {
	if len(spec.Argv) == 0 {
		return &Resolved{Spec: spec, Err: ErrEmptyScript}
	}
	k := resolveKey{argv0: spec.Argv[0], user: spec.User, group: spec.Group}
	for _, a := range spec.Argv[1:] {
		k.args += a + "\x00"
	}
	if res, ok := r.cache[k]; ok {
		return res
	}
	res := r.resolve(spec)
	r.cache[k] = res
	return res
}

func (r *Resolver) resolve(spec Spec) *Resolved {
	res := &Resolved{Spec: spec, Cmd: Command{Argv: spec.Argv}}
	uid, gid := r.def.UID, r.def.GID
	switch {
	case spec.User != "":
		u, g, msgs, err := ResolveUserGroup(r.users, spec.User, spec.Group)
		res.Messages = append(res.Messages, msgs...)
		if err != nil {
			res.Err = err
			return res
		}
		uid, gid = u, g
	case r.defErr != nil:
		res.Err = r.defErr
		return res
	}
	res.Cmd.UID, res.Cmd.GID = uid, gid
	rep := CheckSecurity(SecurityCheck{Argv: spec.Argv, UID: uid, GID: gid,
		OurUID: r.ourUID, OurGID: r.ourGID, ScriptSecurity: r.security})
	res.Messages = append(res.Messages, rep.Messages...)
	res.Flags = rep.Flags
	res.Cmd.Argv = rep.Argv
	res.Err = rep.Err()
	return res
}

// ErrUnresolved: a script the configuration never resolved (a Config built
// in code without ResolveScripts).
var ErrUnresolved = errors.New("script not resolved")

// Unresolved is the Resolved of a script nobody resolved: it may not run.
func Unresolved(spec Spec) *Resolved {
	return &Resolved{Spec: spec, Cmd: Command{Argv: spec.Argv}, Err: fmt.Errorf("%w: %q", ErrUnresolved, spec.Argv)}
}
