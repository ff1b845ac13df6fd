package lvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"keepalived-go/config"
)

const managerConf = `
vrrp_instance VI {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.51.100.40/24
    }
}
#SYNC
virtual_server 198.51.100.10 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        weight 100
        TCP_CHECK { }
    }
    real_server 198.51.100.12 80 {
        weight 100
        TCP_CHECK { }
    }
}
virtual_server 198.51.100.20 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    inhibit_on_failure
    real_server 198.51.100.11 80 {
        weight 10
        TCP_CHECK { }
    }
}
virtual_server 198.51.100.30 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 150
    quorum_up "/bin/true up"
    quorum_down "/bin/true down"
    sorry_server 198.51.100.99 80
    real_server 198.51.100.11 80 {
        weight 100
        TCP_CHECK { }
    }
    real_server 198.51.100.12 80 {
        weight 100
        TCP_CHECK { }
    }
}
virtual_server 198.51.100.40 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    ha_suspend
    real_server 198.51.100.11 80 {
        weight 1
        TCP_CHECK { }
    }
}
`

// syncBackend is a MemBackend with a recorded sync daemon.
type syncBackend struct {
	*MemBackend
	mu    sync.Mutex
	calls []string
}

func (s *syncBackend) SetSyncState(_ context.Context, d SyncDaemon) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "start "+d.String())
	return nil
}

func (s *syncBackend) StopSync(_ context.Context, id uint8) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("stop syncid %d", id))
	return nil
}

func (s *syncBackend) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

type harness struct {
	t      *testing.T
	m      *Manager
	b      *syncBackend
	quorum chan QuorumEvent
	susp   chan SuspendEvent
	stop   func() error
}

func newHarness(t *testing.T, conf string, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, b: &syncBackend{MemBackend: NewMemBackend(foreignTable())},
		quorum: make(chan QuorumEvent, 64), susp: make(chan SuspendEvent, 64)}
	opts.Open = func(kind string) (Backend, error) {
		if kind != "auto" {
			return nil, fmt.Errorf("backend %q", kind)
		}
		return h.b, nil
	}
	opts.OnQuorum = func(e QuorumEvent) { h.quorum <- e }
	opts.OnSuspend = func(e SuspendEvent) { h.susp <- e }
	m, err := NewManager(loadConf(t, conf), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	}
	stopped := false
	h.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { h.stop() })
	return h
}

// ops returns the ops applied since the last call, as strings.
func (h *harness) ops() []string {
	o := opStrings(h.b.Ops())
	h.b.ResetOps()
	return o
}

func (h *harness) health(vs, rs string, up bool) {
	h.t.Helper()
	ap := netip.MustParseAddrPort(rs)
	k := RSKey{VS: vs, RS: config.Trio(ap.Addr().String(), "TCP", int(ap.Port()))}
	if err := h.m.SetHealth(k, up, -1); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) nextQuorum() QuorumEvent {
	h.t.Helper()
	select {
	case e := <-h.quorum:
		return e
	default:
	}
	// Events are delivered on the engine's goroutine: wait for it.
	return <-h.quorum
}

func TestManagerHealthQuorumReloadStop(t *testing.T) {
	h := newHarness(t, managerConf, Options{})
	if got := len(h.ops()); got != 10 {
		t.Fatalf("start: %d ops, want 4 services + 6 destinations", got)
	}
	// Start reports each pool's quorum state, with its script.
	for i := 0; i < 4; i++ {
		e := h.nextQuorum()
		if !e.Up || !e.Init {
			t.Errorf("start event %+v", e)
		}
		if e.VirtualServer == "[198.51.100.30]:tcp:80" && (e.Script == nil || e.Script.Command != "/bin/true up") {
			t.Errorf("quorum_up script %+v", e.Script)
		}
	}

	h.health("[198.51.100.10]:tcp:80", "198.51.100.12:80", false)
	if got, want := h.ops(), []string{"del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80"}; !slices.Equal(got, want) {
		t.Errorf("down: %q", got)
	}
	// Same verdict again: nothing.
	h.health("[198.51.100.10]:tcp:80", "198.51.100.12:80", false)
	if got := h.ops(); len(got) != 0 {
		t.Errorf("repeated verdict: %q", got)
	}
	h.health("[198.51.100.20]:tcp:80", "198.51.100.11:80", false)
	if got, want := h.ops(), []string{"update-dest 198.51.100.11:80 Route weight 0 in TCP 198.51.100.20:80"}; !slices.Equal(got, want) {
		t.Errorf("inhibit: %q", got)
	}
	// Its only server down: no live weight, quorum (default 1) lost.
	if e := h.nextQuorum(); e.Up || e.VirtualServer != "[198.51.100.20]:tcp:80" || e.LiveWeight != 0 {
		t.Errorf("quorum of the inhibit pool: %+v", e)
	}
	h.health("[198.51.100.30]:tcp:80", "198.51.100.12:80", false)
	want := []string{
		"del-dest 198.51.100.11:80 Route weight 100 in TCP 198.51.100.30:80",
		"del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.30:80",
		"add-dest 198.51.100.99:80 Route weight 1 in TCP 198.51.100.30:80",
	}
	if got := h.ops(); !slices.Equal(got, want) {
		t.Errorf("quorum lost: %q", got)
	}
	if e := h.nextQuorum(); e.Up || e.Init || e.LiveWeight != 100 || e.Script == nil || e.Script.Command != "/bin/true down" {
		t.Errorf("quorum down event %+v", e)
	}
	h.health("[198.51.100.30]:tcp:80", "198.51.100.12:80", true)
	if got := h.ops(); len(got) != 3 {
		t.Errorf("quorum regained: %q", got)
	}
	if e := h.nextQuorum(); !e.Up || e.LiveWeight != 200 {
		t.Errorf("quorum up event %+v", e)
	}
	// A weight from a checker (MISC_CHECK dynamic) is one update.
	if err := h.m.SetHealth(RSKey{VS: "[198.51.100.10]:tcp:80", RS: "[198.51.100.11]:tcp:80"}, true, 7); err != nil {
		t.Fatal(err)
	}
	if got := h.ops(); len(got) != 1 || got[0] != "update-dest 198.51.100.11:80 Route weight 7 in TCP 198.51.100.10:80" {
		t.Errorf("dynamic weight: %q", got)
	}
	if err := h.m.SetHealth(RSKey{VS: "nope", RS: "[198.51.100.11]:tcp:80"}, true, -1); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("unknown server: %v", err)
	}

	// Reload: health carries over (.12 down in the first pool, .11 down
	// at weight 0 in the inhibit pool, the dynamic weight 7); of the two
	// weights changed in the file, the one of a down server cannot show,
	// the other is exactly one update.
	changed := replaceOnce(t, managerConf, "weight 10\n", "weight 20\n")
	changed = replaceOnce(t, changed, "quorum_down \"/bin/true down\"\n    sorry_server 198.51.100.99 80\n    real_server 198.51.100.11 80 {\n        weight 100",
		"quorum_down \"/bin/true down\"\n    sorry_server 198.51.100.99 80\n    real_server 198.51.100.11 80 {\n        weight 90")
	if err := h.m.Reload(loadConf(t, changed)); err != nil {
		t.Fatal(err)
	}
	if got := h.ops(); !slices.Equal(got, []string{"update-dest 198.51.100.11:80 Route weight 90 in TCP 198.51.100.30:80"}) {
		t.Errorf("reload: %q", got)
	}
	h.health("[198.51.100.20]:tcp:80", "198.51.100.11:80", true)
	if got := h.ops(); !slices.Equal(got, []string{"update-dest 198.51.100.11:80 Route weight 20 in TCP 198.51.100.20:80"}) {
		t.Errorf("recovered after reload: %q", got)
	}
	if e := h.nextQuorum(); !e.Up || e.LiveWeight != 20 {
		t.Errorf("quorum after recovery: %+v", e)
	}

	// Stop: ours go, the operator's service stays.
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	got, _ := h.b.List(context.Background())
	if got.String() != foreignTable().String() {
		t.Errorf("after stop:\n%s", got)
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in config", old)
	}
	return strings.Replace(s, old, new, 1)
}

func TestManagerSyncDaemonFollowsVRRP(t *testing.T) {
	conf := strings.Replace(managerConf, "#SYNC", "global_defs {\n    lvs_sync_daemon eth1 VI maxlen 1400\n}", 1)
	h := newHarness(t, conf, Options{})
	if got := h.b.takeCalls(); len(got) != 0 {
		t.Fatalf("sync daemon touched before any VRRP state: %q", got)
	}
	steps := []struct {
		inst  string
		state VRRPState
		want  []string
	}{
		{"OTHER", VRRPMaster, nil},
		{"VI", VRRPBackup, []string{"start backup daemon on eth1 syncid 51"}},
		{"VI", VRRPBackup, nil},
		{"VI", VRRPMaster, []string{"start master daemon on eth1 syncid 51"}},
		{"VI", VRRPFault, []string{"start backup daemon on eth1 syncid 51"}},
		{"VI", VRRPStop, []string{"stop syncid 51"}},
		{"VI", VRRPMaster, []string{"start master daemon on eth1 syncid 51"}},
	}
	for _, s := range steps {
		if err := h.m.SetVRRPState(s.inst, s.state); err != nil {
			t.Fatal(err)
		}
		if got := h.b.takeCalls(); !slices.Equal(got, s.want) {
			t.Errorf("%s %s: %q, want %q", s.inst, s.state, got, s.want)
		}
	}
	// Reload without lvs_sync_daemon stops it.
	if err := h.m.Reload(loadConf(t, managerConf)); err != nil {
		t.Fatal(err)
	}
	if got := h.b.takeCalls(); !slices.Equal(got, []string{"stop syncid 51"}) {
		t.Errorf("reload without sync daemon: %q", got)
	}
}

func TestManagerHASuspend(t *testing.T) {
	h := newHarness(t, managerConf, Options{})
	h.ops()
	const vs = "[198.51.100.40]:tcp:80"
	if !h.m.Suspended(vs) || h.m.Suspended("[198.51.100.10]:tcp:80") {
		t.Fatal("ha_suspend virtual server should start suspended (its address is a VIP of a BACKUP instance), others not")
	}
	// Suspended checkers report nothing that counts.
	h.health(vs, "198.51.100.11:80", false)
	if got := h.ops(); len(got) != 0 {
		t.Errorf("suspended: %q", got)
	}
	if err := h.m.SetVRRPState("VI", VRRPMaster); err != nil {
		t.Fatal(err)
	}
	if e := <-h.susp; e != (SuspendEvent{VirtualServer: vs, Suspended: false}) {
		t.Errorf("event %+v", e)
	}
	h.health(vs, "198.51.100.11:80", false)
	if got := h.ops(); !slices.Equal(got, []string{"del-dest 198.51.100.11:80 Route weight 1 in TCP 198.51.100.40:80"}) {
		t.Errorf("active: %q", got)
	}
	if err := h.m.SetVRRPState("VI", VRRPBackup); err != nil {
		t.Fatal(err)
	}
	if e := <-h.susp; !e.Suspended {
		t.Errorf("event %+v", e)
	}
}

func TestManagerKeepIPVSAndFlush(t *testing.T) {
	h := newHarness(t, managerConf, Options{KeepIPVS: true})
	want, _ := h.b.List(context.Background())
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.b.List(context.Background()); got.String() != want.String() {
		t.Errorf("-I: table changed on stop:\n%s", got)
	}

	// lvs_flush clears the operator's service too; lvs_flush_onstop all
	// clears everything on the way out.
	conf := strings.Replace(managerConf, "#SYNC", "global_defs {\n    lvs_flush\n    lvs_flush_onstop\n}", 1)
	h = newHarness(t, conf, Options{})
	got, _ := h.b.List(context.Background())
	if _, ok := got[foreignKey]; ok || len(got) != 4 {
		t.Errorf("after lvs_flush:\n%s", got)
	}
	if err := h.b.Apply(context.Background(), Diff(foreignTable(), Table{})); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.b.List(context.Background()); len(got) != 0 {
		t.Errorf("after lvs_flush_onstop:\n%s", got)
	}
}

func TestManagerBackendChoice(t *testing.T) {
	cfg := loadConf(t, managerConf)
	m, err := NewManager(cfg, Options{Backend: "nftables"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrBackendUnavailable) {
		t.Errorf("nftables: %v", err)
	}
	m, err = NewManager(cfg, Options{Open: func(string) (Backend, error) { return nil, ErrNoIPVS }})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrNoIPVS) {
		t.Errorf("no ipvs: %v", err)
	}
}

// TestManagerRetriesAfterFailedApply: a failed kernel write is retried
// with a bounded backoff, not on every health change; the changes made
// meanwhile are applied by the next attempt, the status says the kernel
// does not hold them, and a failure that lasts is logged about once a
// minute. The pacing runs on a fake clock; the owner loop's timer still
// fires in real time, and an attempt it makes when due by the fake clock
// is one the test's own retryNow would have made at the same fake time.
func TestManagerRetriesAfterFailedApply(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	h := newHarness(t, managerConf, Options{Log: logrus.NewEntry(logger), RetryMin: time.Hour, RetryMax: time.Hour})
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var clock atomic.Int64 // fake time since start; the owner reads it
	now := func() time.Time { return start.Add(time.Duration(clock.Load())) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	retryNow := func() { h.m.own.Do(h.m.retryNow) }
	h.m.own.Do(func() {
		h.m.retry.now = now
		h.m.retry.min, h.m.retry.max = time.Second, 30*time.Second
	})
	h.ops()
	fail := true
	attempts := 0
	h.b.MemBackend.mu.Lock()
	h.b.MemBackend.Fail = func(Op) error {
		if fail {
			attempts++
			return errors.New("injected")
		}
		return nil
	}
	h.b.MemBackend.mu.Unlock()
	// The flaps below gain and lose quorum: take those events as they come.
	drained := make(chan struct{})
	go func() {
		for {
			select {
			case <-h.quorum:
			case <-drained:
				return
			}
		}
	}()
	defer func() { h.stop(); close(drained) }()
	vs := "[198.51.100.10]:tcp:80"
	h.health(vs, "198.51.100.12:80", false) // fails: not an error of the call
	st := h.m.KernelStatus()
	if st.Programmed || st.Failures != 1 || !slices.Equal(st.Pending, []string{vs}) || !st.NextRetry.Equal(now().Add(time.Second)) {
		t.Fatalf("after a failed write: %+v", st)
	}
	// Ten minutes of failure and a health change every second: attempts
	// back off (1s, 2s, 4s ... 30s), log lines stay few.
	h.b.MemBackend.mu.Lock()
	attempts = 0
	h.b.MemBackend.mu.Unlock()
	hook.Reset()
	up := true
	for range 600 {
		advance(time.Second)
		h.health(vs, "198.51.100.11:80", up)
		up = !up
		retryNow()
	}
	h.b.MemBackend.mu.Lock()
	n := attempts
	h.b.MemBackend.mu.Unlock()
	lines := 0
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "programming the kernel") {
			lines++
		}
	}
	t.Logf("10 minutes of failure, 600 health changes: %d failed attempts, %d log lines (%.1f per minute)", n, lines, float64(lines)/10)
	if n > 30 || n < 15 {
		t.Errorf("%d attempts in 10 minutes: want the 30s backoff bound (about 24)", n)
	}
	if lines < 8 || lines > 11 {
		t.Errorf("%d log lines in 10 minutes, want about one a minute", lines)
	}
	// The kernel comes back: the next attempt converges everything,
	// including the changes made meanwhile, and logs the recovery.
	h.b.MemBackend.mu.Lock()
	fail = false
	h.b.MemBackend.mu.Unlock()
	h.ops()
	advance(time.Minute)
	retryNow()
	if got := h.ops(); !slices.Contains(got, "del-dest 198.51.100.12:80 Route weight 100 in TCP 198.51.100.10:80") {
		t.Errorf("retry: %q", got)
	}
	if st := h.m.KernelStatus(); !st.Programmed || st.Failures != 0 || len(st.Pending) != 0 {
		t.Errorf("after recovery: %+v", st)
	}
	if last := hook.LastEntry(); last == nil || !strings.Contains(last.Message, "succeeded after") {
		t.Errorf("recovery not logged: %v", last)
	}
}

// timeoutBackend records lvs_timeouts.
type timeoutBackend struct {
	*MemBackend
	set []Timeouts
}

func (b *timeoutBackend) SetTimeouts(_ context.Context, t Timeouts) (Timeouts, error) {
	b.set = append(b.set, t)
	return Timeouts{}, nil
}

func TestManagerTimeouts(t *testing.T) {
	conf := strings.Replace(managerConf, "#SYNC", "global_defs {\n    lvs_timeouts tcp 7200 udp 60\n}", 1)
	b := &timeoutBackend{MemBackend: NewMemBackend(nil)}
	m, err := NewManager(loadConf(t, conf), Options{Open: func(string) (Backend, error) { return b, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-m.Ready()
	// Same timeouts on reload: not sent again; changed: sent.
	if err := m.Reload(loadConf(t, conf)); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(loadConf(t, strings.Replace(conf, "udp 60", "udp 30", 1))); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []Timeouts{{TCP: 7200, UDP: 60}, {TCP: 7200, UDP: 30}}
	if !slices.Equal(b.set, want) {
		t.Errorf("timeouts sent %v, want %v", b.set, want)
	}
}

func FuzzDecodeServicePE(f *testing.F) {
	for _, s := range []Service{
		{ServiceKey: ServiceAddr(UDP, netip.MustParseAddrPort("198.51.100.30:5060")), Scheduler: "rr", Timeout: 30, PEName: "sip"},
		{ServiceKey: ServiceAddr(TCP, netip.MustParseAddrPort("[2001:db8::1]:80")), Scheduler: "wlc"},
		{ServiceKey: ServiceMark(INET6, 9), Scheduler: "sh", Timeout: 60},
	} {
		b, err := encodeService(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, pe, err := decodeServicePE(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same identity.
		b2, err := encodeService(Service{ServiceKey: k, Timeout: 1, PEName: pe})
		if err != nil || !k.Addr.IsValid() && !k.IsFWMark() {
			return
		}
		k2, pe2, err := decodeServicePE(b2)
		if err != nil || k2 != k || pe2 != pe {
			t.Fatalf("round trip %+v %q -> %+v %q (%v)", k, pe, k2, pe2, err)
		}
	})
}
