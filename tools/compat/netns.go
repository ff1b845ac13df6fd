package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nsPool hands out network namespaces with a given interface set, one per
// distinct set, made on first use and deleted by close. Names carry the
// harness's pid so parallel users of the machine never collide.
type nsPool struct {
	mu     sync.Mutex
	base   string
	byKey  map[string]string
	failed map[string]error
	n      int
}

func newNSPool() *nsPool {
	return &nsPool{base: fmt.Sprintf("kgcompat%d", os.Getpid()), byKey: map[string]string{}, failed: map[string]error{}}
}

// get returns the namespace that has exactly ifaces (dummies, up) and lo.
func (p *nsPool) get(ifaces []string) (string, error) {
	key := ifaceKey(ifaces)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ns, ok := p.byKey[key]; ok {
		return ns, nil
	}
	if err := p.failed[key]; err != nil {
		return "", err
	}
	ns := p.base + "t" + strconv.Itoa(p.n)
	p.n++
	if err := makeNS(ns, ifaces); err != nil {
		deleteNS(ns)
		p.failed[key] = err
		return "", err
	}
	p.byKey[key] = ns
	return ns, nil
}

func (p *nsPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ns := range p.byKey {
		deleteNS(ns)
	}
	p.byKey = map[string]string{}
}

// makeNS creates a namespace with lo up and, per name, a veth pair whose
// named end is up (the peer, kgpN, is up too). Debian's cloud kernels and
// this machine's have no dummy, vlan or ipvlan drivers, so veth stands in
// for every kind of interface, VLANs and bonds included. Names an
// interface cannot have (longer than 15 bytes) are skipped.
func makeNS(ns string, ifaces []string) error {
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", ns, err, out)
	}
	var batch strings.Builder
	batch.WriteString("link set lo up\n")
	for i, name := range ifaces {
		if !validIfName(name) {
			continue
		}
		fmt.Fprintf(&batch, "link add %s type veth peer name kgp%d\nlink set %s up\nlink set kgp%d up\n", name, i, name, i)
	}
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, out)
	}
	return nil
}

// validIfName is what the kernel accepts as a link name.
func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." || s == "lo" {
		return false
	}
	return !strings.ContainsAny(s, "/ \t\n:\"'{}")
}

// deleteNS kills every process left in the namespace, by pid, then deletes
// it.
func deleteNS(ns string) {
	for range 50 {
		pids := nsPids(ns)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	exec.Command("ip", "netns", "del", ns).Run()
}

func nsPids(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}
