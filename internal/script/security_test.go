package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

// securityFixture builds, in a fresh temp dir, the scripts of the security
// tests. Paths leading to it are root-owned and not writable by others
// (t.TempDir under the sticky /tmp).
type securityFixture struct {
	dir                                     string
	safe, worldWritable, inWWDir, otherUser string
	notExec, link, missing                  string
}

func newSecurityFixture(t *testing.T) securityFixture {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (root-owned paths, chown to 65534)")
	}
	dir := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := securityFixture{dir: dir}
	f.safe = mk("safe.sh", 0o755)
	f.worldWritable = mk("ww.sh", 0o777)
	if err := os.Mkdir(filepath.Join(dir, "wwdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "wwdir"), 0o777); err != nil {
		t.Fatal(err)
	}
	f.inWWDir = mk("wwdir/inww.sh", 0o755)
	f.otherUser = mk("other.sh", 0o755)
	if err := os.Chown(f.otherUser, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	f.notExec = mk("noexec.sh", 0o644)
	f.link = filepath.Join(dir, "link.sh")
	if err := os.Symlink("safe.sh", f.link); err != nil {
		t.Fatal(err)
	}
	f.missing = filepath.Join(dir, "missing.sh")
	return f
}

func TestCheckScriptSecurity(t *testing.T) {
	f := newSecurityFixture(t)
	cases := []struct {
		name     string
		argv0    string
		security bool
		flags    Flags
		usable   bool
		argv0Out string
		msgs     []string
		err      error
	}{
		{"safe", f.safe, true, FlagIsScript | FlagExecutable | FlagExecable, true, f.safe, nil, nil},
		{"world writable script", f.worldWritable, true, FlagIsScript | FlagExecutable | FlagExecable | FlagInsecure | FlagInhibit, false, f.worldWritable,
			[]string{"Unsafe permissions found for script '" + f.worldWritable + "' - disabling."}, ErrInsecure},
		{"world writable script, no script security", f.worldWritable, false, FlagIsScript | FlagExecutable | FlagExecable | FlagInsecure, true, f.worldWritable,
			[]string{"Unsafe permissions found for script '" + f.worldWritable + "'."}, nil},
		{"script in world writable dir", f.inWWDir, true, FlagIsScript | FlagExecutable | FlagExecable | FlagInsecure | FlagInhibit, false, f.inWWDir,
			[]string{"Unsafe permissions found for script '" + f.inWWDir + "' - disabling."}, ErrInsecure},
		{"script owned by another user", f.otherUser, true, FlagIsScript | FlagExecutable | FlagExecable | FlagInsecure | FlagInhibit, false, f.otherUser,
			[]string{"Unsafe permissions found for script '" + f.otherUser + "' - disabling."}, ErrInsecure},
		{"not executable", f.notExec, true, FlagIsScript | FlagExecable, false, f.notExec,
			[]string{"WARNING - script '" + f.notExec + "' is not executable for uid:gid 0:0 - disabling."}, ErrNotExecutable},
		{"missing", f.missing, true, FlagNotFound, false, f.missing,
			[]string{"Script " + f.missing + " cannot be accessed - No such file or directory"}, ErrNotFound},
		{"symlink keeps its name", f.link, true, FlagIsScript | FlagExecutable | FlagExecable, true, f.link, nil, nil},
		{"dotdot resolved", f.dir + "/wwdir/../safe.sh", true, FlagIsScript | FlagExecutable | FlagExecable, true, f.safe, nil, nil},
		{"bare name not in path", "kago-no-such-script", true, FlagNotFound, false, "kago-no-such-script",
			[]string{"Cannot find script kago-no-such-script in path - disabling"}, ErrNotFound},
		{"bare name found in path", "safe.sh", true, FlagIsScript | FlagExecutable | FlagExecable, true, f.safe,
			[]string{"WARNING - script `safe.sh` resolved by path search to `" + f.safe + "`. Please specify full path."}, nil},
		{"bare name only non-executable in path", "noexec.sh", true, FlagNotFound, false, "noexec.sh",
			[]string{"Permissions failure for script noexec.sh in path - disabling"}, ErrNotFound},
		{"file test", "</etc/passwd", true, FlagSystem, true, "</etc/passwd", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := CheckSecurity(SecurityCheck{Argv: []string{tc.argv0, "x"}, ScriptSecurity: tc.security, Path: "/nonexistent:" + f.dir})
			if r.Flags != tc.flags {
				t.Errorf("flags %#x, want %#x", r.Flags, tc.flags)
			}
			if r.Usable() != tc.usable {
				t.Errorf("usable %v", r.Usable())
			}
			if r.Argv[0] != tc.argv0Out || r.Argv[1] != "x" {
				t.Errorf("argv %q, want [%s x]", r.Argv, tc.argv0Out)
			}
			if !reflect.DeepEqual(r.Messages, tc.msgs) {
				t.Errorf("messages %q, want %q", r.Messages, tc.msgs)
			}
			if err := r.Err(); !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("Err() = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestCheckScriptSecurityNonRootUser(t *testing.T) {
	f := newSecurityFixture(t)
	// The temp dir is 0700 root: user 65534 cannot reach the script.
	r := CheckSecurity(SecurityCheck{Argv: []string{f.safe}, UID: 65534, GID: 65534, ScriptSecurity: true})
	want := []string{"Script " + f.safe + " cannot be accessed - Permission denied"}
	if r.Flags != FlagNotFound || !reflect.DeepEqual(r.Messages, want) {
		t.Errorf("report %+v", r)
	}
	// Reachable and executable by 65534: not run as root, so no path walk,
	// even for a world-writable script.
	if err := os.Chmod(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(f.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	r = CheckSecurity(SecurityCheck{Argv: []string{f.worldWritable}, UID: 65534, GID: 65534, ScriptSecurity: true})
	if r.Flags != FlagIsScript|FlagExecutable|FlagExecable || len(r.Messages) != 0 {
		t.Errorf("report %+v", r)
	}
}

func TestSecurityViolation(t *testing.T) {
	if got := SecurityViolation(ScopeVRRP, FlagIsScript|FlagInsecure, false); got != "SECURITY VIOLATION - scripts are being executed but script_security not enabled. There are insecure scripts." {
		t.Error(got)
	}
	if got := SecurityViolation(ScopeChecker, FlagIsScript, false); got != "SECURITY VIOLATION - check scripts are being executed but script_security not enabled." {
		t.Error(got)
	}
	if SecurityViolation(ScopeVRRP, FlagIsScript, true) != "" || SecurityViolation(ScopeVRRP, FlagSystem, false) != "" {
		t.Error("unexpected violation")
	}
}

type fakeUserDB struct {
	users  map[string][2]uint32
	groups map[string]uint32
	broken bool
}

func (f fakeUserDB) LookupUser(n string) (uint32, uint32, error) {
	if f.broken {
		return 0, 0, errors.New("nss down")
	}
	u, ok := f.users[n]
	if !ok {
		return 0, 0, ErrUnknownUser
	}
	return u[0], u[1], nil
}

func (f fakeUserDB) LookupGroup(n string) (uint32, error) {
	g, ok := f.groups[n]
	if !ok {
		return 0, ErrUnknownGroup
	}
	return g, nil
}

func TestResolveDefaultUser(t *testing.T) {
	withKS := fakeUserDB{users: map[string][2]uint32{"keepalived_script": {998, 997}, "nobody": {65534, 65534}}, groups: map[string]uint32{"nogroup": 65534}}
	without := fakeUserDB{users: map[string][2]uint32{"nobody": {65534, 65534}}, groups: map[string]uint32{"nogroup": 65534}}
	cases := []struct {
		name         string
		db           UserDB
		user, group  string
		security     bool
		uid, gid     uint32
		msgs, cfgErr []string
		fail         bool
	}{
		{"keepalived_script exists", withKS, "", "", true, 998, 997, nil, nil, false},
		{"fallback to us", without, "", "", false, 0, 0, []string{"Script user 'keepalived_script' does not exist"}, nil, false},
		{"fallback refused by script security", without, "", "", true, 0, 0, []string{"Script user 'keepalived_script' does not exist"},
			[]string{"Unable to set default user keepalived_script for script"}, true},
		{"global script_user", without, "nobody", "", true, 65534, 65534, nil, nil, false},
		{"global script_user and group", withKS, "keepalived_script", "nogroup", true, 998, 65534, nil, nil, false},
		{"unknown script_user", withKS, "ghost", "", false, 0, 0, []string{"Script user 'ghost' does not exist"}, []string{"Error setting global script uid/gid"}, true},
		{"unknown group", withKS, "nobody", "ghosts", false, 0, 0, []string{"Script group 'ghosts' does not exist"}, []string{"Error setting global script uid/gid"}, true},
		{"lookup failure", fakeUserDB{broken: true}, "nobody", "", false, 0, 0, []string{"Unable to resolve script username 'nobody' - ignoring"}, []string{"Error setting global script uid/gid"}, true},
	}
	for _, tc := range cases {
		su, err := ResolveDefaultUser(tc.db, tc.user, tc.group, tc.security, 0, 0)
		if (err != nil) != tc.fail || (err != nil && !errors.Is(err, ErrNoDefaultUser)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if !tc.fail && (su.UID != tc.uid || su.GID != tc.gid) {
			t.Errorf("%s: ids %d:%d", tc.name, su.UID, su.GID)
		}
		if !reflect.DeepEqual(su.Messages, tc.msgs) || !reflect.DeepEqual(su.ConfigErrors, tc.cfgErr) {
			t.Errorf("%s: messages %q / %q", tc.name, su.Messages, su.ConfigErrors)
		}
	}
	if got := UserMessage("notify", "/x", false); got != "Failed to set default user for notify script /x - ignoring" {
		t.Error(got)
	}
	if got := UserMessage("lvs_notify_fifo", "/x", true); got != "Invalid user/group for lvs_notify_fifo script /x - ignoring" {
		t.Error(got)
	}
}

var logStamp = regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: `)

// TestInteropSecurityDebianKeepalived runs Debian's keepalived on a config
// whose notify scripts are the fixture's, with and without
// enable_script_security, and requires its log to hold exactly our
// messages, in our order.
func TestInteropSecurityDebianKeepalived(t *testing.T) {
	nettest.NeedKeepalived(t)
	f := newSecurityFixture(t)
	ns := nettest.OneLinkNS(t, "kago-script")
	// keepalived checks, per instance: backup, master, fault, stop,
	// deleted, generic notify.
	scripts := []struct{ kw, path string }{
		{"notify_backup", f.inWWDir}, {"notify_master", f.worldWritable}, {"notify_fault", f.otherUser},
		{"notify_stop", f.missing}, {"notify_deleted", f.notExec}, {"notify", f.safe},
	}
	for _, security := range []bool{true, false} {
		t.Run(fmt.Sprintf("script_security=%v", security), func(t *testing.T) {
			var want []string
			var flags Flags
			var conf strings.Builder
			conf.WriteString("global_defs {\n  router_id KAGO_SEC\n  script_user root\n")
			if security {
				conf.WriteString("  enable_script_security\n")
			}
			conf.WriteString("}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface dum0\n  virtual_router_id 51\n  priority 100\n" +
				"  advert_int 1\n  virtual_ipaddress {\n    198.51.100.250/32\n  }\n")
			for _, s := range scripts {
				fmt.Fprintf(&conf, "  %s %s\n", s.kw, s.path)
				r := CheckSecurity(SecurityCheck{Argv: []string{s.path}, ScriptSecurity: security})
				want = append(want, r.Messages...)
				flags |= r.Flags
			}
			conf.WriteString("}\n")
			if v := SecurityViolation(ScopeVRRP, flags, security); v != "" {
				want = append(want, v)
			}
			dir := t.TempDir()
			confPath := filepath.Join(dir, "keepalived.conf")
			if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			ka := nettest.StartDaemon(t, nettest.DebianKeepalived, ns, dir, confPath)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if !nettest.Until(ctx, func() bool { return strings.Contains(ka.Out.String(), "Startup complete") }) {
				t.Fatalf("keepalived did not start within 15 s:\n%s", ka.Out.String())
			}
			var got []string
			for _, line := range strings.Split(ka.Out.String(), "\n") {
				msg := logStamp.ReplaceAllString(line, "")
				for _, p := range []string{"Unsafe permissions", "Script ", "WARNING - script", "SECURITY VIOLATION",
					"Cannot find script", "Permissions failure", "check_script_secure", "Wrong file type", "Unable to access script"} {
					if strings.HasPrefix(msg, p) {
						got = append(got, msg)
						break
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("keepalived logged\n %q\nwe say\n %q\nfull log:\n%s", got, want, ka.Out.String())
			}
		})
	}
}
