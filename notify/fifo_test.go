package notify

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/script"
)

func TestFifoLines(t *testing.T) {
	tcpVS := "[198.51.100.10]:tcp:80"
	cases := []struct{ got, want string }{
		{InstanceFifoLine(KindInstance, "VI_1", StateMaster, 100), "INSTANCE \"VI_1\" MASTER 100\n"},
		{InstanceFifoLine(KindGroup, "G1", StateFault, 0), "GROUP \"G1\" FAULT 0\n"},
		{InstanceFifoLine(KindInstance, "ETH0", EventMasterRxLowerPri, 200), "INSTANCE \"ETH0\" MASTER_RX_LOWER_PRI 200\n"},
		{InstanceFifoLine(KindInstance, "ETH0", EventBackupPriority, 90), "INSTANCE \"ETH0\" BACKUP_PRIORITY 90\n"},
		{InstanceFifoLine(KindInstance, "ETH0", "bogus", 90), "INSTANCE \"ETH0\" {UNKNOWN} 90\n"},
		{VSFifoLine(tcpVS, true), "VS [198.51.100.10]:tcp:80 UP\n"},
		{RSFifoLine(tcpVS, "[198.51.100.11]:tcp:80", false), "RS [198.51.100.11]:tcp:80 [198.51.100.10]:tcp:80 DOWN\n"},
		{VSFifoLine("FWM 7", false), "VS FWM 7 DOWN\n"},
		{RSFifoLine("FWM 7", "[2001:db8::1]:none:0", true), "RS [2001:db8::1]:none:0 FWM 7 UP\n"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

type recordRunner struct {
	started chan script.Command
}

func (r recordRunner) Run(ctx context.Context, c script.Command) error {
	r.started <- c
	<-ctx.Done()
	return script.ErrCanceled
}

func TestFifoCreateWriteClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ka.fifo")
	var logged []string
	rr := recordRunner{started: make(chan script.Command, 1)}
	cmd := &script.Command{Argv: FifoScriptArgv([]string{"/usr/local/bin/fifo-reader"}, path)}
	f, err := OpenFifo(FifoConfig{Kind: FifoVRRP, Path: path, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Script: cmd},
		rr, func(fm string, a ...any) { logged = append(logged, sprintf(fm, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("fifo not created: %v %v", st, err)
	}
	select {
	case c := <-rr.started:
		if len(c.Argv) != 2 || c.Argv[1] != path {
			t.Errorf("fifo script argv %q", c.Argv)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fifo script not started")
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := f.WriteLine(InstanceFifoLine(KindInstance, "VI_1", StateBackup, 100)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "INSTANCE \"VI_1\" BACKUP 100\n" {
		t.Errorf("read %q, %v", line, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fifo we created not removed: %v", err)
	}
	if len(logged) != 1 || logged[0] != "vrrp notify fifo script terminated" {
		t.Errorf("log %q", logged)
	}
	if err := f.WriteLine("x\n"); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestFifoFullDropsWithoutBlocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.fifo")
	f, err := OpenFifo(FifoConfig{Path: path, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := InstanceFifoLine(KindInstance, "VI_1", StateMaster, 100)
	var dropped bool
	for i := 0; i < 1<<16 && !dropped; i++ {
		if err := f.WriteLine(line); err != nil {
			if !errors.Is(err, syscall.EAGAIN) {
				t.Fatalf("write error %v", err)
			}
			dropped = true
		}
	}
	if !dropped {
		t.Error("pipe never filled")
	}
}

func TestFifoExistingKeptOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pre.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFifo(FifoConfig{Kind: FifoLVS, Path: path, UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("pre-existing fifo removed: %v", err)
	}
	var logged []string
	bad := filepath.Join(t.TempDir(), "no", "dir")
	_, err = OpenFifo(FifoConfig{Kind: FifoLVS, Path: bad}, nil,
		func(fm string, a ...any) { logged = append(logged, sprintf(fm, a...)) })
	if err == nil || len(logged) != 1 || logged[0] != "Unable to create lvs_notify fifo "+bad {
		t.Errorf("err %v, log %q", err, logged)
	}
}
