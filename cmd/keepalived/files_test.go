package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
)

const debianKeepalived = "/usr/sbin/keepalived"

func needDebianKeepalived(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(debianKeepalived); err != nil {
		t.Skip("Debian's keepalived is not installed (/usr/sbin/keepalived): apt-get install keepalived")
	}
}

// fileState describes what is at path: "absent", "symlink", or
// "file OWNER MODE CONTENT" (the content "PID" when it is want).
func fileState(path string, pid int) string {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return "absent"
	case fi.Mode()&os.ModeSymlink != 0:
		return "symlink"
	}
	st := fi.Sys().(*syscall.Stat_t)
	kind := "file"
	if fi.Mode()&os.ModeNamedPipe != 0 {
		kind = "fifo"
	}
	content := "-" // never open a FIFO: that blocks until a writer comes
	if kind == "file" {
		b, _ := os.ReadFile(path)
		content = strings.TrimSpace(string(b))
	}
	if content == strconv.Itoa(pid) {
		content = "PID"
	}
	return fmt.Sprintf("%s uid=%d %03o %s", kind, st.Uid, fi.Mode().Perm(), content)
}

// deadPid is the pid of a process that has exited.
func deadPid(t *testing.T) int {
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

type daemonRun struct {
	ran      bool   // it ran (wrote its pid), else it refused to start
	pid      string // state of the main pid file while running (or after refusal)
	after    string // state of the main pid file after it stopped
	leftover []string
	log      string
}

// runOnce starts bin with dir's config and pid files, waits until it runs
// (its pid in k.pid) or exits, then stops it with SIGTERM.
func runOnce(t *testing.T, node *nettest.Node, bin, dir string, extra ...string) daemonRun {
	t.Helper()
	args := append([]string{bin, "-n", "-l", "-G", "-f", filepath.Join(dir, "k.conf"),
		"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}, extra...)
	p := node.Start(nil, args...)
	pid := p.Cmd.Process.Pid
	exited := make(chan struct{})
	go func() { p.Wait(); close(exited) }()
	var r daemonRun
	deadline := time.Now().Add(10 * time.Second)
	for !r.ran {
		select {
		case <-exited:
			r.pid = fileState(filepath.Join(dir, "k.pid"), pid)
			r.after, r.log = r.pid, p.Output()
			return r
		case <-time.After(20 * time.Millisecond):
		}
		if strings.HasSuffix(fileState(filepath.Join(dir, "k.pid"), pid), " PID") {
			r.ran = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s neither ran nor exited:\n%s", bin, p.Output())
		}
	}
	// keepalived writes its pid file before its children have started;
	// let it settle so SIGTERM meets a running daemon.
	time.Sleep(500 * time.Millisecond)
	r.pid = fileState(filepath.Join(dir, "k.pid"), pid)
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", bin, p.Output())
	}
	r.after, r.log = fileState(filepath.Join(dir, "k.pid"), pid), p.Output()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "k.conf" && e.Name() != "target" {
			r.leftover = append(r.leftover, e.Name())
		}
	}
	return r
}

// TestPidFilesAsKeepalived: a pid file that is a symbolic link, or that
// another user planted, is handled as Debian's keepalived handles it:
// read (through the link), removed when it names no live process and
// recreated by us (root, 0644), never written through; keepalived refuses
// to start over a live pid, an unreadable one (removing it) or a link it
// cannot replace.
func TestPidFilesAsKeepalived(t *testing.T) {
	needDebianKeepalived(t)
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("pid")
	dead := deadPid(t)
	for _, tc := range []struct {
		name  string
		setup func(dir string)
		ran   bool
	}{
		{"symlink to a file that is no pid file", func(dir string) {
			os.WriteFile(filepath.Join(dir, "target"), []byte("precious\n"), 0o644)
			os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "k.pid"))
		}, false},
		{"symlink to the pid of a dead process", func(dir string) {
			os.WriteFile(filepath.Join(dir, "target"), []byte(strconv.Itoa(dead)+"\n"), 0o644)
			os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "k.pid"))
		}, true},
		{"dangling symlink", func(dir string) {
			os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "k.pid"))
		}, false},
		{"another user's file with a dead pid", func(dir string) {
			f := filepath.Join(dir, "k.pid")
			os.WriteFile(f, []byte(strconv.Itoa(dead)+"\n"), 0o666)
			os.Chmod(f, 0o666)
			os.Chown(f, 65534, 65534)
		}, true},
		{"another user's file with a live pid", func(dir string) {
			f := filepath.Join(dir, "k.pid")
			os.WriteFile(f, []byte("1\n"), 0o644)
			os.Chown(f, 65534, 65534)
		}, false},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			var runs [2]daemonRun
			var targets [2]string
			for i, b := range []string{bin, debianKeepalived} {
				dir := t.TempDir()
				os.Chmod(dir, 0o755)
				os.WriteFile(filepath.Join(dir, "k.conf"), []byte("global_defs {\n    router_id PIDTEST\n}\n"), 0o644)
				tc.setup(dir)
				runs[i] = runOnce(t, node, b, dir)
				targets[i] = fileState(filepath.Join(dir, "target"), 0)
			}
			ours, ka := runs[0], runs[1]
			t.Logf("ours: ran %v, pid file %q, after stop %q, target %q", ours.ran, ours.pid, ours.after, targets[0])
			t.Logf("keepalived: ran %v, pid file %q, after stop %q, target %q", ka.ran, ka.pid, ka.after, targets[1])
			if ours.ran != tc.ran || ka.ran != tc.ran {
				t.Errorf("ran: ours %v, keepalived %v, want %v\nours:\n%s\nkeepalived:\n%s", ours.ran, ka.ran, tc.ran, ours.log, ka.log)
			}
			if ours.pid != ka.pid || ours.after != ka.after || targets[0] != targets[1] {
				t.Errorf("ours and keepalived differ")
			}
			if tc.ran && (ours.pid != "file uid=0 644 PID" || ours.after != "absent" || len(ours.leftover) != 0) {
				t.Errorf("ours: pid file %q, after stop %q, left %v; want a fresh root 0644 file, removed on stop", ours.pid, ours.after, ours.leftover)
			}
			if strings.HasPrefix(targets[0], "file") && !strings.Contains(targets[0], "precious") && !strings.HasSuffix(targets[0], strconv.Itoa(dead)) {
				t.Errorf("the link's target was written through: %q", targets[0])
			}
		})
	}
}

// TestUmaskAndFifoMode: our umask is keepalived's 0177, so the notify
// FIFO comes out 0600 as keepalived's does; -u and global_defs umask
// change it as in keepalived, and the pid file stays 0644 whatever the
// umask.
func TestUmaskAndFifoMode(t *testing.T) {
	needDebianKeepalived(t)
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("fifo", "198.51.100.2/24")
	conf := func(dir, umask string) string {
		return fmt.Sprintf(`global_defs {
    router_id FIFOTEST
    notify_fifo %s/fifo
%s}
vrrp_instance VI {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24
    }
}
`, dir, umask)
	}
	for _, tc := range []struct {
		name, umask string
		flags       []string
		fifo        string
	}{
		{"default", "", nil, "fifo uid=0 600 -"},
		{"-u 022", "", []string{"-u", "022"}, "fifo uid=0 644 -"},
		{"-u 077", "", []string{"-u", "077"}, "fifo uid=0 600 -"},
		{"global_defs umask", "    umask IWGRP|IWOTH\n", nil, "fifo uid=0 644 -"},
		{"-u over global_defs", "    umask 0\n", []string{"-u", "0177"}, "fifo uid=0 600 -"},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			var got [2]string
			for i, b := range []string{bin, debianKeepalived} {
				dir := t.TempDir()
				os.Chmod(dir, 0o755)
				os.WriteFile(filepath.Join(dir, "k.conf"), []byte(conf(dir, tc.umask)), 0o644)
				args := append([]string{b, "-n", "-l", "-G", "-f", filepath.Join(dir, "k.conf"), "-p", filepath.Join(dir, "k.pid"),
					"-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}, tc.flags...)
				p := node.Start(nil, args...)
				nettest.WaitFor(t, 10*time.Second, b+" FIFO", func() bool {
					_, err := os.Lstat(filepath.Join(dir, "fifo"))
					return err == nil
				})
				got[i] = fileState(filepath.Join(dir, "fifo"), 0)
				pidState := fileState(filepath.Join(dir, "k.pid"), p.Cmd.Process.Pid)
				if !strings.HasPrefix(pidState, "file uid=0 644") {
					t.Errorf("%s: pid file %q, want mode 0644", b, pidState)
				}
				p.Signal(syscall.SIGTERM)
				p.Wait()
			}
			t.Logf("%s: ours %q, keepalived %q", tc.name, got[0], got[1])
			if got[0] != tc.fifo || got[1] != tc.fifo {
				t.Errorf("FIFO: ours %q, keepalived %q, want %q", got[0], got[1], tc.fifo)
			}
		})
	}
}

// TestNothingLeftAfterSIGTERM: after SIGTERM our pid files and the notify
// FIFO we created are gone, and so are the nftables data plane's tables
// (they used to stay behind, empty); with -I (--dont-release-ipvs) the
// table stays, as keepalived leaves IPVS.
func TestNothingLeftAfterSIGTERM(t *testing.T) {
	bin := buildSelf(t)
	lan := nettest.NewLAN(t)
	node := lan.AddNode("stop", "198.51.100.2/24")
	for _, keep := range []bool{false, true} {
		dir := t.TempDir()
		os.Chmod(dir, 0o755)
		conf := fmt.Sprintf(`global_defs {
    router_id STOPTEST
    notify_fifo %s/fifo
}
virtual_server 203.0.113.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.20 80 {
        weight 1
    }
    real_server 198.51.100.21 80 {
        weight 1
    }
}
`, dir)
		os.WriteFile(filepath.Join(dir, "k.conf"), []byte(conf), 0o644)
		args := []string{bin, "-n", "-l", "-G", "--lvs-backend", "nftables", "-f", filepath.Join(dir, "k.conf"),
			"-p", filepath.Join(dir, "k.pid"), "-r", filepath.Join(dir, "v.pid"), "-c", filepath.Join(dir, "c.pid")}
		if keep {
			args = append(args, "-I")
		}
		p := node.Start(nil, args...)
		nettest.WaitFor(t, 10*time.Second, "the nftables table", func() bool {
			out, _ := node.Exec("nft", "list", "map", "inet", "keepalived_lb", "svc4")
			return strings.Contains(out, "203.0.113.10")
		})
		p.Signal(syscall.SIGTERM)
		p.Wait()
		tables := node.MustExec("nft", "list", "tables")
		var left []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.Name() != "k.conf" {
				left = append(left, e.Name())
			}
		}
		t.Logf("-I %v: tables after SIGTERM %q, files left %v", keep, strings.TrimSpace(tables), left)
		if len(left) != 0 {
			t.Errorf("files left after SIGTERM: %v\n%s", left, p.Output())
		}
		if strings.Contains(tables, "keepalived_lb") != keep {
			t.Errorf("-I %v: tables after SIGTERM:\n%s\n%s", keep, tables, p.Output())
		}
		node.Exec("nft", "delete", "table", "inet", "keepalived_lb")
	}
}
