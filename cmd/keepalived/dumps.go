package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/packet"
)

// keepalived's default umask_val: dump files come out 0600.
const defaultDumpUmask = 0o177

// errNoVRRP: the signal asks for VRRP data and no instance runs
// (keepalived has no VRRP process then and writes nothing).
var errNoVRRP = errors.New("no VRRP instances: nothing to dump")

// writeDump answers SIGUSR1 (keepalived.data, keepalived_parent.data and,
// with virtual servers, keepalived_check.data), SIGUSR2 (keepalived.stats),
// the JSON signal (keepalived.json) and the stats-clear signal (stats
// written, then zeroed), in keepalived 2.2.7's formats and places.
func writeDump(d *daemon, s os.Signal) error {
	d.mu.Lock()
	cfg, v := d.cfg, d.vrrp
	d.mu.Unlock()
	if cfg == nil {
		return errors.New("no configuration loaded yet")
	}
	pid := os.Getpid()
	w := dumpWriter{dir: dumpDir(), umask: dumpUmask(d.opts.umask)}
	env := dumpEnv{cfg: cfg, opts: d.opts, now: time.Now()}
	switch s {
	case syscall.SIGUSR1:
		d.log.Infof("Printing parent data for process(%d) on signal", pid)
		var errs []error
		errs = append(errs, w.write("keepalived_parent.data", globalDump(env, procParent)))
		if v != nil {
			d.log.Infof("Printing VRRP data for process(%d) on signal", pid)
			errs = append(errs, w.write("keepalived.data", vrrpDataDump(env, v.Snapshot())))
		}
		if len(cfg.VirtualServers) > 0 {
			d.mu.Lock()
			chk := d.check
			d.mu.Unlock()
			d.log.Infof("Printing checker data for process(%d) on signal", pid)
			errs = append(errs, w.write("keepalived_check.data", checkDataDump(env, chk)))
		}
		return errors.Join(errs...)
	case syscall.SIGUSR2, sigStatsClear:
		if v == nil {
			return errNoVRRP
		}
		clear := s == sigStatsClear
		d.log.Infof("Printing %sVRRP stats for process(%d) on signal", map[bool]string{true: "and clearing "}[clear], pid)
		err := w.write("keepalived.stats", statsDump(v.Snapshot()))
		if clear {
			v.ClearStats()
		}
		return err
	case sigJSON:
		if v == nil {
			return errNoVRRP
		}
		d.log.Infof("Printing VRRP as json for process(%d) on signal", pid)
		snap := v.Snapshot()
		if len(snap.Instances) == 0 {
			return nil
		}
		return w.write("keepalived.json", jsonDump(env, snap))
	}
	return fmt.Errorf("no dump for signal %v", s)
}

// dumpDir is keepalived's tmp_dir: $TMPDIR when absolute, else /tmp.
func dumpDir() string {
	if t := os.Getenv("TMPDIR"); strings.HasPrefix(t, "/") {
		return t
	}
	return "/tmp"
}

// dumpUmask is -u/--umask when given (keepalived's umask_val), else its
// default 0177.
func dumpUmask(opt string) os.FileMode {
	if opt != "" {
		if m, err := strconv.ParseUint(opt, 0, 32); err == nil {
			return os.FileMode(m) & 0o777
		}
	}
	return defaultDumpUmask
}

// dumpWriter writes dump files as keepalived's fopen_safe does: a fresh
// file created exclusively next to the target (never following a link, so
// nothing an unprivileged user planted is opened or truncated), mode
// 0666 &^ umask, then renamed over the target. A pre-created file or
// symlink at the target is replaced, not written through, and a reader
// holding the old file open never sees the new contents
// (CVE-2018-19044/19045/19046).
type dumpWriter struct {
	dir   string
	umask os.FileMode
}

func (w dumpWriter) write(name string, data []byte) error {
	target := filepath.Join(w.dir, name)
	var f *os.File
	var tmp string
	for range 16 {
		var rnd [4]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return err
		}
		tmp = target + hex.EncodeToString(rnd[:])[:6]
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("Unable to open '%s': %w", target, err)
		}
		f = nil
	}
	if f == nil {
		return fmt.Errorf("Unable to open '%s': no free temporary name", target)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o666 &^ w.umask); err != nil {
		return fail(fmt.Errorf("Unable to change file permission of %s: %w", target, err))
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, target); err != nil {
		return fail(fmt.Errorf("Failed to rename %s to %s: %w", tmp, target, err))
	}
	return f.Close()
}

// dumpEnv is what the text dumps read besides the engine snapshot.
type dumpEnv struct {
	cfg  *config.Config
	opts options
	now  time.Time
}

// confWriter is keepalived's conf_write: one formatted line each.
type confWriter struct{ b bytes.Buffer }

func (c *confWriter) f(format string, a ...any) {
	fmt.Fprintf(&c.b, format, a...)
	c.b.WriteByte('\n')
}

// procKind picks the process whose view global_defs is dumped from:
// keepalived's parent, VRRP and checker processes differ in a few lines.
type procKind int

const (
	procParent procKind = iota
	procVRRP
	procChecker
)

func onOff(b *bool) string {
	if b == nil {
		return "unset"
	}
	if *b {
		return "on"
	}
	return "off"
}

func tf(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// globalDump is dump_global_data for a Debian (2.2.7) build: VRRP, LVS,
// BFD, nftables, SNMP, DBus, track_process and VMAC compiled in.
func globalDump(env dumpEnv, proc procKind) []byte {
	var c confWriter
	writeGlobal(&c, env, proc)
	return c.b.Bytes()
}

func writeGlobal(c *confWriter, env dumpEnv, proc procKind) {
	g := &env.cfg.Global
	c.f("------< Global definitions >------")
	ns := "(default)"
	if env.opts.namespace != "" {
		ns = env.opts.namespace
	}
	c.f(" Network namespace = %s", ns)
	c.f(" Network namespace ipvs = (main namespace)")
	if g.RouterID != "" {
		c.f(" Router ID = %s", g.RouterID)
	}
	if g.SMTPServer != "" {
		c.f(" Smtp server = %s", g.SMTPServer)
		c.f(" Smtp server port = %d", g.SMTPPort)
		if g.SMTPHeloName != "" {
			c.f(" Smtp HELO name = %s", g.SMTPHeloName)
		}
		if g.SMTPConnectTimeout > 0 {
			c.f(" Smtp server connection timeout = %d", secs(g.SMTPConnectTimeout))
		}
		if g.NotificationEmailFrom != "" {
			c.f(" Email notification from = %s", g.NotificationEmailFrom)
			c.f(" Email notification to:")
			for _, e := range g.NotificationEmail {
				c.f("   %s", e)
			}
		}
	}
	c.f(" Default smtp_alert = %s", onOff(g.SMTPAlert))
	c.f(" Default smtp_alert_vrrp = %s", onOff(g.SMTPAlertVRRP))
	c.f(" Default smtp_alert_checker = %s", onOff(g.SMTPAlertChecker))
	c.f(" Checkers log all failures = false")
	c.f(" No test config before reload")
	c.f(" Dynamic interfaces = %s", tf(g.DynamicInterfaces))
	if g.DynamicInterfaces {
		c.f(" Allow interface changes = false")
	}
	if t := g.LVSTimeouts; true {
		if t.TCP > 0 {
			c.f(" LVS TCP timeout = %d", secs(t.TCP))
		}
		if t.TCPFin > 0 {
			c.f(" LVS TCP FIN timeout = %d", secs(t.TCPFin))
		}
		if t.UDP > 0 {
			// keepalived 2.2.7 labels the UDP timeout "TCP" here.
			c.f(" LVS TCP timeout = %d", secs(t.UDP))
		}
	}
	if proc == procVRRP {
		di := g.DefaultInterface
		if di == "" {
			di = "eth0"
		}
		c.f(" Default interface = %s", di)
	}
	c.f(" Disable local IGMP = no")
	if sd := g.LVSSyncDaemon; sd != nil && sd.Interface != "" {
		if sd.Instance != "" {
			c.f(" LVS syncd vrrp instance = %s", sd.Instance)
		}
		c.f(" LVS syncd interface = %s", sd.Interface)
		c.f(" LVS syncd syncid = %d", sd.SyncID)
		if sd.MaxLen > 0 {
			c.f(" LVS syncd maxlen = %d", sd.MaxLen)
		}
		if sd.Group.IsValid() {
			c.f(" LVS mcast group %s", sd.Group)
		}
		if sd.Port > 0 {
			c.f(" LVS syncd mcast port = %d", sd.Port)
		}
		if sd.TTL > 0 {
			c.f(" LVS syncd mcast ttl = %d", sd.TTL)
		}
	}
	c.f(" LVS flush = %s", tf(g.LVSFlush))
	flushStop := "disabled"
	switch strings.ToLower(g.LVSFlushOnStop) {
	case "all", "full":
		flushStop = "full"
	case "vs":
		flushStop = "VS"
	}
	c.f(" LVS flush on stop = %s", flushStop)
	for _, f := range []struct {
		label string
		fifo  config.FIFO
	}{{"Global notify fifo", g.NotifyFIFO}, {"VRRP notify fifo", g.VRRPNotifyFIFO}, {"LVS notify fifo", g.LVSNotifyFIFO}} {
		if f.fifo.Path == "" {
			continue
		}
		uid, gid := scriptIDs(env.cfg, f.fifo.Script)
		c.f(" %s = %s, uid:gid %d:%d", f.label, f.fifo.Path, uid, gid)
		if argv := scriptArgv(f.fifo.Script); argv != nil {
			c.f(" %s script = %s, uid:gid %d:%d", f.label, notify.CmdString(argv), uid, gid)
		}
	}
	c.f(" FIFO write vrrp states on reload = false")
	c.f(" VRRP notify priority changes = false")
	if g.VRRPMcastGroup4.IsValid() {
		c.f(" VRRP IPv4 mcast group = %s", g.VRRPMcastGroup4)
	}
	if g.VRRPMcastGroup6.IsValid() {
		c.f(" VRRP IPv6 mcast group = %s", g.VRRPMcastGroup6)
	}
	c.f(" Gratuitous ARP delay = %d", secs(g.GarpMasterDelay))
	c.f(" Gratuitous ARP repeat = %d", g.GarpMasterRepeat)
	c.f(" Gratuitous ARP refresh timer = %d", secs(g.GarpMasterRefresh))
	c.f(" Gratuitous ARP refresh repeat = %d", g.GarpMasterRefreshRep)
	// Unset lower-priority GARP settings are PARAMETER_UNSET in the parent
	// and checker; the VRRP process has resolved them to the master ones.
	lpDelay, lpRep := "4294967295", "4294967295"
	if g.GarpLowerPrioDelay != nil {
		lpDelay = strconv.FormatInt(secs(*g.GarpLowerPrioDelay), 10)
	} else if proc == procVRRP {
		lpDelay = strconv.FormatInt(secs(g.GarpMasterDelay), 10)
	}
	if g.GarpLowerPrioRepeat != nil {
		lpRep = strconv.Itoa(*g.GarpLowerPrioRepeat)
	} else if proc == procVRRP {
		lpRep = strconv.Itoa(g.GarpMasterRepeat)
	}
	c.f(" Gratuitous ARP lower priority delay = %s", lpDelay)
	c.f(" Gratuitous ARP lower priority repeat = %s", lpRep)
	c.f(" Num adverts before down = %d", g.DownTimerAdverts)
	c.f(" Gratuitous ARP for each secondary VMAC = 0s")
	c.f(" Send advert after receive lower priority advert = %s", tf(!g.LowerPrioNoAdvert))
	c.f(" Send advert after receive higher priority advert = %s", tf(g.HigherPrioSendAdvert))
	c.f(" Gratuitous ARP interval = %f", g.GarpInterval.Seconds())
	c.f(" Gratuitous NA interval = %f", g.GnaInterval.Seconds())
	c.f(" VRRP default protocol version = %d", g.VRRPVersion)
	if g.NFTables != "" {
		c.f(" nftables table name = %s", g.NFTables)
		c.f(" nftables base chain priority = -1")
		c.f(" nftables don't force use ifindex for link local IPv6")
	}
	c.f(" nftables without counters")
	c.f(" libnftnl version 1.2.3")
	c.f(" VRRP check unicast_src = %s", tf(g.VRRPCheckUnicastSrc))
	c.f(" VRRP skip check advert addresses = %s", tf(g.VRRPSkipCheckAdvAddr))
	c.f(" VRRP strict mode = %s", tf(g.VRRPStrict))
	if g.MaxAutoPriority == -1 {
		c.f(" Max auto priority = Disabled")
	} else {
		c.f(" Max auto priority = %d", g.MaxAutoPriority)
	}
	c.f(" Min auto priority delay = 1000000 usecs")
	for _, p := range []string{"VRRP", "Checker", "BFD"} {
		c.f(" %s process priority = 0", p)
		c.f(" %s don't swap = false", p)
		c.f(" %s realtime priority = 0", p)
		c.f(" %s realtime limit = 10000", p)
	}
	c.f(" SNMP vrrp disabled")
	c.f(" SNMP checker disabled")
	c.f(" SNMP RFCv2 disabled")
	c.f(" SNMP RFCv3 disabled")
	c.f(" SNMP traps disabled")
	c.f(" SNMP socket = default (unix:/var/agentx/master)")
	c.f(" DBus disabled")
	c.f(" DBus service name = ")
	c.f(" Script security %s", map[bool]string{true: "enabled", false: "disabled"}[g.EnableScriptSecurity])
	if uid, gid, ok := defaultScriptIDs(env.cfg); ok {
		c.f(" Default script uid:gid %d:%d", uid, gid)
	}
	for _, k := range []string{"vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs",
		"lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"} {
		c.f(" %s = 0", k)
		c.f(" %s_force = 0", k)
	}
	c.f(" rs_init_notifies = 0")
	c.f(" no_checker_emails = 0")
	c.f(" rx_bufs_multiples = 3")
	c.f(" umask = 0%o", uint32(dumpUmask(env.opts.umask)))
}

// defaultScriptIDs is keepalived's default script user: script_user, else
// keepalived_script if it exists, else root.
func defaultScriptIDs(cfg *config.Config) (uint32, uint32, bool) {
	g := &cfg.Global
	def, err := notify.ResolveDefaultScriptUser(notify.OSUserDB{}, g.ScriptUser, g.ScriptGroup, g.EnableScriptSecurity, uint32(os.Geteuid()), uint32(os.Getegid()))
	if err != nil {
		return 0, 0, false
	}
	return def.UID, def.GID, true
}

func scriptArgv(s *config.Script) []string {
	if s == nil || s.Raw == "" {
		return nil
	}
	spec, err := notify.ParseScript(s.Raw)
	if err != nil || len(spec.Argv) == 0 {
		return nil
	}
	return resolveArgv0(spec.Argv)
}

// resolveArgv0 shows the command as keepalived does after its security
// check: the real path of an absolute or PATH-found executable.
func resolveArgv0(argv []string) []string {
	out := append([]string(nil), argv...)
	p := out[0]
	if !strings.HasPrefix(p, "/") {
		if lp, err := lookPath(p); err == nil {
			p = lp
		}
	}
	if rp, err := filepath.EvalSymlinks(p); err == nil && strings.HasPrefix(p, "/") {
		out[0] = rp
	}
	return out
}

func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}

func scriptIDs(cfg *config.Config, s *config.Script) (uint32, uint32) {
	if s != nil && s.User != "" {
		if uid, gid, _, err := notify.ResolveUserGroup(notify.OSUserDB{}, s.User, s.Group); err == nil {
			return uid, gid
		}
	}
	uid, gid, _ := defaultScriptIDs(cfg)
	return uid, gid
}

// stateName is keepalived's get_state_str.
func stateName(s vrrp.State) string {
	switch s {
	case vrrp.StateInit:
		return "INIT"
	case vrrp.StateBackup:
		return "BACKUP"
	case vrrp.StateMaster:
		return "MASTER"
	case vrrp.StateFault:
		return "FAULT"
	}
	return "unknown"
}

// stateNum is keepalived's VRRP_STATE_* value, as in its JSON dump.
func stateNum(s vrrp.State) int {
	switch s {
	case vrrp.StateBackup:
		return 1
	case vrrp.StateMaster:
		return 2
	case vrrp.StateFault:
		return 3
	}
	return 0
}

// ctimeUS is keepalived's ctime_us_r: ctime with microseconds before the year.
func ctimeUS(t time.Time) string {
	return t.Format("Mon Jan _2 15:04:05.000000 2006")
}

func tvString(t time.Time) string {
	if t.IsZero() {
		return fmt.Sprintf("0.000000 (%s)", ctimeUS(time.Unix(0, 0)))
	}
	return fmt.Sprintf("%d.%06d (%s)", t.Unix(), t.Nanosecond()/1000, ctimeUS(t))
}

// formatVIP is keepalived's format_ipaddress.
func formatVIP(v config.VirtualAddress, defDev string, set bool) string {
	var b strings.Builder
	p := v.Prefix
	b.WriteString(p.String())
	if p.Addr().Is4() && v.Broadcast != "" {
		brd := v.Broadcast
		if brd == "-" || brd == "+" {
			brd = broadcastOf(p, brd)
		}
		if brd != "" {
			fmt.Fprintf(&b, " brd %s", brd)
		}
	}
	dev := v.Dev
	if dev == "" {
		dev = defDev
	}
	fmt.Fprintf(&b, " dev %s", dev)
	scope := v.Scope
	if scope == "" {
		scope = "global"
	}
	fmt.Fprintf(&b, " scope %s", scope)
	if v.Label != "" {
		fmt.Fprintf(&b, " label %s", v.Label)
	}
	if v.Peer.IsValid() {
		fmt.Fprintf(&b, " peer %s/%d", v.Peer, p.Bits())
	}
	if v.HomeAddr {
		b.WriteString(" home")
	}
	if v.DAD {
		b.WriteString(" -nodad")
	}
	if v.NoPrefixRoute {
		b.WriteString(" noprefixroute")
	}
	if v.AutoJoin {
		b.WriteString(" autojoin")
	}
	if p.Addr().Is6() {
		b.WriteString(" preferred_lft forever")
	}
	if set {
		b.WriteString(" set")
	}
	return b.String()
}

func broadcastOf(p netip.Prefix, how string) string {
	if !p.Addr().Is4() || p.Bits() >= 31 {
		return ""
	}
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	if how == "+" {
		n |= (1 << (32 - p.Bits())) - 1
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// acceptOn is keepalived's vrrp->accept: on unless strict mode, where
// only an explicit accept turns it on.
func acceptOn(cfg *config.Config, in *config.VRRPInstance) bool {
	if in.Accept != nil {
		return *in.Accept
	}
	return !(in.StrictMode || cfg.Global.VRRPStrict)
}

func strictOn(cfg *config.Config, in *config.VRRPInstance) bool {
	return in.StrictMode || cfg.Global.VRRPStrict
}

// vrrpDataDump is dump_data_vrrp: global_defs as the VRRP process sees
// them, the VRRP topology, socket pool, sync groups, scripts and the
// interfaces keepalived knows.
func vrrpDataDump(env dumpEnv, snap vrrpengine.Snapshot) []byte {
	var c confWriter
	writeGlobal(&c, env, procVRRP)
	cfg := env.cfg
	if len(cfg.StaticAddresses) > 0 {
		c.f("------< Static Addresses >------")
		for _, a := range cfg.StaticAddresses {
			c.f("     %s", formatVIP(a, "", false))
		}
	}
	if len(cfg.StaticRoutes) > 0 {
		c.f("------< Static Routes >------")
		for i := range cfg.StaticRoutes {
			c.f("     %s", cfg.StaticRoutes[i].String())
		}
	}
	if len(cfg.StaticRules) > 0 {
		c.f("------< Static Rules >------")
		for i := range cfg.StaticRules {
			c.f("     %s", cfg.StaticRules[i].String())
		}
	}
	if len(snap.Instances) > 0 {
		c.f("------< VRRP Topology >------")
		for i := range snap.Instances {
			writeInstance(&c, env, &snap.Instances[i])
		}
	}
	if len(snap.Sockets) > 0 {
		c.f("------< VRRP Sockpool >------")
		for _, s := range snap.Sockets {
			c.f(" fd_in %d fd_out = %d", -1, -1)
			c.f("   Interface = %s", s.Interface)
			c.f("   Family = %s", map[bool]string{false: "IPv4", true: "IPv6"}[s.IPv6])
			c.f("   Protocol = %s", map[bool]string{false: "VRRP", true: "AH"}[s.Proto == packet.ProtoAH])
			c.f("   Type = %sicast", map[bool]string{false: "Mult", true: "Un"}[s.Unicast])
			c.f("   Rx buf size = 0")
			c.f("   VRRP instances")
			for _, m := range s.Instances {
				c.f("     %s vrid %d", m.Name, m.VRID)
			}
		}
	}
	if len(cfg.SyncGroups) > 0 {
		c.f("------< VRRP Sync groups >------")
		byName := map[string]*vrrpengine.InstanceSnapshot{}
		for i := range snap.Instances {
			byName[snap.Instances[i].Name] = &snap.Instances[i]
		}
		for _, sg := range cfg.SyncGroups {
			st, nFault, nInit := vrrp.StateInit, 0, 0
			for _, m := range sg.Members {
				if is := byName[m]; is != nil {
					switch is.State {
					case vrrp.StateFault:
						nFault++
					case vrrp.StateInit:
						nInit++
					}
					st = is.State
				}
			}
			c.f(" VRRP Sync Group = %s, %s", sg.Name, stateName(st))
			c.f("   Num member fault %d, num member init %d", nFault, nInit)
			if len(sg.Members) > 0 {
				c.f("   VRRP member instances :")
				for _, m := range sg.Members {
					c.f("     %s", m)
				}
			}
			if sg.TrackingWeight {
				c.f("   sync group tracking weight set")
			}
			c.f("   Using smtp notification = %s", yesNo(sg.SMTPAlert))
			writeTrackRefs(&c, "   Tracked interfaces :", sg.TrackInterfaces, nil)
			writeTrackRefs(&c, "   Tracked scripts :", sg.TrackScripts, cfg)
			writeTrackRefs(&c, "   Tracked files :", sg.TrackFiles, nil)
			writeNotify(&c, cfg, "Backup", sg.NotifyBackup)
			writeNotify(&c, cfg, "Master", sg.NotifyMaster)
			writeNotify(&c, cfg, "Fault", sg.NotifyFault)
			writeNotify(&c, cfg, "Stop", sg.NotifyStop)
			writeNotify(&c, cfg, "Generic", sg.Notify)
		}
	}
	if len(snap.Scripts) > 0 {
		c.f("------< VRRP Scripts >------")
		for _, s := range snap.Scripts {
			sc := s.Config
			c.f(" VRRP Script = %s", s.Name)
			c.f("   Command = %s", notify.CmdString(resolveArgv0OrRaw(s.Argv, sc)))
			c.f("   Interval = %d sec", secs(sc.Interval))
			c.f("   Timeout = %d sec", secs(sc.Timeout))
			c.f("   Weight = %d%s", sc.Weight, map[bool]string{true: " reverse"}[sc.WeightReverse])
			c.f("   Rise = %d", s.Rise)
			c.f("   Fall = %d", s.Fall)
			c.f("   Result = %d", s.Result)
			c.f("   Insecure = %s", yesNo(s.Insecure))
			init := "unknown"
			if s.Init {
				init = "INIT"
				if sc.InitFail {
					init = "INIT/FAILED"
				}
			}
			c.f("   Init state = %s", init)
			c.f("   Status = %s", map[bool]string{true: "GOOD", false: "BAD"}[s.Result >= s.Rise])
			uid, gid := s.UID, s.GID
			if len(s.Argv) == 0 {
				uid, gid = scriptIDs(cfg, sc.Script)
			}
			c.f("   Script uid:gid = %d:%d", uid, gid)
			c.f("   VRRP instances :")
			c.f("   Tracking instances :")
			for _, t := range s.Tracking {
				c.f("     %s, weight %d%s", t.Instance, t.Weight, map[bool]string{true: " reverse"}[t.Reverse])
			}
			c.f("   State = %s", map[bool]string{true: "running", false: "idle"}[s.Running])
		}
	}
	writeInterfaces(&c, cfg, snap)
	return c.b.Bytes()
}

func resolveArgv0OrRaw(argv []string, sc *config.VRRPScript) []string {
	if len(argv) > 0 {
		return resolveArgv0(argv)
	}
	if a := scriptArgv(sc.Script); a != nil {
		return a
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeTrackRefs(c *confWriter, title string, refs []config.TrackRef, cfg *config.Config) {
	if len(refs) == 0 {
		return
	}
	c.f("%s", title)
	for _, r := range refs {
		w, rev := r.Weight, r.Reverse
		if cfg != nil && !r.HasWeight {
			for _, s := range cfg.Scripts {
				if s.Name == r.Name {
					w, rev = s.Weight, s.WeightReverse
				}
			}
		}
		c.f("     %s weight %d%s", r.Name, w, map[bool]string{true: " reverse"}[rev])
	}
}

func writeNotify(c *confWriter, cfg *config.Config, kind string, s *config.Script) {
	argv := scriptArgv(s)
	if argv == nil {
		return
	}
	uid, gid := scriptIDs(cfg, s)
	c.f("   %s state transition script = %s, uid:gid %d:%d", kind, notify.CmdString(argv), uid, gid)
}

// trackedIfaces are an instance's track_interface entries keepalived
// keeps: its own interface is dropped ("Ignoring track_interface ...").
func trackedIfaces(is *vrrpengine.InstanceSnapshot) []config.TrackRef {
	var out []config.TrackRef
	for _, r := range is.Config.TrackInterfaces {
		if r.Name == is.BaseInterface && r.Weight == 0 {
			continue
		}
		out = append(out, r)
	}
	return out
}

func writeInstance(c *confWriter, env dumpEnv, is *vrrpengine.InstanceSnapshot) {
	cfg, in := env.cfg, is.Config
	c.f(" VRRP Instance = %s", is.Name)
	c.f("   VRRP Version = %d", is.Version)
	if is.SyncGroup != "" {
		c.f("   Sync group = %s", is.SyncGroup)
	}
	if is.IPv6 {
		c.f("   Using Native IPv6")
	}
	c.f("   State = %s", stateName(is.State))
	if is.State == vrrp.StateBackup {
		c.f("   Master router = %s", addrOrUnspec(is.MasterAddr))
		c.f("   Master priority = %d", is.MasterPriority)
		if is.Version == 3 {
			c.f("   Master advert int = %.2f sec", is.MasterAdvertInt.Seconds())
		}
	}
	if len(is.UnicastPeers) > 0 {
		c.f("   Flags:")
		c.f("     Using unicast")
	} else {
		c.f("   Flags: none")
	}
	c.f("   Wantstate = %s", stateName(is.WantState))
	c.f("   Number of config faults = 0")
	c.f("   Number of interface and track script faults = %d", len(is.Faults))
	c.f("   Number of track scripts init = %d", is.ScriptsInit)
	c.f("   Last transition = %s", tvString(is.LastTransition))
	if is.Timer.IsZero() {
		c.f("   Read timeout = DISABLED")
	} else {
		c.f("   Read timeout = %s", tvString(is.Timer))
	}
	c.f("   Master down timer = %d usecs", is.MasterDownInterval.Microseconds())
	if is.VMAC != "" {
		c.f("   Use VMAC, i/f name %s, is_up = true, xmit_base = %s", is.VMAC, tf(in.VMACXmitBase))
		c.f("   Interface = %s, vmac on %s", is.VMAC, is.BaseInterface)
	} else {
		c.f("   Interface = %s", is.Interface)
	}
	if in.DontTrackPrimary {
		c.f("   VRRP interface tracking disabled")
	}
	if in.SkipCheckAdvAddr {
		c.f("   Skip checking advert IP addresses")
	}
	if strictOn(cfg, in) {
		c.f("   Enforcing strict VRRP compliance")
	}
	src := "(none)"
	if is.SrcAddr.IsValid() {
		src = is.SrcAddr.String()
	}
	c.f("   Using src_ip = %s%s", src, map[bool]string{true: " (from configuration)"}[is.SrcAddrFromConfig])
	if len(is.UnicastPeers) == 0 {
		if is.IPv6 {
			idx := 0
			if ifi, err := net.InterfaceByName(is.Interface); err == nil {
				idx = ifi.Index
			}
			c.f("   Multicast address %s, ifindex %d", is.McastGroup, idx)
		} else {
			c.f("   Multicast address %s", is.McastGroup)
		}
	}
	c.f("   Gratuitous ARP delay = %d", secs(is.GarpMasterDelay))
	c.f("   Gratuitous ARP repeat = %d", is.GarpMasterRepeat)
	c.f("   Gratuitous ARP refresh = %d", secs(is.GarpMasterRefresh))
	c.f("   Gratuitous ARP refresh repeat = %d", is.GarpMasterRefreshRepeat)
	c.f("   Gratuitous ARP lower priority delay = %d", secs(is.GarpLowerPrioDelay))
	c.f("   Gratuitous ARP lower priority repeat = %d", is.GarpLowerPrioRepeat)
	c.f("   Down timer adverts = %d", is.DownTimerAdverts)
	c.f("   Send advert after receive lower priority advert = %s", tf(!is.LowerPrioNoAdvert))
	c.f("   Send advert after receive higher priority advert = %s", tf(is.HigherPrioSendAdvert))
	c.f("   Virtual Router ID = %d", is.VRID)
	c.f("   Priority = %d", is.BasePriority)
	c.f("   Effective priority = %d", is.EffectivePriority)
	c.f("   Total priority = %d", is.TotalPriority)
	if is.Version == 2 {
		c.f("   Advert interval = %d sec", secs(is.AdvertInt))
	} else {
		c.f("   Advert interval = %d milli-sec", is.AdvertInt.Milliseconds())
		if is.State == vrrp.StateBackup {
			c.f("   Master advert interval = %d milli-sec", is.MasterAdvertInt.Milliseconds())
		}
	}
	c.f("   Accept = %s", map[bool]string{true: "enabled", false: "disabled"}[acceptOn(cfg, in)])
	c.f("   Preempt = %s", map[bool]string{true: "disabled", false: "enabled"}[is.NoPreempt])
	if is.PreemptDelay > 0 {
		c.f("   Preempt delay = %s secs", strconv.FormatFloat(is.PreemptDelay.Seconds(), 'g', 6, 64))
	}
	c.f("   Promote_secondaries = %s", map[bool]string{true: "enabled", false: "disabled"}[in.PromoteSecondaries])
	switch {
	case is.AuthType == packet.AuthAH:
		c.f("   Authentication type = IPSEC_AH")
	case is.AuthType == packet.AuthPass:
		c.f("   Authentication type = SIMPLE_PASSWORD")
		c.f("   Password = %s", is.AuthPass)
	case is.Version == 2:
		c.f("   Authentication type = none")
	}
	if in.Debug > 0 {
		c.f("   Debug level = %d", in.Debug)
	}
	if len(in.VIPs) > 0 {
		c.f("   Virtual IP (%d):", len(in.VIPs))
		for _, v := range in.VIPs {
			c.f("     %s", formatVIP(v, is.Interface, is.VIPSet))
		}
	}
	if len(in.ExcludedVIPs) > 0 {
		c.f("   Virtual IP Excluded :")
		for _, v := range in.ExcludedVIPs {
			c.f("     %s", formatVIP(v, is.Interface, is.VIPSet))
		}
	}
	if len(is.UnicastPeers) > 0 {
		if in.UnicastTTL > 0 {
			c.f("   Unicast TTL = %d", in.UnicastTTL)
		}
		c.f("   Check unicast src : %s", yesNo(cfg.Global.VRRPCheckUnicastSrc))
		c.f("   Unicast Peer :")
		for _, p := range in.UnicastPeers {
			c.f("     %s min_ttl %d max_ttl %d", p.Addr, p.MinTTL, max(p.MaxTTL, 0))
		}
		c.f("   Unicast checksum compatibility = no")
	}
	if is.HasSocket {
		c.f("   fd_in %d, fd_out %d", -1, -1)
	} else {
		c.f("   No sockets allocated")
	}
	if len(in.Routes) > 0 {
		c.f("   Virtual Routes :")
		for _, r := range in.Routes {
			c.f("     %s", r.String())
		}
	}
	if len(in.Rules) > 0 {
		c.f("   Virtual Rules :")
		for _, r := range in.Rules {
			c.f("     %s", r.String())
		}
	}
	writeTrackRefs(c, "   Tracked interfaces :", trackedIfaces(is), nil)
	writeTrackRefs(c, "   Tracked scripts :", in.TrackScripts, cfg)
	writeTrackRefs(c, "   Tracked files :", in.TrackFiles, nil)
	c.f("   Using smtp notification = %s", yesNo(in.SMTPAlert))
	c.f("   Notify deleted = %s", map[bool]string{true: "Deleted", false: "Fault"}[in.NotifyDeleted != nil])
	writeNotify(c, cfg, "Backup", in.NotifyBackup)
	writeNotify(c, cfg, "Master", in.NotifyMaster)
	writeNotify(c, cfg, "Fault", in.NotifyFault)
	writeNotify(c, cfg, "Stop", in.NotifyStop)
	writeNotify(c, cfg, "Deleted", in.NotifyDeleted)
	writeNotify(c, cfg, "Generic", in.Notify)
	writeNotify(c, cfg, "Master rx lower pri", in.NotifyMasterRxLowerPri)
	c.f("   Notify priority changes = %s", tf(in.NotifyPriorityChanges))
}

func addrOrUnspec(a netip.Addr) string {
	if !a.IsValid() {
		return "[unknown]"
	}
	return a.String()
}

// writeInterfaces is dump_interface_queue over the interfaces of the
// current network namespace, as keepalived learns them from netlink.
func writeInterfaces(c *confWriter, cfg *config.Config, snap vrrpengine.Snapshot) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		return
	}
	vips := map[netip.Addr]bool{}
	for _, in := range cfg.Instances {
		for _, v := range append(append([]config.VirtualAddress(nil), in.VIPs...), in.ExcludedVIPs...) {
			vips[v.Prefix.Addr()] = true
		}
	}
	c.f("------< Interfaces >------")
	for _, ifi := range ifs {
		c.f(" Name = %s", ifi.Name)
		c.f("   index = %d", ifi.Index)
		var v4, v6 []netip.Addr
		if addrs, err := ifi.Addrs(); err == nil {
			for _, a := range addrs {
				ipn, ok := a.(*net.IPNet)
				if !ok {
					continue
				}
				ip, ok := netip.AddrFromSlice(ipn.IP)
				if !ok {
					continue
				}
				ip = ip.Unmap()
				if vips[ip] {
					continue
				}
				if ip.Is4() {
					v4 = append(v4, ip)
				} else {
					v6 = append(v6, ip)
				}
			}
		}
		if len(v4) > 0 {
			c.f("   IPv4 address = %s", v4[0])
		} else {
			c.f("   IPv4 address = (none)")
		}
		if len(v4) > 1 {
			c.f("   Additional IPv4 addresses :")
			for _, a := range v4[1:] {
				c.f("     %s", a)
			}
		}
		// keepalived keeps a link-local IPv6 address as the interface's.
		var ll netip.Addr
		for _, a := range v6 {
			if a.IsLinkLocalUnicast() {
				ll = a
				break
			}
		}
		if ll.IsValid() {
			c.f("   IPv6 address = %s", ll)
		} else {
			c.f("   IPv6 address = (none)")
		}
		if len(ifi.HardwareAddr) > 0 {
			c.f("   MAC = %s", ifi.HardwareAddr)
			bc := make([]string, len(ifi.HardwareAddr))
			for i := range bc {
				bc[i] = "ff"
			}
			c.f("   MAC broadcast = %s", strings.Join(bc, ":"))
		}
		fl := ifi.Flags
		var extra strings.Builder
		if fl&net.FlagBroadcast == 0 {
			extra.WriteString(", no broadcast")
		}
		if fl&net.FlagLoopback != 0 {
			extra.WriteString(", loopback")
		}
		if fl&net.FlagPointToPoint != 0 {
			extra.WriteString(", point to point")
		}
		if fl&net.FlagMulticast == 0 {
			extra.WriteString(", no multicast")
		}
		c.f("   State = %sUP, %sRUNNING%s", notIf(fl&net.FlagUp == 0), notIf(fl&net.FlagRunning == 0), extra.String())
		c.f("   Seen up = %d", map[bool]int{true: 1}[fl&net.FlagUp != 0])
		c.f("   Delayed state change running = false")
		c.f("   Up debounce timer = 0us")
		c.f("   Down debounce timer = 0us")
		c.f("   MTU = %d", ifi.MTU)
		switch hw := hwType(ifi); hw {
		case 772:
			c.f("   HW Type = LOOPBACK")
		case 1:
			c.f("   HW Type = ETHERNET")
		default:
			c.f("   HW Type = UNKNOWN (%d)", hw)
		}
		c.f("   NIC netlink status update")
		c.f("   Reset ARP config counter 0")
		c.f("   Original arp_ignore 0")
		c.f("   Original arp_filter 0")
		c.f("   Original promote_secondaries 0")
		c.f("   Reset promote_secondaries counter 0")
		var tracking []string
		for i := range snap.Instances {
			is := &snap.Instances[i]
			if is.Interface == ifi.Name && !is.Config.DontTrackPrimary {
				tracking = append(tracking, fmt.Sprintf("     %s, weight 0", is.Name))
			}
			for _, r := range trackedIfaces(is) {
				if r.Name == ifi.Name {
					tracking = append(tracking, fmt.Sprintf("     %s, weight %d%s", is.Name, r.Weight, map[bool]string{true: " reverse"}[r.Reverse]))
				}
			}
		}
		if len(tracking) > 0 {
			c.f("   Tracking VRRP instances :")
			for _, t := range tracking {
				c.f("%s", t)
			}
		}
	}
}

func notIf(b bool) string {
	if b {
		return "not "
	}
	return ""
}

// hwType is the interface's ARPHRD type from sysfs, guessed from its
// flags and address when sysfs is not the namespace's own.
func hwType(ifi net.Interface) int {
	if b, err := os.ReadFile("/sys/class/net/" + ifi.Name + "/type"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	if ifi.Flags&net.FlagLoopback != 0 {
		return 772
	}
	if len(ifi.HardwareAddr) == 6 {
		return 1
	}
	return 0xffff
}

// statsDump is vrrp_print_stats.
func statsDump(snap vrrpengine.Snapshot) []byte {
	var c confWriter
	for _, is := range snap.Instances {
		s := is.Counters
		c.f("VRRP Instance: %s", is.Name)
		c.f("  Advertisements:")
		c.f("    Received: %d", s.AdvertRcvd)
		c.f("    Sent: %d", uint32(s.AdvertSent))
		c.f("  Became master: %d", uint32(s.BecomeMaster))
		c.f("  Released master: %d", uint32(s.ReleaseMaster))
		c.f("  Packet Errors:")
		c.f("    Length: %d", s.PacketLenErr)
		c.f("    TTL: %d", s.IPTTLErr)
		c.f("    Invalid Type: %d", s.InvalidTypeRcvd)
		c.f("    Advertisement Interval: %d", s.AdvertIntervalErr)
		c.f("    Address List: %d", s.AddrListErr)
		c.f("  Authentication Errors:")
		c.f("    Invalid Type: %d", uint32(s.InvalidAuthType))
		c.f("    Type Mismatch: %d", uint32(s.AuthTypeMismatch))
		c.f("    Failure: %d", uint32(s.AuthFailure))
		c.f("  Priority Zero:")
		c.f("    Received: %d", s.PriZeroRcvd)
		c.f("    Sent: %d", s.PriZeroSent)
	}
	return c.b.Bytes()
}

// jobj writes one JSON object as keepalived's json_writer does: compact,
// '/' escaped, and its backslash quirk kept (a backslash comes out as
// "\n").
type jobj struct {
	b *bytes.Buffer
	n int
}

func (o *jobj) key(k string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	jputs(o.b, k)
	o.b.WriteByte(':')
}

func (o *jobj) raw(k, v string) { o.key(k); o.b.WriteString(v) }
func (o *jobj) uint(k string, v uint64) {
	o.raw(k, strconv.FormatUint(v, 10))
}
func (o *jobj) flag(k string, v bool) { o.uint(k, map[bool]uint64{true: 1}[v]) }
func (o *jobj) boolean(k string, v bool) {
	o.raw(k, map[bool]string{true: "true", false: "false"}[v])
}
func (o *jobj) str(k, v string) { o.key(k); jputs(o.b, v) }
func (o *jobj) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	o.b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			o.b.WriteByte(',')
		}
		jputs(o.b, v)
	}
	o.b.WriteByte(']')
}

func jputs(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '\b':
			b.WriteString(`\b`)
		case '\\':
			b.WriteString(`\n`)
		case '"':
			b.WriteString(`\"`)
		case '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
}

// cG is C's printf %g.
func cG(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	s := strconv.FormatFloat(v, 'g', 6, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		exp := s[i+2:]
		if len(exp) < 2 {
			exp = "0" + exp
		}
		s = s[:i+2] + exp
	}
	return s
}

// jsonDump is vrrp_print_json: one object per instance with its "data"
// and "stats", the file mehdy/keepalived-exporter reads.
func jsonDump(env dumpEnv, snap vrrpengine.Snapshot) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range snap.Instances {
		is := &snap.Instances[i]
		in := is.Config
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		top := jobj{b: &b}
		top.key("data")
		b.WriteByte('{')
		o := jobj{b: &b}
		o.str("iname", is.Name)
		o.flag("dont_track_primary", in.DontTrackPrimary)
		o.flag("skip_check_adv_addr", in.SkipCheckAdvAddr)
		o.flag("strict_mode", strictOn(env.cfg, in))
		o.str("vmac_ifname", is.VMAC)
		o.str("ifp_ifname", is.Interface)
		o.uint("master_priority", uint64(is.MasterPriority))
		lt := 0.0
		if !is.LastTransition.IsZero() {
			lt = float64(is.LastTransition.Unix()) + float64(is.LastTransition.Nanosecond()/1000)/1e6
		}
		o.raw("last_transition", strconv.FormatFloat(lt, 'f', 6, 64))
		o.raw("garp_delay", cG(is.GarpMasterDelay.Seconds()))
		o.uint("garp_refresh", uint64(secs(is.GarpMasterRefresh)))
		o.uint("garp_rep", uint64(is.GarpMasterRepeat))
		o.uint("garp_refresh_rep", uint64(is.GarpMasterRefreshRepeat))
		o.uint("garp_lower_prio_delay", uint64(secs(is.GarpLowerPrioDelay)))
		o.uint("garp_lower_prio_rep", uint64(is.GarpLowerPrioRepeat))
		o.flag("lower_prio_no_advert", is.LowerPrioNoAdvert)
		o.flag("higher_prio_send_advert", is.HigherPrioSendAdvert)
		o.uint("vrid", uint64(is.VRID))
		o.uint("base_priority", uint64(is.BasePriority))
		o.uint("effective_priority", uint64(is.EffectivePriority))
		o.boolean("vipset", is.VIPSet)
		o.boolean("promote_secondaries", in.PromoteSecondaries)
		o.raw("adver_int", cG(is.AdvertInt.Seconds()))
		o.raw("master_adver_int", cG(is.MasterAdvertInt.Seconds()))
		o.flag("accept", acceptOn(env.cfg, in))
		o.boolean("nopreempt", is.NoPreempt)
		o.uint("preempt_delay", uint64(secs(is.PreemptDelay)))
		o.uint("state", uint64(stateNum(is.State)))
		o.uint("wantstate", uint64(stateNum(is.WantState)))
		o.uint("version", uint64(is.Version))
		o.boolean("smtp_alert", in.SMTPAlert)
		o.boolean("notify_deleted", in.NotifyDeleted != nil)
		for _, sc := range []struct {
			k string
			s *config.Script
		}{{"script_backup", in.NotifyBackup}, {"script_master", in.NotifyMaster}, {"script_fault", in.NotifyFault},
			{"script_stop", in.NotifyStop}, {"script_deleted", in.NotifyDeleted}, {"script", in.Notify},
			{"script_master_rx_lower_pri", in.NotifyMasterRxLowerPri}} {
			if argv := scriptArgv(sc.s); argv != nil {
				o.str(sc.k, notify.CmdString(argv))
			}
		}
		var vips, evips, routes, rules, tifs, tscripts []string
		for _, v := range in.VIPs {
			vips = append(vips, formatVIP(v, is.Interface, is.VIPSet))
		}
		for _, v := range in.ExcludedVIPs {
			evips = append(evips, formatVIP(v, is.Interface, is.VIPSet))
		}
		for _, r := range in.Routes {
			routes = append(routes, r.String())
		}
		for _, r := range in.Rules {
			rules = append(rules, r.String())
		}
		for _, r := range trackedIfaces(is) {
			tifs = append(tifs, r.Name)
		}
		for _, r := range in.TrackScripts {
			for _, s := range env.cfg.Scripts {
				if s.Name == r.Name {
					tscripts = append(tscripts, notify.CmdString(scriptArgv(s.Script)))
				}
			}
		}
		o.strs("vips", vips)
		o.strs("evips", evips)
		o.strs("vroutes", routes)
		o.strs("vrules", rules)
		o.strs("track_ifp", tifs)
		o.strs("track_script", tscripts)
		o.uint("auth_type", uint64(is.AuthType))
		if is.AuthType != packet.AuthNone {
			pw := is.AuthPass
			if is.AuthType == packet.AuthAH {
				pw = ""
			}
			o.str("auth_data", pw)
		}
		b.WriteByte('}')
		top.key("stats")
		b.WriteByte('{')
		s := is.Counters
		st := jobj{b: &b}
		st.uint("advert_rcvd", s.AdvertRcvd)
		st.uint("advert_sent", uint64(uint32(s.AdvertSent)))
		st.uint("become_master", uint64(uint32(s.BecomeMaster)))
		st.uint("release_master", uint64(uint32(s.ReleaseMaster)))
		st.uint("packet_len_err", s.PacketLenErr)
		st.uint("advert_interval_err", s.AdvertIntervalErr)
		st.uint("ip_ttl_err", s.IPTTLErr)
		st.uint("invalid_type_rcvd", s.InvalidTypeRcvd)
		st.uint("addr_list_err", s.AddrListErr)
		st.uint("invalid_authtype", uint64(uint32(s.InvalidAuthType)))
		st.uint("authtype_mismatch", uint64(uint32(s.AuthTypeMismatch)))
		st.uint("auth_failure", uint64(uint32(s.AuthFailure)))
		st.uint("pri_zero_rcvd", s.PriZeroRcvd)
		st.uint("pri_zero_sent", s.PriZeroSent)
		b.WriteByte('}')
		b.WriteByte('}')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// checkerHealth is what the checker engine reports per real server.
type checkerHealth interface {
	Snapshot() []check.RealServerEvent
}

// checkDataDump is dump_data_check (keepalived_check.data, written by
// keepalived's checker process): global_defs as that process sees them and
// the virtual servers from the config with the checkers' current view of
// each real server. Fields keepalived keeps only inside its checker
// process (IPVS flags, per-checker internals) are left out.
func checkDataDump(env dumpEnv, chk checkerHealth) []byte {
	var c confWriter
	writeGlobal(&c, env, procChecker)
	health := map[*config.RealServer]check.RealServerEvent{}
	if chk != nil && !isNilChecker(chk) {
		for _, ev := range chk.Snapshot() {
			health[ev.RS] = ev
		}
	}
	if len(env.cfg.VirtualServers) > 0 {
		c.f("------< LVS Topology >------")
		c.f(" System is %s", "IP Virtual Server")
	}
	for _, vs := range env.cfg.VirtualServers {
		c.f(" ------< Virtual server >------")
		switch {
		case vs.Group != "":
			c.f(" VS GROUP = %s", vs.Group)
		case vs.FWMark != 0:
			c.f(" VS FWMARK = %d", vs.FWMark)
		default:
			c.f(" VS VIP = %s, VPORT = %d", vs.Addr, vs.Port)
		}
		if vs.VirtualHost != "" {
			c.f("   VirtualHost = %s", vs.VirtualHost)
		}
		fam := "inet"
		if vs.Addr.Is6() || vs.Family == "inet6" {
			fam = "inet6"
		}
		c.f("   Address family = %s", fam)
		c.f("   connection timeout = %s", decimalSecs(vs.ConnectTimeout))
		c.f("   delay_loop = %s", decimalSecs(vs.DelayLoop))
		c.f("   lvs_sched = %s", vs.Scheduler)
		if vs.PersistenceTimeout > 0 {
			c.f("   persistence timeout = %d", secs(vs.PersistenceTimeout))
		}
		proto := vs.Protocol
		if proto == "" {
			proto = "none"
		}
		c.f("   protocol = %s", proto)
		c.f("   alpha is %s", onOffCaps(vs.Alpha))
		c.f("   omega is %s", onOffCaps(vs.Omega))
		c.f("   Inhibit on failure is %s", onOffCaps(vs.InhibitOnFailure))
		c.f("   quorum = %d, hysteresis = %d", vs.Quorum, vs.Hysteresis)
		if vs.HASuspend {
			c.f("   Using HA suspend")
		}
		c.f("   Using smtp notification = %s", yesNo(vs.SMTPAlert))
		c.f("   default forwarding method = %s", vs.Forwarding)
		if vs.SorryServer != nil {
			c.f("   sorry server = %s", netip.AddrPortFrom(vs.SorryServer.Addr, uint16(vs.SorryServer.Port)))
		}
		for _, rs := range vs.RealServers {
			ev, known := health[rs]
			w := rs.Weight
			if known {
				w = ev.Weight
			}
			c.f("   ------< Real server >------")
			c.f("   RIP = %s, RPORT = %d, WEIGHT = %d EFF WEIGHT = %d", rs.Addr, rs.Port, w, w)
			fwd := rs.Forwarding
			if fwd == "" {
				fwd = vs.Forwarding
			}
			c.f("   forwarding method = %s", fwd)
			c.f("   Alpha is %s", onOffCaps(rs.Alpha))
			c.f("   connection timeout = %s", decimalSecs(rs.ConnectTimeout))
			c.f("   connection limit range = %d -> %d", rs.LThreshold, rs.UThreshold)
			c.f("   Delay loop = %s", decimalSecs(rs.DelayLoop))
			c.f("   Inhibit on failure is %s", onOffCaps(rs.InhibitOnFailure))
			c.f("   Using smtp notification = %s", yesNo(rs.SMTPAlert))
			c.f("   initial weight = %d", rs.Weight)
			c.f("   effective weight = %d", w)
			c.f("   alive = %d", map[bool]int{true: 1}[known && ev.Up])
		}
	}
	return c.b.Bytes()
}

func isNilChecker(c checkerHealth) bool {
	e, ok := c.(*check.Engine)
	return ok && e == nil
}

func onOffCaps(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

// decimalSecs is keepalived's format_decimal with microsecond digits
// trimmed of trailing zeros.
func decimalSecs(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
