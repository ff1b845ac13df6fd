package config

import (
	"iter"
	"os"
	"os/exec"
	"strings"

	"keepalived-go/parser"
)

// scriptExists reports whether a configured command names an existing
// executable. keepalived only counts scripts it can find when it decides
// whether script security should have been enabled.
func scriptExists(s *Script) bool {
	if s == nil || s.Command == "" {
		return false
	}
	argv0 := strings.Fields(s.Command)
	if len(argv0) == 0 {
		return false
	}
	name := strings.Trim(argv0[0], "\"'")
	if strings.Contains(name, "/") {
		st, err := os.Stat(name)
		return err == nil && !st.IsDir()
	}
	_, err := exec.LookPath(name)
	return err == nil
}

// checkScriptSecurity reports the one-line SECURITY VIOLATION keepalived
// gives when scripts run but enable_script_security is off, once for the
// VRRP side and once for the checker side.
func (b *builder) checkScriptSecurity() {
	g := &b.cfg.Global
	if g.EnableScriptSecurity {
		return
	}
	any := func(list ...*Script) bool {
		for _, s := range list {
			if scriptExists(s) {
				return true
			}
		}
		return false
	}
	var vrrp []*Script
	for _, s := range b.cfg.Scripts {
		vrrp = append(vrrp, s.Script)
	}
	for _, in := range b.cfg.Instances {
		vrrp = append(vrrp, in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.NotifyDeleted, in.Notify, in.NotifyMasterRxLowerPri)
	}
	for _, sg := range b.cfg.SyncGroups {
		vrrp = append(vrrp, sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify)
	}
	if len(b.cfg.Instances) > 0 {
		vrrp = append(vrrp, g.NotifyFIFO.Script, g.VRRPNotifyFIFO.Script)
	}
	if any(vrrp...) {
		b.reportGlobal(parser.SevSecurity, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
	}
	// Walked in place: a slice of every server's scripts would be the
	// largest allocation of a big file's load, made at its peak.
	chk := func() bool {
		for _, vs := range b.cfg.VirtualServers {
			if any(vs.QuorumUp, vs.QuorumDown) {
				return true
			}
			for _, rs := range vs.RealServers {
				if any(rs.NotifyUp, rs.NotifyDown) {
					return true
				}
				for _, ck := range rs.Checkers {
					if ck.Misc != nil && any(ck.Misc.Path) {
						return true
					}
				}
			}
		}
		return len(b.cfg.VirtualServers) > 0 && any(g.NotifyFIFO.Script, g.LVSNotifyFIFO.Script)
	}
	if chk() {
		b.reportGlobal(parser.SevSecurity, "SECURITY VIOLATION - check scripts are being executed but script_security not enabled.")
	}
}

// AllScripts yields every script the configuration would run (set ones only),
// global ones first, then in the model's order. It walks the model in place,
// which matters on a file with 40,000 real servers.
func (c *Config) AllScripts() iter.Seq[*Script] {
	return func(yield func(*Script) bool) {
		each := func(list ...*Script) bool {
			for _, s := range list {
				if s != nil && !yield(s) {
					return false
				}
			}
			return true
		}
		g := &c.Global
		if !each(g.NotifyFIFO.Script, g.VRRPNotifyFIFO.Script, g.LVSNotifyFIFO.Script, g.StartupScript, g.ShutdownScript) {
			return
		}
		for _, s := range c.Scripts {
			if !each(s.Script) {
				return
			}
		}
		for _, in := range c.Instances {
			if !each(in.NotifyMaster, in.NotifyBackup, in.NotifyFault, in.NotifyStop, in.NotifyDeleted, in.Notify, in.NotifyMasterRxLowerPri) {
				return
			}
		}
		for _, sg := range c.SyncGroups {
			if !each(sg.NotifyMaster, sg.NotifyBackup, sg.NotifyFault, sg.NotifyStop, sg.Notify) {
				return
			}
		}
		for _, vs := range c.VirtualServers {
			if !each(vs.QuorumUp, vs.QuorumDown) {
				return
			}
			for _, rs := range vs.RealServers {
				if !each(rs.NotifyUp, rs.NotifyDown) {
					return
				}
				for _, ck := range rs.Checkers {
					if ck.Misc != nil && !each(ck.Misc.Path) {
						return
					}
				}
			}
		}
	}
}
