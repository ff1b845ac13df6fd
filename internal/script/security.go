package script

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"keepalived-go/internal/errno"
)

// Flags mirror keepalived's SC_* script check results.
type Flags uint

const (
	FlagInsecure   Flags = 0x01 // some path element is unsafe
	FlagIsScript   Flags = 0x02 // a file to exec was found
	FlagInhibit    Flags = 0x04 // must not run
	FlagNotFound   Flags = 0x08 // missing or not accessible
	FlagExecutable Flags = 0x10 // executable by the script's uid/gid
	FlagExecable   Flags = 0x20 // may be exec'd directly (always, without libmagic)
	FlagSystem     Flags = 0x40 // "</file" test, run by /bin/sh
)

// Sentinel errors of CheckSecurity's report.
var (
	ErrNotFound      = errors.New("script not found or not accessible")
	ErrInsecure      = errors.New("script insecure")
	ErrNotExecutable = errors.New("script not executable")
)

// SecurityCheck is the input of CheckSecurity.
type SecurityCheck struct {
	Argv           []string
	UID, GID       uint32 // who the script runs as
	OurUID, OurGID uint32 // keepalived's own euid/egid
	ScriptSecurity bool   // enable_script_security
	// Path is searched for a bare command name; "" uses $PATH, or
	// "/bin:/usr/bin" when that is unset (glibc's _CS_PATH).
	Path string
}

// SecurityReport is what keepalived concludes about one script.
type SecurityReport struct {
	Flags Flags
	// Argv is what will be exec'd: argv[0] replaced by the PATH search
	// result and by the resolved path (symlinks and ./.. removed, the
	// file name kept when it names the same file).
	Argv []string
	// Messages are keepalived's log lines, in its order and wording.
	Messages []string
}

// Usable reports whether a notify script survives the check (keepalived
// frees notify scripts that are inhibited, not found or not executable).
func (r SecurityReport) Usable() bool {
	if r.Flags&FlagSystem != 0 {
		return true
	}
	return r.Flags&(FlagInhibit|FlagNotFound) == 0 && r.Flags&FlagExecutable != 0
}

// Err is nil for a usable script, else an error wrapping one of the
// sentinels, with keepalived's messages as text.
func (r SecurityReport) Err() error {
	if r.Usable() {
		return nil
	}
	s := ErrNotExecutable
	switch {
	case r.Flags&FlagNotFound != 0:
		s = ErrNotFound
	case r.Flags&FlagInhibit != 0:
		s = ErrInsecure
	}
	return fmt.Errorf("%w: %s", s, strings.Join(r.Messages, "; "))
}

// CheckSecurity runs keepalived 2.2.7's check_script_secure() on one
// script: PATH search for bare names, resolution of the path, the
// executable test for the script's uid/gid, and, when the script runs as
// root (uid or gid 0, or set-uid/gid root), the walk over every path
// element refusing anything not owned by root, or group-writable by a
// non-root group, or world-writable (directories with the sticky bit
// excepted). With ScriptSecurity an unsafe script is inhibited; without it
// only logged. It reads the file system but changes nothing.
//
// Where keepalived switches its euid to the script user to resolve the
// path, we resolve as ourselves and then test search permission of each
// directory for the script's uid/gid (supplementary groups ignored).
func CheckSecurity(c SecurityCheck) SecurityReport {
	r := SecurityReport{Argv: append([]string(nil), c.Argv...)}
	logf := func(f string, a ...any) { r.Messages = append(r.Messages, fmt.Sprintf(f, a...)) }
	if len(r.Argv) == 0 || r.Argv[0] == "" {
		r.Flags = FlagNotFound
		return r
	}
	if IsFileTest(r.Argv) {
		r.Flags = FlagSystem
		return r
	}
	if !strings.Contains(r.Argv[0], "/") {
		found, errno := findPath(r.Argv[0], c)
		if errno != 0 {
			if errno == syscall.EACCES {
				logf("Permissions failure for script %s in path - disabling", r.Argv[0])
			} else {
				logf("Cannot find script %s in path - disabling", r.Argv[0])
			}
			r.Flags = FlagNotFound
			return r
		}
		logf("WARNING - script `%s` resolved by path search to `%s`. Please specify full path.", r.Argv[0], found)
		r.Argv[0] = found
	}

	orig := r.Argv[0]
	newPath, err := realpathAs(orig, c.UID, c.GID)
	if err != nil {
		logf("Script %s cannot be accessed - %s", orig, errno.Text(err))
		r.Flags = FlagNotFound
		return r
	}
	realFile := ""
	if orig != newPath {
		origBase := orig[strings.LastIndexByte(orig, '/')+1:]
		newBase := newPath[strings.LastIndexByte(newPath, '/')+1:]
		if origBase != newBase {
			// Keep the name the script was called by (some programs
			// behave by it) when it names the same file.
			realFile = newPath
			candidate := newPath[:len(newPath)-len(newBase)] + origBase
			ri, errReal := os.Stat(realFile)
			ci, errCand := os.Stat(candidate)
			if errReal == nil && (errCand != nil || !os.SameFile(ri, ci)) {
				candidate = realFile
				realFile = ""
			}
			newPath = candidate
		}
		r.Argv[0] = newPath
	}

	statPath := r.Argv[0]
	if realFile != "" {
		statPath = realFile
	}
	var st syscall.Stat_t
	if err := syscall.Stat(statPath, &st); err != nil {
		logf("Unable to access script `%s` - disabling", r.Argv[0])
		r.Flags = FlagNotFound
		return r
	}
	r.Flags = FlagIsScript
	protect := false
	if isExecutable(&st, c.UID, c.GID) {
		r.Flags |= FlagExecutable
		mode := st.Mode
		if c.UID == 0 || c.GID == 0 ||
			(st.Uid == 0 && mode&syscall.S_IXUSR != 0 && mode&syscall.S_ISUID != 0) ||
			(st.Gid == 0 && mode&syscall.S_IXGRP != 0 && mode&syscall.S_ISGID != 0) {
			protect = true
		}
	} else {
		logf("WARNING - script '%s' is not executable for uid:gid %d:%d - disabling.", r.Argv[0], c.UID, c.GID)
	}
	r.Flags |= FlagExecable
	if !protect {
		return r
	}
	r.Flags |= checkPathSecurity(r.Argv[0], c.ScriptSecurity, logf)
	if realFile != "" {
		r.Flags |= checkPathSecurity(realFile, c.ScriptSecurity, logf)
	}
	return r
}

// checkPathSecurity walks "/", "/a", "/a/b", ... name without following
// symlinks, as keepalived's check_security() does.
func checkPathSecurity(name string, scriptSecurity bool, logf func(string, ...any)) Flags {
	var prefixes []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			if i == 0 {
				prefixes = append(prefixes, "/")
			} else {
				prefixes = append(prefixes, name[:i])
			}
		}
	}
	prefixes = append(prefixes, name)
	for k, p := range prefixes {
		last := k == len(prefixes)-1
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			switch en := syscall.Errno(errno.Of(err)); en {
			case syscall.EACCES, syscall.ELOOP, syscall.ENOENT, syscall.ENOTDIR:
				logf("check_script_secure could not find script '%s' - disabling", name)
			default:
				logf("check_script_secure('%s') returned errno %d - %s - disabling", name, int(en), errno.Text(err))
			}
			return FlagNotFound
		}
		ft := st.Mode & syscall.S_IFMT
		isDir, isReg, isLnk := ft == syscall.S_IFDIR, ft == syscall.S_IFREG, ft == syscall.S_IFLNK
		if (!last && !isDir) || (last && !isReg && !isLnk) {
			logf("Wrong file type found in script path '%s'.", name)
			return FlagInhibit
		}
		writable := (st.Gid != 0 && st.Mode&syscall.S_IWGRP != 0) || st.Mode&syscall.S_IWOTH != 0
		if st.Uid != 0 || (((isDir && st.Mode&syscall.S_ISVTX == 0) || isReg) && writable) {
			suffix := ""
			if scriptSecurity {
				suffix = " - disabling"
			}
			logf("Unsafe permissions found for script '%s'%s.", name, suffix)
			if scriptSecurity {
				return FlagInsecure | FlagInhibit
			}
			return FlagInsecure
		}
	}
	return 0
}

func isExecutable(st *syscall.Stat_t, uid, gid uint32) bool {
	m := st.Mode
	switch {
	case uid == 0:
		return m&(syscall.S_IXUSR|syscall.S_IXGRP|syscall.S_IXOTH) != 0
	case uid == st.Uid:
		return m&syscall.S_IXUSR != 0
	case gid == st.Gid:
		return m&syscall.S_IXGRP != 0
	}
	return m&syscall.S_IXOTH != 0
}

// canSearch reports whether uid/gid may traverse directory dir.
func canSearch(dir string, uid, gid uint32) bool {
	if uid == 0 {
		return true
	}
	var st syscall.Stat_t
	if syscall.Stat(dir, &st) != nil {
		return false
	}
	switch {
	case uid == st.Uid:
		return st.Mode&syscall.S_IXUSR != 0
	case gid == st.Gid:
		return st.Mode&syscall.S_IXGRP != 0
	}
	return st.Mode&syscall.S_IXOTH != 0
}

// realpathAs resolves name like realpath(3) and fails with EACCES when
// uid/gid could not reach it.
func realpathAs(name string, uid, gid uint32) (string, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(resolved); err != nil {
		return "", err
	}
	for d := filepath.Dir(resolved); ; d = filepath.Dir(d) {
		if !canSearch(d, uid, gid) {
			return "", &fs.PathError{Op: "realpath", Path: name, Err: syscall.EACCES}
		}
		if d == "/" || d == "." {
			break
		}
	}
	return resolved, nil
}

// findPath is keepalived's find_path(): the first regular file in PATH
// executable by uid/gid; EACCES when only non-executable ones exist.
func findPath(file string, c SecurityCheck) (string, syscall.Errno) {
	if len(file) > 255 {
		return "", syscall.ENAMETOOLONG
	}
	path := c.Path
	if path == "" {
		var ok bool
		if path, ok = os.LookupEnv("PATH"); !ok {
			path = "/bin:/usr/bin"
		}
	}
	gotEACCES := false
	for _, dir := range strings.Split(path, ":") {
		candidate := file
		if dir != "" {
			candidate = dir + "/" + file
		}
		var st syscall.Stat_t
		if syscall.Stat(candidate, &st) != nil {
			continue
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG || !isExecutable(&st, c.UID, c.GID) {
			gotEACCES = true
			continue
		}
		return candidate, 0
	}
	if gotEACCES {
		return "", syscall.EACCES
	}
	return "", syscall.ENOENT
}

// Script scopes of SecurityViolation.
const (
	ScopeVRRP    = "scripts"
	ScopeChecker = "check scripts"
	ScopeStartup = "start/shutdown scripts"
)

// SecurityViolation returns keepalived's summary line when scripts will run
// without enable_script_security ("" when it has nothing to say). flags is
// the OR of every script's report in the scope.
func SecurityViolation(scope string, flags Flags, scriptSecurity bool) string {
	if scriptSecurity || flags&FlagIsScript == 0 {
		return ""
	}
	extra := ""
	if flags&FlagInsecure != 0 {
		extra = " There are insecure scripts."
	}
	return fmt.Sprintf("SECURITY VIOLATION - %s are being executed but script_security not enabled.%s", scope, extra)
}

// Sentinel errors of user lookups.
var (
	ErrUnknownUser  = errors.New("unknown user")
	ErrUnknownGroup = errors.New("unknown group")
)

// UserDB resolves script users and groups; lookups that fail for a reason
// other than absence return another error.
type UserDB interface {
	LookupUser(name string) (uid, gid uint32, err error) // ErrUnknownUser when absent
	LookupGroup(name string) (gid uint32, err error)     // ErrUnknownGroup when absent
}

// OSUserDB looks users and groups up with os/user.
type OSUserDB struct{}

// LookupUser implements UserDB.
func (OSUserDB) LookupUser(name string) (uint32, uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			return 0, 0, ErrUnknownUser
		}
		return 0, 0, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("bad ids for user %s", name)
	}
	return uint32(uid), uint32(gid), nil
}

// LookupGroup implements UserDB.
func (OSUserDB) LookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		var unk user.UnknownGroupError
		if errors.As(err, &unk) {
			return 0, ErrUnknownGroup
		}
		return 0, err
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad gid for group %s", name)
	}
	return uint32(gid), nil
}

// ResolveUserGroup is keepalived's set_uid_gid(): the user's uid and
// primary gid, the gid replaced by group's when group is not "". The
// messages are keepalived's log lines on failure.
func ResolveUserGroup(db UserDB, username, group string) (uid, gid uint32, msgs []string, err error) {
	uid, gid, err = db.LookupUser(username)
	if err != nil {
		if errors.Is(err, ErrUnknownUser) {
			return 0, 0, []string{fmt.Sprintf("Script user '%s' does not exist", username)}, err
		}
		return 0, 0, []string{fmt.Sprintf("Unable to resolve script username '%s' - ignoring", username)}, err
	}
	if group != "" {
		g, err := db.LookupGroup(group)
		if err != nil {
			if errors.Is(err, ErrUnknownGroup) {
				return 0, 0, []string{fmt.Sprintf("Script group '%s' does not exist", group)}, err
			}
			return 0, 0, []string{fmt.Sprintf("Unable to resolve script group name '%s' - ignoring", group)}, err
		}
		gid = g
	}
	return uid, gid, nil, nil
}

// DefaultUserName is the user keepalived runs scripts as by default.
const DefaultUserName = "keepalived_script"

// ErrNoDefaultUser: scripts without an explicit user cannot run.
var ErrNoDefaultUser = errors.New("no default script user")

// DefaultUser is the outcome of ResolveDefaultUser.
type DefaultUser struct {
	UID, GID uint32
	// Messages are keepalived's log lines; ConfigErrors its config errors
	// (which make `keepalived -t` fail).
	Messages, ConfigErrors []string
}

// ResolveDefaultUser decides who runs scripts that name no user, as
// keepalived 2.2.7 does: the global script_user [group] when configured
// (a failure there leaves no default at all); otherwise keepalived_script
// when it exists; otherwise keepalived's own uid/gid (normally root), which
// enable_script_security refuses.
func ResolveDefaultUser(db UserDB, scriptUser, scriptGroup string, scriptSecurity bool, ourUID, ourGID uint32) (DefaultUser, error) {
	var su DefaultUser
	if scriptUser != "" {
		uid, gid, msgs, err := ResolveUserGroup(db, scriptUser, scriptGroup)
		su.Messages = msgs
		if err != nil {
			su.ConfigErrors = append(su.ConfigErrors, "Error setting global script uid/gid")
			return su, fmt.Errorf("%w: %w", ErrNoDefaultUser, err)
		}
		su.UID, su.GID = uid, gid
		return su, nil
	}
	uid, gid, msgs, err := ResolveUserGroup(db, DefaultUserName, "")
	su.Messages = msgs
	if err != nil {
		if scriptSecurity {
			su.ConfigErrors = append(su.ConfigErrors, "Unable to set default user "+DefaultUserName+" for script")
			return su, fmt.Errorf("%w: %w", ErrNoDefaultUser, err)
		}
		su.UID, su.GID = ourUID, ourGID
		return su, nil
	}
	su.UID, su.GID = uid, gid
	return su, nil
}

// UserMessage is keepalived's line for a script dropped because its
// user cannot be set: explicit says whether the script named its own user.
// kind is the script's type as keepalived names it ("notify", or
// "notify_fifo" / "vrrp_notify_fifo" / "lvs_notify_fifo", "startup" ...).
func UserMessage(kind, argv0 string, explicit bool) string {
	if explicit {
		return fmt.Sprintf("Invalid user/group for %s script %s - ignoring", kind, argv0)
	}
	return fmt.Sprintf("Failed to set default user for %s script %s - ignoring", kind, argv0)
}
