package notify

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"keepalived-go/internal/nettest"
	"keepalived-go/internal/script"
	"keepalived-go/internal/script/scripttest"
)

// TestInteropSplitDebianKeepalived proves the split table against Debian's
// keepalived 2.2.7: every table string becomes a notify_master (even rows)
// or generic notify (odd rows) of a priority 255 MASTER instance in a
// namespace; the script is this test binary (hard linked as rec-NN) that
// records its argv; the recorded argv must equal what script.Parse gives
// (plus INSTANCE VI_n MASTER 255 for the generic notify).
//
// The same scenario then runs with our daemon (cmd/keepalived), so the
// comparison covers the whole path an operator's script sees, not only
// the splitter.
func TestInteropSplitDebianKeepalived(t *testing.T) {
	nettest.NeedKeepalived(t)
	ours := filepath.Join(t.TempDir(), "keepalived-go")
	if out, err := exec.Command("go", "build", "-o", ours, "keepalived-go/cmd/keepalived").CombinedOutput(); err != nil {
		t.Fatalf("build our daemon: %v\n%s", err, out)
	}
	for _, bin := range []string{nettest.DebianKeepalived, ours} {
		t.Run(filepath.Base(bin), func(t *testing.T) { splitInterop(t, bin) })
	}
}

func splitInterop(t *testing.T, bin string) {
	dir := t.TempDir()
	recDir := filepath.Join(dir, "rec")
	if err := os.Mkdir(recDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	type want struct {
		prog string
		argv []string
	}
	wants := map[string]want{}
	var conf strings.Builder
	// The FIFO exists before keepalived starts, so it is left in place and
	// keeps the lines written to it; the FIFO script is a recorder too.
	fifoPath := filepath.Join(dir, "notify.fifo")
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		t.Fatal(err)
	}
	fifoR, err := os.OpenFile(fifoPath, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fifoR.Close()
	fifoProg := filepath.Join(dir, "rec-fifo")
	linkOrCopy(t, exe, fifoProg)
	fmt.Fprintf(&conf, "global_defs {\n  router_id KAGO_NOTIFY\n  vrrp_notify_fifo %s\n  vrrp_notify_fifo_script \"%s -x\"\n}\n", fifoPath, fifoProg)
	wants["rec-fifo"] = want{prog: "vrrp_notify_fifo_script", argv: FifoScriptArgv([]string{fifoProg, "-x"}, fifoPath)}
	var fifoWant []string
	for i := 0; i < len(scripttest.SplitCases); i += 2 {
		inst := i/2 + 1
		fmt.Fprintf(&conf, "vrrp_instance VI_%d {\n  state MASTER\n  interface dum0\n  virtual_router_id %d\n"+
			"  priority 255\n  advert_int 1\n  virtual_ipaddress {\n    198.51.100.%d/32\n  }\n", inst, inst, 200+inst)
		for j := i; j < i+2 && j < len(scripttest.SplitCases); j++ {
			tc := scripttest.SplitCases[j]
			prog := filepath.Join(dir, fmt.Sprintf("rec-%02d", j))
			linkOrCopy(t, exe, prog)
			spec, err := script.Parse(strings.ReplaceAll(tc.Rest, scripttest.ProgToken, prog))
			if err != nil {
				t.Fatalf("%s: %v", tc.Name, err)
			}
			argv := spec.Argv
			kw := "notify_master"
			if j%2 == 1 {
				kw = "notify"
				argv = GenericNotifyArgv(argv, KindInstance, fmt.Sprintf("VI_%d", inst), StateMaster, 255)
			}
			if w := scripttest.Subst(tc.Argv, prog); !reflect.DeepEqual(spec.Argv, w) {
				t.Fatalf("%s: table and splitter disagree: %q vs %q", tc.Name, spec.Argv, w)
			}
			wants[filepath.Base(prog)] = want{prog: tc.Name, argv: argv}
			fmt.Fprintf(&conf, "  %s %s\n", kw, strings.ReplaceAll(tc.Rest, scripttest.ProgToken, prog))
		}
		conf.WriteString("}\n")
		fifoWant = append(fifoWant, InstanceFifoLine(KindInstance, fmt.Sprintf("VI_%d", inst), StateMaster, 255))
	}
	confPath := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	ns := nettest.OneLinkNS(t, "kago-notify")
	ka := nettest.StartDaemon(t, bin, ns, dir, confPath, recordEnv+"="+recDir)

	// First recording of each recorder (a generic notify also runs at STOP).
	got := map[string][]string{}
	collect := func() bool { return collectRecordings(recDir, got) >= len(wants) }
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if !nettest.Until(ctx, collect) {
		t.Errorf("only %d of %d scripts recorded within 15 s; the daemon said:\n%s", len(got), len(wants), ka.Out.String())
	}
	for base, w := range wants {
		g, ok := got[base]
		if !ok {
			t.Errorf("%s (%s): not run by %s", base, w.prog, bin)
			continue
		}
		if !reflect.DeepEqual(g, w.argv) {
			t.Errorf("%s (%s):\n %s passed %q\n the table says  %q", base, w.prog, bin, g, w.argv)
		}
	}
	checkFifoLines(t, fifoR, fifoWant)
	if t.Failed() {
		t.Logf("config:\n%s\nkeepalived output:\n%s", conf.String(), ka.Out.String())
	}
}

// collectRecordings adds the first recording of each recorder found in
// dir to got (a generic notify also runs at STOP) and returns how many
// recorders have one.
func collectRecordings(dir string, got map[string][]string) int {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			continue
		}
		base := name[:strings.IndexByte(name, '.')]
		if _, ok := got[base]; ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		got[base] = strings.Split(string(b), "\x00")
	}
	return len(got)
}

// checkFifoLines requires every wanted line in what the FIFO holds.
func checkFifoLines(t *testing.T, fifo *os.File, want []string) {
	t.Helper()
	buf := make([]byte, 1<<16)
	n, _ := fifo.Read(buf)
	lines := strings.SplitAfter(string(buf[:n]), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		if l != "" {
			seen[l] = true
		}
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("fifo line %q missing; fifo held %q", w, lines)
		}
	}
}

// linkOrCopy hard links the test binary as a recorder, copying it when the
// build directory is on another file system.
func linkOrCopy(t *testing.T, src, dst string) {
	t.Helper()
	if os.Link(src, dst) == nil {
		return
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
