package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/sirupsen/logrus"
)

// pidFiles are keepalived's three: parent, VRRP and checker process. We are
// one process, so all hold our pid: scripts that signal any of them keep working.
type pidFiles []string

func defaultPidFiles(o options) pidFiles {
	dir := "/run"
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = "/var/run"
	}
	pick := func(flag, name string) string {
		if flag != "" {
			return flag
		}
		return filepath.Join(dir, name)
	}
	return pidFiles{
		pick(o.pidFile, "keepalived.pid"),
		pick(o.vrrpPidFile, "keepalived_vrrp.pid"),
		pick(o.checkersPidFile, "keepalived_checkers.pid"),
	}
}

// errRunning: a pid file names a live process (or cannot be read).
var errRunning = errors.New("daemon is already running")

// write checks for a running keepalived as keepalived_running() does,
// then writes our pid into each file as pidfile_write() does.
func (p pidFiles) write(log *logrus.Logger) error {
	for _, f := range p {
		if processRunning(f, log) {
			return errRunning
		}
	}
	for _, f := range p {
		if err := writePidFile(f, os.Getpid()); err != nil {
			log.Infof("pidfile_write : Cannot open %s pidfile", f)
			return fmt.Errorf("write pid file %s: %w", f, err)
		}
	}
	return nil
}

func (p pidFiles) remove() {
	for _, f := range p {
		os.Remove(f)
	}
}

// processRunning is keepalived's process_running(): a pid file that
// cannot be parsed is removed and counts as running (keepalived cannot
// tell); one naming a dead process is removed ("zombie pid file") and
// does not. Whatever stood at the path, a file planted by another user
// or a symbolic link, is thus gone before ours is created. The file is
// read through a link, as keepalived's fopen() does.
func processRunning(path string, log *logrus.Logger) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(string(firstField(b)))
	if err != nil || pid <= 0 {
		log.Infof("Error reading pid file %s", path)
		os.Remove(path)
		return true
	}
	if pid == os.Getpid() {
		return false // ours: written before a re-exec into a namespace
	}
	if syscall.Kill(pid, 0) != nil {
		log.Infof("Remove a zombie pid file %s", path)
		os.Remove(path)
		return false
	}
	return true
}

// firstField is what fscanf("%d") reads: the leading number, after
// white space.
func firstField(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\n\r\v\f")
	end := 0
	for end < len(b) && (b[end] >= '0' && b[end] <= '9' || end == 0 && (b[end] == '-' || b[end] == '+')) {
		end++
	}
	return b[:end]
}

// writePidFile is pidfile_write(): never through a symbolic link
// (O_NOFOLLOW), mode 0644 whatever the umask.
func writePidFile(path string, pid int) error {
	old := syscall.Umask(0)
	syscall.Umask(old &^ 0o644)
	fd, err := syscall.Open(path, syscall.O_NOFOLLOW|syscall.O_CREAT|syscall.O_WRONLY|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o644)
	syscall.Umask(old)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), path)
	_, err = fmt.Fprintf(f, "%d\n", pid)
	return errors.Join(err, f.Close())
}
