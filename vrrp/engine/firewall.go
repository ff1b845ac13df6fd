package engine

import (
	"errors"

	"keepalived-go/config"
	"keepalived-go/vrrp/nftfw"
)

// keepalived 2.2.7's VRRP firewall (vrrp/nftfw): the owner calls it
// synchronously where keepalived does. SetVIPs(true) right before a
// becoming-MASTER's addresses are added and SetVIPs(false) right after
// they are removed (vrrp_handle_accept_mode); VMACUp/VMACDown after a
// use_vmac interface is made or removed; Reload with the new
// configuration; Stop and Close when the engine stops, also with
// --dont-release-vrrp (firewall_fini).

// Firewall is nftfw.Firewall.
type Firewall interface {
	SetVIPs(name string, on bool) error
	VMACUp(name string) error
	VMACDown(name string) error
	Reload(s nftfw.Settings, instances []nftfw.Instance) error
	Stop() error
	Close() error
}

var _ Firewall = (*nftfw.Firewall)(nil)

// ErrTableName is a reload that changes the nftables table name, which
// keepalived refuses.
var ErrTableName = errors.New("Cannot change nftables table name at a reload - please restart keepalived")

// ErrLocalIGMP is a reload that changes vrrp_disable_local_igmp.
var ErrLocalIGMP = errors.New("Cannot change disable_local_igmp at a reload - please restart keepalived")

// openFirewall opens the firewall when the configuration names a table
// (nftables, or the "keepalived" one strict mode, no_accept or use_vmac
// imply).
func (e *Engine) openFirewall() {
	if e.kern.fw != nil {
		return
	}
	if e.opts.Firewall != nil {
		e.kern.fw = e.opts.Firewall
		_, ins := nftfw.FromConfig(e.cfg)
		e.kern.fwNames = fwNames(ins)
		return
	}
	if e.cfg.Global.NFTables == "" {
		return
	}
	s, ins := nftfw.FromConfig(e.cfg)
	fw, err := nftfw.New(s, ins, nftfw.Options{Log: e.log})
	if err != nil {
		e.log.Errorf("Unable to open nftables: %v", err)
		return
	}
	e.kern.fw = fw
	e.kern.fwNames = fwNames(ins)
}

func fwNames(ins []nftfw.Instance) map[string]bool {
	m := map[string]bool{}
	for _, in := range ins {
		m[in.Name] = true
	}
	return m
}

func (e *Engine) fwErr(err error) {
	if err != nil {
		e.actErrs++
		e.log.Errorf("%v", err)
	}
}

// firewallVIPs is vrrp_handle_accept_mode.
func (e *Engine) firewallVIPs(m *inst, on bool) {
	if e.kern.fw == nil || !e.kern.fwNames[m.cfg.Name] {
		return // a reload already took the instance out
	}
	if e.opts.LogDetail && m.cfg.Priority != 255 && (m.cfg.Accept == nil || !*m.cfg.Accept) {
		verb := "remov"
		if on {
			verb = "sett"
		}
		e.log.Infof("(%s) %sing firewall drop rule", m.cfg.Name, verb)
	}
	e.fwErr(e.kern.fw.SetVIPs(m.cfg.Name, on))
}

func (e *Engine) firewallVMAC(m *inst, up bool) {
	if e.kern.fw == nil || m.vmac == "" || !e.kern.fwNames[m.cfg.Name] {
		return
	}
	if up {
		e.fwErr(e.kern.fw.VMACUp(m.cfg.Name))
	} else {
		e.fwErr(e.kern.fw.VMACDown(m.cfg.Name))
	}
}

// reloadCheck refuses what keepalived refuses at a reload (main.c
// reload_config), before anything changes.
func (e *Engine) reloadCheck(cfg *config.Config) error {
	var err error
	switch {
	case cfg.Global.NFTables != e.cfg.Global.NFTables:
		err = ErrTableName
	case cfg.Global.DisableLocalIGMP != e.cfg.Global.DisableLocalIGMP:
		err = ErrLocalIGMP
	}
	if err != nil {
		e.log.Info(err.Error())
	}
	return err
}

// firewallReload hands the firewall the new configuration.
func (e *Engine) firewallReload(cfg *config.Config) {
	if e.kern.fw == nil {
		return
	}
	s, ins := nftfw.FromConfig(cfg)
	e.fwErr(e.kern.fw.Reload(s, ins))
	e.kern.fwNames = fwNames(ins)
}

// stopFirewall is firewall_fini.
func (e *Engine) stopFirewall() {
	if e.kern.fw == nil {
		return
	}
	e.fwErr(e.kern.fw.Stop())
	e.kern.fw.Close()
	e.kern.fw = nil
}
