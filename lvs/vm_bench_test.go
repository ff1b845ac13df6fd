package lvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"testing"

	"keepalived-go/internal/vmtest"
)

// BenchmarkKernelIPVS (bench/ipvs.sh, make bench-ipvs) boots the VM once
// and, in it, programs 1,000 services x 10 destinations from cold with
// ipvsadm -R (what ipvsadm-restore runs) and with our Manager from a
// generated keepalived.conf, then applies one change by a checker verdict
// and by a reload. It prints the times and netlink message counts and
// fails when one change is not exactly one write.
func BenchmarkKernelIPVS(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to read /boot/vmlinuz-*")
	}
	vm, err := vmtest.New()
	if errors.Is(err, vmtest.ErrUnavailable) {
		b.Skipf("cannot boot a VM here: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := vm.AddModules("ip_vs", "ip_vs_rr"); err != nil {
		b.Fatal(err)
	}
	prog := buildStatic(b, "../e2e/lvsvm/vmprog")
	for host, inVM := range map[string]string{"/usr/sbin/ipvsadm": "", prog: "/bin/vmprog"} {
		if err := vm.AddBinary(host, inVM); err != nil {
			b.Fatal(err)
		}
	}
	vm.Memory = 1024
	vm.Timeout *= 5
	for i := 0; i < b.N; i++ {
		console, err := vm.Run(context.Background(), "/bin/vmprog bench 1000 10\n")
		out, ok := vmtest.Section(console, "bench")
		if err != nil || !ok {
			b.Fatalf("%v\nconsole:\n%s", err, console)
		}
		fmt.Print(out)
		for _, m := range regexp.MustCompile(`one change \(([^)]*)\): \S+, (\d+) netlink writes`).FindAllStringSubmatch(out, -1) {
			if n, _ := strconv.Atoi(m[2]); n != 1 {
				b.Errorf("one change (%s) took %d writes", m[1], n)
			}
		}
	}
}
