package main

import (
	"fmt"

	"keepalived-go/config"
	"keepalived-go/internal/script"
	"keepalived-go/notify"
)

// resolveScripts decides, once per loaded configuration, how each of its
// scripts runs (config.ResolveScripts: split, user, keepalived's security
// check), and returns what keepalived logs about them. Everything that runs
// or shows a script reads that result.
func resolveScripts(cfg *config.Config) []string {
	g := &cfg.Global
	r := script.NewResolver(nil, g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity)
	lines := cfg.ResolveScripts(r)
	for s := range cfg.AllScripts() {
		if s.Cmd != nil {
			lines = append(lines, s.Cmd.Messages...)
		}
	}
	return lines
}

// runnable is a resolved script for notify, nil when there is none or it
// may not run.
func runnable(s *config.Script) *notify.Script {
	if s == nil {
		return nil
	}
	r := s.Resolved()
	if !r.Usable() {
		return nil
	}
	return &notify.Script{Argv: r.Cmd.Argv, UID: r.Cmd.UID, GID: r.Cmd.GID}
}

// insecureScripts resolves the scripts of a config as the daemon would and
// returns keepalived's messages for the scripts a non-root user could
// change, so that --config-test reports what the running daemon would
// refuse or warn about (keepalived's own -t does not look).
func insecureScripts(cfg *config.Config) []string {
	resolveScripts(cfg)
	var lines []string
	seen := map[*config.Script]bool{}
	report := func(s *config.Script) {
		if seen[s] || !s.Cmd.Insecure() {
			return
		}
		seen[s] = true
		for _, m := range s.Cmd.Messages {
			lines = append(lines, fmt.Sprintf("(%s: Line %d) %s", s.Pos.File, s.Pos.Line, m))
		}
	}
	for _, s := range cfg.InsecureScripts {
		report(s)
	}
	for s := range cfg.AllScripts() {
		report(s)
	}
	return lines
}
