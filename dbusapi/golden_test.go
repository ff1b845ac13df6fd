package dbusapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"keepalived-go/internal/dbustest"

	"github.com/sirupsen/logrus"
)

// phaseMark separates start, reload and stop in testdata/keepalived/signals.txt.
const phaseMark = "# --- next phase"

// TestGoldenKeepalived replays what Debian's keepalived 2.2.7 did in the
// live scenario (its signals, recorded by TestLiveAgainstKeepalived
// -update) on our Service over a private system bus, and wants what
// keepalived showed at each point: the same signals, and after start and
// after reload the same busctl tree, Introspect documents, busctl
// introspect/get-property output and probe answers; as root, the same
// refusals for nobody. No keepalived, namespace or root needed.
func TestGoldenKeepalived(t *testing.T) {
	needBusTools(t)
	b, err := os.ReadFile(filepath.Join(goldenDir, "signals.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var phases [][]string
	for _, chunk := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"+phaseMark+"\n") {
		phases = append(phases, strings.Split(chunk, "\n"))
	}
	if len(phases) != 3 {
		t.Fatalf("signals.txt has %d phases, want start, reload and stop", len(phases))
	}
	addr := dbustest.StartBus(t, dbustest.Dir(t), installedPolicy)
	mon := dbustest.Monitor(t, addr, "/org/keepalived", DefaultServiceName)
	log := logrus.New()
	log.SetOutput(testWriter{t})
	m := newMirror(t, addr, mon, logrus.NewEntry(log))

	var want []string
	for i, golden := range []string{"start.txt", "reload.txt", ""} {
		want = append(want, phases[i]...)
		m.apply(want)
		signalsEquivalent(t, golden, settle(mon, len(want)), want)
		if golden == "" {
			break
		}
		diffSections(t, golden, snapshot(t, addr, DefaultServiceName, scenProbed), readSections(t, filepath.Join(goldenDir, golden)))
		if i == 0 && os.Geteuid() == 0 {
			if _, err := exec.LookPath("setpriv"); err == nil {
				diffSections(t, "policy", policyChecks(t, addr, DefaultServiceName, scenProbed), readSections(t, filepath.Join(goldenDir, "policy.txt")))
			}
		}
	}
	t.Logf("%d signals equal to keepalived's", len(want))
	// PrintData, PrintStats, PrintStatsClear and SendGarp probed after
	// start and after reload; the wrongly typed PrintData never arrives.
	want4 := []string{"PrintData", "PrintStats(false)", "PrintStats(true)", "SendGarp(VI_1)"}
	if got := m.eng.commands(); strings.Join(got, " ") != strings.Join(append(want4, want4...), " ") {
		t.Errorf("commands from the probes: %q", got)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
