package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"keepalived-go/check"
	"keepalived-go/config"
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
	descPriority   = prometheus.NewDesc("keepalived_vrrp_effective_priority", "Effective VRRP priority of an instance.", []string{"iname", "intf", "vrid"}, nil)
	descDiscards   = prometheus.NewDesc("keepalived_vrrp_packets_dropped_total", "VRRP packets dropped, by reason.", []string{"reason"}, nil)
	descRSUp       = prometheus.NewDesc("keepalived_real_server_up", "Whether a real server passes its checks (1) or not (0).", []string{"virtual_server", "real_server"}, nil)
	descRSWeight   = prometheus.NewDesc("keepalived_real_server_weight", "Effective weight of a real server.", []string{"virtual_server", "real_server"}, nil)
	descLVSWrites  = prometheus.NewDesc("keepalived_lvs_kernel_writes_total", "Requests that changed the kernel's load-balancing table.", nil, nil)
	checkDuration  = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "keepalived_check_duration_seconds", Help: "Duration of health check attempts.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"checker", "result"})
	scriptRuns     = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keepalived_script_runs_total", Help: "Notify and check scripts run, by result.", ConstLabels: nil}, []string{"result"})
	discardReasons = map[error]string{packet.ErrLength: "length", packet.ErrTTL: "ttl", packet.ErrVersion: "version", packet.ErrType: "type", packet.ErrVRID: "vrid", packet.ErrChecksum: "checksum", packet.ErrAddrList: "addr_list", packet.ErrAuthType: "auth_type", packet.ErrInvalidAuthType: "invalid_auth_type", packet.ErrAuth: "auth", packet.ErrReplay: "replay", packet.ErrInterval: "interval", packet.ErrDestination: "destination", packet.ErrPeer: "peer", packet.ErrNotVRRP: "not_vrrp"}
	metricsOnce    sync.Once
)

func init() {
	for _, c := range counterHelp {
		descCounters[c.name] = prometheus.NewDesc(c.name, c.help, commonLabels, nil)
	}
}

// collector reads the daemon's engines at scrape time.
type collector struct{ d *daemon }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descGARP, descPriority, descDiscards, descRSUp, descRSWeight, descLVSWrites} {
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
		ch <- prometheus.MustNewConstMetric(descLVSWrites, prometheus.CounterValue, float64(mgr.Counters().Writes))
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
		ch <- prometheus.MustNewConstMetric(descGARP, prometheus.CounterValue, is.GarpMasterDelay.Seconds(), lv...)
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

// metricsServer serves /metrics while the daemon runs.
type metricsServer struct {
	addr string
	reg  *prometheus.Registry
	log  *logrus.Logger
}

func newMetricsServer(d *daemon, addr string) *metricsServer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{d}, checkDuration, scriptRuns)
	return &metricsServer{addr: addr, reg: reg, log: d.log}
}

func (m *metricsServer) Run(ctx context.Context) error {
	l, err := net.Listen("tcp", m.addr)
	if err != nil {
		return err
	}
	m.log.Infof("Serving metrics on http://%s/metrics", l.Addr())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (m *metricsServer) Reload(*config.Config) error { return nil }
