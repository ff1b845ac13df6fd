package soak

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const confTemplate = `global_defs {
    router_id SOAK_%s
    metrics_listen 127.0.0.1:9650
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
}
`

// goodConf is the node's file; alt changes only its router_id.
func (n *node) goodConf(alt bool) string {
	state, id := "BACKUP", strings.ToUpper(n.name)
	if n.prio > backupPrio {
		state = "MASTER"
	}
	if alt {
		id += "_ALT"
	}
	return fmt.Sprintf(confTemplate, id, state, n.prio, vip)
}

// badConfs are files a reload must refuse: a malformed one, and one the
// VRRP engine refuses (an instance without interface) whose router_id
// changed too.
func (n *node) badConfs() []string {
	good := n.goodConf(!n.goodAlt)
	return []string{
		good + "vrrp_instance BROKEN {\n    state MASTER\n",
		strings.Replace(good, "    interface eth0\n", "", 1),
	}
}

func (n *node) writeConf(s string) error {
	return os.WriteFile(filepath.Join(n.etc, "keepalived.conf"), []byte(s), 0o644)
}

// start runs the daemon in the node, /etc/keepalived bound on n.etc in a
// mount namespace of its own, its output in n.etc/daemon-N.log.
func (n *node) start(bin string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return nil
	}
	n.starts++
	logf, err := os.Create(filepath.Join(n.etc, fmt.Sprintf("daemon-%d.log", n.starts)))
	if err != nil {
		return err
	}
	script := fmt.Sprintf("mount --bind %q /etc/keepalived && exec \"$@\"", n.etc)
	cmd := exec.Command("ip", "netns", "exec", n.ns, "unshare", "-m", "sh", "-c", script, "sh",
		bin, "-n", "-l", "-f", "/etc/keepalived/keepalived.conf",
		"-p", "/etc/keepalived/k.pid", "-r", "/etc/keepalived/v.pid", "-c", "/etc/keepalived/c.pid")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	n.cmd, n.exited, n.paused = cmd, exited, false
	n.lives = append(n.lives, &Life{Node: n.name, PID: cmd.Process.Pid})
	return nil
}

// signal sends sig to the running daemon.
func (n *node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return fmt.Errorf("%s: no daemon", n.name)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
	case syscall.SIGCONT:
		n.paused = false
	}
	return n.cmd.Process.Signal(sig)
}

// kill ends the daemon with SIGKILL and waits for it.
func (n *node) kill() error {
	if err := n.signal(syscall.SIGKILL); err != nil {
		return err
	}
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("%s: daemon did not die on SIGKILL", n.name)
	}
}

// stop ends the daemon with SIGTERM (SIGKILL after 10 s).
func (n *node) stop() {
	n.mu.Lock()
	cmd, exited, paused := n.cmd, n.exited, n.paused
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	if paused {
		cmd.Process.Signal(syscall.SIGCONT)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// running reports whether the daemon is alive and not paused.
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.paused {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// pid is the running daemon's process id and its Life, or 0.
func (n *node) current() (int, *Life) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || len(n.lives) == 0 {
		return 0, nil
	}
	select {
	case <-n.exited:
		return 0, nil
	default:
	}
	return n.cmd.Process.Pid, n.lives[len(n.lives)-1]
}

// logs is everything the node's daemons wrote.
func (n *node) logs() string {
	var b strings.Builder
	for i := 1; i <= n.starts; i++ {
		out, _ := os.ReadFile(filepath.Join(n.etc, fmt.Sprintf("daemon-%d.log", i)))
		fmt.Fprintf(&b, "--- %s daemon %d\n%s", n.name, i, out)
	}
	return b.String()
}
