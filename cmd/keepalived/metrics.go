package main

import (
	"context"
	"errors"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
	"keepalived-go/lvs"
	"keepalived-go/notify"
	"keepalived-go/vrrp"
	vrrpengine "keepalived-go/vrrp/engine"
	"keepalived-go/vrrp/packet"
)

// The metrics are mehdy/keepalived-exporter's, names and labels alike, so
// existing dashboards and alerts keep working; ours are under the same
// prefix. Values are read from the engines at scrape time.
var (
	commonLabels = []string{"iname", "intf", "vrid", "state"}
	descUp       = prometheus.NewDesc("keepalived_up", "Status", nil, nil)
	descState    = prometheus.NewDesc("keepalived_vrrp_state", "State of vrrp", []string{"iname", "intf", "vrid", "ip_address"}, nil)
	descGARP     = prometheus.NewDesc("keepalived_gratuitous_arp_delay_total", "Gratuitous ARP delay", commonLabels, nil)
	descCounters = map[string]*prometheus.Desc{}
	counterHelp  = []struct{ name, help string }{
		{"keepalived_advertisements_received_total", "Advertisements received"},
		{"keepalived_advertisements_sent_total", "Advertisements sent"},
		{"keepalived_become_master_total", "Became master"},
		{"keepalived_release_master_total", "Released master"},
		{"keepalived_packet_length_errors_total", "Packet length errors"},
		{"keepalived_advertisements_interval_errors_total", "Advertisement interval errors"},
		{"keepalived_ip_ttl_errors_total", "TTL errors"},
		{"keepalived_invalid_type_received_total", "Invalid type errors"},
		{"keepalived_address_list_errors_total", "Address list errors"},
		{"keepalived_authentication_invalid_total", "Authentication invalid"},
		{"keepalived_authentication_mismatch_total", "Authentication mismatch"},
		{"keepalived_authentication_failure_total", "Authentication failure"},
		{"keepalived_priority_zero_received_total", "Priority zero received"},
		{"keepalived_priority_zero_sent_total", "Priority zero sent"},
	}
	// Ours.
	descPriority  = prometheus.NewDesc("keepalived_vrrp_effective_priority", "Effective VRRP priority of an instance.", []string{"iname", "intf", "vrid"}, nil)
	descDiscards  = prometheus.NewDesc("keepalived_vrrp_packets_dropped_total", "VRRP packets dropped, by reason.", []string{"reason"}, nil)
	descRSUp      = prometheus.NewDesc("keepalived_real_server_up", "Whether a real server passes its checks (1) or not (0).", []string{"virtual_server", "real_server"}, nil)
	descRSWeight  = prometheus.NewDesc("keepalived_real_server_weight", "Effective weight of a real server.", []string{"virtual_server", "real_server"}, nil)
	descLVSWrites = prometheus.NewDesc("keepalived_lvs_kernel_writes_total", "Requests that changed the kernel's load-balancing table.", nil, nil)
	// What the kernel really holds: a table the kernel refused is not
	// programmed, whatever the checkers say of the real servers.
	descLVSProgrammed = prometheus.NewDesc("keepalived_lvs_programmed", "Whether the kernel holds the load-balancing table the checkers and config call for (1) or a write failed and is being retried (0).", nil, nil)
	descLVSFailing    = prometheus.NewDesc("keepalived_lvs_write_failures", "Consecutive failed attempts to program the kernel's load-balancing table.", nil, nil)
	descLVSPending    = prometheus.NewDesc("keepalived_lvs_pending_virtual_servers", "Virtual servers whose wanted state the kernel does not hold.", nil, nil)
	descLVSHeld       = prometheus.NewDesc("keepalived_lvs_kernel_destinations", "Real servers (destinations) the kernel holds for us, as last programmed or read back.", nil, nil)
	descLVSTxMsgs     = prometheus.NewDesc("keepalived_lvs_last_transaction_messages", "Netlink messages in the last nftables transaction.", nil, nil)
	descLVSTxBytes    = prometheus.NewDesc("keepalived_lvs_last_transaction_bytes", "Size bound of the last nftables transaction, in bytes.", nil, nil)
	checkDuration     = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "keepalived_check_duration_seconds", Help: "Duration of health check attempts.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"checker", "result"})
	scriptRuns        = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keepalived_script_runs_total", Help: "Notify and check scripts run, by result.", ConstLabels: nil}, []string{"result"})
	discardReasons    = map[error]string{packet.ErrLength: "length", packet.ErrTTL: "ttl", packet.ErrVersion: "version", packet.ErrType: "type", packet.ErrVRID: "vrid", packet.ErrChecksum: "checksum", packet.ErrAddrList: "addr_list", packet.ErrAuthType: "auth_type", packet.ErrInvalidAuthType: "invalid_auth_type", packet.ErrAuth: "auth", packet.ErrReplay: "replay", packet.ErrInterval: "interval", packet.ErrDestination: "destination", packet.ErrPeer: "peer", packet.ErrNotVRRP: "not_vrrp"}
	metricsOnce       sync.Once
)

func init() {
	for _, c := range counterHelp {
		descCounters[c.name] = prometheus.NewDesc(c.name, c.help, commonLabels, nil)
	}
}

// collector reads the daemon's engines at scrape time.
type collector struct{ d *daemon }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descGARP, descPriority, descDiscards, descRSUp, descRSWeight, descLVSWrites,
		descLVSProgrammed, descLVSFailing, descLVSPending, descLVSHeld, descLVSTxMsgs, descLVSTxBytes} {
		ch <- d
	}
	for _, d := range descCounters {
		ch <- d
	}
}

// keepalivedState is keepalived's numeric state, as in its JSON dump.
func keepalivedState(s vrrp.State) float64 {
	switch s {
	case vrrp.StateBackup:
		return 1
	case vrrp.StateMaster:
		return 2
	case vrrp.StateFault:
		return 3
	}
	return 0
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	d := c.d
	d.mu.Lock()
	cfg, v, chk, mgr := d.cfg, d.vrrp, d.check, d.lvs
	d.mu.Unlock()
	if cfg != nil && v != nil {
		collectVRRP(ch, v.Status())
	}
	if chk != nil {
		for _, vs := range chk.Status().VirtualServers {
			for _, rs := range vs.RealServers {
				up := 0.0
				if rs.Alive {
					up = 1
				}
				ch <- prometheus.MustNewConstMetric(descRSUp, prometheus.GaugeValue, up, vs.Name, rs.Name)
				ch <- prometheus.MustNewConstMetric(descRSWeight, prometheus.GaugeValue, float64(rs.Weight), vs.Name, rs.Name)
			}
		}
	}
	if mgr != nil {
		st := mgr.Status() // one snapshot from the engine's owner
		ch <- prometheus.MustNewConstMetric(descLVSWrites, prometheus.CounterValue, float64(st.Counters.Writes))
		collectKernel(ch, st.Kernel)
	}
}

// collectKernel reports what the kernel holds against what is wanted.
func collectKernel(ch chan<- prometheus.Metric, ks lvs.KernelStatus) {
	programmed := 0.0
	if ks.Programmed {
		programmed = 1
	}
	ch <- prometheus.MustNewConstMetric(descLVSProgrammed, prometheus.GaugeValue, programmed)
	ch <- prometheus.MustNewConstMetric(descLVSFailing, prometheus.GaugeValue, float64(ks.Failures))
	ch <- prometheus.MustNewConstMetric(descLVSPending, prometheus.GaugeValue, float64(len(ks.Pending)))
	if ks.Backend.Kind != "" {
		ch <- prometheus.MustNewConstMetric(descLVSHeld, prometheus.GaugeValue, float64(ks.Backend.Dests))
	}
	if ks.Backend.Kind == "nftables" {
		ch <- prometheus.MustNewConstMetric(descLVSTxMsgs, prometheus.GaugeValue, float64(ks.Backend.LastBatchMessages))
		ch <- prometheus.MustNewConstMetric(descLVSTxBytes, prometheus.GaugeValue, float64(ks.Backend.LastBatchBytes))
	}
}

// collectVRRP reports the VRRP engine's status.
func collectVRRP(ch chan<- prometheus.Metric, st vrrpengine.Status) {
	for _, is := range st.Instances {
		in := is.Config
		vrid := strconv.Itoa(int(is.VRID))
		lv := []string{is.Name, in.Interface, vrid, is.State.String()}
		c := is.Counters
		vals := []uint64{c.AdvertRcvd, c.AdvertSent, c.BecomeMaster, c.ReleaseMaster,
			c.PacketLenErr, c.AdvertIntervalErr, c.IPTTLErr, c.InvalidTypeRcvd, c.AddrListErr,
			c.InvalidAuthType, c.AuthTypeMismatch, c.AuthFailure, c.PriZeroRcvd, c.PriZeroSent}
		for i, h := range counterHelp {
			ch <- prometheus.MustNewConstMetric(descCounters[h.name], prometheus.CounterValue, float64(vals[i]), lv...)
		}
		ch <- prometheus.MustNewConstMetric(descGARP, prometheus.CounterValue, is.Config.GarpMasterDelay.Seconds(), lv...)
		ch <- prometheus.MustNewConstMetric(descPriority, prometheus.GaugeValue, float64(is.EffectivePriority), is.Name, in.Interface, vrid)
		for _, vip := range in.VIPs {
			dev := vip.Dev
			if dev == "" {
				dev = in.Interface
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, keepalivedState(is.State), is.Name, dev, vrid, vip.Prefix.Addr().String())
		}
	}
	for err, n := range st.Discards {
		reason := discardReasons[err]
		if reason == "" {
			reason = "other"
		}
		ch <- prometheus.MustNewConstMetric(descDiscards, prometheus.CounterValue, float64(n), reason)
	}
}

// observeCheck is the checker engine's OnCheck hook.
func observeCheck(s check.CheckStat) {
	checkDuration.WithLabelValues(string(s.Kind), s.Result).Observe(s.Duration.Seconds())
}

// observeScript is the notify dispatcher's OnResult hook.
func observeScript(r notify.Result) {
	result := "ok"
	switch {
	case r.TimedOut:
		result = "timeout"
	case r.Err != nil:
		result = "failed"
	}
	scriptRuns.WithLabelValues(result).Inc()
}

// Limits of the metrics server. A scraper (one request every few seconds,
// answered in milliseconds) never meets them; a client that connects and
// says nothing, sends slowly, reads slowly or keeps an idle connection is
// cut off, and beyond maxConns connections are closed as they come, so
// descriptors and memory stay bounded whatever the clients do.
type metricsLimits struct {
	readHeader, read, write, idle time.Duration
	maxConns, maxHeaderBytes      int
}

var defaultMetricsLimits = metricsLimits{
	readHeader: 5 * time.Second, read: 10 * time.Second, write: 30 * time.Second, idle: 30 * time.Second,
	maxConns: 32, maxHeaderBytes: 8 << 10,
}

// metricsServer serves /metrics while the daemon runs.
type metricsServer struct {
	addr   string
	reg    *prometheus.Registry
	log    *logrus.Logger
	limits metricsLimits
}

func newMetricsServer(d *daemon, addr string) *metricsServer {
	reg := prometheus.NewRegistry()
	// The standard go_* and process_* series (goroutines, descriptors,
	// resident memory) let a soak or an operator see growth.
	reg.MustRegister(collector{d}, checkDuration, scriptRuns,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &metricsServer{addr: addr, reg: reg, log: d.log, limits: defaultMetricsLimits}
}

func (m *metricsServer) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		return err
	}
	m.log.Infof("Serving metrics on http://%s/metrics", l.Addr())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{MaxRequestsInFlight: m.limits.maxConns}))
	lim := m.limits
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: lim.readHeader, ReadTimeout: lim.read,
		WriteTimeout: lim.write, IdleTimeout: lim.idle, MaxHeaderBytes: lim.maxHeaderBytes,
		ErrorLog: stdlog.New(io.Discard, "", 0)}
	cl := newConnLimiter(l, lim.maxConns)
	srv.ConnState = cl.connState
	l = cl
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (m *metricsServer) Validate(*config.Config) error { return nil }

func (m *metricsServer) Reload(*config.Config) error { return nil }

// connLimiter holds at most max connections. At the limit, a new
// connection takes the place of the one quiet the longest (connected and
// silent, or a keep-alive idle between scrapes: a scraper sends its
// request at once, so the oldest quiet connections are the parked ones),
// or, when all are busy answering, is closed at once. A client that parks
// connections cannot lock a scraper out, and nothing waits in the kernel's
// backlog or holds a goroutine and buffers.
type connLimiter struct {
	net.Listener
	max int

	mu      sync.Mutex
	open    map[net.Conn]bool
	quiet   map[net.Conn]time.Time // not serving a request, since
	shed    uint64
	evicted uint64
}

func newConnLimiter(l net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: l, max: max, open: map[net.Conn]bool{}, quiet: map[net.Conn]time.Time{}}
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var evict net.Conn
		if len(l.open) >= l.max {
			var since time.Time
			for ic, t := range l.quiet {
				if evict == nil || t.Before(since) {
					evict, since = ic, t
				}
			}
			if evict == nil {
				l.shed++
				l.mu.Unlock()
				c.Close()
				continue
			}
			l.evicted++
			l.forget(evict)
		}
		lc := &limitedConn{Conn: c, l: l}
		l.open[lc], l.quiet[lc] = true, time.Now()
		l.mu.Unlock()
		if evict != nil {
			evict.Close()
		}
		return lc, nil
	}
}

// forget drops c from the books; called with mu held.
func (l *connLimiter) forget(c net.Conn) {
	delete(l.open, c)
	delete(l.quiet, c)
}

// connState is the http.Server's ConnState hook: it tells connections
// serving a request from quiet ones.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.open[c] {
		return
	}
	switch st {
	case http.StateIdle:
		l.quiet[c] = time.Now()
	case http.StateActive:
		delete(l.quiet, c)
	case http.StateClosed, http.StateHijacked:
		l.forget(c)
	}
}

type limitedConn struct {
	net.Conn
	l *connLimiter
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.forget(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
