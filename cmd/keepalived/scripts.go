package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/notify"
)

// scriptResolver turns configured script lines into runnable scripts the way
// keepalived does at start: split the line with its rules, pick the user,
// and run its security check, logging its messages.
type scriptResolver struct {
	log      *logrus.Logger
	db       script.UserDB
	def      script.DefaultUser
	defOK    bool
	security bool
	uid, gid uint32
	flags    script.Flags
}

func newScriptResolver(log *logrus.Logger, g *config.Global) *scriptResolver {
	r := &scriptResolver{log: log, db: script.OSUserDB{}, security: g.EnableScriptSecurity,
		uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
	def, err := script.ResolveDefaultUser(r.db, g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity, r.uid, r.gid)
	for _, m := range def.Messages {
		log.Info(m)
	}
	for _, m := range def.ConfigErrors {
		log.Info(m)
	}
	r.def, r.defOK = def, err == nil
	return r
}

// resolve returns nil when there is no script or it may not run.
func (r *scriptResolver) resolve(s *config.Script) *notify.Script {
	if s == nil || s.Raw == "" {
		return nil
	}
	spec, err := script.Parse(s.Raw)
	if err != nil {
		r.log.Infof("(%s:%d) cannot parse script %s: %v", s.Pos.File, s.Pos.Line, s.Raw, err)
		return nil
	}
	uid, gid := r.def.UID, r.def.GID
	if spec.User != "" {
		u, g, msgs, err := script.ResolveUserGroup(r.db, spec.User, spec.Group)
		for _, m := range msgs {
			r.log.Info(m)
		}
		if err != nil {
			return nil
		}
		uid, gid = u, g
	} else if !r.defOK {
		return nil
	}
	rep := script.CheckSecurity(script.SecurityCheck{Argv: spec.Argv, UID: uid, GID: gid,
		OurUID: r.uid, OurGID: r.gid, ScriptSecurity: r.security})
	for _, m := range rep.Messages {
		r.log.Info(m)
	}
	r.flags |= rep.Flags
	if !rep.Usable() {
		return nil
	}
	return &notify.Script{Argv: rep.Argv, UID: uid, GID: gid}
}

// insecureScripts runs the daemon's script security check over a config and
// returns keepalived's messages for the scripts a non-root user could change,
// so that --config-test reports what the running daemon would refuse or warn
// about (keepalived's own -t does not look).
func insecureScripts(cfg *config.Config) []string {
	var lines []string
	log := logrus.New()
	log.SetOutput(io.Discard)
	res := newScriptResolver(log, &cfg.Global)
	for s := range cfg.AllScripts() {
		if s.Raw == "" {
			continue
		}
		var got []string
		log.ReplaceHooks(logrus.LevelHooks{})
		log.AddHook(collectHook{&got})
		res.flags = 0
		res.resolve(s)
		if res.flags&script.FlagInsecure != 0 {
			for _, m := range got {
				lines = append(lines, fmt.Sprintf("(%s: Line %d) %s", s.Pos.File, s.Pos.Line, m))
			}
		}
	}
	return lines
}

type collectHook struct{ into *[]string }

func (h collectHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h collectHook) Fire(e *logrus.Entry) error {
	*h.into = append(*h.into, e.Message)
	return nil
}
