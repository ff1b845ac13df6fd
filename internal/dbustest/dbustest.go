// Package dbustest runs private system-type dbus-daemons for tests, with a
// service's policy file included as Debian's system bus includes
// /etc/dbus-1/system.d, records the signals a monitor sees, and runs the
// standard clients (busctl, dbus-send) against them, masking what differs
// from run to run.
package dbustest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// busConfig is a system bus as Debian's system.conf sets it up (the
// default policy: method calls denied unless a service's policy file
// allows them), listening in a directory, with one policy file included.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=%s</listen>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <include>%s</include>
</busconfig>
`

// Skip skips the test unless the bus and its clients are installed.
func Skip(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"dbus-daemon", "dbus-send", "busctl", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian packages dbus-daemon, dbus-bin, systemd, util-linux)", tool)
		}
	}
}

// Dir makes a directory an unprivileged caller can reach, under /run (a
// daemon given a private /tmp still sees it); removed at test end.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/run", "kgdbus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// StartBus runs a private system bus with its socket in dir and policy
// included, and returns its address. The daemon is killed at test end.
func StartBus(t testing.TB, dir, policy string) string {
	t.Helper()
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(busConfig, sock, policy)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nosyslog", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "bus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("dbus-daemon's log (%s):\n%s", dir, b)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	if !strings.HasPrefix(line, "unix:path="+sock) {
		t.Fatalf("dbus-daemon address %q", line)
	}
	return "unix:path=" + sock
}

// Run runs a command and returns its combined output, errors included.
func Run(argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out)
}

// AsNobody runs a command as uid/gid 65534 with no groups.
func AsNobody(argv ...string) string {
	return Run(append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)...)
}

var (
	maskReply   = regexp.MustCompile(`(?m)^method return time=\S+ sender=\S+ -> destination=\S+ serial=\d+ reply_serial=\d+$`)
	maskCreds   = regexp.MustCompile(`\(uid=(\d+) pid=\d+ comm="[^"]*"\)`)
	maskSender  = regexp.MustCompile(`sender=":1\.\d+"`)
	machineIDRe = regexp.MustCompile(`"[0-9a-f]{32}"`)
)

// Mask removes what differs between two runs of the same service:
// serials, unique names, PIDs, command lines, the machine ID.
func Mask(s string) string {
	s = maskReply.ReplaceAllString(s, "method return")
	s = maskCreds.ReplaceAllString(s, "(uid=$1 pid=N comm=C)")
	s = maskSender.ReplaceAllString(s, `sender=":1.N"`)
	return machineIDRe.ReplaceAllString(s, `"<machine-id>"`)
}

// SignalLog records the signals below a path namespace, and the
// ownership changes of a name, as a monitor sees them.
type SignalLog struct {
	mu    sync.Mutex
	lines []string
	conn  *dbus.Conn
}

// Monitor subscribes to the signals below pathNS and to name's ownership
// changes on the bus at addr.
func Monitor(t testing.TB, addr, pathNS, name string) *SignalLog {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	l := &SignalLog{conn: conn}
	for _, rule := range []string{"type='signal',path_namespace='" + pathNS + "'",
		"type='signal',member='NameOwnerChanged',arg0='" + name + "'"} {
		if err := conn.BusObject().Call("org.freedesktop.DBus.AddMatch", 0, rule).Err; err != nil {
			t.Fatalf("AddMatch: %v", err)
		}
	}
	ch := make(chan *dbus.Message, 1024)
	conn.Eavesdrop(ch)
	go func() {
		for m := range ch {
			l.add(m)
		}
	}()
	// godbus's Close closes the eavesdrop channel while its reader may
	// still send on it: detach the channel first.
	t.Cleanup(func() { conn.Eavesdrop(nil); conn.Close() })
	return l
}

func (l *SignalLog) add(m *dbus.Message) {
	if m.Type != dbus.TypeSignal {
		return
	}
	h := func(f dbus.HeaderField) string {
		if v, ok := m.Headers[f]; ok {
			return fmt.Sprint(v.Value())
		}
		return ""
	}
	var line string
	if h(dbus.FieldMember) == "NameOwnerChanged" {
		old, _ := m.Body[1].(string)
		line = fmt.Sprintf("name %s owner %v", m.Body[0], old == "")
	} else {
		line = fmt.Sprintf("signal flags=%d %s %s.%s sig=%q body=%v",
			m.Flags, h(dbus.FieldPath), h(dbus.FieldInterface), h(dbus.FieldMember), h(dbus.FieldSignature), m.Body)
		if h(dbus.FieldDestination) != "" {
			line += " dest=" + h(dbus.FieldDestination)
		}
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

// All returns the lines so far.
func (l *SignalLog) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// WaitFor waits until a line contains s.
func (l *SignalLog) WaitFor(t testing.TB, s string, max time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	for {
		for _, line := range l.All() {
			if strings.Contains(line, s) {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no signal %q in %v; got:\n%s", s, max, strings.Join(l.All(), "\n"))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitQuiet waits until no signal came for quiet, at most max, and
// returns the lines.
func (l *SignalLog) WaitQuiet(quiet, max time.Duration) []string {
	deadline := time.Now().Add(max)
	n, since := -1, time.Now()
	for time.Now().Before(deadline) {
		if c := len(l.All()); c != n {
			n, since = c, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return l.All()
}
