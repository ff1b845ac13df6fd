package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The dump mode: both daemons started on a rewritten copy of each config,
// each in a namespace of its own that has the interfaces the config names,
// asked for SIGUSR1's data dump at the same moment, their dumps compared.
//
// The moment: keepalived's log (-l -D) has been silent for -settle-quiet
// (default 1.5 s), and at least -settle-min (2 s) have passed since the
// start; at the latest -settle-max (15 s). Both daemons get SIGUSR1 then, so
// they are compared at the same time after their start. With the defaults an
// instance with advert_int 1 is dumped before its master-down timer (3.6 s)
// fires: both daemons are still in their initial state, which is what the
// dump compares most reliably.

// compareDumps asks both daemons for their dumps (the old files removed
// first, so that only the new ones are read) and diffs them per file.
func compareDumps(ka, ours *daemon, kaDir, ourDir string) map[string][]string {
	for _, n := range dumpFiles {
		os.Remove(filepath.Join(kaDir, n))
		os.Remove(filepath.Join(ourDir, n))
	}
	ka.signal(syscall.SIGUSR1)
	ours.signal(syscall.SIGUSR1)
	kaDumps := collectDumps(kaDir, ka)
	ourDumps := collectDumps(ourDir, ours)
	diffs := map[string][]string{}
	for _, name := range dumpFiles {
		kd, kok := kaDumps[name]
		od, ook := ourDumps[name]
		switch {
		case !kok && !ook:
			continue
		case !ook:
			diffs[name] = []string{"! ours wrote no " + name}
		case !kok:
			diffs[name] = []string{"! keepalived wrote no " + name}
		default:
			kl := maskDump(kd, kaDir)
			ol := maskDump(od, ourDir)
			if d := lineDiff(kl, ol); len(d) > 0 {
				diffs[name] = d
			}
		}
	}
	return diffs
}

// dumpFiles are what SIGUSR1 writes, in keepalived 2.2.7's names.
var dumpFiles = []string{"keepalived_parent.data", "keepalived.data", "keepalived_check.data"}

type dumpResult struct {
	ID       string              `json:"file"`
	Source   string              `json:"source"`
	Skipped  string              `json:"skipped,omitempty"`             // not run, and why
	KANoRun  string              `json:"keepalived_no_start,omitempty"` // keepalived exited before the dump
	OursExit string              `json:"ours_exit,omitempty"`           // ours exited before the dump
	VRRPOnly bool                `json:"vrrp_only,omitempty"`           // run with -P (no IPVS in this kernel)
	Ifaces   []string            `json:"interfaces,omitempty"`
	Settle   time.Duration       `json:"settle_ns,omitempty"`
	Attempts int                 `json:"attempts,omitempty"` // dumps asked for (more than one: the first ones differed)
	Diffs    map[string][]string `json:"diffs,omitempty"`    // dump file -> diff lines ("- ", "+ ")
	Same     bool                `json:"same"`
	Reason   string              `json:"reason,omitempty"`
}

func (r dumpResult) compared() bool { return r.Skipped == "" && r.KANoRun == "" }

func dumpMode(ctx context.Context, c config, items []item, tmp string) int {
	known, err := loadKnown(filepath.Join(c.root, "testdata", "compat", "KNOWN.tsv"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	results := make([]dumpResult, len(items))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range max(1, c.jobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dir := filepath.Join(tmp, "dump", fmt.Sprint(i))
				ns := fmt.Sprintf("kgcompat%dd%dw%d", os.Getpid(), i, w)
				r := dumpOne(ctx, c, items[i], dir, ns)
				r.Reason = reasonFor(known, r.ID)
				results[i] = r
				fmt.Fprintf(os.Stderr, "%s: %s\n", r.ID, dumpVerdict(r))
				if !c.keepTmp {
					os.RemoveAll(dir)
				}
			}
		}()
	}
	for i := range items {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "compat: interrupted")
		return 1
	}
	printDumpReport(os.Stdout, results, c.verbose, c.maxLines)
	if err := writeJSON(c.report+"-dump.json", map[string]any{"mode": "dump", "results": results, "categories": categorizeDumps(results)}); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
	}
	fmt.Printf("report: %s-dump.json\n", c.report)
	t := dumpTally(results)
	if t.compared > 0 && 100*float64(t.same)/float64(t.compared) < c.minDump {
		fmt.Printf("FAIL: dump agreement below %.1f%%\n", c.minDump)
		return 1
	}
	return 0
}

func dumpVerdict(r dumpResult) string {
	switch {
	case r.Skipped != "":
		return "skipped: " + r.Skipped
	case r.KANoRun != "":
		return "keepalived does not start: " + r.KANoRun
	case r.Same:
		return "same dumps"
	}
	var names []string
	for n := range r.Diffs {
		names = append(names, n)
	}
	sort.Strings(names)
	return "dumps differ: " + strings.Join(names, ", ")
}

// dumpOne runs both daemons on one config.
func dumpOne(ctx context.Context, c config, it item, dir, ns string) dumpResult {
	r := dumpResult{ID: it.ID, Source: it.Source}
	if it.NoDump != "" {
		r.Skipped = "compat-nodump: " + it.NoDump
		return r
	}
	rec, ok := readRecord(it.Record)
	if !ok {
		r.Skipped = "no record of keepalived -t (run -record first)"
		return r
	}
	if !strings.HasPrefix(rec.Verdict, "exit ") {
		r.Skipped = "keepalived -t: " + rec.Verdict
		return r
	}
	kaDir, ourDir := filepath.Join(dir, "ka"), filepath.Join(dir, "ours")
	text, err := stageConfig(it, kaDir)
	if err == nil {
		_, err = stageConfig(it, ourDir)
	}
	if err != nil {
		r.Skipped = "rewrite: " + err.Error()
		return r
	}
	r.Ifaces = interfacesOf(text, rec.Lines)
	srcs := srcAddrsOf(text)
	args := append([]string{"-n", "-l", "-D", "-G"}, it.Args...)
	if hasVirtualServers(text) {
		args = append(args, "-P")
		r.VRRPOnly = true
	}
	kaNS, ourNS := ns+"k", ns+"o"
	for _, n := range []string{kaNS, ourNS} {
		if err := makeDumpNS(n, r.Ifaces, srcs); err != nil {
			deleteDumpNS(kaNS)
			deleteDumpNS(ourNS)
			r.Skipped = "namespace: " + err.Error()
			return r
		}
	}
	defer deleteDumpNS(kaNS)
	defer deleteDumpNS(ourNS)
	ka := startDaemon(c.kaBin, kaNS, kaDir, filepath.Base(it.Path), args)
	ours := startDaemon(c.oursBin, ourNS, ourDir, filepath.Base(it.Path), args)
	defer ka.stop()
	defer ours.stop()
	if ka.err != nil || ours.err != nil {
		r.Skipped = fmt.Sprintf("start: %v %v", ka.err, ours.err)
		return r
	}
	r.Settle = settle(ctx, c, ka)
	if ka.exited() {
		r.KANoRun = ka.exitSummary()
		return r
	}
	if l := ka.childCrash(); l != "" {
		// The parent lives on, but the process whose data the dump
		// holds is gone (keepalived's VRRP process dies on
		// lvs_sync_daemon without IPVS): a crash, left out as the -t
		// mode leaves out crashes.
		r.KANoRun = "child crashed: " + l
		return r
	}
	if ours.exited() {
		r.OursExit = ours.exitSummary()
	}
	for attempt := 1; ; attempt++ {
		r.Attempts = attempt
		r.Diffs = compareDumps(ka, ours, kaDir, ourDir)
		if len(r.Diffs) == 0 || attempt > c.retries || ka.exited() || ours.exited() || ctx.Err() != nil {
			break
		}
		// Two daemons cannot be asked at the same instant of their own
		// timers: a script run or a timer that fires between the two
		// signals shows as a difference that is gone a second later. A
		// real difference stays.
		time.Sleep(time.Second)
	}
	if r.OursExit != "" {
		r.Diffs["(process)"] = []string{"! ours exited before the dump: " + r.OursExit}
	}
	r.Same = len(r.Diffs) == 0
	if r.Same {
		r.Diffs = nil
	}
	return r
}

var vsLineRe = regexp.MustCompile(`(?m)^\s*(?:@\^?\S+\s+)?virtual_server(?:_group)?\s`)

func hasVirtualServers(text string) bool { return vsLineRe.MatchString(text) }

var includeRe = regexp.MustCompile(`(?m)^\s*(?:@\^?\S+\s+)?include\s`)

// stageConfig writes the rewritten config into dir (with its folder's other
// files, rewritten the same way, when it includes something) and returns
// the text of everything written.
func stageConfig(it item, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := os.ReadFile(it.Path)
	if err != nil {
		return "", err
	}
	m := newAddrMapper()
	main := rewriteConfig(string(b), dir, m)
	all := main
	if includeRe.MatchString(string(b)) {
		src := filepath.Dir(it.Path)
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err != nil || p == it.Path {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dir, rel), 0o755)
			}
			info, err := d.Info()
			if err != nil || !info.Mode().IsRegular() || info.Size() > 1<<20 || strings.HasSuffix(p, ".keepalived") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			t := rewriteConfig(string(data), dir, m)
			all += "\n" + t
			return os.WriteFile(filepath.Join(dir, rel), []byte(t), info.Mode().Perm())
		})
		if err != nil {
			return "", err
		}
	}
	if err := checkAddresses(all); err != nil {
		return "", err
	}
	return all, os.WriteFile(filepath.Join(dir, filepath.Base(it.Path)), []byte(main), 0o644)
}

// checkAddresses is the network rule's last guard: no address outside the
// test ranges, loopback, multicast, link-local and netmasks is left.
func checkAddresses(text string) error {
	for _, l := range strings.Split(text, "\n") {
		for _, t := range ip4Tokens(l) {
			if a := l[t[0]:t[1]]; !allowed4(a) {
				return fmt.Errorf("address %s left after the rewrite", a)
			}
		}
	}
	return nil
}

func allowed4(s string) bool {
	if strings.HasPrefix(s, "198.51.100.") || strings.HasPrefix(s, "203.0.113.") {
		return true
	}
	var b [4]int
	if n, _ := fmt.Sscanf(s, "%d.%d.%d.%d", &b[0], &b[1], &b[2], &b[3]); n != 4 {
		return true
	}
	for _, v := range b {
		if v > 255 {
			return true // not an address
		}
	}
	return b[0] == 127 || b[0] == 0 || b[0] >= 224
}

// makeDumpNS creates a namespace for one daemon: lo, and per interface a
// veth with a fixed MAC (so link-local addresses agree between the two
// namespaces), an address 203.0.113.(200+i)/32 and 2001:db8:ffff::(i+1)/128,
// routes to the test ranges only, and a resolv.conf pointing at loopback;
// then the instances' unicast source addresses (srcAddrsOf) that are in
// the test ranges, on their interfaces.
func makeDumpNS(ns string, ifaces []string, srcs []ifAddr) error {
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", ns, err, out)
	}
	var b strings.Builder
	b.WriteString("link set lo up\n")
	for i, name := range ifaces {
		if i >= 54 {
			break
		}
		fmt.Fprintf(&b, "link add %s address 02:00:5e:10:00:%02x type veth peer name kgp%d address 02:00:5e:20:00:%02x\n", name, i+1, i, i+1)
		fmt.Fprintf(&b, "link set %s up\nlink set kgp%d up\n", name, i)
		fmt.Fprintf(&b, "addr add 203.0.113.%d/32 dev %s\n", 200+i, name)
		fmt.Fprintf(&b, "addr add 2001:db8:ffff::%x/128 dev %s nodad\n", i+1, name)
	}
	have := map[string]bool{}
	added := map[netip.Addr]bool{}
	for i, n := range ifaces {
		have[n] = true
		added[netip.AddrFrom4([4]byte{203, 0, 113, byte(200 + i)})] = true
		added[netip.MustParseAddr(fmt.Sprintf("2001:db8:ffff::%x", i+1))] = true
	}
	for _, a := range srcs {
		if !have[a.Iface] || added[a.Addr] || !testRange(a.Addr) {
			continue
		}
		added[a.Addr] = true
		if a.Addr.Is4() {
			fmt.Fprintf(&b, "addr add %s/32 dev %s\n", a.Addr, a.Iface)
		} else {
			fmt.Fprintf(&b, "addr add %s/128 dev %s nodad\n", a.Addr, a.Iface)
		}
	}
	if len(ifaces) > 0 {
		fmt.Fprintf(&b, "route add 198.51.100.0/24 dev %s\nroute add 203.0.113.0/24 dev %s\nroute add 2001:db8::/32 dev %s\n", ifaces[0], ifaces[0], ifaces[0])
	}
	// No duplicate address detection: a link-local address that finishes
	// DAD after a daemon started brings an RTM_NEWLINK that keepalived
	// notes (its dump then shows the interface's rp_filter), at a moment
	// that differs between the two namespaces. The namespace is settled
	// before either daemon starts.
	if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0").CombinedOutput(); err != nil {
		return fmt.Errorf("sysctl accept_dad in %s: %v: %s", ns, err, out)
	}
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, out)
	}
	settleNS(ns)
	etc := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644)
}

// settleNS waits (at most 2 s) until the namespace has no tentative
// address left and then a little longer, so that the kernel's messages
// about the new links are over before a daemon starts.
func settleNS(ns string) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		out, err := exec.Command("ip", "-n", ns, "addr", "show", "tentative").Output()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}

// testRange: an address the network rule lets a namespace hold.
func testRange(a netip.Addr) bool {
	for _, p := range []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("fe80::/10")} {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func deleteDumpNS(ns string) {
	deleteNS(ns)
	os.RemoveAll(filepath.Join("/etc/netns", ns))
	os.Remove("/etc/netns") // only when empty: other users may have theirs
}

// daemon is one running keepalived (ours or Debian's).
type daemon struct {
	cmd      *exec.Cmd
	err      error
	mu       sync.Mutex
	lastLine time.Time
	log      []string
	done     chan struct{}
	waitErr  error
	start    time.Time
}

func startDaemon(bin, ns, dir, name string, args []string) *daemon {
	d := &daemon{done: make(chan struct{}), start: time.Now()}
	full := append([]string{"netns", "exec", ns, bin, "-f", name,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
		"-c", filepath.Join(dir, "checkers.pid"), "-b", filepath.Join(dir, "bfd.pid")}, args...)
	d.cmd = exec.Command("ip", full...)
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), "TMPDIR="+dir, "LC_ALL=C")
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		d.err = err
		close(d.done)
		return d
	}
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if err := d.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		d.err = err
		close(d.done)
		return d
	}
	pw.Close()
	d.lastLine = time.Now()
	go d.readLog(pr)
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	return d
}

func (d *daemon) readLog(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		d.mu.Lock()
		d.lastLine = time.Now()
		if len(d.log) < 2000 {
			d.log = append(d.log, sc.Text())
		}
		d.mu.Unlock()
	}
}

var childCrashRe = regexp.MustCompile(`pid \d+ exited due to segmentation fault`)

// childCrash is keepalived's log line saying a child process died by a
// signal, if there is one.
func (d *daemon) childCrash() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.log {
		if childCrashRe.MatchString(l) {
			return tsPrefixRe.ReplaceAllString(l, "")
		}
	}
	return ""
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// exitSummary: how it ended and its last log lines.
func (d *daemon) exitSummary() string {
	<-d.done
	v := "exit 0"
	var ee *exec.ExitError
	if errors.As(d.waitErr, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			v = "signal " + signalName(ws.Signal())
		} else {
			v = fmt.Sprintf("exit %d", ws.ExitStatus())
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var tail []string
	for _, l := range d.log {
		l = tsPrefixRe.ReplaceAllString(l, "")
		if !boringExitRe.MatchString(l) {
			tail = append(tail, l)
		}
	}
	if len(tail) > 3 {
		tail = tail[len(tail)-3:]
	}
	return v + ": " + strings.Join(tail, " | ")
}

// Lines every stop prints, left out of exit summaries.
var boringExitRe = regexp.MustCompile(`^(?:CPU usage|Stopped|Stopping|pid \d+ exited|Shutting down service|Script user .* does not exist)`)

func (d *daemon) signal(s syscall.Signal) {
	if d.cmd != nil && d.cmd.Process != nil && !d.exited() {
		d.cmd.Process.Signal(s)
	}
}

// stop ends the daemon: SIGTERM, up to 5 s, then SIGKILL to its process
// group (the namespace's leftovers are killed by pid when it is deleted).
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// settle waits for the moment both daemons are asked for their dump, and
// returns it (time since start).
func settle(ctx context.Context, c config, ka *daemon) time.Duration {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Since(ka.start)
		case <-ka.done:
			return time.Since(ka.start)
		case <-tick.C:
		}
		since := time.Since(ka.start)
		ka.mu.Lock()
		quiet := time.Since(ka.lastLine)
		ka.mu.Unlock()
		if since >= c.settleMax {
			return since
		}
		if since >= c.settleMin && quiet >= c.settleQuiet {
			// Half way between whole seconds since the start: script
			// intervals and advert intervals are whole seconds, so the
			// two daemons' periodic events are furthest from the signal.
			next := since.Truncate(time.Second) + time.Second/2
			if next < since {
				next += time.Second
			}
			select {
			case <-ctx.Done():
			case <-ka.done:
			case <-time.After(next - since):
			}
			return time.Since(ka.start)
		}
	}
}

// collectDumps waits until the dump files in dir stop changing (at most 5
// s after the signal) and reads them.
func collectDumps(dir string, d *daemon) map[string]string {
	deadline := time.Now().Add(5 * time.Second)
	var last string
	stable := 0
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		var sig strings.Builder
		for _, n := range dumpFiles {
			if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
				fmt.Fprintf(&sig, "%s:%d:%d;", n, st.Size(), st.ModTime().UnixNano())
			}
		}
		if s := sig.String(); s != "" && s == last {
			stable++
			if stable >= 5 {
				break
			}
		} else {
			stable = 0
			last = s
		}
		if d.exited() && last != "" {
			break
		}
	}
	out := map[string]string{}
	for _, n := range dumpFiles {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			out[n] = string(b)
		}
	}
	return out
}

var dumpMasks = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\d{9,10}\.\d{6} \([^)]*\)`), "<time>"},
	{regexp.MustCompile(`[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4}`), "<time>"},
	{regexp.MustCompile(`\bfd_in -?\d+`), "fd_in <fd>"},
	{regexp.MustCompile(`\bfd_out( =)? -?\d+`), "fd_out$1 <fd>"},
	{regexp.MustCompile(`\bfd\(-?\d+,-?\d+\)`), "fd(<fd>)"},
	{regexp.MustCompile(`\bfd( =)? -?\d+`), "fd$1 <fd>"},
	{regexp.MustCompile(`\bpid( =|:)? \d+`), "pid$1 <pid>"},
	{regexp.MustCompile(`\bprocess\(\d+\)`), "process(<pid>)"},
}

// maskDump normalizes a dump: timestamps, file descriptors and pids masked,
// the daemon's folder replaced by <dir>, trailing blanks dropped.
func maskDump(s, dir string) []string {
	s = strings.ReplaceAll(s, dir, "<dir>")
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = strings.TrimRight(l, " \t")
		for _, m := range dumpMasks {
			l = m.re.ReplaceAllString(l, m.repl)
		}
		out = append(out, l)
	}
	return out
}

// lineDiff returns the lines only in a ("- ") and only in b ("+ ") along a
// longest common subsequence; for very large inputs, a multiset
// difference.
func lineDiff(a, b []string) []string {
	if equal(a, b) {
		return nil
	}
	if len(a)*len(b) > 16_000_000 {
		var d []string
		for _, l := range onlyIn(a, b) {
			d = append(d, "- "+l)
		}
		for _, l := range onlyIn(b, a) {
			d = append(d, "+ "+l)
		}
		return d
	}
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var d []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			d = append(d, "+ "+b[j])
			j++
		default:
			d = append(d, "- "+a[i])
			i++
		}
	}
	return d
}

type dTally struct{ files, skipped, noStart, compared, same, sameRetry, vrrpOnly int }

func dumpTally(rs []dumpResult) dTally {
	var t dTally
	for _, r := range rs {
		t.files++
		switch {
		case r.Skipped != "":
			t.skipped++
		case r.KANoRun != "":
			t.noStart++
		default:
			t.compared++
			if r.Same {
				t.same++
				if r.Attempts > 1 {
					t.sameRetry++
				}
			}
			if r.VRRPOnly {
				t.vrrpOnly++
			}
		}
	}
	return t
}

var dumpKeyRe = regexp.MustCompile(`^\s*([^=]+?) = `)

// dumpTemplate names a dump line by its field ("Key = ..."), else by its
// message template.
func dumpTemplate(l string) string {
	if sm := dumpKeyRe.FindStringSubmatch(l); sm != nil {
		return template(sm[1]) + " = *"
	}
	return template(l)
}

// categorizeDumps groups differing dump lines by file and field.
func categorizeDumps(rs []dumpResult) []category {
	cats := map[string]*category{}
	for _, r := range rs {
		if !r.compared() || r.Same {
			continue
		}
		for name, d := range r.Diffs {
			var minus, plus []string
			for _, l := range d {
				switch {
				case strings.HasPrefix(l, "- "):
					minus = append(minus, dumpTemplate(l[2:]))
				case strings.HasPrefix(l, "+ "):
					plus = append(plus, dumpTemplate(l[2:]))
				default:
					addCat(cats, "!", name+": "+l, r.ID)
				}
			}
			left := map[string]int{}
			for _, t := range plus {
				left[t]++
			}
			for _, t := range minus {
				if left[t] > 0 {
					left[t]--
					addCat(cats, "~", name+": "+t, r.ID)
				} else {
					addCat(cats, "-", name+": "+t, r.ID)
				}
			}
			for _, t := range plus {
				if left[t] > 0 {
					left[t]--
					addCat(cats, "+", name+": "+t, r.ID)
				}
			}
		}
	}
	return sortCats(cats)
}

func addCat(cats map[string]*category, kind, tpl, file string) {
	k := kind + "\x00" + tpl
	c := cats[k]
	if c == nil {
		c = &category{Kind: kind, Template: tpl}
		cats[k] = c
	}
	c.Count++
	if len(c.Files) == 0 || c.Files[len(c.Files)-1] != file {
		c.Files = append(c.Files, file)
	}
}

func sortCats(cats map[string]*category) []category {
	out := make([]category, 0, len(cats))
	for _, c := range cats {
		out = append(out, *c)
	}
	sortCategories(out)
	return out
}

func printDumpReport(w io.Writer, rs []dumpResult, verbose bool, maxLines int) {
	fmt.Fprintf(w, "== dumps that differ ('-' keepalived only, '+' ours only)\n")
	for _, r := range rs {
		if !r.compared() || r.Same {
			continue
		}
		head := r.ID
		if r.VRRPOnly {
			head += "  [-P]"
		}
		if r.Reason != "" {
			head += "  reason: " + r.Reason
		}
		fmt.Fprintln(w, head)
		var names []string
		for n := range r.Diffs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			d := r.Diffs[n]
			fmt.Fprintf(w, "  %s:\n", n)
			if !verbose && len(d) > maxLines {
				d = append(append([]string(nil), d[:maxLines]...), fmt.Sprintf("... %d more (-v shows all)", len(r.Diffs[n])-maxLines))
			}
			for _, l := range d {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
	fmt.Fprintf(w, "\n== not compared\n")
	nodump := 0
	for _, r := range rs {
		if strings.HasPrefix(r.Skipped, "compat-nodump:") {
			nodump++
		} else if r.Skipped != "" {
			fmt.Fprintf(w, "  %s: skipped: %s\n", r.ID, r.Skipped)
		} else if r.KANoRun != "" {
			fmt.Fprintf(w, "  %s: keepalived does not start: %s\n", r.ID, r.KANoRun)
		}
	}
	if nodump > 0 {
		fmt.Fprintf(w, "  %d files marked \"# compat-nodump:\" (the generator's edge-value variants)\n", nodump)
	}
	cats := categorizeDumps(rs)
	if len(cats) > 0 {
		fmt.Fprintf(w, "\n== dump differences by file and field, most configs first (configs, lines; - keepalived only, + ours only, ~ other value, ! missing)\n")
		for _, c := range cats {
			ex := c.Files
			if len(ex) > 3 {
				ex = ex[:3]
			}
			fmt.Fprintf(w, "%5d %5d %-2s %s\n               e.g. %s\n", len(c.Files), c.Count, c.Kind, c.Template, strings.Join(ex, ", "))
		}
	}
	bySource := map[string][]dumpResult{}
	var sources []string
	for _, r := range rs {
		if _, ok := bySource[r.Source]; !ok {
			sources = append(sources, r.Source)
		}
		bySource[r.Source] = append(bySource[r.Source], r)
	}
	sort.Strings(sources)
	fmt.Fprintf(w, "\n== summary (dump)\n%-16s %6s %8s %9s %9s %6s  %-16s %s\n", "source", "files", "skipped", "no start", "compared", "(-P)", "identical dumps", "(of which on a retry)")
	line := func(name string, t dTally) {
		fmt.Fprintf(w, "%-16s %6d %8d %9d %9d %6d  %4d %s  %4d\n", name, t.files, t.skipped, t.noStart, t.compared, t.vrrpOnly, t.same, pct(t.same, t.compared), t.sameRetry)
	}
	for _, s := range sources {
		line(s, dumpTally(bySource[s]))
	}
	t := dumpTally(rs)
	line("TOTAL", t)
	fmt.Fprintf(w, "\ndump agreement: %d/%d = %s (configs keepalived starts); identical at the first dump: %d/%d = %s\n",
		t.same, t.compared, strings.TrimSpace(pct(t.same, t.compared)),
		t.same-t.sameRetry, t.compared, strings.TrimSpace(pct(t.same-t.sameRetry, t.compared)))
}
