package notify

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"keepalived-go/internal/script"
)

var update = flag.Bool("update", false, "rewrite golden files")

// recordingRunner is the Runner of the golden tests: it records every run.
type recordingRunner struct {
	mu   sync.Mutex
	runs []string
}

func (r *recordingRunner) Run(ctx context.Context, c script.Command) error {
	dl, _ := ctx.Deadline()
	r.mu.Lock()
	defer r.mu.Unlock()
	timeout := "none"
	if !dl.IsZero() {
		// Rounded: the golden file must not depend on scheduling.
		timeout = time.Until(dl).Round(time.Second).String()
	}
	r.runs = append(r.runs, fmt.Sprintf("exec uid=%d gid=%d timeout=%s argv=%q", c.UID, c.GID, timeout, c.Argv))
	return nil
}

type lineRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineRec) WriteLine(s string) error {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
	return nil
}

type mailRec struct{ mails []Mail }

func (m *mailRec) Submit(x Mail) error { m.mails = append(m.mails, x); return nil }

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestNotifierSeedScenarioGolden: the seed's ETH0 instance (redirect.sh for
// master/backup/fault, smtp_alert) plus a generic notify goes BACKUP ->
// MASTER -> FAULT -> FAULT again -> STOP; the argv sequence, FIFO lines and
// mails must match the golden file.
func TestNotifierSeedScenarioGolden(t *testing.T) {
	parse := func(rest string) *Script {
		spec, err := script.Parse(rest)
		if err != nil {
			t.Fatal(err)
		}
		return &Script{Argv: spec.Argv}
	}
	eth0 := &VRRPNotify{
		Kind:      KindInstance,
		Name:      "ETH0",
		Master:    parse(`"/etc/keepalived/redirect.sh del 198.51.100.10"`),
		Backup:    parse(`"/etc/keepalived/redirect.sh add 198.51.100.10"`),
		Fault:     parse(`"/etc/keepalived/redirect.sh add 198.51.100.10"`),
		Generic:   parse(`/usr/local/bin/ka-notify.sh`),
		SMTPAlert: true,
	}
	rr := &recordingRunner{}
	d := NewDispatcher(DispatcherOptions{Runner: rr, MaxConcurrent: 1})
	fifo := &lineRec{}
	mails := &mailRec{}
	nt := &Notifier{Scripts: d, VRRPFifos: []LineWriter{fifo}, Mail: mails, RouterID: "HA_LVS"}

	nt.VRRPState(eth0, StateBackup, 200)
	nt.VRRPState(eth0, StateMaster, 200)
	nt.VRRPEvent(eth0, EventMasterPriority, 150)
	nt.VRRPState(eth0, StateFault, 0)
	nt.VRRPState(eth0, StateFault, 0) // no second mail for the same state
	nt.VRRPState(eth0, StateStop, 0)
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	b.WriteString("# scripts, in run order\n")
	for _, r := range rr.runs {
		b.WriteString(r + "\n")
	}
	b.WriteString("# fifo\n")
	for _, l := range fifo.lines {
		b.WriteString(l)
	}
	b.WriteString("# mail\n")
	for _, m := range mails.mails {
		fmt.Fprintf(&b, "%s | %s\n", m.Subject, m.Body)
	}
	checkGolden(t, "seed_eth0_backup_master_fault.golden", b.String())
}

func TestNotifierDeletedAndLVS(t *testing.T) {
	rr := &recordingRunner{}
	d := NewDispatcher(DispatcherOptions{Runner: rr, MaxConcurrent: 1})
	vrrpFifo, lvsFifo := &lineRec{}, &lineRec{}
	mails := &mailRec{}
	nt := &Notifier{Scripts: d, VRRPFifos: []LineWriter{vrrpFifo}, LVSFifos: []LineWriter{lvsFifo}, Mail: mails, RouterID: "R", NoEmailFaults: true}

	vi := &VRRPNotify{Kind: KindInstance, Name: "VI_9", Fault: &Script{Argv: []string{"/f"}}, Deleted: &Script{Argv: []string{"/d"}}, SMTPAlert: true}
	nt.VRRPState(vi, StateDeleted, 50) // without notify_deleted: reported as FAULT, no mail (no_email_faults)
	vi.NotifyDeleted = true
	nt.VRRPState(vi, StateDeleted, 50)
	g := &VRRPNotify{Kind: KindGroup, Name: "G", Generic: &Script{Argv: []string{"/g"}, UID: 65534, GID: 65534}}
	nt.VRRPState(g, StateMaster, 200)

	vs := "[198.51.100.10]:tcp:80"
	rs := &RealServerNotify{VS: vs, RS: "[198.51.100.12]:tcp:80", Down: &Script{Argv: []string{"/rs-down", "x"}}}
	nt.RealServerState(rs, false, false)
	nt.RealServerState(rs, true, false) // no notify_up: FIFO only
	vsn := &VirtualServerNotify{VS: vs, Up: &Script{Argv: []string{"/q-up"}}, SMTPAlert: true}
	nt.QuorumState(vsn, true, false, QuorumMailBody(true, false, 1, 0, 1, 100))
	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`exec uid=0 gid=0 timeout=1m0s argv=["/f"]`,
		`exec uid=0 gid=0 timeout=1m0s argv=["/d"]`,
		`exec uid=65534 gid=65534 timeout=1m0s argv=["/g" "GROUP" "G" "MASTER" "0"]`,
		`exec uid=0 gid=0 timeout=1m0s argv=["/rs-down" "x"]`,
		`exec uid=0 gid=0 timeout=1m0s argv=["/q-up"]`,
	}
	// Keys run round-robin: only the order within VI_9 (/f then /d) is fixed.
	pos := map[string]int{}
	for i, r := range rr.runs {
		pos[r] = i
	}
	if len(rr.runs) != len(want) || len(pos) != len(want) {
		t.Fatalf("runs %q", rr.runs)
	}
	for _, w := range want {
		if _, ok := pos[w]; !ok {
			t.Errorf("missing run %s in %q", w, rr.runs)
		}
	}
	if pos[want[0]] > pos[want[1]] {
		t.Errorf("VI_9 scripts out of order: %q", rr.runs)
	}
	wantV := "INSTANCE \"VI_9\" FAULT 50\nINSTANCE \"VI_9\" DELETED 50\nGROUP \"G\" MASTER 0\n"
	if got := strings.Join(vrrpFifo.lines, ""); got != wantV {
		t.Errorf("vrrp fifo %q", got)
	}
	wantL := "RS [198.51.100.12]:tcp:80 [198.51.100.10]:tcp:80 DOWN\nRS [198.51.100.12]:tcp:80 [198.51.100.10]:tcp:80 UP\nVS [198.51.100.10]:tcp:80 UP\n"
	if got := strings.Join(lvsFifo.lines, ""); got != wantL {
		t.Errorf("lvs fifo %q", got)
	}
	if len(mails.mails) != 2 || mails.mails[0].Subject != "[R] VRRP Instance VI_9 - Deleted" ||
		mails.mails[1].Subject != "[R] Virtualserver [198.51.100.10]:tcp:80 - UP" {
		t.Errorf("mails %+v", mails.mails)
	}
}
