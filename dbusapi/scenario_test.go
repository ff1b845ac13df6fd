package dbusapi

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"keepalived-go/internal/dbustest"

	"github.com/sirupsen/logrus"
)

// The scenario both implementations go through: six instances (one on an
// interface that is down, so FAULT; two sharing VRID 51 on different
// interfaces; names with '-' and '.'), then a reload that removes VI_2,
// renames VI_3 to VI_3B and adds VI_6, then a stop.

type scenInst struct {
	Instance
	vip string
}

var (
	scenStart = []scenInst{
		{Instance{Name: "VI_1", Interface: "kg-a", VRID: 51, Family: FamilyIPv4}, "198.51.100.10/24"},
		{Instance{Name: "VI_2", Interface: "kg-a", VRID: 52, Family: FamilyIPv6}, "2001:db8::10/64"},
		{Instance{Name: "VI_3", Interface: "kg-b", VRID: 51, Family: FamilyIPv4}, "198.51.100.11/24"},
		{Instance{Name: "VI_4", Interface: "kg.c", VRID: 7, Family: FamilyIPv4}, "203.0.113.10/24"},
		{Instance{Name: "VI_5", Interface: "kgd", VRID: 200, Family: FamilyIPv6}, "2001:db8:1::10/64"},
		{Instance{Name: "VI_DOWN", Interface: "kgdown", VRID: 9, Family: FamilyIPv4}, "198.51.100.19/24"},
	}
	scenReload = []scenInst{
		scenStart[0],
		{Instance{Name: "VI_3B", Interface: "kg-b", VRID: 51, Family: FamilyIPv4}, "198.51.100.11/24"},
		scenStart[3],
		scenStart[4],
		scenStart[5],
		{Instance{Name: "VI_6", Interface: "kg-a", VRID: 60, Family: FamilyIPv4}, "198.51.100.12/24"},
	}
	scenRemoved = []string{"VI_2"}
	// scenProbed is the instance the probes call.
	scenProbed = "/org/keepalived/Vrrp1/Instance/kg_a/51/IPv4"
)

// keepalivedConf is the scenario's keepalived.conf.
func keepalivedConf(insts []scenInst) string {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id KGDBUS\n    enable_dbus\n}\n")
	for _, in := range insts {
		fmt.Fprintf(&b, "vrrp_instance %s {\n    state BACKUP\n    interface %s\n    virtual_router_id %d\n"+
			"    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        %s\n    }\n}\n",
			in.Name, in.Interface, in.VRID, in.vip)
	}
	return b.String()
}

func instances(insts []scenInst) []Instance {
	var out []Instance
	for _, in := range insts {
		out = append(out, in.Instance)
	}
	return out
}

// mirror drives our Service with the facts keepalived's signals report:
// the states at bus acquisition, each later state change, the reload and
// the stop, in keepalived's order. This is what the VRRP engine will feed
// the Service.
type mirror struct {
	t       *testing.T
	svc     *Service
	eng     *fakeEngine
	ours    *dbustest.SignalLog // our side, to wait for our name
	naming  Naming
	pending []string // state lines between VrrpStarted and the name
	early   []string // state lines before VrrpStarted
	inStart bool
	started bool
	done    int
}

func newMirror(t *testing.T, addr string, ours *dbustest.SignalLog, log *logrus.Entry) *mirror {
	eng := &fakeEngine{insts: instances(scenStart)}
	svc := New(Options{Address: addr, Log: log, Provider: eng, Commands: eng})
	t.Cleanup(svc.Stop)
	return &mirror{t: t, eng: eng, svc: svc, ours: ours}
}

var sigLine = regexp.MustCompile(`^signal flags=\d+ (\S+) (\S+)\.(\w+) sig="[^"]*" body=\[(\d*)\]`)

// apply mirrors keepalived's log lines from where it stopped last time.
//
// keepalived announces the states at bus acquisition from its DBus thread
// while its VRRP thread goes on: a change made once the connection is up
// but before VrrpStarted goes out first ("early"), a change made during the
// sweep (one line per instance, in instance order) lands among its lines.
// The mirror takes each instance's first line after VrrpStarted as its
// state at acquisition and plays the early and extra lines as changes once
// our name is taken; signalsEquivalent allows for that reordering.
func (m *mirror) apply(lines []string) {
	for _, line := range lines[m.done:] {
		m.done++
		if strings.HasPrefix(line, "name ") {
			if m.inStart && strings.HasSuffix(line, "owner true") {
				m.inStart = false
				m.acquire()
			}
			continue
		}
		g := sigLine.FindStringSubmatch(line)
		if g == nil {
			m.t.Fatalf("unparsed signal line %q", line)
		}
		switch {
		case g[3] == "VrrpStarted":
			m.inStart = true
		case g[3] == "VrrpStatusChange" && !m.started:
			if m.inStart {
				m.pending = append(m.pending, line)
			} else {
				m.early = append(m.early, line)
			}
		case g[3] == "VrrpStatusChange":
			m.svc.StateChanged(m.setState(line))
		case g[3] == "VrrpReloaded":
			m.reload()
		case g[3] == "VrrpStopped":
			m.svc.Stop()
		}
	}
}

// acquire starts our service with the acquisition states, then plays the
// changes keepalived sent around its sweep.
func (m *mirror) acquire() {
	seen := map[string]bool{}
	var later []string
	for _, line := range m.pending {
		path := sigLine.FindStringSubmatch(line)[1]
		if seen[path] {
			later = append(later, line)
			continue
		}
		seen[path] = true
		m.setState(line)
	}
	m.started = true
	m.svc.Start()
	m.ours.WaitFor(m.t, "owner true", 10*time.Second)
	for _, line := range m.early {
		m.svc.StateChanged(m.instanceFor(line)) // already in the sweep's state
	}
	for _, line := range later {
		m.svc.StateChanged(m.setState(line))
	}
}

// instanceFor is the instance at a VrrpStatusChange's path in that line's
// state, leaving the engine as it is.
func (m *mirror) instanceFor(line string) Instance {
	g := sigLine.FindStringSubmatch(line)
	st, _ := strconv.Atoi(g[4])
	for _, in := range m.eng.Instances() {
		if string(m.naming.InstancePath(in.Interface, in.VRID, in.Family)) == g[1] {
			in.State = State(st)
			return in
		}
	}
	m.t.Fatalf("no instance at %s", g[1])
	return Instance{}
}

// setState records a VrrpStatusChange's state on the instance at its path.
func (m *mirror) setState(line string) Instance {
	g := sigLine.FindStringSubmatch(line)
	st, _ := strconv.Atoi(g[4])
	m.eng.mu.Lock()
	defer m.eng.mu.Unlock()
	for i, in := range m.eng.insts {
		if string(m.naming.InstancePath(in.Interface, in.VRID, in.Family)) == g[1] {
			m.eng.insts[i].State = State(st)
			return m.eng.insts[i]
		}
	}
	m.t.Fatalf("no instance at %s", g[1])
	return Instance{}
}

// reload swaps in the new config: an instance that matches an old one
// (VRID, family, interface: keepalived's vrrp_exist) keeps its state,
// others start in INIT.
func (m *mirror) reload() {
	old := m.eng.Instances()
	next := instances(scenReload)
	for i, n := range next {
		for _, o := range old {
			if o.VRID == n.VRID && o.Family == n.Family && o.Interface == n.Interface {
				next[i].State = o.State
			}
		}
	}
	m.eng.set(next...)
	m.svc.Reload(scenRemoved)
}

// signalsEquivalent compares two signal logs: each object path's signals in
// the same order, the Vrrp object's signals and the name changes in the
// same order, and before VrrpReloaded and VrrpStopped the same signals of
// each instance. This is exact equality up to how keepalived's two threads
// interleave instance signals at startup (see mirror.apply).
func signalsEquivalent(t *testing.T, what string, ours, theirs []string) {
	t.Helper()
	key := func(line string) string {
		if g := sigLine.FindStringSubmatch(line); g != nil && g[2] == InstanceInterface {
			return g[1]
		}
		return "" // the Vrrp object and the name: one sequence
	}
	view := func(lines []string) string {
		per := map[string][]string{}
		var b strings.Builder
		for _, l := range lines {
			k := key(l)
			per[k] = append(per[k], l)
			if strings.Contains(l, ".VrrpReloaded ") || strings.Contains(l, ".VrrpStopped ") {
				// What each instance had sent by then.
				var counts []string
				for p, ls := range per {
					if p != "" {
						counts = append(counts, fmt.Sprintf("%s:%d", p, len(ls)))
					}
				}
				sort.Strings(counts)
				fmt.Fprintf(&b, "before %s: %v\n", l, counts)
			}
		}
		var keys []string
		for k := range per {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s:\n  %s\n", k, strings.Join(per[k], "\n  "))
		}
		return b.String()
	}
	if view(ours) != view(theirs) {
		t.Errorf("%s: signals differ\n--- ours\n%s\n--- keepalived\n%s", what, strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
	} else if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Logf("%s: keepalived's startup interleaved its threads; same signals per object", what)
	}
}

// settle waits for the log to hold at least n lines, then for quiet.
func settle(l *dbustest.SignalLog, n int) []string {
	deadline := time.Now().Add(10 * time.Second)
	for len(l.All()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return l.WaitQuiet(300*time.Millisecond, 5*time.Second)
}
