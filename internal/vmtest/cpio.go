package vmtest

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// entry is one member of an initramfs.
type entry struct {
	mode   uint32 // full st_mode: type bits and permissions
	data   []byte // file contents or symlink target
	source string // host file to read when data is nil and it is a file
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeType    = 0o170000
)

// Archive is an initramfs under construction: a set of paths, written as a
// gzip'd "newc" cpio, the format the kernel unpacks into its rootfs.
type Archive struct {
	entries map[string]entry
}

// NewArchive returns an archive holding the directories every init needs.
func NewArchive() *Archive {
	a := &Archive{entries: map[string]entry{}}
	for _, d := range []string{"bin", "sbin", "dev", "proc", "sys", "tmp", "run", "etc", "lib", "lib64", "usr", "usr/bin", "usr/sbin"} {
		a.Dir(d)
	}
	return a
}

func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

// Dir adds a directory and its parents.
func (a *Archive) Dir(p string) {
	p = clean(p)
	for p != "" && p != "." {
		if _, ok := a.entries[p]; !ok {
			a.entries[p] = entry{mode: modeDir | 0o755}
		}
		p = path.Dir(p)
	}
}

// Bytes adds a file with the given contents and permissions.
func (a *Archive) Bytes(p string, data []byte, perm fs.FileMode) {
	p = clean(p)
	a.Dir(path.Dir(p))
	a.entries[p] = entry{mode: modeFile | uint32(perm.Perm()), data: data}
}

// File adds the host file src at p; it is read when the archive is written.
func (a *Archive) File(p, src string, perm fs.FileMode) {
	p = clean(p)
	a.Dir(path.Dir(p))
	a.entries[p] = entry{mode: modeFile | uint32(perm.Perm()), source: src}
}

// Symlink adds a symbolic link p pointing to target.
func (a *Archive) Symlink(p, target string) {
	p = clean(p)
	a.Dir(path.Dir(p))
	a.entries[p] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// WriteTo writes the gzip'd cpio archive. open reads host files (os.Open
// in production, a map in tests).
func (a *Archive) WriteTo(w io.Writer, open func(string) ([]byte, error)) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	bw := bufio.NewWriter(zw)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range a.entries {
			if !yield(n) {
				return
			}
		}
	})
	ino := uint32(1)
	for _, n := range names {
		e := a.entries[n]
		data := e.data
		if e.mode&modeType == modeFile && data == nil && e.source != "" {
			var err error
			if data, err = open(e.source); err != nil {
				return fmt.Errorf("initramfs %s: %w", n, err)
			}
		}
		if err := writeEntry(bw, n, e.mode, ino, data); err != nil {
			return err
		}
		ino++
	}
	if err := writeEntry(bw, "TRAILER!!!", 0, 0, nil); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// writeEntry writes one newc header, the NUL-terminated name and the data,
// each padded to four bytes.
func writeEntry(w *bufio.Writer, name string, mode, ino uint32, data []byte) error {
	nlink := uint32(1)
	if mode&modeType == modeDir {
		nlink = 2
	}
	fields := []uint32{
		ino, mode, 0, 0, nlink, 0, // ino mode uid gid nlink mtime
		uint32(len(data)), 0, 0, 0, 0, // filesize devmajor devminor rdevmajor rdevminor
		uint32(len(name) + 1), 0, // namesize check
	}
	var hdr strings.Builder
	hdr.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(&hdr, "%08X", f)
	}
	w.WriteString(hdr.String())
	w.WriteString(name)
	w.WriteByte(0)
	pad(w, 110+len(name)+1)
	w.Write(data)
	pad(w, len(data))
	return nil
}

func pad(w *bufio.Writer, n int) {
	for n%4 != 0 {
		w.WriteByte(0)
		n++
	}
}
