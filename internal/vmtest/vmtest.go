// Package vmtest boots Debian's kernel under qemu with a generated
// initramfs, runs a shell script as /init and returns the serial console,
// so tests can exercise kernel features this machine's own kernel lacks
// (IPVS). The VM has no network device: nothing leaves it.
//
// A test typically does:
//
//	vm, err := vmtest.New()            // skip on ErrUnavailable
//	vm.AddModules("ip_vs", "ip_vs_rr") // with their dependencies
//	vm.AddBinary("/usr/sbin/ipvsadm", "") // with its shared libraries
//	console, err := vm.Run(ctx, script)
//	table, _ := vmtest.Section(console, "ipvsadm")
package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable wraps every reason the VM cannot be booted on this host;
// tests skip on it and name the reason.
var ErrUnavailable = errors.New("vmtest unavailable")

// Kernel is a bootable kernel image with its modules.
type Kernel struct {
	Version string // e.g. 6.1.0-56-amd64
	Image   string // /boot/vmlinuz-<Version>
}

// FindKernel returns the newest /boot/vmlinuz-* that has a matching
// /lib/modules directory. The lookup runs once per process.
var FindKernel = sync.OnceValues(findKernel)

func findKernel() (Kernel, error) {
	images, _ := filepath.Glob("/boot/vmlinuz-*")
	slices.Sort(images)
	for i := len(images) - 1; i >= 0; i-- {
		v := strings.TrimPrefix(filepath.Base(images[i]), "vmlinuz-")
		if _, err := os.Stat(filepath.Join("/lib/modules", v, "modules.dep")); err == nil {
			return Kernel{Version: v, Image: images[i]}, nil
		}
	}
	return Kernel{}, fmt.Errorf("%w: no /boot/vmlinuz-* with modules (apt-get install linux-image-amd64)", ErrUnavailable)
}

// Busybox is the static busybox the initramfs runs on.
const Busybox = "/bin/busybox"

// Qemu is the emulator binary.
const Qemu = "qemu-system-x86_64"

// Check reports why a VM cannot be booted here, or nil.
func Check() error {
	if _, err := exec.LookPath(Qemu); err != nil {
		return fmt.Errorf("%w: %s not found (apt-get install qemu-system-x86)", ErrUnavailable, Qemu)
	}
	if _, err := FindKernel(); err != nil {
		return err
	}
	if _, err := exec.LookPath("modprobe"); err != nil {
		return fmt.Errorf("%w: modprobe not found (apt-get install kmod)", ErrUnavailable)
	}
	static, err := isStatic(Busybox)
	if err != nil || !static {
		return fmt.Errorf("%w: %s is not a static binary (apt-get install busybox-static)", ErrUnavailable, Busybox)
	}
	return nil
}

// isStatic reports whether an ELF binary needs no dynamic loader.
func isStatic(p string) (bool, error) {
	f, err := elf.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// KVM reports whether to use hardware acceleration: only when asked with
// VMTEST_ACCEL=kvm and /dev/kvm opens. It is not the default because on
// nested hosts (this project's CI machines) /dev/kvm exists but qemu
// either aborts on MSR setup (-cpu host) or hangs in early boot, while TCG
// boots to a printed table in a few seconds.
func KVM() bool {
	if os.Getenv("VMTEST_ACCEL") != "kvm" {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// VM is one boot: an initramfs being assembled, then run once or more.
type VM struct {
	Kernel  Kernel
	Archive *Archive
	Memory  int // MiB, default 512
	// CPUs is the number of virtual processors (default 1); with more
	// than one, TCG runs them on host threads of their own (MTTCG), so
	// a server and a client in the VM run at the same time, as on a
	// multi-core host.
	CPUs    int
	Timeout time.Duration // whole boot, default 60s (TCG is slow on a busy host)

	modules []string // insmod order, paths inside the VM
	haveMod map[string]bool
}

// New checks the host and returns a VM whose initramfs holds busybox.
func New() (*VM, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	k, _ := FindKernel()
	vm := &VM{Kernel: k, Archive: NewArchive(), Memory: 512, Timeout: 60 * time.Second, haveMod: map[string]bool{}}
	vm.Archive.File("bin/busybox", Busybox, 0o755)
	vm.Archive.Symlink("bin/sh", "busybox")
	return vm, nil
}

// AddModules adds kernel modules and everything they depend on, in the
// order modprobe would load them. Compressed modules are decompressed on
// the host, since busybox insmod may not read them.
func (vm *VM) AddModules(names ...string) error {
	for _, name := range names {
		out, err := exec.Command("modprobe", "-S", vm.Kernel.Version, "--show-depends", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("modprobe --show-depends %s: %v: %s", name, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "insmod" {
				continue // "builtin x": nothing to load
			}
			src := f[1]
			if vm.haveMod[src] {
				continue
			}
			vm.haveMod[src] = true
			data, err := readModule(src)
			if err != nil {
				return err
			}
			dst := strings.TrimSuffix(strings.TrimSuffix(src, ".xz"), ".zst")
			vm.Archive.Bytes(dst, data, 0o644)
			vm.modules = append(vm.modules, dst)
		}
	}
	return nil
}

func readModule(p string) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(p, ".xz"):
		tool = "xz"
	case strings.HasSuffix(p, ".zst"):
		tool = "zstd"
	default:
		return os.ReadFile(p)
	}
	out, err := exec.Command(tool, "-dc", p).Output()
	if err != nil {
		return nil, fmt.Errorf("decompress %s: %w", p, err)
	}
	return out, nil
}

var lddLib = regexp.MustCompile(`(?m)(?:=>\s*)?(/\S+)\s+\(0x`)

// AddBinary adds a host binary at inVM (its own path when empty) with the
// shared libraries ldd lists for it.
func (vm *VM) AddBinary(host, inVM string) error {
	if inVM == "" {
		inVM = host
	}
	vm.Archive.File(inVM, host, 0o755)
	if static, err := isStatic(host); err != nil {
		return fmt.Errorf("add %s: %w", host, err)
	} else if static {
		return nil
	}
	out, err := exec.Command("ldd", host).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", host, err)
	}
	for _, m := range lddLib.FindAllStringSubmatch(string(out), -1) {
		vm.Archive.File(m[1], m[1], 0o755)
	}
	return nil
}

// Markers printed around the test script; Run fails when DONE is missing.
const (
	readyMarker = "=== VMTEST READY ==="
	doneMarker  = "=== VMTEST DONE ==="
)

func (vm *VM) initScript(script string) string {
	var b strings.Builder
	b.WriteString(`#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
ip link set lo up
`)
	for _, m := range vm.modules {
		fmt.Fprintf(&b, "insmod %s || echo 'vmtest: insmod %s failed'\n", m, path.Base(m))
	}
	b.WriteString("echo '" + readyMarker + "'\n")
	b.WriteString(script)
	b.WriteString("\necho '" + doneMarker + "'\npoweroff -f\n")
	return b.String()
}

// Run writes script as the body of /init (after the mounts and module
// loads, before poweroff), boots the VM and returns the console with
// line endings normalized. It fails on timeout or when the script did not
// reach its end; the console so far is returned either way.
func (vm *VM) Run(ctx context.Context, script string) (string, error) {
	dir, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)

	vm.Archive.Bytes("init", []byte(vm.initScript(script)), 0o755)
	initrd := filepath.Join(dir, "initrd.gz")
	f, err := os.Create(initrd)
	if err != nil {
		return "", err
	}
	werr := vm.Archive.WriteTo(f, os.ReadFile)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("write initramfs: %w", werr)
	}

	ctx, cancel := context.WithTimeout(ctx, vm.Timeout)
	defer cancel()
	args := []string{
		"-nographic", "-no-reboot", "-nic", "none",
		"-m", fmt.Sprint(vm.Memory),
		"-smp", fmt.Sprint(max(vm.CPUs, 1)),
		"-kernel", vm.Kernel.Image, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet",
	}
	if KVM() {
		args = append(args, "-enable-kvm")
	} else {
		// max gives TCG the SSE4.2 that crc32c-intel (an nf_conntrack
		// dependency) probes for.
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}
	cmd := exec.CommandContext(ctx, Qemu, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	console := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if ctx.Err() != nil {
		return console, fmt.Errorf("vm did not power off within %v: %w", vm.Timeout, ctx.Err())
	}
	if err != nil {
		return console, fmt.Errorf("qemu: %w", err)
	}
	if !strings.Contains(console, doneMarker) {
		return console, errors.New("vm script did not finish (init died?)")
	}
	return console, nil
}

// Section returns the lines printed between "=== BEGIN name ===" and
// "=== END name ===" (exclusive), with a trailing newline.
func Section(console, name string) (string, bool) {
	begin, end := "=== BEGIN "+name+" ===", "=== END "+name+" ==="
	var b strings.Builder
	in := false
	sc := bufio.NewScanner(strings.NewReader(console))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == begin:
			in = true
			b.Reset()
		case strings.TrimSpace(line) == end:
			if in {
				return b.String(), true
			}
		case in:
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return "", false
}
