package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"keepalived-go/parser"
)

// The model the checker's read leaves, one behaviour class per test. Each
// config is read by the checker pass alone (what keepalived's checker
// process reads); diagnostics are keepalived's (see check_compat_test.go).

func checkLoad(t *testing.T, conf string, seed ...func(*loader)) (*Config, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := loadCheckerOnly("k.conf", Options{Hostname: "node1", ConfigTest: true,
		Parser: parser.Options{ConfigID: "node1", Dir: dir}}, seed...)
	var msgs []string
	for _, d := range diags.List {
		msgs = append(msgs, d.Keepalived())
	}
	return cfg, msgs
}

func oneVS(t *testing.T, cfg *Config) *VirtualServer {
	t.Helper()
	if len(cfg.VirtualServers) != 1 {
		t.Fatalf("%d virtual servers, want 1", len(cfg.VirtualServers))
	}
	return cfg.VirtualServers[0]
}

func dur(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func wantMsgs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A virtual server with nothing set gets keepalived's defaults, with a
// message for each one validate_check_config has to choose.
func TestCheckDefaults(t *testing.T) {
	cfg, msgs := checkLoad(t, "virtual_server 198.51.100.10 80 {\n real_server 203.0.113.11 80 {\n  TCP_CHECK {\n  }\n }\n}\n")
	wantMsgs(t, msgs,
		"Virtual server [198.51.100.10]:none:80: no protocol set - defaulting to UDP",
		"Virtual server [198.51.100.10]:udp:80: no scheduler set, setting default 'wlc'",
		"Virtual server [198.51.100.10]:udp:80: no forwarding method set, setting default NAT")
	vs := oneVS(t, cfg)
	if vs.Protocol != "UDP" || vs.Scheduler != "wlc" || vs.Forwarding != ForwardNAT || vs.Family != "inet" ||
		vs.DelayLoop != time.Minute || vs.ConnectTimeout != 5*time.Second || vs.Quorum != 1 || vs.Weight != 1 ||
		vs.Retry != nil || vs.Warmup != nil || vs.DelayBeforeRetry != nil || vs.SMTPAlert {
		t.Errorf("virtual server defaults: %+v", vs)
	}
	rs := vs.RealServers[0]
	if rs.Weight != 1 || rs.Forwarding != ForwardNAT || rs.DelayLoop != time.Minute || rs.ConnectTimeout != 5*time.Second ||
		!rs.SMTPAlert || rs.Retry != -1 || rs.Alpha || rs.InhibitOnFailure {
		t.Errorf("real server defaults: %+v", rs)
	}
	ck := rs.Checkers[0]
	if ck.Retry != 1 || ck.DelayBeforeRetry != time.Second || ck.Warmup != time.Minute || ck.DelayLoop != time.Minute ||
		ck.ConnectTimeout != 5*time.Second || ck.Conn != nil || ck.Alpha {
		t.Errorf("checker defaults: %+v", ck)
	}
}

// Timings flow virtual server -> real server -> checker, each level's own
// setting winning, and each kind has its own retry and delay_before_retry
// defaults (HTTP 3 s, DNS 3 retries and delay_loop, MISC no retry).
func TestCheckInheritance(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  delay_loop 10
  connect_timeout 7
  alpha
  inhibit_on_failure
  real_server 203.0.113.11 80 {
    TCP_CHECK {
    }
    HTTP_GET {
      url {
        path /
      }
    }
    DNS_CHECK {
    }
    MISC_CHECK {
      misc_path /bin/true
    }
  }
  real_server 203.0.113.12 80 {
    retry 4
    delay_loop 3
    warmup 2
    delay_before_retry 0.5
    connect_timeout 1
    alpha no
    inhibit_on_failure off
    TCP_CHECK {
      delay_loop 8
      alpha
    }
    DNS_CHECK {
      retry 0
      connect_timeout 9
    }
  }
  retry 6
  warmup 1
}
`)
	vs := oneVS(t, cfg)
	a, b := vs.RealServers[0], vs.RealServers[1]
	if !a.Alpha || !a.InhibitOnFailure || b.Alpha || b.InhibitOnFailure || a.Retry != 6 || b.Retry != 4 {
		t.Errorf("real server inheritance: a=%+v b=%+v", a, b)
	}
	type tm struct {
		kind                    CheckerKind
		retry                   int
		dbr, warm, delay, conTO time.Duration
		alpha                   bool
	}
	got := func(ck *Checker) tm {
		return tm{ck.Kind, ck.Retry, ck.DelayBeforeRetry, ck.Warmup, ck.DelayLoop, ck.ConnectTimeout, ck.Alpha}
	}
	want := []tm{
		{TCPCheck, 6, time.Second, time.Second, 10 * time.Second, 7 * time.Second, true},
		{HTTPGet, 6, 3 * time.Second, time.Second, 10 * time.Second, 7 * time.Second, true},
		{DNSCheck, 6, 10 * time.Second, time.Second, 10 * time.Second, 7 * time.Second, true},
		{MiscCheck, 6, time.Second, time.Second, 10 * time.Second, 0, true},
		{TCPCheck, 4, dur("500ms"), 2 * time.Second, 8 * time.Second, time.Second, true},
		{DNSCheck, 0, dur("500ms"), 2 * time.Second, 3 * time.Second, 9 * time.Second, false},
	}
	var all []tm
	for _, rs := range vs.RealServers {
		for _, ck := range rs.Checkers {
			all = append(all, got(ck))
		}
	}
	if !reflect.DeepEqual(all, want) {
		t.Errorf("checker timings:\n got %+v\nwant %+v", all, want)
	}
	// Without a retry anywhere, MISC_CHECK does not retry and DNS_CHECK
	// retries 3 times waiting delay_loop.
	cfg, _ = checkLoad(t, "virtual_server 198.51.100.10 80 {\n protocol TCP\n real_server 203.0.113.11 80 {\n"+
		"  MISC_CHECK {\n   misc_path /bin/true\n  }\n  DNS_CHECK {\n   delay_loop 4\n  }\n }\n}\n")
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if cks[0].Retry != 0 || cks[0].MiscOpts().Timeout != time.Minute || cks[1].Retry != 3 || cks[1].DelayBeforeRetry != 4*time.Second {
		t.Errorf("kind defaults: misc %+v dns %+v", cks[0], cks[1])
	}
}

// quorum above the total weight comes down to it, hysteresis below quorum;
// both unsigned, as keepalived's arithmetic is.
func TestCheckQuorum(t *testing.T) {
	cfg, msgs := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 9
  hysteresis 9
  real_server 203.0.113.11 80 {
    weight 2
  }
  real_server 203.0.113.12 80 {
    weight 3
  }
}
virtual_server 198.51.100.11 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  quorum 0
  real_server 203.0.113.11 80 {
    weight 0
  }
}
`)
	wantMsgs(t, msgs,
		"(k.conf: Line 18) number '0' outside range [1, 4294967295]",
		"(k.conf: Line 18) Quorum 0 must be in [1, 4294967295]. Setting to 1.",
		"Warning - quorum 9 for [198.51.100.10]:tcp:80 exceeds total weight of real servers 5, reducing quorum to 5",
		"Virtual server [198.51.100.10]:tcp:80: hysteresis 9 >= quorum 5; setting hysteresis to 4",
		"Warning - quorum 1 for [198.51.100.11]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0",
		"Virtual server [198.51.100.11]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295")
	if a, b := cfg.VirtualServers[0], cfg.VirtualServers[1]; a.Quorum != 5 || a.Hysteresis != 4 || b.Quorum != 0 || b.Hysteresis != 4294967295 {
		t.Errorf("quorum %d/%d, hysteresis %d/%d", a.Quorum, b.Quorum, a.Hysteresis, b.Hysteresis)
	}
}

// persistence_timeout without a value is 6 minutes; a granularity makes a
// service persistent; an IPv4 granularity is anything inet_aton reads.
func TestCheckPersistence(t *testing.T) {
	for _, c := range []struct {
		head, kw, gran, fam string
		timeout             time.Duration
	}{
		{"198.51.100.10 80", "persistence_timeout", "", "inet", 6 * time.Minute},
		{"198.51.100.10 80", "persistence_timeout 30\n persistence_granularity 255.255.255.0", "255.255.255.0", "inet", 30 * time.Second},
		{"198.51.100.10 80", "persistence_granularity 24", "0.0.0.24", "inet", 6 * time.Minute},
		{"198.51.100.10 80", "persistence_granularity 0xffff0000", "255.255.0.0", "inet", 6 * time.Minute},
		{"198.51.100.10 80", "persistence_granularity 255.0377.0.0", "255.255.0.0", "inet", 6 * time.Minute},
		{"2001:db8::10 80", "persistence_granularity 64", "64", "inet6", 6 * time.Minute},
		{"fwmark 3", "persistence_granularity 48", "48", "inet6", 6 * time.Minute},
		{"fwmark 3", "persistence_granularity 255.255.0.0", "255.255.0.0", "inet", 6 * time.Minute},
		{"198.51.100.10 0", "", "", "inet", 6 * time.Minute}, // zero port: made persistent
	} {
		rsAddr := "203.0.113.11"
		if strings.Contains(c.fam, "6") {
			rsAddr = "2001:db8::11"
		}
		cfg, _ := checkLoad(t, "virtual_server "+c.head+" {\n protocol TCP\n lb_kind DR\n "+c.kw+"\n real_server "+rsAddr+" {\n }\n}\n")
		vs := oneVS(t, cfg)
		if vs.PersistenceTimeout != c.timeout || vs.PersistenceGranularity != c.gran || vs.Family != c.fam {
			t.Errorf("%s / %s: timeout %v granularity %q family %q", c.head, c.kw, vs.PersistenceTimeout, vs.PersistenceGranularity, vs.Family)
		}
	}
}

// Schedulers are keepalived's list; flags are set only as keepalived sets
// them (sh-* with sh, mh-* with mh, ops dropped unless UDP).
func TestCheckSchedulers(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol UDP
  lb_algo bogus
  lb_algo sh
  sh-port
  mh-port
  ops
  flag-3
  hashed
  real_server 203.0.113.11 80 {
  }
}
virtual_server 198.51.100.10 81 {
  protocol TCP
  lvs_sched mh
  mh-fallback
  ops
  real_server 203.0.113.11 81 {
  }
}
`)
	a, b := cfg.VirtualServers[0], cfg.VirtualServers[1]
	if a.Scheduler != "sh" || !reflect.DeepEqual(a.SchedFlags, []string{"sh-port", "ops", "flag-3"}) {
		t.Errorf("sh service: %q %q", a.Scheduler, a.SchedFlags)
	}
	if b.Scheduler != "mh" || !reflect.DeepEqual(b.SchedFlags, []string{"mh-fallback"}) {
		t.Errorf("mh service: %q %q", b.Scheduler, b.SchedFlags)
	}
}

// TUN options: gue needs a port, ipip takes no checksum, gre no remote
// checksum; an invalid line keeps the method but not its options.
func TestCheckTunnels(t *testing.T) {
	for _, c := range []struct {
		line string
		want *Tunnel
		fwd  Forwarding
	}{
		{"TUN", &Tunnel{Type: "ipip"}, ForwardTUN},
		{"TUN type gue port 6080", &Tunnel{Type: "gue", Port: 6080, Checksum: "nocsum"}, ForwardTUN},
		{"TUN type gue port 6080 remcsum", &Tunnel{Type: "gue", Port: 6080, Checksum: "remcsum"}, ForwardTUN},
		{"TUN type gre csum", &Tunnel{Type: "gre", Checksum: "csum"}, ForwardTUN},
		{"TUN type gue", &Tunnel{Type: "gue", Port: 7000, Checksum: "csum"}, ForwardTUN},         // kept from before
		{"TUN type gre remcsum", &Tunnel{Type: "gue", Port: 7000, Checksum: "csum"}, ForwardTUN}, // kept from before
		{"DR", nil, ForwardDR},
		{"FOO", &Tunnel{Type: "gue", Port: 7000, Checksum: "csum"}, ForwardTUN},
	} {
		cfg, _ := checkLoad(t, "virtual_server 198.51.100.10 80 {\n protocol TCP\n lb_kind TUN type gue port 7000 csum\n lb_kind "+c.line+"\n real_server 203.0.113.11 80 {\n }\n}\n")
		vs := oneVS(t, cfg)
		if vs.Forwarding != c.fwd || !reflect.DeepEqual(vs.Tunnel, c.want) || !reflect.DeepEqual(vs.RealServers[0].Tunnel, c.want) {
			t.Errorf("lb_kind %s: %s %+v, real server %+v", c.line, vs.Forwarding, vs.Tunnel, vs.RealServers[0].Tunnel)
		}
	}
}

// A group's entries: ranges by last byte or group, masks, full ranges,
// fwmarks with families; its virtual servers are numbered by port.
func TestCheckGroups(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server_group G {
  198.51.100.10-12 80
  198.51.100.64/30 81
  2001:db8::10-1f 80
  2001:db8::/126 82
  198.51.100.20-198.51.100.30 83
  fwmark 7 inet
}
virtual_server group G {
  lb_kind TUN
  protocol TCP
  real_server 203.0.113.11 80 {
  }
}
virtual_server group G {
  lb_kind TUN
  protocol TCP
  real_server 203.0.113.11 80 {
  }
}
`)
	if len(cfg.ServerGroups) != 1 {
		t.Fatalf("groups: %d", len(cfg.ServerGroups))
	}
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	want := []VSGEntry{
		{First: a("198.51.100.10"), Last: a("198.51.100.12"), Port: 80},
		{First: a("198.51.100.64"), Last: a("198.51.100.67"), Port: 81},
		{First: a("2001:db8::10"), Last: a("2001:db8::1f"), Port: 80},
		{First: a("2001:db8::"), Last: a("2001:db8::3"), Port: 82},
		{First: a("198.51.100.20"), Last: a("198.51.100.30"), Port: 83},
		{FWMark: 7, IsMark: true, Family: "inet"},
	}
	got := cfg.ServerGroups[0].Entries
	for i := range got {
		got[i].Pos = Pos{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", got, want)
	}
	if len(cfg.VirtualServers) != 2 || cfg.VirtualServers[0].Name() != "[G]:0" || cfg.VirtualServers[1].Name() != "[G]:1" {
		t.Errorf("group services: %d", len(cfg.VirtualServers))
	}
}

// A sorry server takes the service's forwarding and port rules, and when it
// is also a real server keepalived aligns its inhibit setting.
func TestCheckSorryServer(t *testing.T) {
	cfg, msgs := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  sorry_server 203.0.113.11 8080
  real_server 203.0.113.11 8080 {
    inhibit_on_failure
  }
}
`)
	wantMsgs(t, msgs,
		"Virtual server [198.51.100.10]:tcp:80: real server [203.0.113.11]:tcp:8080 matches sorry server, but inhibit setting differs, setting on sorry server",
		"WARNING - virtual server [198.51.100.10]:tcp:80 and real server [203.0.113.11]:tcp:8080 ports don't match - resetting",
		"WARNING - virtual server [198.51.100.10]:tcp:80 and sorry server ports don't match - resetting")
	vs := oneVS(t, cfg)
	ss := vs.SorryServer
	if ss == nil || ss.Port != 80 || ss.Forwarding != ForwardDR || ss.Weight != 1 || !vs.SorryServerInhibit || !vs.SorryServerIsRealServer {
		t.Errorf("sorry server: %+v inhibit %v dup %v", ss, vs.SorryServerInhibit, vs.SorryServerIsRealServer)
	}
}

// A checker connects where the real server was written, even when
// keepalived resets the real server's port afterwards.
func TestCheckConnection(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_kind DR
  real_server 203.0.113.11 8080 {
    TCP_CHECK {
    }
    TCP_CHECK {
      connect_ip 203.0.113.50
      connect_port 81
      bindto 198.51.100.2
      bind_port 5000
      bind_if eth0
      fwmark 9
    }
  }
}
`)
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if c := cks[0].Conn; c == nil || *c != (Connection{ConnectPort: 8080}) {
		t.Errorf("first checker connection: %+v", c)
	}
	want := Connection{ConnectIP: netip.MustParseAddr("203.0.113.50"), ConnectPort: 81, BindTo: netip.MustParseAddr("198.51.100.2"),
		BindPort: 5000, BindIf: "eth0", FWMark: 9}
	if c := cks[1].Conn; c == nil || *c != want {
		t.Errorf("second checker connection: %+v", c)
	}
}

// Where keepalived's checker connects to port 0, the model says so: a
// real server written without a port (its checkers copied the address
// before the real server got the virtual server's port). connect_ip
// alone keeps the port (inet_stosockaddr leaves it without one), and a
// fwmark service's real server without a port keeps port 0 itself.
func TestCheckConnectPortZero(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_kind DR
  real_server 203.0.113.11 {
    TCP_CHECK {
    }
    TCP_CHECK {
      connect_port 81
    }
  }
  real_server 203.0.113.12 80 {
    TCP_CHECK {
      connect_ip 203.0.113.50
    }
  }
}
virtual_server fwmark 7 {
  lb_kind DR
  real_server 203.0.113.13 {
    TCP_CHECK {
    }
  }
}
`)
	if len(cfg.VirtualServers) != 2 {
		t.Fatalf("%d virtual servers", len(cfg.VirtualServers))
	}
	rs := cfg.VirtualServers[0].RealServers
	if rs[0].Port != 80 {
		t.Errorf("real server without a port: port %d, want the service's 80", rs[0].Port)
	}
	for i, want := range []*Connection{
		{ConnectPortZero: true},
		{ConnectPort: 81},
	} {
		if c := rs[0].Checkers[i].Conn; c == nil || *c != *want {
			t.Errorf("real server without a port, checker %d: %+v, want %+v", i, c, want)
		}
	}
	if c := rs[1].Checkers[0].Conn; c == nil || *c != (Connection{ConnectIP: netip.MustParseAddr("203.0.113.50")}) {
		t.Errorf("connect_ip alone: %+v", c)
	}
	fw := cfg.VirtualServers[1].RealServers[0]
	if fw.Port != 0 || fw.Checkers[0].Conn != nil {
		t.Errorf("fwmark real server without a port: port %d, conn %+v", fw.Port, fw.Checkers[0].Conn)
	}
}

// Each checker kind's own settings.
func TestCheckKinds(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  real_server 203.0.113.11 80 {
    SSL_GET {
      url {
        path /a
        digest 0123456789ABCDEF0123456789abcdef
        status_code 200 301-303
        virtualhost a.example
        regex "o+k"
        regex_options caseless dotall
        regex_max_offset 10
      }
      http_protocol 1.0c
      virtualhost c.example
      enable_sni
      fast_recovery
    }
    UDP_CHECK {
      payload 01 0a fe
      require_reply 0x 1X
      min_reply_length 2
    }
    DNS_CHECK {
      type aaaa
      name example.org
    }
    SMTP_CHECK {
      host {
        connect_ip 203.0.113.60
      }
      host {
        connect_port 587
        connect_timeout 2
      }
    }
    PING_CHECK {
    }
  }
}
`)
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if len(cks) != 6 {
		t.Fatalf("%d checkers, want 6 (SSL, UDP, DNS, SMTP x2, PING)", len(cks))
	}
	h := cks[0].HTTPOpts()
	wantURL := URL{Path: "/a", Digest: "0123456789abcdef0123456789abcdef", StatusCodes: []StatusRange{{200, 200}, {301, 303}},
		VirtualHost: "a.example", Regex: "o+k", HasRegex: true, RegexOptions: 0x08 | 0x20, RegexMaxOffset: 11}
	if cks[0].Kind != SSLGet || h.Protocol != "1.0C" || h.VirtualHost != "c.example" || !h.EnableSNI || !h.FastRecovery ||
		len(h.URLs) != 1 || !reflect.DeepEqual(h.URLs[0], wantURL) || !cfg.Checker.SSLRequired {
		t.Errorf("SSL_GET: %+v %+v", h, h.URLs)
	}
	u := cks[1].UDPOpts()
	// (a payload ending in ff is refused, as keepalived's read_hex_str
	// mistakes it for its error value: see compat-check/ck-udp-ff)
	if !reflect.DeepEqual(u, &UDPOptions{Payload: []byte{1, 10, 254}, RequireReply: true, ReplyPattern: []byte{0, 0x10},
		ReplyMask: []byte{0x0f, 0x0f}, MinReplyLength: 2, MaxReplyLength: 255}) {
		t.Errorf("UDP_CHECK: %+v", u)
	}
	if d := cks[2].DNSOpts(); d.Type != "AAAA" || d.Name != "example.org" || cks[2].Retry != 3 {
		t.Errorf("DNS_CHECK: %+v retry %d", d, cks[2].Retry)
	}
	s1, s2 := cks[3], cks[4]
	if s1.Kind != SMTPCheck || s1.SMTPOpts().HeloName != "smtpchecker.keepalived.org" || s1.Conn == nil ||
		s1.Conn.ConnectIP != netip.MustParseAddr("203.0.113.60") || s1.ConnectTimeout != 0 {
		t.Errorf("SMTP host 1: %+v conn %+v", s1, s1.Conn)
	}
	if s2.Kind != SMTPCheck || s2.Conn == nil || s2.Conn.ConnectPort != 587 || s2.ConnectTimeout != 2*time.Second {
		t.Errorf("SMTP host 2: %+v conn %+v", s2, s2.Conn)
	}
	if cks[5].Kind != PingCheck {
		t.Errorf("PING_CHECK: %+v", cks[5])
	}
}

// MISC_CHECK's script: quotes and escapes, a user, the timeout.
func TestCheckMisc(t *testing.T) {
	cfg, msgs := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  real_server 203.0.113.11 80 {
    MISC_CHECK {
      misc_path "/bin/echo 'a b' c"
      misc_timeout 4
      misc_dynamic
      user root root
    }
    MISC_CHECK {
      misc_timeout 4
    }
  }
}
`)
	if len(msgs) == 0 || msgs[0] != "(k.conf: Line 12) No script path has been specified for MISC_CHECKER - skipping" {
		t.Errorf("diagnostics: %q", msgs)
	}
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if len(cks) != 1 {
		t.Fatalf("%d checkers", len(cks))
	}
	m := cks[0].MiscOpts()
	// (Args[0] is the resolved path: /usr/bin/echo where /bin is a link)
	if m.Path == nil || len(m.Path.Args) != 3 || !strings.HasSuffix(m.Path.Args[0], "/bin/echo") ||
		!reflect.DeepEqual(m.Path.Args[1:], []string{"a b", "c"}) || m.Path.User != "root" ||
		m.Path.Group != "root" || m.Timeout != 4*time.Second || !m.Dynamic {
		t.Errorf("MISC_CHECK: %+v script %+v", m, m.Path)
	}
}

// FILE_CHECK names a track_file read before the virtual server and takes
// its weight unless it has one.
func TestCheckFileCheck(t *testing.T) {
	seed := func(l *loader) {
		l.checkTrackFiles = []*TrackFile{{Name: "tf", File: "/run/tf", Weight: 5, WeightReverse: true}}
	}
	cfg, msgs := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  real_server 203.0.113.11 80 {
    FILE_CHECK {
      track_file tf
    }
    FILE_CHECK {
      track_file tf
      weight -3 noreverse
    }
    FILE_CHECK {
      track_file other
    }
  }
}
`, seed)
	wantMsgs(t, msgs[:2],
		"(k.conf: Line 12) track_file other not found",
		"(k.conf: Line 13) FILE_CHECK has no track_file specified - ignoring")
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if len(cks) != 2 || !reflect.DeepEqual(cks[0].FileOpts(), &FileOptions{TrackFile: "tf", Weight: 5, WeightReverse: true}) ||
		!reflect.DeepEqual(cks[1].FileOpts(), &FileOptions{TrackFile: "tf", Weight: -3}) {
		t.Errorf("FILE_CHECKs: %+v", cks)
	}
}

// BFD_CHECK names a bfd_instance the checker keeps: one whose block names
// only vrrp is not the checker's.
func TestCheckBFD(t *testing.T) {
	cfg, msgs := checkLoad(t, `bfd_instance b1 {
  neighbor_ip 203.0.113.11
  min_rx 100
}
bfd_instance b2 {
  neighbor_ip 203.0.113.12
  vrrp
}
virtual_server 198.51.100.10 80 {
  protocol TCP
  real_server 203.0.113.11 80 {
    BFD_CHECK {
      name b1
      alpha
    }
    BFD_CHECK {
      name b2
    }
  }
}
`)
	wantMsgs(t, msgs[:1], "(k.conf: Line 17) ([203.0.113.11]:tcp:80) BFD_CHECK - BFD b2 not configured")
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if len(cks) != 1 || cks[0].Kind != BFDCheck || cks[0].BFDOpts().Name != "b1" || !cks[0].Alpha || cks[0].DelayLoop != 0 {
		t.Errorf("BFD_CHECKs: %+v", cks)
	}
}

// Real servers: duplicates (as written) go, a family mismatch drops the
// server unless it is tunnelled, NAT servers without a port take the
// service's.
func TestCheckRealServers(t *testing.T) {
	cfg, msgs := checkLoad(t, `virtual_server 198.51.100.10 80 {
  protocol TCP
  lb_kind NAT
  real_server 203.0.113.11 80 {
    weight 3
    uthreshold 10
    lthreshold 2
    notify_up /bin/true
    virtualhost rs.example
  }
  real_server 203.0.113.11 80 {
  }
  real_server 203.0.113.12 {
  }
  real_server 2001:db8::1 80 {
  }
  real_server 2001:db8::2 80 {
    lvs_method TUN
  }
}
`)
	wantMsgs(t, msgs,
		"(k.conf: Line 16) Address family of virtual server and real server 2001:db8::1 don't match - skipping real server.",
		"Virtual server [198.51.100.10]:tcp:80: no scheduler set, setting default 'wlc'",
		"VS [198.51.100.10]:tcp:80: real server [203.0.113.11]:tcp:80 is duplicated - removing second rs",
		"SECURITY VIOLATION - check scripts are being executed but script_security not enabled.")
	rss := oneVS(t, cfg).RealServers
	if len(rss) != 3 || rss[0].Port != 80 || rss[1].Port != 80 || rss[0].Weight != 3 || rss[0].UThreshold != 10 || rss[0].LThreshold != 2 ||
		rss[0].NotifyUp == nil || rss[0].VirtualHost != "rs.example" || rss[2].Addr != netip.MustParseAddr("2001:db8::2") ||
		rss[2].Forwarding != ForwardTUN {
		t.Errorf("real servers: %+v", rss)
	}
}

// keepalived's checkers queue and parser statics, as its handlers use them:
// a keyword after a MISC_CHECK's failed user goes to the checker before; a
// regex read in a url that is dropped (no path) goes to the next url; the
// host blocks of an SMTP_CHECK dropped at its end go to the next one.
func TestCheckQueueQuirks(t *testing.T) {
	cfg, _ := checkLoad(t, `virtual_server 2001:db8::10 25 {
  protocol TCP
  real_server 2001:db8::11 25 {
    TCP_CHECK {
      retry 9
    }
    MISC_CHECK {
      user nosuchuser
      retry 3
      misc_path /bin/true
    }
    HTTP_GET {
      url {
        regex "^ok"
      }
      url {
        path /
      }
    }
    SMTP_CHECK {
      connect_ip fe80::1
      host {
        connect_ip 2001:db8::60
      }
    }
    SMTP_CHECK {
      helo_name next.example
    }
  }
}
`)
	cks := oneVS(t, cfg).RealServers[0].Checkers
	if len(cks) != 3 {
		t.Fatalf("%d checkers, want TCP, HTTP, SMTP", len(cks))
	}
	if cks[0].Kind != TCPCheck || cks[0].Retry != 3 {
		t.Errorf("TCP_CHECK retry %d, want 3 (the MISC_CHECK's, read after it was dropped)", cks[0].Retry)
	}
	if u := cks[1].HTTPOpts().URLs; len(u) != 1 || u[0].Regex != "^ok" || !u[0].HasRegex {
		t.Errorf("HTTP_GET urls %+v, want the regex of the dropped url on /", u)
	}
	// The first SMTP_CHECK goes (link local without bind_if); its host is
	// the second one's connection.
	if s := cks[2]; s.Kind != SMTPCheck || s.SMTPOpts().HeloName != "next.example" || s.Conn == nil ||
		s.Conn.ConnectIP != netip.MustParseAddr("2001:db8::60") {
		t.Errorf("SMTP_CHECK: %+v %+v", s, s.Conn)
	}
}
