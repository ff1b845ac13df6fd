package engine_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNetnsInterop pairs our engine with Debian's keepalived 2.2.7, in
// both role assignments, with VRRPv2 + PASS (the seed scenario) and VRRPv3:
// the VIP sits on the master only, the backup accepts the master's adverts
// (it stays BACKUP, and for ours the counters say so), a stopped master
// hands over and a restarted one preempts, and neither side logs an
// invalid packet.
func TestNetnsInterop(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (Debian package keepalived)")
	}
	v3 := func(state string, prio int) string {
		return fmt.Sprintf(`global_defs {
   router_id V3
}
vrrp_instance ETH0 {
    state %s
    interface eth0
    virtual_router_id 10
    version 3
    priority %d
    advert_int 0.2
    virtual_ipaddress {
        %s/24
    }
}
`, state, prio, vip)
	}
	seed := func(state string, prio int) string { return seedConf(state, prio, "") }
	// keepalived clears "state MASTER" with AH (it needs a master's
	// sequence number first), so the higher priority wins after
	// Master_Down_Interval instead.
	ah := func(state string, prio int) string {
		return strings.Replace(seedConf(state, prio, ""), "auth_type PASS", "auth_type AH", 1)
	}
	for _, tc := range []struct {
		name      string
		conf      func(string, int) string
		oursMastr bool
		takeover  time.Duration
	}{
		{"v2-pass/ours-master", seed, true, 2 * time.Second},
		{"v2-pass/keepalived-master", seed, false, 2 * time.Second},
		{"v2-ah/ours-master", ah, true, 2 * time.Second},
		{"v2-ah/keepalived-master", ah, false, 2 * time.Second},
		{"v3/ours-master", v3, true, time.Second},
		{"v3/keepalived-master", v3, false, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 2)
			m, b := l.nodes[0], l.nodes[1]
			start := func(nd *node, ours bool, state string, prio int) *proc {
				if ours {
					return nd.start(tc.conf(state, prio))
				}
				return nd.startKA(tc.conf(state, prio))
			}
			pm := start(m, tc.oursMastr, "MASTER", 200)
			time.Sleep(200 * time.Millisecond)
			pb := start(b, !tc.oursMastr, "BACKUP", 100)
			l.waitHolder(vip, 0, 6*time.Second)
			l.holdSteady(vip, 0, 1500*time.Millisecond)
			if !tc.oursMastr {
				is := pb.readStats(t).Instances["ETH0"]
				if is.State != "BACKUP" || is.AdvertsReceived == 0 || len(is.Discards) != 0 {
					t.Fatalf("our backup did not accept keepalived's adverts: %+v", is)
				}
			}
			pm.stop(t)
			l.waitHolder(vip, 1, tc.takeover)
			pm2 := start(m, tc.oursMastr, "MASTER", 200)
			l.waitHolder(vip, 0, 6*time.Second)
			l.holdSteady(vip, 0, 500*time.Millisecond)
			if tc.oursMastr {
				if !regexp.MustCompile(`Master received advert from 198\.51\.100\.11 with higher priority 200, ours 100`).MatchString(pb.logText()) {
					t.Error("keepalived backup did not yield to our master's adverts")
				}
			} else if !strings.Contains(pb.logText(), "Master received advert from 198.51.100.11 with higher priority 200, ours 100") {
				t.Error("our backup did not yield to keepalived's adverts")
			}
			pb.stop(t)
			pm2.stop(t)
			for _, p := range []*proc{pm, pb, pm2} {
				who := "ours"
				if p.ka {
					who = "keepalived"
				}
				noInvalid(t, who, p.logText())
				if !p.ka {
					s := p.readStats(t)
					if n := len(s.Instances["ETH0"].Discards) + len(s.Discards); n != 0 {
						t.Errorf("our discards: %+v", s)
					}
				}
			}
		})
	}
}

// TestNetnsTshark captures our adverts on the bridge (VRRPv2 + PASS,
// VRRPv3 over IPv4 and over IPv6) and has tshark decode them: every one
// must be VRRP with a good checksum and no malformed or error fields.
func TestNetnsTshark(t *testing.T) {
	t.Parallel()
	needRoot(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (Debian package tshark)")
	}
	l := newLab(t, 1)
	a := l.nodes[0]
	a.start(`vrrp_instance P {
    state MASTER
    interface eth0
    virtual_router_id 10
    priority 200
    advert_int 1
    garp_master_refresh 1
    authentication {
        auth_type PASS
        auth_pass p@ssw0rd
    }
    virtual_ipaddress {
        198.51.100.110/24
    }
}
vrrp_instance V3 {
    state MASTER
    interface eth0
    virtual_router_id 11
    version 3
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        198.51.100.111/24
        198.51.100.112/24
    }
}
vrrp_instance V6 {
    state MASTER
    interface eth0
    virtual_router_id 12
    version 3
    priority 255
    advert_int 0.5
    garp_master_refresh 1
    virtual_ipaddress {
        2001:db8::110/64
    }
}
`)
	waitFor(t, "all three masters", 6*time.Second, func() bool {
		return a.hasAddr("198.51.100.110") && a.hasAddr("198.51.100.111") && a.hasAddr("2001:db8::110")
	})
	capf := filepath.Join(l.dir, "vrrp.pcap")
	cap := exec.Command("ip", "netns", "exec", l.br, "tshark", "-q", "-i", "br0", "-a", "duration:3", "-w", capf, "-f", "ip proto 112 or ip6 proto 112 or arp or icmp6")
	if out, err := cap.CombinedOutput(); err != nil {
		t.Fatalf("tshark capture: %v\n%s", err, out)
	}
	os.Chmod(capf, 0o644)
	out, err := exec.Command("tshark", "-r", capf, "-V", "-o", "vrrp.v3_checksum_as_in_v2:FALSE").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark decode: %v\n%s", err, out)
	}
	text := string(out)
	for _, bad := range []string{"Malformed", "Expert Info (Error", "[Checksum Status: Bad]", "Bad checksum", "incorrect"} {
		if strings.Contains(text, bad) {
			t.Errorf("tshark reports %q:\n%s", bad, text)
		}
	}
	// One block per frame: every VRRP frame and every NA must verify.
	var frames, nas int
	for _, f := range regexp.MustCompile(`(?m)^Frame \d+:`).Split(text, -1) {
		vrrp := strings.Contains(f, "Virtual Router Redundancy Protocol")
		na := strings.Contains(f, "Type: Neighbor Advertisement (136)")
		if vrrp {
			frames++
		}
		if na {
			nas++
		}
		if (vrrp || na) && !strings.Contains(f, "[Checksum Status: Good]") {
			t.Errorf("frame without a good checksum:\n%s", f)
		}
	}
	if !strings.Contains(text, "[Is gratuitous: True]") || !strings.Contains(text, "Sender IP address: 198.51.100.110") {
		t.Error("no gratuitous ARP for 198.51.100.110 decoded")
	}
	if nas == 0 || !strings.Contains(text, "Target Address: 2001:db8::110") || !strings.Contains(text, "Override") {
		t.Error("no unsolicited NA for 2001:db8::110 decoded")
	}
	for _, want := range []string{"Virtual Rtr ID: 10", "Virtual Rtr ID: 11", "Virtual Rtr ID: 12", "Authentication String: p@ssw0rd"} {
		if !strings.Contains(text, want) {
			t.Errorf("tshark output lacks %q", want)
		}
	}
	if frames < 8 {
		t.Errorf("only %d VRRP frames captured", frames)
	}
	t.Logf("tshark decoded %d VRRP frames, all with good checksums, and %d unsolicited NAs", frames, nas)
}
