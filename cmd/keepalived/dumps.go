package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"keepalived-go/config"
	"keepalived-go/vrrp/trackproc"
)

// keepalived's default umask_val: dump files come out 0600.
const defaultDumpUmask = 0o177

// errNoVRRP: the signal asks for VRRP data and no instance runs
// (keepalived has no VRRP process then and writes nothing).
var errNoVRRP = errors.New("no VRRP instances: nothing to dump")

// writeDump answers SIGUSR1 (keepalived.data, keepalived_parent.data and,
// with virtual servers, keepalived_check.data, with BFD running
// keepalived_bfd.data), SIGUSR2 (keepalived.stats),
// the JSON signal (keepalived.json) and the stats-clear signal (stats
// written, then zeroed), in keepalived 2.2.7's formats and places.
func writeDump(d *daemon, s os.Signal) error {
	d.mu.Lock()
	cfg, v, chk, b, procs := d.cfg, d.vrrp, d.check, d.bfd, d.procs
	d.mu.Unlock()
	if cfg == nil {
		return errors.New("no configuration loaded yet")
	}
	pid := os.Getpid()
	w := dumpWriter{dir: dumpDir(), umask: effectiveUmask(d.opts)}
	ifs, _ := net.Interfaces()
	env := dumpEnv{cfg: cfg, opts: d.opts, now: time.Now(), links: readLinks(), ifaces: ifs, rpFilter: d.linkWatch.rpFilters()}
	switch s {
	case syscall.SIGUSR1:
		d.log.Infof("Printing parent data for process(%d) on signal", pid)
		var errs []error
		errs = append(errs, w.write("keepalived_parent.data", globalDump(env, procParent)))
		if v != nil {
			d.log.Infof("Printing VRRP data for process(%d) on signal", pid)
			if procs != nil {
				ps := procs.Status()
				env.procs = &ps
			}
			errs = append(errs, w.write("keepalived.data", vrrpDataDump(env, v.Status(), v.BFDStates())))
		}
		if chk != nil {
			d.log.Infof("Printing checker data for process(%d) on signal", pid)
			errs = append(errs, w.write("keepalived_check.data", checkDataDump(env, chk.Status())))
		}
		if b != nil {
			if st, bcfg, err := b.Status(); err == nil {
				d.log.Infof("Printing BFD data for process(%d) on signal", pid)
				benv := env
				benv.cfg = bcfg
				errs = append(errs, w.write("keepalived_bfd.data", bfdDataDump(benv, st, b.epoch())))
			}
		}
		return errors.Join(errs...)
	case syscall.SIGUSR2, sigStatsClear:
		if v == nil {
			return errNoVRRP
		}
		clear := s == sigStatsClear
		d.log.Infof("Printing %sVRRP stats for process(%d) on signal", map[bool]string{true: "and clearing "}[clear], pid)
		err := w.write("keepalived.stats", statsDump(v.Status()))
		if clear {
			v.ClearStats()
		}
		return err
	case sigJSON:
		if v == nil {
			return errNoVRRP
		}
		d.log.Infof("Printing VRRP as json for process(%d) on signal", pid)
		snap := v.Status()
		if len(snap.Instances) == 0 {
			return nil
		}
		return w.write("keepalived.json", jsonDump(env, snap))
	}
	return fmt.Errorf("no dump for signal %v", s)
}

// writeVRRPDump writes the VRRP process's keepalived.data ("data") or
// keepalived.stats ("stats", counters zeroed after with clear), as its
// DBus methods do (vrrp_print_data, vrrp_print_stats).
func writeVRRPDump(d *daemon, what string, clear bool) error {
	d.mu.Lock()
	cfg, v := d.cfg, d.vrrp
	d.mu.Unlock()
	if cfg == nil || v == nil {
		return errNoVRRP
	}
	w := dumpWriter{dir: dumpDir(), umask: dumpUmask(d.opts.umask)}
	if what == "data" {
		return w.write("keepalived.data", vrrpDataDump(dumpEnv{cfg: cfg, opts: d.opts, now: time.Now()}, v.Status(), v.BFDStates()))
	}
	err := w.write("keepalived.stats", statsDump(v.Status()))
	if clear {
		v.ClearStats()
	}
	return err
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

// effectiveUmask is keepalived's umask_val: -u, else global_defs umask,
// else 0177.
func effectiveUmask(o options) os.FileMode {
	if o.umaskVal != 0 || o.umaskCmdline {
		return os.FileMode(o.umaskVal) & 0o777
	}
	return dumpUmask(o.umask)
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
	// links and ifaces are the namespace's links when the dump was asked
	// for (ifaces in index order, keepalived's if_queue order).
	links  linkTable
	ifaces []net.Interface
	// rpFilter are the rp_filter values keepalived would have recorded
	// (linkWatch); arpReset counts, per interface, the VMACs on it whose
	// removal restores its ARP settings (reset_arp_config).
	rpFilter map[string]int
	arpReset map[string]int
	// procs is the track_process monitor's state (nil without one).
	procs *trackproc.Snapshot
}

// confWriter is keepalived's conf_write: one formatted line each.
type confWriter struct {
	b bytes.Buffer
	// sa is what keepalived's inet_sockaddrtos last returned: it formats
	// into one static buffer and, for an address of family AF_UNSPEC
	// (inet_ntop fails), returns that buffer unchanged. A BACKUP
	// instance that has heard no master (master_saddr all zero) prints
	// as its "Master router" whatever address the dump formatted last.
	sa string
}

// sockaddr is keepalived's inet_sockaddrtos, static buffer included.
func (c *confWriter) sockaddr(a netip.Addr) string {
	if a.IsValid() {
		c.sa = a.WithZone("").String()
	}
	return c.sa
}

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

// defaultScriptIDs is keepalived's default script user, as the
// configuration's scripts were resolved with.
func defaultScriptIDs(cfg *config.Config) (uint32, uint32, bool) {
	if u := cfg.ScriptUser; u != nil {
		return u.UID, u.GID, true
	}
	return 0, 0, false
}

// scriptArgv is a script's command as keepalived shows it after its
// security check (nil when there is none).
func scriptArgv(s *config.Script) []string {
	if s == nil {
		return nil
	}
	return s.Resolved().Cmd.Argv
}

// scriptArgvAsWritten is a script's argv as the configuration gives it,
// before any security pass resolved its path (the processes that do not
// run it print it so).
func scriptArgvAsWritten(s *config.Script) []string {
	if s == nil {
		return nil
	}
	spec, _ := s.Spec()
	return spec.Argv
}

// scriptIDs is who runs a script: its own user, else the default.
func scriptIDs(cfg *config.Config, s *config.Script) (uint32, uint32) {
	if s != nil && s.Cmd != nil && s.Cmd.Err == nil {
		return s.Cmd.Cmd.UID, s.Cmd.Cmd.GID
	}
	uid, gid, _ := defaultScriptIDs(cfg)
	return uid, gid
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
