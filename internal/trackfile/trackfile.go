// Package trackfile is keepalived's track_file reading (trackers/
// track_file.c): where a tracked file really is (realpath, or its
// resolved directory when the file does not exist yet), the number it
// holds, and an inotify watch on its directory reporting the file
// written, moved in, moved away or deleted. It knows nothing of what the
// number does: the VRRP engine (and the checkers) weigh it.
package trackfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"keepalived-go/internal/cnum"

	"golang.org/x/sys/unix"
)

// ErrNoDir: neither the file nor its directory exists (keepalived: "Track
// file directory for %s does not exist - removing").
var ErrNoDir = errors.New("track file directory does not exist")

// Resolve is init_track_files' path resolution: the file's real path when
// it exists (symlinks resolved, so the watch is on the target's
// directory), else the file's name in its directory's real path. exists
// says the file was there.
func Resolve(path string) (resolved string, exists bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, true, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	dir, name := filepath.Split(abs)
	rdir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", false, ErrNoDir
	}
	if st, err := os.Stat(rdir); err != nil || !st.IsDir() {
		return "", false, ErrNoDir
	}
	return filepath.Join(rdir, name), false, nil
}

// InvalidError is a number outside keepalived's range (errno set by
// strtol, or beyond [INT32_MIN, INT32_MAX+1]): keepalived logs it and
// keeps the previous value.
type InvalidError struct {
	Value int64
	Path  string
}

func (e *InvalidError) Error() string {
	// keepalived's wording.
	return fmt.Sprintf("Invalid number %d read from %s - ignoring", e.Value, e.Path)
}

// Read is process_track_file's read: at most 127 bytes, parsed as
// strtol(buf, NULL, 0) does (leading blanks, sign, 0x/0 prefixes, up to
// the first character that is not a digit; nothing numeric reads 0). A
// file that cannot be opened, or is empty, reads 0.
func Read(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	b := make([]byte, 127)
	n, _ := f.Read(b)
	if n <= 0 {
		return 0, nil
	}
	v, ok := Parse(string(b[:n]))
	if !ok {
		return 0, &InvalidError{Value: v, Path: path}
	}
	return v, nil
}

// Parse is strtol(s, NULL, 0) with keepalived's range check: ok is false
// when the number overflows or lies outside [INT32_MIN, INT32_MAX+1]; v
// is then what strtol returned.
func Parse(s string) (v int64, ok bool) {
	v, _, erange := cnum.Strtol(s, 0)
	return v, !erange && v >= math.MinInt32 && v <= math.MaxInt32+1
}

// Event is what happened to a watched directory's entry.
type Event struct {
	WD   int
	Name string
	// Gone: moved away or deleted (keepalived then takes the value as
	// 0); otherwise written and closed, or moved in (read it again).
	Gone bool
	// Unknown is the mask of an event that is none of those (keepalived
	// logs "Unknown inotify event 0x%x"); 0 for the others.
	Unknown uint32
}

// Watcher is keepalived's inotify descriptor: directories watched for
// IN_CLOSE_WRITE, IN_DELETE and IN_MOVE. Its descriptor is non-blocking,
// for the owner's epoll set.
type Watcher struct {
	fd  int
	buf []byte
}

// NewWatcher opens the inotify descriptor.
func NewWatcher() (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	return &Watcher{fd: fd, buf: make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))}, nil
}

// FD is the descriptor to wait on.
func (w *Watcher) FD() int { return w.fd }

// Watch adds dir (watching one directory twice gives the same wd).
func (w *Watcher) Watch(dir string) (int, error) {
	wd, err := unix.InotifyAddWatch(w.fd, dir, unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE)
	if err != nil {
		return -1, os.NewSyscallError("inotify_add_watch", err)
	}
	return wd, nil
}

// Read returns the events waiting, without blocking (none: nil, nil).
// Directory entries are skipped, as keepalived skips IN_ISDIR.
func (w *Watcher) Read() ([]Event, error) {
	var out []Event
	for {
		n, err := unix.Read(w.fd, w.buf)
		if errors.Is(err, unix.EAGAIN) {
			return out, nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return out, os.NewSyscallError("inotify read", err)
		}
		if n < unix.SizeofInotifyEvent {
			return out, fmt.Errorf("inotify read() returned short length %d", n)
		}
		out = append(out, decode(w.buf[:n])...)
	}
}

// decode splits a read of inotify events (struct inotify_event: wd,
// mask, cookie, len, then len bytes of NUL-padded name).
func decode(b []byte) []Event {
	var out []Event
	for len(b) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:]))
		mask := binary.NativeEndian.Uint32(b[4:])
		end := unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:]))
		if end > len(b) {
			break
		}
		name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:end]), "\x00")
		b = b[end:]
		switch {
		case mask&unix.IN_ISDIR != 0:
		case mask&(unix.IN_DELETE|unix.IN_CLOSE_WRITE|unix.IN_MOVE) == 0:
			out = append(out, Event{WD: int(wd), Name: name, Unknown: mask})
		default:
			out = append(out, Event{WD: int(wd), Name: name, Gone: mask&(unix.IN_MOVED_FROM|unix.IN_DELETE) != 0})
		}
	}
	return out
}

// Close closes the descriptor (every watch goes with it).
func (w *Watcher) Close() error { return unix.Close(w.fd) }
