package nft

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"keepalived-go/lvs"
)

// scaleTable is n real servers in services of perService each: NAT, port
// 80, weighted round robin, addresses in 198.51.100.0/24 repeated with
// distinct ports so that every destination key is distinct.
func scaleTable(n, perService int) lvs.Table {
	t := lvs.Table{}
	for s := 0; s*perService < n; s++ {
		svc := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + s%250)}), uint16(1000+s/250))),
			Scheduler: "wrr"}
		var ds []lvs.Destination
		for i := 0; i < perService && s*perService+i < n; i++ {
			a := netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%250)})
			ds = append(ds, lvs.Dest(netip.AddrPortFrom(a, uint16(8000+i/250)), lvs.NAT, 1+i%3))
		}
		t = t.Add(svc, ds...)
	}
	return t
}

// vmHWM is the process's peak resident memory (kB) from /proc.
func vmHWM(t *testing.T, pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// TestKernelScale10k programs 10,000 real servers (500 services of 20)
// in one transaction, then takes one real server down: a small batch.
func TestKernelScale10k(t *testing.T) { kernelScale(t, 10000, 20) }

// TestKernelScale50k is the same with 50,000 real servers, in 500
// services of 100 and in one service of 50,000 (KGNFT_SCALE=1; make
// scale-nft).
func TestKernelScale50k(t *testing.T) {
	if os.Getenv("KGNFT_SCALE") == "" {
		t.Skip("50,000 real servers: set KGNFT_SCALE=1 (make scale-nft)")
	}
	t.Run("500x100", func(t *testing.T) { kernelScale(t, 50000, 100) })
	t.Run("1x50000", func(t *testing.T) { kernelScale(t, 50000, 50000) })
}

func kernelScale(t *testing.T, n, perService int) {
	needKernel(t)
	ns := newNS(t, "scale")
	b, err := New(Options{NetNS: ns.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := scaleTable(n, perService)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := lvs.NewReconciler(b)
	start := time.Now()
	if _, err := r.Reconcile(ctx, want); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	st := b.Stats()
	t.Logf("%d real servers in %d services: programmed in %v, one transaction of %d messages, %d elements, <= %d bytes (socket send buffer %d, receive %d); test process peak RSS %d MB",
		n, len(want), took.Round(time.Millisecond), st.Last.Messages, st.Last.Elements, st.Last.Bytes, st.Last.SendBuffer, st.Last.RecvBuffer, vmHWM(t, "self")/1024)
	if st.Commits != 1 {
		t.Errorf("%d transactions to program the table, want 1", st.Commits)
	}

	// What the kernel holds, read back by a new backend (a restarted
	// daemon), is the table, and the kernel counts the elements.
	b2, err := New(Options{NetNS: ns.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	start = time.Now()
	got, err := b2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ops := lvs.Diff(want, got); len(ops) != 0 {
		t.Fatalf("kernel holds a different table: %d ops, first %v", len(ops), ops[0])
	}
	t.Logf("read back by a new backend in %v", time.Since(start).Round(time.Millisecond))
	k := want.Keys()[len(want)/2]
	out := ns.run(t, "nft", "list", "set", "inet", DefaultTable, chainName(k)+"_rs")
	if c := strings.Count(out, "comment"); c != len(want[k].Dests) {
		t.Errorf("set %s_rs holds %d elements, want %d", chainName(k), c, len(want[k].Dests))
	}

	// One real server goes down: one small transaction.
	vs := want[k]
	d := vs.SortedDests()[len(vs.Dests)/2]
	d.Weight = 0
	vs.Dests[d.DestKey] = d
	start = time.Now()
	if _, err := r.Reconcile(ctx, want); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	st = b.Stats()
	t.Logf("one real server down: %v (with the reconciler's list and diff), one transaction of %d messages, %d elements, <= %d bytes",
		took.Round(time.Millisecond), st.Last.Messages, st.Last.Elements, st.Last.Bytes)
	if st.Commits != 2 || st.Last.Messages > 12 || st.Last.Bytes > 8<<10 {
		t.Errorf("one real server's change: commit %d, %d messages, %d bytes: want one small transaction", st.Commits, st.Last.Messages, st.Last.Bytes)
	}
	out = ns.run(t, "nft", "list", "set", "inet", DefaultTable, chainName(k)+"_rs")
	if !strings.Contains(out, d.Addr.String()+" . "+strconv.Itoa(int(d.Port))+` comment "Masq 0"`) {
		t.Errorf("the kernel does not hold the new weight of %s", d.DestKey)
	}

	// Everything goes (stop): nothing is left.
	if _, err := r.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if out := ns.run(t, "nft", "list", "tables"); strings.Contains(out, DefaultTable) {
		t.Errorf("tables left after the last service went:\n%s", out)
	}
}

// TestKernelScaleDR10k: 10,000 direct-routing real servers (IPv6,
// on-link, 100 services of 100) are resolved with one neighbour listing
// and programmed in one transaction; one real server down is a small one,
// and a refresh with no next hop changed writes nothing.
func TestKernelScaleDR10k(t *testing.T) {
	needKernel(t)
	ns := newNS(t, "dr10k")
	ns.run(t, "ip", "link", "add", "eth0", "address", "02:00:00:00:06:01", "type", "veth", "peer", "name", "peer0")
	ns.run(t, "ip", "link", "set", "peer0", "up")
	ns.run(t, "ip", "link", "set", "eth0", "up")
	ns.run(t, "ip", "addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad")
	const n, per = 10000, 100
	var batch strings.Builder
	addr := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte((i + 2) >> 8), 15: byte(i + 2)})
	}
	for i := range n {
		fmt.Fprintf(&batch, "neigh add %s lladdr 02:00:00:%02x:%02x:%02x dev eth0 nud permanent\n", addr(i), (i>>16)&0xff, (i>>8)&0xff, i&0xff)
	}
	f := filepath.Join(t.TempDir(), "neigh")
	os.WriteFile(f, []byte(batch.String()), 0o644)
	ns.run(t, "ip", "-batch", f)
	want := lvs.Table{}
	for s := range n / per {
		vip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(s + 1)})
		svc := lvs.Service{ServiceKey: lvs.ServiceAddr(lvs.TCP, netip.AddrPortFrom(vip, 80)), Scheduler: "rr"}
		var ds []lvs.Destination
		for i := range per {
			ds = append(ds, lvs.Dest(netip.AddrPortFrom(addr(s*per+i), 80), lvs.DR, 1))
		}
		want = want.Add(svc, ds...)
	}
	b, err := New(Options{NetNS: ns.h})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := lvs.NewReconciler(b)
	ctx := context.Background()
	start := time.Now()
	if _, err := r.Reconcile(ctx, want); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	t.Logf("%d DR real servers: resolved and programmed in %v, one transaction of %d messages, <= %d bytes",
		n, time.Since(start).Round(time.Millisecond), st.Last.Messages, st.Last.Bytes)
	if out := ns.run(t, "nft", "list", "chain", "netdev", DefaultTable, rsChainName(addr(n-1))); !strings.Contains(out, "dup to") {
		t.Errorf("last real server's chain does not forward:\n%s", out)
	}
	k := want.Keys()[7]
	d := want[k].SortedDests()[3]
	d.Weight = 0
	want[k].Dests[d.DestKey] = d
	if _, err := r.Reconcile(ctx, want); err != nil {
		t.Fatal(err)
	}
	st = b.Stats()
	t.Logf("one DR real server down: %d messages, <= %d bytes", st.Last.Messages, st.Last.Bytes)
	if st.Last.Messages > 12 || st.Last.Bytes > 8<<10 {
		t.Errorf("one real server's change: %d messages, %d bytes", st.Last.Messages, st.Last.Bytes)
	}
	commits := st.Commits
	start = time.Now()
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("refresh of %d next hops, none changed: %v", n, time.Since(start).Round(time.Millisecond))
	if b.Stats().Commits != commits {
		t.Error("a refresh with no next hop changed wrote to the kernel")
	}
}
