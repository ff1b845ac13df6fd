package soak

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// faults runs the schedule: each fault at its time on the node it names
// (the VIP's holder as "master"), held for its time, then undone.
func (s *soak) faults(ctx context.Context) {
	for i, f := range s.rep.Schedule {
		if !sleep(ctx, time.Until(s.t0.Add(f.At))) {
			return
		}
		n := s.resolve(f.Target)
		s.o.Logf("fault %d/%d at +%.1fs: %s on %s (%s)", i+1, len(s.rep.Schedule), s.since().Seconds(), f.Kind, n.name, f.Target)
		s.partition.Store(f.Kind.Partition())
		undo := s.apply(f, n)
		sleep(ctx, f.For) // cut short at the end: still undone
		if undo != nil {
			undo()
		}
		s.partition.Store(false)
	}
}

// resolve names the node for "master" (the only VIP holder, else node a)
// or "backup" (the other one).
func (s *soak) resolve(target string) *node {
	a, b := s.lab.nodes[0], s.lab.nodes[1]
	master, backup := a, b
	if b.holds() && !a.holds() {
		master, backup = b, a
	}
	if target == "backup" {
		return backup
	}
	return master
}

// apply starts fault f on n and returns what undoes it (nil: nothing).
func (s *soak) apply(f Fault, n *node) func() {
	must := func(args ...string) {
		if err := run(args...); err != nil {
			s.problem("%s: %v", f.Kind, err)
		}
	}
	switch f.Kind {
	case FaultLink:
		must("ip", "-n", n.ns, "link", "set", "eth0", "down")
		return func() { must("ip", "-n", n.ns, "link", "set", "eth0", "up") }
	case FaultAddr:
		must("ip", "-n", n.ns, "addr", "del", n.addr, "dev", "eth0")
		return func() { must("ip", "-n", n.ns, "addr", "add", n.addr, "dev", "eth0") }
	case FaultVIP:
		if n.holds() {
			must("ip", "-n", n.ns, "addr", "del", vip+"/24", "dev", "eth0")
		}
	case FaultKill:
		if err := n.kill(); err != nil {
			s.problem("kill: %v", err)
		}
		return func() {
			if err := n.start(s.o.Bin); err != nil {
				s.problem("restart %s: %v", n.name, err)
			}
		}
	case FaultHUPGood, FaultHUPBad:
		return s.reload(f, n)
	case FaultLoss:
		n.sh.set(f.Level, 0)
		return func() { n.sh.set(0, 0) }
	case FaultDelay:
		n.sh.set(0, time.Duration(f.Level)*time.Millisecond)
		return func() { n.sh.set(0, 0) }
	case FaultStop:
		if err := n.signal(syscall.SIGSTOP); err != nil {
			s.problem("stop: %v", err)
			return nil
		}
		return func() {
			if err := n.signal(syscall.SIGCONT); err != nil {
				s.problem("cont: %v", err)
			}
		}
	}
	return nil
}

// reload writes a good file (the other router_id) or a bad one and sends
// SIGHUP; undoing it checks the daemon said "Reload finished" or refused
// the file, and puts the good file back after a refused one.
func (s *soak) reload(f Fault, n *node) func() {
	before := n.logCount()
	good := f.Kind == FaultHUPGood
	var conf string
	if good {
		n.goodAlt = !n.goodAlt
		conf = n.goodConf(n.goodAlt)
	} else {
		bad := n.badConfs()
		conf = bad[n.badNext%len(bad)]
		n.badNext++
	}
	if err := n.writeConf(conf); err != nil {
		s.problem("write %s: %v", f.Kind, err)
		return nil
	}
	if err := n.signal(syscall.SIGHUP); err != nil {
		s.problem("%s: %v", f.Kind, err)
	}
	return func() {
		after := n.logCount()
		switch {
		case good && after.finished != before.finished+1:
			s.problem("%s on %s: %d Reload finished lines, want one more than %d", f.Kind, n.name, after.finished, before.finished)
		case !good && (after.failed != before.failed+1 || after.finished != before.finished):
			s.problem("%s on %s: refused %d->%d, finished %d->%d; want one refusal and no finish", f.Kind, n.name,
				before.failed, after.failed, before.finished, after.finished)
		}
		if !good {
			if err := n.writeConf(n.goodConf(n.goodAlt)); err != nil {
				s.problem("restore %s: %v", n.name, err)
			}
		}
	}
}

type reloads struct{ finished, failed int }

// logCount counts the current daemon's reload outcomes.
func (n *node) logCount() reloads {
	n.mu.Lock()
	i := n.starts
	n.mu.Unlock()
	b, _ := os.ReadFile(filepath.Join(n.etc, "daemon-"+strconv.Itoa(i)+".log"))
	return reloads{strings.Count(string(b), "Reload finished"), strings.Count(string(b), "Reload failed, keeping the running configuration")}
}
