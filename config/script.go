package config

import "keepalived-go/internal/script"

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

// ResolveScripts decides once, for the whole configuration, how each of
// its scripts runs: argv, user and group, and keepalived's security check
// (script.Resolver), and keeps the answer in each Script's Cmd, where the
// engines and the dumps read it. A vrrp_script's `user` keyword names its
// user over the one on its `script` line.
func (c *Config) ResolveScripts(r *script.Resolver) {
	c.ScriptUser = nil
	if def, err := r.Default(); err == nil {
		c.ScriptUser = &def
	}
	resolve := func(s *Script, user, group string) {
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
		if s.Cmd == nil && (s.Raw != "" || s.Command != "") {
			resolve(s, "", "")
		}
	}
}
